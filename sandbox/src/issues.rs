//! The test API for issues: what a person or another tool opened, and what the forge holds now.

use anyhow::{Context, Result};

use super::Sandbox;
use super::server::lock;
use super::store::{IssueRecord, NewIssue, PullState};

impl Sandbox {
    /// Opens an issue as `author` in `<owner>/<name>`. Returns its number.
    pub fn open_issue_as(
        &self,
        author: &str,
        owner: &str,
        name: &str,
        title: &str,
        body: &str,
    ) -> Result<u64> {
        let full_name = format!("{owner}/{name}");
        let issue = lock(&self.shared.store)
            .open_issue(
                &full_name,
                NewIssue {
                    title: title.to_owned(),
                    body: body.to_owned(),
                    author: author.to_owned(),
                },
            )
            .with_context(|| format!("opening an issue in {full_name}"))?;
        Ok(issue.number)
    }

    /// Every issue of the repository (pull requests not included), oldest first.
    pub fn issues(&self, owner: &str, name: &str) -> Result<Vec<IssueRecord>> {
        Ok(lock(&self.shared.store).issues(&format!("{owner}/{name}"))?)
    }

    /// Closes issue `number`, as a person would.
    pub fn close_issue(&self, owner: &str, name: &str, number: u64) -> Result<()> {
        Ok(lock(&self.shared.store).set_issue_state(
            &format!("{owner}/{name}"),
            number,
            PullState::Closed,
        )?)
    }
}
