//! Scenarios 8–12 of issue 5: the merge SHA guard (injected 409 and a real push after
//! observation), a fork's PR, a missing staging branch, a misbehaving forge (5xx, rate limits, a
//! failed merge, merge commits disabled) and a wrong token; request counts asserted exactly.

use sandbox::Fault;

use super::{Forge, Kind, NAME, OWNER, World, output};

/// The forge's answer to a merge whose head moved, from its API docs.
fn head_moved(forge: Forge) -> &'static str {
    match forge {
        // Docs pulls/merge: 409 "Head branch was modified. Review and try the merge again."
        Forge::Github => {
            r#"{"message":"Head branch was modified. Review and try the merge again.","documentation_url":"https://docs.github.com/rest/pulls/pulls#merge-a-pull-request"}"#
        }
        // Docs merge_requests "Merge a merge request": 409 when `sha` does not match the source HEAD.
        Forge::Gitlab => r#"{"message":"SHA does not match HEAD of source branch: 0000000"}"#,
        // routers/api/v1/repo/pull.go: 409 when head_commit_id is not the PR head.
        Forge::Gitea | Forge::Forgejo => r#"{"message":"head out of date","url":"/api/swagger"}"#,
    }
}

/// The merge requests of the last passes, as JSON bodies.
fn merge_bodies(world: &World) -> Vec<(u16, serde_json::Value)> {
    world
        .sandbox
        .requests()
        .into_iter()
        .filter(|r| {
            r.path
                .strip_prefix(world.forge.prefix())
                .and_then(|path| world.forge.classify(&r.method, path))
                == Some(Kind::Merge)
        })
        .map(|r| (r.status, serde_json::from_str(&r.body).expect("merge body")))
        .collect()
}

fn no_extra(_: usize) -> String {
    String::new()
}

fn every_merge_carries_the_observed_head_and_a_409_leaves_nothing_broken_for_the_next_pass(
    forge: Forge,
) {
    let mut world = World::new(forge, &["dev"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    world.config("", &no_extra);
    let head = world.staging_tip(0);
    let live = world.live_tip(0);
    world.sandbox.inject(
        Fault::new(forge.merge_method(), &forge.merge_glob())
            .status(409)
            .body(head_moved(forge)),
    );

    let (stdout, stderr) = output(&world.reconcile().success());
    assert_eq!(world.live_tip(0), live, "{stdout}{stderr}");
    assert_eq!(world.open_pulls_of(0).len(), 1);
    assert!(stdout.contains("moved"), "{stdout}");
    assert_eq!(world.api(), world.budget(1, 1, 1, 0, 1, 0));

    world.clear();
    world.reconcile().success();
    assert_eq!(world.live_dry(0).as_deref(), Some(dry.as_str()));
    assert_eq!(world.pulls_of(0).len(), 1, "the same PR merged");
    assert_eq!(world.api(), world.budget(1, 1, 0, 0, 1, 0));
    if forge == Forge::Github {
        // The head's gates did not change since the last pass: both reads were free 304s.
        assert_eq!(world.not_modified(), 2);
    }

    let merges = merge_bodies(&world);
    assert_eq!(merges.len(), 1);
    for (_, body) in merges {
        assert_eq!(
            body[forge.merge_guard_field()].as_str(),
            Some(head.as_str())
        );
        match forge {
            Forge::Github => assert_eq!(body["merge_method"].as_str(), Some("merge")),
            Forge::Gitlab => assert_eq!(body["squash"].as_bool(), Some(false)),
            Forge::Gitea | Forge::Forgejo => assert_eq!(body["Do"].as_str(), Some("merge")),
        }
    }
}

fn a_forks_pull_request_with_the_same_head_branch_is_neither_adopted_nor_touched(forge: Forge) {
    let mut world = World::new(forge, &["dev"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    world.config("", &no_extra);
    world.sandbox.fork_repo(OWNER, NAME, "mallory").unwrap();
    let fork_pr = world
        .sandbox
        .open_pull_as(
            "mallory",
            OWNER,
            NAME,
            "mallory:environment/dev-next",
            "environment/dev",
            "not a promotion",
        )
        .unwrap();

    world.reconcile().success();
    assert_eq!(world.live_dry(0).as_deref(), Some(dry.as_str()));
    let fork = world.sandbox.pull(OWNER, NAME, fork_pr).unwrap();
    assert_eq!(fork.state, sandbox::PullState::Open);
    assert_eq!(fork.title, "not a promotion");
    assert!(fork.merged.is_none());
    let ours = world.pulls_of(0);
    assert_eq!(ours.len(), 1);
    assert_ne!(ours[0].number, fork_pr);
    assert!(ours[0].merged.is_some());
    let touched = world
        .sandbox
        .requests()
        .into_iter()
        .filter(|r| {
            let pr = format!("{}/{fork_pr}", forge.pulls_path());
            r.path == pr || r.path.starts_with(&format!("{pr}/"))
        })
        .count();
    assert_eq!(touched, 0);
    assert_eq!(world.api(), world.budget(1, 1, 1, 0, 1, 0));
}

fn a_missing_staging_branch_fails_its_environment_by_name_and_the_others_are_reconciled(
    forge: Forge,
) {
    let mut world = World::new(forge, &["dev", "staging", "prod"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate(0, &dry);
    world.hydrate(2, &dry);
    world.config("", &no_extra);

    let assert = world.reconcile().code(1);
    let (stdout, stderr) = output(&assert);
    let all = format!("{stdout}{stderr}");
    assert!(all.contains("environment/staging-next"), "{all}");
    assert!(
        all.contains("hydrator"),
        "says the hydrator has not pushed it: {all}"
    );
    assert_eq!(
        world.live_dry(0).as_deref(),
        Some(dry.as_str()),
        "dev is promoted"
    );
    assert_eq!(world.live_dry(2), None);
    assert_eq!(world.open_pulls_of(2).len(), 1, "prod still gets its PR");
    assert_eq!(
        world.previous_gate(2),
        Some((
            "pending".to_owned(),
            "Waiting for `environment/staging` to be promoted".to_owned()
        ))
    );
    // The open PRs of every environment that needs one come from one listing (observe.rs).
    assert_eq!(
        world.api(),
        world.budget(1, 2, 2, 0, 1, 1),
        "{:?}",
        world.writes()
    );
}

fn server_errors_and_rate_limits_still_complete_the_promotion_within_two_passes_without_a_duplicate_pr(
    forge: Forge,
) {
    let mut world = World::new(forge, &["dev", "staging"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    world.config("", &no_extra);
    let bad_gateway = r#"{"message":"Server Error"}"#;
    world.sandbox.inject(
        Fault::new("GET", &forge.pulls_path())
            .times(2)
            .status(502)
            .body(bad_gateway),
    );
    // The last request of a gate read fails once: the second of a pair, or Gitea's only one.
    world.sandbox.inject(
        Fault::new("GET", &forge.gate_read_last_glob())
            .status(502)
            .body(bad_gateway),
    );
    world.sandbox.inject(
        Fault::new("POST", &forge.pulls_path())
            .status(429)
            .header("retry-after", "1")
            .body(r#"{"message":"API rate limit exceeded"}"#),
    );
    let merge_limit =
        Fault::new(forge.merge_method(), &forge.merge_glob()).header("retry-after", "1");
    world.sandbox.inject(match forge {
        // GitHub's secondary rate limit is a 403 (docs "Rate limits for the REST API").
        Forge::Github => merge_limit.status(403).body(r#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}"#),
        _ => merge_limit.status(429).body(r#"{"message":"429 Too Many Requests"}"#),
    });

    let first = world.reconcile();
    let (stdout, stderr) = output(&first);
    let code = first.get_output().status.code();
    let first_api = world.api();
    if world.live_dry(1).as_deref() != Some(dry.as_str()) {
        world.clear();
        world.reconcile().success();
    }
    assert_eq!(
        world.live_dry(0).as_deref(),
        Some(dry.as_str()),
        "{stdout}{stderr}"
    );
    assert_eq!(
        world.live_dry(1).as_deref(),
        Some(dry.as_str()),
        "{stdout}{stderr}"
    );
    assert_eq!(world.pulls_of(0).len(), 1);
    assert_eq!(world.pulls_of(1).len(), 1);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    // Every faulty answer was retried once: 2 extra lookups, 1 extra gate-read request, 1 extra
    // create, 1 extra merge. The two environments' PRs come from one listing per pass
    // (observe.rs): 1 + 1 listings, plus the 2 retries.
    let mut expected = world.budget(3, 2, 3, 0, 3, 1);
    if forge.paired_gate_reads() {
        expected.gate_read_seconds += 1;
    } else {
        expected.gate_reads += 1;
    }
    assert_eq!(first_api, expected, "{:?}", world.writes());
}

fn a_wrong_token_fails_verbosely_without_showing_the_token_anywhere(forge: Forge) {
    let mut world = World::new(forge, &["dev"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    world.config("", &no_extra);
    let wrong = "ghp_wrongTOKENvalue1234567890abcdef";

    let assert = world.promoter_with_token(&["reconcile", "-v"], wrong);
    let (stdout, stderr) = output(&assert);
    let code = assert.get_output().status.code();
    assert_ne!(code, Some(0), "{stdout}{stderr}");
    assert!(
        !stdout.contains(wrong) && !stderr.contains(wrong),
        "{stdout}{stderr}"
    );
    assert!(!stdout.contains("wrongTOKEN") && !stderr.contains("wrongTOKEN"));
    for request in world.sandbox.requests() {
        assert!(
            !request.path.contains(wrong) && !request.query.contains(wrong),
            "{request:?}"
        );
    }
    assert!(
        stderr.to_lowercase().contains("token"),
        "a hint about the token: {stderr}"
    );
    assert!(
        stderr.contains("listing the refs of http://127.0.0.1:")
            && stderr.contains("authentication failed for http://127.0.0.1:"),
        "{stderr}"
    );
    assert_eq!(world.live_dry(0), None);
    assert_eq!(world.pulls_of(0).len(), 0);
}

fn a_wrong_token_refused_by_the_api_fails_verbosely_without_showing_the_token_anywhere(
    forge: Forge,
) {
    let mut world = World::new(forge, &["dev"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    // Git reads the bare repository from disk (docs/design.md §2 allows a local cloneUrl), so the first
    // thing the token meets is the REST API.
    let config = world.config("", &no_extra);
    let local = world.sandbox.repo_path(OWNER, NAME);
    let text = std::fs::read_to_string(&config).unwrap().replace(
        &world.sandbox.clone_url(OWNER, NAME),
        local.to_str().unwrap(),
    );
    std::fs::write(&config, text).unwrap();
    let wrong = "ghp_wrongTOKENvalue1234567890abcdef";

    let assert = world.promoter_with_token(&["reconcile", "-v"], wrong);
    let (stdout, stderr) = output(&assert);
    assert_eq!(
        assert.get_output().status.code(),
        Some(1),
        "{stdout}{stderr}"
    );
    let all = format!("{stdout}{stderr}");
    assert!(!all.contains(wrong) && !all.contains("wrongTOKEN"), "{all}");
    assert!(all.contains("401"), "{all}");
    assert!(
        all.contains("refused the token") && all.contains("PROMOTER_TOKEN"),
        "a hint about the token: {all}"
    );
    let requests = world.sandbox.requests();
    assert!(!requests.is_empty());
    for request in &requests {
        assert_eq!(request.status, 401, "{request:?}");
        assert!(
            !request.path.contains(wrong) && !request.query.contains(wrong),
            "{request:?}"
        );
    }
    // One PR lookup, refused; no retry of a 401, nothing written.
    assert_eq!(world.api().pr_lookups, 1, "{requests:?}");
    assert_eq!(world.api().total(), 1, "{requests:?}");
    assert_eq!(world.live_dry(0), None);
}

/// The repository refuses merge commits: GitHub `allow_merge_commit: false`, a GitLab project with
/// a fast-forward merge method, Gitea `allow_merge_commits: false`.
fn a_repository_without_merge_commits_blocks_the_environment_as_a_state_not_a_crash(forge: Forge) {
    // GitLab and Gitea answer 405 for many reasons, so their clients read the PR once to say which.
    let reads = usize::from(forge != Forge::Github);
    let mut world = World::new(forge, &["dev", "staging"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    world.config("", &no_extra);
    world
        .sandbox
        .set_allow_merge_commit(OWNER, NAME, false)
        .unwrap();

    let (stdout, stderr) = output(&world.reconcile().success());
    assert_eq!(world.live_dry(0), None);
    assert!(stdout.contains("blocked"), "{stdout}");
    assert!(stdout.contains("merge commits"), "{stdout}");
    assert_eq!(world.open_pulls_of(0).len(), 1);
    // The open PRs of every environment that needs one come from one listing (observe.rs).
    let mut expected = world.budget(1, 2, 2, 0, 1, 1);
    expected.pr_reads = reads;
    assert_eq!(world.api(), expected, "{:?}", world.writes());
    assert!(stderr.contains("refused"), "{stderr}");

    // promoter keeps no state: the next pass tries the merge again (the setting may have
    // changed) and reports the same state in JSON.
    world.clear();
    let (json, _) = output(&world.promoter(&["reconcile", "--output", "json"]).success());
    let json: serde_json::Value = serde_json::from_str(&json).expect("reconcile json");
    let dev = &json["strategies"][0]["environments"][0]["summary"];
    assert_eq!(dev["phase"], "blocked", "{json:#}");
    let reason = dev["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("the SCM refused the merge: ") && reason.contains("merge commits"),
        "{json:#}"
    );
    // One listing for both environments' PRs (observe.rs).
    let mut expected = world.budget(1, 2, 0, 0, 1, 0);
    expected.pr_reads = reads;
    assert_eq!(world.api(), expected, "{:?}", world.writes());

    world
        .sandbox
        .set_allow_merge_commit(OWNER, NAME, true)
        .unwrap();
    world.clear();
    world.reconcile().success();
    assert_eq!(world.live_dry(0).as_deref(), Some(dry.as_str()));
    assert_eq!(world.live_dry(1).as_deref(), Some(dry.as_str()));
}

fn a_commit_pushed_after_observation_is_never_merged_unverified(forge: Forge) {
    let mut world = World::new(forge, &["dev"]);
    let first = world.dry_change("first");
    world.hydrate_all(&first);
    world.config("", &no_extra);
    let observed = world.staging_tip(0);
    // The merge request waits 1.5 s at the forge; meanwhile the hydrator pushes a new commit.
    world.sandbox.inject(
        Fault::new(forge.merge_method(), &forge.merge_glob())
            .delay(std::time::Duration::from_millis(1500)),
    );
    let second = world.dry_change("second");

    let pushed = std::thread::scope(|scope| {
        let run = scope.spawn(|| world.reconcile().success());
        while world.pulls_of(0).is_empty() {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let pushed = world.hydrate(0, &second);
        let (stdout, _) = output(&run.join().expect("reconcile thread"));
        assert!(
            stdout.contains("moved after its gates were read"),
            "{stdout}"
        );
        pushed
    });
    assert_eq!(world.live_dry(0), None, "nothing merged");
    let (status, body) = merge_bodies(&world).pop().expect("a merge request");
    assert_eq!(status, 409);
    assert_eq!(
        body[forge.merge_guard_field()].as_str(),
        Some(observed.as_str())
    );

    world.clear();
    world.reconcile().success();
    assert_eq!(world.live_dry(0).as_deref(), Some(second.as_str()));
    let parents = world
        .sandbox
        .parents(OWNER, NAME, &world.live_tip(0))
        .unwrap();
    assert_eq!(
        parents[1], pushed,
        "the new head, after its gates were read"
    );
    // Lookup, gate read on the new head, PATCH (new title), merge.
    assert_eq!(
        world.api(),
        world.budget(1, 1, 0, 1, 1, 0),
        "{:?}",
        world.writes()
    );
}

fn a_failed_merge_fails_its_environment_with_exit_1_and_the_next_pass_recovers(forge: Forge) {
    let mut world = World::new(forge, &["dev", "staging"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    world.config("", &no_extra);
    world.sandbox.inject(
        Fault::new(forge.merge_method(), &forge.merge_glob())
            .status(500)
            .body(r#"{"message":"Server Error"}"#),
    );

    let (stdout, _) = output(&world.reconcile().code(1));
    assert_eq!(world.live_dry(0), None);
    assert!(stdout.contains("failure"), "{stdout}");
    let row = stdout
        .lines()
        .find(|l| l.contains("environment/dev ") && l.contains("failure"))
        .expect("a failure row for dev");
    // The context is said once, with the PR, the SHA, the repository and the answer.
    assert_eq!(
        row.matches(&format!("merging {} at ", forge.pr_named(1)))
            .count(),
        1,
        "{row}"
    );
    assert!(
        row.contains(&format!(
            "in acme/deploy: {} {} answered 500",
            forge.merge_method(),
            forge.merge_path(1)
        )),
        "{row}"
    );
    assert_eq!(
        world.previous_gate(1),
        Some((
            "pending".to_owned(),
            "Waiting for `environment/dev` to be promoted".to_owned()
        ))
    );
    // The open PRs of every environment that needs one come from one listing (observe.rs).
    // The merge is not sent twice blindly: the PR is re-read once to see whether it merged.
    let mut expected = world.budget(1, 2, 2, 0, 1, 1);
    expected.pr_reads = 1;
    assert_eq!(world.api(), expected, "{:?}", world.writes());

    world.clear();
    world.reconcile().success();
    assert_eq!(world.live_dry(1).as_deref(), Some(dry.as_str()));
    assert_eq!(world.pulls_of(0).len(), 1);
    // One listing for both environments' PRs (observe.rs).
    assert_eq!(
        world.api(),
        world.budget(1, 2, 0, 1, 2, 1),
        "{:?}",
        world.writes()
    );
}

per_forge!(
    every_merge_carries_the_observed_head_and_a_409_leaves_nothing_broken_for_the_next_pass,
    a_forks_pull_request_with_the_same_head_branch_is_neither_adopted_nor_touched,
    a_missing_staging_branch_fails_its_environment_by_name_and_the_others_are_reconciled,
    server_errors_and_rate_limits_still_complete_the_promotion_within_two_passes_without_a_duplicate_pr,
    a_wrong_token_fails_verbosely_without_showing_the_token_anywhere,
    a_wrong_token_refused_by_the_api_fails_verbosely_without_showing_the_token_anywhere,
    a_repository_without_merge_commits_blocks_the_environment_as_a_state_not_a_crash,
    a_commit_pushed_after_observation_is_never_merged_unverified,
    a_failed_merge_fails_its_environment_with_exit_1_and_the_next_pass_recovers,
);
