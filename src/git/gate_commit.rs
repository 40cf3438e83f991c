//! The data of one hydrated commit as commit-rule gates see it (docs/gates.md "commit"): e-mail
//! addresses and names of author and committer, subject, body and trailers (parsed by libgit2, the
//! same parser as `git interpret-trailers`).

use anyhow::{Context, Result};

use super::GitCache;
use crate::model::{GateCommit, Sha};

impl GitCache {
    /// The commit-rule view of `commit`.
    pub(crate) fn gate_commit(&self, commit: &Sha) -> Result<GateCommit> {
        let found = self
            .commit(commit)
            .with_context(|| format!("reading commit {} for a commit rule", commit.short()))?;
        let message = String::from_utf8_lossy(found.message_bytes()).into_owned();
        let (subject, body) = match message.split_once('\n') {
            Some((subject, body)) => (subject.trim().to_owned(), body.trim().to_owned()),
            None => (message.trim().to_owned(), String::new()),
        };
        let mut commit_data = GateCommit {
            sha: commit.clone(),
            subject,
            body,
            author: String::from_utf8_lossy(found.author().email_bytes()).into_owned(),
            author_name: String::from_utf8_lossy(found.author().name_bytes()).into_owned(),
            committer: String::from_utf8_lossy(found.committer().email_bytes()).into_owned(),
            committer_name: String::from_utf8_lossy(found.committer().name_bytes()).into_owned(),
            trailers: Default::default(),
        };
        // A message without a trailer block is no error: the map stays empty.
        if let Ok(trailers) = git2::message_trailers_strs(&message) {
            for (key, value) in trailers.iter() {
                commit_data
                    .trailers
                    .entry(key.to_owned())
                    .or_default()
                    .push(value.to_owned());
            }
        }
        Ok(commit_data)
    }
}
