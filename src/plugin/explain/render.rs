//! The text of `kubectl tmc explain`: pure functions from decisions to words a tenant reads.

use std::fmt::Write as _;

use super::{singular, Names, Recorded, Snapshot, WhatIf};
use crate::placement::record::{RecordedDecision, PLACEMENT_ANNOTATION};
use crate::placement::{
    ClusterId, Decision, FilterRule, Policy, VerdictResult, Workload, WorkloadKey, DEFAULT_POLICY_NAME,
};

/// Where the decision shown comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Heading<'a> {
    /// The objects as they are in kcp now: what TMC will do.
    Now,
    /// With the `WorkloadPlacement` of this file applied: what TMC would do.
    WhatIf(&'a str),
}

/// The explanation of one workload: (a) what is recorded in kcp, (b) the decision made from
/// `snapshot` (each cluster with the rule that excluded it or its score), (c) what TMC will
/// change, when (a) and (b) differ.
pub fn render_explanation(
    snapshot: &Snapshot,
    key: &WorkloadKey,
    recorded: &Recorded,
    decision: &Decision,
    heading: Heading<'_>,
) -> String {
    let names = snapshot.names();
    let mut out = String::new();
    let ns = if key.namespace.is_empty() {
        String::new()
    } else {
        format!(" in namespace {}", key.namespace)
    };
    let _ = writeln!(
        out,
        "{} {}{ns}, workspace {}",
        singular(&key.resource),
        key.name,
        names.workspace(&key.logical_cluster)
    );
    out.push('\n');

    match recorded {
        Recorded::Missing => {
            let _ = writeln!(
                out,
                "Recorded in kcp: not placed yet (no {PLACEMENT_ANNOTATION} annotation on the workload)"
            );
        }
        Recorded::Unreadable => {
            let _ = writeln!(
                out,
                "Recorded in kcp: the {PLACEMENT_ANNOTATION} annotation cannot be read; TMC places the \
                 workload afresh"
            );
        }
        Recorded::Decision(r) => {
            let clusters: Vec<ClusterId> = r.cluster_ids();
            let _ = writeln!(out, "Recorded in kcp (annotation {PLACEMENT_ANNOTATION}):");
            let _ = writeln!(out, "  policy:   {}", policy_words(&r.policy));
            let _ = writeln!(out, "  clusters: {}", names.clusters(&clusters));
            let _ = writeln!(out, "  status:   {}: {}", r.reason, r.message);
        }
    }
    out.push('\n');

    let (title, will) = match heading {
        Heading::Now => (
            "Decided now, from the current clusters and policies:".to_owned(),
            "will",
        ),
        Heading::WhatIf(file) => (format!("Decided with {file} applied:"), "would"),
    };
    let _ = writeln!(out, "{title}");
    for line in names.for_display(decision).explain().lines() {
        let _ = writeln!(out, "  {line}");
    }
    out.push('\n');
    if let Some(caution) = unread_pool_caution(snapshot, std::slice::from_ref(decision)) {
        let _ = writeln!(out, "{caution}");
    }
    let _ = writeln!(
        out,
        "{}",
        change_line(&names, recorded.decision(), decision, will)
    );
    if let Some(note) = shared_pool_note(snapshot, &names, decision) {
        let _ = writeln!(out, "{note}");
    }
    out
}

/// When the shared pool could not be read, recorded clusters outside the workspace look
/// deregistered to the engine here, though TMC sees them: say so where it shows.
fn unread_pool_caution(snapshot: &Snapshot, decisions: &[Decision]) -> Option<String> {
    let pool = snapshot.provider_unread.as_deref()?;
    let affected = decisions.iter().flat_map(|d| &d.verdicts).any(|v| {
        v.rejected_by() == Some(&FilterRule::NotRegistered)
            && v.cluster.logical_cluster != snapshot.workspace.logical_cluster
    });
    affected.then(|| {
        format!(
            "caution: the shared clusters of {pool} could not be read, so clusters recorded from there \
             look deregistered here; TMC sees them and may keep the workload on them"
        )
    })
}

/// One line: what TMC will do to bring the record in line with `decision`, or that it is.
pub fn change_line(
    names: &Names,
    recorded: Option<&RecordedDecision>,
    decision: &Decision,
    will: &str,
) -> String {
    let now = RecordedDecision::of(decision);
    if recorded == Some(&now) {
        return "No change: the recorded placement is what TMC decides now.".to_owned();
    }
    let added: Vec<&ClusterId> = decision.added().collect();
    let released: Vec<&ClusterId> = decision.released().collect();
    let policy_change = recorded.filter(|r| r.policy != decision.policy).map(|r| {
        format!(
            "{} (was {})",
            policy_words(&decision.policy),
            policy_words(&r.policy)
        )
    });
    if !added.is_empty() || !released.is_empty() {
        let mut parts = Vec::new();
        if !added.is_empty() {
            parts.push(format!("place it on {}", names.clusters(added)));
        }
        if !released.is_empty() {
            parts.push(format!("remove it from {}", names.clusters(released)));
        }
        let mut line = format!("Change: TMC {will} {}.", parts.join(" and "));
        if let Some(p) = policy_change {
            let _ = write!(line, " It is governed by {p}.");
        }
        return line;
    }
    match recorded {
        None => format!(
            "Change: TMC {will} record that the workload cannot be placed: {}",
            now.message
        ),
        Some(r) => {
            let mut parts = Vec::new();
            if let Some(p) = policy_change {
                parts.push(format!("governed by {p}"));
            }
            if (&r.reason, &r.message) != (&now.reason, &now.message) {
                parts.push(format!("status {}: {}", now.reason, now.message));
            }
            format!(
                "Change: TMC {will} update the record ({}); the workload stays on the same clusters.",
                parts.join("; ")
            )
        }
    }
}

/// A caveat when the decision adds a cluster of the shared pool while other clusters were
/// eligible too: the pool's load from other workspaces is invisible to a tenant, and may make
/// TMC pick another cluster.
fn shared_pool_note(snapshot: &Snapshot, names: &Names, decision: &Decision) -> Option<String> {
    let provider = snapshot.provider.as_ref()?;
    if provider.logical_cluster == snapshot.workspace.logical_cluster {
        return None;
    }
    let adds_shared = decision
        .added()
        .any(|id| id.logical_cluster == provider.logical_cluster);
    let alternatives = decision
        .verdicts
        .iter()
        .any(|v| matches!(v.result, VerdictResult::Eligible { selected: false, .. }));
    (adds_shared && alternatives).then(|| {
        format!(
            "note: the shared clusters of {} also run other workspaces' workloads, which this command \
             cannot see; their load may lead TMC to another cluster",
            names.workspace(&provider.logical_cluster)
        )
    })
}

/// `the default placement` or `WorkloadPlacement "name"`.
pub fn policy_words(name: &str) -> String {
    if name == DEFAULT_POLICY_NAME {
        "the default placement".to_owned()
    } else {
        format!("WorkloadPlacement {name:?}")
    }
}

/// The outcome in one line: `placed on 2 of 2 wanted clusters`, or why not (no final period,
/// so more can follow).
pub fn outcome_summary(decision: &Decision) -> String {
    let message = decision.placed_condition().message.unwrap_or_default();
    message.trim_end_matches('.').to_owned()
}

/// `deployment default/web`.
fn workload_words(key: &WorkloadKey) -> String {
    if key.namespace.is_empty() {
        format!("{} {}", singular(&key.resource), key.name)
    } else {
        format!("{} {}/{}", singular(&key.resource), key.namespace, key.name)
    }
}

/// The policy in a few words: `Spread, 2 clusters`.
fn policy_shape(policy: &Policy) -> String {
    let n = policy.number_of_clusters.max(1);
    format!(
        "{}, {n} cluster{}",
        policy.strategy.as_str(),
        if n == 1 { "" } else { "s" }
    )
}

/// `1 workload`, `3 workloads`.
fn count(n: usize) -> String {
    format!("{n} workload{}", if n == 1 { "" } else { "s" })
}

/// Where a workload would go and how that differs from where it is.
fn movement(names: &Names, workload: &Workload, decision: &Decision) -> String {
    let mut text = outcome_summary(decision);
    if workload.current.is_empty() {
        return text;
    }
    let added: Vec<&ClusterId> = decision.added().collect();
    let released: Vec<&ClusterId> = decision.released().collect();
    if added.is_empty() && released.is_empty() {
        text.push_str("; stays where it is");
        return text;
    }
    let _ = write!(text, "; now on {}", names.clusters(&workload.current));
    let mut parts = Vec::new();
    if !added.is_empty() {
        parts.push(format!("would add {}", names.clusters(added)));
    }
    if !released.is_empty() {
        parts.push(format!("would release {}", names.clusters(released)));
    }
    let _ = write!(text, "; {}", parts.join(" and "));
    text
}

/// The what-if report: each workload the policy would govern (where it would go, why, and
/// whom it was taken from), the workloads it matches that an older policy keeps, the
/// workloads it would give up, and a final `nothing was changed`.
pub fn render_what_if(snapshot: &Snapshot, what_if: &WhatIf) -> String {
    let names = snapshot.names();
    let policy = &what_if.policy;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "What if WorkloadPlacement {:?} ({}) were applied in workspace {}{}:",
        policy.name,
        policy_shape(policy),
        snapshot.workspace.path,
        if what_if.replaces {
            ", replacing the existing one"
        } else {
            ""
        }
    );
    out.push('\n');

    let rows = snapshot
        .workloads
        .iter()
        .zip(&what_if.decisions)
        .zip(&what_if.before);
    let mut governed = Vec::new();
    let mut kept_by_older = Vec::new();
    let mut released = Vec::new();
    for ((w, d), before) in rows {
        if d.policy == policy.name {
            governed.push((w, d, before));
        } else if policy.selects(w) {
            kept_by_older.push((w, d));
        } else if before == &policy.name {
            released.push((w, d));
        }
    }

    if governed.is_empty() {
        let _ = writeln!(out, "It would govern no workload of this workspace.");
    } else {
        let _ = writeln!(out, "It would govern {}:", count(governed.len()));
    }
    for (w, d, before) in &governed {
        let mut summary = movement(&names, w, d);
        if *before != &policy.name {
            let _ = write!(summary, "; taken from {}", policy_words(before));
        }
        let _ = writeln!(out, "  {} → {}", workload_words(&w.key), destination(&names, d));
        let _ = writeln!(out, "      {summary}");
    }
    if !kept_by_older.is_empty() {
        out.push('\n');
        let _ = writeln!(
            out,
            "It also matches {} that an older policy keeps (the oldest matching policy applies):",
            count(kept_by_older.len())
        );
        for (w, d) in &kept_by_older {
            let _ = writeln!(
                out,
                "  {} stays with {}",
                workload_words(&w.key),
                policy_words(&d.policy)
            );
        }
    }
    if !released.is_empty() {
        out.push('\n');
        let _ = writeln!(out, "It would no longer govern {}:", count(released.len()));
        for (w, d) in &released {
            let _ = writeln!(
                out,
                "  {} → {} under {}",
                workload_words(&w.key),
                destination(&names, d),
                policy_words(&d.policy)
            );
        }
    }
    out.push('\n');
    if let Some(caution) = unread_pool_caution(snapshot, &what_if.decisions) {
        let _ = writeln!(out, "{caution}");
    }
    out.push_str("nothing was changed\n");
    out
}

/// The clusters a decision selects, or `nowhere`.
fn destination(names: &Names, decision: &Decision) -> String {
    if decision.selected.is_empty() {
        "nowhere".to_owned()
    } else {
        names.clusters(&decision.selected)
    }
}
