//! Reading commits without a work tree: metadata files, notes, times, trailers.

use super::*;
use crate::git::MetadataError;

fn synced(origin: &Origin, branches: &[&str]) -> GitCache {
    let mut cache = origin.open_cache();
    let wanted: Vec<BranchName> = branches.iter().map(|b| branch(b)).collect();
    cache.sync(&wanted).unwrap();
    cache
}

#[test]
fn metadata_is_read_at_the_root_or_under_the_active_path() {
    let origin = Origin::new();
    let tip = origin.commit(
        "env-next",
        &[
            ("hydrator.metadata", Some(&metadata(DRY_A))),
            (
                "apps/web/hydrator.metadata",
                Some(&format!(r#"{{"drySHA":"{}","date":""}}"#, DRY_B)),
            ),
        ],
        "hydrate",
    );
    let cache = synced(&origin, &["env-next"]);
    let name = branch("env-next");

    let root = cache.hydrator_metadata(&to_sha(tip), None, &name).unwrap();
    assert_eq!(root.dry_sha.as_str(), DRY_A);
    assert_eq!(root.author, "Dev <dev@example.com>");
    assert_eq!(root.date, None);

    let scoped = cache
        .hydrator_metadata(&to_sha(tip), Some("/apps/web/"), &name)
        .unwrap();
    assert_eq!(scoped.dry_sha.as_str(), DRY_B);
    let empty_path = cache
        .hydrator_metadata(&to_sha(tip), Some(""), &name)
        .unwrap();
    assert_eq!(empty_path.dry_sha.as_str(), DRY_A);
}

#[test]
fn missing_and_garbage_metadata_name_branch_commit_and_file() {
    let origin = Origin::new();
    let tip = origin.commit(
        "env-next",
        &[
            ("hydrator.metadata", Some("{not json")),
            ("apps/dir/hydrator.metadata/x", Some("a directory")),
        ],
        "broken hydration",
    );
    let cache = synced(&origin, &["env-next"]);
    let name = branch("env-next");
    let short = &tip.to_string()[..7];

    let garbage = cache
        .hydrator_metadata(&to_sha(tip), None, &name)
        .unwrap_err();
    assert!(matches!(garbage, MetadataError::Invalid { .. }));
    let text = garbage.to_string();
    for part in ["`hydrator.metadata`", "env-next", short, "not valid JSON"] {
        assert!(text.contains(part), "{text} lacks {part}");
    }

    let missing = cache
        .hydrator_metadata(&to_sha(tip), Some("apps/other"), &name)
        .unwrap_err();
    assert!(matches!(missing, MetadataError::Missing { .. }));
    let text = missing.to_string();
    for part in ["apps/other/hydrator.metadata", "env-next", short] {
        assert!(text.contains(part), "{text} lacks {part}");
    }

    let directory = cache
        .hydrator_metadata(&to_sha(tip), Some("apps/dir"), &name)
        .unwrap_err();
    assert!(directory.to_string().contains("directory"), "{directory}");
}

#[test]
fn notes_are_present_absent_or_refused_when_not_json() {
    let origin = Origin::new();
    let with_note = origin.commit("env-next", &[("a", Some("1"))], "one");
    let without = origin.commit("env-next", &[("a", Some("2"))], "two");
    let broken = origin.commit("env", &[("b", Some("1"))], "three");
    origin.note(with_note, &format!(r#"{{"DRYSHA": "{DRY_A}"}}"#));
    origin.note(broken, "hydrated, no changes");
    let cache = synced(&origin, &["env-next", "env"]);

    let note = cache.note(&to_sha(with_note)).unwrap().unwrap();
    assert_eq!(note.dry_sha.as_str(), DRY_A);
    assert_eq!(cache.note(&to_sha(without)).unwrap(), None);
    let error = format!("{:#}", cache.note(&to_sha(broken)).unwrap_err());
    assert!(error.contains(&broken.to_string()[..7]), "{error}");
    assert!(error.contains("not valid JSON"), "{error}");
}

#[test]
fn notes_are_found_where_git_fans_the_notes_tree_out() {
    use std::io::Write as _;
    // Past a few hundred notes git stores them under two-digit directories (`ab/cdef…`); the
    // notes written here by `git fast-import`, as git itself lays them out.
    let origin = Origin::new();
    let commits: Vec<Oid> = (0..300)
        .map(|i| origin.commit("env-next", &[("a", Some(&i.to_string()))], "hydrate"))
        .collect();
    let mut script = String::from(
        "commit refs/notes/hydrator.metadata\ncommitter Hydrator <h@example.com> 1700000000 +0000\ndata 0\n",
    );
    for (i, commit) in commits.iter().enumerate() {
        let dry = if i % 2 == 0 { DRY_A } else { DRY_B };
        let body = format!(r#"{{"DRYSHA": "{dry}"}}"#);
        script.push_str(&format!("N inline {commit}\ndata {}\n{body}\n", body.len()));
    }
    let mut child = std::process::Command::new("git")
        .args(["fast-import", "--quiet"])
        .env("GIT_DIR", &origin.path)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", origin.dir())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("git is installed");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    let notes = origin
        .repo
        .find_reference("refs/notes/hydrator.metadata")
        .unwrap()
        .peel_to_tree()
        .unwrap();
    assert!(
        notes.iter().all(|entry| entry.name().unwrap().len() == 2),
        "git did not fan the notes out; the test checks nothing"
    );
    let untouched = origin.commit("env-next", &[("a", Some("last"))], "no note");
    let cache = synced(&origin, &["env-next"]);

    for (i, commit) in commits.iter().enumerate() {
        let note = cache.note(&to_sha(*commit)).unwrap().unwrap();
        let dry = if i % 2 == 0 { DRY_A } else { DRY_B };
        assert_eq!(note.dry_sha.as_str(), dry, "note {i}");
    }
    assert_eq!(cache.note(&to_sha(untouched)).unwrap(), None);
}

#[test]
fn notes_are_absent_when_the_remote_has_no_notes_ref() {
    let origin = Origin::new();
    let tip = origin.commit("env-next", &[("a", Some("1"))], "one");
    let cache = synced(&origin, &["env-next"]);
    assert_eq!(cache.note(&to_sha(tip)).unwrap(), None);
}

#[test]
fn commit_times_info_trailers_and_first_parents_are_read() {
    let origin = Origin::new();
    let base = origin.commit("env", &[("a", Some("1"))], "first");
    let side = origin.commit_with(None, &[base], &[("b", Some("1"))], "side");
    let merge = origin.commit_with(
        Some("env"),
        &[base, side],
        &[("b", Some("1"))],
        "Promote abc\n\nA description: with a colon.\n\nPull-request-id: 7\nSha-dry-active: aaa\nSha-dry-proposed: bbb\n",
    );
    let cache = synced(&origin, &["env"]);

    let time = cache.committer_time(&to_sha(merge)).unwrap();
    assert_eq!(time.unix_timestamp(), 1_700_000_180);

    let info = cache.commit_info(&to_sha(merge)).unwrap();
    assert_eq!(info.subject, "Promote abc");
    assert_eq!(info.author, "Hydrator <hydrator@example.com>");
    assert_eq!(info.parents, vec![to_sha(base), to_sha(side)]);
    assert!(info.body.starts_with("A description"));

    let trailers = cache.trailers(&to_sha(merge)).unwrap();
    assert_eq!(
        trailers.get("Pull-request-id").map(String::as_str),
        Some("7")
    );
    assert_eq!(trailers.len(), 3, "{trailers:?}");
    assert!(cache.trailers(&to_sha(base)).unwrap().is_empty());

    assert_eq!(
        cache.first_parents(&to_sha(merge), 5).unwrap(),
        vec![to_sha(merge), to_sha(base)]
    );
    assert_eq!(cache.first_parents(&to_sha(merge), 1).unwrap().len(), 1);
}
