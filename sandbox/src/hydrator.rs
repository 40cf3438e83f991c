//! A small hydrator for tests and the demo, keeping the repository contract of docs/design.md §1: it pushes
//! one hydrated commit to an environment's staging branch with a `hydrator.metadata` naming the DRY
//! commit (at the root, or at `<activePath>/hydrator.metadata`), or records a no-op hydration as a
//! note under `refs/notes/hydrator.metadata` on the staging tip. It does not render anything: the
//! caller says which files the hydrated commit holds.

use anyhow::{Context, Result};
use serde_json::json;

use super::bare;
use super::{Sandbox, Sha, sha, test_person};

/// One hydration of one environment.
#[derive(Debug, Clone)]
pub struct Hydration {
    /// The environment's live branch, e.g. `environment/dev`.
    pub branch: String,
    /// The DRY commit this output was rendered from (written as given; it need not exist here).
    pub dry_sha: String,
    /// Monorepo mode: the app's path on the shared branches (`""` = whole repository).
    pub active_path: String,
    /// Rendered files, relative to `active_path`.
    pub files: Vec<(String, String)>,
    /// The DRY commit's subject, copied into the metadata.
    pub subject: String,
    /// The DRY commit's body, copied into the metadata.
    pub body: String,
    /// Written as `hydrator.metadata` instead of the generated file: a broken or hostile
    /// hydrator, for tests.
    pub raw_metadata: Option<String>,
    /// Commit time, seconds since the epoch.
    pub time: i64,
}

impl Hydration {
    pub fn new(branch: &str, dry_sha: &(impl AsRef<str> + ?Sized)) -> Self {
        Self {
            branch: branch.to_owned(),
            dry_sha: dry_sha.as_ref().to_owned(),
            active_path: String::new(),
            files: Vec::new(),
            subject: String::new(),
            body: String::new(),
            raw_metadata: None,
            time: super::DEFAULT_COMMIT_TIME,
        }
    }

    pub fn file(mut self, path: &str, content: &str) -> Self {
        self.files.push((path.to_owned(), content.to_owned()));
        self
    }

    pub fn active_path(mut self, path: &str) -> Self {
        self.active_path = path.trim_matches('/').to_owned();
        self
    }

    pub fn subject(mut self, subject: &str) -> Self {
        self.subject = subject.to_owned();
        self
    }

    pub fn body(mut self, body: &str) -> Self {
        self.body = body.to_owned();
        self
    }

    /// `hydrator.metadata` exactly as given, whatever it says.
    pub fn raw_metadata(mut self, text: &str) -> Self {
        self.raw_metadata = Some(text.to_owned());
        self
    }

    pub fn at(mut self, time: i64) -> Self {
        self.time = time;
        self
    }

    /// docs/design.md §1: `<branch>-next`, or `<branch>-next/<activePath>` in monorepo mode.
    pub fn staging_branch(&self) -> String {
        if self.active_path.is_empty() {
            format!("{}-next", self.branch)
        } else {
            format!("{}-next/{}", self.branch, self.active_path)
        }
    }

    fn in_path(&self, file: &str) -> String {
        if self.active_path.is_empty() {
            file.to_owned()
        } else {
            format!("{}/{file}", self.active_path)
        }
    }
}

impl Sandbox {
    /// Pushes a hydrated commit to the staging branch of `hydration.branch`. A new staging branch
    /// starts from the live branch's tip when there is one. Returns the new staging tip.
    pub fn hydrate(&self, owner: &str, name: &str, hydration: &Hydration) -> Result<Sha> {
        let staging = hydration.staging_branch();
        let repo = self.git(owner, name)?;
        let parent = match bare::branch_tip(&repo, &staging)? {
            Some(tip) => Some(tip),
            None => bare::branch_tip(&repo, &hydration.branch)?,
        };
        let metadata = json!({
            "drySha": hydration.dry_sha,
            "repoURL": self.clone_url(owner, name),
            "author": "Sandbox Author <author@sandbox.invalid>",
            "date": super::github::timestamp_of(hydration.time),
            "subject": hydration.subject,
            "body": hydration.body,
            "references": []
        });
        let mut files: Vec<(String, String)> = hydration
            .files
            .iter()
            .map(|(path, content)| (hydration.in_path(path), content.clone()))
            .collect();
        files.push((
            hydration.in_path("hydrator.metadata"),
            match &hydration.raw_metadata {
                Some(text) => text.clone(),
                None => serde_json::to_string_pretty(&metadata).expect("JSON values serialize"),
            },
        ));
        let message = format!(
            "Hydrate {} for {}",
            hydration.dry_sha.get(..7).unwrap_or(&hydration.dry_sha),
            hydration.branch
        );
        let commit = bare::write_commit(
            &repo,
            parent,
            &files,
            &message,
            &test_person(hydration.time),
        )?;
        let expected = bare::branch_tip(&repo, &staging)?;
        bare::move_branch(&repo, &staging, expected, commit, &message)
            .with_context(|| format!("pushing the hydrated commit to {staging}"))?;
        Ok(sha(commit))
    }

    /// Records that `dry_sha` was hydrated for `branch` with no change: a note
    /// `{"drySha": "<sha>"}` on the staging tip. Returns the staging tip it annotated.
    pub fn hydrate_noop(
        &self,
        owner: &str,
        name: &str,
        staging_branch: &str,
        dry_sha: &(impl AsRef<str> + ?Sized),
    ) -> Result<Sha> {
        let tip = self
            .branch_tip(owner, name, staging_branch)?
            .with_context(|| {
                format!("the staging branch {staging_branch} does not exist in {owner}/{name}")
            })?;
        let body = json!({"drySha": dry_sha.as_ref()}).to_string();
        self.write_note(owner, name, &tip, &body)?;
        Ok(tip)
    }
}
