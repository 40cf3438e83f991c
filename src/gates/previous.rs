//! The previous-environment rule of docs/design.md §3: may this environment take `target` (its effective dry
//! SHA) now, given the environments before it? Pure; the planner writes the answer as the commit
//! status `promoter-previous-environment` on the staging tip. Never `failure`.
//!
//! Unlike upstream, ordering holds even when the previous environment has no active gates: with zero
//! gates, rule 2 is success once the change is live there. Upstream's commit-time sanity guard is not
//! part of docs/design.md §3 and is not ported.

use crate::gates::{GateResult, all_success};
use crate::model::{BranchName, GateKey, GateState, Sha};

/// The dry SHAs of one environment, as the rule needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DryState {
    /// `hydrator.metadata` drySha on the live tip; `None` before the first promotion.
    pub live: Option<Sha>,
    /// `hydrator.metadata` drySha on the staging tip.
    pub staging: Option<Sha>,
    /// The note's drySha on the staging tip if any, else `staging`.
    pub effective: Option<Sha>,
}

/// What the rule knows about one earlier environment.
#[derive(Debug, Clone)]
pub(crate) struct EarlierEnvironment<'a> {
    pub branch: &'a BranchName,
    /// `None`: the environment could not be observed; it counts as not promoted.
    pub dry: Option<DryState>,
    /// Its active gates on its live tip, evaluated (not-read SCM gates are pending).
    pub active_gates: Vec<GateResult>,
}

/// Evaluates the rule for an environment whose earlier environments are `earlier` (in config
/// order, nearest last) and whose effective dry SHA is `target`. With no earlier environment left
/// (the recursion's base case) the answer is success.
pub(crate) fn evaluate(earlier: &[EarlierEnvironment<'_>], target: &Sha) -> GateResult {
    let key = GateKey::previous_environment();
    let Some((p, before_p)) = earlier.split_last() else {
        return GateResult::new(
            key,
            GateState::Success,
            format!("no earlier environment deploys {} first", target.short()),
        );
    };
    let waiting_promotion = || {
        GateResult::new(
            key.clone(),
            GateState::Pending,
            format!("Waiting for `{}` to be promoted", p.branch),
        )
    };
    let Some(dry) = &p.dry else {
        return waiting_promotion();
    };
    // Rule 1: P has not been hydrated for the target yet (no commit, no note).
    if dry.effective.as_ref() != Some(target) {
        return GateResult::new(
            key,
            GateState::Pending,
            format!(
                "Waiting for the hydrator to process {} for `{}`",
                target.short(),
                p.branch
            ),
        );
    }
    // Rule 2: P deployed the target; it must be healthy there.
    if dry.live.as_ref() == Some(target) {
        return match first_unhealthy(p) {
            Some(blocked) => blocked,
            None => GateResult::new(
                key,
                GateState::Success,
                if p.active_gates.is_empty() {
                    format!("{} is live on `{}`", target.short(), p.branch)
                } else {
                    format!("{} is live and healthy on `{}`", target.short(), p.branch)
                },
            ),
        };
    }
    // Rule 3: P only has a note for the target (its output did not change) and nothing older is
    // waiting in P: P must be healthy as it is, then the environment before P decides (#1319:
    // health is checked before recursing).
    let no_op = dry.staging.as_ref() != Some(target);
    let nothing_pending = dry.live == dry.staging;
    if !(no_op && nothing_pending) {
        return waiting_promotion();
    }
    if let Some(blocked) = first_unhealthy(p) {
        return blocked;
    }
    evaluate(before_p, target)
}

/// The pending answer naming P's first active gate that is not success, if any.
fn first_unhealthy(p: &EarlierEnvironment<'_>) -> Option<GateResult> {
    if all_success(&p.active_gates) {
        return None;
    }
    let gate = p.active_gates.iter().find(|g| !g.is_success())?;
    Some(GateResult {
        key: GateKey::previous_environment(),
        state: GateState::Pending,
        description: format!("Waiting for `{}` on `{}`", gate.key, p.branch),
        target_url: gate.target_url.clone(),
        kind: None,
    })
}

#[cfg(test)]
#[path = "previous_tests.rs"]
mod tests;
