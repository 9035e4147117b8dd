//! Account links in the simulation: links and unlinks, alone and at once,
//! settled against the model (`crate::model::links`): some order of the
//! calls must explain every answer and the stored links.

use super::Sim;
use crate::model::catalog::Catalog;
use crate::model::catalog::ModelLink;
use crate::model::links::{Refusal, MAX_CHILDREN};
use domain::account::{Account, Link};
use rand::seq::IndexedRandom;
use rand::Rng;
use shared::services::links::LinkError;
use std::collections::{BTreeMap, BTreeSet};

/// A call: (unlink, master, child).
type Call = (bool, i64, i64);

/// What a link or unlink call did, as far as the stored links tell.
#[derive(Debug, Clone, Copy)]
enum Happened {
    No,
    Linked(ModelLink),
    Unlinked,
}

#[derive(Debug)]
enum LinkOutcome {
    Done,
    Refused(Refusal),
    Unknown(String),
}

fn classify<T>(r: Result<T, LinkError>) -> (LinkOutcome, Option<T>) {
    let e = match r {
        Ok(v) => return (LinkOutcome::Done, Some(v)),
        Err(e) => e,
    };
    let refused = |r| (LinkOutcome::Refused(r), None);
    match e {
        LinkError::SelfLink => refused(Refusal::SelfLink),
        LinkError::ChildAlreadyLinked { .. } => refused(Refusal::ChildAlreadyLinked),
        LinkError::TooManyChildren(_) => refused(Refusal::TooManyChildren),
        LinkError::MasterIsChild(_) => refused(Refusal::MasterIsChild),
        LinkError::ChildIsMaster(_) => refused(Refusal::ChildIsMaster),
        LinkError::NotLinked { .. } => refused(Refusal::NotLinked),
        LinkError::NotFound(_) => refused(Refusal::NotFound),
        LinkError::App(e) => (LinkOutcome::Unknown(e.to_string()), None),
    }
}

fn model_link(l: &Link) -> ModelLink {
    ModelLink {
        child: l.child_id,
        link_id: l.link_id,
        linked_at: l.linked_at,
    }
}

/// The link `master -> child` as stored on both accounts, if it is.
fn stored_link(stored: &BTreeMap<i64, Account>, master: i64, child: i64) -> Option<ModelLink> {
    let child_ok = stored
        .get(&child)
        .is_some_and(|a| a.master_id == Some(master));
    let l = stored
        .get(&master)?
        .children
        .iter()
        .find(|l| l.child_id == child)?;
    child_ok.then(|| model_link(l))
}

/// Why the model refuses a call in state `cat` (empty: allowed).
fn refusals(cat: &Catalog, (unlink, m, c): Call) -> BTreeSet<Refusal> {
    if !unlink {
        cat.link_refusals(m, c)
    } else if cat.linked(m, c) {
        BTreeSet::new()
    } else {
        [Refusal::NotLinked].into()
    }
}

fn verb(unlink: bool) -> &'static str {
    if unlink {
        "unlink"
    } else {
        "link"
    }
}

/// Applies the calls in this order to `cat`; whether every answer fits
/// (what does not is said in `why`).
fn replay(
    cat: &mut Catalog,
    order: &[(Call, Happened, &LinkOutcome)],
    why: &mut Vec<String>,
) -> bool {
    let mut ok = true;
    for &(call, happened, outcome) in order {
        let (unlink, m, c) = call;
        let refusals = refusals(cat, call);
        let what = verb(unlink);
        match (happened, outcome) {
            (Happened::No, LinkOutcome::Refused(r)) if !refusals.contains(r) => {
                ok = false;
                why.push(format!(
                    "{what} {m} -> {c} refused {r:?}, model refusals {refusals:?}"
                ));
            }
            (Happened::No, _) => {}
            (_, _) if !refusals.is_empty() => {
                ok = false;
                why.push(format!(
                    "{what} {m} -> {c} was made, model refuses {refusals:?}"
                ));
            }
            (Happened::Linked(link), _) => cat.apply_link(m, link),
            (Happened::Unlinked, _) => cat.apply_unlink(m, c),
        }
    }
    ok
}

/// Whether the stored links of these accounts are the model's.
fn same_as_stored(cat: &Catalog, stored: &BTreeMap<i64, Account>) -> bool {
    stored.iter().all(|(id, a)| {
        let children: Vec<i64> = a.children.iter().map(|l| l.child_id).collect();
        let model: Vec<i64> = cat
            .children
            .get(id)
            .map(|c| c.iter().map(|l| l.child).collect())
            .unwrap_or_default();
        a.master_id == cat.master_of.get(id).copied() && children == model
    })
}

impl Sim {
    /// Link operations: one link, filling a master up to its 11th child, or
    /// two links at once (one child for two masters, a chain, one master).
    pub(super) async fn op_link(&mut self, ci: usize) {
        self.count("link");
        let all = self.all_accounts();
        let me = self.uid(ci);
        let roll = self.rng.random_range(0..100);
        if roll < 50 {
            let master = if self.rng.random_bool(0.7) {
                me
            } else {
                *all.choose(&mut self.rng).unwrap_or(&me)
            };
            let child = if self.rng.random_bool(0.05) {
                master
            } else {
                *all.choose(&mut self.rng).unwrap_or(&me)
            };
            self.race_calls(vec![(false, master, child)]).await;
        } else if roll < 65 {
            self.fill_master(&all).await;
        } else {
            self.link_race(&all, me).await;
        }
    }

    /// Links every standalone account to one master, until the 11th is refused.
    async fn fill_master(&mut self, all: &[i64]) {
        let masters: Vec<i64> = all
            .iter()
            .copied()
            .filter(|id| self.extra.cat.role(*id) != "child")
            .collect();
        let Some(&master) = masters.choose(&mut self.rng) else {
            return;
        };
        for _ in 0..12 {
            let full = self
                .extra
                .cat
                .children
                .get(&master)
                .is_some_and(|c| c.len() >= MAX_CHILDREN);
            let candidates: Vec<i64> = all
                .iter()
                .copied()
                .filter(|id| *id != master && self.extra.cat.role(*id) == "standalone")
                .collect();
            let Some(&child) = candidates.choose(&mut self.rng) else {
                break;
            };
            self.race_calls(vec![(false, master, child)]).await;
            if full {
                break;
            }
        }
    }

    /// Two calls at once: two links (one child for two masters, a chain, one
    /// master), two unlinks of one master, or a link and an unlink of one
    /// master. The links a race made are taken back.
    async fn link_race(&mut self, all: &[i64], me: i64) {
        let mut pick = || *all.choose(&mut self.rng).unwrap_or(&me);
        let (a, b, c) = (pick(), pick(), pick());
        let links = self.extra.cat.all_links();
        let calls = match self.rng.random_range(0..5) {
            0 => vec![(false, a, c), (false, b, c)],
            1 => vec![(false, a, b), (false, b, c)],
            2 => vec![(false, a, b), (false, a, c)],
            // Two unlinks of one master, or a link and an unlink of one
            // master, at once: both change its list of children.
            mode => match links.choose(&mut self.rng) {
                Some(&(m, child)) => {
                    let other = if mode == 3 {
                        self.extra
                            .cat
                            .children
                            .get(&m)
                            .and_then(|c| c.iter().map(|l| l.child).find(|x| *x != child))
                            .map(|x| (true, m, x))
                    } else {
                        None
                    };
                    let target = [c, a, b].into_iter().find(|x| *x != child);
                    match other.or(target.map(|t| (false, m, t))) {
                        Some(call) => vec![(true, m, child), call],
                        None => vec![(true, m, child)],
                    }
                }
                None => vec![(false, a, b), (false, a, c)],
            },
        };
        let before = self.extra.cat.clone();
        self.race_calls(calls.clone()).await;
        // Which call of a race wins depends on timing: the links it made
        // are taken back (checked like any unlink), so that the state
        // after the step, and the run, stay a function of the seed.
        for (unlink, m, c) in calls {
            if !unlink && self.extra.cat.linked(m, c) && !before.linked(m, c) {
                self.unlink_call(m, c).await;
            }
        }
    }

    /// Links and unlinks (`true`) at once, settled against the model: some
    /// order of the calls must explain every answer and the stored links.
    async fn race_calls(&mut self, calls: Vec<Call>) {
        let ctx = self.ctx.clone();
        let futs = calls.iter().map(|&(unlink, m, c)| {
            let ctx = ctx.clone();
            async move {
                if unlink {
                    shared::services::links::unlink(&ctx, m, c)
                        .await
                        .map(|()| None)
                } else {
                    shared::services::links::link(&ctx, m, c).await.map(Some)
                }
            }
        });
        let Some(results) = self.timed("link", futures::future::join_all(futs)).await else {
            return;
        };
        let outcomes: Vec<(LinkOutcome, Option<Link>)> = results
            .into_iter()
            .map(|r| {
                let (o, l) = classify(r);
                (o, l.flatten())
            })
            .collect();
        let was = self.faults_off();
        let involved: BTreeSet<i64> = calls.iter().flat_map(|&(_, m, c)| [m, c]).collect();
        let stored = self.stored_accounts(&involved).await;
        let happened = self.what_happened(&calls, &outcomes, &stored, was);
        let steps: Vec<(Call, Happened, &LinkOutcome)> = calls
            .iter()
            .zip(happened)
            .zip(&outcomes)
            .map(|((call, h), (o, _))| (*call, h, o))
            .collect();
        self.settle_links(&steps, &stored);
        for ((unlink, _, _), (outcome, _)) in calls.iter().zip(&outcomes) {
            let what = if *unlink { "unlinks" } else { "links" };
            match outcome {
                LinkOutcome::Done => self.note(&format!("{what} made")),
                LinkOutcome::Refused(r) => self.note(&format!("{what} refused: {r:?}")),
                LinkOutcome::Unknown(_) => {}
            }
        }
        self.check_links(&involved).await;
        self.faulty = was;
    }

    /// What each call did: its link (with the link's data) made or removed.
    /// An unknown outcome is read from the stored links; a change they show
    /// is credited to one call only.
    fn what_happened(
        &mut self,
        calls: &[Call],
        outcomes: &[(LinkOutcome, Option<Link>)],
        stored: &BTreeMap<i64, Account>,
        was: bool,
    ) -> Vec<Happened> {
        let mut claimed: BTreeSet<Call> = calls
            .iter()
            .zip(outcomes)
            .filter(|(_, (o, _))| matches!(o, LinkOutcome::Done))
            .map(|(call, _)| *call)
            .collect();
        let mut happened = Vec::new();
        for (&(unlink, m, c), (o, l)) in calls.iter().zip(outcomes) {
            let h = match o {
                LinkOutcome::Done if unlink => Happened::Unlinked,
                LinkOutcome::Done => l
                    .as_ref()
                    .map_or(Happened::No, |l| Happened::Linked(model_link(l))),
                LinkOutcome::Unknown(e) => {
                    let what = verb(unlink);
                    if !was {
                        self.violation(format!("{what} {m} -> {c} failed without faults: {e}"));
                    } else {
                        self.note(&format!("{what}s resolved after a fault"));
                    }
                    let before = self.extra.cat.linked(m, c);
                    let h = match (unlink, before, stored_link(stored, m, c)) {
                        (false, false, Some(l)) => Happened::Linked(l),
                        (true, true, None) => Happened::Unlinked,
                        _ => Happened::No,
                    };
                    if matches!(h, Happened::No) || !claimed.insert((unlink, m, c)) {
                        Happened::No
                    } else {
                        h
                    }
                }
                LinkOutcome::Refused(_) => Happened::No,
            };
            happened.push(h);
        }
        happened
    }

    /// The model after the calls, in the order (of two calls, either) that
    /// explains the answers and, if both do, the stored order of children.
    fn settle_links(
        &mut self,
        steps: &[(Call, Happened, &LinkOutcome)],
        stored: &BTreeMap<i64, Account>,
    ) {
        let mut orders = vec![steps.to_vec()];
        if steps.len() == 2 {
            orders.push(steps.iter().rev().cloned().collect());
        }
        let (mut settled, mut fallback) = (None, None);
        let mut why = Vec::new();
        for order in orders {
            let mut cat = self.extra.cat.clone();
            let ok = replay(&mut cat, &order, &mut why);
            // Both orders may explain the answers (two links to one master):
            // the stored order of the children says which one it was.
            let same = same_as_stored(&cat, stored);
            if ok && (same || fallback.is_none()) {
                fallback = Some(cat.clone());
            }
            if ok && same {
                settled = Some(cat);
                break;
            }
        }
        match settled.or(fallback) {
            Some(cat) => self.extra.cat = cat,
            None => {
                let calls: Vec<Call> = steps.iter().map(|s| s.0).collect();
                let outcomes: Vec<&LinkOutcome> = steps.iter().map(|s| s.2).collect();
                self.violation(format!(
                    "links/unlinks {calls:?} answered {outcomes:?}: no order explains it ({})",
                    why.join("; ")
                ));
            }
        }
    }

    /// An unlink of one of the links (mostly) or of any two accounts.
    pub(super) async fn op_unlink(&mut self, ci: usize) {
        self.count("unlink");
        let links = self.extra.cat.all_links();
        let (master, child) = match links.choose(&mut self.rng) {
            Some(l) if self.rng.random_bool(0.85) => *l,
            _ => {
                let all = self.all_accounts();
                let me = self.uid(ci);
                (me, *all.choose(&mut self.rng).unwrap_or(&me))
            }
        };
        self.unlink_call(master, child).await;
    }

    /// One unlink, checked against the model and the stored links.
    async fn unlink_call(&mut self, master: i64, child: i64) {
        let ctx = self.ctx.clone();
        let Some(r) = self
            .timed(
                "unlink",
                shared::services::links::unlink(&ctx, master, child),
            )
            .await
        else {
            return;
        };
        let (outcome, _) = classify(r);
        let was = self.faults_off();
        let involved: BTreeSet<i64> = [master, child].into();
        let allowed = self.extra.cat.linked(master, child);
        let happened = match &outcome {
            LinkOutcome::Done => true,
            LinkOutcome::Refused(r) => {
                if allowed || *r != Refusal::NotLinked {
                    self.violation(format!(
                        "unlink {master} -> {child} refused {r:?}, model allows {allowed}"
                    ));
                }
                false
            }
            LinkOutcome::Unknown(e) => {
                if !was {
                    self.violation(format!(
                        "unlink {master} -> {child} failed without faults: {e}"
                    ));
                } else {
                    self.note("unlinks resolved after a fault");
                }
                let stored = self.stored_accounts(&involved).await;
                allowed
                    && !stored
                        .get(&master)
                        .is_some_and(|a| a.children.iter().any(|l| l.child_id == child))
            }
        };
        if happened {
            self.note("unlinks made");
            if allowed {
                self.extra.cat.apply_unlink(master, child);
            } else {
                self.violation(format!(
                    "unlink {master} -> {child} succeeded, the model has no such link"
                ));
            }
        }
        self.check_links(&involved).await;
        self.faulty = was;
    }
}
