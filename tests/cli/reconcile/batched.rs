//! Issue 14, batched reads and free waiting (docs/performance.md): the gates of many commits in
//! one GitHub GraphQL query and REST without it, a waiting environment whose inputs did not change
//! answered by `304 Not Modified` alone, and a damaged validator file that only costs a full read.

use sandbox::Fault;

use super::{Forge, World, output};

fn no_extra(_: usize) -> String {
    String::new()
}

const HEALTH: &str = "    activeCommitStatuses:\n      - key: health\n";

/// dev promoted, prod waiting for `health` on dev's live tip.
fn prod_waiting_for_health() -> World {
    let mut world = World::new(Forge::Github, &["dev", "prod"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    world.config(HEALTH, &no_extra);
    let (stdout, _) = output(&world.reconcile().success());
    assert_eq!(world.live_dry(0).as_deref(), Some(dry.as_str()), "{stdout}");
    assert_eq!(world.live_dry(1), None, "{stdout}");
    world
}

#[test]
fn a_second_pass_over_an_unchanged_waiting_environment_gets_only_304s() {
    let world = prod_waiting_for_health();
    // The first waiting pass reads prod's PR, prod's staging tip and dev's live tip in full: the
    // PR lookup and dev's live tip were not read before (the merge made it).
    world.clear();
    world.reconcile().success();
    assert_eq!(world.writes(), Vec::<String>::new());
    // Nothing changed since: every read is asked conditionally and answered 304, so the pass
    // costs nothing against GitHub's rate limit. 1 PR lookup + 2 commits × (statuses, check runs).
    world.clear();
    world.reconcile().success();
    assert_eq!(world.writes(), Vec::<String>::new());
    assert_eq!(world.api(), world.budget(1, 2, 0, 0, 0, 0));
    assert_eq!(
        world.not_modified(),
        world.api().total(),
        "{:?}",
        world.api()
    );

    // Health posted on dev: the check of dev's live tip changed (200), the rest is still 304,
    // and prod promotes.
    world.report(&world.live_tip(0), "health", "success");
    world.clear();
    world.reconcile().success();
    assert_eq!(world.live_dry(1), world.live_dry(0));
    assert!(world.not_modified() < world.api().total());
}

#[test]
fn a_damaged_validator_file_is_a_warning_and_the_read_is_sent_in_full() {
    let world = prod_waiting_for_health();
    world.clear();
    world.reconcile().success();
    let http = world.dir.path().join("cache").join("http");
    let files: Vec<_> = std::fs::read_dir(&http)
        .expect("the validators are kept in <cache>/http")
        .map(|entry| entry.unwrap().path())
        .collect();
    assert!(!files.is_empty());
    for file in &files {
        std::fs::write(file, b"{\"url\": 12, garbage").unwrap();
    }

    world.clear();
    let (_, stderr) = output(&world.reconcile().success());
    assert!(
        stderr.contains("ignoring the damaged conditional-request cache file"),
        "{stderr}"
    );
    assert_eq!(world.writes(), Vec::<String>::new());
    // Sent in full (no validator to send), and the answers replace the damaged files.
    assert_eq!(world.not_modified(), 0);
    assert_eq!(world.api(), world.budget(1, 2, 0, 0, 0, 0));

    world.clear();
    let (_, stderr) = output(&world.reconcile().success());
    assert!(!stderr.contains("damaged"), "{stderr}");
    assert_eq!(world.not_modified(), world.api().total());
}

#[test]
fn the_gates_of_three_commits_are_one_graphql_query() {
    let mut world = World::new(Forge::Github, &["dev", "staging", "prod"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    world.config("", &no_extra);
    let (stdout, _) = output(&world.reconcile().success());
    assert_eq!(world.live_dry(2).as_deref(), Some(dry.as_str()), "{stdout}");
    let queries: Vec<_> = world
        .sandbox
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/graphql")
        .collect();
    assert_eq!(queries.len(), 1);
    assert_eq!(queries[0].status, 200);
    // One aliased object per staging tip, read in the order of the environments.
    for env in 0..3 {
        let head = world.pulls_of(env)[0].head_sha.clone();
        assert!(queries[0].body.contains(&head), "{}", queries[0].body);
    }
    assert_eq!(world.api(), world.budget(1, 3, 3, 0, 3, 2));
}

#[test]
fn without_graphql_the_gates_are_read_by_rest() {
    let mut world = World::new(Forge::Github, &["dev", "staging", "prod"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    world.config("", &no_extra);
    // GitHub Enterprise Server with the GraphQL API turned off answers 404.
    world.sandbox.inject(
        Fault::new("POST", "/api/graphql")
            .times(10)
            .status(404)
            .body(r#"{"message":"Not Found"}"#),
    );
    let (stdout, _) = output(&world.reconcile().success());
    assert_eq!(world.live_dry(2).as_deref(), Some(dry.as_str()), "{stdout}");
    // The refused query, then each commit's statuses and check runs by REST.
    let mut expected = world.budget(1, 0, 3, 0, 3, 2);
    expected.gate_queries = 1;
    expected.gate_reads = 3;
    expected.gate_read_seconds = 3;
    assert_eq!(world.api(), expected);
}
