//! Bitbucket Data Center has no issue tracker of its own (issues live in Jira, a separate
//! product with its own API and credentials), so the dashboard issue (docs/insight.md
//! "Dashboard") is not available: every operation says so instead of sending a request.

use super::BitbucketServer;
use crate::scm::issues::{Issue, Issues};

impl BitbucketServer {
    fn no_issues(&self) -> anyhow::Error {
        anyhow::anyhow!(
            "Bitbucket Data Center has no issue tracker, so {} cannot hold the dashboard issue; leave the dashboard off for this repository",
            self.full_name
        )
    }
}

impl Issues for BitbucketServer {
    fn open_issues(&self) -> anyhow::Result<Vec<Issue>> {
        Err(self.no_issues())
    }

    fn create_issue(&self, _title: &str, _body: &str) -> anyhow::Result<Issue> {
        Err(self.no_issues())
    }

    fn update_issue(&self, _number: u64, _title: &str, _body: &str) -> anyhow::Result<Issue> {
        Err(self.no_issues())
    }

    fn issue_body_limit(&self) -> usize {
        super::TEXT_LIMITS.body
    }
}
