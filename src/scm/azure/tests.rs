//! Wire-format tests over the Azure DevOps payloads in tests/fixtures/scm/azure-devops (every
//! file), the status naming and state mapping, the descriptor's URL shapes and CI defaults, and
//! the client's handling of answers a sandbox cannot give (a sign-in page for a refused
//! credential) against the scripted test server. The client against the sandbox's Azure DevOps
//! dialect is in `sandbox_tests.rs`.

use serde_json::{Value, json};

use super::wire::{self, CreatePull, CreateStatus, List, Pull, Status, StatusContext, reduce};
use super::*;
use crate::model::GateState;
use crate::scm::http::tests::{FakeClock, test_options};
use crate::scm::test_server::{Canned, ScriptedServer};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../tests/fixtures/scm/azure-devops/", $name))
    };
}

fn branch(name: &str) -> BranchName {
    BranchName::parse(name).unwrap()
}

fn sha(c: char) -> Sha {
    Sha::parse(&c.to_string().repeat(40)).unwrap()
}

#[test]
fn a_pull_request_list_item_maps_to_the_domain_pr() {
    let list: List<Pull> = serde_json::from_str(fixture!("pulls-list-by-target.json")).unwrap();
    let pull = list.value.into_iter().next().unwrap();
    assert!(pull.is_promotion_pr(&branch("some_branch"), &branch("master")));
    assert!(!pull.is_promotion_pr(&branch("some_branch"), &branch("main")));
    assert!(!pull.is_promotion_pr(&branch("other"), &branch("master")));
    let pr = pull
        .into_domain("https://dev.azure.com/o/p/_git/r/pullrequest/1".into())
        .unwrap();
    assert_eq!(pr.number, PrNumber(1));
    assert_eq!(pr.title, "some_branch edit");
    assert_eq!(pr.body, " - Updated README.md");
    assert_eq!(
        pr.head_sha.as_str(),
        "34a9e500f29d119802a828d7a759f6fa2e546750"
    );
    assert_eq!(pr.head_branch, branch("some_branch"));
    assert_eq!(pr.base_branch, branch("master"));
    assert_eq!(pr.url, "https://dev.azure.com/o/p/_git/r/pullrequest/1");
}

#[test]
fn a_forks_or_inactive_pull_request_is_never_the_environments() {
    let mut value: Value = serde_json::from_str(fixture!("pull-create.json")).unwrap();
    let (head, base) = (branch("npaulk/my_work"), branch("new_feature"));
    let pull: Pull = serde_json::from_value(value.clone()).unwrap();
    assert!(pull.is_promotion_pr(&head, &base));
    value["forkSource"] = json!({"name": "refs/heads/npaulk/my_work", "repository": {"id": "x"}});
    let pull: Pull = serde_json::from_value(value.clone()).unwrap();
    assert!(!pull.is_promotion_pr(&head, &base));
    value["forkSource"] = Value::Null;
    value["status"] = json!("abandoned");
    let pull: Pull = serde_json::from_value(value).unwrap();
    assert!(!pull.is_promotion_pr(&head, &base));
}

#[test]
fn create_and_update_answers_read_as_pull_requests() {
    for text in [
        fixture!("pull-create.json"),
        fixture!("pull-update-title.json"),
    ] {
        let pull: Pull = serde_json::from_str(text).unwrap();
        assert_eq!(pull.pull_request_id, 22);
        assert!(pull.is_active());
        let pr = pull.into_domain(String::new()).unwrap();
        assert_eq!(pr.head_branch, branch("npaulk/my_work"));
    }
    let updated: Pull = serde_json::from_str(fixture!("pull-update-title.json")).unwrap();
    assert_eq!(updated.title, "Updated pull request title");
    // A PR the server has not test-merged yet has no source commit to show.
    let mut value: Value = serde_json::from_str(fixture!("pull-create.json")).unwrap();
    value
        .as_object_mut()
        .unwrap()
        .remove("lastMergeSourceCommit");
    let pull: Pull = serde_json::from_value(value).unwrap();
    let error = pull.into_domain(String::new()).unwrap_err();
    assert!(error.contains("lastMergeSourceCommit"), "{error}");
}

#[test]
fn the_create_body_has_the_documented_keys_and_full_refs() {
    let body = serde_json::to_value(CreatePull {
        source_ref_name: wire::full_ref(&branch("npaulk/my_work")),
        target_ref_name: wire::full_ref(&branch("new_feature")),
        title: "A new feature",
        description: "Adding a new feature",
    })
    .unwrap();
    let mut example: Value = serde_json::from_str(fixture!("pull-create.request.json")).unwrap();
    example.as_object_mut().unwrap().remove("reviewers");
    assert_eq!(body, example);
}

#[test]
fn the_completion_body_carries_the_guard_and_a_merge_commit() {
    let head = sha('a');
    let body =
        serde_json::to_value(wire::Complete::merge_commit(&head, "Promote", "body")).unwrap();
    assert_eq!(
        body,
        json!({
            "status": "completed",
            "lastMergeSourceCommit": {"commitId": head.as_str()},
            "completionOptions": {
                "mergeStrategy": "noFastForward",
                "mergeCommitMessage": "Promote\n\nbody",
                "deleteSourceBranch": false,
                "transitionWorkItems": false,
            },
        })
    );
    let body = serde_json::to_value(wire::Complete::merge_commit(&head, "Promote", "")).unwrap();
    assert_eq!(body["completionOptions"]["mergeCommitMessage"], "Promote");
}

#[test]
fn the_status_body_has_the_documented_keys() {
    let body = serde_json::to_value(CreateStatus {
        state: "succeeded",
        description: "The build is successful",
        target_url: Some("https://ci.fabrikam.com/my-project/build/123 "),
        context: StatusContext {
            name: "Build123",
            genre: Some("continuous-integration"),
        },
    })
    .unwrap();
    let example: Value =
        serde_json::from_str(fixture!("commit-status-create.request.json")).unwrap();
    assert_eq!(body, example);
}

#[test]
fn statuses_are_named_by_genre_and_mapped_per_the_design() {
    let list: List<Status> = serde_json::from_str(fixture!("commit-statuses-list.json")).unwrap();
    let created: Status = serde_json::from_str(fixture!("commit-status-create.json")).unwrap();
    assert_eq!(created.context.name, "Build123");
    let reports = reduce(list.value);
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].name, "continuous-integration/Build123");
    assert_eq!(reports[0].state, GateState::Success);
    assert_eq!(reports[0].description, "The build is successful");
    for (state, expected) in [
        ("succeeded", GateState::Success),
        ("notApplicable", GateState::Success),
        ("failed", GateState::Failure),
        ("error", GateState::Failure),
        ("pending", GateState::Pending),
        ("notSet", GateState::Pending),
        ("whatever", GateState::Pending),
    ] {
        assert_eq!(wire::status_state(state), expected, "{state}");
    }
    for state in [GateState::Success, GateState::Failure, GateState::Pending] {
        assert_eq!(wire::status_state(wire::state_name(state)), state);
    }
}

#[test]
fn promoters_own_genre_reads_back_under_the_key_and_the_newest_wins() {
    let statuses: Vec<Status> = serde_json::from_value(json!([
        {"id": 1, "state": "pending", "context": {"name": "health", "genre": "promoter"}, "creationDate": "2026-01-01T00:00:00Z"},
        {"id": 3, "state": "succeeded", "context": {"name": "health", "genre": "promoter"}, "creationDate": "2026-01-01T00:00:02Z"},
        {"id": 2, "state": "failed", "context": {"name": "health", "genre": "promoter"}, "creationDate": "2026-01-01T00:00:01Z"},
        {"id": 4, "state": "error", "context": {"name": "e2e"}, "targetUrl": " "},
        {"id": 5, "state": "succeeded", "context": {"name": "build", "genre": "ci"}},
    ]))
    .unwrap();
    let reports = reduce(statuses);
    let got: Vec<(&str, GateState)> = reports.iter().map(|r| (r.name.as_str(), r.state)).collect();
    assert_eq!(
        got,
        vec![
            ("ci/build", GateState::Success),
            ("e2e", GateState::Failure),
            ("health", GateState::Success),
        ]
    );
    assert_eq!(reports[1].target_url, None);
}

#[test]
fn urls_follow_the_organization_project_repository_layout() {
    let path = RepoPath::new("acme/Web Apps", "deploy");
    let page = (PROVIDER.web.repository)("https://dev.azure.com", &path);
    assert_eq!(page, "https://dev.azure.com/acme/Web%20Apps/_git/deploy");
    assert_eq!((PROVIDER.web.clone)("https://dev.azure.com", &path), page);
    assert_eq!(
        (PROVIDER.web.commit)(&page, &sha('a')),
        format!("{page}/commit/{}", sha('a'))
    );
    assert_eq!(
        (PROVIDER.web.compare)(&page, &sha('a'), &sha('b')),
        format!(
            "{page}/branchCompare?baseVersion=GC{}&targetVersion=GC{}",
            sha('a'),
            sha('b')
        )
    );
    assert!(PROVIDER.owner.accepts(2) && !PROVIDER.owner.accepts(1));
}

#[test]
fn azure_pipelines_variables_name_the_repository() {
    let table = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    };
    let read = PROVIDER.ci.repository.as_ref().unwrap().read;
    let env = table(&[
        ("SYSTEM_COLLECTIONURI", "https://dev.azure.com/acme/"),
        ("SYSTEM_TEAMPROJECT", "Web Apps"),
        ("BUILD_REPOSITORY_NAME", "deploy"),
        ("BUILD_REPOSITORY_PROVIDER", "TfsGit"),
    ]);
    assert_eq!(
        read(&env),
        Some(("acme/Web Apps".to_owned(), "deploy".to_owned()))
    );
    let legacy = table(&[
        ("SYSTEM_COLLECTIONURI", "https://acme.visualstudio.com/"),
        ("SYSTEM_TEAMPROJECT", "web"),
        ("BUILD_REPOSITORY_NAME", "deploy"),
    ]);
    assert_eq!(
        read(&legacy),
        Some(("acme/web".to_owned(), "deploy".to_owned()))
    );
    // A GitHub repository built by Azure Pipelines is not an Azure Repos one.
    let github = table(&[
        ("SYSTEM_COLLECTIONURI", "https://dev.azure.com/acme/"),
        ("SYSTEM_TEAMPROJECT", "web"),
        ("BUILD_REPOSITORY_NAME", "acme/deploy"),
        ("BUILD_REPOSITORY_PROVIDER", "GitHub"),
    ]);
    assert_eq!(read(&github), None);
    assert_eq!(read(&table(&[])), None);
}

fn client(server: &ScriptedServer) -> Azure {
    let options = test_options(FakeClock::new());
    Azure::new(
        &server.base_url,
        &RepoPath::new("acme/web", "deploy"),
        Some(Secret::new("azure-pat-0123456789abcdef".to_owned())),
        options,
    )
    .unwrap()
}

#[test]
fn every_request_carries_the_version_basic_auth_and_no_sign_in_redirect() {
    let server = ScriptedServer::start(vec![Canned::json(200, r#"{"count": 0, "value": []}"#)]);
    let azure = client(&server);
    let found = azure
        .find_open_pull_request(&branch("environment/dev-next"), &branch("environment/dev"))
        .unwrap();
    assert_eq!(found, None);
    let request = &server.requests()[0];
    assert!(
        request
            .url
            .starts_with("/acme/web/_apis/git/repositories/deploy/pullrequests?"),
        "{}",
        request.url
    );
    assert!(
        request
            .url
            .contains("searchCriteria.sourceRefName=refs%2Fheads%2Fenvironment%2Fdev-next")
    );
    assert!(
        request
            .url
            .contains("searchCriteria.targetRefName=refs%2Fheads%2Fenvironment%2Fdev&")
    );
    assert!(request.url.contains("searchCriteria.status=active"));
    assert!(request.url.ends_with("api-version=7.1"), "{}", request.url);
    assert_eq!(request.header("x-tfs-fedauthredirect"), Some("Suppress"));
    // Basic with an empty user name: base64(":" + PAT).
    assert_eq!(
        request.header("authorization"),
        Some("Basic OmF6dXJlLXBhdC0wMTIzNDU2Nzg5YWJjZGVm")
    );
}

#[test]
fn a_sign_in_page_is_an_authentication_error_with_a_hint() {
    let page = Canned {
        status: 203,
        headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
        body: "<html><head><title>Azure DevOps Services | Sign In</title></head></html>".into(),
        delay: std::time::Duration::ZERO,
    };
    let server = ScriptedServer::start(vec![page]);
    let azure = client(&server);
    let error = azure
        .status_reports(&sha('a'))
        .expect_err("a sign-in page is no answer");
    let text = format!("{error:#}");
    assert!(
        text.contains("203") && text.contains("sign-in page"),
        "{text}"
    );
    let hint = crate::scm::http::hint(&error).expect("a hint");
    assert!(hint.contains("personal access token"), "{hint}");
    assert!(!text.contains("azure-pat-0123456789abcdef"));
}

#[test]
fn a_queued_completion_is_polled_on_the_wait_budget_until_completed() {
    let mut active: Value = serde_json::from_str(fixture!("pull-update-title.json")).unwrap();
    let head = active["lastMergeSourceCommit"]["commitId"]
        .as_str()
        .unwrap()
        .to_owned();
    active["completionQueueTime"] = json!("2026-01-01T00:00:00Z");
    active["mergeStatus"] = json!("queued");
    let mut done = active.clone();
    done["status"] = json!("completed");
    done["lastMergeCommit"] = json!({"commitId": "b".repeat(40)});
    let server = ScriptedServer::start(vec![
        Canned::json(200, active.to_string()),
        Canned::json(200, active.to_string()),
        Canned::json(200, done.to_string()),
    ]);
    let clock = FakeClock::new();
    let azure = Azure::new(
        &server.base_url,
        &RepoPath::new("acme/web", "deploy"),
        Some(Secret::new("azure-pat-0123456789abcdef".to_owned())),
        test_options(clock.clone()),
    )
    .unwrap();
    let outcome = azure
        .merge_pull_request(PrNumber(22), &Sha::parse(&head).unwrap(), "t", "m")
        .unwrap();
    assert_eq!(
        outcome,
        MergeOutcome::Merged {
            merge_sha: Some(sha('b'))
        }
    );
    let methods: Vec<String> = server.requests().iter().map(|r| r.method.clone()).collect();
    assert_eq!(methods, ["PATCH", "GET", "GET"]);
    assert_eq!(clock.slept().len(), 2);
}

#[test]
fn a_completion_still_queued_after_the_polls_is_reported_as_merging() {
    let mut active: Value = serde_json::from_str(fixture!("pull-update-title.json")).unwrap();
    let head = active["lastMergeSourceCommit"]["commitId"]
        .as_str()
        .unwrap()
        .to_owned();
    active["completionQueueTime"] = json!("2026-01-01T00:00:00Z");
    let answers = (0..=COMPLETION_POLLS)
        .map(|_| Canned::json(200, active.to_string()))
        .collect();
    let server = ScriptedServer::start(answers);
    let azure = client(&server);
    let outcome = azure
        .merge_pull_request(PrNumber(22), &Sha::parse(&head).unwrap(), "t", "m")
        .unwrap();
    let MergeOutcome::Blocked { reason } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(reason.contains("still merging"), "{reason}");
    assert_eq!(server.requests().len(), 1 + COMPLETION_POLLS as usize);
}

#[test]
fn a_409_tf401179_on_create_adopts_the_active_pr_found_by_the_search() {
    let list = fixture!("pulls-list-by-target.json");
    let server = ScriptedServer::start(vec![
        Canned::json(
            409,
            fixture!("pull-create-409-already-exists.observed.json"),
        ),
        Canned::json(200, list),
    ]);
    let azure = client(&server);
    let pr = azure
        .create_pull_request(&NewPullRequest {
            head: branch("some_branch"),
            base: branch("master"),
            title: "Promote".into(),
            body: "body".into(),
        })
        .unwrap();
    assert_eq!(pr.number, PrNumber(1));
    let methods: Vec<String> = server.requests().iter().map(|r| r.method.clone()).collect();
    assert_eq!(methods, ["POST", "GET"]);
}

#[test]
fn a_400_on_completion_is_read_again_and_reported_with_the_servers_words() {
    let active = fixture!("pull-update-title.json");
    let head: Value = serde_json::from_str(active).unwrap();
    let head = Sha::parse(head["lastMergeSourceCommit"]["commitId"].as_str().unwrap()).unwrap();
    let server = ScriptedServer::start(vec![
        Canned::json(
            400,
            fixture!("pull-complete-400-missing-last-merge-source-commit.observed.json"),
        ),
        Canned::json(200, active),
    ]);
    let azure = client(&server);
    let outcome = azure
        .merge_pull_request(PrNumber(22), &head, "t", "m")
        .unwrap();
    let MergeOutcome::Blocked { reason } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(reason.contains("LastMergeSourceCommit"), "{reason}");
    let body: Value = serde_json::from_str(&server.requests()[0].body).unwrap();
    assert_eq!(body["lastMergeSourceCommit"]["commitId"], head.as_str());
}
