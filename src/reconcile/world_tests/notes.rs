//! Note-only (no-op) environments: upstream scenarios 21–24 of upstream internal/controller/promotionstrategy_controller_test.go, #1319 (no skipping
//! health through no-ops) and #1428 (a note on an old tip does not count).

use super::*;

fn healthy(world: &mut World, name: &str) {
    let tip = world.live_tip(name);
    world.report(&tip, "health", GateState::Success);
}

fn prev_env_description(world: &World, name: &str) -> String {
    world
        .status(&world.staging_tip(name), "promoter-previous-environment")
        .map(|s| s.description)
        .unwrap_or_default()
}

fn chain() -> World {
    World::new(&[
        env("dev").active("health"),
        env("staging").active("health"),
        env("prod").active("health"),
    ])
}

#[test]
fn scenario_21_out_of_order_hydration_waits_for_the_hydrator_then_promotes() {
    let mut world = chain();
    healthy(&mut world, "dev");
    world.hydrate("staging", 'b');
    world.pass_then_stable();
    assert_eq!(
        prev_env_description(&world, "staging"),
        "Waiting for the hydrator to process bbbbbbb for `environment/dev`"
    );
    assert_eq!(world.live_dry("staging"), Some(dry('a')));
    world.hydrate("dev", 'b');
    world.pass_then_stable();
    assert_eq!(world.live_dry("dev"), Some(dry('b')));
    assert_eq!(world.live_dry("staging"), Some(dry('a')));
    healthy(&mut world, "dev");
    world.pass_then_stable();
    assert_eq!(world.live_dry("staging"), Some(dry('b')));
}

#[test]
fn scenario_22_a_note_only_previous_environment_unblocks_the_next() {
    let mut world = chain();
    healthy(&mut world, "dev");
    world.hydrate("staging", 'b');
    world.pass_then_stable();
    assert_eq!(world.live_dry("staging"), Some(dry('a')));
    world.note_only("dev", 'b');
    world.pass_then_stable();
    assert_eq!(
        world.live_dry("dev"),
        Some(dry('a')),
        "nothing to promote in dev"
    );
    assert_eq!(world.live_dry("staging"), Some(dry('b')));
    assert_eq!(
        world
            .status(
                &world.staging_tip("staging"),
                "promoter-previous-environment"
            )
            .unwrap()
            .state,
        GateState::Success
    );
}

#[test]
fn scenario_23_a_change_only_for_staging_lets_prod_take_its_older_change() {
    let mut world = chain();
    for name in ["dev", "staging", "prod"] {
        world.hydrate(name, 'b');
    }
    world.pass_then_stable();
    healthy(&mut world, "dev");
    world.pass_then_stable();
    assert_eq!(world.live_dry("staging"), Some(dry('b')));
    assert_eq!(world.live_dry("prod"), Some(dry('a')));
    // C changes only staging; dev and prod get notes.
    world.note_only("dev", 'c');
    world.hydrate("staging", 'c');
    world.note_only("prod", 'c');
    world.pass_then_stable();
    assert_eq!(
        world.live_dry("staging"),
        Some(dry('c')),
        "dev is a healthy no-op for c"
    );
    assert_eq!(world.live_dry("prod"), Some(dry('a')));
    assert_eq!(
        prev_env_description(&world, "prod"),
        "Waiting for `health` on `environment/staging`"
    );
    healthy(&mut world, "staging");
    world.pass_then_stable();
    // prod's effective target is c (note); staging has c live and healthy; prod merges its b.
    assert_eq!(world.live_dry("prod"), Some(dry('b')));
}

#[test]
fn scenario_24_prod_waits_for_dev_through_a_no_op_staging() {
    let mut world = chain();
    world.hydrate("dev", 'b');
    world.note_only("staging", 'b');
    world.hydrate("prod", 'b');
    world.pass_then_stable();
    assert_eq!(world.live_dry("dev"), Some(dry('b')));
    assert_eq!(world.live_dry("prod"), Some(dry('a')));
    assert_eq!(
        prev_env_description(&world, "prod"),
        "Waiting for `health` on `environment/staging`"
    );
    healthy(&mut world, "staging");
    world.pass_then_stable();
    assert_eq!(
        world.live_dry("prod"),
        Some(dry('a')),
        "dev is not healthy yet"
    );
    assert_eq!(
        prev_env_description(&world, "prod"),
        "Waiting for `health` on `environment/dev`"
    );
    healthy(&mut world, "dev");
    world.pass_then_stable();
    assert_eq!(world.live_dry("prod"), Some(dry('b')));
}

#[test]
fn a_newer_all_no_op_change_never_skips_an_unhealthy_environment() {
    // upstream #1319
    let mut world = chain();
    world.note_only("dev", 'c');
    world.note_only("staging", 'c');
    world.hydrate("prod", 'c');
    healthy(&mut world, "dev");
    let staging_live = world.live_tip("staging");
    world.report(&staging_live, "health", GateState::Failure);
    world.pass_then_stable();
    assert_eq!(world.live_dry("prod"), Some(dry('a')));
    assert_eq!(
        prev_env_description(&world, "prod"),
        "Waiting for `health` on `environment/staging`"
    );
    healthy(&mut world, "staging");
    world.pass_then_stable();
    assert_eq!(world.live_dry("prod"), Some(dry('c')));
}

#[test]
fn a_note_on_an_older_staging_commit_does_not_count() {
    // upstream #1428: only the note on the current staging tip is read.
    let mut world = chain();
    healthy(&mut world, "dev");
    world.note_only("dev", 'b'); // on dev's current staging tip (dry a)
    world.hydrate("staging", 'b');
    let observed = world.observe();
    let dev_git = observed.environments[0].git.as_ref().unwrap();
    assert_eq!(dev_git.effective_dry_sha(), Some(&dry('b')));
    // The hydrator then pushes a new commit to dev: the note on the old tip no longer applies.
    world.hydrate("dev", 'd');
    let observed = world.observe();
    let dev_git = observed.environments[0].git.as_ref().unwrap();
    assert_eq!(dev_git.effective_dry_sha(), Some(&dry('d')));
    world.pass_then_stable();
    assert_eq!(world.live_dry("staging"), Some(dry('a')));
    assert_eq!(
        prev_env_description(&world, "staging"),
        "Waiting for the hydrator to process bbbbbbb for `environment/dev`"
    );
}
