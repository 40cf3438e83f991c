//! Gitea and Forgejo issues for the dashboard: list, create, update (REST v1, swagger
//! `issueListIssues`, `issueCreateIssue`, `issueEditIssue`).
//!
//! Requests: list `GET /repos/{o}/{r}/issues?state=open&type=issues&limit=50&page=N` (every page,
//! numbered as for PRs), create `POST /repos/{o}/{r}/issues`, update
//! `PATCH /repos/{o}/{r}/issues/{index}`. The issue shape (swagger `Issue`) and the write bodies
//! (`CreateIssueOption`, `EditIssueOption`: `title`, `body`) are the ones GitHub has
//! (`scm::shared::HtmlIssue`).

use anyhow::Context;

use super::{Gitea, PAGE_SIZE};
use crate::scm::issues::{Issue, Issues};
use crate::scm::shared::{HtmlIssue, TitleBody, create_html_issue, update_html_issue};

/// The swagger gives no limit (the body is a TEXT column); promoter keeps to GitHub's 65,536 so
/// a dashboard never depends on the database behind the instance.
pub(super) const BODY_LIMIT: usize = 65_536;

impl Issues for Gitea {
    fn open_issues(&self) -> anyhow::Result<Vec<Issue>> {
        // swagger issueListIssues: `state` (open/closed/all), `type` ("filter by type (issues /
        // pulls) if set"), `page`, `limit`; answered with X-Total-Count.
        let path = format!(
            "{}/issues?state=open&type=issues&limit={PAGE_SIZE}",
            self.repo_path()
        );
        let mut issues = Vec::new();
        self.http
            .get_numbered_pages(&path, PAGE_SIZE, |page: Vec<HtmlIssue>| {
                issues.extend(
                    page.into_iter()
                        .filter(|issue| !issue.is_pull_request())
                        .map(HtmlIssue::into_domain),
                );
            })
            .with_context(|| {
                format!(
                    "listing the open issues of {} on {}",
                    self.full_name,
                    self.flavor.name()
                )
            })?;
        Ok(issues)
    }

    fn create_issue(&self, title: &str, body: &str) -> anyhow::Result<Issue> {
        // swagger issueCreateIssue: 201 with the issue. Never resent blindly.
        create_html_issue(
            &self.http,
            &self.repo_path(),
            TitleBody { title, body },
            || {
                format!(
                    "opening the dashboard issue in {} on {}",
                    self.full_name,
                    self.flavor.name()
                )
            },
        )
    }

    fn update_issue(&self, number: u64, title: &str, body: &str) -> anyhow::Result<Issue> {
        // swagger issueEditIssue: 201 with the issue; PATCH sets the fields given, twice is once.
        update_html_issue(
            &self.http,
            &self.repo_path(),
            number,
            TitleBody { title, body },
            || {
                format!(
                    "updating issue #{number} in {} on {}",
                    self.full_name,
                    self.flavor.name()
                )
            },
        )
    }

    fn issue_body_limit(&self) -> usize {
        BODY_LIMIT
    }
}
