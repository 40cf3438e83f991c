//! Issue 15 end to end: a `promoter:hold` label on a ready promotion PR keeps it unmerged, every
//! report (text and `--output json`) says why and names the label, and removing the label lets the
//! next pass merge, with the same requests per pass as without a label (the label comes with the
//! PR promoter looks up anyway). Forges whose PRs carry labels only (docs/gates.md "Holding").

use super::{Forge, NAME, World, output};

const HOLD: &str = "promoter:hold";

fn a_ready_pr_with_the_hold_label_waits_until_the_label_is_removed(forge: Forge) {
    let mut world = World::new(forge, &["dev"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    world.config("    proposedCommitStatuses:\n      - key: scan\n", &|_| {
        String::new()
    });
    let head = world.staging_tip(0);

    // Pass 1 opens the PR, which waits for `scan`. A person labels it (beside an unrelated
    // label), and then `scan` passes: the PR is ready.
    world.reconcile().success();
    let number = world.open_pulls_of(0)[0].number;
    world
        .sandbox
        .set_pull_labels(world.owner, NAME, number, &["team/payments", HOLD])
        .expect("labels");
    world.report(&head, "scan", "success");

    // Pass 2: the gate table is brought up to date (one PATCH), and the merge waits.
    world.clear();
    let (stdout, _) = output(&world.reconcile().success());
    assert_eq!(world.live_dry(0), None, "held: {stdout}");
    assert_eq!(world.open_pulls_of(0).len(), 1, "{stdout}");
    assert!(
        stdout.contains(&format!("has the `{HOLD}` label; remove it to resume")),
        "the report says held and names the label: {stdout}"
    );
    assert!(stdout.contains("held: "), "{stdout}");
    assert_eq!(
        world.api(),
        world.budget(1, 1, 0, 1, 0, 0),
        "held, text updated"
    );

    // Pass 3, as JSON: still held, nothing written.
    world.clear();
    let out = world.promoter(&["reconcile", "--output", "json"]).success();
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let dev = &json["strategies"][0]["environments"][0];
    let reason = dev["summary"]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("held: ") && reason.contains(&format!("`{HOLD}` label")),
        "{dev:#}"
    );
    assert_eq!(dev["done"].as_array().map(Vec::len), Some(0), "{dev:#}");
    assert_eq!(world.live_dry(0), None);
    assert_eq!(world.api(), world.budget(1, 1, 0, 0, 0, 0), "held, steady");

    // The label is removed (the other stays): the next pass merges the head whose gate passed.
    world
        .sandbox
        .set_pull_labels(world.owner, NAME, number, &["team/payments"])
        .expect("label removed");
    world.clear();
    let (stdout, _) = output(&world.reconcile().success());
    assert_eq!(world.live_dry(0).as_deref(), Some(dry.as_str()), "{stdout}");
    assert!(!stdout.contains("held"), "{stdout}");
    let merged = world.pulls_of(0);
    assert_eq!(merged.len(), 1);
    assert!(merged[0].merged.is_some(), "{merged:#?}");
    assert_eq!(world.api(), world.budget(1, 1, 0, 0, 1, 0), "resumed");
}

per_forge!(with pr labels: a_ready_pr_with_the_hold_label_waits_until_the_label_is_removed);
