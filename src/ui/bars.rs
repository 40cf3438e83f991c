//! Live lines on a terminal (indicatif): the fetch with objects received/total and bytes, then one
//! line per environment saying what it is doing (reading gates, merging #12, waiting, failed).
//! Writes are still printed as cargo-style lines, above the live ones, so they stay in the
//! scrollback. Everything live is cleared when the pass ends ([`Progress::finish`], or on drop
//! when the pass stopped with an error), so the report printed on stdout afterwards is not garbled.
//!
//! Only used when `ui::wants_bars` says so; off a terminal the plain `StderrProgress` is used.
//! Where it draws is a [`ProgressDrawTarget`], so tests draw into indicatif's in-memory terminal.

use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use console::Style;

use crate::git::FetchProgress;
use crate::model::BranchName;
use crate::pass::{Activity, Progress};
use crate::reconcile::apply::StepOutcome;
use crate::reconcile::plan::{Action, EnvironmentPlan, Phase};

/// [`Progress`] drawn as live lines.
#[derive(Debug)]
pub(crate) struct TerminalProgress {
    multi: MultiProgress,
    color: bool,
    fetch: Option<FetchLine>,
    /// In the order first seen, which is the order of promotion.yaml.
    environments: Vec<EnvironmentLine>,
}

#[derive(Debug)]
struct FetchLine {
    bar: ProgressBar,
    done: bool,
}

#[derive(Debug)]
struct EnvironmentLine {
    strategy: String,
    branch: BranchName,
    bar: ProgressBar,
}

impl TerminalProgress {
    /// Draws on `target` (`ProgressDrawTarget::stderr()` for a run).
    pub(crate) fn new(target: ProgressDrawTarget, color: bool) -> Self {
        Self {
            multi: MultiProgress::with_draw_target(target),
            color,
            fetch: None,
            environments: Vec::new(),
        }
    }

    fn verb(&self, verb: &str) -> String {
        let style = if self.color {
            Style::new().cyan().bold()
        } else {
            Style::new()
        };
        style.apply_to(format!("{verb:>12}")).to_string()
    }

    /// `line` is already safe to show (a warning is escaped here; step lines by `step_line`).
    fn println(&self, line: &str) {
        // Fails only when the terminal is gone; there is nobody left to tell.
        let _ = self.multi.println(line);
    }

    /// Branch names padded to the longest one seen, so the messages line up.
    fn align(&self) {
        let width = self
            .environments
            .iter()
            .map(|line| line.branch.as_str().chars().count())
            .max()
            .unwrap_or(0);
        for line in &self.environments {
            line.bar
                .set_prefix(format!("{:>12} {:<width$}", "", line.branch.as_str()));
        }
    }

    /// Shows `message` on the line of `branch`, adding the line the first time.
    fn show(&mut self, strategy: &str, branch: &BranchName, message: String) {
        // One line per environment: a reason with a line break (an error and its hint) must not
        // break it, nor carry a secret or a workflow command.
        let message = crate::untrusted::one_line(&crate::untrusted::for_log(&message)).into_owned();
        if let Some(line) = self
            .environments
            .iter()
            .find(|line| line.strategy == strategy && &line.branch == branch)
        {
            line.bar.set_message(message);
            return;
        }
        // Drawn nowhere until added, so it never shows without its prefix and message.
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden())
            .with_style(template("{prefix}  {wide_msg}"))
            .with_message(message);
        self.environments.push(EnvironmentLine {
            strategy: strategy.to_owned(),
            branch: branch.clone(),
            bar: bar.clone(),
        });
        self.align();
        // Adding does not draw; the first tick does.
        self.multi.add(bar).tick();
    }
}

impl Progress for TerminalProgress {
    fn info(&mut self, line: &str) {
        // Bars are never drawn with `-v`, so only warnings are for people here.
        if line.starts_with("warning") {
            self.println(&crate::untrusted::for_log(line));
        }
    }

    fn step(&mut self, plan: &EnvironmentPlan, outcome: &StepOutcome) {
        self.println(&super::step_line(plan, outcome, self.color));
    }

    fn fetch(&mut self, progress: &FetchProgress) {
        if progress.total_objects == 0 {
            // Before the pack header there is nothing to count against.
            return;
        }
        if self.fetch.is_none() {
            // Set up while hidden, so the first frame already has the total.
            let bar = ProgressBar::with_draw_target(
                Some(progress.total_objects as u64),
                ProgressDrawTarget::hidden(),
            )
            .with_style(
                template("{prefix} [{bar:25}] {pos}/{len} objects, {msg}").progress_chars("=> "),
            )
            .with_prefix(self.verb("Fetching"))
            .with_message(HumanBytes(progress.received_bytes as u64).to_string());
            let bar = self.multi.add(bar);
            self.fetch = Some(FetchLine { bar, done: false });
        }
        let verb = self.verb("Fetched");
        let line = self.fetch.as_mut().expect("created above");
        if line.done {
            // libgit2 goes on reporting while it resolves deltas; the line already says it all.
            return;
        }
        let bytes = HumanBytes(progress.received_bytes as u64);
        if progress.indexed_objects == progress.total_objects {
            line.done = true;
            line.bar.set_style(template("{prefix} {msg}"));
            line.bar.set_prefix(verb);
            line.bar
                .finish_with_message(format!("{} objects ({bytes})", progress.total_objects));
            return;
        }
        line.bar.set_length(progress.total_objects as u64);
        line.bar.set_message(bytes.to_string());
        line.bar.set_position(progress.received_objects as u64);
    }

    fn environment(&mut self, strategy: &str, branch: &BranchName, activity: &Activity<'_>) {
        self.show(strategy, branch, activity_text(activity));
    }

    fn finish(&mut self) {
        if let Some(line) = self.fetch.take() {
            line.bar.finish_and_clear();
        }
        for line in self.environments.drain(..) {
            line.bar.finish_and_clear();
        }
        let _ = self.multi.clear();
    }
}

impl Drop for TerminalProgress {
    fn drop(&mut self) {
        // A pass that stopped with an error never reached `finish`; the error is printed next.
        self.finish();
    }
}

/// What an environment's line says.
pub(crate) fn activity_text(activity: &Activity<'_>) -> String {
    match activity {
        Activity::Reading => "reading branches and gates".to_owned(),
        Activity::Writing(step) => match &step.action {
            Action::PushOursMerge { staging_branch, .. } => {
                format!("resolving a conflict: pushing an ours-merge to {staging_branch}")
            }
            Action::WriteStatus { context, state, .. } => {
                format!("writing status {context}={}", state.as_str())
            }
            Action::CreatePr { head, base, .. } => {
                format!("opening a pull request {head} → {base}")
            }
            Action::UpdatePr { number, .. } => format!("updating {number}"),
            Action::Merge {
                number, head_sha, ..
            } => format!("merging {number} ({})", head_sha.short()),
            Action::Note { text } => text.clone(),
        },
        Activity::Finished(summary) => match summary.phase {
            Phase::Promoted => "✓ promoted".to_owned(),
            Phase::Pending => format!("… {}", summary.reason),
            Phase::Blocked => format!("✗ blocked: {}", summary.reason),
            Phase::Failure => format!("✗ failed: {}", summary.reason),
        },
    }
}

fn template(text: &str) -> ProgressStyle {
    ProgressStyle::with_template(text).expect("a valid indicatif template")
}

#[cfg(test)]
mod tests;
