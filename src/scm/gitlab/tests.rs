//! The GitLab client against a real HTTP server on 127.0.0.1 that answers with GitLab's documented
//! example bodies (tests/fixtures/scm/gitlab) adjusted to the project under test: the exact
//! requests sent and how each answer is read.

use crate::model::{GateState, PREVIOUS_ENVIRONMENT};

use serde_json::{Value, json};

use super::*;
use crate::scm::http::tests::{FakeClock, test_options};
use crate::scm::test_server::{Canned, ScriptedServer};

const TOKEN: &str = "glpat-SECRETSECRETSECRET";
const HEAD_SHA: &str = "1111111111111111111111111111111111111111";
const PROJECT: &str = "/projects/acme%2Fteam%2Fdeploy";

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../tests/fixtures/scm/gitlab/", $name))
    };
}

fn gitlab(server: &ScriptedServer) -> GitLab {
    GitLab::new(
        &server.base_url,
        &crate::scm::RepoPath::new("acme/team", "deploy"),
        Some(Secret::new(TOKEN)),
        test_options(FakeClock::new()),
    )
    .unwrap()
}

fn branch(name: &str) -> BranchName {
    BranchName::parse(name).unwrap()
}

fn sha(text: &str) -> Sha {
    Sha::parse(text).unwrap()
}

/// GitLab's documented merge request, moved into this project: open, same-project, our branches.
fn mr(fixture: &str, iid: u64, source_project: u64) -> Value {
    let mut mr: Value = serde_json::from_str(fixture).unwrap();
    mr["iid"] = json!(iid);
    mr["state"] = json!("opened");
    mr["web_url"] = json!(format!(
        "https://gitlab.example.com/acme/team/deploy/-/merge_requests/{iid}"
    ));
    mr["source_branch"] = json!("environment/dev-next");
    mr["target_branch"] = json!("environment/dev");
    mr["source_project_id"] = json!(source_project);
    mr["target_project_id"] = json!(3);
    mr["sha"] = json!(HEAD_SHA);
    mr
}

fn listed(iid: u64, source_project: u64) -> Value {
    let list: Vec<Value> = serde_json::from_str(fixture!("merge-requests-list.json")).unwrap();
    mr(&list[0].to_string(), iid, source_project)
}

fn new_pr() -> NewPullRequest {
    NewPullRequest {
        head: branch("environment/dev-next"),
        base: branch("environment/dev"),
        title: "Promote abc1234 to `environment/dev`".into(),
        body: "body".into(),
    }
}

fn find_url() -> String {
    format!(
        "{PROJECT}/merge_requests?state=opened&source_branch=environment%2Fdev-next&target_branch=environment%2Fdev&per_page=100"
    )
}

fn calls(server: &ScriptedServer) -> Vec<(String, String)> {
    server
        .requests()
        .into_iter()
        .map(|r| (r.method, r.url))
        .collect()
}

#[test]
fn the_documented_list_fixture_is_a_fork_mr_and_is_never_adopted() {
    // The docs example has source_project_id 2 and target_project_id 3: a fork's MR.
    let mut fork: Vec<Value> = serde_json::from_str(fixture!("merge-requests-list.json")).unwrap();
    fork[0]["state"] = json!("opened");
    fork[0]["source_branch"] = json!("environment/dev-next");
    fork[0]["target_branch"] = json!("environment/dev");
    let server = ScriptedServer::start(vec![Canned::json(200, json!(fork).to_string())]);
    let found = gitlab(&server)
        .find_open_pull_request(&branch("environment/dev-next"), &branch("environment/dev"))
        .unwrap();
    assert_eq!(found, None);
}

#[test]
fn finding_sends_the_project_path_encoded_and_private_token_and_maps_iid_sha_and_web_url() {
    let list = json!([listed(9, 2), listed(4, 3)]);
    let server = ScriptedServer::start(vec![Canned::json(200, list.to_string())]);
    let found = gitlab(&server)
        .find_open_pull_request(&branch("environment/dev-next"), &branch("environment/dev"))
        .unwrap()
        .unwrap();
    assert_eq!(found.number, PrNumber(4));
    assert_eq!(found.head_sha, sha(HEAD_SHA));
    // The documented example's labels: plain names.
    assert_eq!(found.labels, ["Community contribution", "Manage"]);
    assert_eq!(
        found.url,
        "https://gitlab.example.com/acme/team/deploy/-/merge_requests/4"
    );
    assert_eq!(found.body, "fixed login page css paddings");
    let request = &server.requests()[0];
    assert_eq!(
        (request.method.as_str(), request.url.as_str()),
        ("GET", find_url().as_str())
    );
    assert_eq!(request.header("private-token"), Some(TOKEN));
    assert_eq!(request.header("authorization"), None);
}

#[test]
fn creating_posts_the_documented_fields_and_never_asks_to_remove_the_staging_branch() {
    let server = ScriptedServer::start(vec![Canned::json(
        201,
        mr(fixture!("merge-request-create.json"), 12, 3).to_string(),
    )]);
    let pr = gitlab(&server).create_pull_request(&new_pr()).unwrap();
    assert_eq!(pr.number, PrNumber(12));
    assert_eq!(pr.head_branch, branch("environment/dev-next"));
    let request = &server.requests()[0];
    assert_eq!(
        (request.method.as_str(), request.url.as_str()),
        ("POST", format!("{PROJECT}/merge_requests").as_str())
    );
    assert_eq!(
        request.json(),
        json!({"source_branch": "environment/dev-next", "target_branch": "environment/dev",
               "title": "Promote abc1234 to `environment/dev`", "description": "body",
               "remove_source_branch": false})
    );
}

#[test]
fn a_create_answered_409_already_exists_with_an_array_message_adopts_the_open_mr() {
    let server = ScriptedServer::start(vec![
        Canned::json(
            409,
            fixture!("merge-request-create-409-already-exists.observed.json"),
        ),
        Canned::json(200, json!([listed(12, 3)]).to_string()),
    ]);
    let pr = gitlab(&server).create_pull_request(&new_pr()).unwrap();
    assert_eq!(pr.number, PrNumber(12));
    assert_eq!(
        calls(&server),
        [
            ("POST".to_owned(), format!("{PROJECT}/merge_requests")),
            ("GET".to_owned(), find_url())
        ]
    );
}

#[test]
fn updating_puts_title_and_description() {
    let server = ScriptedServer::start(vec![Canned::json(
        200,
        mr(fixture!("merge-request-get.json"), 133, 3).to_string(),
    )]);
    let pr = gitlab(&server)
        .update_pull_request(PrNumber(133), "t", "d")
        .unwrap();
    assert_eq!(pr.number, PrNumber(133));
    let request = &server.requests()[0];
    assert_eq!(
        (request.method.as_str(), request.url.as_str()),
        ("PUT", format!("{PROJECT}/merge_requests/133").as_str())
    );
    assert_eq!(request.json(), json!({"title": "t", "description": "d"}));
}

#[test]
fn merging_sends_the_sha_guard_and_one_merge_commit_message_and_reads_the_merge_commit() {
    let mut merged: Value = serde_json::from_str(fixture!("merge-request-merge.json")).unwrap();
    merged["merge_commit_sha"] = json!("2222222222222222222222222222222222222222");
    let server = ScriptedServer::start(vec![Canned::json(200, merged.to_string())]);
    let outcome = gitlab(&server)
        .merge_pull_request(PrNumber(1), &sha(HEAD_SHA), "Title", "Body\n\nTrailer: x")
        .unwrap();
    assert_eq!(
        outcome,
        MergeOutcome::Merged {
            merge_sha: Some(sha("2222222222222222222222222222222222222222"))
        }
    );
    let request = &server.requests()[0];
    assert_eq!(
        (request.method.as_str(), request.url.as_str()),
        ("PUT", format!("{PROJECT}/merge_requests/1/merge").as_str())
    );
    assert_eq!(
        request.json(),
        json!({"sha": HEAD_SHA, "merge_commit_message": "Title\n\nBody\n\nTrailer: x",
               "should_remove_source_branch": false, "squash": false})
    );
}

#[test]
fn the_documented_merge_answer_without_a_merge_commit_sha_is_still_merged() {
    let server = ScriptedServer::start(vec![Canned::json(
        200,
        fixture!("merge-request-merge.json"),
    )]);
    let outcome = gitlab(&server)
        .merge_pull_request(PrNumber(1), &sha(HEAD_SHA), "t", "m")
        .unwrap();
    assert_eq!(outcome, MergeOutcome::Merged { merge_sha: None });
}

#[test]
fn a_merge_answered_409_means_the_head_moved() {
    let server = ScriptedServer::start(vec![Canned::json(
        409,
        r#"{"message":"SHA does not match HEAD of source branch: 3333333333333333333333333333333333333333"}"#,
    )]);
    let outcome = gitlab(&server)
        .merge_pull_request(PrNumber(1), &sha(HEAD_SHA), "t", "m")
        .unwrap();
    assert_eq!(outcome, MergeOutcome::HeadMoved);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn a_merge_answered_405_re_reads_the_mr_and_reports_why_it_is_blocked() {
    let mut open = mr(fixture!("merge-request-get.json"), 133, 3);
    open["detailed_merge_status"] = json!("not_approved");
    let server = ScriptedServer::start(vec![
        Canned::json(405, r#"{"message":"405 Method Not Allowed"}"#),
        Canned::json(200, open.to_string()),
    ]);
    let outcome = gitlab(&server)
        .merge_pull_request(PrNumber(133), &sha(HEAD_SHA), "t", "m")
        .unwrap();
    let MergeOutcome::Blocked { reason } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        reason.contains("405") && reason.contains("needs approvals"),
        "{reason}"
    );
    assert_eq!(
        server.requests()[1].url,
        format!("{PROJECT}/merge_requests/133")
    );
}

#[test]
fn a_merge_answered_405_for_an_mr_merged_meanwhile_counts_as_merged() {
    let mut done = mr(fixture!("merge-request-get.json"), 133, 3);
    done["state"] = json!("merged");
    done["merge_commit_sha"] = json!("4444444444444444444444444444444444444444");
    let server = ScriptedServer::start(vec![
        Canned::json(405, r#"{"message":"405 Method Not Allowed"}"#),
        Canned::json(200, done.to_string()),
    ]);
    let outcome = gitlab(&server)
        .merge_pull_request(PrNumber(133), &sha(HEAD_SHA), "t", "m")
        .unwrap();
    assert_eq!(
        outcome,
        MergeOutcome::Merged {
            merge_sha: Some(sha("4444444444444444444444444444444444444444"))
        }
    );
}

#[test]
fn a_merge_refused_with_401_is_an_error_with_a_token_hint_and_no_token() {
    let server =
        ScriptedServer::start(vec![Canned::json(401, r#"{"message":"401 Unauthorized"}"#)]);
    let error = gitlab(&server)
        .merge_pull_request(PrNumber(1), &sha(HEAD_SHA), "t", "m")
        .unwrap_err();
    let text = format!("{error:#}");
    assert!(text.contains("merging merge request !1"), "{text}");
    assert!(
        crate::scm::http::hint(&error).is_some_and(|h| h.contains("`api` scope")),
        "{text}"
    );
    assert!(!text.contains(TOKEN));
}

#[test]
fn gate_reads_take_the_newest_status_per_name_and_the_newest_pipeline() {
    // The documented list: `bundler:audit` pending but allowed to fail, `test` pending.
    let mut statuses: Vec<Value> =
        serde_json::from_str(fixture!("commit-statuses-list.json")).unwrap();
    let mut newer = statuses[1].clone();
    newer["id"] = json!(95);
    newer["status"] = json!("success");
    newer["description"] = json!("all green");
    statuses.push(newer);
    let mut failed_allowed = statuses[0].clone();
    failed_allowed["id"] = json!(96);
    failed_allowed["status"] = json!("failed");
    statuses.push(failed_allowed);
    let pipelines = json!([{"id": 77, "iid": 5, "project_id": 3, "sha": HEAD_SHA, "ref": "environment/dev-next",
        "status": "manual", "source": "push", "web_url": "https://gitlab.example.com/p/-/pipelines/77"}]);
    let server = ScriptedServer::start(vec![
        Canned::json(200, json!(statuses).to_string()),
        Canned::json(200, pipelines.to_string()),
    ]);
    let reports = gitlab(&server).status_reports(&sha(HEAD_SHA)).unwrap();
    let seen: Vec<(&str, GateState, &str)> = reports
        .iter()
        .map(|r| (r.name.as_str(), r.state, r.description.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (
                "bundler:audit",
                GateState::Success,
                "failed (allowed to fail)"
            ),
            ("pipeline", GateState::Pending, "pipeline #77 manual"),
            ("test", GateState::Success, "all green"),
        ]
    );
    assert_eq!(
        calls(&server),
        [
            (
                "GET".to_owned(),
                format!("{PROJECT}/repository/commits/{HEAD_SHA}/statuses?per_page=100")
            ),
            (
                "GET".to_owned(),
                format!("{PROJECT}/pipelines?sha={HEAD_SHA}&order_by=id&sort=desc&per_page=1")
            ),
        ]
    );
}

#[test]
fn a_status_named_pipeline_wins_over_the_pipeline_report_and_no_pipeline_adds_nothing() {
    let status = |id: u64, name: &str, state: &str| json!({"id": id, "name": name, "status": state, "description": null, "target_url": null});
    let statuses = vec![
        serde_json::from_value(status(1, "pipeline", "canceled")).unwrap(),
        serde_json::from_value(status(2, "deploy", "skipped")).unwrap(),
    ];
    let pipeline = wire::Pipeline {
        id: 3,
        status: "success".into(),
        web_url: None,
    };
    let reports = wire::reduce(statuses, Some(pipeline));
    let seen: Vec<(&str, GateState)> = reports.iter().map(|r| (r.name.as_str(), r.state)).collect();
    assert_eq!(
        seen,
        [
            ("deploy", GateState::Success),
            ("pipeline", GateState::Failure)
        ]
    );
    assert!(wire::reduce(Vec::new(), None).is_empty());
}

#[test]
fn gitlab_states_map_as_the_spec_says() {
    for (status, state) in [
        ("success", GateState::Success),
        ("skipped", GateState::Success),
        ("failed", GateState::Failure),
        ("canceled", GateState::Failure),
        ("canceling", GateState::Failure),
        ("manual", GateState::Pending),
        ("running", GateState::Pending),
        ("created", GateState::Pending),
        ("waiting_for_resource", GateState::Pending),
        ("scheduled", GateState::Pending),
        ("something-new", GateState::Pending),
    ] {
        assert_eq!(wire::gitlab_state(status, false), state, "{status}");
    }
    assert_eq!(wire::gitlab_state("failed", true), GateState::Success);
    assert_eq!(wire::gitlab_state("canceled", true), GateState::Failure);
}

fn write(state: GateState) -> StatusWrite {
    StatusWrite {
        context: "soak".into(),
        state,
        description: "x".repeat(200),
        target_url: Some("https://example.com/run".into()),
    }
}

#[test]
fn writing_a_status_posts_gitlab_state_name_and_the_cut_description() {
    let server = ScriptedServer::start(vec![Canned::json(
        201,
        fixture!("commit-status-create.json"),
    )]);
    gitlab(&server)
        .write_status(&sha(HEAD_SHA), &write(GateState::Failure))
        .unwrap();
    let request = &server.requests()[0];
    assert_eq!(
        (request.method.as_str(), request.url.as_str()),
        ("POST", format!("{PROJECT}/statuses/{HEAD_SHA}").as_str())
    );
    let body = request.json();
    assert_eq!(body["state"], "failed");
    assert_eq!(body["name"], "soak");
    assert_eq!(body["target_url"], "https://example.com/run");
    assert_eq!(body["description"].as_str().unwrap().chars().count(), 140);
}

#[test]
fn a_cannot_transition_answer_counts_as_success_once_without_a_retry() {
    let server = ScriptedServer::start(vec![Canned::json(
        400,
        fixture!("commit-status-400-transition.observed.json"),
    )]);
    gitlab(&server)
        .write_status(&sha(HEAD_SHA), &write(GateState::Pending))
        .unwrap();
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn another_400_on_a_status_write_is_an_error() {
    let server = ScriptedServer::start(vec![Canned::json(
        400,
        r#"{"message":{"name":["is too long"]}}"#,
    )]);
    let error = gitlab(&server)
        .write_status(&sha(HEAD_SHA), &write(GateState::Success))
        .unwrap_err();
    assert!(format!("{error:#}").contains("writing commit status `soak` (success)"));
}

#[test]
fn promoter_never_writes_failure_for_the_previous_environment_gate() {
    let server = ScriptedServer::start(Vec::new());
    let mut status = write(GateState::Failure);
    status.context = PREVIOUS_ENVIRONMENT.into();
    assert!(
        gitlab(&server)
            .write_status(&sha(HEAD_SHA), &status)
            .is_err()
    );
    assert!(server.requests().is_empty());
}
