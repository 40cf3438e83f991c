//! The dashboard issue's body: a pure function of the [`PassReport`] of a reconcile pass and the
//! DRY commit subjects read from git. Deterministic — no clock, no counter, nothing that changes
//! when the promotion state does not — so an unchanged state renders the same text and the issue
//! is not rewritten. Untrusted text goes through `markdown::code`; only promoter's own links
//! (commit pages under the configured web URL, the PR URLs the SCM gave) are links.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::markdown::{code, code_outside_table, link};
use crate::gates::GateResult;
use crate::model::{GateState, Sha};
use crate::pass::{EnvironmentReport, PassReport};
use crate::reconcile::plan::Phase;

/// The hidden first line that makes an issue the dashboard (HTML comments do not render).
pub(crate) const MARKER: &str = "<!-- promoter-dashboard:v1 -->";

/// Characters kept of a commit subject and of a reason.
const SUBJECT_CHARS: usize = 80;
const REASON_CHARS: usize = 300;

/// What the body needs besides the report.
#[derive(Debug, Clone)]
pub(crate) struct BodyInputs<'a> {
    /// DRY commit subjects by DRY SHA (from `hydrator.metadata`); missing ones show no subject.
    pub subjects: &'a BTreeMap<Sha, String>,
    /// How the SCM writes a PR reference: `#` (GitHub, Gitea) or `!` (GitLab merge requests).
    pub pr_sigil: char,
    /// The SCM's body limit in bytes (`Issues::issue_body_limit`).
    pub limit: usize,
}

/// The whole body, ending with a newline, within `inputs.limit` bytes: environments that do not
/// fit are counted in a last line instead.
pub(crate) fn body(report: &PassReport, inputs: &BodyInputs<'_>) -> String {
    let head = format!(
        "{MARKER}\nWhere every environment of {} stands, as the last `promoter reconcile` pass saw it. promoter rewrites this issue when that changes; edits are overwritten. Closing it makes the next pass open a new one.\n",
        code_outside_table(&report.repository, 200)
    );
    let mut out = redact(&head);
    let mut left_out = 0usize;
    for strategy in &report.strategies {
        let mut section = format!(
            "\n### {}\n\n| Environment | Phase | Live DRY | Proposed DRY | Pull request | Gates | Waiting for |\n|---|---|---|---|---|---|---|\n",
            code_outside_table(&strategy.name, 200)
        );
        let mut rows = 0usize;
        for env in &strategy.environments {
            let row = redact(&format!("{}\n", row(report, env, inputs)));
            // Room is kept for the "not shown" line.
            if left_out > 0 || out.len() + section.len() + row.len() + 200 > inputs.limit {
                left_out += 1;
                continue;
            }
            section.push_str(&row);
            rows += 1;
        }
        if rows > 0 {
            out.push_str(&redact(&section));
        }
    }
    if left_out > 0 {
        let _ = writeln!(
            out,
            "\n{left_out} more environment(s) not shown: the issue body is limited to {} characters here.",
            inputs.limit
        );
    }
    out
}

fn row(report: &PassReport, env: &EnvironmentReport, inputs: &BodyInputs<'_>) -> String {
    let summary = &env.summary;
    let dry = |sha: Option<&Sha>| match sha {
        None => "-".to_owned(),
        Some(sha) => {
            let short = format!("`{}`", sha.short());
            let commit = if report.web_url.is_empty() {
                short
            } else {
                link(&short, &format!("{}/commit/{sha}", report.web_url))
            };
            match inputs.subjects.get(sha).map(|s| code(s, SUBJECT_CHARS)) {
                Some(subject) if !subject.is_empty() => format!("{commit} {subject}"),
                _ => commit,
            }
        }
    };
    let proposed = match (&summary.live_dry, &summary.proposed_dry) {
        (live, Some(proposed)) if live.as_ref() != Some(proposed) => dry(Some(proposed)),
        _ => "-".to_owned(),
    };
    let pull_request = summary.pull_request.as_ref().map_or("-".to_owned(), |pr| {
        link(&format!("{}{}", inputs.pr_sigil, pr.number.0), &pr.url)
    });
    let gates = gates(&summary.proposed_gates, &summary.active_gates);
    let waiting = match summary.phase {
        Phase::Promoted => "-".to_owned(),
        _ => code(&summary.reason, REASON_CHARS),
    };
    format!(
        "| {} | {} | {} | {} | {} | {} | {} |",
        code(env.branch.as_str(), 200),
        phase(summary.phase),
        dry(summary.live_dry.as_ref()),
        proposed,
        pull_request,
        if gates.is_empty() {
            "-".to_owned()
        } else {
            gates
        },
        if waiting.is_empty() {
            "-".to_owned()
        } else {
            waiting
        },
    )
}

fn phase(phase: Phase) -> &'static str {
    match phase {
        Phase::Promoted => "✅ promoted",
        Phase::Pending => "⏳ pending",
        Phase::Blocked => "⛔ blocked",
        Phase::Failure => "❌ failure",
    }
}

/// `` proposed: `ci` ✅ · active: `health` ⏳ ``; a gate's description is in the reason already.
fn gates(proposed: &[GateResult], active: &[GateResult]) -> String {
    let list = |gates: &[GateResult]| {
        gates
            .iter()
            .map(|gate| format!("{} {}", code(gate.key.as_str(), 100), mark(gate.state)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut parts = Vec::new();
    if !proposed.is_empty() {
        parts.push(format!("proposed: {}", list(proposed)));
    }
    if !active.is_empty() {
        parts.push(format!("active: {}", list(active)));
    }
    parts.join(" · ")
}

fn mark(state: GateState) -> &'static str {
    match state {
        GateState::Success => "✅",
        GateState::Pending => "⏳",
        GateState::Failure => "❌",
    }
}

/// Every form of every secret promoter holds becomes `***` (`crate::redact`).
fn redact(text: &str) -> String {
    crate::redact::text(text).into_owned()
}

#[cfg(test)]
mod tests;
