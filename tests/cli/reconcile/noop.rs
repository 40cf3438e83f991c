//! Scenario 13 of issue 5: note-only (no-op) environments between environments that change —
//! upstream scenarios 21–24 (upstream internal/controller/promotionstrategy_controller_test.go). The hydrator's no-op is a git note
//! `{"drySha": …}` on the unchanged staging tip ([`sandbox::Sandbox::hydrate_noop`]).

use sandbox::Sha;

use super::{Forge, NAME, OWNER, World};

const HEALTH: &str = "    activeCommitStatuses:\n      - key: health\n";

fn no_extra(_: usize) -> String {
    String::new()
}

fn pending(description: &str) -> Option<(String, String)> {
    Some(("pending".to_owned(), description.to_owned()))
}

/// dev, staging, prod with an active `health` gate and change `A` live and healthy everywhere.
fn promoted_world(forge: Forge) -> (World, Sha) {
    let mut world = World::new(forge, &["dev", "staging", "prod"]);
    let a = world.dry_change("change A");
    world.hydrate_all(&a);
    world.config(HEALTH, &no_extra);
    for _ in 0..3 {
        world.reconcile().success();
        for env in 0..3 {
            world.report(&world.live_tip(env), "health", "success");
        }
    }
    for env in 0..3 {
        assert_eq!(
            world.live_dry(env).as_deref(),
            Some(a.as_str()),
            "env {env}"
        );
    }
    (world, a)
}

/// The description a pending status shows after the planner's reason changed from `first` to
/// `now`: GitLab keeps the first one until the state changes (see `Forge::keeps_pending_descriptions`).
fn pending_now<'a>(forge: Forge, first: &'a str, now: &'a str) -> &'a str {
    if forge.keeps_pending_descriptions() {
        first
    } else {
        now
    }
}

fn noop(world: &World, env: usize, dry: &Sha) {
    world
        .sandbox
        .hydrate_noop(OWNER, NAME, &world.staging(env), dry)
        .expect("note");
}

fn upstream_21_out_of_order_hydration_waits_for_the_hydrator_then_for_dev(forge: Forge) {
    let (mut world, _a) = promoted_world(forge);
    let b = world.dry_change("change B");
    world.hydrate(1, &b);

    world.clear();
    world.reconcile().success();
    assert_eq!(
        world.previous_gate(1),
        pending(&format!(
            "Waiting for the hydrator to process {} for `environment/dev`",
            b.short()
        ))
    );
    assert_ne!(world.live_dry(1).as_deref(), Some(b.as_str()));
    // staging only: PR lookup, gate read, create, pending status.
    assert_eq!(
        world.api(),
        world.budget(1, 1, 1, 0, 0, 1),
        "{:?}",
        world.writes()
    );

    world.hydrate(0, &b);
    world.reconcile().success();
    assert_eq!(world.live_dry(0).as_deref(), Some(b.as_str()));
    let hydrator = format!(
        "Waiting for the hydrator to process {} for `environment/dev`",
        b.short()
    );
    assert_eq!(
        world.previous_gate(1),
        pending(pending_now(
            forge,
            &hydrator,
            "Waiting for `health` on `environment/dev`"
        ))
    );
    world.report(&world.live_tip(0), "health", "success");
    world.reconcile().success();
    assert_eq!(world.live_dry(1).as_deref(), Some(b.as_str()));
}

fn upstream_22_a_dev_that_only_got_a_note_lets_staging_promote(forge: Forge) {
    let (mut world, a) = promoted_world(forge);
    let b = world.dry_change("change B");
    world.hydrate(1, &b);
    noop(&world, 0, &b);

    world.clear();
    world.reconcile().success();
    assert_eq!(
        world.live_dry(0).as_deref(),
        Some(a.as_str()),
        "dev has nothing to promote"
    );
    assert_eq!(world.live_dry(1).as_deref(), Some(b.as_str()));
    assert_eq!(world.pulls_of(0).len(), 1, "no new PR for the no-op dev");
    // staging: lookup, its gate read, dev's live health; create, success status, merge.
    assert_eq!(
        world.api(),
        world.budget(1, 2, 1, 0, 1, 1),
        "{:?}",
        world.writes()
    );
}

fn upstream_23_a_change_only_for_staging_lets_prod_promote_its_own_content_after_staging(
    forge: Forge,
) {
    let mut world = World::new(forge, &["dev", "staging", "prod"]);
    let a = world.dry_change("change A");
    world.hydrate_all(&a);
    world.config(HEALTH, &no_extra);
    world.reconcile().success();
    world.report(&world.live_tip(0), "health", "success");
    world.reconcile().success();
    assert_eq!(world.live_dry(1).as_deref(), Some(a.as_str()));
    assert_eq!(world.live_dry(2), None, "prod waits for health on staging");

    // B changes only staging; dev and prod get notes.
    let b = world.dry_change("change B");
    world.hydrate(1, &b);
    noop(&world, 0, &b);
    noop(&world, 2, &b);
    world.clear();
    world.reconcile().success();
    assert_eq!(
        world.live_dry(1).as_deref(),
        Some(b.as_str()),
        "staging promotes B"
    );
    assert_eq!(world.live_dry(2), None);
    assert_eq!(
        world.previous_gate(2),
        pending(pending_now(
            forge,
            "Waiting for `environment/staging` to be promoted",
            "Waiting for `health` on `environment/staging`"
        ))
    );

    world.report(&world.live_tip(1), "health", "success");
    world.reconcile().success();
    assert_eq!(
        world.live_dry(2).as_deref(),
        Some(a.as_str()),
        "prod merges its staging content (A), whose effective target B is live in staging"
    );
}

fn upstream_24_prod_waits_for_dev_through_a_no_op_staging(forge: Forge) {
    let (mut world, a) = promoted_world(forge);
    let b = world.dry_change("change B");
    world.hydrate(0, &b);
    world.hydrate(2, &b);
    noop(&world, 1, &b);

    world.clear();
    world.reconcile().success();
    assert_eq!(world.live_dry(0).as_deref(), Some(b.as_str()));
    assert_eq!(world.live_dry(1).as_deref(), Some(a.as_str()));
    assert_eq!(world.live_dry(2).as_deref(), Some(a.as_str()));
    assert_eq!(
        world.previous_gate(2),
        pending("Waiting for `health` on `environment/dev`")
    );
    // dev: lookup, gate read, create, merge; prod: lookup, gate read, staging's live health,
    // create, pending status.
    // The open PRs of every environment that needs one come from one listing (observe.rs).
    let mut expected = world.budget(1, 3, 2, 0, 1, 1);
    if forge == Forge::Github {
        // One of the three commits was read last pass: its reads go out conditionally (REST);
        // the two fresh commits are below the GraphQL threshold, so all three are REST reads.
        expected.gate_queries = 0;
        expected.gate_reads = 3;
        expected.gate_read_seconds = 3;
    }
    assert_eq!(world.api(), expected, "{:?}", world.writes());

    world.report(&world.live_tip(0), "health", "success");
    world.clear();
    world.reconcile().success();
    assert_eq!(
        world.live_dry(2).as_deref(),
        Some(b.as_str()),
        "prod promotes after dev"
    );
    // prod: lookup, its gate read, staging's and dev's live health; PATCH (gate table), success
    // status, merge.
    let mut expected = world.budget(1, 3, 0, 1, 1, 1);
    if forge == Forge::Github {
        // The three commits were all read last pass: REST, asked conditionally.
        expected.gate_queries = 0;
        expected.gate_reads = 3;
        expected.gate_read_seconds = 3;
    }
    assert_eq!(world.api(), expected, "{:?}", world.writes());
    assert_eq!(
        world.open_pulls_of(1).len(),
        0,
        "the no-op staging gets no PR"
    );
}

per_forge!(
    upstream_21_out_of_order_hydration_waits_for_the_hydrator_then_for_dev,
    upstream_22_a_dev_that_only_got_a_note_lets_staging_promote,
    upstream_23_a_change_only_for_staging_lets_prod_promote_its_own_content_after_staging,
    upstream_24_prod_waits_for_dev_through_a_no_op_staging,
);
