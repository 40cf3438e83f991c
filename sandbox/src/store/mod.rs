//! The forge's state, independent of any wire dialect: users and tokens, repositories (bare repos on
//! disk plus settings), pull requests, commit statuses and check runs, and the rules that change
//! them (open, update, merge). The GitHub layer (`github/`) only translates HTTP to these calls and
//! [`ForgeError`]s to GitHub's answers; a GitLab or Gitea dialect would do the same over this data.
//! Pull requests, statuses and check runs live in memory; repositories live on disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;

mod apps;
mod issues;
mod pulls;

pub use apps::MintedToken;
pub(crate) use apps::{AppRecord, InstallationRecord};
pub use issues::IssueRecord;
pub(crate) use issues::NewIssue;

use super::bare;

/// Seconds since the Unix epoch. The forge stamps records and merge commits with the real time,
/// like a real forge; commits written through the test API carry the caller's time instead.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or_default()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UserKind {
    User,
    /// A GitHub App (CI). Only app tokens may create check runs, as on GitHub.
    Bot,
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub id: u64,
    pub login: String,
    pub kind: UserKind,
}

#[derive(Debug, Clone)]
pub(crate) struct RepoRecord {
    pub id: u64,
    pub owner: String,
    pub name: String,
    /// `owner/name` of the repository this one was forked from.
    pub parent: Option<String>,
    pub default_branch: String,
    pub allow_merge_commit: bool,
    pub allow_squash_merge: bool,
    /// Rebase merges are not implemented by the sandbox, so they are off.
    pub allow_rebase_merge: bool,
    pub created_at: i64,
}

impl RepoRecord {
    pub(crate) fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullState {
    Open,
    Closed,
}

#[derive(Debug, Clone)]
pub struct Merged {
    pub sha: String,
    pub at: i64,
    pub by: String,
}

/// A pull request. `head_sha` is refreshed from the head branch whenever the PR is read.
#[derive(Debug, Clone)]
pub struct PullRecord {
    pub id: u64,
    pub number: u64,
    /// `owner/name` of the repository the PR targets.
    pub base_repo: String,
    /// `owner/name` of the repository holding the head branch (a fork, or the same).
    pub head_repo: String,
    pub head_branch: String,
    pub base_branch: String,
    pub title: String,
    pub body: String,
    pub author: String,
    pub state: PullState,
    pub head_sha: String,
    pub base_sha: String,
    pub merged: Option<Merged>,
    pub created_at: i64,
    pub updated_at: i64,
    pub closed_at: Option<i64>,
    /// Label names, in the order they were set (Azure DevOps calls them tags).
    pub labels: Vec<String>,
}

impl PullRecord {
    /// `owner:branch`, GitHub's head label.
    pub fn head_label(&self) -> String {
        let owner = self.head_repo.split('/').next().unwrap_or_default();
        format!("{owner}:{}", self.head_branch)
    }
}

/// A stable number for a name the sandbox keeps no record of (a label, an Azure DevOps project):
/// the same name has the same id in every answer, as a forge's record would.
pub(crate) fn stable_number(name: &str) -> u64 {
    name.bytes()
        .fold(0, |n: u64, b| n.wrapping_mul(31).wrapping_add(u64::from(b)))
        % 1_000_000_000_000
}

/// One commit status as a CI or promoter wrote it. History is kept; the newest per context wins.
#[derive(Debug, Clone)]
pub struct StatusRecord {
    pub id: u64,
    pub sha: String,
    pub state: String,
    pub context: String,
    pub description: Option<String>,
    pub target_url: Option<String>,
    pub creator: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct CheckRunRecord {
    pub id: u64,
    pub sha: String,
    pub name: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub details_url: Option<String>,
    pub external_id: String,
    pub output_title: Option<String>,
    pub output_summary: Option<String>,
    pub app: String,
    pub started_at: i64,
    pub completed_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MergeMethod {
    Merge,
    Squash,
    Rebase,
}

/// A merge as asked for: who merges, the head SHA guard, how, and the commit text (`None` = the
/// forge's default text).
#[derive(Debug, Clone)]
pub(crate) struct MergeRequest {
    pub merger: String,
    pub expected_head: Option<String>,
    pub method: MergeMethod,
    pub title: Option<String>,
    pub message: Option<String>,
}

/// Why the forge refused; each dialect maps these to its own status codes and messages.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ForgeError {
    #[error("not found")]
    NotFound,
    #[error("a pull request already exists for {head_label}")]
    PullExists { head_label: String },
    #[error("no commits between {base} and {head}")]
    NoCommits { base: String, head: String },
    #[error("the {field} branch does not exist")]
    MissingBranch { field: &'static str },
    #[error("invalid {field}: {message}")]
    Invalid { field: String, message: String },
    #[error("the head moved")]
    HeadMoved,
    #[error("the base moved")]
    BaseMoved,
    #[error("not mergeable")]
    NotMergeable,
    #[error("merge method not allowed")]
    MethodNotAllowed(MergeMethod),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// What to open.
#[derive(Debug, Clone)]
pub(crate) struct NewPull {
    /// `owner/name` holding the head branch.
    pub head_repo: String,
    pub head_branch: String,
    pub base_branch: String,
    pub title: String,
    pub body: String,
    pub author: String,
}

#[derive(Debug)]
pub(crate) struct Store {
    root: PathBuf,
    next_id: u64,
    users: BTreeMap<String, User>,
    /// token value → login
    tokens: BTreeMap<String, String>,
    repos: BTreeMap<String, RepoRecord>,
    pulls: BTreeMap<String, Vec<PullRecord>>,
    /// Issues per repository, oldest first (`issues.rs`).
    issues: BTreeMap<String, Vec<issues::IssueRecord>>,
    statuses: BTreeMap<(String, String), Vec<StatusRecord>>,
    check_runs: BTreeMap<(String, String), Vec<CheckRunRecord>>,
    apps: apps::Apps,
    /// The time merge commits are stamped with instead of [`now`] (tests of time-based gates).
    merge_time: Option<i64>,
}

impl Store {
    pub(crate) fn set_merge_time(&mut self, at: Option<i64>) {
        self.merge_time = at;
    }

    /// When a merge made now is committed: [`now`], unless pinned by [`Store::set_merge_time`].
    pub(crate) fn merge_now(&self) -> i64 {
        self.merge_time.unwrap_or_else(now)
    }

    pub(crate) fn new(root: &Path) -> Self {
        Self {
            root: root.to_owned(),
            next_id: 1000,
            users: BTreeMap::new(),
            tokens: BTreeMap::new(),
            repos: BTreeMap::new(),
            pulls: BTreeMap::new(),
            issues: BTreeMap::new(),
            statuses: BTreeMap::new(),
            check_runs: BTreeMap::new(),
            apps: apps::Apps::default(),
            merge_time: None,
        }
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// How many PRs of the repository are open (GitHub's `open_issues_count` counts them).
    pub(crate) fn open_pull_count(&self, full_name: &str) -> usize {
        self.pulls.get(full_name).map_or(0, |pulls| {
            pulls
                .iter()
                .filter(|pull| pull.state == PullState::Open)
                .count()
        })
    }

    pub(crate) fn ensure_user(&mut self, login: &str, kind: UserKind) -> User {
        if let Some(user) = self.users.get(login) {
            return user.clone();
        }
        let user = User {
            id: self.id(),
            login: login.to_owned(),
            kind,
        };
        self.users.insert(login.to_owned(), user.clone());
        user
    }

    pub(crate) fn user(&self, login: &str) -> User {
        self.users.get(login).cloned().unwrap_or(User {
            id: 0,
            login: login.to_owned(),
            kind: UserKind::User,
        })
    }

    pub(crate) fn add_token(&mut self, login: &str, kind: UserKind, token: &str) {
        self.ensure_user(login, kind);
        self.tokens.insert(token.to_owned(), login.to_owned());
    }

    /// The login a token belongs to; `None` for unknown and expired tokens.
    pub(crate) fn token_owner(&self, token: &str) -> Option<User> {
        if self.token_expired(token) {
            return None;
        }
        self.tokens.get(token).map(|login| self.user(login))
    }

    pub(crate) fn repo_path(&self, full_name: &str) -> PathBuf {
        self.root.join(format!("{full_name}.git"))
    }

    /// Creates the bare repository (or adopts an existing one on disk) and registers it.
    pub(crate) fn create_repo(
        &mut self,
        owner: &str,
        name: &str,
        parent: Option<&str>,
    ) -> Result<()> {
        let full_name = format!("{owner}/{name}");
        let path = self.repo_path(&full_name);
        let repo = bare::init_bare(&path)?;
        if let Some(parent) = parent {
            bare::copy_refs(&repo, &self.repo_path(parent))?;
        }
        if self.repos.contains_key(&full_name) {
            return Ok(());
        }
        self.ensure_user(owner, UserKind::User);
        let record = RepoRecord {
            id: self.id(),
            owner: owner.to_owned(),
            name: name.to_owned(),
            parent: parent.map(str::to_owned),
            default_branch: "main".to_owned(),
            allow_merge_commit: true,
            allow_squash_merge: true,
            allow_rebase_merge: false,
            created_at: now(),
        };
        self.repos.insert(full_name, record);
        Ok(())
    }

    pub(crate) fn repo(&self, full_name: &str) -> Result<&RepoRecord, ForgeError> {
        self.repos.get(full_name).ok_or(ForgeError::NotFound)
    }

    pub(crate) fn repo_mut(&mut self, full_name: &str) -> Result<&mut RepoRecord, ForgeError> {
        self.repos.get_mut(full_name).ok_or(ForgeError::NotFound)
    }

    pub(crate) fn repo_names(&self) -> Vec<String> {
        self.repos.keys().cloned().collect()
    }

    pub(crate) fn git(&self, full_name: &str) -> Result<git2::Repository, ForgeError> {
        self.repo(full_name)?;
        Ok(bare::open(&self.repo_path(full_name))?)
    }

    /// The fork of `full_name` owned by `owner`, or the repository itself when `owner` owns it.
    pub(crate) fn repo_in_network(&self, full_name: &str, owner: &str) -> Option<String> {
        let base = self.repos.get(full_name)?;
        if base.owner == owner {
            return Some(full_name.to_owned());
        }
        self.repos
            .values()
            .find(|repo| repo.owner == owner && repo.parent.as_deref() == Some(full_name))
            .map(RepoRecord::full_name)
    }

    /// Resolves `rev` in the repository to a full commit SHA.
    pub(crate) fn resolve(&self, full_name: &str, rev: &str) -> Result<Option<String>, ForgeError> {
        let repo = self.git(full_name)?;
        Ok(bare::resolve_commit(&repo, rev).map(|oid| oid.to_string()))
    }

    pub(crate) fn add_status(
        &mut self,
        full_name: &str,
        mut status: StatusRecord,
    ) -> Result<StatusRecord, ForgeError> {
        status.id = self.id();
        self.statuses
            .entry((full_name.to_owned(), status.sha.clone()))
            .or_default()
            .push(status.clone());
        Ok(status)
    }

    /// Every status on `sha`, newest first.
    pub(crate) fn statuses(&self, full_name: &str, sha: &str) -> Vec<StatusRecord> {
        newest_first(&self.statuses, full_name, sha)
    }

    /// The newest status per context (contexts compare case-insensitively, as on GitHub),
    /// in the order the contexts first appeared.
    pub(crate) fn latest_statuses(&self, full_name: &str, sha: &str) -> Vec<StatusRecord> {
        let mut latest: Vec<StatusRecord> = Vec::new();
        for status in self
            .statuses
            .get(&(full_name.to_owned(), sha.to_owned()))
            .into_iter()
            .flatten()
        {
            match latest
                .iter_mut()
                .find(|seen| seen.context.eq_ignore_ascii_case(&status.context))
            {
                Some(seen) => *seen = status.clone(),
                None => latest.push(status.clone()),
            }
        }
        latest
    }

    pub(crate) fn add_check_run(
        &mut self,
        full_name: &str,
        mut run: CheckRunRecord,
    ) -> Result<CheckRunRecord, ForgeError> {
        run.id = self.id();
        self.check_runs
            .entry((full_name.to_owned(), run.sha.clone()))
            .or_default()
            .push(run.clone());
        Ok(run)
    }

    /// Every check run on `sha`, newest first.
    pub(crate) fn check_runs(&self, full_name: &str, sha: &str) -> Vec<CheckRunRecord> {
        newest_first(&self.check_runs, full_name, sha)
    }
}

/// The records kept for (repository, sha), newest first (they are appended as they arrive).
fn newest_first<T: Clone>(
    records: &BTreeMap<(String, String), Vec<T>>,
    full_name: &str,
    sha: &str,
) -> Vec<T> {
    let mut all = records
        .get(&(full_name.to_owned(), sha.to_owned()))
        .cloned()
        .unwrap_or_default();
    all.reverse();
    all
}

/// GitHub's combined state: `failure` if any latest status is `error`/`failure`, `pending` if there
/// are none or any is `pending`, else `success` (docs "Get the combined status for a specific
/// reference").
pub(crate) fn combined_state(latest: &[StatusRecord]) -> &'static str {
    if latest
        .iter()
        .any(|status| matches!(status.state.as_str(), "error" | "failure"))
    {
        "failure"
    } else if latest.is_empty() || latest.iter().any(|status| status.state == "pending") {
        "pending"
    } else {
        "success"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(id: u64, context: &str, state: &str) -> StatusRecord {
        StatusRecord {
            id,
            sha: "a".repeat(40),
            state: state.to_owned(),
            context: context.to_owned(),
            description: None,
            target_url: None,
            creator: "ci".to_owned(),
            created_at: 0,
        }
    }

    #[test]
    fn the_combined_state_follows_githubs_rules() {
        assert_eq!(combined_state(&[]), "pending");
        assert_eq!(combined_state(&[status(1, "a", "success")]), "success");
        assert_eq!(
            combined_state(&[status(1, "a", "success"), status(2, "b", "pending")]),
            "pending"
        );
        assert_eq!(
            combined_state(&[status(1, "a", "error"), status(2, "b", "pending")]),
            "failure"
        );
        assert_eq!(combined_state(&[status(1, "a", "failure")]), "failure");
    }

    #[test]
    fn the_newest_status_per_context_wins_ignoring_case() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = Store::new(dir.path());
        let sha = "a".repeat(40);
        for (context, state) in [("ci", "failure"), ("health", "success"), ("CI", "success")] {
            store
                .add_status("o/r", status(0, context, state))
                .expect("stored");
        }
        let latest = store.latest_statuses("o/r", &sha);
        let states: Vec<(&str, &str)> = latest
            .iter()
            .map(|s| (s.context.as_str(), s.state.as_str()))
            .collect();
        assert_eq!(states, vec![("CI", "success"), ("health", "success")]);
        assert_eq!(store.statuses("o/r", &sha).len(), 3);
        assert_eq!(store.statuses("o/r", &sha)[0].context, "CI");
    }
}
