//! Gitea and Forgejo issues for the dashboard: list, create, update (REST v1, swagger
//! `issueListIssues`, `issueCreateIssue`, `issueEditIssue`).
//!
//! Requests: list `GET /repos/{o}/{r}/issues?state=open&type=issues&limit=50&page=N` (every page,
//! numbered as for PRs), create `POST /repos/{o}/{r}/issues`, update
//! `PATCH /repos/{o}/{r}/issues/{index}`.

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::{Gitea, PAGE_SIZE};
use crate::scm::http::{Method, Retry};
use crate::scm::issues::{Issue, Issues, normalized_body};

/// The swagger gives no limit (the body is a TEXT column); promoter keeps to GitHub's 65,536 so
/// a dashboard never depends on the database behind the instance.
pub const BODY_LIMIT: usize = 65_536;

/// swagger `Issue` (list items, create and edit answers).
#[derive(Debug, Deserialize)]
struct WireIssue {
    number: u64,
    html_url: String,
    title: String,
    body: Option<String>,
    /// swagger `Issue.pull_request` (`PullRequestMeta`): set on pull requests, which the issues
    /// endpoint also returns unless `type=issues` is asked; checked again in case a server
    /// ignores the filter.
    #[serde(default)]
    pull_request: Option<serde_json::Value>,
}

impl WireIssue {
    fn into_domain(self) -> Issue {
        Issue {
            number: self.number,
            url: self.html_url,
            title: self.title,
            body: normalized_body(self.body),
        }
    }
}

/// swagger `CreateIssueOption` (`title` required) and `EditIssueOption`: `title`, `body`.
#[derive(Debug, Serialize)]
struct WriteIssue<'a> {
    title: &'a str,
    body: &'a str,
}

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
            .get_numbered_pages(&path, PAGE_SIZE, |page: Vec<WireIssue>| {
                issues.extend(
                    page.into_iter()
                        .filter(|issue| issue.pull_request.is_none())
                        .map(WireIssue::into_domain),
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
        let path = format!("{}/issues", self.repo_path());
        // swagger issueCreateIssue: 201 with the issue. Never resent blindly.
        let issue: WireIssue = self
            .http
            .send_json(
                Method::Post,
                &path,
                &WriteIssue { title, body },
                Retry::NotBlindly,
            )
            .with_context(|| {
                format!(
                    "opening the dashboard issue in {} on {}",
                    self.full_name,
                    self.flavor.name()
                )
            })?;
        Ok(issue.into_domain())
    }

    fn update_issue(&self, number: u64, title: &str, body: &str) -> anyhow::Result<Issue> {
        let path = format!("{}/issues/{number}", self.repo_path());
        // swagger issueEditIssue: 201 with the issue; PATCH sets the fields given, twice is once.
        let issue: WireIssue = self
            .http
            .send_json(
                Method::Patch,
                &path,
                &WriteIssue { title, body },
                Retry::Idempotent,
            )
            .with_context(|| {
                format!(
                    "updating issue #{number} in {} on {}",
                    self.full_name,
                    self.flavor.name()
                )
            })?;
        Ok(issue.into_domain())
    }

    fn issue_body_limit(&self) -> usize {
        BODY_LIMIT
    }
}
