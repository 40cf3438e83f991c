//! Conflict detection, the ours merge (plain and activePath-scoped) and the guarded push.

use time::macros::datetime;

use super::*;
use crate::git::{BranchMoved, OursMerge};

const LIVE: &str = "environment/dev";
const STAGING: &str = "environment/dev-next";

fn synced(origin: &Origin) -> GitCache {
    let mut cache = origin.open_cache();
    cache.sync(&[branch(LIVE), branch(STAGING)]).unwrap();
    cache
}

/// Both branches start from one hydrated commit, then each side applies its changes.
fn diverge(live: &[(&str, Option<&str>)], staging: &[(&str, Option<&str>)]) -> (Origin, Oid, Oid) {
    let origin = Origin::new();
    dev_environment(&origin);
    let live_tip = origin.commit(LIVE, live, "drift on live");
    let staging_tip = origin.commit(STAGING, staging, "hydrate b");
    (origin, live_tip, staging_tip)
}

#[test]
fn changes_to_different_files_do_not_conflict() {
    let (origin, live, staging) = diverge(
        &[("manual.txt", Some("hand edit"))],
        &[("app/deploy.yaml", Some("replicas: 2\n"))],
    );
    let cache = synced(&origin);
    assert!(
        !cache
            .would_conflict(&to_sha(live), &to_sha(staging))
            .unwrap()
    );
}

#[test]
fn changes_to_the_same_file_conflict() {
    let (origin, live, staging) = diverge(
        &[("app/deploy.yaml", Some("replicas: 5\n"))],
        &[("app/deploy.yaml", Some("replicas: 2\n"))],
    );
    let cache = synced(&origin);
    assert!(
        cache
            .would_conflict(&to_sha(live), &to_sha(staging))
            .unwrap()
    );
}

#[test]
fn both_sides_changing_the_root_metadata_conflict() {
    let (origin, live, staging) = diverge(
        &[("hydrator.metadata", Some(&metadata(DRY_B)))],
        &[(
            "hydrator.metadata",
            Some(&metadata("cccccccccccccccccccccccccccccccccccccccc")),
        )],
    );
    let cache = synced(&origin);
    assert!(
        cache
            .would_conflict(&to_sha(live), &to_sha(staging))
            .unwrap()
    );
}

#[test]
fn a_staging_tip_contained_in_live_or_ahead_of_it_does_not_conflict() {
    let origin = Origin::new();
    let (live, _) = dev_environment(&origin);
    let drift = origin.commit(LIVE, &[("manual.txt", Some("hand edit"))], "drift on live");
    let staging = origin.commit(
        STAGING,
        &[("app/deploy.yaml", Some("replicas: 2\n"))],
        "hydrate b",
    );
    // The SCM merged the promotion: live's tip has staging's tip as a parent.
    let merged = origin.commit_with(
        Some(LIVE),
        &[drift, staging],
        &[("app/deploy.yaml", Some("replicas: 2\n"))],
        "merge",
    );
    let clean = |live: Oid, staging: Oid| {
        let cache = synced(&origin);
        !cache
            .would_conflict(&to_sha(live), &to_sha(staging))
            .unwrap()
    };
    assert!(clean(merged, staging));
    assert!(clean(merged, merged));
    // Live behind staging: a fast-forward; and a staging branch moved on since the merge.
    let ahead = origin.commit(
        STAGING,
        &[("app/deploy.yaml", Some("replicas: 9\n"))],
        "hydrate c",
    );
    assert!(clean(live, ahead));
    assert!(clean(merged, ahead));
}

#[test]
fn unrelated_histories_count_as_a_conflict() {
    let origin = Origin::new();
    let live = origin.commit(LIVE, &[("a", Some("1"))], "live root");
    let staging = origin.commit(STAGING, &[("b", Some("1"))], "orphan staging root");
    let cache = synced(&origin);
    assert!(
        cache
            .would_conflict(&to_sha(live), &to_sha(staging))
            .unwrap()
    );
}

#[test]
fn the_ours_merge_keeps_stagings_tree_and_joins_both_tips() {
    let (origin, live, staging) = diverge(
        &[("app/deploy.yaml", Some("replicas: 5\n"))],
        &[("app/deploy.yaml", Some("replicas: 2\n"))],
    );
    let mut cache = synced(&origin);
    let (live_name, staging_name) = (branch(LIVE), branch(STAGING));
    let merge = cache
        .ours_merge(
            &OursMerge {
                live: &live_name,
                live_tip: &to_sha(live),
                staging: &staging_name,
                staging_tip: &to_sha(staging),
                active_path: None,
            },
            datetime!(2026-03-01 12:00 UTC),
        )
        .unwrap();

    cache
        .push_branch(&merge, &staging_name, &to_sha(staging))
        .unwrap();

    assert_eq!(to_sha(origin.tip(STAGING)), merge);
    let commit = origin.repo.find_commit(origin.tip(STAGING)).unwrap();
    assert_eq!(
        commit.tree_id(),
        origin.repo.find_commit(staging).unwrap().tree_id()
    );
    assert_eq!(commit.parent_ids().collect::<Vec<_>>(), vec![staging, live]);
    assert_eq!(
        commit.message().ok(),
        Some("Merge environment/dev into environment/dev-next (ours)")
    );
    for person in [commit.author(), commit.committer()] {
        assert_eq!(person.name().ok(), Some("GitOps Promoter"));
        assert_eq!(person.email().ok(), Some("GitOpsPromoter@argoproj.io"));
        assert_eq!(person.when().seconds(), 1_772_366_400);
    }
    // The PR now merges cleanly, and the push needs no fetch to be seen.
    assert!(!cache.would_conflict(&to_sha(live), &merge).unwrap());
    let report = cache.sync(&[branch(LIVE), branch(STAGING)]).unwrap();
    assert!(!report.fetched);
}

#[test]
fn the_scoped_merge_takes_staging_inside_the_active_path_and_live_elsewhere() {
    let origin = Origin::new();
    let base = origin.commit(
        LIVE,
        &[
            ("apps/web/deploy.yaml", Some("web: 1\n")),
            ("apps/web/old.yaml", Some("old\n")),
            ("apps/api/deploy.yaml", Some("api: 1\n")),
            ("hydrator.metadata", Some(&metadata(DRY_A))),
        ],
        "base",
    );
    origin
        .repo
        .reference(&format!("refs/heads/{STAGING}"), base, true, "test")
        .unwrap();
    let live = origin.commit(
        LIVE,
        &[
            ("apps/api/deploy.yaml", Some("api: 2\n")),
            ("apps/web/deploy.yaml", Some("web: drift\n")),
        ],
        "other app promoted",
    );
    let staging = origin.commit(
        STAGING,
        &[
            ("apps/web/deploy.yaml", Some("web: 2\n")),
            ("apps/web/old.yaml", None),
            ("apps/web/new.yaml", Some("new\n")),
            ("apps/api/deploy.yaml", Some("api: stale\n")),
        ],
        "hydrate web",
    );
    let cache = synced(&origin);
    let (live_name, staging_name) = (branch(LIVE), branch(STAGING));
    let merge = OursMerge {
        live: &live_name,
        live_tip: &to_sha(live),
        staging: &staging_name,
        staging_tip: &to_sha(staging),
        active_path: Some("apps/web"),
    };

    let sha = cache
        .ours_merge(&merge, datetime!(2026-03-01 12:00 UTC))
        .unwrap();

    let oid = Oid::from_str(sha.as_str()).unwrap();
    let read = |oid, path| read_file(&Repository::open_bare(cache.dir()).unwrap(), oid, path);
    assert_eq!(
        read(oid, "apps/web/deploy.yaml").as_deref(),
        Some("web: 2\n")
    );
    assert_eq!(read(oid, "apps/web/new.yaml").as_deref(), Some("new\n"));
    assert_eq!(read(oid, "apps/web/old.yaml"), None, "deletion honoured");
    assert_eq!(
        read(oid, "apps/api/deploy.yaml").as_deref(),
        Some("api: 2\n")
    );
    let commit = cache.commit_info(&sha).unwrap();
    assert_eq!(commit.subject, "Resolve conflicts for apps/web");
    assert_eq!(commit.parents, vec![to_sha(staging), to_sha(live)]);

    // Staging dropped the whole app: the directory goes, the rest stays.
    let gone = origin.commit(
        STAGING,
        &[("apps/web/deploy.yaml", None), ("apps/web/new.yaml", None)],
        "remove web",
    );
    let mut cache = cache;
    cache.sync(&[branch(LIVE), branch(STAGING)]).unwrap();
    let removed = cache
        .ours_merge(
            &OursMerge {
                staging_tip: &to_sha(gone),
                ..merge
            },
            datetime!(2026-03-01 12:00 UTC),
        )
        .unwrap();
    let oid = Oid::from_str(removed.as_str()).unwrap();
    let read = |oid, path| read_file(&Repository::open_bare(cache.dir()).unwrap(), oid, path);
    assert_eq!(read(oid, "apps/web/deploy.yaml"), None);
    assert_eq!(
        read(oid, "apps/api/deploy.yaml").as_deref(),
        Some("api: 2\n")
    );
}

#[test]
fn a_push_is_refused_when_the_staging_branch_moved_and_nothing_is_lost() {
    let (origin, live, staging) = diverge(
        &[("app/deploy.yaml", Some("replicas: 5\n"))],
        &[("app/deploy.yaml", Some("replicas: 2\n"))],
    );
    let mut cache = synced(&origin);
    let (live_name, staging_name) = (branch(LIVE), branch(STAGING));
    let merge = cache
        .ours_merge(
            &OursMerge {
                live: &live_name,
                live_tip: &to_sha(live),
                staging: &staging_name,
                staging_tip: &to_sha(staging),
                active_path: None,
            },
            datetime!(2026-03-01 12:00 UTC),
        )
        .unwrap();
    // The hydrator pushes in between.
    let newer = origin.commit(
        STAGING,
        &[("app/deploy.yaml", Some("replicas: 3\n"))],
        "hydrate c",
    );

    let error = cache
        .push_branch(&merge, &staging_name, &to_sha(staging))
        .unwrap_err();

    assert!(error.downcast_ref::<BranchMoved>().is_some(), "{error:#}");
    assert_eq!(
        error.to_string(),
        "environment/dev-next moved on the remote since it was read; nothing was pushed; the next pass will retry"
    );
    assert_eq!(origin.tip(STAGING), newer);

    // Moved to a commit the cache already has (a reset): still refused by the old-tip check.
    origin
        .repo
        .reference(&format!("refs/heads/{STAGING}"), live, true, "reset")
        .unwrap();
    let error = cache
        .push_branch(&merge, &staging_name, &to_sha(staging))
        .unwrap_err();
    assert!(error.downcast_ref::<BranchMoved>().is_some(), "{error:#}");
    assert_eq!(origin.tip(STAGING), live);
}
