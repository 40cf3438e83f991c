//! The forge's state, independent of any wire dialect: users and tokens, repositories (bare repos on
//! disk plus settings), pull requests, commit statuses and check runs, and the rules that change
//! them (open, update, merge). The GitHub layer (`github/`) only translates HTTP to these calls and
//! [`ForgeError`]s to GitHub's answers; a GitLab or Gitea dialect would do the same over this data.
//! Pull requests, statuses and check runs live in memory; repositories live on disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use git2::Oid;

use super::bare::{self, Person};

/// Seconds since the Unix epoch. The forge stamps records and merge commits with the real time,
/// like a real forge; commits written through the test API carry the caller's time instead.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or_default()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserKind {
    User,
    /// A GitHub App (CI). Only app tokens may create check runs, as on GitHub.
    Bot,
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: u64,
    pub login: String,
    pub kind: UserKind,
}

#[derive(Debug, Clone)]
pub struct RepoRecord {
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
    pub fn full_name(&self) -> String {
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
}

impl PullRecord {
    /// `owner:branch`, GitHub's head label.
    pub fn head_label(&self) -> String {
        let owner = self.head_repo.split('/').next().unwrap_or_default();
        format!("{owner}:{}", self.head_branch)
    }
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
pub struct CheckRunRecord {
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
pub enum MergeMethod {
    Merge,
    Squash,
    Rebase,
}

/// A merge as asked for: who merges, the head SHA guard, how, and the commit text (`None` = the
/// forge's default text).
#[derive(Debug, Clone)]
pub struct MergeRequest {
    pub merger: String,
    pub expected_head: Option<String>,
    pub method: MergeMethod,
    pub title: Option<String>,
    pub message: Option<String>,
}

/// Why the forge refused; each dialect maps these to its own status codes and messages.
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
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
pub struct NewPull {
    /// `owner/name` holding the head branch.
    pub head_repo: String,
    pub head_branch: String,
    pub base_branch: String,
    pub title: String,
    pub body: String,
    pub author: String,
}

#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    next_id: u64,
    users: BTreeMap<String, User>,
    /// token value → login
    tokens: BTreeMap<String, String>,
    repos: BTreeMap<String, RepoRecord>,
    pulls: BTreeMap<String, Vec<PullRecord>>,
    statuses: BTreeMap<(String, String), Vec<StatusRecord>>,
    check_runs: BTreeMap<(String, String), Vec<CheckRunRecord>>,
}

impl Store {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_owned(),
            next_id: 1000,
            users: BTreeMap::new(),
            tokens: BTreeMap::new(),
            repos: BTreeMap::new(),
            pulls: BTreeMap::new(),
            statuses: BTreeMap::new(),
            check_runs: BTreeMap::new(),
        }
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// How many PRs of the repository are open (GitHub's `open_issues_count` counts them).
    pub fn open_pull_count(&self, full_name: &str) -> usize {
        self.pulls.get(full_name).map_or(0, |pulls| {
            pulls
                .iter()
                .filter(|pull| pull.state == PullState::Open)
                .count()
        })
    }

    pub fn ensure_user(&mut self, login: &str, kind: UserKind) -> User {
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

    pub fn user(&self, login: &str) -> User {
        self.users.get(login).cloned().unwrap_or(User {
            id: 0,
            login: login.to_owned(),
            kind: UserKind::User,
        })
    }

    pub fn add_token(&mut self, login: &str, kind: UserKind, token: &str) {
        self.ensure_user(login, kind);
        self.tokens.insert(token.to_owned(), login.to_owned());
    }

    /// The login a token belongs to.
    pub fn token_owner(&self, token: &str) -> Option<User> {
        self.tokens.get(token).map(|login| self.user(login))
    }

    pub fn repo_path(&self, full_name: &str) -> PathBuf {
        self.root.join(format!("{full_name}.git"))
    }

    /// Creates the bare repository (or adopts an existing one on disk) and registers it.
    pub fn create_repo(&mut self, owner: &str, name: &str, parent: Option<&str>) -> Result<()> {
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

    pub fn repo(&self, full_name: &str) -> Result<&RepoRecord, ForgeError> {
        self.repos.get(full_name).ok_or(ForgeError::NotFound)
    }

    pub fn repo_mut(&mut self, full_name: &str) -> Result<&mut RepoRecord, ForgeError> {
        self.repos.get_mut(full_name).ok_or(ForgeError::NotFound)
    }

    pub fn repo_names(&self) -> Vec<String> {
        self.repos.keys().cloned().collect()
    }

    pub fn git(&self, full_name: &str) -> Result<git2::Repository, ForgeError> {
        self.repo(full_name)?;
        Ok(bare::open(&self.repo_path(full_name))?)
    }

    /// The fork of `full_name` owned by `owner`, or the repository itself when `owner` owns it.
    pub fn repo_in_network(&self, full_name: &str, owner: &str) -> Option<String> {
        let base = self.repos.get(full_name)?;
        if base.owner == owner {
            return Some(full_name.to_owned());
        }
        self.repos
            .values()
            .find(|repo| repo.owner == owner && repo.parent.as_deref() == Some(full_name))
            .map(RepoRecord::full_name)
    }

    /// Every PR of the repository, head SHAs refreshed from the branches, newest first.
    pub fn pulls(&mut self, full_name: &str) -> Result<Vec<PullRecord>, ForgeError> {
        self.repo(full_name)?;
        let numbers: Vec<u64> = self
            .pulls
            .get(full_name)
            .map(|pulls| pulls.iter().map(|pull| pull.number).collect())
            .unwrap_or_default();
        let mut out = Vec::new();
        for number in numbers.into_iter().rev() {
            out.push(self.pull(full_name, number)?);
        }
        Ok(out)
    }

    /// One PR with its head SHA following the head branch (kept when the branch is gone).
    pub fn pull(&mut self, full_name: &str, number: u64) -> Result<PullRecord, ForgeError> {
        let pull = self.find_pull(full_name, number)?.clone();
        if pull.state == PullState::Closed {
            return Ok(pull);
        }
        let head = bare::branch_tip(&self.git(&pull.head_repo)?, &pull.head_branch)?;
        let base = bare::branch_tip(&self.git(&pull.base_repo)?, &pull.base_branch)?;
        let record = self.find_pull_mut(full_name, number)?;
        if let Some(head) = head {
            record.head_sha = head.to_string();
        }
        if let Some(base) = base {
            record.base_sha = base.to_string();
        }
        Ok(record.clone())
    }

    fn find_pull(&self, full_name: &str, number: u64) -> Result<&PullRecord, ForgeError> {
        self.pulls
            .get(full_name)
            .and_then(|pulls| pulls.iter().find(|pull| pull.number == number))
            .ok_or(ForgeError::NotFound)
    }

    fn find_pull_mut(
        &mut self,
        full_name: &str,
        number: u64,
    ) -> Result<&mut PullRecord, ForgeError> {
        self.pulls
            .get_mut(full_name)
            .and_then(|pulls| pulls.iter_mut().find(|pull| pull.number == number))
            .ok_or(ForgeError::NotFound)
    }

    /// Whether the open PR would merge cleanly now; `None` once it is closed.
    pub fn mergeable(&self, pull: &PullRecord) -> Result<Option<bool>, ForgeError> {
        if pull.state == PullState::Closed {
            return Ok(None);
        }
        let repo = self.git(&pull.base_repo)?;
        let (Some(base), Some(head)) = (
            bare::branch_tip(&repo, &pull.base_branch)?,
            self.head_tip_in(&repo, pull)?,
        ) else {
            return Ok(Some(false));
        };
        Ok(Some(bare::merge_tree(&repo, base, head)?.is_some()))
    }

    /// The head tip, made available inside the base repository (forks are fetched into it, as
    /// GitHub keeps `refs/pull/N/head` in the base repository).
    fn head_tip_in(
        &self,
        base: &git2::Repository,
        pull: &PullRecord,
    ) -> Result<Option<Oid>, ForgeError> {
        let head_repo = self.git(&pull.head_repo)?;
        let Some(tip) = bare::branch_tip(&head_repo, &pull.head_branch)? else {
            return Ok(None);
        };
        if pull.head_repo != pull.base_repo && base.find_commit(tip).is_err() {
            let path = self.repo_path(&pull.head_repo);
            let mut remote = base
                .remote_anonymous(&path.to_string_lossy())
                .context("reaching the fork")?;
            let refspec = format!(
                "+refs/heads/{}:refs/pull/{}/head",
                pull.head_branch, pull.number
            );
            remote
                .fetch(&[refspec.as_str()], None, None)
                .with_context(|| format!("fetching the fork's branch {}", pull.head_branch))?;
        }
        Ok(Some(tip))
    }

    pub fn open_pull(&mut self, base_repo: &str, new: NewPull) -> Result<PullRecord, ForgeError> {
        self.repo(base_repo)?;
        let head_repo_git = self.git(&new.head_repo)?;
        let base_git = self.git(base_repo)?;
        let head_tip = bare::branch_tip(&head_repo_git, &new.head_branch)?
            .ok_or(ForgeError::MissingBranch { field: "head" })?;
        let base_tip = bare::branch_tip(&base_git, &new.base_branch)?
            .ok_or(ForgeError::MissingBranch { field: "base" })?;
        let head_owner = new.head_repo.split('/').next().unwrap_or_default();
        let label = format!("{head_owner}:{}", new.head_branch);
        let duplicate = self.pulls.get(base_repo).is_some_and(|pulls| {
            pulls.iter().any(|pull| {
                pull.state == PullState::Open
                    && pull.head_repo == new.head_repo
                    && pull.head_branch == new.head_branch
                    && pull.base_branch == new.base_branch
            })
        });
        if duplicate {
            return Err(ForgeError::PullExists { head_label: label });
        }
        let number = self.pulls.get(base_repo).map_or(0, Vec::len) as u64 + 1;
        let probe = PullRecord {
            id: 0,
            number,
            base_repo: base_repo.to_owned(),
            head_repo: new.head_repo.clone(),
            head_branch: new.head_branch.clone(),
            base_branch: new.base_branch.clone(),
            title: new.title.clone(),
            body: new.body.clone(),
            author: new.author.clone(),
            state: PullState::Open,
            head_sha: head_tip.to_string(),
            base_sha: base_tip.to_string(),
            merged: None,
            created_at: now(),
            updated_at: now(),
            closed_at: None,
        };
        self.head_tip_in(&base_git, &probe)?;
        if bare::contains(&base_git, base_tip, head_tip)? {
            return Err(ForgeError::NoCommits {
                base: new.base_branch,
                head: label,
            });
        }
        let record = PullRecord {
            id: self.id(),
            ..probe
        };
        self.ensure_user(&new.author, UserKind::User);
        self.pulls
            .entry(base_repo.to_owned())
            .or_default()
            .push(record.clone());
        Ok(record)
    }

    /// Changes title, body and/or state (`open`/`closed`).
    pub fn update_pull(
        &mut self,
        full_name: &str,
        number: u64,
        title: Option<String>,
        body: Option<String>,
        state: Option<PullState>,
    ) -> Result<PullRecord, ForgeError> {
        let current = self.pull(full_name, number)?;
        if state == Some(PullState::Open) && current.state == PullState::Closed {
            if current.merged.is_some() {
                return Err(ForgeError::Invalid {
                    field: "state".into(),
                    message: "state cannot be changed. The pull request cannot be reopened because it was merged.".into(),
                });
            }
            let duplicate = self.pulls.get(full_name).is_some_and(|pulls| {
                pulls.iter().any(|pull| {
                    pull.state == PullState::Open
                        && pull.head_repo == current.head_repo
                        && pull.head_branch == current.head_branch
                        && pull.base_branch == current.base_branch
                })
            });
            if duplicate {
                return Err(ForgeError::PullExists {
                    head_label: current.head_label(),
                });
            }
        }
        let record = self.find_pull_mut(full_name, number)?;
        if let Some(title) = title {
            record.title = title;
        }
        if let Some(body) = body {
            record.body = body;
        }
        if let Some(state) = state
            && state != record.state
        {
            record.closed_at = (state == PullState::Closed).then(now);
            record.state = state;
        }
        record.updated_at = now();
        self.pull(full_name, number)
    }

    /// Merges an open PR: the merge (or squash) commit is built in memory from the current tips,
    /// and the base branch is moved only if it is still where it was read (compare-and-swap).
    pub fn merge_pull(
        &mut self,
        full_name: &str,
        number: u64,
        request: MergeRequest,
    ) -> Result<String, ForgeError> {
        let MergeRequest {
            merger,
            expected_head,
            method,
            title,
            message,
        } = request;
        let merger = merger.as_str();
        let pull = self.pull(full_name, number)?;
        if pull.state == PullState::Closed {
            return Err(ForgeError::NotMergeable);
        }
        let repo = self.git(full_name)?;
        let head = self
            .head_tip_in(&repo, &pull)?
            .ok_or(ForgeError::NotMergeable)?;
        // GitHub pulls/merge: `sha` is the SHA the head must match to allow the merge.
        if let Some(expected) = expected_head.as_deref()
            && !expected.eq_ignore_ascii_case(&head.to_string())
        {
            return Err(ForgeError::HeadMoved);
        }
        let settings = self.repo(full_name)?;
        let allowed = match method {
            MergeMethod::Merge => settings.allow_merge_commit,
            MergeMethod::Squash => settings.allow_squash_merge,
            MergeMethod::Rebase => settings.allow_rebase_merge,
        };
        if !allowed {
            return Err(ForgeError::MethodNotAllowed(method));
        }
        let base = bare::branch_tip(&repo, &pull.base_branch)?.ok_or(ForgeError::NotMergeable)?;
        let tree = bare::merge_tree(&repo, base, head)?.ok_or(ForgeError::NotMergeable)?;
        let head_label = pull.head_label().replacen(':', "/", 1);
        let title = title.unwrap_or_else(|| match method {
            MergeMethod::Squash => format!("{} (#{number})", pull.title),
            _ => format!("Merge pull request #{number} from {head_label}"),
        });
        let message = message.unwrap_or_else(|| match method {
            MergeMethod::Squash => String::new(),
            _ => pull.title.clone(),
        });
        let full_message = if message.is_empty() {
            title
        } else {
            format!("{title}\n\n{message}")
        };
        let time = now();
        let author = Person {
            name: merger.to_owned(),
            email: format!("{merger}@users.noreply.sandbox.invalid"),
            time,
        };
        let committer = Person {
            name: "Sandbox Forge".to_owned(),
            email: "noreply@sandbox.invalid".to_owned(),
            time,
        };
        let parents: Vec<Oid> = match method {
            MergeMethod::Squash => vec![base],
            _ => vec![base, head],
        };
        let commit = bare::commit_tree(&repo, tree, &parents, &full_message, &author, &committer)?;
        match bare::move_branch(&repo, &pull.base_branch, Some(base), commit, &full_message) {
            Ok(()) => {}
            Err(error) if error.is::<bare::RefMoved>() => return Err(ForgeError::BaseMoved),
            Err(error) => return Err(error.into()),
        }
        let sha = commit.to_string();
        let record = self.find_pull_mut(full_name, number)?;
        record.state = PullState::Closed;
        record.head_sha = head.to_string();
        record.closed_at = Some(time);
        record.updated_at = time;
        record.merged = Some(Merged {
            sha: sha.clone(),
            at: time,
            by: merger.to_owned(),
        });
        Ok(sha)
    }

    /// Resolves `rev` in the repository to a full commit SHA.
    pub fn resolve(&self, full_name: &str, rev: &str) -> Result<Option<String>, ForgeError> {
        let repo = self.git(full_name)?;
        Ok(bare::resolve_commit(&repo, rev).map(|oid| oid.to_string()))
    }

    pub fn add_status(
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
    pub fn statuses(&self, full_name: &str, sha: &str) -> Vec<StatusRecord> {
        let mut all = self
            .statuses
            .get(&(full_name.to_owned(), sha.to_owned()))
            .cloned()
            .unwrap_or_default();
        all.reverse();
        all
    }

    /// The newest status per context (contexts compare case-insensitively, as on GitHub),
    /// in the order the contexts first appeared.
    pub fn latest_statuses(&self, full_name: &str, sha: &str) -> Vec<StatusRecord> {
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

    pub fn add_check_run(
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
    pub fn check_runs(&self, full_name: &str, sha: &str) -> Vec<CheckRunRecord> {
        let mut all = self
            .check_runs
            .get(&(full_name.to_owned(), sha.to_owned()))
            .cloned()
            .unwrap_or_default();
        all.reverse();
        all
    }
}

/// GitHub's combined state: `failure` if any latest status is `error`/`failure`, `pending` if there
/// are none or any is `pending`, else `success` (docs "Get the combined status for a specific
/// reference").
pub fn combined_state(latest: &[StatusRecord]) -> &'static str {
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
