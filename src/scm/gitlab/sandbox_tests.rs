//! The GitLab client against the sandbox forge's GitLab dialect: real HTTP on 127.0.0.1, real bare
//! repositories, a project in a nested group (`acme/team/deploy`). Each test says which GitLab
//! behaviour the client relies on.

use crate::model::{GateState, PREVIOUS_ENVIRONMENT};

use super::*;
use crate::scm::http::tests::{FakeClock, test_options};
use sandbox::{CI_APP, CommitSpec, Sandbox};

const TOKEN: &str = "glpat-sandbox-token";
const OWNER: &str = "acme/team";
const NAME: &str = "deploy";

struct Forge {
    sandbox: Sandbox,
    staging: Sha,
    _dir: tempfile::TempDir,
}

/// `acme/team/deploy` with `environment/dev` and `environment/dev-next` one commit ahead.
fn forge() -> Forge {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(dir.path(), &sandbox::Token::new(TOKEN)).unwrap();
    sandbox.create_repo(OWNER, NAME).unwrap();
    sandbox
        .commit(
            OWNER,
            NAME,
            "environment/dev",
            &CommitSpec::new("init").file("app.yaml", "v: 1\n"),
        )
        .unwrap();
    sandbox
        .create_branch(OWNER, NAME, "environment/dev-next", "environment/dev")
        .unwrap();
    let staging = sandbox
        .commit(
            OWNER,
            NAME,
            "environment/dev-next",
            &CommitSpec::new("hydrate v2").file("app.yaml", "v: 2\n"),
        )
        .unwrap();
    Forge {
        sandbox,
        staging: staging.into(),
        _dir: dir,
    }
}

fn client(forge: &Forge, token: &str) -> GitLab {
    GitLab::new(
        &forge.sandbox.gitlab_api_url(),
        &crate::scm::RepoPath::new(OWNER, NAME),
        Some(Secret::new(token)),
        test_options(FakeClock::new()),
    )
    .unwrap()
}

fn head() -> BranchName {
    BranchName::parse("environment/dev-next").unwrap()
}

fn base() -> BranchName {
    BranchName::parse("environment/dev").unwrap()
}

fn new_mr() -> NewPullRequest {
    NewPullRequest {
        head: head(),
        base: base(),
        title: "Promote".into(),
        body: "body".into(),
    }
}

/// `METHOD /path` of every API request served.
fn api_calls(forge: &Forge) -> Vec<String> {
    forge
        .sandbox
        .requests()
        .into_iter()
        .map(|r| format!("{} {} {}", r.method, r.path, r.status))
        .collect()
}

#[test]
fn a_nested_group_project_is_addressed_by_its_encoded_path_and_find_ignores_a_forks_mr() {
    let forge = forge();
    forge.sandbox.fork_repo(OWNER, NAME, "mallory").unwrap();
    forge
        .sandbox
        .open_pull_as(
            "mallory",
            OWNER,
            NAME,
            "mallory:environment/dev-next",
            "environment/dev",
            "from a fork",
        )
        .unwrap();
    let gitlab = client(&forge, TOKEN);
    assert_eq!(
        gitlab.find_open_pull_request(&head(), &base()).unwrap(),
        None
    );
    let created = gitlab.create_pull_request(&new_mr()).unwrap();
    assert_eq!(created.number, PrNumber(2));
    assert_eq!(created.head_sha, forge.staging);
    assert!(
        created
            .url
            .ends_with("/acme/team/deploy/-/merge_requests/2"),
        "{}",
        created.url
    );
    let found = gitlab.find_open_pull_request(&head(), &base()).unwrap();
    assert_eq!(found, Some(created));
    assert_eq!(
        api_calls(&forge),
        [
            "GET /api/v4/projects/acme%2Fteam%2Fdeploy/merge_requests 200",
            "POST /api/v4/projects/acme%2Fteam%2Fdeploy/merge_requests 201",
            "GET /api/v4/projects/acme%2Fteam%2Fdeploy/merge_requests 200",
        ]
    );
}

#[test]
fn a_second_create_answered_409_adopts_the_open_mr() {
    let forge = forge();
    let gitlab = client(&forge, TOKEN);
    let first = gitlab.create_pull_request(&new_mr()).unwrap();
    forge.sandbox.clear_requests();
    let second = gitlab.create_pull_request(&new_mr()).unwrap();
    assert_eq!(second.number, first.number);
    assert_eq!(
        api_calls(&forge),
        [
            "POST /api/v4/projects/acme%2Fteam%2Fdeploy/merge_requests 409",
            "GET /api/v4/projects/acme%2Fteam%2Fdeploy/merge_requests 200",
        ]
    );
    assert_eq!(forge.sandbox.pulls(OWNER, NAME).unwrap().len(), 1);
}

#[test]
fn updating_changes_title_and_description() {
    let forge = forge();
    let gitlab = client(&forge, TOKEN);
    let mr = gitlab.create_pull_request(&new_mr()).unwrap();
    let updated = gitlab
        .update_pull_request(mr.number, "New title", "New body")
        .unwrap();
    assert_eq!(
        (updated.title.as_str(), updated.body.as_str()),
        ("New title", "New body")
    );
    let stored = forge.sandbox.pull(OWNER, NAME, mr.number.0).unwrap();
    assert_eq!(stored.body, "New body");
}

#[test]
fn merging_makes_a_merge_commit_with_the_message_and_a_repeat_counts_as_merged() {
    let forge = forge();
    let gitlab = client(&forge, TOKEN);
    let mr = gitlab.create_pull_request(&new_mr()).unwrap();
    let outcome = gitlab
        .merge_pull_request(mr.number, &forge.staging, "Promote", "Body")
        .unwrap();
    let MergeOutcome::Merged {
        merge_sha: Some(merge_sha),
    } = outcome.clone()
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        forge
            .sandbox
            .branch_tip(OWNER, NAME, "environment/dev")
            .unwrap()
            .map(Sha::from),
        Some(merge_sha.clone())
    );
    let parents = forge.sandbox.parents(OWNER, NAME, &merge_sha).unwrap();
    assert_eq!(parents.len(), 2);
    assert_eq!(parents[1], forge.staging);
    assert_eq!(
        forge
            .sandbox
            .commit_message(OWNER, NAME, &merge_sha)
            .unwrap()
            .trim_end(),
        "Promote\n\nBody"
    );
    // The staging branch stays (should_remove_source_branch: false).
    assert!(
        forge
            .sandbox
            .branch_tip(OWNER, NAME, "environment/dev-next")
            .unwrap()
            .is_some()
    );
    // Already merged: GitLab answers 405; the re-read MR says merged.
    forge.sandbox.clear_requests();
    let again = gitlab
        .merge_pull_request(mr.number, &forge.staging, "Promote", "Body")
        .unwrap();
    assert_eq!(again, outcome);
    assert_eq!(
        api_calls(&forge),
        [
            "PUT /api/v4/projects/acme%2Fteam%2Fdeploy/merge_requests/1/merge 405",
            "GET /api/v4/projects/acme%2Fteam%2Fdeploy/merge_requests/1 200",
        ]
    );
}

#[test]
fn a_merge_of_a_head_that_moved_is_answered_409_and_reported_as_head_moved() {
    let forge = forge();
    let gitlab = client(&forge, TOKEN);
    let mr = gitlab.create_pull_request(&new_mr()).unwrap();
    forge
        .sandbox
        .commit(
            OWNER,
            NAME,
            "environment/dev-next",
            &CommitSpec::new("hydrate v3").file("app.yaml", "v: 3\n"),
        )
        .unwrap();
    let outcome = gitlab
        .merge_pull_request(mr.number, &forge.staging, "t", "m")
        .unwrap();
    assert_eq!(outcome, MergeOutcome::HeadMoved);
    assert_eq!(
        forge
            .sandbox
            .count_requests("PUT", "/api/v4/projects/*/merge_requests/*/merge"),
        1
    );
    assert_eq!(
        forge
            .sandbox
            .pull(OWNER, NAME, mr.number.0)
            .unwrap()
            .merged
            .map(|m| m.sha),
        None
    );
}

#[test]
fn a_project_without_merge_commits_blocks_the_merge_with_a_reason_naming_the_setting() {
    let forge = forge();
    forge
        .sandbox
        .set_allow_merge_commit(OWNER, NAME, false)
        .unwrap();
    let gitlab = client(&forge, TOKEN);
    let mr = gitlab.create_pull_request(&new_mr()).unwrap();
    let outcome = gitlab
        .merge_pull_request(mr.number, &forge.staging, "t", "m")
        .unwrap();
    let MergeOutcome::Blocked { reason } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        reason.contains("405") && reason.contains("\"Merge commit\""),
        "{reason}"
    );
}

#[test]
fn reposting_the_same_pending_state_is_refused_by_gitlab_and_counts_as_success() {
    let forge = forge();
    let gitlab = client(&forge, TOKEN);
    let pending = StatusWrite {
        context: PREVIOUS_ENVIRONMENT.into(),
        state: GateState::Pending,
        description: "Waiting for `environment/dev` to be promoted".into(),
        target_url: None,
    };
    gitlab.write_status(&forge.staging, &pending).unwrap();
    gitlab.write_status(&forge.staging, &pending).unwrap();
    let statuses: Vec<u16> = forge.sandbox.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [201, 400]);
    let success = StatusWrite {
        state: GateState::Success,
        ..pending
    };
    gitlab.write_status(&forge.staging, &success).unwrap();
    let reports = gitlab.status_reports(&forge.staging).unwrap();
    let seen: Vec<(&str, GateState)> = reports.iter().map(|r| (r.name.as_str(), r.state)).collect();
    assert_eq!(
        seen,
        [
            ("pipeline", GateState::Success),
            (PREVIOUS_ENVIRONMENT, GateState::Success)
        ]
    );
}

#[test]
fn gate_reads_show_ci_statuses_in_gitlab_words_and_the_pipeline_as_their_worst_state() {
    let forge = forge();
    let gitlab = client(&forge, TOKEN);
    assert!(gitlab.status_reports(&forge.staging).unwrap().is_empty());
    let set = |context: &str, state: &str| {
        forge
            .sandbox
            .set_status(OWNER, NAME, &forge.staging, context, state, "by CI")
            .unwrap();
    };
    set("health", "pending");
    set("lint", "success");
    let read = || -> Vec<(String, GateState)> {
        gitlab
            .status_reports(&forge.staging)
            .unwrap()
            .into_iter()
            .map(|r| (r.name, r.state))
            .collect()
    };
    assert_eq!(
        read(),
        [
            ("health".to_owned(), GateState::Pending),
            ("lint".to_owned(), GateState::Success),
            ("pipeline".to_owned(), GateState::Pending),
        ]
    );
    set("health", "error");
    assert_eq!(read()[0], ("health".to_owned(), GateState::Failure));
    assert_eq!(read()[2], ("pipeline".to_owned(), GateState::Failure));
    let statuses = forge.sandbox.statuses(OWNER, NAME, &forge.staging);
    assert!(statuses.iter().all(|s| s.creator == CI_APP));
}

#[test]
fn a_wrong_token_fails_with_gitlabs_401_and_a_hint_without_the_token() {
    let forge = forge();
    let gitlab = client(&forge, "glpat-wrong-token");
    let error = gitlab.find_open_pull_request(&head(), &base()).unwrap_err();
    let text = format!("{error:#}");
    assert!(text.contains("answered 401: 401 Unauthorized"), "{text}");
    assert!(text.contains("acme/team/deploy"), "{text}");
    assert!(!text.contains("glpat-wrong-token"));
    assert!(crate::scm::http::hint(&error).is_some_and(|h| h.contains("`api` scope")));
}
