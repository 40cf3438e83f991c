//! Repository issues, as far as the dashboard issue needs them (docs/insight.md "Dashboard"):
//! list the open ones, open one, change one's title and body. The provider-neutral [`Issues`]
//! trait; each provider implements it in its own `issues.rs`, with its wire shapes there.
//!
//! Not here: which issue is the dashboard, what it says, when it is written (`crate::dashboard`).

use super::http::HttpError;

/// An open issue (never a pull request) as the SCM shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// GitHub and Gitea `number`, GitLab `iid`: the number people see.
    pub number: u64,
    /// The page a person opens (`html_url` / `web_url`).
    pub url: String,
    pub title: String,
    /// `\r\n` already turned into `\n`; an absent body is empty.
    pub body: String,
}

/// The issue operations of one repository. Errors carry their own context (the operation and
/// the repository).
pub trait Issues {
    /// Every open issue of the repository (every page), pull requests left out.
    fn open_issues(&self) -> anyhow::Result<Vec<Issue>>;
    /// Opens an issue. Sent once: after an ambiguous failure ([`is_ambiguous`]) the caller lists
    /// the issues again instead of sending it twice.
    fn create_issue(&self, title: &str, body: &str) -> anyhow::Result<Issue>;
    /// Replaces the title and body of issue `number` (sending it twice is sending it once).
    fn update_issue(&self, number: u64, title: &str, body: &str) -> anyhow::Result<Issue>;
    /// The longest body the SCM stores, in bytes of UTF-8 (never more than the characters the
    /// SCM counts, so a body within it fits a limit in characters too).
    fn issue_body_limit(&self) -> usize;
}

/// Whether a failed write may have taken effect (no answer after sending, or a 5xx).
pub(crate) fn is_ambiguous(error: &anyhow::Error) -> bool {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<HttpError>())
        .is_some_and(HttpError::is_ambiguous)
}

/// An issue body as the SCM returns it, compared with the rendered one: line endings are not a
/// difference.
pub(crate) fn normalized_body(body: Option<String>) -> String {
    body.unwrap_or_default().replace("\r\n", "\n")
}

#[cfg(test)]
mod sandbox_tests;
