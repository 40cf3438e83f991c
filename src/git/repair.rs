//! What a damaged git cache looks like and what is done about it, before anything reads it: the
//! cache is only a cache, so damage inside a repository directory promoter owns is repaired with a
//! warning (stale lock files removed, anything else rebuilt by deleting the directory), while a
//! path promoter did not create (a plain file where a directory belongs) is left alone and fails
//! with an error naming it and the fix.
//!
//! Runs under the cache's OS lock (`GitCache::open`), so no other promoter run is inside the
//! directory: every git `*.lock` file found there was left by a run that was killed.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use git2::{Repository, RepositoryInitOptions};

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

/// The repository of the cache at `dir`: opened when sound, repaired (warnings say how) when
/// damaged, created when absent.
pub(super) fn open_or_rebuild(dir: &Path, warnings: &mut Vec<String>) -> Result<Repository> {
    if dir.exists() && !dir.is_dir() {
        // A file with the cache's name was written by someone else: promoter never writes one.
        bail!(
            "the git cache {} is not a directory; promoter did not create it and leaves it alone\n{}",
            dir.display(),
            fix(dir)
        );
    }
    if !dir.exists() {
        return init(dir);
    }
    let stale = remove_stale_locks(dir)?;
    if !stale.is_empty() {
        warnings.push(format!(
            "removed {} stale lock file(s) left in the git cache {} by an interrupted run: {}",
            stale.len(),
            dir.display(),
            stale
                .iter()
                .map(|path| path.strip_prefix(dir).unwrap_or(path).display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    match open_checked(dir) {
        Ok(repo) => Ok(repo),
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
            init(dir)
        }
    }
}

/// Deletes every git lock file (`*.lock`) in the repository directory, returning their paths.
fn remove_stale_locks(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    collect_locks(dir, &mut found)?;
    for lock in &found {
        fs::remove_file(lock).map_err(|e| {
            anyhow!(
                "removing the stale lock file {} from the git cache: {e}\n{}",
                lock.display(),
                fix(dir)
            )
        })?;
    }
    Ok(found)
}

/// `*.lock` files at the top of the repository (`packed-refs.lock`, `HEAD.lock`,
/// `config.lock`) and anywhere under `refs/`, where git writes them (gitrepository-layout).
fn collect_locks(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    let is_lock = |path: &Path| path.extension().is_some_and(|ext| ext == "lock");
    for entry in read_dir(dir)? {
        if entry.is_file() && is_lock(&entry) {
            found.push(entry);
        }
    }
    let mut pending = vec![dir.join("refs")];
    while let Some(next) = pending.pop() {
        if !next.is_dir() {
            continue;
        }
        for entry in read_dir(&next)? {
            if entry.is_dir() {
                pending.push(entry);
            } else if is_lock(&entry) {
                found.push(entry);
            }
        }
    }
    found.sort();
    Ok(())
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    fs::read_dir(dir)
        .with_context(|| format!("listing {} in the git cache", dir.display()))?
        .map(|entry| entry.map(|e| e.path()).map_err(anyhow::Error::from))
        .collect()
}

/// The repository at `dir` when every part promoter reads is sound; otherwise why not.
fn open_checked(dir: &Path) -> Result<Repository> {
    let repo = Repository::open_bare(dir)?;
    if !repo.is_bare() {
        bail!("not a bare repository");
    }
    repo.find_reference("HEAD")?;
    repo.odb()?;
    // libgit2's reference iterator skips loose refs it cannot parse (refdb_fs.c,
    // refdb_fs_backend__iterator_next), so every file under the private namespace is looked up
    // by name: an empty or garbled one is an error here instead of at the next write.
    let mut names = Vec::new();
    collect_ref_names(dir, "refs/promoter", &mut names)?;
    for name in names {
        repo.find_reference(&name)
            .with_context(|| format!("{name} is not a valid reference"))?;
    }
    // Packed ones too (a garbled `packed-refs` fails here).
    for reference in repo.references_glob("refs/promoter/*")? {
        let reference = reference?;
        let name = reference.name().unwrap_or("?").to_owned();
        let target = reference
            .target()
            .ok_or_else(|| anyhow!("{name} is not a direct ref"))?;
        repo.find_commit(target)
            .with_context(|| format!("{name} points at a missing commit"))?;
    }
    Ok(repo)
}

/// The names of the loose refs (files) under `name`, a directory of the repository.
fn collect_ref_names(dir: &Path, name: &str, names: &mut Vec<String>) -> Result<()> {
    let path = dir.join(name);
    if !path.is_dir() {
        return Ok(());
    }
    for entry in read_dir(&path)? {
        let file_name = entry
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let child = format!("{name}/{file_name}");
        if entry.is_dir() {
            collect_ref_names(dir, &child, names)?;
        } else {
            names.push(child);
        }
    }
    Ok(())
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
