//! Bitbucket Cloud issues for the dashboard: list, create, update (issue tracker API,
//! <https://developer.atlassian.com/cloud/bitbucket/rest/api-group-issue-tracker/>). The
//! repository's issue tracker must be enabled (Repository settings → Issue tracker), else every
//! call answers 404.
//!
//! Requests: list `GET /repositories/{ws}/{slug}/issues?q=…&pagelen=50` (every page, following
//! `next`), create `POST …/issues`, update `PUT …/issues/{id}`. The text is `content.raw`.

use anyhow::Context;

use super::{Bitbucket, PULL_PAGE, wire};
use crate::scm::encode;
use crate::scm::http::Method;
use crate::scm::issues::{Issue, Issues};
use crate::scm::shared::send_issue;

/// No limit is documented; promoter keeps to GitHub's 65,536 so a dashboard never depends on
/// one SCM's database.
pub(super) const BODY_LIMIT: usize = 65_536;

impl Issues for Bitbucket {
    fn open_issues(&self) -> anyhow::Result<Vec<Issue>> {
        // Issue states are new, open, resolved, on hold, invalid, duplicate, wontfix, closed,
        // submitted; the first three that are not done count as open.
        let query = r#"state = "new" OR state = "open" OR state = "on hold""#;
        let path = format!(
            "{}/issues?pagelen={PULL_PAGE}&q={}",
            self.repo_path(),
            encode(query)
        );
        let mut issues = Vec::new();
        self.get_all(&path, |issue: wire::Issue| issues.push(issue.into_domain()))
            .with_context(|| {
                format!(
                    "listing the open issues of {} on Bitbucket Cloud (is its issue tracker enabled?)",
                    self.full_name
                )
            })?;
        Ok(issues)
    }

    fn create_issue(&self, title: &str, body: &str) -> anyhow::Result<Issue> {
        // "Create an issue": 201 with the issue. Never resent blindly (send_issue).
        let path = format!("{}/issues", self.repo_path());
        send_issue(
            &self.http,
            Method::Post,
            &path,
            &text(title, body),
            wire::Issue::into_domain,
            || {
                format!(
                    "opening the dashboard issue in {} on Bitbucket Cloud",
                    self.full_name
                )
            },
        )
    }

    fn update_issue(&self, number: u64, title: &str, body: &str) -> anyhow::Result<Issue> {
        // "Update an issue": `PUT` sets the fields given, twice is once.
        let path = format!("{}/issues/{number}", self.repo_path());
        send_issue(
            &self.http,
            Method::Put,
            &path,
            &text(title, body),
            wire::Issue::into_domain,
            || {
                format!(
                    "updating issue #{number} in {} on Bitbucket Cloud",
                    self.full_name
                )
            },
        )
    }

    fn issue_body_limit(&self) -> usize {
        BODY_LIMIT
    }
}

fn text<'a>(title: &'a str, body: &'a str) -> wire::IssueText<'a> {
    wire::IssueText {
        title,
        content: wire::RawText { raw: body },
    }
}
