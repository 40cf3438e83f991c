//! How a command ends: the exit code (docs/design.md §6: 0 done, 1 something could not be reconciled,
//! 2 usage or configuration error) and, when it fails, the error rendered at the top level as
//! `error: …`, `caused by: …`, `hint: …` on stderr.
//!
//! Commands return [`CommandResult`]. Any `anyhow::Error` converts to a [`CommandError`] with exit
//! code 1; [`CommandError::usage`] makes it 2; `.hint(…)` adds hints.
//! A [`crate::config::LoadError`] converts to exit code 2 with its problems listed.
//!
//! A pass whose environments failed is not a failed command (the other environments were
//! reconciled), but each failure is still an error for people: [`environment_errors`] renders one
//! `error:` block per failed environment for stderr, whatever stdout carries (text, JSON,
//! Markdown) and even with `-q`, so a CI log always says why the job exited 1.

use std::fmt::Write as _;
use std::process::ExitCode;

use crate::config::LoadError;

/// The process exit status of a finished command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: the command did its job (pending or blocked gates are states, not failures).
    Success,
    /// 1: at least one environment could not be reconciled, or the command failed at run time.
    Failure,
    /// 2: the command line or the configuration is wrong.
    Usage,
    /// 3 (`where` only): the DRY commit is on its way, not live in every environment yet.
    OnItsWay,
    /// 4 (`where` only): no environment has seen the DRY commit.
    NotSeen,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::OnItsWay => 3,
            Exit::NotSeen => 4,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

/// What a command returns: how it ended, or why it failed.
pub(crate) type CommandResult = Result<Exit, CommandError>;

/// A failed command: the error with its causes, optional detail lines, hints and the exit code.
#[derive(Debug)]
pub(crate) struct CommandError {
    exit: Exit,
    error: anyhow::Error,
    /// Printed verbatim after the `error:` line (e.g. one line per config problem).
    details: Option<String>,
    hints: Vec<String>,
}

impl CommandError {
    /// A run-time failure: exit code 1.
    pub(crate) fn failure(error: impl Into<anyhow::Error>) -> Self {
        Self::new(Exit::Failure, error.into())
    }

    /// A usage or configuration error: exit code 2.
    pub(crate) fn usage(error: impl Into<anyhow::Error>) -> Self {
        Self::new(Exit::Usage, error.into())
    }

    fn new(exit: Exit, error: anyhow::Error) -> Self {
        CommandError {
            exit,
            error,
            details: None,
            hints: Vec::new(),
        }
    }

    /// Adds a `hint:` line.
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// Adds lines printed right after the `error:` line.
    pub(crate) fn details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(details.into());
        self
    }

    pub(crate) fn exit(&self) -> Exit {
        self.exit
    }

    /// The text printed on stderr, `error:` first; labels are coloured when `color` is true.
    pub(crate) fn render(&self, color: bool) -> String {
        let paint = |label: &str, style: console::Style| {
            style.force_styling(color).apply_to(label).to_string()
        };
        let error = paint("error:", console::Style::new().red().bold());
        let caused = paint("caused by:", console::Style::new().yellow());
        let hint = paint("hint:", console::Style::new().cyan().bold());
        // Errors quote SCM answers, git messages and file contents: redacted and escaped before
        // the labels' colour codes are added.
        let shown = |text: &dyn std::fmt::Display| crate::untrusted::for_log(&text.to_string());
        let mut out = String::new();
        let _ = writeln!(out, "{error} {}", shown(&self.error));
        if let Some(details) = &self.details {
            let _ = writeln!(out, "{}", shown(&details.trim_end()));
        }
        for cause in self.error.chain().skip(1) {
            let _ = writeln!(out, "{caused} {}", shown(&cause));
        }
        for text in &self.hints {
            let _ = writeln!(out, "{hint} {}", shown(text));
        }
        out
    }
}

impl From<anyhow::Error> for CommandError {
    /// Exit code 1, with the SCM's hint when an HTTP error in the chain has one.
    fn from(error: anyhow::Error) -> Self {
        let hint = crate::scm::http::hint(&error).map(str::to_owned);
        let command_error = CommandError::failure(error);
        match hint {
            Some(hint) => command_error.hint(hint),
            None => command_error,
        }
    }
}

impl From<LoadError> for CommandError {
    fn from(error: LoadError) -> Self {
        let hint = error.hint();
        let mut command_error = match error {
            LoadError::Invalid(problems) => {
                let details = problems.to_string();
                CommandError::usage(anyhow::anyhow!(problems.summary())).details(details)
            }
            read @ LoadError::Read { .. } => CommandError::usage(read),
        };
        if let Some(hint) = hint {
            command_error = command_error.hint(hint);
        }
        command_error
    }
}

/// One `error: strategy <name>, <branch>: <cause>` block per failed environment of `report`, with
/// the cause's `hint:` (and any other) lines after it; empty when nothing failed.
pub(crate) fn environment_errors(report: &crate::pass::PassReport, color: bool) -> String {
    let paint =
        |label: &str, style: console::Style| style.force_styling(color).apply_to(label).to_string();
    let error = paint("error:", console::Style::new().red().bold());
    let hint = paint("hint:", console::Style::new().cyan().bold());
    let mut out = String::new();
    for strategy in &report.strategies {
        for environment in &strategy.environments {
            if environment.summary.phase != crate::reconcile::plan::Phase::Failure {
                continue;
            }
            // The reason quotes SCM answers and git messages: redacted and escaped first.
            let reason = crate::untrusted::for_log(&environment.summary.reason);
            let mut lines = reason.lines();
            let cause = lines.next().unwrap_or("failed");
            let _ = writeln!(
                out,
                "{error} strategy {}, {}: {cause}",
                strategy.name, environment.branch
            );
            for line in lines {
                match line.strip_prefix("hint:") {
                    Some(text) => {
                        let _ = writeln!(out, "{hint}{text}");
                    }
                    None => {
                        let _ = writeln!(out, "{line}");
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use anyhow::Context as _;

    use super::*;

    #[test]
    fn renders_error_causes_and_hints_in_order() {
        let error = CommandError::failure(
            Err::<(), _>(std::io::Error::other("connection refused"))
                .context("fetching environment/dev")
                .unwrap_err(),
        )
        .hint("check the network");
        assert_eq!(error.exit(), Exit::Failure);
        assert_eq!(
            error.render(false),
            "error: fetching environment/dev\ncaused by: connection refused\nhint: check the network\n"
        );
    }

    #[test]
    fn usage_errors_exit_with_two_and_colour_only_when_asked() {
        let error = CommandError::usage(anyhow::anyhow!("bad flag")).hint("see --help");
        assert_eq!(error.exit().code(), 2);
        assert!(error.render(true).contains("\u{1b}["));
        assert!(!error.render(false).contains("\u{1b}["));
    }
}
