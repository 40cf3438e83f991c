//! The cache and `sync`: what is fetched, when nothing is, missing branches, locking, repair.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use super::*;

fn dev_branches() -> Vec<BranchName> {
    vec![branch("environment/dev"), branch("environment/dev-next")]
}

#[test]
fn missing_branches_are_reported_and_name_the_branch() {
    let origin = Origin::new();
    dev_environment(&origin);
    let mut cache = origin.open_cache();
    let mut wanted = dev_branches();
    wanted.push(branch("environment/qa"));
    wanted.push(branch("environment/qa-next"));

    let report = cache.sync(&wanted).unwrap();

    assert_eq!(
        report.missing,
        vec![branch("environment/qa"), branch("environment/qa-next")]
    );
    let live = cache.live_tip(&branch("environment/qa")).unwrap_err();
    assert!(
        format!("{live:#}").contains("live branch environment/qa does not exist"),
        "{live:#}"
    );
    let staging = cache
        .staging_tip(&branch("environment/qa-next"))
        .unwrap_err();
    let staging = format!("{staging:#}");
    assert!(
        staging.contains("staging branch environment/qa-next does not exist"),
        "{staging}"
    );
    assert!(
        staging.contains("the hydrator has not pushed it"),
        "{staging}"
    );
    // The environment that exists is usable: one failure does not spoil the others.
    assert_eq!(
        cache.live_tip(&branch("environment/dev")).unwrap(),
        to_sha(origin.tip("environment/dev"))
    );
}

#[test]
fn a_second_sync_with_nothing_moved_fetches_nothing() {
    let origin = Origin::new();
    let (_, staging) = dev_environment(&origin);
    origin.note(staging, &format!(r#"{{"drySha":"{DRY_A}"}}"#));
    {
        let mut cache = origin.open_cache();
        let first = cache.sync(&dev_branches()).unwrap();
        assert!(first.fetched);
        assert!(first.received_objects > 0);
        assert_eq!(cache.fetches(), 1);
    }
    // A later run (a new process) on the same cache.
    let mut cache = origin.open_cache();
    let again = cache.sync(&dev_branches()).unwrap();
    assert!(!again.fetched, "{again:?}");
    assert_eq!(again.received_objects, 0);
    assert_eq!(cache.fetches(), 0);
    assert!(cache.note(&to_sha(staging)).unwrap().is_some());

    // The hydrator pushes: exactly one fetch brings the new tip.
    let newer = origin.commit(
        "environment/dev-next",
        &[("hydrator.metadata", Some(&metadata(DRY_B)))],
        "hydrate b",
    );
    let moved = cache.sync(&dev_branches()).unwrap();
    assert!(moved.fetched);
    assert_eq!(cache.fetches(), 1);
    assert_eq!(
        cache.tip(&branch("environment/dev-next")),
        Some(to_sha(newer))
    );

    // Only the note moved: that is a change too.
    origin.note(newer, &format!(r#"{{"drySha":"{DRY_B}"}}"#));
    assert!(cache.sync(&dev_branches()).unwrap().fetched);
    assert_eq!(
        cache
            .note(&to_sha(newer))
            .unwrap()
            .unwrap()
            .dry_sha
            .as_str(),
        DRY_B
    );
    assert!(!cache.sync(&dev_branches()).unwrap().fetched);
    assert_eq!(cache.fetches(), 2);
}

/// Every file under `dir` with what changes when it is written or replaced (a ref update takes a
/// lock file and renames it: a new inode and modification time).
fn files_under(dir: &Path) -> BTreeMap<PathBuf, (u64, std::time::SystemTime, u64)> {
    use std::os::unix::fs::MetadataExt as _;
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                pending.push(entry.path());
            }
            files.insert(
                entry.path(),
                (meta.ino(), meta.modified().unwrap(), meta.len()),
            );
        }
    }
    files
}

#[test]
fn a_steady_sync_writes_nothing_in_the_cache() {
    let origin = Origin::new();
    let (_, staging) = dev_environment(&origin);
    origin.note(staging, &format!(r#"{{"drySha":"{DRY_A}"}}"#));
    let root = {
        let mut cache = origin.open_cache();
        assert!(cache.sync(&dev_branches()).unwrap().fetched);
        cache.dir().parent().unwrap().to_path_buf()
    };
    let before = files_under(&root);

    // A later run: opening, listing and reading the tips leave every file as it was.
    let mut cache = origin.open_cache();
    assert!(!cache.sync(&dev_branches()).unwrap().fetched);
    assert!(!cache.sync(&dev_branches()).unwrap().fetched);
    assert!(cache.tip(&branch("environment/dev-next")).is_some());

    assert_eq!(files_under(&root), before);
}

#[test]
fn a_sync_that_moved_refs_leaves_them_packed_and_a_later_run_reads_them_from_there() {
    let origin = Origin::new();
    let (live, staging) = dev_environment(&origin);
    origin.note(staging, &format!(r#"{{"drySha":"{DRY_A}"}}"#));
    let dir = {
        let mut cache = origin.open_cache();
        assert!(cache.sync(&dev_branches()).unwrap().fetched);
        cache.dir().to_path_buf()
    };
    // No loose file per ref: the next run reads one `packed-refs` instead of 2N files.
    let loose: Vec<_> = files_under(&dir.join("refs"))
        .into_keys()
        .filter(|path| path.is_file())
        .collect();
    assert!(loose.is_empty(), "loose refs left: {loose:?}");
    let packed = std::fs::read_to_string(dir.join("packed-refs")).unwrap();
    assert!(
        packed.contains(&format!(
            "{staging} refs/promoter/remote/heads/environment/dev-next"
        )),
        "{packed}"
    );

    let cache = origin.open_cache();
    assert_eq!(cache.tip(&branch("environment/dev")), Some(to_sha(live)));
    assert_eq!(
        cache.tip(&branch("environment/dev-next")),
        Some(to_sha(staging))
    );
    assert_eq!(
        cache
            .note(&to_sha(staging))
            .unwrap()
            .unwrap()
            .dry_sha
            .as_str(),
        DRY_A
    );
}

#[test]
fn a_rewritten_staging_branch_is_fetched_and_a_deleted_one_reads_as_missing() {
    let origin = Origin::new();
    dev_environment(&origin);
    let mut cache = origin.open_cache();
    cache.sync(&dev_branches()).unwrap();

    let orphan = origin.commit_with(
        Some("environment/dev-next"),
        &[],
        &[("hydrator.metadata", Some(&metadata(DRY_B)))],
        "rewritten history",
    );
    cache.sync(&dev_branches()).unwrap();
    assert_eq!(
        cache.tip(&branch("environment/dev-next")),
        Some(to_sha(orphan))
    );

    origin
        .repo
        .find_reference("refs/heads/environment/dev-next")
        .unwrap()
        .delete()
        .unwrap();
    let report = cache.sync(&dev_branches()).unwrap();
    assert_eq!(report.missing, vec![branch("environment/dev-next")]);
    assert_eq!(cache.tip(&branch("environment/dev-next")), None);
}

#[test]
fn refresh_reads_one_branch_again() {
    let origin = Origin::new();
    dev_environment(&origin);
    let mut cache = origin.open_cache();
    cache.sync(&dev_branches()).unwrap();
    let merged = origin.commit("environment/dev", &[("x", Some("1"))], "merged PR");

    let tip = cache.refresh(&branch("environment/dev")).unwrap();

    assert_eq!(tip, Some(to_sha(merged)));
    assert_eq!(cache.fetches(), 2);
}

#[test]
fn file_urls_work_like_paths() {
    let origin = Origin::new();
    dev_environment(&origin);
    let url = format!("file://{}", origin.url());
    let (mut cache, _) = GitCache::open(&origin.cache_root, &url, None).unwrap();
    let report = cache.sync(&dev_branches()).unwrap();
    assert!(report.missing.is_empty());
    assert_eq!(
        cache.tip(&branch("environment/dev")),
        Some(to_sha(origin.tip("environment/dev")))
    );
}

#[test]
fn an_unreachable_remote_is_an_error_naming_it() {
    let origin = Origin::new();
    let url = origin.path.join("nope.git").to_string_lossy().into_owned();
    let (mut cache, _) = GitCache::open(&origin.cache_root, &url, None).unwrap();
    let error = format!("{:#}", cache.sync(&dev_branches()).unwrap_err());
    assert!(error.contains("nope.git"), "{error}");
}

#[test]
fn a_corrupted_cache_is_rebuilt_with_a_warning() {
    let origin = Origin::new();
    dev_environment(&origin);
    let dir = {
        let mut cache = origin.open_cache();
        cache.sync(&dev_branches()).unwrap();
        cache.dir().to_path_buf()
    };
    // Lose every object: the private refs now point at nothing.
    std::fs::remove_dir_all(dir.join("objects")).unwrap();
    std::fs::create_dir_all(dir.join("objects/pack")).unwrap();

    let (mut cache, warnings) = GitCache::open(&origin.cache_root, &origin.url(), None).unwrap();

    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("rebuilding"), "{warnings:?}");
    assert!(cache.sync(&dev_branches()).unwrap().fetched);
    assert_eq!(
        cache.tip(&branch("environment/dev")),
        Some(to_sha(origin.tip("environment/dev")))
    );

    // A cache directory that is not a repository at all.
    drop(cache);
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("HEAD"), "garbage").unwrap();
    let (_, warnings) = GitCache::open(&origin.cache_root, &origin.url(), None).unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
}

#[test]
fn a_second_run_waits_for_the_cache_lock() {
    let origin = Origin::new();
    let first = origin.open_cache();
    let (root, url) = (origin.cache_root.clone(), origin.url());
    let (sender, receiver) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let (_cache, warnings) = GitCache::open(&root, &url, None).unwrap();
        sender.send(warnings).unwrap();
    });

    assert!(
        receiver.recv_timeout(Duration::from_millis(300)).is_err(),
        "the second run must wait while the first holds the lock"
    );
    drop(first);
    let warnings = receiver.recv_timeout(Duration::from_secs(10)).unwrap();
    waiter.join().unwrap();
    assert!(
        warnings[0].contains("waited for another promoter run"),
        "{warnings:?}"
    );
}

#[test]
fn sync_with_progress_reports_the_fetch_as_it_arrives_and_nothing_when_nothing_moved() {
    let origin = Origin::new();
    dev_environment(&origin);
    let mut seen = Vec::new();
    let report = {
        let mut cache = origin.open_cache();
        cache
            .sync_with_progress(&dev_branches(), &mut |p| seen.push(*p))
            .unwrap()
    };
    assert!(report.fetched);
    let last = seen.last().expect("the fetch reported progress");
    assert!(last.total_objects > 0, "{last:?}");
    assert_eq!(last.received_objects, last.total_objects, "{last:?}");
    assert_eq!(last.received_objects, report.received_objects);
    assert!(
        seen.windows(2)
            .all(|w| w[0].received_objects <= w[1].received_objects),
        "{seen:?}"
    );

    let mut calls = 0;
    let mut cache = origin.open_cache();
    let again = cache
        .sync_with_progress(&dev_branches(), &mut |_| calls += 1)
        .unwrap();
    assert!(!again.fetched);
    assert_eq!(calls, 0);
}

#[test]
fn a_directory_of_wanted_branches_is_fetched_with_one_wildcard_refspec() {
    let wanted = ["dev", "dev-next", "qa", "qa-next"].map(|env| format!("environment/{env}"));
    let mut pairs: BTreeMap<String, String> = wanted
        .iter()
        .map(|name| {
            (
                format!("refs/heads/{name}"),
                crate::git::private_ref(&branch(name)),
            )
        })
        .collect();
    pairs.insert(
        crate::git::NOTES_REF.to_owned(),
        crate::git::PRIVATE_NOTES.to_owned(),
    );
    let mut heads: BTreeMap<String, Oid> = pairs
        .keys()
        .map(|name| (name.clone(), Oid::ZERO_SHA1))
        .collect();
    heads.insert("refs/heads/main".to_owned(), Oid::ZERO_SHA1);
    let refspecs = |heads: &BTreeMap<String, Oid>, present: bool| {
        crate::git::fetch_refspecs(&pairs, heads, &|_| present)
    };

    assert_eq!(
        refspecs(&heads, false),
        [
            "+refs/heads/environment/*:refs/promoter/remote/heads/environment/*",
            "+refs/notes/hydrator.metadata:refs/promoter/remote/notes/hydrator.metadata",
        ]
    );
    assert!(refspecs(&heads, true).is_empty(), "nothing moved");

    // A branch promoter does not want in that directory is not fetched: exact refspecs.
    heads.insert("refs/heads/environment/feature".to_owned(), Oid::ZERO_SHA1);
    let exact = refspecs(&heads, false);
    assert_eq!(exact.len(), 5, "{exact:?}");
    assert!(
        exact.iter().all(|refspec| !refspec.contains('*')),
        "{exact:?}"
    );
}
