//! What `reconcile` and `status` add when they run in GitHub Actions (docs/design.md §6): the step summary
//! (`$GITHUB_STEP_SUMMARY`), step outputs (`$GITHUB_OUTPUT`), `::error`/`::warning` annotations,
//! and the JSON report file (`--report-file`, in any mode). Owns these renderings and the file
//! writes; detecting Actions is `ci_env`, the table itself is `report::markdown`, and which stream
//! the annotations go to is decided by the caller (`lib.rs`). Described in docs/github-actions.md.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::ci_env::{self, Env};
use crate::model::GateState;
use crate::pass::{Mode, PassReport};
use crate::reconcile::plan::Phase;

/// The report file written in Actions when `--report-file` is not given:
/// `$RUNNER_TEMP/promoter-report.json`, else next to the `$GITHUB_OUTPUT` file.
pub(crate) const DEFAULT_REPORT_NAME: &str = "promoter-report.json";

/// What [`publish`] did, for the caller to print.
#[derive(Debug, Default)]
pub(crate) struct Published {
    /// Workflow command lines (`::error …`), each ending with a newline; empty outside Actions.
    pub annotations: String,
}

/// After a pass: writes the report file (`report_file`, or in Actions the default one), and in
/// Actions appends the step summary and the step outputs. Variables that are unset are skipped:
/// a step without `GITHUB_OUTPUT` simply gets no outputs.
pub(crate) fn publish(
    report: &PassReport,
    env: Env<'_>,
    report_file: Option<&Path>,
) -> Result<Published> {
    let in_actions = ci_env::is_github_actions(env);
    let report_path = match report_file {
        Some(path) => Some(path.to_path_buf()),
        None if in_actions => default_report_path(env),
        None => None,
    };
    if let Some(path) = &report_path {
        write_atomically(path, &crate::report::json(report))?;
    }
    if !in_actions {
        return Ok(Published::default());
    }
    if let Some(summary) = ci_env::var(env, "GITHUB_STEP_SUMMARY") {
        append(Path::new(&summary), &step_summary(report))
            .context("writing the step summary named by GITHUB_STEP_SUMMARY")?;
    }
    if let Some(output) = ci_env::var(env, "GITHUB_OUTPUT") {
        append(Path::new(&output), &outputs(report, report_path.as_deref()))
            .context("writing step outputs to the file named by GITHUB_OUTPUT")?;
    }
    Ok(Published {
        annotations: annotations(report),
    })
}

fn default_report_path(env: Env<'_>) -> Option<PathBuf> {
    // RUNNER_TEMP is emptied at the start and end of every job
    // (docs.github.com/actions/reference/variables-reference#default-environment-variables).
    let dir = ci_env::var(env, "RUNNER_TEMP")
        .map(PathBuf::from)
        .or_else(|| {
            ci_env::var(env, "GITHUB_OUTPUT")
                .and_then(|output| Path::new(&output).parent().map(Path::to_path_buf))
        })?;
    Some(dir.join(DEFAULT_REPORT_NAME))
}

/// Writes `text` to a temporary file in `path`'s directory, then renames it over `path`, so a
/// reader never sees half a report.
pub(crate) fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing the report for {}", path.display()))?;
    file.persist(path)
        .with_context(|| format!("moving the report into place at {}", path.display()))?;
    Ok(())
}

fn append(path: &Path, text: &str) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("appending to {}", path.display()))
}

/// The step summary: a heading naming the command and repository, then `report::markdown`.
pub(crate) fn step_summary(report: &PassReport) -> String {
    let command = match report.mode {
        Mode::Reconcile => "reconcile",
        Mode::DryRun => "reconcile --dry-run",
        Mode::Status => "status",
    };
    let repository = if report.web_url.is_empty() {
        format!("`{}`", report.repository)
    } else {
        format!("[{}]({})", report.repository, report.web_url)
    };
    let mut out = format!("## promoter {command}: {repository}\n\n");
    out.push_str(&crate::report::markdown(report));
    if report.mode == Mode::DryRun {
        out.push_str("_Dry run: nothing was written._\n\n");
    }
    crate::untrusted::for_log(&out)
}

/// The compact `environments` output: one object per environment, in report order.
pub(crate) fn environments_json(report: &PassReport) -> serde_json::Value {
    let list: Vec<serde_json::Value> = report
        .strategies
        .iter()
        .flat_map(|strategy| {
            strategy.environments.iter().map(|env| {
                let summary = &env.summary;
                serde_json::json!({
                    "strategy": strategy.name,
                    "branch": env.branch,
                    "phase": summary.phase.as_str(),
                    "deferred": !env.deferred.is_empty(),
                    "liveDry": summary.live_dry,
                    "proposedDry": summary.proposed_dry,
                    "pullRequest": summary.pull_request.as_ref().map(|pr| pr.url.clone()),
                    "reason": summary.reason,
                })
            })
        })
        .collect();
    serde_json::Value::Array(list)
}

/// Lines for `$GITHUB_OUTPUT`: `changed`, `report` (when a file was written), `environments`.
/// Every value uses the heredoc form `name<<DELIMITER` … `DELIMITER`, with a random delimiter that
/// does not occur in the value (docs.github.com/actions/reference/workflow-commands#multiline-strings
/// warns that a known delimiter lets a value end the heredoc and set outputs of its own). Names are
/// fixed here, never taken from the report; `environments` is one line of JSON, redacted and
/// escaped ([`crate::untrusted::json_document`]).
pub(crate) fn outputs(report: &PassReport, report_path: Option<&Path>) -> String {
    let mut out = String::new();
    output_line(
        &mut out,
        "changed",
        if report.changed() { "true" } else { "false" },
    );
    if let Some(path) = report_path {
        output_line(&mut out, "report", &path.display().to_string());
    }
    output_line(
        &mut out,
        "environments",
        &crate::untrusted::json_document(&environments_json(report), false),
    );
    out
}

fn output_line(out: &mut String, name: &str, value: &str) {
    let mut delimiter = String::from("promoter_EOF");
    // fastrand's global generator is seeded from the process's random state, so no text written
    // before the run can contain the delimiter on purpose; the loop covers chance.
    loop {
        let _ = write!(delimiter, "_{:016x}", fastrand::u64(..));
        if !value.contains(&delimiter) {
            break;
        }
    }
    let _ = write!(out, "{name}<<{delimiter}\n{value}\n{delimiter}\n");
}

/// `::error` for every failed environment and `::warning` for every failing gate.
pub(crate) fn annotations(report: &PassReport) -> String {
    let mut out = String::new();
    for strategy in &report.strategies {
        for env in &strategy.environments {
            let summary = &env.summary;
            if summary.phase == Phase::Failure {
                command(
                    &mut out,
                    "error",
                    &format!("promoter: {} failed", env.branch),
                    &format!("{} ({}): {}", env.branch, strategy.name, summary.reason),
                );
            }
            for (which, gates) in [
                ("proposed", &summary.proposed_gates),
                ("active", &summary.active_gates),
            ] {
                for gate in gates.iter().filter(|g| g.state == GateState::Failure) {
                    command(
                        &mut out,
                        "warning",
                        &format!("promoter: gate {} failing", gate.key),
                        &format!(
                            "{} ({}): {which} gate `{}` is failing: {}",
                            env.branch, strategy.name, gate.key, gate.description
                        ),
                    );
                }
            }
        }
    }
    out
}

/// One workflow command line. `title` and `message` quote reasons and SCM descriptions: they are
/// redacted and made log-safe ([`crate::untrusted::for_log`]: no `##[`, bidi or controls other
/// than line breaks) before the runner's own escapes, which keep the command on one line.
fn command(out: &mut String, name: &str, title: &str, message: &str) {
    let _ = writeln!(
        out,
        "::{name} title={}::{}",
        escape_property(&crate::untrusted::for_log(title)),
        escape_data(&crate::untrusted::for_log(message))
    );
}

/// Escapes a workflow command's message: `%`, `\r`, `\n` as percent-encodings, as the runner
/// decodes them (actions/toolkit packages/core/src/command.ts `escapeData`).
pub(crate) fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value: as [`escape_data`], plus `:` and `,`, which end a
/// property (actions/toolkit packages/core/src/command.ts `escapeProperty`).
pub(crate) fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_data_and_properties_are_escaped_as_the_runner_decodes_them() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_property("a: b, c%"), "a%3A b%2C c%25");
        let mut out = String::new();
        command(&mut out, "error", "x: y", "line1\nline2");
        assert_eq!(out, "::error title=x%3A y::line1%0Aline2\n");
    }

    #[test]
    fn an_annotation_quoting_outside_text_is_one_command_and_carries_no_other() {
        let mut out = String::new();
        command(
            &mut out,
            "error",
            "promoter: x",
            "bad\n::warning::y\r##[error]z \u{202e}",
        );
        assert_eq!(
            out,
            "::error title=promoter%3A x::bad%0A\\::warning::y\\r#\\#[error]z \\u{202e}\n"
        );
    }

    #[test]
    fn an_output_value_containing_the_delimiter_gets_another_delimiter() {
        let mut out = String::new();
        output_line(&mut out, "v", "a\npromoter_EOF\nb");
        let first = out.lines().next().unwrap();
        let delimiter = first.strip_prefix("v<<").unwrap();
        assert!(delimiter.starts_with("promoter_EOF_"), "{delimiter}");
        assert!(out.ends_with(&format!("\n{delimiter}\n")));
        assert_eq!(out.matches(delimiter).count(), 2, "{out}");
    }

    #[test]
    fn the_report_file_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        write_atomically(&path, "old").unwrap();
        write_atomically(&path, "new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
