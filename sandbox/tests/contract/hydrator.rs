//! The sandbox's hydrator helper: hydrated commits with `hydrator.metadata`, and no-op notes.

use sandbox::Sha;
use sandbox::{CommitSpec, Hydration};

use super::{NAME, OWNER, api, forge, repo_path};

#[test]
fn a_hydration_commits_rendered_files_and_metadata_naming_the_dry_sha() {
    let forge = forge();
    let sandbox = &forge.sandbox;
    let dry = sandbox
        .commit(
            OWNER,
            NAME,
            "main",
            &CommitSpec::new("bump").file("values.yaml", "v: 3\n"),
        )
        .expect("dry commit");
    let hydration = Hydration::new("environment/dev", &dry)
        .file("app.yaml", "v: 3\n")
        .subject("bump");
    assert_eq!(hydration.staging_branch(), "environment/dev-next");
    let tip = sandbox.hydrate(OWNER, NAME, &hydration).expect("hydrate");
    assert_eq!(
        sandbox
            .branch_tip(OWNER, NAME, "environment/dev-next")
            .expect("tip"),
        Some(tip.clone())
    );
    assert_eq!(
        sandbox.parents(OWNER, NAME, &tip).expect("parents"),
        vec![forge.staging.clone()]
    );
    let metadata = sandbox
        .read_file(OWNER, NAME, &tip, "hydrator.metadata")
        .expect("read")
        .expect("metadata present");
    let metadata: serde_json::Value = serde_json::from_str(&metadata).expect("JSON");
    assert_eq!(metadata["drySha"], dry.as_str());
    assert_eq!(metadata["subject"], "bump");
    assert_eq!(metadata["repoURL"], sandbox.clone_url(OWNER, NAME));
    assert_eq!(metadata["date"], "2023-11-14T22:13:20Z");
    // A PR opened on the staging branch now shows the hydrated tip as its head.
    let number = super::open_dev_pull(&forge);
    let pull = api(&forge, "GET", &repo_path(&format!("/pulls/{number}")), None).json();
    assert_eq!(pull["head"]["sha"], tip.as_str());
}

#[test]
fn a_monorepo_hydration_writes_under_the_active_path_and_starts_from_the_live_branch() {
    let forge = forge();
    let sandbox = &forge.sandbox;
    let dry = Sha::parse(&"d".repeat(40)).expect("sha");
    let hydration = Hydration::new("environment/dev", &dry)
        .active_path("apps/guestbook")
        .file("deploy.yaml", "kind: Deployment\n");
    assert_eq!(
        hydration.staging_branch(),
        "environment/dev-next/apps/guestbook"
    );
    // `environment/dev-next` exists as a branch in the fixture, so the nested one cannot; use prod.
    sandbox
        .create_branch(OWNER, NAME, "environment/prod", "main")
        .expect("branch");
    let hydration = Hydration {
        branch: "environment/prod".to_owned(),
        ..hydration
    };
    let tip = sandbox.hydrate(OWNER, NAME, &hydration).expect("hydrate");
    assert_eq!(
        sandbox.parents(OWNER, NAME, &tip).expect("parents"),
        vec![forge.live.clone()]
    );
    let read = |path: &str| sandbox.read_file(OWNER, NAME, &tip, path).expect("read");
    assert!(
        read("apps/guestbook/hydrator.metadata")
            .expect("metadata")
            .contains(dry.as_str())
    );
    assert_eq!(
        read("apps/guestbook/deploy.yaml").as_deref(),
        Some("kind: Deployment\n")
    );
    assert_eq!(read("app.yaml").as_deref(), Some("v: 1\n"));
    assert_eq!(read("hydrator.metadata"), None);
}

#[test]
fn a_noop_hydration_notes_the_dry_sha_on_the_staging_tip() {
    let forge = forge();
    let sandbox = &forge.sandbox;
    let dry = Sha::parse(&"e".repeat(40)).expect("sha");
    let tip = sandbox
        .hydrate_noop(OWNER, NAME, "environment/dev-next", &dry)
        .expect("note");
    assert_eq!(tip, forge.staging);
    let note = sandbox
        .read_note(OWNER, NAME, &tip)
        .expect("read")
        .expect("note present");
    let note: serde_json::Value = serde_json::from_str(&note).expect("JSON");
    assert_eq!(note, serde_json::json!({"drySha": dry.as_str()}));
    assert!(
        sandbox
            .hydrate_noop(OWNER, NAME, "missing-next", &dry)
            .is_err()
    );
}
