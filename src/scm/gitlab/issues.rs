//! GitLab issues for the dashboard: list, create, update (REST v4, docs `api/issues.md`).
//!
//! Requests: list `GET /projects/:id/issues?state=opened&order_by=created_at&sort=asc&per_page=100`
//! (every page), create `POST /projects/:id/issues`, update `PUT /projects/:id/issues/:iid`.
//! The issues endpoint never returns merge requests (they have their own), so nothing is
//! filtered out.

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::GitLab;
use crate::scm::http::Method;
use crate::scm::issues::{Issue, Issues, normalized_body};
use crate::scm::shared::send_issue;

/// Docs development/issuable-like-models.md "Important text fields": `description` holds at most
/// 1 megabyte (1,048,576; the API refuses longer).
pub(super) const BODY_LIMIT: usize = 1_048_576;

/// Docs api/issues.md "List project issues" / "New issue" / "Edit an issue" responses.
#[derive(Debug, Deserialize)]
struct WireIssue {
    /// The number people see (`#12`); `id` is instance-wide and not used.
    iid: u64,
    web_url: String,
    title: String,
    description: Option<String>,
}

impl WireIssue {
    fn into_domain(self) -> Issue {
        Issue {
            number: self.iid,
            url: self.web_url,
            title: self.title,
            body: normalized_body(self.description),
        }
    }
}

/// Docs api/issues.md "New issue" (`title` required) and "Edit an issue": `title`, `description`.
#[derive(Debug, Serialize)]
struct WriteIssue<'a> {
    title: &'a str,
    description: &'a str,
}

impl Issues for GitLab {
    fn open_issues(&self) -> anyhow::Result<Vec<Issue>> {
        // Docs api/issues.md "List project issues": `state=opened`; oldest first.
        let path = format!(
            "{}/issues?state=opened&order_by=created_at&sort=asc&per_page=100",
            self.project
        );
        let mut issues = Vec::new();
        self.http
            .get_pages(&path, |page: Vec<WireIssue>| {
                issues.extend(page.into_iter().map(WireIssue::into_domain));
            })
            .with_context(|| format!("listing the open issues of {}", self.full_path))?;
        Ok(issues)
    }

    fn create_issue(&self, title: &str, body: &str) -> anyhow::Result<Issue> {
        // Docs api/issues.md "New issue": 201 with the issue. Never resent blindly.
        send_issue(
            &self.http,
            Method::Post,
            &format!("{}/issues", self.project),
            &WriteIssue {
                title,
                description: body,
            },
            WireIssue::into_domain,
            || format!("opening the dashboard issue in {}", self.full_path),
        )
    }

    fn update_issue(&self, number: u64, title: &str, body: &str) -> anyhow::Result<Issue> {
        // Docs api/issues.md "Edit an issue": PUT sets the fields given; twice is once.
        send_issue(
            &self.http,
            Method::Put,
            &format!("{}/issues/{number}", self.project),
            &WriteIssue {
                title,
                description: body,
            },
            WireIssue::into_domain,
            || format!("updating issue #{number} in {}", self.full_path),
        )
    }

    fn issue_body_limit(&self) -> usize {
        BODY_LIMIT
    }
}
