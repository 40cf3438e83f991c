//! What people watching a pass see on stderr: cargo-style status lines, one per write
//! (`     Merging #12 environment/dev (a1b2c3d)`), and with `-v` every SCM request (method, path,
//! status — never a token or a body). stdout is left to the report.

use console::Style;

use crate::pass::Progress;
use crate::reconcile::apply::{StepOutcome, StepResult};
use crate::reconcile::plan::{Action, EnvironmentPlan};

#[derive(Debug)]
pub struct StderrProgress {
    pub quiet: bool,
    pub verbose: u8,
    pub color: bool,
}

impl StderrProgress {
    fn line(&self, verb: &str, rest: &str, failed: bool) {
        let style = if !self.color {
            Style::new()
        } else if failed {
            Style::new().red().bold()
        } else {
            Style::new().green().bold()
        };
        eprintln!("{} {rest}", style.apply_to(format!("{verb:>12}")));
    }
}

impl Progress for StderrProgress {
    fn info(&mut self, line: &str) {
        if !self.quiet && (self.verbose > 0 || line.starts_with("warning")) {
            eprintln!("{line}");
        }
    }

    fn step(&mut self, plan: &EnvironmentPlan, outcome: &StepOutcome) {
        let failed = matches!(outcome.result, StepResult::Failed { .. });
        if self.quiet && !failed {
            return;
        }
        let (verb, rest) = match &outcome.step.action {
            Action::PushOursMerge { staging_branch, .. } => (
                "Resolving",
                format!("{staging_branch} (ours-merge of {})", plan.branch),
            ),
            Action::WriteStatus {
                sha,
                context,
                state,
                ..
            } => (
                "Status",
                format!(
                    "{context}={} on {} ({})",
                    state.as_str(),
                    plan.staging_branch,
                    sha.short()
                ),
            ),
            Action::CreatePr { head, base, .. } => ("Opening", format!("{head} → {base}")),
            Action::UpdatePr { number, .. } => ("Updating", format!("{number} {}", plan.branch)),
            Action::Merge {
                number, head_sha, ..
            } => (
                "Merging",
                format!("{number} {} ({})", plan.branch, head_sha.short()),
            ),
            Action::Note { text } => ("Note", text.clone()),
        };
        let suffix = match &outcome.result {
            StepResult::Done {
                detail: Some(detail),
            } => format!(" → {detail}"),
            StepResult::Done { detail: None } => String::new(),
            StepResult::HeadMoved { detail } => format!(": {detail}"),
            StepResult::Blocked { reason } => format!(": refused: {reason}"),
            StepResult::Failed { error } => format!(": failed: {error}"),
        };
        self.line(verb, &format!("{rest}{suffix}"), failed);
    }
}
