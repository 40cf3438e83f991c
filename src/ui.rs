//! What people watching a pass see on stderr: cargo-style status lines, one per write
//! (`     Merging #12 environment/dev (a1b2c3d)`), and with `-v` every SCM request (method, path,
//! status — never a token or a body), folded into CI log sections ([`sections`]). On a terminal
//! the same pass is drawn as live lines instead ([`bars`]). stdout is left to the report.
//!
//! Which of the two a run gets is [`wants_bars`]; docs/output.md describes both.

pub(crate) mod bars;
pub(crate) mod sections;

use std::io::Write as _;

use console::Style;

use crate::ci_env::{self, Env};
use crate::pass::Progress;
use crate::reconcile::apply::{StepOutcome, StepResult};
use crate::reconcile::plan::{Action, EnvironmentPlan};

pub(crate) use bars::TerminalProgress;
pub(crate) use sections::LogSections;

/// Plain lines on stderr: what every run off a terminal (CI, a pipe, `-q`, `-v`) shows.
#[derive(Debug)]
pub(crate) struct StderrProgress {
    pub quiet: bool,
    pub verbose: u8,
    pub color: bool,
    /// How verbose parts are folded in a CI log; only used with `-v`.
    pub sections: LogSections,
}

impl StderrProgress {
    fn section_marker(&self, marker: Option<String>) {
        if self.quiet || self.verbose == 0 {
            return;
        }
        if let Some(marker) = marker {
            // One write per marker, so the request log (written by another handle) cannot land
            // in the middle of one.
            let _ = std::io::stderr().lock().write_all(marker.as_bytes());
        }
    }
}

impl Progress for StderrProgress {
    fn info(&mut self, line: &str) {
        if !self.quiet && (self.verbose > 0 || line.starts_with("warning")) {
            eprintln!("{}", crate::untrusted::for_log(line));
        }
    }

    fn step(&mut self, plan: &EnvironmentPlan, outcome: &StepOutcome) {
        let failed = matches!(outcome.result, StepResult::Failed { .. });
        if self.quiet && !failed {
            return;
        }
        eprintln!("{}", step_line(plan, outcome, self.color));
    }

    fn section_start(&mut self, name: &str, title: &str) {
        // The title (a strategy name, a URL) ends up inside a workflow command: one safe line.
        let title = crate::untrusted::one_line(&crate::untrusted::for_log(title)).into_owned();
        self.section_marker(self.sections.start(name, &title));
    }

    fn section_end(&mut self, name: &str) {
        self.section_marker(self.sections.end(name));
    }
}

/// Whether a run draws live lines ([`TerminalProgress`]) rather than plain ones: only for a person
/// at a terminal. Not with `-q` (silence) or `-v` (a log, meant to be read whole and pasted), not
/// in CI (GitHub Actions and GitLab CI logs are not terminals even when they emulate one), not on
/// `TERM=dumb` (no cursor movement). `--output json` does not matter: bars are on stderr and are
/// cleared before the report is printed on stdout.
pub(crate) fn wants_bars(quiet: bool, verbose: u8, env: Env<'_>, stderr_is_terminal: bool) -> bool {
    stderr_is_terminal
        && !quiet
        && verbose == 0
        && ci_env::detect(env).is_none()
        && env("TERM").as_deref() != Some("dumb")
}

/// The progress a command-line run gets: [`TerminalProgress`] when [`wants_bars`], else
/// [`StderrProgress`] with the CI's log sections.
pub(crate) fn progress_for(
    quiet: bool,
    verbose: u8,
    color: bool,
    env: Env<'_>,
    stderr_is_terminal: bool,
) -> Box<dyn Progress> {
    if wants_bars(quiet, verbose, env, stderr_is_terminal) {
        Box::new(TerminalProgress::new(
            indicatif::ProgressDrawTarget::stderr(),
            color,
        ))
    } else {
        Box::new(StderrProgress {
            quiet,
            verbose,
            color,
            sections: LogSections::for_ci_now(ci_env::detect(env)),
        })
    }
}

/// The cargo-style line of one attempted write: a right-aligned verb, what it touched, how it
/// ended.
pub(crate) fn step_line(plan: &EnvironmentPlan, outcome: &StepOutcome, color: bool) -> String {
    let failed = matches!(outcome.result, StepResult::Failed { .. });
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
        StepResult::HeadMoved { detail } | StepResult::NotNeeded { detail } => {
            format!(": {detail}")
        }
        StepResult::Blocked { reason } => format!(": refused: {reason}"),
        StepResult::Failed { error } => format!(": failed: {error}"),
    };
    let style = if !color {
        Style::new()
    } else if failed {
        Style::new().red().bold()
    } else {
        Style::new().green().bold()
    };
    // What follows the verb names branches, SCM answers and errors: redacted and escaped before
    // the verb's colour codes are added.
    let rest = crate::untrusted::for_log(&format!("{rest}{suffix}"));
    format!("{} {rest}", style.apply_to(format!("{verb:>12}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_only_for_a_person_at_a_terminal() {
        let none = |_: &str| None;
        let github = |name: &str| (name == "GITHUB_ACTIONS").then(|| "true".to_owned());
        let gitlab = |name: &str| (name == "GITLAB_CI").then(|| "true".to_owned());
        let dumb = |name: &str| (name == "TERM").then(|| "dumb".to_owned());
        assert!(wants_bars(false, 0, &none, true));
        assert!(!wants_bars(false, 0, &none, false), "not a terminal");
        assert!(!wants_bars(true, 0, &none, true), "-q");
        assert!(!wants_bars(false, 1, &none, true), "-v");
        assert!(!wants_bars(false, 0, &github, true), "GitHub Actions");
        assert!(!wants_bars(false, 0, &gitlab, true), "GitLab CI");
        assert!(!wants_bars(false, 0, &dumb, true), "TERM=dumb");
    }
}
