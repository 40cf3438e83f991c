//! Every git operation of promoter, through git2 and never with a work tree: the cached bare
//! repository per repository URL (lock, corruption check), syncing the wanted refs with at most
//! one fetch, reading commits, `hydrator.metadata` files and notes, conflict detection, the ours
//! merge, and the non-forced push to a staging branch.
//!
//! No git2 type leaves this module: callers speak `Sha`, `BranchName` and `Secret`. Deciding
//! *what* to do (which environment to merge, when to resolve a conflict) is not done here.
//!
//! The cache keeps the remote's branches in a private namespace
//! (`refs/promoter/remote/heads/<branch>`, `refs/promoter/remote/notes/hydrator.metadata`), so
//! nothing a user might expect under `refs/heads` or `refs/remotes` is touched, and a fetch is
//! always forced into it: hydrators may rewrite staging branches.
//!
//! Decisions where the spec is silent:
//! - A second run on the same cache waits for the first one's lock rather than failing.
//! - A cache that cannot be opened, has an empty or garbled private ref, or whose private refs
//!   point at missing objects, is deleted and recreated; lock files a killed run left are
//!   removed; the caller gets a warning to print. A plain file where the cache belongs is not
//!   promoter's to delete: an error names it and the fix (`repair.rs`).
//! - Transient transport failures are retried within the run's wait budget (`transport.rs`).
//! - Unrelated histories (no merge base) count as a conflict: the ours merge (two parents,
//!   staging's tree) is exactly how upstream joins them, and it makes the PR mergeable.
//! - A malformed non-empty `date` in `hydrator.metadata` is an error (only empty/absent is
//!   "unknown"), so a hydrator bug is seen rather than hidden.
//! - libgit2 reads the system and global git config (it cannot be told not to without unsafe
//!   code); nothing promoter does depends on it except `url.<base>.insteadOf`, which users expect
//!   to apply. `http.*` settings do not apply: git's HTTP is promoter's own (`git/http.rs`), with the
//!   SCM API's proxy variables and trust store.

mod gate_commit;
mod http;
mod location;
mod merge;
mod metadata;
mod remote_tip;
mod repair;
mod transport;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use git2::{ErrorCode, Oid, Repository};
use time::OffsetDateTime;

pub(crate) use location::{RemoteUrl, cache_dir};
pub(crate) use merge::OursMerge;
pub(crate) use metadata::{
    HydratorMetadata, METADATA_FILE, NOTES_REF, NoteMetadata, parse_trailers,
};
pub use metadata::{parse_metadata, parse_note};
pub(crate) use transport::{BranchMoved, GitCredentials, TokenRefresh, TransportRetry};

use crate::model::{BranchName, Sha};
use crate::tls::Trust;

/// Whether libgit2 accepts `name` as a branch name (`refs/heads/<name>` a valid reference, not
/// `HEAD`). Config validation uses it as the reference its own, better-worded rules must agree with.
pub(crate) fn is_valid_branch_name(name: &str) -> bool {
    git2::Branch::name_is_valid(name).unwrap_or(false)
}

const PRIVATE_HEADS: &str = "refs/promoter/remote/heads/";
const PRIVATE_NOTES: &str = "refs/promoter/remote/notes/hydrator.metadata";

/// What one `sync` did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SyncReport {
    /// Whether a fetch ran (false when no wanted ref moved since the cache last saw them).
    pub fetched: bool,
    pub received_objects: usize,
    pub received_bytes: usize,
    /// Wanted branches the remote does not have, in the order asked.
    pub missing: Vec<BranchName>,
}

/// How far a running fetch is, from libgit2's transfer-progress callback (called many times a
/// second while the pack arrives; the receiver decides how often to draw).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct FetchProgress {
    pub received_objects: usize,
    /// 0 until the remote has sent the pack header.
    pub total_objects: usize,
    pub indexed_objects: usize,
    pub received_bytes: usize,
}

/// A commit as people see it: the hydrated state of a branch tip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CommitInfo {
    pub sha: Sha,
    /// `Name <email>`.
    pub author: String,
    pub committer_time: OffsetDateTime,
    pub subject: String,
    pub body: String,
    pub parents: Vec<Sha>,
}

/// Why `hydrator.metadata` could not be read. `Missing` is an error for a staging tip but
/// "never promoted" for a live tip, so callers branch on it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MetadataError {
    #[error("no `{path}` in {branch} at {}: the hydrator did not write it", commit.short())]
    Missing {
        branch: BranchName,
        commit: Sha,
        path: String,
    },
    #[error("`{path}` in {branch} at {} is invalid: {reason}", commit.short())]
    Invalid {
        branch: BranchName,
        commit: Sha,
        path: String,
        reason: String,
    },
    #[error("reading `{path}` in {branch} at {}: {reason}", commit.short())]
    Read {
        branch: BranchName,
        commit: Sha,
        path: String,
        reason: String,
    },
}

/// The cached bare repository of one remote, locked for as long as this value lives.
pub(crate) struct GitCache {
    repo: Repository,
    url: RemoteUrl,
    credentials: Option<GitCredentials>,
    token_refresh: Option<TokenRefresh>,
    retry: Option<TransportRetry>,
    /// Transient failures tried again since [`GitCache::take_retried`] was last called.
    retried: Vec<String>,
    trust: std::sync::Arc<Trust>,
    dir: PathBuf,
    _lock: File,
    fetches: u32,
    /// The private refs (`refs/promoter/…` → commit) as the cache was opened with them and as
    /// this value has written them since. libgit2 opens and reads a loose ref's file on every
    /// lookup (refdb_fs.c `loose_lookup`), so looking refs up one by one costs thousands of file
    /// reads a pass at 1,000 environments (docs/performance.md).
    known: repair::PrivateRefs,
    /// `hydrator.metadata` files read so far, by blob id. A hydrator writes the same file into
    /// every environment it renders from one DRY commit, and a merged live tip has its staging
    /// tip's tree, so a pass over N settled environments reads one blob instead of 2N.
    metadata: std::cell::RefCell<std::collections::HashMap<Oid, HydratorMetadata>>,
    /// Whether this run wrote a private ref (sync, refresh after a merge, push): the refs are
    /// packed when the cache is closed.
    refs_written: bool,
}

impl Drop for GitCache {
    /// One `packed-refs` file instead of a file per ref: the next run opens the cache by reading
    /// it once (`repair::open_or_rebuild`) instead of 2N loose files. libgit2 packs every loose
    /// ref and deletes the files (refdb_fs.c `refdb_fs_backend__compress`, as `git pack-refs
    /// --all`), still under the cache's lock (fields drop after this). Once per run, and only
    /// after a run that wrote a ref: a steady pass writes nothing. A failure leaves the refs
    /// loose, which is just as valid.
    fn drop(&mut self) {
        if self.refs_written {
            let _ = self.repo.refdb_compress();
        }
    }
}

impl fmt::Debug for GitCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitCache")
            .field("url", &self.url.shown())
            .field("dir", &self.dir)
            .field("fetches", &self.fetches)
            .finish_non_exhaustive()
    }
}

impl GitCache {
    /// Opens (or creates) the cache of `url` under `root`, waiting for any other promoter run
    /// using it. Returns warnings to show (waited for a lock, rebuilt a broken cache).
    ///
    /// The lock is an OS file lock held until this value is dropped; a second `open` of the same
    /// URL and root in the same process waits for the first value to be dropped, so open each
    /// repository once per run.
    pub(crate) fn open(
        root: &Path,
        url: &str,
        credentials: Option<GitCredentials>,
    ) -> Result<(Self, Vec<String>)> {
        let url = RemoteUrl::parse(url)?;
        let mut warnings = Vec::new();
        repair::create_root(root)?;
        let name = url.cache_dir_name();
        let dir = root.join(&name);
        let lock = lock(&root.join(format!("{name}.lock")), &mut warnings)?;
        let (repo, private_refs) = repair::open_or_rebuild(&dir, &mut warnings)?;
        let cache = Self {
            repo,
            url,
            credentials,
            token_refresh: None,
            retry: None,
            retried: Vec::new(),
            trust: Trust::new(None),
            dir,
            _lock: lock,
            fetches: 0,
            known: private_refs,
            metadata: std::cell::RefCell::default(),
            refs_written: false,
        };
        Ok((cache, warnings))
    }

    /// Asks `refresh` for the token before every transfer from now on (the credentials given to
    /// [`GitCache::open`] keep their user name). For tokens that expire during a run.
    pub(crate) fn set_token_refresh(&mut self, refresh: TokenRefresh) {
        self.token_refresh = Some(refresh);
    }

    /// Retries transient transport failures from now on (by default every transfer is tried once).
    pub(crate) fn set_retry(&mut self, retry: TransportRetry) {
        self.retry = Some(retry);
    }

    /// The transient failures tried again since the last call, as error texts, for a log.
    pub(crate) fn take_retried(&mut self) -> Vec<String> {
        std::mem::take(&mut self.retried)
    }

    /// The roots `https://` remotes are checked against (the platform's alone until set); share
    /// the run's [`Trust`] with the SCM client so both load them at most once.
    pub(crate) fn set_trust(&mut self, trust: std::sync::Arc<Trust>) {
        self.trust = trust;
    }

    /// Replaces the token with a fresh one from the refresher, when one is set.
    fn refresh_token(&mut self) -> Result<()> {
        if let (Some(refresh), Some(credentials)) = (&self.token_refresh, &mut self.credentials) {
            credentials.token = refresh().context("getting a fresh token for git")?;
        }
        Ok(())
    }

    /// The remote's URL without credentials, for messages.
    pub(crate) fn url(&self) -> &str {
        self.url.shown()
    }

    /// The cache's directory on disk.
    #[cfg(test)]
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many fetches this value has run (a sync with nothing moved runs none).
    #[cfg(test)]
    pub(crate) fn fetches(&self) -> u32 {
        self.fetches
    }

    /// Brings the wanted branches and `refs/notes/hydrator.metadata` up to date: one ref
    /// listing, and one forced fetch only if some wanted ref moved to a commit not in the cache.
    #[cfg(test)]
    pub(crate) fn sync(&mut self, wanted: &[BranchName]) -> Result<SyncReport> {
        self.sync_refs(wanted, true, None)
    }

    /// Brings the wanted branches and the notes up to date (`GitCache::sync` in tests), telling
    /// `on_progress` how the fetch (if one runs) progresses.
    pub(crate) fn sync_with_progress(
        &mut self,
        wanted: &[BranchName],
        on_progress: &mut dyn FnMut(&FetchProgress),
    ) -> Result<SyncReport> {
        self.sync_refs(wanted, true, Some(on_progress))
    }

    /// Re-reads one branch (after a merge by the SCM): one listing, a fetch only if it moved.
    pub(crate) fn refresh(&mut self, branch: &BranchName) -> Result<Option<Sha>> {
        self.sync_refs(std::slice::from_ref(branch), false, None)?;
        Ok(self.tip(branch))
    }

    fn sync_refs(
        &mut self,
        wanted: &[BranchName],
        with_notes: bool,
        on_progress: Option<&mut dyn FnMut(&FetchProgress)>,
    ) -> Result<SyncReport> {
        self.refresh_token()?;
        // remote ref -> private ref in the cache
        let mut pairs: BTreeMap<String, String> = wanted
            .iter()
            .map(|branch| (branch.full_ref(), private_ref(branch)))
            .collect();
        if with_notes {
            pairs.insert(NOTES_REF.to_owned(), PRIVATE_NOTES.to_owned());
        }
        let repo = &self.repo;
        let has_commit = |oid: Oid| repo.find_commit(oid).is_ok();
        let refspecs_for =
            |heads: &BTreeMap<String, Oid>| fetch_refspecs(&pairs, heads, &has_commit);
        let _session = http::Session::begin(self.credentials.as_ref(), &self.trust);
        let mut on_progress = on_progress;
        let listing = transport::retrying(self.retry.as_ref(), &mut self.retried, || {
            transport::list_and_fetch(
                repo,
                &self.url,
                self.credentials.as_ref(),
                &refspecs_for,
                on_progress.as_deref_mut(),
            )
        })?;
        // The fetch (if any) brought objects, not refs: every wanted ref is written here, to the
        // listed commit. Refs whose commit was already here (e.g. promoter pushed it) move
        // without a fetch; refs gone from the remote are dropped so a deleted branch reads as
        // missing.
        let known = &mut self.known;
        let mut wrote = false;
        for (remote, local) in &pairs {
            match listing.heads.get(remote) {
                // A ref already at the listed commit is not written again: libgit2 would take a
                // lock file and rename it even for the same value, so a steady pass writes nothing.
                Some(oid) if known.get(local) == Some(oid) => {}
                Some(oid) => {
                    self.repo
                        .reference(local, *oid, true, "promoter: sync")
                        .map_err(|e| {
                            repair::damaged(&self.dir, &format!("recording {remote}"), &e)
                        })?;
                    known.insert(local.clone(), *oid);
                    wrote = true;
                }
                None if known.contains_key(local) => {
                    match self.repo.find_reference(local) {
                        Ok(mut stale) => stale.delete().map_err(|e| {
                            repair::damaged(&self.dir, &format!("forgetting {remote}"), &e)
                        })?,
                        Err(e) if e.code() == ErrorCode::NotFound => {}
                        Err(e) => {
                            return Err(repair::damaged(
                                &self.dir,
                                &format!("reading {local}"),
                                &e,
                            ));
                        }
                    }
                    known.remove(local);
                    wrote = true;
                }
                None => {}
            }
        }
        self.refs_written |= wrote;
        let mut report = SyncReport::default();
        if let Some(stats) = listing.fetched {
            self.fetches += 1;
            report.fetched = true;
            report.received_objects = stats.received_objects;
            report.received_bytes = stats.received_bytes;
        }
        let mut seen = BTreeSet::new();
        report.missing = wanted
            .iter()
            .filter(|branch| !listing.heads.contains_key(&branch.full_ref()))
            .filter(|branch| seen.insert((*branch).clone()))
            .cloned()
            .collect();
        Ok(report)
    }

    /// The tip of `branch` as of the last sync, `None` if the remote does not have it.
    pub(crate) fn tip(&self, branch: &BranchName) -> Option<Sha> {
        self.private_ref(&private_ref(branch)).map(sha)
    }

    /// A private ref's commit, as opened or written since.
    fn private_ref(&self, name: &str) -> Option<Oid> {
        self.known.get(name).copied()
    }

    /// The tip of a live branch, or an error naming it.
    pub(crate) fn live_tip(&self, branch: &BranchName) -> Result<Sha> {
        self.tip(branch).ok_or_else(|| {
            anyhow!(
                "live branch {branch} does not exist in {}\n\
                 hint: check `environments[].branch` in promotion.yaml; promoter never creates live branches",
                self.url()
            )
        })
    }

    /// The tip of a staging branch, or an error naming it and saying the hydrator has not
    /// pushed it.
    pub(crate) fn staging_tip(&self, branch: &BranchName) -> Result<Sha> {
        self.tip(branch).ok_or_else(|| {
            anyhow!(
                "staging branch {branch} does not exist in {}: the hydrator has not pushed it yet\n\
                 hint: run the hydrator for this environment, or set `stagingBranch`; promoter never creates staging branches",
                self.url()
            )
        })
    }

    /// `hydrator.metadata` of `commit`, at the root or at `<active_path>/hydrator.metadata`.
    /// `branch` only names where the commit came from in messages.
    pub(crate) fn hydrator_metadata(
        &self,
        commit: &Sha,
        active_path: Option<&str>,
        branch: &BranchName,
    ) -> Result<HydratorMetadata, MetadataError> {
        let path = match active_path.map(|p| p.trim_matches('/')) {
            Some(dir) if !dir.is_empty() => format!("{dir}/{METADATA_FILE}"),
            _ => METADATA_FILE.to_owned(),
        };
        let read_error = |reason: String| MetadataError::Read {
            branch: branch.clone(),
            commit: commit.clone(),
            path: path.clone(),
            reason,
        };
        let tree = self
            .commit(commit)
            .and_then(|c| c.tree().map_err(anyhow::Error::from))
            .map_err(|e| read_error(format!("{e:#}")))?;
        let entry = match tree.get_path(Path::new(&path)) {
            Ok(entry) => entry,
            Err(e) if e.code() == ErrorCode::NotFound => {
                return Err(MetadataError::Missing {
                    branch: branch.clone(),
                    commit: commit.clone(),
                    path,
                });
            }
            Err(e) => return Err(read_error(e.message().to_owned())),
        };
        let invalid = |reason: String| MetadataError::Invalid {
            branch: branch.clone(),
            commit: commit.clone(),
            path: path.clone(),
            reason,
        };
        if let Some(known) = self.metadata.borrow().get(&entry.id()) {
            return Ok(known.clone());
        }
        let blob = entry
            .to_object(&self.repo)
            .map_err(|e| read_error(e.message().to_owned()))?
            .into_blob()
            .map_err(|_| invalid("it is a directory, not a file".into()))?;
        let parsed = parse_metadata(blob.content()).map_err(invalid)?;
        self.metadata
            .borrow_mut()
            .insert(entry.id(), parsed.clone());
        Ok(parsed)
    }

    /// The note on `commit` in `refs/notes/hydrator.metadata`, if any.
    pub(crate) fn note(&self, commit: &Sha) -> Result<Option<NoteMetadata>> {
        let oid = oid(commit)?;
        let found = match self.private_ref(PRIVATE_NOTES) {
            // No notes ref: no note, and no lookup by name to find that out.
            None => return Ok(None),
            Some(notes) => self.note_blob(notes, oid),
        };
        match found.and_then(|blob| self.repo.find_blob(blob)) {
            Ok(note) => parse_note(note.content()).map(Some).map_err(|why| {
                anyhow!(
                    "the {NOTES_REF} note on commit {} is invalid: {why}",
                    commit.short()
                )
            }),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(e).context(format!(
                "reading the {NOTES_REF} note on {}",
                commit.short()
            )),
        }
    }

    /// The committer time of `commit` (for a merged promotion: the merge time).
    pub(crate) fn committer_time(&self, commit: &Sha) -> Result<OffsetDateTime> {
        let found = self.commit(commit)?;
        to_time(found.committer().when())
            .with_context(|| format!("reading the committer time of {}", commit.short()))
    }

    /// Author, committer time, subject, body and parents of `commit`.
    pub(crate) fn commit_info(&self, commit: &Sha) -> Result<CommitInfo> {
        let found = self.commit(commit)?;
        let author = found.author();
        let message = String::from_utf8_lossy(found.message_bytes()).into_owned();
        let (subject, body) = match message.split_once('\n') {
            Some((subject, body)) => (subject.trim().to_owned(), body.trim().to_owned()),
            None => (message.trim().to_owned(), String::new()),
        };
        Ok(CommitInfo {
            sha: commit.clone(),
            author: format!(
                "{} <{}>",
                String::from_utf8_lossy(author.name_bytes()),
                String::from_utf8_lossy(author.email_bytes())
            ),
            committer_time: to_time(found.committer().when())?,
            subject,
            body,
            parents: found.parent_ids().map(sha).collect(),
        })
    }

    /// The trailer block of `commit`'s message (`Sha-dry-active`, `Pull-request-id`, ...).
    pub(crate) fn trailers(&self, commit: &Sha) -> Result<BTreeMap<String, String>> {
        let found = self.commit(commit)?;
        Ok(parse_trailers(&String::from_utf8_lossy(
            found.message_bytes(),
        )))
    }

    /// Up to `limit` commits from `commit` following first parents, newest first.
    pub(crate) fn first_parents(&self, commit: &Sha, limit: usize) -> Result<Vec<Sha>> {
        let mut shas = Vec::new();
        let mut next = Some(self.commit(commit)?);
        while let Some(current) = next.take() {
            if shas.len() == limit {
                break;
            }
            shas.push(sha(current.id()));
            next = current.parents().next();
        }
        Ok(shas)
    }

    /// Pushes `commit` (made by `ours_merge`) to `branch`, without force and only if the remote
    /// branch is still at `expected_old`; otherwise fails with [`BranchMoved`].
    pub(crate) fn push_branch(
        &mut self,
        commit: &Sha,
        branch: &BranchName,
        expected_old: &Sha,
    ) -> Result<()> {
        self.refresh_token()?;
        let _session = http::Session::begin(self.credentials.as_ref(), &self.trust);
        let (commit_id, old_id) = (oid(commit)?, oid(expected_old)?);
        transport::retrying(self.retry.as_ref(), &mut self.retried, || {
            transport::push(
                &self.repo,
                &self.url,
                self.credentials.as_ref(),
                commit_id,
                branch,
                old_id,
            )
        })?;
        // The remote now has `commit`; recording it means the next sync needs no fetch for it.
        let (name, commit) = (private_ref(branch), oid(commit)?);
        self.repo
            .reference(&name, commit, true, "promoter: push")
            .map_err(|e| {
                repair::damaged(&self.dir, &format!("recording the push to {branch}"), &e)
            })?;
        self.known.insert(name, commit);
        self.refs_written = true;
        Ok(())
    }

    /// The note blob on `target` in the notes commit `notes`. A notes tree names each note by
    /// the hex of the object it annotates, either whole or split into two-digit directories
    /// ("fanout", which git uses once a notes tree grows: `ab/cdef…`, `ab/cd/ef…`), possibly
    /// both in one tree (git notes.c `load_subtree`; `git help notes`, "NOTES"). Read from the
    /// commit the pass already knows, instead of libgit2's `git_note_read`, which resolves the
    /// notes ref by name again for every note.
    fn note_blob(&self, notes: Oid, target: Oid) -> Result<Oid, git2::Error> {
        let mut tree = self.repo.find_commit(notes)?.tree()?;
        let hex = target.to_string();
        let mut rest = hex.as_str();
        loop {
            if let Some(entry) = tree.get_name(rest) {
                return Ok(entry.id());
            }
            let fanout = (rest.len() > 2)
                .then(|| tree.get_name(&rest[..2]))
                .flatten()
                .filter(|entry| entry.kind() == Some(git2::ObjectType::Tree))
                .map(|entry| entry.id());
            match fanout {
                Some(subtree) => {
                    tree = self.repo.find_tree(subtree)?;
                    rest = &rest[2..];
                }
                None => {
                    return Err(git2::Error::new(
                        ErrorCode::NotFound,
                        git2::ErrorClass::Reference,
                        format!("no note on {hex}"),
                    ));
                }
            }
        }
    }

    fn commit(&self, commit: &Sha) -> Result<git2::Commit<'_>> {
        self.repo
            .find_commit(oid(commit)?)
            .with_context(|| format!("reading commit {} from the git cache", commit.short()))
    }
}

/// The refspecs of a fetch bringing the wanted refs (`pairs`: remote ref -> private ref) that
/// moved to a commit the cache lacks; none when nothing did. Only wanted refs are fetched.
/// A wildcard also names the wanted refs of its directory that did not move: the fetch
/// transfers nothing for them (the fetch only downloads; `sync` writes the refs).
///
/// libgit2 matches every advertised ref against every refspec to choose what to download
/// (fetch.c `filter_wants`), so one exact refspec per wanted ref is quadratic in the number of
/// environments. Wanted branches are grouped by directory instead: a directory whose advertised
/// branches are all wanted (`refs/heads/environment/*` in the usual layout) becomes one wildcard
/// refspec, which names exactly the same refs; any other wanted ref keeps an exact refspec.
fn fetch_refspecs(
    pairs: &BTreeMap<String, String>,
    heads: &BTreeMap<String, Oid>,
    has_commit: &dyn Fn(Oid) -> bool,
) -> Vec<String> {
    // Whether every advertised branch of a directory is wanted, once per directory (asked for
    // every wanted ref, it would walk the directory N times).
    let all_in = |dir: &str| {
        heads
            .range(dir.to_owned()..)
            .take_while(|(name, _)| name.starts_with(dir))
            .all(|(name, _)| pairs.contains_key(name))
    };
    let mut answers: BTreeMap<&str, bool> = BTreeMap::new();
    let mut wildcards = BTreeSet::new();
    let mut refspecs = Vec::new();
    let needed = pairs
        .iter()
        .filter(|(remote, _)| heads.get(*remote).is_some_and(|oid| !has_commit(*oid)));
    for (remote, local) in needed {
        let dir = remote.rfind('/').map(|end| &remote[..=end]);
        match dir.and_then(|dir| Some((dir, dir.strip_prefix("refs/heads/")?))) {
            Some((dir, branch_dir)) if *answers.entry(dir).or_insert_with(|| all_in(dir)) => {
                // `*` in a refspec matches across `/` too (refspec.c: wildmatch without
                // WM_PATHNAME), as the prefix test above does.
                if wildcards.insert(dir) {
                    refspecs.push(format!("+{dir}*:{PRIVATE_HEADS}{branch_dir}*"));
                }
            }
            _ => refspecs.push(format!("+{remote}:{local}")),
        }
    }
    refspecs
}

fn private_ref(branch: &BranchName) -> String {
    format!("{PRIVATE_HEADS}{branch}")
}

fn sha(oid: Oid) -> Sha {
    Sha::parse(&oid.to_string()).expect("git object ids are 40 or 64 hex digits")
}

fn oid(sha: &Sha) -> Result<Oid> {
    Oid::from_str(sha.as_str()).with_context(|| format!("using {sha} as a git object id"))
}

fn to_time(when: git2::Time) -> Result<OffsetDateTime> {
    let offset = time::UtcOffset::from_whole_seconds(when.offset_minutes() * 60)?;
    Ok(OffsetDateTime::from_unix_timestamp(when.seconds())?.to_offset(offset))
}

fn lock(path: &Path, warnings: &mut Vec<String>) -> Result<File> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening the git cache lock {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            warnings.push(format!(
                "waited for another promoter run holding the git cache lock {}",
                path.display()
            ));
            file.lock()
                .with_context(|| format!("locking the git cache {}", path.display()))?;
        }
        Err(TryLockError::Error(e)) => {
            return Err(e).context(format!("locking the git cache {}", path.display()));
        }
    }
    Ok(file)
}
