//! Deleted accounts: a link-only account deleted (a master, a child or a
//! standalone one, sometimes one already deleted), the links of everyone it
//! was linked to checked, and a fresh link-only account in its place.

use super::Sim;
use rand::seq::IndexedRandom;
use rand::Rng;
use std::collections::BTreeSet;

impl Sim {
    /// Deletes a link-only account and checks the stored accounts around it.
    pub(super) async fn op_delete_account(&mut self) {
        self.count("delete_account");
        let Some(id) = self.pick_deletion() else {
            return;
        };
        let ctx = self.ctx.clone();
        let Some(r) = self
            .timed(
                "delete user",
                shared::services::users::delete_user(&ctx, id),
            )
            .await
        else {
            return;
        };
        let was = self.faults_off();
        let cat = &self.extra.cat;
        let mut involved: BTreeSet<i64> = [id].into();
        involved.extend(cat.children.get(&id).into_iter().flatten().map(|l| l.child));
        involved.extend(cat.master_of.get(&id));
        let already = cat.deleted.contains(&id);
        let deleted = match r {
            Ok(()) => {
                if already {
                    self.violation(format!("user {id}: deleted twice"));
                }
                true
            }
            Err(shared::services::users::UserError::NotFound(_)) if already => false,
            Err(e) => {
                if !was {
                    self.violation(format!("user {id}: delete failed without faults: {e}"));
                }
                self.note("deletions resolved after a fault");
                // What happened is in the stored account.
                self.stored_accounts(&[id].into())
                    .await
                    .get(&id)
                    .is_some_and(|a| a.deleted)
            }
        };
        if deleted && !already {
            if self.extra.cat.is_master(id) {
                self.note("deleted a master: its children became standalone");
            } else if self.extra.cat.master_of.contains_key(&id) {
                self.note("deleted a child: left out of its master's views");
            }
            self.extra.cat.apply_delete(id);
            self.add_link_only_account().await;
        }
        let stored = self.stored_accounts(&involved).await;
        for a in stored.values() {
            if a.deleted != self.extra.cat.deleted.contains(&a.user_id) {
                self.violation(format!(
                    "user {}: stored deleted={}, the model disagrees",
                    a.user_id, a.deleted
                ));
            }
            self.compare_links(a);
        }
        self.faulty = was;
    }

    /// A master (4 in 10), any live link-only account (5 in 10) or one
    /// already deleted (1 in 10); the first live one if there is none such.
    fn pick_deletion(&mut self) -> Option<i64> {
        let cat = &self.extra.cat;
        let live: Vec<i64> = self
            .extra
            .spares
            .iter()
            .map(|s| s.0)
            .filter(|id| !cat.deleted.contains(id))
            .collect();
        let masters: Vec<i64> = live
            .iter()
            .copied()
            .filter(|id| cat.is_master(*id))
            .collect();
        let deleted: Vec<i64> = cat.deleted.iter().copied().collect();
        let target = match self.rng.random_range(0..10) {
            0..=3 => masters.choose(&mut self.rng),
            4..=8 => live.choose(&mut self.rng),
            _ => deleted.choose(&mut self.rng),
        };
        target.or(live.first()).copied()
    }
}
