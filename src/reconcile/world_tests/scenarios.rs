//! Whole-pass planner scenarios (docs/design.md §3; upstream scenarios of internal/controller/promotionstrategy_controller_test.go): ordering, gates, idempotency, conflicts,
//! manual merges, new changes mid-promotion.

use time::macros::datetime;

use super::*;
use crate::reconcile::plan::Phase;

fn three_envs(active: Option<&str>) -> Vec<EnvSpec> {
    ["dev", "staging", "prod"]
        .into_iter()
        .map(|n| match active {
            Some(key) => env(n).active(key),
            None => env(n),
        })
        .collect()
}

fn hydrate_all(world: &mut World, c: char) {
    for name in ["dev", "staging", "prod"] {
        world.hydrate(name, c);
    }
}

#[test]
fn three_environments_without_gates_promote_in_one_pass_in_order() {
    let mut world = World::new(&three_envs(None));
    hydrate_all(&mut world, 'b');
    let plans = world.pass_then_stable();
    assert_eq!(
        world.take_calls(),
        [
            "find-pr environment/dev",
            "statuses environment/dev-next",
            "find-pr environment/staging",
            "statuses environment/staging-next",
            "find-pr environment/prod",
            "statuses environment/prod-next",
            "create-pr environment/dev",
            "merge #1",
            "write-status promoter-previous-environment=success 0000005",
            "create-pr environment/staging",
            "merge #2",
            "write-status promoter-previous-environment=success 0000006",
            "create-pr environment/prod",
            "merge #3",
        ]
    );
    for name in ["dev", "staging", "prod"] {
        assert_eq!(world.live_dry(name), Some(dry('b')), "{name}");
    }
    assert_eq!(world.prs.len(), 3);
    assert!(
        world.refreshes.is_empty(),
        "without a soak gate the merge answer's SHA is recorded, no fetch"
    );
    assert!(plans.iter().all(|p| p.summary.phase == Phase::Promoted));
    // Steady state: a whole pass reads nothing from the SCM and writes nothing.
    world.pass();
    assert_eq!(world.take_calls(), Vec::<String>::new());
}

#[test]
fn an_active_gate_lets_one_environment_advance_per_healthy_report() {
    let mut world = World::new(&three_envs(Some("health")));
    hydrate_all(&mut world, 'b');
    let plans = world.pass_then_stable();
    assert_eq!(world.live_dry("dev"), Some(dry('b')));
    assert_eq!(world.live_dry("staging"), Some(dry('a')));
    let staging_gate = world
        .status(
            &world.staging_tip("staging"),
            "promoter-previous-environment",
        )
        .unwrap();
    assert_eq!(staging_gate.state, GateState::Pending);
    assert_eq!(
        staging_gate.description,
        "Waiting for `health` on `environment/dev`"
    );
    let prod_gate = world
        .status(&world.staging_tip("prod"), "promoter-previous-environment")
        .unwrap();
    assert_eq!(
        prod_gate.description,
        "Waiting for `environment/staging` to be promoted"
    );
    assert_eq!(plans[1].summary.phase, Phase::Pending);
    assert!(world.open_pr("staging").is_some() && world.open_pr("prod").is_some());

    // Health on an old commit does not count; only on dev's live tip.
    let old_dev = world.staging_tip("staging");
    world.report(&old_dev, "health", GateState::Success);
    world.take_calls();
    world.pass_then_stable();
    assert_eq!(world.live_dry("staging"), Some(dry('a')));
    assert_eq!(
        world.take_calls(),
        [
            "statuses environment/dev",
            "find-pr environment/staging",
            "statuses environment/staging-next",
            "find-pr environment/prod",
            "statuses environment/prod-next"
        ]
    );

    let dev_live = world.live_tip("dev");
    world.report(&dev_live, "health", GateState::Success);
    world.pass_then_stable();
    assert_eq!(world.live_dry("staging"), Some(dry('b')));
    assert_eq!(world.live_dry("prod"), Some(dry('a')));
    assert_eq!(
        world
            .status(&world.staging_tip("prod"), "promoter-previous-environment")
            .unwrap()
            .description,
        "Waiting for `health` on `environment/staging`"
    );

    let staging_live = world.live_tip("staging");
    world.report(&staging_live, "health", GateState::Failure);
    world.pass_then_stable();
    assert_eq!(
        world.live_dry("prod"),
        Some(dry('a')),
        "a failing health check holds prod"
    );
    world.report(&staging_live, "health", GateState::Success);
    world.pass_then_stable();
    assert_eq!(world.live_dry("prod"), Some(dry('b')));
    assert_eq!(world.prs.len(), 3, "one PR per environment");
}

#[test]
fn a_proposed_gate_blocks_the_merge_until_it_succeeds_on_the_staging_tip() {
    let mut world = World::new(&[env("dev").proposed("scan")]);
    world.hydrate("dev", 'b');
    let plans = world.pass_then_stable();
    assert_eq!(plans[0].summary.phase, Phase::Pending);
    assert_eq!(
        plans[0].summary.reason,
        "`scan`: waiting for `scan` to be reported"
    );
    let tip = world.staging_tip("dev");
    world.report(&tip, "scan", GateState::Pending);
    world.pass_then_stable();
    world.report(&tip, "scan", GateState::Failure);
    let plans = world.pass_then_stable();
    assert_eq!(plans[0].summary.phase, Phase::Blocked);
    assert!(
        world
            .open_pr("dev")
            .unwrap()
            .body
            .contains("| `scan` | failure |")
    );
    assert_eq!(world.live_dry("dev"), Some(dry('a')));
    // A check run named `<key>/<branch>` counts, and the newest word per name wins.
    world.report(&tip, "scan", GateState::Success);
    world.report(&tip, "scan/environment/dev", GateState::Pending);
    world.pass_then_stable();
    assert_eq!(world.live_dry("dev"), Some(dry('a')));
    world.report(&tip, "scan/environment/dev", GateState::Success);
    world.pass_then_stable();
    assert_eq!(world.live_dry("dev"), Some(dry('b')));
    let (number, head, message) = world.merges.last().unwrap().clone();
    assert_eq!(
        head, tip,
        "the merge is guarded by the observed staging tip"
    );
    assert!(message.contains(&format!("Pull-request-id: {}", number.0)));
    assert!(message.contains("Commit-status-proposed-scan-phase: success"));
}

#[test]
fn a_new_change_mid_promotion_updates_the_same_prs_and_restarts_the_order() {
    let mut world = World::new(&three_envs(Some("health")));
    hydrate_all(&mut world, 'b');
    world.pass_then_stable();
    let staging_pr = world.open_pr("staging").unwrap();
    hydrate_all(&mut world, 'c');
    world.take_calls();
    world.pass_then_stable();
    let calls = world.take_calls();
    assert!(
        calls.contains(&format!("update-pr {}", staging_pr.number)),
        "{calls:?}"
    );
    assert_eq!(world.live_dry("dev"), Some(dry('c')));
    let now_open = world.open_pr("staging").unwrap();
    assert_eq!(now_open.number, staging_pr.number, "the same PR is reused");
    assert!(now_open.title.starts_with("Promote ccccccc"));
    for name in ["dev", "staging", "prod"] {
        let env = &world.config.strategies[0].environments[world.index(name)];
        let open = world
            .prs
            .iter()
            .filter(|p| p.open && p.base == env.branch)
            .count();
        assert!(open <= 1, "{name} has {open} open PRs");
    }
    // Health for b on dev's old live tip no longer counts; staging waits for c to be healthy.
    assert_eq!(world.live_dry("staging"), Some(dry('a')));
    let dev_live = world.live_tip("dev");
    world.report(&dev_live, "health", GateState::Success);
    world.pass_then_stable();
    assert_eq!(world.live_dry("staging"), Some(dry('c')));
}

#[test]
fn a_conflict_plans_only_the_ours_merge_and_the_next_pass_promotes() {
    let mut world = World::new(&[env("dev"), env("staging")]);
    world.hydrate("dev", 'b');
    world.hydrate("staging", 'b');
    world.conflict("dev");
    let plans = world.pass();
    assert_eq!(kinds(&plans[0]), ["push-ours"]);
    let Action::PushOursMerge { message, .. } = &plans[0].steps[0].action else {
        panic!()
    };
    assert_eq!(
        message,
        "Merge environment/dev into environment/dev-next (ours)"
    );
    // No SCM read for dev: the PR head is about to change.
    assert_eq!(
        world.take_calls(),
        [
            "find-pr environment/staging",
            "statuses environment/staging-next",
            "push-ours environment/dev",
            "write-status promoter-previous-environment=pending 0000004",
            "create-pr environment/staging",
        ]
    );
    assert_eq!(world.live_dry("dev"), Some(dry('a')));
    assert_eq!(
        world.live_dry("staging"),
        Some(dry('a')),
        "staging waits for dev"
    );
    world.pass_then_stable();
    assert_eq!(world.live_dry("dev"), Some(dry('b')));
    assert_eq!(world.live_dry("staging"), Some(dry('b')));
}

#[test]
fn with_auto_merge_off_the_pr_is_kept_up_to_date_and_a_persons_merge_is_picked_up() {
    let mut world = World::new(&[env("dev").manual()]);
    world.hydrate("dev", 'b');
    let plans = world.pass_then_stable();
    assert_eq!(
        plans[0].summary.reason,
        "every gate passed; waiting for a person to merge #1"
    );
    world.hydrate("dev", 'c');
    world.pass_then_stable();
    assert!(
        world.merges.is_empty(),
        "promoter never merges a manual environment"
    );
    assert!(world.open_pr("dev").unwrap().title.contains("ccccccc"));
    world.merge_by_hand("dev");
    world.take_calls();
    let plans = world.pass_then_stable();
    assert_eq!(plans[0].summary.phase, Phase::Promoted);
    assert_eq!(world.take_calls(), Vec::<String>::new());
}

#[test]
fn an_environment_with_nothing_to_promote_keeps_its_previous_environment_status() {
    // upstream #597: a promoted environment's status must not flip when the previous one does.
    let mut world = World::new(&[env("dev").active("health"), env("staging")]);
    world.hydrate("dev", 'b');
    world.hydrate("staging", 'b');
    world.pass_then_stable();
    let dev_live = world.live_tip("dev");
    world.report(&dev_live, "health", GateState::Success);
    world.pass_then_stable();
    assert_eq!(world.live_dry("staging"), Some(dry('b')));
    let staging_tip = world.staging_tip("staging");
    let before = world
        .status(&staging_tip, "promoter-previous-environment")
        .unwrap();
    assert_eq!(before.state, GateState::Success);
    world.report(&dev_live, "health", GateState::Pending);
    world.take_calls();
    world.pass_then_stable();
    assert_eq!(world.take_calls(), Vec::<String>::new());
    assert_eq!(
        world
            .status(&staging_tip, "promoter-previous-environment")
            .unwrap(),
        before
    );
}

#[test]
fn soak_time_holds_the_next_environment_until_the_live_commit_is_old_enough() {
    let mut world = World::new(&[env("dev").soak("soak", 30 * 60), env("staging")]);
    world.hydrate("dev", 'b');
    world.hydrate("staging", 'b');
    world.pass_then_stable();
    assert_eq!(world.live_dry("dev"), Some(dry('b')));
    assert_eq!(
        world.refreshes,
        [branch("environment/dev")],
        "the soak counts from the merge commit's time, read back from git"
    );
    world.now = datetime!(2026-03-01 09:10:00 UTC);
    world.pass_then_stable();
    let dev_live = world.live_tip("dev");
    let soak = world.status(&dev_live, "soak").unwrap();
    assert_eq!(
        (soak.state, soak.description.as_str()),
        (GateState::Pending, "soaking until 2026-03-01T09:30:00Z")
    );
    world.now = datetime!(2026-03-01 09:29:59 UTC);
    world.take_calls();
    world.pass_then_stable();
    assert!(
        !world.take_calls().iter().any(|c| c.starts_with("write")),
        "nothing changed"
    );
    assert_eq!(world.live_dry("staging"), Some(dry('a')));
    world.now = datetime!(2026-03-01 09:30:00 UTC);
    world.pass_then_stable();
    assert_eq!(
        world.status(&dev_live, "soak").unwrap().state,
        GateState::Success
    );
    assert_eq!(world.live_dry("staging"), Some(dry('b')));
}

#[test]
fn an_open_pr_with_nothing_to_promote_is_left_alone_and_reported() {
    let mut world = World::new(&[env("dev")]);
    let mut observed = world.observe();
    let git = observed.environments[0].git.clone().unwrap();
    observed.environments[0].scm.pull_request = PrLookup::Open(PullRequest {
        number: PrNumber(7),
        url: "https://github.com/acme/deploy/pull/7".into(),
        title: "hand made".into(),
        body: String::new(),
        head_sha: git.staging_tip.clone(),
        head_branch: branch("environment/dev-next"),
        base_branch: branch("environment/dev"),
        labels: Vec::new(),
    });
    let plan = plan_environment(&world.config, &observed, 0, world.now);
    assert_eq!(kinds(&plan), ["note"]);
    assert!(!plan.has_writes());
    assert_eq!(plan.summary.phase, Phase::Promoted);
    assert!(
        plan.summary
            .reason
            .contains("#7 is open with nothing to promote; left alone")
    );
}

#[test]
fn no_merge_while_the_scm_shows_an_older_head_than_the_observed_staging_tip() {
    let mut world = World::new(&[env("dev")]);
    world.hydrate("dev", 'b');
    world.pass(); // creates and merges #1
    world.hydrate("dev", 'c');
    let mut observed = world.observe();
    observed.environments[0].scm.pull_request = PrLookup::Open(PullRequest {
        number: PrNumber(9),
        url: "u".into(),
        title: String::new(),
        body: String::new(),
        head_sha: dry('e'),
        head_branch: branch("environment/dev-next"),
        base_branch: branch("environment/dev"),
        labels: Vec::new(),
    });
    let plan = plan_environment(&world.config, &observed, 0, world.now);
    assert_eq!(kinds(&plan), ["update-pr"]);
    assert!(
        plan.summary
            .reason
            .starts_with("waiting for the SCM to show")
    );
}

#[test]
fn missing_staging_metadata_fails_the_environment_and_later_ones_wait() {
    let mut world = World::new(&[env("dev"), env("staging")]);
    world.hydrate("staging", 'b');
    let mut observed = world.observe();
    {
        let git = observed.environments[0].git.as_mut().unwrap();
        git.staging_dry = None;
        git.staging_tip = dry('f');
        git.note_dry_sha = Some(dry('b'));
    }
    let dev = plan_environment(&world.config, &observed, 0, world.now);
    assert_eq!(dev.summary.phase, Phase::Failure);
    assert!(
        dev.summary
            .reason
            .contains("no hydrator.metadata with a drySha on `environment/dev-next` (fffffff)"),
        "{}",
        dev.summary.reason
    );
    assert!(
        dev.summary
            .reason
            .contains("a note says the hydrator processed bbbbbbb")
    );
    assert!(dev.steps.is_empty());
    observed.environments[0].git = None;
    observed.environments[0].error =
        Some("environment/dev-next does not exist: the hydrator has not pushed it".into());
    let dev = plan_environment(&world.config, &observed, 0, world.now);
    assert_eq!(
        (dev.summary.phase, dev.summary.reason.as_str()),
        (
            Phase::Failure,
            "environment/dev-next does not exist: the hydrator has not pushed it"
        )
    );
    let staging = plan_environment(&world.config, &observed, 1, world.now);
    assert_eq!(
        staging.summary.proposed_gates[0].description,
        "Waiting for `environment/dev` to be promoted"
    );
}

#[test]
fn a_previous_environment_status_is_rewritten_only_when_state_or_description_changes() {
    let mut world = World::new(&[env("dev").active("health"), env("staging")]);
    world.hydrate("dev", 'b');
    world.hydrate("staging", 'b');
    world.pass_then_stable();
    let tip = world.staging_tip("staging");
    // Someone rewrote it with another description: the planner puts its own back.
    world.report(&tip, "promoter-previous-environment", GateState::Pending);
    let observed = world.observe();
    let plan = plan_environment(&world.config, &observed, 1, world.now);
    assert_eq!(kinds(&plan), ["write-status"]);
    assert_eq!(
        plan.steps[0].reason,
        format!(
            "`promoter-previous-environment` on the staging tip {} has a new description",
            tip.short()
        )
    );
}

#[test]
fn a_status_whose_description_the_scm_cannot_change_is_rewritten_only_when_its_state_changes() {
    let mut world = World::new(&[env("dev").active("health"), env("staging")]);
    world.hydrate("dev", 'b');
    world.hydrate("staging", 'b');
    world.pass_then_stable();
    let tip = world.staging_tip("staging");
    // GitLab keeps a pending status's first description: the planner does not fight it.
    world.report(&tip, "promoter-previous-environment", GateState::Pending);
    world.fix_description(&tip, "promoter-previous-environment");
    let observed = world.observe();
    let plan = plan_environment(&world.config, &observed, 1, world.now);
    assert!(kinds(&plan).is_empty(), "{:?}", plan.steps);

    // The state still changes: health on dev's live tip makes the gate success.
    let dev_live = world.live_tip("dev");
    world.report(&dev_live, "health", GateState::Success);
    let observed = world.observe();
    let plan = plan_environment(&world.config, &observed, 1, world.now);
    assert_eq!(kinds(&plan)[0], "write-status", "{:?}", plan.steps);
}

#[test]
fn every_scm_read_is_skipped_where_the_plan_does_not_need_it() {
    let mut world = World::new(&[
        env("dev").active("health"),
        env("staging").active("health"),
        env("prod"),
    ]);
    world.hydrate("prod", 'b');
    world.note_only("dev", 'b');
    world.note_only("staging", 'b');
    world.observe();
    // prod has something to promote; dev and staging are healthy no-ops it passes through.
    assert_eq!(
        world.take_calls(),
        [
            "statuses environment/dev",
            "statuses environment/staging",
            "find-pr environment/prod",
            "statuses environment/prod-next"
        ]
    );
}

#[test]
fn a_long_status_description_is_cut_to_140_characters_and_not_rewritten() {
    const LONG: &str = "a-region-with-a-very-long-name-because-someone-encoded-the-cluster-the-team-and-the-cost-centre-into-it-and-then-some";
    let mut world = World::new(&[env(LONG), env("staging")]);
    world.hydrate("staging", 'b');
    world.pass_then_stable();
    let written = world
        .status(
            &world.staging_tip("staging"),
            "promoter-previous-environment",
        )
        .unwrap();
    assert_eq!(written.description.chars().count(), 140);
    assert!(
        written
            .description
            .starts_with("Waiting for the hydrator to process bbbbbbb for `environment/a-region")
    );
    assert!(written.description.ends_with('…'));
}

#[test]
fn a_hold_label_keeps_a_ready_pr_unmerged_and_removing_it_resumes() {
    let mut world = World::new(&[env("dev").proposed("scan")]);
    world.hydrate("dev", 'b');
    world.pass_then_stable();
    let number = world.open_pr("dev").unwrap().number;
    let labels = |world: &mut World, labels: &[&str]| {
        let pr = world.prs.iter_mut().find(|p| p.number == number).unwrap();
        pr.labels = labels.iter().map(|l| (*l).to_owned()).collect();
    };
    labels(&mut world, &["promoter:hold"]);
    let tip = world.staging_tip("dev");
    world.report(&tip, "scan", GateState::Success);
    let plans = world.pass_then_stable();
    assert_eq!(
        plans[0].summary.reason,
        "held: #1 has the `promoter:hold` label; remove it to resume"
    );
    assert!(world.merges.is_empty(), "a held PR is never merged");
    labels(&mut world, &["infra"]);
    world.pass_then_stable();
    assert_eq!(world.live_dry("dev"), Some(dry('b')));
}

/// A write budget splits one pass's writes over several passes without changing them: the same
/// calls in the same order, each pass stopping where its budget ends and the next going on from
/// what it reads (docs/design.md §3 "Write budget").
#[test]
fn a_write_budget_spreads_the_same_writes_over_passes() {
    let mut unlimited = World::new(&three_envs(None));
    hydrate_all(&mut unlimited, 'b');
    unlimited.pass();
    let all_writes: Vec<String> = unlimited
        .take_calls()
        .into_iter()
        .filter(|c| !c.starts_with("find-pr") && !c.starts_with("statuses"))
        .collect();

    let mut world = World::new(&three_envs(None));
    hydrate_all(&mut world, 'b');
    let mut writes_by_pass = Vec::new();
    for _ in 0..4 {
        let limits = WriteLimits::for_provider(Provider::Gitea, Some(3));
        let outcomes = world.pass_with(&mut WritePacer::new(
            limits,
            std::sync::Arc::new(crate::scm::http::SystemClock),
            crate::scm::http::WaitBudget::new(
                Duration::ZERO,
                std::sync::Arc::new(crate::scm::http::SystemClock),
            ),
        ));
        let deferred: Vec<&str> = outcomes
            .iter()
            .filter(|o| !o.deferred.is_empty())
            .map(|o| o.plan.branch.as_str())
            .collect();
        writes_by_pass.push((
            world
                .take_calls()
                .into_iter()
                .filter(|c| !c.starts_with("find-pr") && !c.starts_with("statuses"))
                .collect::<Vec<_>>(),
            deferred.join(" "),
        ));
    }
    assert_eq!(
        writes_by_pass,
        [
            (
                all_writes[..3].to_vec(),
                "environment/staging environment/prod".to_owned()
            ),
            (all_writes[3..6].to_vec(), "environment/prod".to_owned()),
            (all_writes[6..].to_vec(), String::new()),
            (Vec::new(), String::new()),
        ]
    );
    for name in ["dev", "staging", "prod"] {
        assert_eq!(world.live_dry(name), Some(dry('b')), "{name}");
    }
}
