//! The run: the steps in order, each with its faults and restarts, the
//! checks after it, and the seeded choice of its operation.

use super::setup::{start, Local, Start};
use super::Sim;
use crate::dynamo::{restart_for, Restart};
use crate::faults::{plan_for, Proxy};
use crate::Args;
use rand::Rng;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The whole run; the number of violations.
pub async fn run(args: Args) -> anyhow::Result<usize> {
    let started = Instant::now();
    let Start {
        mut sim,
        local,
        table,
    } = start(args).await?;
    let mut restarts: BTreeMap<&'static str, u64> = BTreeMap::new();
    for step in 0..sim.args.steps {
        sim.run_step(step, local.as_ref(), &mut restarts).await?;
        if sim.violations.len() > 20 {
            println!("simulate: stopping after 20 violations");
            break;
        }
    }
    if let Some(db) = &local {
        sim.report_restarts(&*db.lock().await, &restarts);
    }
    // A final read of every endpoint with faults off.
    for ci in 0..sim.creators.len() {
        for which in [0, 1, 2, 4, 5] {
            sim.op_read(ci, which).await;
        }
    }
    sim.report(started.elapsed(), &table);
    if sim.violations.is_empty() {
        // Kept when something failed, to look at.
        let _ = sim.ctx.db.delete_table().table_name(&table).send().await;
    }
    if let Some(db) = &local {
        let mut db = db.lock().await;
        if !sim.violations.is_empty() {
            println!(
                "simulate: DynamoDB Local data kept in {}",
                db.data_dir().display()
            );
        }
        db.stop(sim.violations.is_empty());
    }
    Ok(sim.violations.len())
}

/// After `delay`, SIGKILL DynamoDB Local and start it again; requests that do
/// not see the outage wait until it answers.
async fn kill_and_restart(proxy: Proxy, db: Local, delay: Duration) -> anyhow::Result<()> {
    tokio::time::sleep(delay).await;
    let _restarting = proxy.restarting().await;
    let mut db = db.lock().await;
    db.kill_and_restart().await
}

impl Sim {
    /// One step: its faults (every other block of 10 steps) and restart,
    /// its operation, then the checks of what it touched (of everyone now
    /// and then, after a restart and at the end).
    async fn run_step(
        &mut self,
        step: u64,
        local: Option<&Local>,
        restarts: &mut BTreeMap<&'static str, u64>,
    ) -> anyhow::Result<()> {
        self.step = step;
        let plan = if self.args.faults && (step / 10) % 2 == 1 {
            plan_for(self.args.seed, step)
        } else {
            None
        };
        let restart = local.and_then(|db| Some((db.clone(), restart_for(self.args.seed, step)?)));
        self.faulty = plan.is_some();
        self.proxy.arm(plan);
        if let (Some((_, r)), true) = (&restart, self.args.verbose) {
            println!("step {step} restart of DynamoDB Local: {r:?}");
        }
        let mut killer = None;
        if let Some((db, Restart::MidStep { delay_ms })) = &restart {
            // The step's requests meet the dead DynamoDB Local and the
            // outcomes they could not learn are resolved like faults.
            self.faulty = true;
            self.proxy.show_outage();
            *restarts.entry("mid-step").or_default() += 1;
            killer = Some(tokio::spawn(kill_and_restart(
                self.proxy.clone(),
                db.clone(),
                Duration::from_millis(*delay_ms),
            )));
        }
        let touched = self.one_step().await;
        self.proxy.arm(None);
        self.faulty = false;
        if let Some(killer) = killer {
            killer.await??;
        }
        let check_all = restart.is_some()
            || touched.is_none()
            || step % 25 == 24
            || step + 1 == self.args.steps;
        let which: Vec<usize> = match touched {
            Some(ci) if !check_all => vec![ci],
            _ => (0..self.creators.len()).collect(),
        };
        for ci in which {
            self.check_creator(ci).await;
        }
        if let Some((db, Restart::Idle)) = restart {
            // Nothing in flight: every committed write must survive.
            *restarts.entry("idle").or_default() += 1;
            kill_and_restart(self.proxy.clone(), db, Duration::ZERO).await?;
            for ci in 0..self.creators.len() {
                self.check_creator(ci).await;
            }
        }
        Ok(())
    }

    /// One seeded operation; the creator it touched (`None`: several).
    async fn one_step(&mut self) -> Option<usize> {
        self.catalog_init().await;
        let ci = self.rng.random_range(0..self.creators.len());
        let roll = self.rng.random_range(0..130u32);
        match roll {
            0..=17 => self.op_earning(ci).await,
            18..=23 => self.op_simple(ci, "fee", 800).await,
            24..=27 => self.op_simple(ci, "refund", 2000).await,
            28..=33 => self.op_simple(ci, "hold", 3000).await,
            34..=38 => self.op_release_hold(ci).await,
            39..=42 => {
                self.count("release_holds_x2");
                self.op_release_runs().await;
                return None;
            }
            43..=54 => {
                self.count("cashout");
                self.op_cashout(ci).await;
            }
            55..=57 => {
                self.count("cashout_replay");
                self.op_cashout_replay(ci).await;
            }
            58..=65 => {
                self.count("decision");
                self.op_decide(ci).await;
            }
            66..=71 => self.op_redelivery(ci).await,
            72..=75 => self.op_reordered(ci).await,
            76..=99 => {
                self.count("read");
                let which = self.rng.random_range(0..8);
                self.op_read(ci, which).await;
            }
            100..=118 => return self.op_product(ci, roll).await,
            119..=124 => {
                self.op_link(ci).await;
                return None;
            }
            125..=127 => {
                self.op_unlink(ci).await;
                return None;
            }
            128 => {
                self.op_delete_account().await;
                return None;
            }
            _ => {
                self.count("read");
                let which = self.rng.random_range(4..8);
                self.op_read(ci, which).await;
            }
        }
        Some(ci)
    }
}
