//! Numbered scenarios of issue 5.

use super::{Forge, World};

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
