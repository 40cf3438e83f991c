//! Gate evaluation: turning the SCM's status reports into a [`GateState`] per gate key (docs/design.md §4.1),
//! the built-in gates computed from git facts (soak time, docs/design.md §4.3) and the previous-environment
//! rule ([`previous`], docs/design.md §3). Pure functions: no I/O, no clock (callers pass `now`).
//!
//! Not here: reading reports from the SCM (that is `scm`), deciding what to write or merge (that is
//! `reconcile::plan`).

pub(crate) mod argocd;
pub(crate) mod commit_rule;
pub(crate) mod computed;
pub(crate) mod cron;
pub(crate) mod expr;
pub(crate) mod previous;
pub(crate) mod schedule;
pub(crate) mod web;

use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::{Gate, GateDefinition, format_duration};

use crate::model::{BranchName, GateKey, GateState};
use crate::scm::StatusReport;
pub(crate) use computed::ComputedFacts;

/// The status description cut lives with the SCM code that writes descriptions; the planner
/// cuts with it before comparing.
pub(crate) use crate::scm::cut_description;

/// How a gate's state is found. Built-ins are computed by promoter and written to the SCM under
/// their key so people see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GateKind<'a> {
    /// Read from commit statuses / check runs on the SCM.
    Scm,
    /// Success once the live tip has been live for this long.
    Soak(Duration),
    /// A `gates:` entry (docs/design.md §4.4).
    Computed(&'a GateDefinition),
}

impl<'a> GateKind<'a> {
    pub(crate) fn of(gate: &'a Gate) -> Self {
        match (&gate.computed, gate.soak_time) {
            (Some(definition), _) => GateKind::Computed(definition),
            (None, Some(duration)) => GateKind::Soak(duration),
            (None, None) => GateKind::Scm,
        }
    }

    /// Built-in gates are computed by promoter, not read.
    pub(crate) fn is_built_in(self) -> bool {
        !matches!(self, GateKind::Scm)
    }
}

/// Whether the planner may write `gate`'s status: a built-in gate whose inputs were read in this
/// pass (a gate not read is pending for the merge decision, but "not read" is no status to show).
pub(crate) fn is_written(gate: &Gate, proposed: bool, facts: &ComputedFacts) -> bool {
    match GateKind::of(gate) {
        GateKind::Scm => false,
        GateKind::Soak(_) => true,
        GateKind::Computed(definition) => computed::was_read(definition, proposed, facts),
    }
}

/// The state of one gate on one commit, with the reason shown to people.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GateResult {
    pub key: GateKey,
    pub state: GateState,
    pub description: String,
    pub target_url: Option<String>,
    /// For computed gates, their kind (`schedule`, `commit`, `webRequest`, `argocd`): reports show
    /// their reason, since no other system does. `None` for gates read from the SCM and the
    /// previous-environment and soak gates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
}

impl GateResult {
    pub(crate) fn new(key: GateKey, state: GateState, description: impl Into<String>) -> Self {
        Self {
            key,
            state,
            description: description.into(),
            target_url: None,
            kind: None,
        }
    }

    pub(crate) fn is_success(&self) -> bool {
        self.state == GateState::Success
    }
}

/// Whether every gate passed (an empty list passes).
pub(crate) fn all_success(gates: &[GateResult]) -> bool {
    gates.iter().all(GateResult::is_success)
}

/// A gate whose reports were not read in this pass (observe skipped the SCM call, or the call
/// failed). Pending, never success: promoter only merges on facts it read.
pub(crate) fn not_read(key: &GateKey) -> GateResult {
    GateResult::new(
        key.clone(),
        GateState::Pending,
        format!("`{key}` was not read in this pass"),
    )
}

/// docs/design.md §4.1: the reports named exactly `key` or `key/<branch>` decide the gate; several → failure
/// if any failed, else pending if any is pending, else success; none → pending.
pub(crate) fn evaluate_reports(
    key: &GateKey,
    branch: &BranchName,
    reports: &[StatusReport],
) -> GateResult {
    evaluate_named(key, Some(branch), reports)
}

/// [`evaluate_reports`]; without a branch only reports named exactly `key` count (`promoter
/// gate get --sha`).
pub(crate) fn evaluate_named(
    key: &GateKey,
    branch: Option<&BranchName>,
    reports: &[StatusReport],
) -> GateResult {
    let scoped = branch.map(|branch| format!("{key}/{branch}"));
    let mut matching: Vec<&StatusReport> = reports
        .iter()
        .filter(|r| r.name == key.as_str() || Some(&r.name) == scoped.as_ref())
        .collect();
    matching.sort_by(|a, b| a.name.cmp(&b.name));
    let Some(state) = combine(matching.iter().map(|r| r.state)) else {
        return GateResult::new(
            key.clone(),
            GateState::Pending,
            format!("waiting for `{key}` to be reported"),
        );
    };
    let decisive = matching
        .iter()
        .find(|r| r.state == state)
        .expect("the combined state comes from one of the matching reports");
    let description = if decisive.description.trim().is_empty() {
        format!("`{}` is {}", decisive.name, state.as_str())
    } else {
        decisive.description.clone()
    };
    GateResult {
        key: key.clone(),
        state,
        description,
        target_url: decisive.target_url.clone(),
        kind: None,
    }
}

/// failure > pending > success; `None` when there is nothing to combine.
fn combine(states: impl Iterator<Item = GateState>) -> Option<GateState> {
    states.fold(None, |acc, state| match (acc, state) {
        (None, s) => Some(s),
        (Some(GateState::Failure), _) | (_, GateState::Failure) => Some(GateState::Failure),
        (Some(GateState::Pending), _) | (_, GateState::Pending) => Some(GateState::Pending),
        _ => Some(GateState::Success),
    })
}

/// docs/design.md §4.3: success once `live_since + soak <= now`; the pending text names a fixed end time so
/// it does not change from pass to pass.
pub(crate) fn evaluate_soak(
    key: &GateKey,
    soak: Duration,
    live_since: OffsetDateTime,
    now: OffsetDateTime,
) -> GateResult {
    let until = time::Duration::try_from(soak)
        .ok()
        .and_then(|d| live_since.checked_add(d));
    match until {
        Some(until) if until <= now => GateResult::new(
            key.clone(),
            GateState::Success,
            format!("soaked for {}", format_duration(soak)),
        ),
        Some(until) => GateResult::new(
            key.clone(),
            GateState::Pending,
            format!("soaking until {}", rfc3339(until)),
        ),
        None => GateResult::new(
            key.clone(),
            GateState::Pending,
            format!("soaking for {}", format_duration(soak)),
        ),
    }
}

/// An active gate of an environment, on its live tip. Built-ins are computed from git facts and
/// the computed gates' inputs; SCM gates from the reports, or [`not_read`] when they were not read.
pub(crate) fn evaluate_active(
    gate: &Gate,
    branch: &BranchName,
    live_since: OffsetDateTime,
    live_reports: Option<&[StatusReport]>,
    facts: &ComputedFacts,
    now: OffsetDateTime,
) -> GateResult {
    match GateKind::of(gate) {
        GateKind::Soak(soak) => evaluate_soak(&gate.key, soak, live_since, now),
        GateKind::Computed(definition) => computed::evaluate(definition, branch, false, facts, now),
        GateKind::Scm => match live_reports {
            Some(reports) => evaluate_reports(&gate.key, branch, reports),
            None => not_read(&gate.key),
        },
    }
}

/// A proposed gate of an environment, on its staging tip.
pub(crate) fn evaluate_proposed(
    gate: &Gate,
    branch: &BranchName,
    staging_reports: Option<&[StatusReport]>,
    facts: &ComputedFacts,
    now: OffsetDateTime,
) -> GateResult {
    match (&gate.computed, staging_reports) {
        (Some(definition), _) => computed::evaluate(definition, branch, true, facts, now),
        (None, Some(reports)) => evaluate_reports(&gate.key, branch, reports),
        (None, None) => not_read(&gate.key),
    }
}

/// RFC 3339 in UTC, to the second.
pub(crate) fn rfc3339(at: OffsetDateTime) -> String {
    let utc = at
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .expect("0 is a valid nanosecond");
    utc.format(&Rfc3339)
        .expect("every UTC date time formats as RFC 3339")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn key(k: &str) -> GateKey {
        GateKey::parse(k).unwrap()
    }

    fn branch() -> BranchName {
        BranchName::parse("environment/dev").unwrap()
    }

    fn report(name: &str, state: GateState) -> StatusReport {
        StatusReport {
            name: name.into(),
            state,
            description: format!("{name} says {}", state.as_str()),
            target_url: Some(format!("https://ci.example/{name}")),
            description_fixed: false,
        }
    }

    #[test]
    fn a_missing_report_is_pending_and_says_what_it_waits_for() {
        let got = evaluate_reports(
            &key("health"),
            &branch(),
            &[report("other", GateState::Success)],
        );
        assert_eq!(got.state, GateState::Pending);
        assert_eq!(got.description, "waiting for `health` to be reported");
        assert_eq!(got.target_url, None);
    }

    #[test]
    fn reports_named_key_or_key_slash_branch_match_and_others_do_not() {
        let b = branch();
        let k = key("health");
        for name in ["health", "health/environment/dev"] {
            let got = evaluate_reports(&k, &b, &[report(name, GateState::Success)]);
            assert_eq!(got.state, GateState::Success, "{name}");
            assert_eq!(
                got.target_url.as_deref(),
                Some(format!("https://ci.example/{name}").as_str())
            );
        }
        for name in [
            "healthy",
            "health/environment/prod",
            "x/health",
            "Health",
            "health/",
        ] {
            let got = evaluate_reports(&k, &b, &[report(name, GateState::Success)]);
            assert_eq!(got.state, GateState::Pending, "{name} must not match");
        }
    }

    #[test]
    fn several_matches_combine_failure_over_pending_over_success() {
        use GateState::*;
        let cases = [
            (Success, Success, Success),
            (Success, Pending, Pending),
            (Pending, Success, Pending),
            (Success, Failure, Failure),
            (Failure, Pending, Failure),
            (Pending, Pending, Pending),
            (Failure, Failure, Failure),
        ];
        for (plain, scoped, want) in cases {
            let reports = [
                report("health", plain),
                report("health/environment/dev", scoped),
            ];
            let got = evaluate_reports(&key("health"), &branch(), &reports);
            assert_eq!(got.state, want, "{plain:?} + {scoped:?}");
            let decisive = reports.iter().find(|r| r.state == want).unwrap();
            assert_eq!(got.description, decisive.description);
        }
    }

    #[test]
    fn an_empty_description_is_replaced_by_the_report_name_and_state() {
        let mut r = report("health", GateState::Failure);
        r.description = " ".into();
        let got = evaluate_reports(&key("health"), &branch(), &[r]);
        assert_eq!(got.description, "`health` is failure");
    }

    #[test]
    fn soak_succeeds_exactly_at_the_boundary() {
        let live = datetime!(2026-01-01 10:00:00 UTC);
        let soak = Duration::from_secs(30 * 60);
        let k = key("soak");
        let before = evaluate_soak(&k, soak, live, datetime!(2026-01-01 10:29:59 UTC));
        assert_eq!(before.state, GateState::Pending);
        assert_eq!(before.description, "soaking until 2026-01-01T10:30:00Z");
        let at = evaluate_soak(&k, soak, live, datetime!(2026-01-01 10:30:00 UTC));
        assert_eq!(at.state, GateState::Success);
        assert_eq!(at.description, "soaked for 30m");
        let after = evaluate_soak(&k, soak, live, datetime!(2026-01-02 00:00:00 UTC));
        assert_eq!(after.state, GateState::Success);
    }

    #[test]
    fn soak_pending_text_is_the_same_on_every_pass_and_in_utc() {
        let live = datetime!(2026-01-01 12:00:00 +02:00);
        let soak = Duration::from_secs(3600);
        let k = key("soak");
        let a = evaluate_soak(&k, soak, live, datetime!(2026-01-01 10:05:00 UTC));
        let b = evaluate_soak(&k, soak, live, datetime!(2026-01-01 10:50:00 UTC));
        assert_eq!(a, b);
        assert_eq!(a.description, "soaking until 2026-01-01T11:00:00Z");
    }

    #[test]
    fn soak_ignores_reports_and_scm_gates_not_read_are_pending() {
        let live = datetime!(2026-01-01 10:00:00 UTC);
        let now = datetime!(2026-01-01 11:00:00 UTC);
        let soak = Gate {
            key: key("soak"),
            soak_time: Some(Duration::from_secs(60)),
            computed: None,
        };
        let failing = [report("soak", GateState::Failure)];
        let got = evaluate_active(
            &soak,
            &branch(),
            live,
            Some(&failing),
            &ComputedFacts::default(),
            now,
        );
        assert_eq!(got.state, GateState::Success);
        let health = Gate {
            key: key("health"),
            soak_time: None,
            computed: None,
        };
        let got = evaluate_active(
            &health,
            &branch(),
            live,
            None,
            &ComputedFacts::default(),
            now,
        );
        assert_eq!(got.state, GateState::Pending);
        assert_eq!(got.description, "`health` was not read in this pass");
    }

    #[test]
    fn descriptions_are_cut_to_140_characters() {
        let short = "a".repeat(140);
        assert_eq!(cut_description(&short), short);
        let long = "é".repeat(200);
        let cut = cut_description(&long);
        assert_eq!(cut.chars().count(), 140);
        assert!(cut.ends_with('…'));
        assert!(cut.starts_with("éé"));
    }
}
