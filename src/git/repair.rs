//! What a damaged git cache looks like and what is done about it, before anything reads it: the
//! cache is only a cache, so damage inside a repository directory promoter owns is repaired with a
//! warning (stale lock files removed, anything else rebuilt by deleting the directory), while a
//! path promoter did not create (a plain file where a directory belongs) is left alone and fails
//! with an error naming it and the fix.
//!
//! Runs under the cache's OS lock (`GitCache::open`), so no other promoter run is inside the
//! directory: every git `*.lock` file found there was left by a run that was killed.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use git2::{Oid, Repository, RepositoryInitOptions};

/// The hint of every cache error that needs a person.
fn fix(path: &Path) -> String {
    format!(
        "hint: remove {} (the git cache is only a cache; promoter rebuilds it), or point \
         --cache-dir / PROMOTER_CACHE_DIR at another directory",
        path.display()
    )
}

/// An error of the cache found after it was opened (a write refused by damage the checks did not
/// foresee): what was being done, in which cache directory, and how to get out of it.
pub(super) fn damaged(dir: &Path, doing: &str, error: &git2::Error) -> anyhow::Error {
    anyhow!(
        "{doing} in the git cache {}: {}\n{}",
        dir.display(),
        error.message(),
        fix(dir)
    )
}

/// Creates the cache root. A root that exists but is not a directory is not promoter's to delete.
pub(super) fn create_root(root: &Path) -> Result<()> {
    if root.exists() && !root.is_dir() {
        bail!(
            "the git cache directory {} is not a directory\n{}",
            root.display(),
            fix(root)
        );
    }
    fs::create_dir_all(root).map_err(|e| {
        anyhow!(
            "creating the git cache directory {}: {e}\n{}",
            root.display(),
            fix(root)
        )
    })
}

/// The refs under `refs/promoter/` (full name → commit), as [`open_or_rebuild`] read them.
pub(super) type PrivateRefs = BTreeMap<String, Oid>;

/// The repository of the cache at `dir` and its private refs: opened when sound, repaired
/// (warnings say how) when damaged, created when absent.
///
/// A steady pass at 1,000 environments finds 2,000 private refs here, so the checks read each
/// ref file once and stat nothing (file types come from the directory listing): the refs read
/// are the ones the pass then uses, without looking them up again (docs/performance.md).
pub(super) fn open_or_rebuild(
    dir: &Path,
    warnings: &mut Vec<String>,
) -> Result<(Repository, PrivateRefs)> {
    if dir.exists() && !dir.is_dir() {
        // A file with the cache's name was written by someone else: promoter never writes one.
        bail!(
            "the git cache {} is not a directory; promoter did not create it and leaves it alone\n{}",
            dir.display(),
            fix(dir)
        );
    }
    if !dir.exists() {
        return Ok((init(dir)?, PrivateRefs::new()));
    }
    let walk = walk(dir)?;
    if !walk.locks.is_empty() {
        for lock in &walk.locks {
            fs::remove_file(lock).map_err(|e| {
                anyhow!(
                    "removing the stale lock file {} from the git cache: {e}\n{}",
                    lock.display(),
                    fix(dir)
                )
            })?;
        }
        warnings.push(format!(
            "removed {} stale lock file(s) left in the git cache {} by an interrupted run: {}",
            walk.locks.len(),
            dir.display(),
            walk.locks
                .iter()
                .map(|path| path.strip_prefix(dir).unwrap_or(path).display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    match open_checked(dir, &walk.loose) {
        Ok(opened) => Ok(opened),
        Err(why) => {
            warnings.push(format!(
                "the git cache {} was unreadable ({why:#}); rebuilding it",
                dir.display()
            ));
            fs::remove_dir_all(dir).map_err(|e| {
                anyhow!(
                    "removing the broken git cache {}: {e}\n{}",
                    dir.display(),
                    fix(dir)
                )
            })?;
            Ok((init(dir)?, PrivateRefs::new()))
        }
    }
}

/// What one walk of the repository directory found.
struct Walk {
    /// Git lock files (`*.lock`) at the top of the repository (`packed-refs.lock`, `HEAD.lock`,
    /// `config.lock`) and anywhere under `refs/`, where git writes them (gitrepository-layout):
    /// left by a killed run, since the cache's OS lock is held.
    locks: Vec<PathBuf>,
    /// The loose refs under `refs/promoter/`: (full name, file).
    loose: Vec<(String, PathBuf)>,
}

fn walk(dir: &Path) -> Result<Walk> {
    let is_lock = |name: &str| name.ends_with(".lock");
    let mut found = Walk {
        locks: Vec::new(),
        loose: Vec::new(),
    };
    for (name, path, is_dir) in read_dir(dir)? {
        if !is_dir && is_lock(&name) {
            found.locks.push(path);
        }
    }
    let mut pending = vec![("refs".to_owned(), dir.join("refs"))];
    while let Some((ref_dir, next)) = pending.pop() {
        let entries = match read_dir(&next) {
            Ok(entries) => entries,
            Err(_) if !next.is_dir() => continue,
            Err(e) => return Err(e),
        };
        for (name, path, is_dir) in entries {
            let full = format!("{ref_dir}/{name}");
            if is_dir {
                pending.push((full, path));
            } else if is_lock(&name) {
                found.locks.push(path);
            } else if full.starts_with("refs/promoter/") {
                found.loose.push((full, path));
            }
        }
    }
    found.locks.sort();
    Ok(found)
}

/// The entries of `dir`: name, path, and whether it is a directory, from the listing itself
/// (`d_type`; a file system that does not report it costs one `lstat`, as std does).
fn read_dir(dir: &Path) -> Result<Vec<(String, PathBuf, bool)>> {
    let listing = || format!("listing {} in the git cache", dir.display());
    fs::read_dir(dir)
        .with_context(listing)?
        .map(|entry| {
            let entry = entry.with_context(listing)?;
            let is_dir = entry.file_type().with_context(listing)?.is_dir();
            Ok((
                entry.file_name().to_string_lossy().into_owned(),
                entry.path(),
                is_dir,
            ))
        })
        .collect()
}

/// The repository at `dir` and its private refs when every part promoter reads is sound;
/// otherwise why not.
fn open_checked(dir: &Path, loose: &[(String, PathBuf)]) -> Result<(Repository, PrivateRefs)> {
    let repo = Repository::open_bare(dir)?;
    if !repo.is_bare() {
        bail!("not a bare repository");
    }
    repo.find_reference("HEAD")?;
    let odb = repo.odb()?;
    // libgit2's reference iterator skips loose refs it cannot parse (refdb_fs.c,
    // refdb_fs_backend__iterator_next), so every file under the private namespace is read here:
    // an empty or garbled one is an error now instead of at the next write. promoter writes only
    // direct refs there: a whole object id, then a newline (gitrepository-layout, "refs").
    let mut refs = PrivateRefs::new();
    for (name, path) in loose {
        let text = fs::read_to_string(path).with_context(|| format!("reading {name}"))?;
        let hex = text.trim_end();
        let target = Some(hex)
            .filter(|hex| matches!(hex.len(), 40 | 64))
            .and_then(|hex| Oid::from_str(hex).ok())
            .ok_or_else(|| anyhow!("{name} is not a valid reference"))?;
        refs.insert(name.clone(), target);
    }
    // Packed ones too (a garbled `packed-refs` fails here); a loose ref overrides its packed
    // entry. Only when there is a `packed-refs` (git gc writes one; promoter never does), since
    // libgit2's iterator reads every loose ref again.
    if dir.join("packed-refs").exists() {
        for reference in repo.references_glob("refs/promoter/*")? {
            let reference = reference?;
            let name = reference.name().unwrap_or("?").to_owned();
            let target = reference
                .target()
                .ok_or_else(|| anyhow!("{name} is not a direct ref"))?;
            refs.entry(name).or_insert(target);
        }
    }
    // Whether the object is there, from the pack index alone (reading each commit would inflate
    // 2,000 objects a pass).
    for (name, target) in &refs {
        if !odb.exists(*target) {
            bail!("{name} points at a missing commit");
        }
    }
    drop(odb);
    Ok((repo, refs))
}

fn init(dir: &Path) -> Result<Repository> {
    let mut options = RepositoryInitOptions::new();
    options.bare(true).mkdir(true).mkpath(true);
    Repository::init_opts(dir, &options).map_err(|e| {
        anyhow!(
            "creating the git cache {}: {}\n{}",
            dir.display(),
            e.message(),
            fix(dir)
        )
    })
}
