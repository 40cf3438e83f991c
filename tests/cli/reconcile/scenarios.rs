//! Numbered scenarios of issue 5.

use super::{Forge, World, output};

fn no_extra(_: usize) -> String {
    String::new()
}

fn three_environments_without_gates_promote_in_one_pass(forge: Forge) {
    let mut world = World::new(forge, &["dev", "staging", "prod"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    world.config("", &no_extra);

    let out = world.reconcile().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    for env in 0..3 {
        assert_eq!(
            world.live_dry(env).as_deref(),
            Some(dry.as_str()),
            "env {env}\n{stdout}"
        );
        let tip = world.tip(&world.envs[env]);
        assert_eq!(
            world
                .sandbox
                .parents(super::OWNER, super::NAME, &tip)
                .unwrap()
                .len(),
            2,
            "a merge commit"
        );
    }
    let pulls = world.sandbox.pulls(super::OWNER, super::NAME).unwrap();
    assert_eq!(pulls.len(), 3, "{pulls:#?}");
    // Per environment: one PR lookup, one gate read, create, merge; previous-environment success
    // written on staging and prod.
    // The open PRs of every environment that needs one come from one listing (observe.rs).
    assert_eq!(
        world.api(),
        world.budget(1, 3, 3, 0, 3, 2),
        "{:?}",
        world.writes()
    );

    // A second pass over the unchanged world writes nothing and asks the SCM nothing.
    world.sandbox.clear_requests();
    world.reconcile().success();
    assert_eq!(world.api_requests(), Vec::<String>::new());
    // The merges moved the live branches, so that pass fetched them once; the next one fetches nothing.
    assert_eq!(world.fetches(), 1);
    world.sandbox.clear_requests();
    world.reconcile().success();
    assert_eq!(world.writes(), Vec::<String>::new());
    assert_eq!(world.api_requests(), Vec::<String>::new());
    assert_eq!(world.fetches(), 0);
}

per_forge!(three_environments_without_gates_promote_in_one_pass,);

/// Bitbucket's requests beyond the per-forge budget, written out whole for one environment over
/// two passes (docs/bitbucket.md "Requests per pass"): the commit read resolving the short hash of
/// a PR found or opened, the guard read before the merge and the merge commit read after it.
#[test]
fn bitbucket_requests_beyond_the_budget_are_exactly_the_guard_reads_and_resolves() {
    let mut world = World::new(Forge::Bitbucket, &["dev"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    world.config(
        "    proposedCommitStatuses:\n      - key: scan\n",
        &no_extra,
    );
    let repo = "/2.0/repositories/acme/deploy";

    // Pass 1: no PR yet; one is opened; `scan` is missing, so it waits.
    world.reconcile().success();
    let staging = world.staging_tip(0);
    let short = &staging.as_str()[..12];
    assert_eq!(
        world.api_requests(),
        [
            format!("GET {repo}/pullrequests"),
            format!("GET {repo}/commit/{staging}/statuses"),
            format!("POST {repo}/pullrequests"),
            // The opened PR's source hash, resolved: the one extra request of the pass.
            format!("GET {repo}/commit/{short}"),
        ]
    );
    assert_eq!(world.api(), world.budget(1, 1, 1, 0, 0, 0));

    // Pass 2: the gate passed; the PR is found and merged.
    world.report(&staging, "scan", "success");
    world.clear();
    let (stdout, stderr) = output(&world.reconcile().success());
    let live = world.live_tip(0);
    let merge_short = &live.as_str()[..12];
    assert_eq!(
        world.api_requests(),
        [
            format!("GET {repo}/pullrequests"),
            // The found PR's source hash, resolved.
            format!("GET {repo}/commit/{short}"),
            format!("GET {repo}/commit/{staging}/statuses"),
            // The description now says the gate passed; the answer's hash is the one resolved.
            format!("PUT {repo}/pullrequests/1"),
            // The guard read: the source is still the SHA whose gates were read.
            format!("GET {repo}/pullrequests/1"),
            format!("POST {repo}/pullrequests/1/merge"),
            // The check: the merge commit's second parent is that SHA.
            format!("GET {repo}/commit/{merge_short}"),
        ],
        "{stdout}{stderr}"
    );
    assert_eq!(world.api(), world.budget(1, 1, 0, 1, 1, 0));
    assert_eq!(world.live_dry(0).as_deref(), Some(dry.as_str()));
}

/// Without `cloneUrl`, Azure DevOps' clone URL follows from `apiUrl` and the path:
/// `{apiUrl}/{organization}/{project}/_git/{repository}`, which the sandbox serves as git does.
#[test]
fn azure_devops_fetches_through_the_derived_git_url() {
    let mut world = World::new(Forge::AzureDevops, &["dev"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    let config = world.config("", &no_extra);
    let text = std::fs::read_to_string(&config).unwrap();
    let without: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("cloneUrl:"))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_ne!(text, without, "the config named a cloneUrl");
    std::fs::write(&config, without).unwrap();

    world.reconcile().success();
    assert_eq!(world.live_dry(0).as_deref(), Some(dry.as_str()));
    let git: Vec<String> = world
        .sandbox
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/git-upload-pack"))
        .map(|r| r.path)
        .collect();
    assert!(!git.is_empty());
    assert!(
        git.iter()
            .all(|path| path == "/sandbox/acme/_git/deploy/git-upload-pack"),
        "{git:?}"
    );
}
