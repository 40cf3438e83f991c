//! Renders a [`PassReport`]: the human table (text), one JSON document, and Markdown. Pure
//! functions of the report; where it goes (stdout, a file, the step summary) is decided by the
//! caller. The JSON shape is documented in docs/output.md.

use std::fmt::Write as _;

use crate::gates::GateResult;
use crate::model::{GateState, Sha};
use crate::pass::{EnvironmentReport, Mode, PassReport};
use crate::reconcile::apply::StepResult;
use crate::reconcile::plan::{Action, Step};
use crate::untrusted;

/// One JSON document, pretty-printed, ending with a newline; secrets redacted and hazards
/// escaped ([`untrusted::json_document`]).
pub(crate) fn json(report: &PassReport) -> String {
    let mut text = untrusted::json_document(report, true);
    text.push('\n');
    text
}

/// The human table: per strategy, one line per environment, then what was done or planned.
pub(crate) fn text(report: &PassReport) -> String {
    let mut out = String::new();
    let width = report
        .environments()
        .map(|e| e.branch.as_str().len())
        .max()
        .unwrap_or(0);
    for strategy in &report.strategies {
        let _ = writeln!(out, "{}", strategy.name);
        for env in &strategy.environments {
            let summary = &env.summary;
            let _ = writeln!(
                out,
                "  {:width$}  {:8}  {:17}  {:5}  {}",
                env.branch.as_str(),
                summary.phase.as_str(),
                dry_change(summary.live_dry.as_ref(), summary.proposed_dry.as_ref()),
                summary
                    .pull_request
                    .as_ref()
                    .map(|pr| pr.number.to_string())
                    .unwrap_or_else(|| "-".into()),
                // A multi-line reason (an error with its `hint:` line) stays under its row.
                summary
                    .reason
                    .replace('\n', &format!("\n  {:width$}  ", "")),
            );
            let gates = gate_line(&summary.proposed_gates, &summary.active_gates);
            if !gates.is_empty() {
                let _ = writeln!(out, "  {:width$}  {gates}", "");
            }
            // Computed gates' reasons: no other system shows them.
            for gate in computed(&summary.proposed_gates, &summary.active_gates) {
                let _ = writeln!(
                    out,
                    "  {:width$}  {}: {}",
                    "",
                    gate.key,
                    gate.description.replace('\n', " ")
                );
            }
            for done in &env.done {
                let _ = writeln!(
                    out,
                    "  {:width$}  {}",
                    "",
                    done_line(&done.step, &done.result)
                );
            }
            for step in &env.planned {
                let _ = writeln!(out, "  {:width$}  would {}", "", action_line(&step.action));
            }
            for step in &env.deferred {
                let _ = writeln!(
                    out,
                    "  {:width$}  deferred: {}",
                    "",
                    action_line(&step.action)
                );
            }
        }
    }
    if let Some(line) = deferral_line(report) {
        let _ = writeln!(out, "{line}");
    }
    if report.mode == Mode::DryRun {
        out.push_str("dry run: nothing was written\n");
    }
    untrusted::for_log(&out)
}

/// A Markdown table, for `status --output markdown` and CI summaries.
pub(crate) fn markdown(report: &PassReport) -> String {
    let mut out = String::new();
    for strategy in &report.strategies {
        let _ = writeln!(out, "### {}\n", strategy.name);
        out.push_str("| Environment | Phase | Live → proposed DRY | PR | Gates | Reason |\n");
        out.push_str("|---|---|---|---|---|---|\n");
        for env in &strategy.environments {
            let _ = writeln!(out, "{}", markdown_row(report, env));
        }
        out.push('\n');
    }
    if let Some(line) = deferral_line(report) {
        let _ = writeln!(out, "_{}._\n", escape_cell(&line));
    }
    // Printed on CI logs by `status --output markdown`: no secret, no runner command either.
    untrusted::for_log(&out)
}

fn markdown_row(report: &PassReport, env: &EnvironmentReport) -> String {
    let summary = &env.summary;
    let sha_link = |sha: &Sha| {
        if report.web_url.is_empty() {
            format!("`{}`", sha.short())
        } else {
            format!("[`{}`]({}/commit/{})", sha.short(), report.web_url, sha)
        }
    };
    let dry = match (&summary.live_dry, &summary.proposed_dry) {
        (Some(live), Some(proposed)) if live == proposed => sha_link(live),
        (live, Some(proposed)) => format!(
            "{} → {}",
            live.as_ref().map(sha_link).unwrap_or_else(|| "none".into()),
            sha_link(proposed)
        ),
        (Some(live), None) => sha_link(live),
        (None, None) => "-".into(),
    };
    let pr = summary
        .pull_request
        .as_ref()
        .map(|pr| format!("[{}]({})", pr.number, untrusted::link_target(&pr.url)))
        .unwrap_or_else(|| "-".into());
    let gates = gate_cell(&summary.proposed_gates, &summary.active_gates);
    format!(
        "| `{}` | {} | {} | {} | {} | {} |",
        env.branch,
        if env.deferred.is_empty() {
            summary.phase.as_str().to_owned()
        } else {
            format!("{}, deferred", summary.phase.as_str())
        },
        dry,
        pr,
        if gates.is_empty() { "-".into() } else { gates },
        escape_cell(&summary.reason)
    )
}

/// When the pass stopped writing (docs/design.md §3 "Write budget"): how many environments wait
/// for the next pass, and why.
pub(crate) fn deferral_line(report: &PassReport) -> Option<String> {
    let writes = report.writes.as_ref()?;
    let reason = writes.stopped.as_ref()?;
    let deferred = report
        .environments()
        .filter(|e| !e.deferred.is_empty())
        .count();
    let plural = if deferred == 1 { "" } else { "s" };
    Some(format!(
        "{deferred} environment{plural} deferred to the next pass: {reason} ({writes})"
    ))
}

/// A table cell shows `text` literally, on one row, with promoter's `code` spans kept.
fn escape_cell(text: &str) -> String {
    untrusted::markdown_cell(text)
}

fn dry_change(live: Option<&Sha>, proposed: Option<&Sha>) -> String {
    match (live, proposed) {
        (Some(live), Some(proposed)) if live == proposed => live.short().to_owned(),
        (live, Some(proposed)) => format!(
            "{} → {}",
            live.map(Sha::short).unwrap_or("none"),
            proposed.short()
        ),
        (Some(live), None) => live.short().to_owned(),
        (None, None) => "-".to_owned(),
    }
}

/// `health ✓  security-scan …  promoter-previous-environment ✗`.
fn gate_line(proposed: &[GateResult], active: &[GateResult]) -> String {
    proposed
        .iter()
        .chain(active)
        .map(|gate| format!("{} {}", gate.key, gate_mark(gate.state)))
        .collect::<Vec<_>>()
        .join("  ")
}

/// The computed gates (docs/design.md §4.4) among an environment's gates.
fn computed<'a>(
    proposed: &'a [GateResult],
    active: &'a [GateResult],
) -> impl Iterator<Item = &'a GateResult> {
    proposed.iter().chain(active).filter(|g| g.kind.is_some())
}

/// The Gates cell: the marks, then each computed gate's reason.
fn gate_cell(proposed: &[GateResult], active: &[GateResult]) -> String {
    let mut cell = gate_line(proposed, active);
    for gate in computed(proposed, active) {
        cell.push_str(&format!(
            "<br>{}: {}",
            gate.key,
            escape_cell(&gate.description)
        ));
    }
    cell
}

pub(crate) fn gate_mark(state: GateState) -> &'static str {
    match state {
        GateState::Success => "✓",
        GateState::Pending => "…",
        GateState::Failure => "✗",
    }
}

fn done_line(step: &Step, result: &StepResult) -> String {
    let action = action_line(&step.action);
    match result {
        StepResult::Done {
            detail: Some(detail),
        } => format!("{action}: done ({detail})"),
        StepResult::Done { detail: None } => format!("{action}: done"),
        StepResult::HeadMoved { detail } => format!("{action}: not done, {detail}"),
        StepResult::NotNeeded { detail } => format!("{action}: not needed, {detail}"),
        StepResult::Blocked { reason } => format!("{action}: refused by the SCM: {reason}"),
        StepResult::Failed { error } => format!("{action}: failed: {error}"),
    }
}

/// What an action does, in a few words.
pub(crate) fn action_line(action: &Action) -> String {
    match action {
        Action::PushOursMerge {
            live_branch,
            staging_branch,
            ..
        } => format!("push an ours-merge of {live_branch} to {staging_branch}"),
        Action::WriteStatus {
            sha,
            context,
            state,
            description,
            ..
        } => format!(
            "set {context}={} on {} ({description})",
            state.as_str(),
            sha.short()
        ),
        Action::CreatePr { head, base, .. } => format!("open a pull request {head} → {base}"),
        Action::UpdatePr { number, .. } => format!("update pull request {number}"),
        Action::Merge {
            number, head_sha, ..
        } => format!("merge pull request {number} at {}", head_sha.short()),
        Action::Note { text } => text.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BranchName, PrNumber};
    use crate::pass::{SCHEMA_VERSION, StrategyReport};
    use crate::reconcile::apply::StepOutcome;
    use crate::reconcile::plan::{Phase, PrRef, Summary};

    fn failed_environment_report(reason: &str) -> PassReport {
        let summary = Summary {
            phase: Phase::Failure,
            reason: reason.to_owned(),
            live_dry: None,
            proposed_dry: None,
            live_tip: None,
            staging_tip: None,
            pull_request: None,
            proposed_gates: Vec::new(),
            active_gates: Vec::new(),
        };
        PassReport {
            schema_version: SCHEMA_VERSION,
            mode: Mode::Reconcile,
            repository: "acme/deploy".into(),
            web_url: "https://github.com/acme/deploy".into(),
            strategies: vec![StrategyReport {
                name: "app".into(),
                environments: vec![EnvironmentReport {
                    branch: BranchName::parse("environment/dev").unwrap(),
                    staging_branch: BranchName::parse("environment/dev-next").unwrap(),
                    summary,
                    done: Vec::new(),
                    planned: Vec::new(),
                    deferred: Vec::new(),
                }],
            }],
            writes: None,
            dashboard: None,
        }
    }

    #[test]
    fn a_hint_in_a_reason_stays_indented_under_its_environment() {
        let report =
            failed_environment_report("GitHub refused the token\nhint: check GITHUB_TOKEN");
        let text = text(&report);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "app");
        assert!(lines[1].starts_with("  environment/dev  failure"), "{text}");
        assert!(lines[1].ends_with("GitHub refused the token"), "{text}");
        assert_eq!(
            lines[2],
            format!("  {:15}  hint: check GITHUB_TOKEN", ""),
            "{text}"
        );
    }

    #[test]
    fn markdown_cells_keep_one_row_per_environment() {
        let report = failed_environment_report("a | b\nhint: c");
        let markdown = markdown(&report);
        let rows: Vec<&str> = markdown.lines().filter(|l| l.starts_with("| `")).collect();
        assert_eq!(rows.len(), 1, "{markdown}");
        assert!(rows[0].ends_with("| a \\| b hint: c |"), "{markdown}");
    }

    fn sha(c: char) -> Sha {
        Sha::parse(&c.to_string().repeat(40)).unwrap()
    }

    #[test]
    fn computed_gates_show_their_reason_in_text_markdown_and_json() {
        let mut report = two_environment_report(Mode::Status);
        let mut window = gate(
            "business-hours",
            GateState::Pending,
            "closed until `office hours` opens at 2026-12-02T09:00:00+01:00 (Europe/Berlin)",
        );
        window.kind = Some("schedule");
        report.strategies[0].environments[1]
            .summary
            .proposed_gates
            .push(window);
        let text = text(&report);
        assert!(
            text.contains("business-hours: closed until `office hours` opens at 2026-12-02T09:00:00+01:00 (Europe/Berlin)\n"),
            "{text}"
        );
        assert!(
            !text.contains("security-scan: "),
            "SCM gates keep one mark: {text}"
        );
        let markdown = markdown(&report);
        assert!(
            markdown.contains(
                "business-hours …<br>business-hours: closed until `office hours` opens at"
            ),
            "{markdown}"
        );
        let json: serde_json::Value = serde_json::from_str(&json(&report)).unwrap();
        let gates = &json["strategies"][0]["environments"][1]["summary"]["proposedGates"];
        assert_eq!(gates[2]["kind"], "schedule");
        assert!(gates[0].get("kind").is_none(), "{gates}");
    }

    fn gate(key: &str, state: GateState, description: &str) -> GateResult {
        GateResult::new(
            crate::model::GateKey::parse(key).unwrap(),
            state,
            description,
        )
    }

    /// Two environments: dev promoted (its active gate passed, one status written this pass) and
    /// prod pending on an open PR with one proposed gate pending and one failed. In `DryRun` mode
    /// the status write is planned instead of done.
    fn two_environment_report(mode: Mode) -> PassReport {
        let dev_summary = Summary {
            phase: Phase::Promoted,
            reason: "up to date".into(),
            live_dry: Some(sha('a')),
            proposed_dry: Some(sha('a')),
            live_tip: Some(sha('b')),
            staging_tip: Some(sha('c')),
            pull_request: None,
            proposed_gates: Vec::new(),
            active_gates: vec![gate("health", GateState::Success, "healthy for 10m")],
        };
        let prod_summary = Summary {
            phase: Phase::Pending,
            reason: "waiting for gates: security-scan".into(),
            live_dry: Some(sha('d')),
            proposed_dry: Some(sha('a')),
            live_tip: Some(sha('e')),
            staging_tip: Some(sha('f')),
            pull_request: Some(PrRef {
                number: PrNumber(42),
                url: "https://github.com/acme/deploy/pull/42".into(),
            }),
            proposed_gates: vec![
                gate("security-scan", GateState::Pending, "scan running"),
                gate("e2e", GateState::Failure, "2 tests failed"),
            ],
            active_gates: Vec::new(),
        };
        let status_step = Step {
            action: Action::WriteStatus {
                sha: sha('f'),
                context: "promoter-previous-environment".into(),
                state: GateState::Success,
                description: "environment/dev is promoted".into(),
                target_url: None,
            },
            reason: "the previous environment runs aaaaaaa".into(),
        };
        let (done, planned) = match mode {
            Mode::DryRun => (Vec::new(), vec![status_step]),
            Mode::Reconcile | Mode::Status => (
                vec![StepOutcome {
                    step: status_step,
                    result: StepResult::Done { detail: None },
                }],
                Vec::new(),
            ),
        };
        PassReport {
            schema_version: SCHEMA_VERSION,
            mode,
            repository: "acme/deploy".into(),
            web_url: "https://github.com/acme/deploy".into(),
            strategies: vec![StrategyReport {
                name: "app".into(),
                environments: vec![
                    EnvironmentReport {
                        branch: BranchName::parse("environment/dev").unwrap(),
                        staging_branch: BranchName::parse("environment/dev-next").unwrap(),
                        summary: dev_summary,
                        done: Vec::new(),
                        planned: Vec::new(),
                        deferred: Vec::new(),
                    },
                    EnvironmentReport {
                        branch: BranchName::parse("environment/prod").unwrap(),
                        staging_branch: BranchName::parse("environment/prod-next").unwrap(),
                        summary: prod_summary,
                        done,
                        planned,
                        deferred: Vec::new(),
                    },
                ],
            }],
            writes: (mode == Mode::Reconcile).then_some(crate::reconcile::pacing::WriteSummary {
                made: 1,
                budget: Some(80),
                per_minute: Some(80),
                per_hour: Some(500),
                stopped: None,
            }),
            dashboard: None,
        }
    }

    #[test]
    fn the_text_report_shows_phases_gates_and_done_steps() {
        insta::assert_snapshot!(text(&two_environment_report(Mode::Reconcile)));
    }

    #[test]
    fn the_dry_run_text_report_shows_planned_steps_and_says_nothing_was_written() {
        insta::assert_snapshot!(text(&two_environment_report(Mode::DryRun)));
    }

    #[test]
    fn the_json_report_has_the_documented_shape() {
        insta::assert_snapshot!(json(&two_environment_report(Mode::Reconcile)));
    }

    #[test]
    fn the_dry_run_json_report_lists_planned_steps() {
        insta::assert_snapshot!(json(&two_environment_report(Mode::DryRun)));
    }

    #[test]
    fn the_markdown_report_links_commits_and_pull_requests() {
        insta::assert_snapshot!(markdown(&two_environment_report(Mode::Reconcile)));
    }

    /// prod's merge left for the next pass by a spent write budget.
    fn deferred_report() -> PassReport {
        let mut report = two_environment_report(Mode::Reconcile);
        let prod = &mut report.strategies[0].environments[1];
        prod.deferred = vec![Step {
            action: Action::Merge {
                number: PrNumber(42),
                head_sha: sha('f'),
                title: "Promote".into(),
                message: String::new(),
                reread_live_tip: false,
            },
            reason: "every gate passed".into(),
        }];
        report.writes = Some(crate::reconcile::pacing::WriteSummary {
            made: 1,
            budget: Some(1),
            per_minute: Some(80),
            per_hour: Some(500),
            stopped: Some("the write budget of 1 (`--max-writes`) is spent".into()),
        });
        report
    }

    #[test]
    fn a_deferred_environment_shows_the_writes_left_and_why_in_every_rendering() {
        let report = deferred_report();
        let line = "1 environment deferred to the next pass: the write budget of 1 (`--max-writes`) \
                    is spent (1 write made, budget 1, at most 80 a minute)";
        let text = text(&report);
        assert!(
            text.contains("      deferred: merge pull request #42 at fffffff\n"),
            "{text}"
        );
        assert!(text.ends_with(&format!("{line}\n")), "{text}");
        let markdown = markdown(&report);
        assert!(
            markdown.contains("| `environment/prod` | pending, deferred |"),
            "{markdown}"
        );
        assert!(markdown.contains("deferred to the next pass"), "{markdown}");
        let json: serde_json::Value = serde_json::from_str(&json(&report)).unwrap();
        let prod = &json["strategies"][0]["environments"][1];
        assert_eq!(prod["deferred"][0]["action"]["kind"], "merge", "{json:#}");
        assert!(
            json["strategies"][0]["environments"][0]
                .get("deferred")
                .is_none()
        );
        assert_eq!(
            json["writes"]["stopped"],
            report.writes.unwrap().stopped.unwrap()
        );
    }
}
