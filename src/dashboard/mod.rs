//! The dashboard issue (docs/insight.md "Dashboard"): one issue per repository showing every
//! strategy × environment as the last `promoter reconcile` pass left it, found again by a hidden
//! marker, written only when its text changed, never opened twice.
//!
//! Owns: which issue is the dashboard ([`find`]), when to create or update it ([`sync`]), and
//! the outcome in the report ([`DashboardReport`]). The body is `render.rs`; the SCM calls are
//! `scm::issues`. Not here: deciding anything about promotions — the dashboard only shows the
//! pass's report, and a dashboard failure never changes the pass's exit code.
//!
//! Requests (docs/insight.md): one list per pass (one per 100 open issues on GitHub and GitLab,
//! per 50 on Gitea and Forgejo), plus one create or one update when the text changed. After a
//! create that may have happened (no answer, a 5xx) the issues are listed again and a dashboard
//! found is adopted; the create is never sent twice.

mod markdown;
pub(crate) mod render;

use std::cell::RefCell;
use std::collections::BTreeMap;

use anyhow::Context;
use serde::Serialize;

use crate::config::Config;
use crate::git::GitCache;
use crate::model::Sha;
use crate::pass::PassReport;
use crate::reconcile::pacing::{WritePacer, WritesDeferred};
use crate::scm::{Issue, Issues, issues::is_ambiguous};

pub(crate) use render::MARKER;

/// What happened to the dashboard issue in this pass (`dashboard` in the JSON report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "result",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub(crate) enum DashboardReport {
    /// No dashboard issue was open: this one was opened (or, after an unanswered create, found).
    Created { number: u64, url: String },
    /// Its title or body differed and was rewritten.
    Updated { number: u64, url: String },
    /// Its text was already what this pass shows: nothing was written.
    Unchanged { number: u64, url: String },
    /// A `--strategy` pass shows part of the repository; the dashboard shows all of it, so it
    /// is left as the last full pass wrote it. Or the pass's write budget was spent.
    Skipped { reason: String },
    /// Reading or writing the issue failed. A warning; the pass's exit code does not change.
    Failed { error: String },
}

impl DashboardReport {
    /// One line for the text report.
    pub(crate) fn line(&self) -> String {
        match self {
            DashboardReport::Created { number, url } => {
                format!("dashboard: opened issue {number} ({url})")
            }
            DashboardReport::Updated { number, url } => {
                format!("dashboard: updated issue {number} ({url})")
            }
            DashboardReport::Unchanged { number, .. } => {
                format!("dashboard: issue {number} unchanged")
            }
            DashboardReport::Skipped { reason } => format!("dashboard: not written: {reason}"),
            DashboardReport::Failed { error } => {
                format!("dashboard: not written: {}", error.replace('\n', " "))
            }
        }
    }

    /// The `::warning` workflow command for GitHub Actions, when the dashboard failed (with
    /// the other annotations, docs/design.md §6).
    pub(crate) fn annotation(&self) -> Option<String> {
        let DashboardReport::Failed { error } = self else {
            return None;
        };
        Some(format!(
            "::warning title={}::{}\n",
            crate::github_actions::escape_property("promoter: dashboard not written"),
            crate::github_actions::escape_data(&format!(
                "the dashboard issue was not written (the promotion is unaffected): {error}"
            ))
        ))
    }

    /// The warning for stderr, when the dashboard failed.
    pub(crate) fn warning(&self) -> Option<String> {
        match self {
            DashboardReport::Failed { error } => Some(format!(
                "the dashboard issue was not written: {error}\nhint: the promotion itself is unaffected; the token needs permission to write issues (docs/tokens.md)"
            )),
            _ => None,
        }
    }
}

/// Renders and writes the dashboard after a reconcile pass, its write admitted by the pass's
/// `writes` like the promotions' (docs/design.md §3 "Write budget": when the budget is spent it
/// is [`DashboardReport::Skipped`] until the next pass). Never fails: a failure is the
/// [`DashboardReport::Failed`] outcome.
pub(crate) fn publish(
    config: &Config,
    report: &PassReport,
    cache: &GitCache,
    scm: &dyn Issues,
    writes: &mut WritePacer,
) -> Option<DashboardReport> {
    let dashboard = config.dashboard.as_ref()?;
    let deferred = |reason: &WritesDeferred| DashboardReport::Skipped {
        reason: format!("deferred to the next pass: {reason}"),
    };
    // Not even read: the pass already left promotions for the next one, which rewrites it.
    if let Some(stopped) = writes.stopped() {
        return Some(deferred(stopped));
    }
    let subjects = subjects(config, report, cache);
    let inputs = render::BodyInputs {
        subjects: &subjects,
        pr_sigil: config.scm.provider.pull_request_sigil(),
        limit: scm.issue_body_limit(),
    };
    let body = render::body(report, &inputs);
    let paced = PacedIssues {
        inner: scm,
        writes: RefCell::new(writes),
    };
    Some(match sync(&paced, &dashboard.title, &body) {
        Ok(outcome) => outcome,
        Err(error) => match error.downcast_ref::<WritesDeferred>() {
            Some(reason) => deferred(reason),
            None => DashboardReport::Failed {
                error: crate::reconcile::error_text(&error),
            },
        },
    })
}

/// The SCM's issues with every write admitted by the pass's [`WritePacer`] first; a refused write
/// is a [`WritesDeferred`] error, sent nowhere.
struct PacedIssues<'a> {
    inner: &'a dyn Issues,
    writes: RefCell<&'a mut WritePacer>,
}

impl Issues for PacedIssues<'_> {
    fn open_issues(&self) -> anyhow::Result<Vec<Issue>> {
        self.inner.open_issues()
    }
    fn create_issue(&self, title: &str, body: &str) -> anyhow::Result<Issue> {
        self.writes.borrow_mut().admit()?;
        self.inner.create_issue(title, body)
    }
    fn update_issue(&self, number: u64, title: &str, body: &str) -> anyhow::Result<Issue> {
        self.writes.borrow_mut().admit()?;
        self.inner.update_issue(number, title, body)
    }
    fn issue_body_limit(&self) -> usize {
        self.inner.issue_body_limit()
    }
}

/// The dashboard among `issues`: the lowest-numbered open issue whose body starts with
/// [`MARKER`]. Others with the marker (a copy someone made) are left alone.
pub(crate) fn find(issues: Vec<Issue>) -> Option<Issue> {
    issues
        .into_iter()
        .filter(|issue| issue.body.trim_start().starts_with(MARKER))
        .min_by_key(|issue| issue.number)
}

/// Whether the issue already shows `title` and `body` (trailing whitespace is not a difference:
/// forges may trim it).
fn shows(issue: &Issue, title: &str, body: &str) -> bool {
    issue.title == title && issue.body.trim_end() == body.trim_end()
}

/// One list; then a create when no dashboard is open, an update when its text differs,
/// nothing otherwise.
pub(crate) fn sync(scm: &dyn Issues, title: &str, body: &str) -> anyhow::Result<DashboardReport> {
    if let Some(issue) = find(scm.open_issues()?) {
        if shows(&issue, title, body) {
            return Ok(DashboardReport::Unchanged {
                number: issue.number,
                url: issue.url,
            });
        }
        let updated = scm.update_issue(issue.number, title, body)?;
        return Ok(DashboardReport::Updated {
            number: updated.number,
            url: updated.url,
        });
    }
    match scm.create_issue(title, body) {
        Ok(issue) => Ok(DashboardReport::Created {
            number: issue.number,
            url: issue.url,
        }),
        // The create may have happened: look, never send it again (like `scm::adopt_existing`).
        Err(error) if is_ambiguous(&error) => {
            let found = find(
                scm.open_issues()
                    .context("looking for the dashboard issue after a create without an answer")?,
            );
            match found {
                Some(issue) => Ok(DashboardReport::Created {
                    number: issue.number,
                    url: issue.url,
                }),
                None => Err(error),
            }
        }
        Err(error) => Err(error),
    }
}

/// DRY commit subjects of the report's live and staging tips, from their `hydrator.metadata`
/// (git only). A tip whose metadata cannot be read adds nothing: the dashboard shows the SHA.
fn subjects(config: &Config, report: &PassReport, cache: &GitCache) -> BTreeMap<Sha, String> {
    let mut subjects = BTreeMap::new();
    for strategy_report in &report.strategies {
        let Some(strategy) = config
            .strategies
            .iter()
            .find(|s| s.name == strategy_report.name)
        else {
            continue;
        };
        for env in &strategy_report.environments {
            for (tip, branch) in [
                (&env.summary.live_tip, &env.branch),
                (&env.summary.staging_tip, &env.staging_branch),
            ] {
                let Some(tip) = tip else { continue };
                if let Ok(meta) =
                    cache.hydrator_metadata(tip, strategy.active_path.as_deref(), branch)
                    && !meta.subject.is_empty()
                {
                    subjects.insert(meta.dry_sha, meta.subject);
                }
            }
        }
    }
    subjects
}

#[cfg(test)]
mod tests;
