//! The sandbox forge: a GitHub-compatible SCM on 127.0.0.1 over real bare repositories, used by
//! promoter's tests, benchmarks and `promoter demo`, and by `promoter sandbox` for local trials.
//! It is not a mock: repositories are bare git repositories at `<root>/<owner>/<name>.git`, merges
//! are real merge commits, and git clients clone, fetch and push over smart HTTP.
//!
//! - The REST API is GitHub's v3 subset promoter uses, under `<base>/api/v3` (GitHub Enterprise
//!   Server's layout, so promoter's `cloneUrl` derivation for `…/api/v3` yields `<base>/<o>/<r>.git`),
//!   and GitLab's v4 subset under `<base>/api/v4` over the same repositories, pull (merge)
//!   requests and statuses. GitLab owners may be nested groups (`group/sub`), on disk too.
//! - The Gitea/Forgejo REST v1 subset promoter uses, under `<base>/api/v1`, over the same state
//!   ([`GiteaFlavor`] picks Gitea release, Gitea main or Forgejo behaviour).
//! - The Bitbucket Cloud REST 2.0 subset promoter uses, under `<base>/2.0`, over the same state
//!   (short hashes in pull requests, merges without a head guard, BBQL `q` filters).
//! - The Bitbucket Data Center REST 1.0 subset promoter uses, under `<base>/rest` (its `apiUrl` is
//!   `<base>` itself), over the same state, with PR versions and commit-wide build statuses.
//! - Git smart HTTP at `<base>/<owner>/<name>.git` runs `git http-backend`: **this part needs the
//!   git CLI on `PATH`**. The token is the basic-auth password (any user name).
//! - Repositories are private: anonymous API calls get 404, as on GitHub.
//! - Pull requests, statuses and check runs live in memory and end with the process; repositories
//!   stay on disk and are adopted again by the next start on the same root.
//!
//! Layout: `store` (dialect-free forge state and rules) ← `github/`, `gitlab/`, `gitea/`,
//! `bitbucket/` (wire dialects);
//! `bitbucket_server/` (wire dialects);
//! `bare` (every git2 call); `http1` (the HTTP/1.1 server), `server` (routing a request), `smart_http` (git CGI), `faults` (fault
//! injection, request log), `hydrator` (a test hydrator), `command` (`promoter sandbox`), `apps`
//! (the test API for GitHub Apps: registration, pinned auth time, token lifetimes), `values` (its
//! own [`Sha`] and [`Token`]).
//! This package does not depend on promoter: promoter depends on it (tests, and `promoter demo` /
//! `promoter sandbox` behind promoter's default-on `sandbox` feature).

// serde_json::json! of GitHub's large repository objects needs more macro depth.
#![recursion_limit = "256"]

mod apps;
mod azure;
mod bare;
mod bitbucket;
mod bitbucket_server;
mod command;
mod faults;
mod gitea;
mod github;
mod gitlab;
mod http1;
mod hydrator;
mod issues;
mod server;
mod smart_http;
mod store;
mod values;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use anyhow::{Context, Result, anyhow};
use git2::Oid;

pub use apps::MintedToken;
pub use azure::ORGANIZATION as AZURE_ORGANIZATION;
pub use bare::HYDRATOR_NOTES_REF;
pub use command::{DEFAULT_TOKEN, SandboxOptions, run_command};
pub use faults::{Fault, LoggedRequest};
pub use gitea::GiteaFlavor;
pub use hydrator::Hydration;
pub use store::{IssueRecord, PullRecord, PullState, StatusRecord};
pub use values::{Sha, Token};

use server::{Shared, lock};
use store::{CheckRunRecord, NewPull, Store, UserKind};

/// The login that owns the token given to [`Sandbox::start`].
pub const DEFAULT_USER: &str = "promoter-bot";
/// The CI app that sets statuses and check runs through [`Sandbox::set_status`] and
/// [`Sandbox::set_check_run`].
pub const CI_APP: &str = "sandbox-ci";
/// Commit time used when a [`CommitSpec`] does not set one: 2023-11-14T22:13:20Z.
pub const DEFAULT_COMMIT_TIME: i64 = 1_700_000_000;

/// A running forge. Stops (and frees its port) when dropped.
pub struct Sandbox {
    shared: Arc<Shared>,
    address: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
    token: Token,
}

/// A commit to write on a branch: files (path → content) over the current tip.
#[derive(Debug, Clone)]
pub struct CommitSpec {
    pub message: String,
    pub files: Vec<(String, String)>,
    /// Author and committer time, seconds since the epoch (fixed by default so SHAs are stable).
    pub time: i64,
}

impl CommitSpec {
    pub fn new(message: &str) -> Self {
        Self {
            message: message.to_owned(),
            files: Vec::new(),
            time: DEFAULT_COMMIT_TIME,
        }
    }

    pub fn file(mut self, path: &str, content: &str) -> Self {
        self.files.push((path.to_owned(), content.to_owned()));
        self
    }

    pub fn at(mut self, time: i64) -> Self {
        self.time = time;
        self
    }
}

/// The fixed author/committer of commits written through the Rust API.
fn test_person(time: i64) -> bare::Person {
    bare::Person {
        name: "Sandbox Author".to_owned(),
        email: "author@sandbox.invalid".to_owned(),
        time,
    }
}

/// A commit given as text (any SHA type that shows itself as a string), checked by git.
fn oid(sha: &(impl AsRef<str> + ?Sized)) -> Result<Oid> {
    let sha = sha.as_ref();
    Oid::from_str(sha).with_context(|| format!("reading `{sha}` as a git object id"))
}

fn sha(oid: Oid) -> Sha {
    Sha::of(oid)
}

impl Sandbox {
    /// Starts a forge on a free port of 127.0.0.1, storing repositories under `root` (existing
    /// `<owner>/<name>.git` directories are adopted). `token` belongs to [`DEFAULT_USER`].
    pub fn start(root: &Path, token: &Token) -> Result<Sandbox> {
        Self::start_on_port(root, token, 0)
    }

    /// Like [`Sandbox::start`] on a given port (0 = any free port).
    pub fn start_on_port(root: &Path, token: &Token, port: u16) -> Result<Sandbox> {
        std::fs::create_dir_all(root)
            .with_context(|| format!("creating the sandbox root {}", root.display()))?;
        let root = root
            .canonicalize()
            .with_context(|| format!("resolving the sandbox root {}", root.display()))?;
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))
            .map_err(|error| anyhow!("listening on 127.0.0.1:{port}: {error}"))?;
        let address = listener
            .local_addr()
            .context("reading the sandbox's listening address")?;
        let mut store = Store::new(&root);
        store.add_token(DEFAULT_USER, UserKind::User, token.expose());
        store.ensure_user(CI_APP, UserKind::Bot);
        for (owner, name) in existing_repos(&root)? {
            store.create_repo(&owner, &name, None)?;
        }
        let shared = Arc::new(Shared {
            store: Mutex::new(store),
            base_url: format!("http://127.0.0.1:{}", address.port()),
            root,
            log: Mutex::new(Vec::new()),
            faults: Mutex::new(faults::Faults::default()),
            rate_used: Mutex::new(BTreeMap::new()),
            rate_reset: store::now() + 3600,
            gitea_flavor: Mutex::new(GiteaFlavor::default()),
            azure: Mutex::new(azure::State::default()),
            bitbucket_versions: Default::default(),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let handler: http1::Handler = {
            let shared = shared.clone();
            Arc::new(move |request| server::handle(&shared, request))
        };
        let acceptor = {
            let stop = stop.clone();
            std::thread::spawn(move || http1::serve(&listener, &stop, &handler))
        };
        Ok(Sandbox {
            shared,
            address,
            stop,
            acceptor: Some(acceptor),
            token: token.clone(),
        })
    }

    /// `http://127.0.0.1:PORT`, the web and git host.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// `http://127.0.0.1:PORT/api/v3`, the REST API root (promotion.yaml `scm.apiUrl`).
    pub fn api_url(&self) -> String {
        self.shared.api_url()
    }

    /// `http://127.0.0.1:PORT/api/v1`, the Gitea/Forgejo REST API root over the same repositories,
    /// pull requests and statuses (promotion.yaml `scm.apiUrl` for `provider: gitea|forgejo`).
    pub fn gitea_api_url(&self) -> String {
        self.shared.gitea_api_url()
    }

    /// Which product the Gitea dialect imitates (merge-option spellings, version string).
    pub fn set_gitea_flavor(&self, flavor: GiteaFlavor) {
        *lock(&self.shared.gitea_flavor) = flavor;
    }

    /// `http://127.0.0.1:PORT/api/v4`, the GitLab dialect's REST API root (`provider: gitlab`).
    pub fn gitlab_api_url(&self) -> String {
        self.shared.gitlab_api_url()
    }

    /// `http://127.0.0.1:PORT/2.0`, the Bitbucket Cloud REST 2.0 root over the same repositories.
    pub fn bitbucket_api_url(&self) -> String {
        format!("{}/2.0", self.shared.base_url)
    }

    /// `http://127.0.0.1:PORT`: the Azure DevOps dialect's API root (`provider: azure-devops`),
    /// where `repository.owner` is `{AZURE_ORGANIZATION}/<owner>` (the store's owner is the
    /// project).
    pub fn azure_api_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// `http://127.0.0.1:PORT/{AZURE_ORGANIZATION}/<owner>/_git/<name>`: Azure DevOps' clone URL
    /// of `<owner>/<name>`.
    pub fn azure_clone_url(&self, owner: &str, name: &str) -> String {
        format!(
            "{}/{AZURE_ORGANIZATION}/{owner}/_git/{name}",
            self.shared.base_url
        )
    }

    /// How many answers after an Azure DevOps completion still show the PR `active` with
    /// `completionQueueTime` (0, the default: completion is synchronous).
    pub fn set_azure_queued_reads(&self, reads: usize) {
        lock(&self.shared.azure).queued_reads = reads;
    }

    /// `http://127.0.0.1:PORT/<owner>/<name>.git`; `owner` may be a nested group (`group/sub`).
    pub fn clone_url(&self, owner: &str, name: &str) -> String {
        format!("{}/{owner}/{name}.git", self.shared.base_url)
    }

    /// Where the bare repository lives on disk.
    pub fn repo_path(&self, owner: &str, name: &str) -> PathBuf {
        self.shared.root.join(format!("{owner}/{name}.git"))
    }

    pub fn token(&self) -> &Token {
        &self.token
    }

    /// Another user's token (answers as `login`).
    pub fn add_user_token(&self, login: &str, token: &Token) {
        lock(&self.shared.store).add_token(login, UserKind::User, token.expose());
    }

    /// A GitHub App installation token (answers as the app `slug`; may create check runs).
    pub fn add_app_token(&self, slug: &str, token: &Token) {
        lock(&self.shared.store).add_token(slug, UserKind::Bot, token.expose());
    }

    /// Creates an empty bare repository `<owner>/<name>` (kept when it exists).
    pub fn create_repo(&self, owner: &str, name: &str) -> Result<()> {
        lock(&self.shared.store).create_repo(owner, name, None)
    }

    /// Forks `<owner>/<name>` to `<forker>/<name>` with all its branches.
    pub fn fork_repo(&self, owner: &str, name: &str, forker: &str) -> Result<()> {
        let parent = format!("{owner}/{name}");
        let mut store = lock(&self.shared.store);
        store
            .repo(&parent)
            .map_err(|_| anyhow!("no repository {parent} to fork"))?;
        store.create_repo(forker, name, Some(&parent))
    }

    /// Stamps merge commits made from now on with `at` (seconds since the epoch) instead of the
    /// current time; `None` goes back to the current time. For tests of time-based gates.
    pub fn set_merge_time(&self, at: Option<i64>) {
        lock(&self.shared.store).set_merge_time(at);
    }

    /// Allows or refuses merge commits on the repository (GitHub's `allow_merge_commit`).
    pub fn set_allow_merge_commit(&self, owner: &str, name: &str, allowed: bool) -> Result<()> {
        let full_name = format!("{owner}/{name}");
        lock(&self.shared.store)
            .repo_mut(&full_name)
            .map_err(|_| anyhow!("no repository {full_name}"))?
            .allow_merge_commit = allowed;
        Ok(())
    }

    fn git(&self, owner: &str, name: &str) -> Result<git2::Repository> {
        bare::open(&self.repo_path(owner, name))
    }

    /// Writes `spec` on top of `branch` (a root commit when the branch is new) and moves the
    /// branch, as a push would. Returns the new tip.
    pub fn commit(&self, owner: &str, name: &str, branch: &str, spec: &CommitSpec) -> Result<Sha> {
        let repo = self.git(owner, name)?;
        let id = bare::commit_files(
            &repo,
            branch,
            &spec.files,
            &spec.message,
            &test_person(spec.time),
        )
        .with_context(|| format!("committing to {owner}/{name} branch {branch}"))?;
        Ok(sha(id))
    }

    /// Creates `branch` at the tip of `from` (fails when `branch` exists).
    pub fn create_branch(&self, owner: &str, name: &str, branch: &str, from: &str) -> Result<Sha> {
        let repo = self.git(owner, name)?;
        let tip = bare::branch_tip(&repo, from)?
            .with_context(|| format!("branch {from} does not exist in {owner}/{name}"))?;
        bare::move_branch(&repo, branch, None, tip, "create branch")
            .with_context(|| format!("creating branch {branch} in {owner}/{name}"))?;
        Ok(sha(tip))
    }

    /// Sets `branch` to `target` (a force push).
    pub fn reset_branch(
        &self,
        owner: &str,
        name: &str,
        branch: &str,
        target: &(impl AsRef<str> + ?Sized),
    ) -> Result<()> {
        let repo = self.git(owner, name)?;
        let target = oid(target)?;
        repo.reference(&format!("refs/heads/{branch}"), target, true, "reset")
            .with_context(|| format!("moving branch {branch} of {owner}/{name} to {target}"))?;
        Ok(())
    }

    pub fn branch_tip(&self, owner: &str, name: &str, branch: &str) -> Result<Option<Sha>> {
        Ok(bare::branch_tip(&self.git(owner, name)?, branch)?.map(sha))
    }

    /// The parents of a commit, first parent first.
    pub fn parents(
        &self,
        owner: &str,
        name: &str,
        commit: &(impl AsRef<str> + ?Sized),
    ) -> Result<Vec<Sha>> {
        Ok(bare::parents(&self.git(owner, name)?, oid(commit)?)?
            .into_iter()
            .map(sha)
            .collect())
    }

    /// The full message of a commit.
    pub fn commit_message(
        &self,
        owner: &str,
        name: &str,
        commit: &(impl AsRef<str> + ?Sized),
    ) -> Result<String> {
        Ok(bare::commit_info(&self.git(owner, name)?, oid(commit)?)?.0)
    }

    /// A file's text at a commit, if present.
    pub fn read_file(
        &self,
        owner: &str,
        name: &str,
        commit: &(impl AsRef<str> + ?Sized),
        path: &str,
    ) -> Result<Option<String>> {
        bare::read_file(&self.git(owner, name)?, oid(commit)?, path)
    }

    /// Writes (or replaces) the note on `target` under `refs/notes/hydrator.metadata`.
    pub fn write_note(
        &self,
        owner: &str,
        name: &str,
        target: &(impl AsRef<str> + ?Sized),
        body: &str,
    ) -> Result<()> {
        bare::write_note(
            &self.git(owner, name)?,
            oid(target)?,
            body,
            &test_person(DEFAULT_COMMIT_TIME),
        )
    }

    pub fn read_note(
        &self,
        owner: &str,
        name: &str,
        target: &(impl AsRef<str> + ?Sized),
    ) -> Result<Option<String>> {
        Ok(bare::read_note(&self.git(owner, name)?, oid(target)?))
    }

    /// Records a commit status on `commit` as the CI app would (`state`: error, failure,
    /// pending, success).
    pub fn set_status(
        &self,
        owner: &str,
        name: &str,
        commit: &(impl AsRef<str> + ?Sized),
        context: &str,
        state: &str,
        description: &str,
    ) -> Result<()> {
        let full_name = format!("{owner}/{name}");
        let record = StatusRecord {
            id: 0,
            sha: oid(commit)?.to_string(),
            state: state.to_owned(),
            context: context.to_owned(),
            description: Some(description.to_owned()),
            target_url: None,
            creator: CI_APP.to_owned(),
            created_at: store::now(),
        };
        lock(&self.shared.store).add_status(&full_name, record)?;
        Ok(())
    }

    /// Records a check run on `commit` as the CI app would; `conclusion` = `None` leaves it
    /// `in_progress`, else it is `completed` with that conclusion.
    pub fn set_check_run(
        &self,
        owner: &str,
        name: &str,
        commit: &(impl AsRef<str> + ?Sized),
        run_name: &str,
        conclusion: Option<&str>,
    ) -> Result<()> {
        let full_name = format!("{owner}/{name}");
        let now = store::now();
        let record = CheckRunRecord {
            id: 0,
            sha: oid(commit)?.to_string(),
            name: run_name.to_owned(),
            status: if conclusion.is_some() {
                "completed"
            } else {
                "in_progress"
            }
            .to_owned(),
            conclusion: conclusion.map(str::to_owned),
            details_url: None,
            external_id: String::new(),
            output_title: None,
            output_summary: None,
            app: CI_APP.to_owned(),
            started_at: now,
            completed_at: conclusion.map(|_| now),
        };
        lock(&self.shared.store).add_check_run(&full_name, record)?;
        Ok(())
    }

    /// Every status on a commit, newest first.
    pub fn statuses(
        &self,
        owner: &str,
        name: &str,
        commit: &(impl AsRef<str> + ?Sized),
    ) -> Vec<StatusRecord> {
        let commit = commit.as_ref().to_ascii_lowercase();
        lock(&self.shared.store).statuses(&format!("{owner}/{name}"), &commit)
    }

    /// Opens a PR as `author` in `<owner>/<name>`. `head` is `branch` (same repository) or
    /// `forker:branch` (a fork made with [`Sandbox::fork_repo`]). Returns its number.
    pub fn open_pull_as(
        &self,
        author: &str,
        owner: &str,
        name: &str,
        head: &str,
        base: &str,
        title: &str,
    ) -> Result<u64> {
        let full_name = format!("{owner}/{name}");
        let mut store = lock(&self.shared.store);
        let (head_repo, head_branch) = match head.split_once(':') {
            Some((head_owner, branch)) => (
                store
                    .repo_in_network(&full_name, head_owner)
                    .with_context(|| format!("{head_owner} has no fork of {full_name}"))?,
                branch.to_owned(),
            ),
            None => (full_name.clone(), head.to_owned()),
        };
        let pull = store
            .open_pull(
                &full_name,
                NewPull {
                    head_repo,
                    head_branch,
                    base_branch: base.to_owned(),
                    title: title.to_owned(),
                    body: String::new(),
                    author: author.to_owned(),
                },
            )
            .with_context(|| format!("opening a pull request {head} → {base} in {full_name}"))?;
        Ok(pull.number)
    }

    /// A PR as the forge sees it now (head SHA following the head branch).
    pub fn pull(&self, owner: &str, name: &str, number: u64) -> Result<PullRecord> {
        Ok(lock(&self.shared.store).pull(&format!("{owner}/{name}"), number)?)
    }

    /// Replaces the labels of PR `number` (tags on Azure DevOps), as a person would in the web UI;
    /// the dialects that have PR labels show them (docs/sandbox.md).
    pub fn set_pull_labels(
        &self,
        owner: &str,
        name: &str,
        number: u64,
        labels: &[&str],
    ) -> Result<()> {
        let full_name = format!("{owner}/{name}");
        lock(&self.shared.store)
            .set_pull_labels(
                &full_name,
                number,
                labels.iter().map(|label| (*label).to_owned()).collect(),
            )
            .with_context(|| format!("labelling pull request #{number} of {full_name}"))
    }

    /// Every PR of the repository, newest first.
    pub fn pulls(&self, owner: &str, name: &str) -> Result<Vec<PullRecord>> {
        Ok(lock(&self.shared.store).pulls(&format!("{owner}/{name}"))?)
    }

    /// Arms a fault for the next matching requests.
    pub fn inject(&self, fault: Fault) {
        lock(&self.shared.faults).push(fault);
    }

    /// Every request served so far, oldest first.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        lock(&self.shared.log).clone()
    }

    /// How many served requests had `method` and a path matching `pattern` (`*` = anything).
    pub fn count_requests(&self, method: &str, pattern: &str) -> usize {
        lock(&self.shared.log)
            .iter()
            .filter(|request| {
                request.method.eq_ignore_ascii_case(method)
                    && faults::glob_matches(pattern, &request.path)
            })
            .count()
    }

    /// How many logged requests were answered `304 Not Modified` (conditional GETs whose answer
    /// had not changed): counted apart because GitHub does not count them against the rate limit.
    pub fn not_modified_count(&self) -> usize {
        lock(&self.shared.log)
            .iter()
            .filter(|request| request.status == 304)
            .count()
    }

    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
    }
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("base_url", &self.shared.base_url)
            .field("root", &self.shared.root)
            .finish_non_exhaustive()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // One connection wakes the accept loop, which sees `stop` and returns, freeing the port.
        // Connections still open end when their clients close them.
        let woken = std::net::TcpStream::connect(self.address).is_ok();
        if let Some(acceptor) = self.acceptor.take().filter(|_| woken) {
            // An acceptor that panicked has nothing left to clean up. One that could not be
            // woken is left blocked rather than waited for forever; the process ends it.
            let _ = acceptor.join();
        }
    }
}

/// `(owner, name)` of every `<root>/<owner>/<name>.git` directory, sorted; `owner` may be a nested
/// group path (`group/sub`, GitLab).
fn existing_repos(root: &Path) -> Result<Vec<(String, String)>> {
    let mut found = Vec::new();
    collect_repos(root, "", &mut found, 0)?;
    found.sort();
    Ok(found)
}

/// Nested groups deeper than this are not adopted (GitLab allows 20 levels).
const MAX_GROUP_DEPTH: usize = 20;

fn collect_repos(
    dir: &Path,
    owner: &str,
    found: &mut Vec<(String, String)>,
    depth: usize,
) -> Result<()> {
    if depth > MAX_GROUP_DEPTH {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let file_name = entry.file_name().to_string_lossy().into_owned();
        match file_name.strip_suffix(".git") {
            Some(name) if !owner.is_empty() && entry.path().join("HEAD").exists() => {
                found.push((owner.to_owned(), name.to_owned()));
            }
            _ => {
                let nested = if owner.is_empty() {
                    file_name
                } else {
                    format!("{owner}/{file_name}")
                };
                collect_repos(&entry.path(), &nested, found, depth + 1)?;
            }
        }
    }
    Ok(())
}
