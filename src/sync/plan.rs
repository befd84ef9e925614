//! What a cluster's worker does next: the difference between the desired set
//! and what TMC finds on the cluster, as a list of actions. Pure, so every
//! case (restart, drift, a deleted copy, a terminating namespace) is tested
//! without a cluster.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;

use super::desired::{namespaces, CopyKey, DesiredSet};
use super::drift::{first_difference, project};

/// What TMC remembers of its last apply of a copy (in memory only: after a
/// restart every copy is applied once more, which server-side apply makes a
/// no-op when nothing changed).
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    /// Hash of the desired copy that was applied.
    pub hash: u64,
    /// The server's answer projected onto the applied fields (`drift::project`).
    pub projection: Value,
    /// The resourceVersion of that answer: a copy still at it is unchanged,
    /// so it is not projected and compared again (every round, every copy).
    pub resource_version: String,
}

/// One step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// The copy is not on the cluster: check that nothing foreign holds the name, then apply.
    Create(CopyKey),
    /// The desired copy changed, or TMC has not applied it since it started: apply.
    Update(CopyKey),
    /// Someone changed a field TMC manages (the path given): apply again.
    Revert(CopyKey, String),
    /// TMC made it and it is no longer wanted.
    Delete(CopyKey),
}

impl Action {
    pub fn key(&self) -> &CopyKey {
        match self {
            Action::Create(k) | Action::Update(k) | Action::Revert(k, _) | Action::Delete(k) => k,
        }
    }

    /// Actions run in phases: namespaces first, then the copies (ConfigMaps
    /// and Secrets before the workloads that mount them), then deletions
    /// (namespaces last: deleting one removes what it holds).
    pub fn phase(&self) -> u8 {
        let ns = self.key().resource == namespaces();
        let config = matches!(self.key().resource.resource.as_str(), "configmaps" | "secrets");
        match (self, ns, config) {
            (Action::Delete(_), false, _) => 3,
            (Action::Delete(_), true, _) => 4,
            (_, true, _) => 0,
            (_, false, true) => 1,
            (_, false, false) => 2,
        }
    }
}

/// The actions that make `actual` (what TMC made on the cluster, as last
/// seen) match `desired`, sorted by phase.
pub fn plan(
    desired: &DesiredSet,
    actual: &BTreeMap<CopyKey, Arc<Value>>,
    applied: &HashMap<CopyKey, Applied>,
) -> Vec<Action> {
    let mut actions = Vec::new();
    for (key, want) in &desired.copies {
        let Some(have) = actual.get(key) else {
            actions.push(Action::Create(key.clone()));
            continue;
        };
        match applied.get(key) {
            Some(a) if a.hash == want.hash => {
                if have["metadata"]["resourceVersion"].as_str() == Some(a.resource_version.as_str()) {
                    continue;
                }
                let now = project(have, &want.object);
                if let Some(path) = first_difference(&a.projection, &now) {
                    actions.push(Action::Revert(key.clone(), path));
                }
            }
            _ => actions.push(Action::Update(key.clone())),
        }
    }
    for (key, have) in actual {
        let terminating = !have["metadata"]["deletionTimestamp"].is_null();
        if !desired.copies.contains_key(key) && !terminating {
            actions.push(Action::Delete(key.clone()));
        }
    }
    actions.sort_by_key(Action::phase);
    actions
}

#[cfg(test)]
mod tests;
