//! Account links in the model (docs/ledger.md#walletctl and docs/decisions.md): who may be
//! linked to whom, and what a link, an unlink and a deletion change.

use super::catalog::{Catalog, ModelLink};
use std::collections::BTreeSet;

pub const MAX_CHILDREN: usize = 10;

/// Why a link or unlink is refused (docs/ledger.md#walletctl).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Refusal {
    SelfLink,
    ChildAlreadyLinked,
    MasterIsChild,
    ChildIsMaster,
    TooManyChildren,
    NotLinked,
    /// The master or the child is deleted.
    NotFound,
}

impl Catalog {
    pub fn is_master(&self, id: i64) -> bool {
        self.children.get(&id).is_some_and(|c| !c.is_empty())
    }

    pub fn role(&self, id: i64) -> &'static str {
        if self.master_of.contains_key(&id) {
            "child"
        } else if self.is_master(id) {
            "master"
        } else {
            "standalone"
        }
    }

    /// Every reason docs/ledger.md#walletctl gives to refuse linking `child` to `master` (empty: allowed).
    pub fn link_refusals(&self, master: i64, child: i64) -> BTreeSet<Refusal> {
        let mut r = BTreeSet::new();
        if master == child {
            r.insert(Refusal::SelfLink);
            return r;
        }
        // Only live accounts are linked: nothing else is looked at.
        if self.deleted.contains(&master) || self.deleted.contains(&child) {
            r.insert(Refusal::NotFound);
            return r;
        }
        if self.master_of.contains_key(&child) {
            r.insert(Refusal::ChildAlreadyLinked);
        }
        if self.master_of.contains_key(&master) {
            r.insert(Refusal::MasterIsChild);
        }
        if self.is_master(child) {
            r.insert(Refusal::ChildIsMaster);
        }
        if self.children.get(&master).map_or(0, Vec::len) >= MAX_CHILDREN {
            r.insert(Refusal::TooManyChildren);
        }
        r
    }

    pub fn linked(&self, master: i64, child: i64) -> bool {
        self.master_of.get(&child) == Some(&master)
    }

    pub fn apply_link(&mut self, master: i64, link: ModelLink) {
        self.master_of.insert(link.child, master);
        self.children.entry(master).or_default().push(link);
    }

    /// Deletes an account: a master's children become standalone; a child
    /// keeps its place in its master's list.
    pub fn apply_delete(&mut self, id: i64) {
        self.deleted.insert(id);
        for link in self.children.remove(&id).unwrap_or_default() {
            self.master_of.remove(&link.child);
        }
    }

    pub fn apply_unlink(&mut self, master: i64, child: i64) {
        self.master_of.remove(&child);
        if let Some(c) = self.children.get_mut(&master) {
            c.retain(|l| l.child != child);
            if c.is_empty() {
                self.children.remove(&master);
            }
        }
    }

    /// Every link: (master, child), masters in id order, children in link order.
    pub fn all_links(&self) -> Vec<(i64, i64)> {
        self.children
            .iter()
            .flat_map(|(m, c)| c.iter().map(|l| (*m, l.child)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::catalog::Balance;

    #[test]
    fn links_follow_spec_7() {
        let mut c = Catalog::default();
        let l = |child| ModelLink {
            child,
            link_id: child * 100,
            linked_at: 0,
        };
        assert!(c.link_refusals(1, 1).contains(&Refusal::SelfLink));
        assert!(c.link_refusals(1, 2).is_empty());
        c.apply_link(1, l(2));
        assert!(c.link_refusals(3, 2).contains(&Refusal::ChildAlreadyLinked));
        assert!(c.link_refusals(2, 3).contains(&Refusal::MasterIsChild));
        assert!(c.link_refusals(3, 1).contains(&Refusal::ChildIsMaster));
        for child in 3..12 {
            assert!(c.link_refusals(1, child).is_empty());
            c.apply_link(1, l(child));
        }
        assert_eq!(
            c.link_refusals(1, 12),
            [Refusal::TooManyChildren].into_iter().collect()
        );
        assert_eq!(c.group(1).len(), 11);
        assert_eq!(c.group(2), vec![2]);
        assert_eq!(c.role(2), "child");
        c.apply_unlink(1, 2);
        assert_eq!(c.role(2), "standalone");
        assert!(c.aggregate(3, true, |_| Balance::default()).is_err());
        assert!(c.aggregate(1, true, |_| Balance::default()).is_ok());
    }
}
