//! GitHub issues for the dashboard: list, create, update (REST v3, API version 2022-11-28).
//!
//! Requests: list `GET /repos/{o}/{r}/issues?state=open&sort=created&direction=asc&per_page=100`
//! (every page), create `POST /repos/{o}/{r}/issues`, update `PATCH /repos/{o}/{r}/issues/{n}`.
//! The issue shape is the one Gitea shares (`scm::shared::HtmlIssue`).

use anyhow::Context;

use super::GitHub;
use crate::scm::issues::{Issue, Issues};
use crate::scm::shared::{HtmlIssue, TitleBody, create_html_issue, update_html_issue};

/// Docs issues/create: the body is refused past 65,536 characters ("body is too long (maximum
/// is 65536 characters)", a 422 validation error; observed, not in the reference).
pub(super) const BODY_LIMIT: usize = 65_536;

impl Issues for GitHub {
    fn open_issues(&self) -> anyhow::Result<Vec<Issue>> {
        // Docs issues/list-repository-issues: `state=open` is the default, said anyway; oldest
        // first so the lowest number comes first on every page. Pull requests are issues too
        // there, told apart by their `pull_request` key.
        let path = format!(
            "{}/issues?state=open&sort=created&direction=asc&per_page=100",
            self.repo_path()
        );
        let mut issues = Vec::new();
        self.http
            .get_pages(&path, |page: Vec<HtmlIssue>| {
                issues.extend(
                    page.into_iter()
                        .filter(|issue| !issue.is_pull_request())
                        .map(HtmlIssue::into_domain),
                );
            })
            .with_context(|| format!("listing the open issues of {}", self.full_name))?;
        Ok(issues)
    }

    fn create_issue(&self, title: &str, body: &str) -> anyhow::Result<Issue> {
        // Docs issues/create: 201 with the issue. Not idempotent: never resent blindly.
        create_html_issue(
            &self.http,
            &self.repo_path(),
            TitleBody { title, body },
            || format!("opening the dashboard issue in {}", self.full_name),
        )
    }

    fn update_issue(&self, number: u64, title: &str, body: &str) -> anyhow::Result<Issue> {
        // Docs issues/update: PATCH sets the fields given; the same PATCH twice is one change.
        update_html_issue(
            &self.http,
            &self.repo_path(),
            number,
            TitleBody { title, body },
            || format!("updating issue #{number} in {}", self.full_name),
        )
    }

    fn issue_body_limit(&self) -> usize {
        BODY_LIMIT
    }
}
