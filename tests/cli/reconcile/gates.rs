//! Scenarios 2, 3 and 14 of issue 5: active gates hold the next environment, proposed gates hold
//! the merge, and the built-in soak timer; each pass's API requests are counted exactly.

use super::{Forge, World, output};
use crate::support::clock::TestClock;

const PREVIOUS: &str = "promoter-previous-environment";

fn no_extra(_: usize) -> String {
    String::new()
}

fn pending(description: &str) -> Option<(String, String)> {
    Some(("pending".to_owned(), description.to_owned()))
}

fn success() -> Option<String> {
    Some("success".to_owned())
}

fn an_active_health_gate_holds_each_next_environment_until_the_previous_live_tip_is_healthy(
    forge: Forge,
) {
    let mut world = World::new(forge, &["dev", "staging", "prod"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    world.config(
        "    activeCommitStatuses:\n      - key: health\n",
        &no_extra,
    );

    // Pass 1: dev merges; staging waits for health on dev; prod waits for staging.
    let (stdout, _) = output(&world.reconcile().success());
    assert_eq!(world.live_dry(0).as_deref(), Some(dry.as_str()), "{stdout}");
    assert_eq!(world.live_dry(1), None, "{stdout}");
    assert_eq!(world.live_dry(2), None, "{stdout}");
    assert_eq!(
        world.previous_gate(1),
        pending("Waiting for `health` on `environment/dev`")
    );
    assert_eq!(
        world.previous_gate(2),
        pending("Waiting for `environment/staging` to be promoted")
    );
    assert_eq!(world.open_pulls_of(0).len(), 0);
    assert_eq!(world.open_pulls_of(1).len(), 1);
    assert_eq!(world.open_pulls_of(2).len(), 1);
    // The open PRs of every environment that needs one come from one listing (observe.rs).
    assert_eq!(world.api(), world.budget(1, 3, 3, 0, 1, 2), "pass 1");

    // Nothing changed: the same pass again writes nothing.
    world.clear();
    world.reconcile().success();
    let steady = world.api();
    // One listing for both waiting environments' PRs (observe.rs).
    assert_eq!(
        steady,
        world.budget(1, 3, 0, 0, 0, 0),
        "pass 1 again: + health on dev"
    );

    // Health on dev's live tip → staging merges; the PR text is brought up to date first (its gate
    // table now shows the previous-environment gate as success: one PATCH), then merged.
    // Health on dev's live tip → staging merges; prod now waits for health on staging.
    // GitLab cannot give a pending status a new description (Ci::CreateCommitStatusService
    // refuses the same state again), so prod's keeps its first one and is not rewritten.
    let (prod_waits, status_writes) = if forge.keeps_pending_descriptions() {
        ("Waiting for `environment/staging` to be promoted", 1)
    } else {
        ("Waiting for `health` on `environment/staging`", 2)
    };
    world.report(&world.live_tip(0), "health", "success");
    world.clear();
    let (stdout, _) = output(&world.reconcile().success());
    assert_eq!(world.live_dry(1).as_deref(), Some(dry.as_str()), "{stdout}");
    assert_eq!(world.live_dry(2), None, "{stdout}");
    assert!(
        stdout.contains("Waiting for `health` on `environment/staging`"),
        "the report says why, on every forge: {stdout}"
    );
    assert_eq!(world.previous_gate(2), pending(prod_waits));
    // One listing for both environments' PRs (observe.rs).
    assert_eq!(
        world.api(),
        world.budget(1, 3, 0, 1, 1, status_writes),
        "pass 2 {:?}",
        world.writes()
    );

    // A failing health on staging keeps prod waiting, never `failure`.
    world.report(&world.live_tip(1), "health", "failure");
    world.clear();
    world.reconcile().success();
    assert_eq!(world.live_dry(2), None);
    assert_eq!(world.previous_gate(2), pending(prod_waits));
    assert_eq!(
        world.api(),
        world.budget(1, 2, 0, 0, 0, 0),
        "failing health"
    );

    world.report(&world.live_tip(1), "health", "success");
    world.clear();
    world.reconcile().success();
    assert_eq!(world.live_dry(2).as_deref(), Some(dry.as_str()));
    assert_eq!(
        world.api(),
        world.budget(1, 2, 0, 1, 1, 1),
        "pass 3 {:?}",
        world.writes()
    );
    let prod_pr = &world.pulls_of(2)[0];
    assert_eq!(
        world
            .status(&sandbox::Sha::parse(&prod_pr.head_sha).unwrap(), PREVIOUS)
            .map(|s| s.0),
        success()
    );

    // Promoted everywhere: the steady state costs nothing.
    world.clear();
    world.reconcile().success();
    assert_eq!(world.api(), world.budget(0, 0, 0, 0, 0, 0), "steady state");
    assert_eq!(
        world
            .sandbox
            .pulls(super::OWNER, super::NAME)
            .unwrap()
            .len(),
        3
    );
}

/// Reports the proposed gate `scan` on `sha`: as a commit status, or as a check run.
type Report = fn(&World, &sandbox::Sha, &str);

fn scan_status(world: &World, sha: &sandbox::Sha, state: &str) {
    world.report(sha, "scan", state);
}

fn scan_check_run(world: &World, sha: &sandbox::Sha, state: &str) {
    let conclusion = (state != "pending").then_some(state);
    world
        .sandbox
        .set_check_run(super::OWNER, super::NAME, sha, "scan", conclusion)
        .expect("check run");
}

fn proposed_gate_holds_the_merge_until_success(forge: Forge, report: Report) {
    let mut world = World::new(forge, &["dev"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    world.config(
        "    proposedCommitStatuses:\n      - key: scan\n",
        &no_extra,
    );
    let head = world.staging_tip(0);

    let (stdout, _) = output(&world.reconcile().success());
    assert_eq!(world.live_dry(0), None, "missing gate: {stdout}");
    assert_eq!(world.open_pulls_of(0).len(), 1);
    assert_eq!(world.api(), world.budget(1, 1, 1, 0, 0, 0), "missing");

    // A result on another commit (the live tip) does not count.
    report(&world, &world.live_tip(0), "success");
    // The PR's gate table shows states: missing → pending is no change, failure is (one PATCH).
    for (state, updates) in [("pending", 0), ("failure", 1)] {
        report(&world, &head, state);
        world.clear();
        let (stdout, _) = output(&world.reconcile().success());
        assert_eq!(world.live_dry(0), None, "{state}: {stdout}");
        assert_eq!(world.open_pulls_of(0).len(), 1, "{state}");
        assert_eq!(world.api(), world.budget(1, 1, 0, updates, 0, 0), "{state}");
    }

    report(&world, &head, "success");
    world.clear();
    world.reconcile().success();
    assert_eq!(world.live_dry(0).as_deref(), Some(dry.as_str()));
    let merged = world.pulls_of(0);
    assert_eq!(merged.len(), 1);
    assert_eq!(
        merged[0].merged.as_ref().map(|m| m.sha.clone()),
        Some(world.live_tip(0).to_string())
    );
    let parents = world
        .sandbox
        .parents(super::OWNER, super::NAME, &world.live_tip(0))
        .unwrap();
    assert_eq!(
        parents[1], head,
        "the merged head is the one whose gate passed"
    );
    let message = world
        .sandbox
        .commit_message(super::OWNER, super::NAME, &world.live_tip(0))
        .unwrap();
    assert!(
        message.contains("Commit-status-proposed-scan-phase: success"),
        "{message}"
    );
    assert_eq!(world.api(), world.budget(1, 1, 0, 1, 1, 0), "success");

    world.clear();
    world.reconcile().success();
    assert_eq!(world.api(), world.budget(0, 0, 0, 0, 0, 0), "steady state");
}

fn a_proposed_commit_status_holds_the_merge_while_missing_pending_or_failing(forge: Forge) {
    proposed_gate_holds_the_merge_until_success(forge, scan_status);
}

/// Check runs are GitHub's alone.
#[test]
fn a_proposed_check_run_holds_the_merge_while_missing_in_progress_or_failing() {
    proposed_gate_holds_the_merge_until_success(Forge::Github, scan_check_run);
}

/// Committer time of `sha` in the forge's bare repository.
fn committed_at(world: &World, sha: &sandbox::Sha) -> time::OffsetDateTime {
    let repo = git2::Repository::open_bare(world.sandbox.repo_path(super::OWNER, super::NAME))
        .expect("bare repo");
    let commit = repo
        .find_commit(git2::Oid::from_str(sha.as_str()).unwrap())
        .unwrap();
    time::OffsetDateTime::from_unix_timestamp(commit.committer().when().seconds()).unwrap()
}

fn soak_time_holds_the_next_environment_until_the_live_commit_is_old_enough(forge: Forge) {
    let mut world = World::new(forge, &["dev", "staging"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    world.config("", &|i| {
        if i == 0 {
            "        activeCommitStatuses:\n          - key: soak\n            soakTime: 2s\n"
                .to_owned()
        } else {
            String::new()
        }
    });
    // The forge commits merges an hour from now: the first pass (the binary, on the real clock)
    // is inside the soak however slow the machine; the later passes run on a clock past its end.
    let merged_at = time::OffsetDateTime::now_utc().unix_timestamp() + 3600;
    world.sandbox.set_merge_time(Some(merged_at));

    let (stdout, _) = output(&world.reconcile().success());
    assert_eq!(world.live_dry(0).as_deref(), Some(dry.as_str()), "{stdout}");
    assert_eq!(world.live_dry(1), None, "{stdout}");
    // The merge commit's committer time is the merge time; the soak ends 2 s later.
    let live = world.live_tip(0);
    let until = committed_at(&world, &live) + time::Duration::seconds(2);
    let until = until
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    assert_eq!(
        world.status(&live, "soak"),
        pending(&format!("soaking until {until}"))
    );
    assert_eq!(
        world.previous_gate(1),
        pending("Waiting for `soak` on `environment/dev`")
    );
    // dev: lookup, gate read, create, merge, soak status on the new live tip; staging: lookup,
    // The open PRs of every environment that needs one come from one listing (observe.rs).
    // gate read, create, pending status.
    assert_eq!(
        world.api(),
        world.budget(1, 2, 2, 0, 1, 2),
        "{:?}",
        world.writes()
    );

    let after_soak = TestClock::at(
        std::time::SystemTime::UNIX_EPOCH
            + std::time::Duration::from_secs(u64::try_from(merged_at + 3).unwrap()),
    );
    world.clear();
    let second = world.reconcile_on(&after_soak);
    assert!(second.success(), "{}", second.report);
    assert_eq!(world.live_dry(1).as_deref(), Some(dry.as_str()));
    assert_eq!(world.status(&live, "soak").map(|s| s.0), success());
    // dev's live statuses; staging: lookup, gate read; soak success, previous-environment
    // success, PATCH (gate table), merge.
    assert_eq!(
        world.api(),
        world.budget(1, 2, 0, 1, 1, 2),
        "{:?}",
        world.writes()
    );

    world.clear();
    let third = world.reconcile_on(&after_soak);
    assert!(third.success(), "{}", third.report);
    assert_eq!(world.api().total(), 0, "steady state");
}

fn soak_counts_from_the_merge_commits_time_read_back_after_the_merge(forge: Forge) {
    let mut world = World::new(forge, &["dev", "staging"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    world.config("", &|i| {
        if i == 0 {
            "        activeCommitStatuses:\n          - key: soak\n            soakTime: 30m\n"
                .to_owned()
        } else {
            String::new()
        }
    });
    // The forge stamps the merge commit an hour ago: after merging dev, promoter reads that
    // time back from git, so the 30-minute soak is already over and staging merges in the same
    // pass. (With the apply time standing in for it, staging would wait 30 minutes.)
    let hour_ago = time::OffsetDateTime::now_utc().unix_timestamp() - 3600;
    world.sandbox.set_merge_time(Some(hour_ago));

    let (stdout, _) = output(&world.reconcile().success());
    assert_eq!(world.live_dry(0).as_deref(), Some(dry.as_str()), "{stdout}");
    assert_eq!(world.live_dry(1).as_deref(), Some(dry.as_str()), "{stdout}");
    assert_eq!(
        committed_at(&world, &world.live_tip(0)).unix_timestamp(),
        hour_ago
    );
    assert_eq!(
        world.status(&world.live_tip(0), "soak").map(|s| s.0),
        success()
    );
}

/// GitLab's `pipeline` report: the newest pipeline of the PR head as one gate (the sandbox's
/// pipeline is the sum of the commit's statuses, as an external pipeline is on GitLab).
#[test]
fn on_gitlab_a_proposed_pipeline_gate_holds_the_merge_until_the_pipeline_succeeds() {
    let mut world = World::new(Forge::Gitlab, &["dev"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    world.config(
        "    proposedCommitStatuses:\n      - key: pipeline\n",
        &no_extra,
    );
    let head = world.staging_tip(0);

    let (stdout, _) = output(&world.reconcile().success());
    assert_eq!(world.live_dry(0), None, "no pipeline yet: {stdout}");
    assert!(
        stdout.contains("waiting for `pipeline` to be reported"),
        "{stdout}"
    );

    world.report(&head, "build", "success");
    world.report(&head, "test", "pending");
    world.clear();
    let (stdout, _) = output(&world.reconcile().success());
    assert_eq!(world.live_dry(0), None, "a job still runs: {stdout}");

    world.report(&head, "test", "failure");
    world.clear();
    let (stdout, _) = output(&world.reconcile().success());
    assert_eq!(world.live_dry(0), None, "the pipeline failed: {stdout}");

    world.report(&head, "test", "success");
    world.clear();
    world.reconcile().success();
    assert_eq!(world.live_dry(0).as_deref(), Some(dry.as_str()));
    let message = world
        .sandbox
        .commit_message(super::OWNER, super::NAME, &world.live_tip(0))
        .unwrap();
    assert!(
        message.contains("Commit-status-proposed-pipeline-phase: success"),
        "{message}"
    );
    // A gate named `pipeline` makes each gate read two requests: statuses and pipelines.
    let mut expected = world.budget(1, 1, 0, 1, 1, 0);
    expected.gate_read_seconds = 1;
    assert_eq!(world.api(), expected, "{:?}", world.writes());
}

per_forge!(
    an_active_health_gate_holds_each_next_environment_until_the_previous_live_tip_is_healthy,
    a_proposed_commit_status_holds_the_merge_while_missing_pending_or_failing,
    soak_time_holds_the_next_environment_until_the_live_commit_is_old_enough,
    soak_counts_from_the_merge_commits_time_read_back_after_the_merge,
);
