//! Scenarios 8–12 of issue 5: the merge SHA guard (injected 409 and a real push after
//! observation), a fork's PR, a missing staging branch, a misbehaving forge (5xx, rate limits, a
//! failed merge, merge commits disabled) and a wrong token; request counts asserted exactly.

use sandbox::Fault;

use super::{Forge, Kind, NAME, OWNER, World, output};
use crate::support::clock::TestClock;

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
        // api-group-pullrequests, merge: 409 when a ref changed while merging (no head guard).
        Forge::Bitbucket => {
            r#"{"type":"error","error":{"message":"One of the refs involved changed while attempting to merge."}}"#
        }
        // Observed: 409 TF401192 when `lastMergeSourceCommit` is not the source head.
        Forge::AzureDevops => {
            r#"{"$id":"1","innerException":null,"message":"TF401192: The source branch has been modified since the last merge attempt.","typeName":"Microsoft.TeamFoundation.SourceControl.WebServer.GitPullRequestStaleException, Microsoft.TeamFoundation.SourceControl.WebServer","typeKey":"GitPullRequestStaleException","errorCode":0,"eventId":3000}"#
        }
        // REST reference "Merge pull request": 409 when the `version` sent is not the PR's.
        Forge::BitbucketServer => {
            r#"{"errors":[{"context":null,"message":"You are attempting to modify a pull request based on out-of-date information.","exceptionName":"com.atlassian.bitbucket.pull.PullRequestOutOfDateException"}]}"#
        }
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
                .and_then(|path| world.forge.classify(&r.method, path, &r.body))
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
    world
        .sandbox
        .inject(forge.merge_fault().status(409).body(head_moved(forge)));

    let (stdout, stderr) = output(&world.reconcile().success());
    if forge == Forge::BitbucketServer {
        // Bitbucket Data Center's 409 says the PR version is stale, not that the head moved: the
        // client reads the PR again, finds the observed head, and merges once more with the new
        // version in the same pass (the read counts as part of that merge).
        assert_eq!(
            world.live_dry(0).as_deref(),
            Some(dry.as_str()),
            "{stdout}{stderr}"
        );
        assert_eq!(world.api(), world.budget(1, 1, 1, 0, 2, 0));
        let merges = merge_bodies(&world);
        assert_eq!(merges.iter().map(|m| m.0).collect::<Vec<_>>(), [409, 200]);
        assert_eq!(
            world
                .sandbox
                .parents(OWNER, NAME, &world.live_tip(0))
                .unwrap()[1],
            head
        );
        return;
    }
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
        match forge.merge_guard(&body) {
            Some(guard) => assert_eq!(guard, head.as_str()),
            // Bitbucket Data Center's merge carries the PR version in its query instead.
            None if forge == Forge::BitbucketServer => {}
            // No guard field: the guard read before the merge is folded into it (World::api).
            None => {
                let keys: Vec<&String> = body.as_object().expect("an object").keys().collect();
                assert_eq!(
                    keys,
                    ["close_source_branch", "merge_strategy", "message", "type"],
                    "no head field: the guard read before the merge stands in for it"
                );
            }
        }
        match forge {
            Forge::Github => assert_eq!(body["merge_method"].as_str(), Some("merge")),
            Forge::Gitlab => assert_eq!(body["squash"].as_bool(), Some(false)),
            Forge::Gitea | Forge::Forgejo => assert_eq!(body["Do"].as_str(), Some("merge")),
            Forge::Bitbucket => {
                assert_eq!(body["merge_strategy"].as_str(), Some("merge_commit"));
            }
            Forge::AzureDevops => assert_eq!(
                body["completionOptions"]["mergeStrategy"].as_str(),
                Some("noFastForward")
            ),
            Forge::BitbucketServer => assert_eq!(body["strategyId"].as_str(), Some("no-ff")),
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
    let merge_limit = forge.merge_fault().header("retry-after", "1");
    world.sandbox.inject(match forge {
        // GitHub's secondary rate limit is a 403 (docs "Rate limits for the REST API").
        Forge::Github => merge_limit.status(403).body(r#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}"#),
        _ => merge_limit.status(429).body(r#"{"message":"429 Too Many Requests"}"#),
    });

    // In this process on a test clock: the backoffs and `retry-after` waits take no real time.
    let clock = TestClock::now();
    let first = world.reconcile_on(&clock);
    let (stdout, stderr) = (&first.report, format!("waits: {:?}", clock.slept()));
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
    assert!(first.success(), "{stdout}{stderr}");
    // The two `retry-after: 1` were waited for, on the pass's clock.
    assert!(
        clock.slept().iter().sum::<std::time::Duration>() >= std::time::Duration::from_secs(2),
        "{stderr}"
    );
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

/// The retry path through the binary on the real clock, once per forge: a 429 whose
/// `retry-after: 0` is honoured at once (the per-forge scenario above runs in this process on a
/// test clock, docs/design.md §11 "Time in tests").
#[test]
fn through_the_binary_a_rate_limited_create_is_sent_again_when_the_forge_says() {
    for forge in [Forge::Github, Forge::Gitlab, Forge::Gitea, Forge::Forgejo] {
        let mut world = World::new(forge, &["dev"]);
        let dry = world.dry_change("bump replicas");
        world.hydrate_all(&dry);
        world.config("", &no_extra);
        world.sandbox.inject(
            Fault::new("POST", &forge.pulls_path())
                .status(429)
                .header("retry-after", "0")
                .body(r#"{"message":"API rate limit exceeded"}"#),
        );
        world.promotes(&["reconcile"], dry.as_str());
        assert_eq!(
            world.statuses_of("POST", &forge.pulls_path()),
            [429, 201],
            "{forge:?}"
        );
        assert_eq!(world.pulls_of(0).len(), 1, "{forge:?}");
    }
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
    // GitLab and Gitea answer 405 for many reasons, so their clients read the PR once to say which;
    // Bitbucket's 400 names the strategy; Bitbucket Data Center's client reads the merge check
    // for the veto reasons.
    let reads = usize::from(!matches!(forge, Forge::Github | Forge::Bitbucket));
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
    if !forge.guards_merge_by_head() {
        return a_commit_pushed_between_the_guard_read_and_the_merge_fails_loudly(forge);
    }
    let mut world = World::new(forge, &["dev"]);
    let first = world.dry_change("first");
    world.hydrate_all(&first);
    world.config("", &no_extra);
    let observed = world.staging_tip(0);
    // The merge request waits at the forge until the hydrator has pushed a new commit.
    let (arrived, merge_arrived) = std::sync::mpsc::channel::<()>();
    let (pushed_tx, pushed_rx) = std::sync::mpsc::channel::<()>();
    let pushed_rx = std::sync::Mutex::new(pushed_rx);
    world.sandbox.inject(forge.merge_fault().before(move || {
        let _ = arrived.send(());
        let _ = pushed_rx.lock().unwrap().recv();
    }));
    let second = world.dry_change("second");

    let pushed = std::thread::scope(|scope| {
        let run = scope.spawn(|| world.reconcile().success());
        // A guard against a pass that never merges, not a timing assertion.
        merge_arrived
            .recv_timeout(std::time::Duration::from_secs(300))
            .expect("the merge request reached the forge");
        let pushed = world.hydrate(0, &second);
        pushed_tx.send(()).unwrap();
        let (stdout, _) = output(&run.join().expect("reconcile thread"));
        assert!(
            stdout.contains("moved after its gates were read"),
            "{stdout}"
        );
        pushed
    });
    assert_eq!(world.live_dry(0), None, "nothing merged");
    match merge_bodies(&world).pop() {
        Some((status, body)) => {
            assert_eq!(status, 409);
            if forge != Forge::BitbucketServer {
                assert_eq!(forge.merge_guard(&body), Some(observed.as_str()));
            }
        }
        // The push landed before the read that precedes a Bitbucket Data Center merge: the head
        // check refused it without a merge request.
        None => assert!(forge.reads_before_merge(), "a merge request"),
    }

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

/// A commit on `branch` of the sandbox's bare repository with the tip's tree, written straight
/// into it (as a push would) from inside the forge.
fn push_in_place(bare: &std::path::Path, branch: &str) -> String {
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .arg("--git-dir")
            .arg(bare)
            .args(args)
            .env("GIT_AUTHOR_NAME", "hydrator")
            .env("GIT_AUTHOR_EMAIL", "hydrator@example.invalid")
            .env("GIT_COMMITTER_NAME", "hydrator")
            .env("GIT_COMMITTER_EMAIL", "hydrator@example.invalid")
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let reference = format!("refs/heads/{branch}");
    let tip = git(&["rev-parse", &reference]);
    let tree = git(&["rev-parse", &format!("{tip}^{{tree}}")]);
    let new = git(&[
        "commit-tree",
        &tree,
        "-p",
        &tip,
        "-m",
        "pushed during the merge",
    ]);
    git(&["update-ref", &reference, &new, &tip]);
    new
}

/// Bitbucket's merge carries no head SHA (docs/bitbucket.md): a push that lands after the client's
/// guard read and before the forge merges is merged. The client's check of the merge commit's
/// second parent then fails the environment loudly, naming the SHA whose gates were read and the
/// one merged. Deterministic: the push happens inside the forge, when the merge request arrives.
fn a_commit_pushed_between_the_guard_read_and_the_merge_fails_loudly(forge: Forge) {
    let mut world = World::new(forge, &["dev"]);
    let first = world.dry_change("first");
    world.hydrate_all(&first);
    world.config("", &no_extra);
    let observed = world.staging_tip(0);
    let bare = world.sandbox.repo_path(OWNER, NAME);
    let staging = world.staging(0);
    let pushed = std::sync::Arc::new(std::sync::Mutex::new(None));
    let seen = pushed.clone();
    world.sandbox.inject(
        Fault::new(forge.merge_method(), &forge.merge_glob()).before(move || {
            *seen.lock().unwrap() = Some(push_in_place(&bare, &staging));
        }),
    );

    let assert = world.reconcile().code(1);
    let (stdout, stderr) = output(&assert);
    let pushed = pushed
        .lock()
        .unwrap()
        .clone()
        .expect("pushed during the merge");
    let parents = world
        .sandbox
        .parents(OWNER, NAME, &world.live_tip(0))
        .unwrap();
    assert_eq!(parents[1].as_str(), pushed, "Bitbucket merged the new head");
    let all = format!("{stdout}{stderr}");
    assert!(
        all.contains(observed.as_str()) && all.contains(&pushed) && all.contains("second parent"),
        "{all}"
    );
    // Lookup, gate read, create (+ resolve), guard read, merge, the merge commit read.
    assert_eq!(
        world.api(),
        world.budget(1, 1, 1, 0, 1, 0),
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
        forge
            .merge_fault()
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
            "in {}: {} {} answered 500",
            forge.full_name(),
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

/// Azure DevOps sends its HTML sign-in page (203) for a credential it does not accept when a
/// client does not ask for a 401: an authentication error with a hint, never a JSON decoding
/// error, and the token nowhere in the output.
#[test]
fn an_azure_devops_sign_in_page_is_an_authentication_error_with_a_hint() {
    let forge = Forge::AzureDevops;
    let mut world = World::new(forge, &["dev"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    world.config("", &no_extra);
    world.sandbox.inject(
        Fault::new("GET", &forge.pulls_path())
            .status(203)
            .header("content-type", "text/html; charset=utf-8")
            .body("<html><head><title>Azure DevOps Services | Sign In</title></head></html>"),
    );
    let (stdout, stderr) = output(&world.reconcile().code(1));
    assert!(
        stderr.contains("answered 203: a sign-in page instead of JSON"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: Azure DevOps did not accept the credential"),
        "{stderr}"
    );
    assert!(!stdout.contains(super::TOKEN) && !stderr.contains(super::TOKEN));
    assert_eq!(world.live_dry(0), None);
}
