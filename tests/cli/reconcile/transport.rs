//! Issue 11, item 8: transient git failures (5xx on the ref listing, the fetch or the push) are
//! retried like API ones — bounded, with backoff, within `--max-wait` — while refusals are not,
//! and a push whose answer was lost is re-observed through its compare-and-swap guard, never
//! blindly repeated.

use sandbox::Fault;

use super::{Forge, NAME, OWNER, World, output};
use crate::support::clock::TestClock;

const INFO_REFS: &str = "/acme/deploy.git/info/refs";
const UPLOAD_PACK: &str = "/acme/deploy.git/git-upload-pack";
const RECEIVE_PACK: &str = "/acme/deploy.git/git-receive-pack";

fn bad_gateway(method: &str, path: &str) -> Fault {
    Fault::new(method, path)
        .status(502)
        .header("content-type", "text/html")
        .body("<html><body>502 Bad Gateway</body></html>")
}

/// `dev` with a change to promote.
fn world_with_a_change() -> (World, String) {
    let mut world = World::new(Forge::Github, &["dev"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    world.config("", &|_| String::new());
    (world, dry.as_str().to_owned())
}

/// The pass completes as if nothing happened, with the API requests of a pass without faults.
fn promotes_with_the_usual_api_requests(world: &World, dry: &str, args: &[&str]) -> String {
    let (_, stderr) = world.promotes(args, dry);
    assert_eq!(world.api(), world.budget(1, 1, 1, 0, 1, 0));
    stderr
}

#[test]
fn one_502_on_the_ref_listing_is_retried_and_the_pass_completes() {
    let (world, dry) = world_with_a_change();
    world.sandbox.inject(bad_gateway("GET", INFO_REFS));
    let stderr = promotes_with_the_usual_api_requests(&world, &dry, &["reconcile", "-v"]);
    assert!(
        stderr.contains("retrying after a transient git failure: listing the refs of")
            && stderr.contains("502"),
        "the verbose log says why git was tried again: {stderr}"
    );
    // The token goes with the first request (no 401 challenge): the 502, then the retry.
    let listings = world.statuses_of("GET", INFO_REFS);
    assert_eq!(listings[..2], [502, 200], "{listings:?}");
}

#[test]
fn a_502_and_a_429_on_the_fetch_are_retried_and_the_pass_completes() {
    let (world, dry) = world_with_a_change();
    world.sandbox.inject(bad_gateway("POST", UPLOAD_PACK));
    world.sandbox.inject(
        Fault::new("POST", UPLOAD_PACK)
            .status(429)
            .body("Too Many Requests"),
    );
    // In this process on a test clock: git's two backoffs take no real time.
    let clock = TestClock::now();
    let run = world.reconcile_on(&clock);
    assert!(run.success(), "{}", run.report);
    assert_eq!(world.live_dry(0).as_deref(), Some(dry.as_str()));
    assert_eq!(world.api(), world.budget(1, 1, 1, 0, 1, 0));
    assert_eq!(world.statuses_of("POST", UPLOAD_PACK), [502, 429, 200]);
    assert_eq!(clock.slept().len(), 2, "one backoff per failed try");
}

#[test]
fn a_refused_listing_is_not_retried() {
    let (world, _) = world_with_a_change();
    world
        .sandbox
        .inject(Fault::new("GET", INFO_REFS).status(403).body("Forbidden"));
    let (stdout, stderr) = output(&world.reconcile().code(1));
    assert!(stderr.contains("403"), "{stdout}{stderr}");
    assert_eq!(world.sandbox.count_requests("GET", INFO_REFS), 1);
    assert_eq!(world.live_dry(0), None);
}

#[test]
fn without_wait_budget_a_502_on_the_listing_fails_the_pass_at_once() {
    let (world, _) = world_with_a_change();
    world.sandbox.inject(bad_gateway("GET", INFO_REFS));
    let (stdout, stderr) = output(&world.promoter(&["reconcile", "--max-wait", "0"]).code(1));
    assert!(
        stderr.contains("listing the refs of") && stderr.contains("502"),
        "{stdout}{stderr}"
    );
    assert_eq!(world.sandbox.count_requests("GET", INFO_REFS), 1);
}

/// `dev` whose live branch got a hotfix touching the hydrated file: the pass pushes an ours-merge
/// to the staging branch. Returns `(staging tip, live tip)` before the pass.
fn world_with_a_conflict() -> (World, (sandbox::Sha, sandbox::Sha)) {
    let (world, _) = world_with_a_change();
    world.hotfix_live(0);
    let before = (world.staging_tip(0), world.live_tip(0));
    (world, before)
}

/// The staging branch ends in exactly one ours-merge of the tips seen before the pass.
fn staging_has_one_ours_merge(world: &World, (staging, live): &(sandbox::Sha, sandbox::Sha)) {
    let tip = world.staging_tip(0);
    let parents = world.sandbox.parents(OWNER, NAME, &tip).unwrap();
    assert_eq!(parents, vec![staging.clone(), live.clone()]);
}

#[test]
fn a_502_on_the_push_is_retried_through_the_old_tip_guard() {
    let (world, before) = world_with_a_conflict();
    world.sandbox.inject(bad_gateway("POST", RECEIVE_PACK));
    let (stdout, stderr) = output(&world.reconcile().success());
    assert!(
        stdout.contains("Merge") || stderr.contains("Resolving"),
        "{stdout}{stderr}"
    );
    staging_has_one_ours_merge(&world, &before);
    assert_eq!(world.statuses_of("POST", RECEIVE_PACK), [502, 200]);
}

#[test]
fn a_push_whose_answer_was_lost_is_re_observed_and_not_sent_again() {
    let (world, before) = world_with_a_conflict();
    world
        .sandbox
        .inject(bad_gateway("POST", RECEIVE_PACK).ghost());
    let (stdout, stderr) = output(&world.reconcile().success());
    assert!(!stdout.contains("moved on the remote"), "{stdout}{stderr}");
    staging_has_one_ours_merge(&world, &before);
    // The push landed on the first try; the retry saw it in the ref listing and sent nothing.
    assert_eq!(world.sandbox.count_requests("POST", RECEIVE_PACK), 1);
}
