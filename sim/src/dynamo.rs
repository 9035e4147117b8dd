//! A DynamoDB Local of the simulator's own, with its data on disk, that the
//! run kills (SIGKILL, like a crashed host) and starts again on the same port
//! and the same data folder, mid-step or between steps.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a start may take before the run gives up.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// When a step's restart happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// SIGKILL `delay_ms` after the step began, while its requests are in flight.
    MidStep { delay_ms: u64 },
    /// SIGKILL after the step and its checks, with nothing in flight.
    Idle,
}

/// Steps per restart: one restart in every block of this many steps.
pub const RESTART_EVERY: u64 = 20;

/// The seeded restart schedule, a pure function of (seed, step) so that a
/// failing seed replays the same restarts: one restart per block of
/// `RESTART_EVERY` steps, at a seeded step of the block, three in four of
/// them mid-step.
pub fn restart_for(seed: u64, step: u64) -> Option<Restart> {
    let block = step / RESTART_EVERY;
    let mut rng =
        StdRng::seed_from_u64(seed ^ block.wrapping_mul(0xD1B5_4A32_D192_ED03) ^ 0x0DDB_0B0B);
    if step % RESTART_EVERY != rng.random_range(0..RESTART_EVERY) {
        return None;
    }
    Some(if rng.random_bool(0.75) {
        Restart::MidStep {
            delay_ms: rng.random_range(0..15),
        }
    } else {
        Restart::Idle
    })
}

/// A running DynamoDB Local (`-dbPath`, `-sharedDb`) on 127.0.0.1.
#[derive(Debug)]
pub struct LocalDynamo {
    jar_dir: PathBuf,
    data_dir: PathBuf,
    pub addr: SocketAddr,
    child: Option<Child>,
    pub restarts: u64,
    /// Time from SIGKILL to answering again, per restart.
    pub downtime: Vec<Duration>,
}

impl LocalDynamo {
    /// Starts one on a free port, its data in `data_dir` (created).
    pub async fn start(jar_dir: &Path, data_dir: &Path) -> anyhow::Result<LocalDynamo> {
        anyhow::ensure!(
            jar_dir.join("DynamoDBLocal.jar").is_file(),
            "no DynamoDBLocal.jar in {}",
            jar_dir.display()
        );
        std::fs::create_dir_all(data_dir)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut db = LocalDynamo {
            jar_dir: jar_dir.to_owned(),
            data_dir: std::fs::canonicalize(data_dir)?,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child: None,
            restarts: 0,
            downtime: Vec::new(),
        };
        db.spawn().await?;
        Ok(db)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    async fn spawn(&mut self) -> anyhow::Result<()> {
        let child = Command::new("java")
            .current_dir(&self.jar_dir)
            .env("DDB_LOCAL_TELEMETRY", "0")
            .args([
                "-Djava.library.path=./DynamoDBLocal_lib",
                "-jar",
                "DynamoDBLocal.jar",
                "-port",
                &self.addr.port().to_string(),
                "-dbPath",
            ])
            .arg(&self.data_dir)
            .args(["-sharedDb", "-disableTelemetry"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.child = Some(child);
        self.wait_ready().await
    }

    /// Until a real request (ListTables, straight to the port) succeeds.
    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let conf = shared::store::local_config(&self.endpoint(), "sim").build();
        let client = aws_sdk_dynamodb::Client::from_conf(conf);
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    anyhow::bail!("DynamoDB Local exited while starting: {status}");
                }
            }
            if client.list_tables().limit(1).send().await.is_ok() {
                return Ok(());
            }
            anyhow::ensure!(
                started.elapsed() < START_TIMEOUT,
                "DynamoDB Local did not answer on {} within {START_TIMEOUT:?}",
                self.addr
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGKILL: no shutdown hook runs, like a host that dies.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGKILL, then start again on the same port and data folder; returns
    /// when it answers.
    pub async fn kill_and_restart(&mut self) -> anyhow::Result<()> {
        let killed = Instant::now();
        self.kill();
        self.spawn().await?;
        self.restarts += 1;
        self.downtime.push(killed.elapsed());
        Ok(())
    }

    /// Stops it and, when `remove_data`, deletes its data folder.
    pub fn stop(&mut self, remove_data: bool) {
        self.kill();
        if remove_data {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

impl Drop for LocalDynamo {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_restart_schedule_is_a_function_of_seed_and_step() {
        let a = crate::testing::seeded_schedule(restart_for, (7, 8), 3000);
        assert_eq!(a.iter().flatten().count() as u64, 3000 / RESTART_EVERY);
        for block in a.chunks(RESTART_EVERY as usize) {
            assert_eq!(block.iter().flatten().count(), 1, "one per block");
        }
        assert!(a.iter().flatten().any(|r| *r == Restart::Idle));
        assert!(a
            .iter()
            .flatten()
            .any(|r| matches!(r, Restart::MidStep { .. })));
    }
}
