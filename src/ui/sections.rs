//! Collapsible parts of a CI log: GitHub Actions groups and GitLab CI sections around the verbose
//! parts of a pass (the fetch details, each strategy's SCM request log). Owns the marker syntax and
//! section names; which CI we are in is `ci_env`, when a section opens is `pass`.
//!
//! Outside CI, and without `-v`, no marker is written (see `StderrProgress`): a collapsed group
//! would only hide the cargo-style lines people look for.

use std::fmt;

use crate::ci_env::Ci;

/// Seconds since the Unix epoch; GitLab shows each section's duration from the two stamps.
pub(crate) type Clock = Box<dyn Fn() -> i64>;

/// How the CI system in use folds a part of the log.
pub(crate) enum LogSections {
    /// Not in CI (or a CI without folding): nothing is written.
    Plain,
    /// `::group::<title>` … `::endgroup::`
    /// (docs.github.com/actions/reference/workflow-commands-for-github-actions#grouping-log-lines).
    /// Groups do not nest, so promoter never opens one inside another.
    GithubGroups,
    /// `section_start` / `section_end` markers
    /// (docs.gitlab.com/ci/jobs/job_logs/#custom-collapsible-sections).
    GitlabSections { clock: Clock },
}

impl fmt::Debug for LogSections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogSections::Plain => "Plain",
            LogSections::GithubGroups => "GithubGroups",
            LogSections::GitlabSections { .. } => "GitlabSections",
        })
    }
}

impl LogSections {
    /// The folding of `ci` (from `ci_env::detect`), stamping GitLab sections with `clock`.
    pub(crate) fn for_ci(ci: Option<Ci>, clock: Clock) -> Self {
        match ci {
            Some(Ci::GithubActions) => LogSections::GithubGroups,
            Some(Ci::GitlabCi) => LogSections::GitlabSections { clock },
            None => LogSections::Plain,
        }
    }

    /// [`LogSections::for_ci`] with the system clock.
    pub(crate) fn for_ci_now(ci: Option<Ci>) -> Self {
        Self::for_ci(
            ci,
            Box::new(|| time::OffsetDateTime::now_utc().unix_timestamp()),
        )
    }

    /// The line (with its newline) that opens section `name` headed `title`; `None` when nothing
    /// is to be written. `name` is made a valid section name by [`section_name`].
    pub(crate) fn start(&self, name: &str, title: &str) -> Option<String> {
        let title = one_line(title);
        match self {
            LogSections::Plain => None,
            LogSections::GithubGroups => Some(format!("::group::{title}\n")),
            // `[collapsed=true]`: the verbose log is there for when something went wrong; the
            // job's result lines stay visible. `\x1b[0K` erases the marker from the shown line.
            LogSections::GitlabSections { clock } => Some(format!(
                "\x1b[0Ksection_start:{}:{}[collapsed=true]\r\x1b[0K{title}\n",
                clock(),
                section_name(name)
            )),
        }
    }

    /// The line that closes section `name` (the same `name` as given to [`LogSections::start`]).
    pub(crate) fn end(&self, name: &str) -> Option<String> {
        match self {
            LogSections::Plain => None,
            LogSections::GithubGroups => Some("::endgroup::\n".to_owned()),
            LogSections::GitlabSections { clock } => Some(format!(
                "\x1b[0Ksection_end:{}:{}\r\x1b[0K\n",
                clock(),
                section_name(name)
            )),
        }
    }
}

/// A GitLab section name: GitLab accepts only letters, digits, `_`, `.` and `-` in it (the
/// marker is otherwise shown as text); we also lowercase, so the same strategy always gives the
/// same name. Anything else becomes `_`.
pub(crate) fn section_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '_' | '.' | '-') => c,
            _ => '_',
        })
        .collect();
    if cleaned.is_empty() {
        "section".to_owned()
    } else {
        cleaned
    }
}

/// A header is one line: a newline would end the marker (and a GitHub workflow command).
fn one_line(title: &str) -> String {
    title.replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gitlab_at(seconds: i64) -> LogSections {
        LogSections::for_ci(Some(Ci::GitlabCi), Box::new(move || seconds))
    }

    #[test]
    fn gitlab_sections_carry_the_clock_a_clean_name_and_a_collapsed_header() {
        let sections = gitlab_at(1_700_000_000);
        assert_eq!(
            sections
                .start("strategy_Guest Book", "strategy guest book")
                .unwrap(),
            "\x1b[0Ksection_start:1700000000:strategy_guest_book[collapsed=true]\r\x1b[0Kstrategy guest book\n"
        );
        assert_eq!(
            sections.end("strategy_Guest Book").unwrap(),
            "\x1b[0Ksection_end:1700000000:strategy_guest_book\r\x1b[0K\n"
        );
    }

    #[test]
    fn github_groups_use_workflow_commands_with_a_one_line_title() {
        let sections = LogSections::for_ci(Some(Ci::GithubActions), Box::new(|| 0));
        assert_eq!(
            sections.start("fetch", "fetching\nfrom x").unwrap(),
            "::group::fetching from x\n"
        );
        assert_eq!(sections.end("fetch").unwrap(), "::endgroup::\n");
    }

    #[test]
    fn outside_ci_nothing_is_written() {
        let sections = LogSections::for_ci(None, Box::new(|| 0));
        assert_eq!(sections.start("fetch", "fetching"), None);
        assert_eq!(sections.end("fetch"), None);
    }

    #[test]
    fn section_names_keep_only_what_gitlab_accepts() {
        let cases = [
            ("fetch", "fetch"),
            ("strategy_App.v2-eu", "strategy_app.v2-eu"),
            ("strategy_a/b c:d", "strategy_a_b_c_d"),
            ("strategy_é", "strategy__"),
            ("", "section"),
        ];
        for (name, expected) in cases {
            assert_eq!(section_name(name), expected, "{name}");
        }
    }
}
