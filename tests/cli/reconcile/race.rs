//! Issue 11, item 9: two runners at once, each with its own git cache. Runner B observes, and
//! just as it asks the forge to open the PR, runner A runs a whole pass (opens the PR and merges
//! it): the forge refuses B's create because the staging branch is already in the live branch.
//! That is "already promoted", not an error: B re-reads the live branch and reports the state.
//!
//! Deterministic: A runs inside the forge, in a hook on B's create request, before the forge
//! answers it.

use std::sync::{Arc, Mutex};

use sandbox::Fault;

use super::{Forge, TOKEN, World, output};

fn the_runner_that_loses_the_race_reports_the_environment_promoted(forge: Forge) {
    let mut world = World::new(forge, &["dev", "staging"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    world.config("", &|_| String::new());

    let runner_a = Mutex::new(Some(world.process_with_cache(
        &["reconcile"],
        TOKEN,
        &world.dir.path().join("cache-a"),
    )));
    let a_output = Arc::new(Mutex::new(None));
    let a_seen = a_output.clone();
    // The first create is B's (the fault is used up before A runs): A's pass happens between B's
    // observation and the forge's answer to B.
    world
        .sandbox
        .inject(Fault::new("POST", &forge.pulls_path()).before(move || {
            if let Some(mut command) = runner_a.lock().unwrap().take() {
                *a_seen.lock().unwrap() = Some(command.output().unwrap());
            }
        }));

    let b = world.reconcile();
    let (stdout, stderr) = output(&b);
    let a = a_output.lock().unwrap().take().expect("runner A ran");
    assert!(
        a.status.success(),
        "runner A: {}",
        String::from_utf8_lossy(&a.stderr)
    );
    assert_eq!(b.get_output().status.code(), Some(0), "{stdout}{stderr}");
    assert!(!stderr.contains("error:"), "{stderr}");
    for env in 0..2 {
        assert_eq!(world.live_dry(env).as_deref(), Some(dry.as_str()));
        assert_eq!(world.pulls_of(env).len(), 1, "A's PR only");
        assert!(world.open_pulls_of(env).is_empty());
    }
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|line| line.trim_start().starts_with("environment/"))
        .collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    for row in rows {
        assert!(row.contains("promoted"), "{stdout}");
    }
    assert!(
        stdout.contains("another run"),
        "says why nothing was opened: {stdout}"
    );

    // A: per environment a lookup, a gate read, a create and a merge, plus staging's
    // previous-environment status. B observed both environments before A wrote anything: per
    // environment a lookup, a gate read and the refused create, plus staging's status, which
    // B read as missing and writes again with the same state after re-reading dev.
    // Each runner reads both environments' PRs from one listing (observe.rs): 1 + 1. On GitHub
    // each runner reads its two staging tips by REST (below the GraphQL threshold).
    let mut expected = world.budget(1 + 1, 2 + 2, 2 + 2, 0, 2, 1 + 1);
    if forge == Forge::Github {
        expected.gate_queries = 0;
        expected.gate_reads = 4;
        expected.gate_read_seconds = 4;
    }
    assert_eq!(world.api(), expected, "{:?}", world.writes());
}

/// The SCM says "no commits between" but git shows the staging branch is not in the live branch:
/// the refusal is believed only when git confirms it, so this is the environment's error, tried
/// once.
#[test]
fn a_head_in_base_refusal_that_git_contradicts_fails_the_environment_once() {
    let mut world = World::new(Forge::Github, &["dev"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    world.config("", &|_| String::new());
    world.sandbox.inject(
        Fault::new("POST", &Forge::Github.pulls_path())
            .status(422)
            .body(r#"{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"No commits between environment/dev and acme:environment/dev-next"}]}"#),
    );

    let (_, stderr) = output(&world.reconcile().code(1));
    assert!(
        stderr.contains("error: strategy app, environment/dev:")
            && stderr.contains("No commits between"),
        "{stderr}"
    );
    assert_eq!(world.live_dry(0), None);
    assert_eq!(world.api(), world.budget(1, 1, 1, 0, 0, 0));
}

// Azure DevOps' REST API opens a PR whose source is already in its target instead of refusing
// it, so the race does not end in a refusal there (docs/azure-devops.md, known limits).
per_forge!(without azure_devops: the_runner_that_loses_the_race_reports_the_environment_promoted);
