//! GitHub issues for the dashboard: list, create, update (REST v3, API version 2022-11-28).
//!
//! Requests: list `GET /repos/{o}/{r}/issues?state=open&sort=created&direction=asc&per_page=100`
//! (every page), create `POST /repos/{o}/{r}/issues`, update `PATCH /repos/{o}/{r}/issues/{n}`.

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::GitHub;
use crate::scm::http::{Method, Retry};
use crate::scm::issues::{Issue, Issues, normalized_body};

/// Docs issues/create: the body is refused past 65,536 characters ("body is too long (maximum
/// is 65536 characters)", a 422 validation error; observed, not in the reference).
pub const BODY_LIMIT: usize = 65_536;

/// `issue` (list items, create and update answers).
#[derive(Debug, Deserialize)]
struct WireIssue {
    number: u64,
    html_url: String,
    title: String,
    body: Option<String>,
    /// Docs issues/list-repository-issues: "GitHub's REST API considers every pull request an
    /// issue, but not every issue is a pull request … identify pull requests by the
    /// `pull_request` key." Present (an object) on pull requests only.
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

/// Docs issues/create and issues/update: `title` and `body` (both optional on update).
#[derive(Debug, Serialize)]
struct WriteIssue<'a> {
    title: &'a str,
    body: &'a str,
}

impl Issues for GitHub {
    fn open_issues(&self) -> anyhow::Result<Vec<Issue>> {
        // Docs issues/list-repository-issues: `state=open` is the default, said anyway; oldest
        // first so the lowest number comes first on every page.
        let path = format!(
            "{}/issues?state=open&sort=created&direction=asc&per_page=100",
            self.repo_path()
        );
        let mut issues = Vec::new();
        self.http
            .get_pages(&path, |page: Vec<WireIssue>| {
                issues.extend(
                    page.into_iter()
                        .filter(|issue| issue.pull_request.is_none())
                        .map(WireIssue::into_domain),
                );
            })
            .with_context(|| format!("listing the open issues of {}", self.full_name))?;
        Ok(issues)
    }

    fn create_issue(&self, title: &str, body: &str) -> anyhow::Result<Issue> {
        let path = format!("{}/issues", self.repo_path());
        // Docs issues/create: 201 with the issue. Not idempotent: never resent blindly.
        let issue: WireIssue = self
            .http
            .send_json(
                Method::Post,
                &path,
                &WriteIssue { title, body },
                Retry::NotBlindly,
            )
            .with_context(|| format!("opening the dashboard issue in {}", self.full_name))?;
        Ok(issue.into_domain())
    }

    fn update_issue(&self, number: u64, title: &str, body: &str) -> anyhow::Result<Issue> {
        let path = format!("{}/issues/{number}", self.repo_path());
        // Docs issues/update: PATCH sets the fields given; the same PATCH twice is one change.
        let issue: WireIssue = self
            .http
            .send_json(
                Method::Patch,
                &path,
                &WriteIssue { title, body },
                Retry::Idempotent,
            )
            .with_context(|| format!("updating issue #{number} in {}", self.full_name))?;
        Ok(issue.into_domain())
    }

    fn issue_body_limit(&self) -> usize {
        BODY_LIMIT
    }
}
