//! The GitHub client against a real HTTP server on 127.0.0.1 that answers with GitHub's documented
//! example bodies (tests/fixtures/scm/github) adjusted to the repository under test.

use crate::model::{GateState, PREVIOUS_ENVIRONMENT, Secret};

use serde_json::{Value, json};

use super::*;
use crate::scm::http::tests::{FakeClock, test_options};
use crate::scm::test_server::{Canned, ScriptedServer};

const TOKEN: &str = "ghp_SECRETSECRETSECRET";
const HEAD_SHA: &str = "1111111111111111111111111111111111111111";

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../tests/fixtures/scm/github/", $name))
    };
}

fn github(server: &ScriptedServer) -> GitHub {
    GitHub::new(
        &server.base_url,
        &crate::scm::RepoPath::new("acme", "deploy"),
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

/// GitHub's `pull-request` example, moved into acme/deploy with the given number, head and repo.
fn pull(number: u64, head_repo: &str) -> Value {
    let mut pull: Value = serde_json::from_str(fixture!("pull-create.json")).unwrap();
    pull["number"] = json!(number);
    pull["html_url"] = json!(format!("https://github.com/acme/deploy/pull/{number}"));
    pull["title"] = json!("Promote abc1234 to `environment/dev`");
    pull["head"]["ref"] = json!("environment/dev-next");
    pull["head"]["sha"] = json!(HEAD_SHA);
    pull["head"]["repo"]["full_name"] = json!(head_repo);
    pull["base"]["ref"] = json!("environment/dev");
    pull["base"]["repo"]["full_name"] = json!("acme/deploy");
    pull
}

fn new_pr() -> NewPullRequest {
    NewPullRequest {
        head: branch("environment/dev-next"),
        base: branch("environment/dev"),
        title: "Promote abc1234 to `environment/dev`".into(),
        body: "body".into(),
    }
}

const FIND_URL: &str = "/repos/acme/deploy/pulls?state=open&head=acme:environment%2Fdev-next&base=environment%2Fdev&per_page=100";

#[test]
fn finding_adopts_the_same_repository_pr_and_never_a_forks() {
    let list = json!([pull(7, "mallory/deploy"), pull(3, "acme/deploy")]);
    let server = ScriptedServer::start(vec![Canned::json(200, list.to_string())]);
    let found = github(&server)
        .find_open_pull_request(&branch("environment/dev-next"), &branch("environment/dev"))
        .unwrap()
        .unwrap();
    assert_eq!(found.number, PrNumber(3));
    assert_eq!(found.head_sha, sha(HEAD_SHA));
    // The documented example's label objects, by name (a hold label is one of them).
    assert_eq!(found.labels, ["bug"]);
    let requests = server.requests();
    assert_eq!(
        (requests[0].method.as_str(), requests[0].url.as_str()),
        ("GET", FIND_URL)
    );
    assert_eq!(
        requests[0].header("accept"),
        Some("application/vnd.github+json")
    );
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}

#[test]
fn a_forks_pr_with_the_same_branch_names_is_not_found() {
    let list = json!([pull(7, "mallory/deploy")]);
    let server = ScriptedServer::start(vec![Canned::json(200, list.to_string())]);
    let found = github(&server)
        .find_open_pull_request(&branch("environment/dev-next"), &branch("environment/dev"))
        .unwrap();
    assert_eq!(found, None);
}

#[test]
fn creating_posts_the_documented_fields_and_returns_the_new_pr() {
    let server =
        ScriptedServer::start(vec![Canned::json(201, pull(12, "acme/deploy").to_string())]);
    let pr = github(&server).create_pull_request(&new_pr()).unwrap();
    assert_eq!(pr.number, PrNumber(12));
    assert_eq!(pr.url, "https://github.com/acme/deploy/pull/12");
    let request = &server.requests()[0];
    assert_eq!(
        (request.method.as_str(), request.url.as_str()),
        ("POST", "/repos/acme/deploy/pulls")
    );
    assert_eq!(
        request.json(),
        json!({"title": "Promote abc1234 to `environment/dev`", "body": "body", "head": "environment/dev-next", "base": "environment/dev"})
    );
}

#[test]
fn a_create_answered_already_exists_adopts_the_existing_pr() {
    let server = ScriptedServer::start(vec![
        Canned::json(
            422,
            fixture!("pull-create-422-already-exists.observed.json"),
        ),
        Canned::json(200, json!([pull(5, "acme/deploy")]).to_string()),
    ]);
    let pr = github(&server).create_pull_request(&new_pr()).unwrap();
    assert_eq!(pr.number, PrNumber(5));
    let methods: Vec<String> = server.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["POST", "GET"]);
}

#[test]
fn a_create_that_failed_ambiguously_is_looked_up_not_sent_again() {
    let server = ScriptedServer::start(vec![
        Canned::json(502, "<html>bad gateway</html>"),
        Canned::json(200, json!([pull(9, "acme/deploy")]).to_string()),
    ]);
    let pr = github(&server).create_pull_request(&new_pr()).unwrap();
    assert_eq!(pr.number, PrNumber(9));
    let methods: Vec<String> = server.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["POST", "GET"]);
}

#[test]
fn a_create_that_failed_ambiguously_and_left_no_pr_is_an_error() {
    let server = ScriptedServer::start(vec![Canned::json(502, ""), Canned::json(200, "[]")]);
    let error = github(&server).create_pull_request(&new_pr()).unwrap_err();
    let shown = format!("{error:#}");
    assert!(
        shown.starts_with("opening a pull request from `environment/dev-next` into `environment/dev` in acme/deploy: POST /repos/acme/deploy/pulls answered 502"),
        "{shown}"
    );
}

#[test]
fn updating_patches_title_and_body() {
    let server =
        ScriptedServer::start(vec![Canned::json(200, pull(12, "acme/deploy").to_string())]);
    github(&server)
        .update_pull_request(PrNumber(12), "new title", "new body")
        .unwrap();
    let request = &server.requests()[0];
    assert_eq!(
        (request.method.as_str(), request.url.as_str()),
        ("PATCH", "/repos/acme/deploy/pulls/12")
    );
    assert_eq!(
        request.json(),
        json!({"title": "new title", "body": "new body"})
    );
}

fn merge(server: &ScriptedServer) -> MergeOutcome {
    github(server)
        .merge_pull_request(
            PrNumber(12),
            &sha(HEAD_SHA),
            "Promote",
            "Promote\n\nSha-dry-active: x",
        )
        .unwrap()
}

#[test]
fn merging_sends_the_observed_head_as_guard_and_reads_the_merge_sha() {
    let server = ScriptedServer::start(vec![Canned::json(200, fixture!("pull-merge.json"))]);
    assert_eq!(
        merge(&server),
        MergeOutcome::Merged {
            merge_sha: Some(sha("6dcb09b5b57875f334f61aebed695e2e4193db5e"))
        }
    );
    let request = &server.requests()[0];
    assert_eq!(
        (request.method.as_str(), request.url.as_str()),
        ("PUT", "/repos/acme/deploy/pulls/12/merge")
    );
    assert_eq!(
        request.json(),
        json!({"sha": HEAD_SHA, "merge_method": "merge", "commit_title": "Promote", "commit_message": "Promote\n\nSha-dry-active: x"})
    );
}

#[test]
fn a_409_merge_answer_means_the_head_moved() {
    let server = ScriptedServer::start(vec![Canned::json(409, fixture!("pull-merge-409.json"))]);
    assert_eq!(merge(&server), MergeOutcome::HeadMoved);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn a_405_for_disabled_merge_commits_says_promoter_needs_them() {
    let server = ScriptedServer::start(vec![Canned::json(
        405,
        r#"{"message":"Merge commits are not allowed on this repository.","documentation_url":"https://docs.github.com/rest/pulls/pulls#merge-a-pull-request"}"#,
    )]);
    let MergeOutcome::Blocked { reason } = merge(&server) else {
        panic!("not blocked")
    };
    assert!(reason.contains("promoter needs"), "{reason}");
    assert!(reason.contains("Allow merge commits"), "{reason}");
}

#[test]
fn a_405_not_mergeable_is_blocked_after_seeing_the_pr_unmerged() {
    let mut unmerged = pull(12, "acme/deploy");
    unmerged["merged"] = json!(false);
    let server = ScriptedServer::start(vec![
        Canned::json(405, fixture!("pull-merge-405.json")),
        Canned::json(200, unmerged.to_string()),
    ]);
    assert_eq!(
        merge(&server),
        MergeOutcome::Blocked {
            reason: "Pull Request is not mergeable".into()
        }
    );
    assert_eq!(server.requests()[1].url, "/repos/acme/deploy/pulls/12");
}

#[test]
fn a_405_on_a_pr_merged_meanwhile_counts_as_merged() {
    let mut merged = pull(12, "acme/deploy");
    merged["merged"] = json!(true);
    merged["merge_commit_sha"] = json!("2222222222222222222222222222222222222222");
    let server = ScriptedServer::start(vec![
        Canned::json(405, fixture!("pull-merge-405.json")),
        Canned::json(200, merged.to_string()),
    ]);
    assert_eq!(
        merge(&server),
        MergeOutcome::Merged {
            merge_sha: Some(sha("2222222222222222222222222222222222222222"))
        }
    );
}

#[test]
fn a_merge_refused_by_review_rules_is_blocked_not_an_error() {
    let server = ScriptedServer::start(vec![Canned::json(
        403,
        r#"{"message":"At least 1 approving review is required by reviewers with write access."}"#,
    )]);
    assert_eq!(
        merge(&server),
        MergeOutcome::Blocked {
            reason: "At least 1 approving review is required by reviewers with write access."
                .into()
        }
    );
}

#[test]
fn a_merge_that_timed_out_but_happened_is_merged_without_a_second_put() {
    let mut merged = pull(12, "acme/deploy");
    merged["merged"] = json!(true);
    // API version 2026-03-10 drops `merge_commit_sha`; the outcome must not depend on it.
    merged.as_object_mut().unwrap().remove("merge_commit_sha");
    let server = ScriptedServer::start(vec![
        Canned::json(504, ""),
        Canned::json(200, merged.to_string()),
    ]);
    assert_eq!(merge(&server), MergeOutcome::Merged { merge_sha: None });
    let methods: Vec<String> = server.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["PUT", "GET"]);
}

#[test]
fn a_permission_refusal_of_a_merge_is_an_error_with_a_hint() {
    let server = ScriptedServer::start(vec![Canned::json(
        403,
        r#"{"message":"Resource not accessible by personal access token"}"#,
    )]);
    let error = github(&server)
        .merge_pull_request(PrNumber(12), &sha(HEAD_SHA), "t", "m")
        .unwrap_err();
    assert!(format!("{error:#}").starts_with("merging pull request #12 at 1111111 in acme/deploy: PUT /repos/acme/deploy/pulls/12/merge answered 403"));
    assert!(
        crate::scm::http::hint(&error)
            .unwrap()
            .contains("permission")
    );
}

#[test]
fn gate_reads_combine_paged_statuses_and_check_runs() {
    let server = ScriptedServer::start(Vec::new());
    let statuses_page_2 = format!(
        "<{}/repos/acme/deploy/commits/{HEAD_SHA}/statuses?per_page=100&page=2>; rel=\"next\"",
        server.base_url
    );
    let status = |context: &str, state: &str, at: &str| {
        let mut s: Value = serde_json::from_str(fixture!("status-create.json")).unwrap();
        s["context"] = json!(context);
        s["state"] = json!(state);
        s["created_at"] = json!(at);
        s["updated_at"] = json!(at);
        s
    };
    server.push(
        Canned::json(
            200,
            json!([status("health", "success", "2024-01-01T10:05:00Z")]).to_string(),
        )
        .header("Link", statuses_page_2),
    );
    server.push(Canned::json(
        200,
        json!([
            status("health", "failure", "2024-01-01T10:00:00Z"),
            status("ci", "error", "2024-01-01T09:00:00Z")
        ])
        .to_string(),
    ));
    let mut runs: Value = serde_json::from_str(fixture!("check-runs-list.json")).unwrap();
    runs["check_runs"][0]["name"] = json!("lint");
    runs["check_runs"][0]["status"] = json!("in_progress");
    runs["check_runs"][0]["conclusion"] = Value::Null;
    server.push(Canned::json(200, runs.to_string()));

    let reports = github(&server).status_reports(&sha(HEAD_SHA)).unwrap();
    let states: Vec<(&str, GateState)> =
        reports.iter().map(|r| (r.name.as_str(), r.state)).collect();
    assert_eq!(
        states,
        [
            ("ci", GateState::Failure),
            ("health", GateState::Success),
            ("lint", GateState::Pending)
        ]
    );
    let urls: Vec<String> = server.requests().into_iter().map(|r| r.url).collect();
    assert_eq!(
        urls,
        [
            format!("/repos/acme/deploy/commits/{HEAD_SHA}/statuses?per_page=100"),
            format!("/repos/acme/deploy/commits/{HEAD_SHA}/statuses?per_page=100&page=2"),
            format!("/repos/acme/deploy/commits/{HEAD_SHA}/check-runs?per_page=100"),
        ]
    );
}

#[test]
fn status_writes_post_the_documented_fields_with_the_description_cut_to_140_characters() {
    let server = ScriptedServer::start(vec![Canned::json(201, fixture!("status-create.json"))]);
    let long = "é".repeat(200);
    github(&server)
        .write_status(
            &sha(HEAD_SHA),
            &StatusWrite {
                context: "promoter-previous-environment".into(),
                state: GateState::Pending,
                description: long,
                target_url: Some("https://github.com/acme/deploy/pull/3".into()),
            },
        )
        .unwrap();
    let request = &server.requests()[0];
    assert_eq!(
        (request.method.as_str(), request.url.as_str()),
        (
            "POST",
            format!("/repos/acme/deploy/statuses/{HEAD_SHA}").as_str()
        )
    );
    assert_eq!(
        request.json(),
        json!({
            "state": "pending",
            "description": "é".repeat(140),
            "context": "promoter-previous-environment",
            "target_url": "https://github.com/acme/deploy/pull/3",
        })
    );
}

#[test]
fn the_previous_environment_gate_is_never_written_as_failure() {
    let server = ScriptedServer::start(Vec::new());
    let write = StatusWrite {
        context: PREVIOUS_ENVIRONMENT.into(),
        state: GateState::Failure,
        description: "x".into(),
        target_url: None,
    };
    assert!(
        github(&server)
            .write_status(&sha(HEAD_SHA), &write)
            .is_err()
    );
    assert!(server.requests().is_empty());
}

#[test]
fn a_refused_token_points_at_its_variable_and_never_shows_it() {
    let server = ScriptedServer::start(vec![Canned::json(
        401,
        r#"{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}"#,
    )]);
    let error = github(&server)
        .find_open_pull_request(&branch("environment/dev-next"), &branch("environment/dev"))
        .unwrap_err();
    assert_eq!(
        crate::scm::http::hint(&error),
        Some("GitHub refused the token: check that GITHUB_TOKEN holds a valid, unexpired token")
    );
    let shown = format!("{error:#} {error:?}");
    assert!(shown.contains("answered 401: Bad credentials"), "{shown}");
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(
        !shown.contains("head=acme"),
        "queries stay out of errors: {shown}"
    );
}

#[test]
fn a_missing_repository_hints_at_visibility_and_the_api_url() {
    let server = ScriptedServer::start(vec![Canned::json(404, r#"{"message":"Not Found"}"#)]);
    let error = github(&server).status_reports(&sha(HEAD_SHA)).unwrap_err();
    let hint = crate::scm::http::hint(&error).unwrap();
    assert_eq!(
        hint,
        format!(
            "repository acme/deploy is not visible to this token, or scm.apiUrl ({}) is wrong",
            server.base_url
        )
    );
}

#[test]
fn merge_refusals_are_classified_by_status_then_message() {
    assert_eq!(
        refusal(
            409,
            "Head branch was modified. Review and try the merge again."
        ),
        Refusal::HeadMoved
    );
    assert_eq!(
        refusal(405, "Pull Request is not mergeable"),
        Refusal::Unclear
    );
    assert_eq!(
        refusal(
            405,
            "Base branch was modified. Review and try the merge again."
        ),
        Refusal::Blocked("Base branch was modified. Review and try the merge again.".into())
    );
    assert_eq!(
        refusal(422, "Required status check \"ci\" is expected."),
        Refusal::Blocked("Required status check \"ci\" is expected.".into())
    );
    assert_eq!(refusal(422, "Validation Failed"), Refusal::Error);
    assert_eq!(refusal(404, "Not Found"), Refusal::Error);
}

#[test]
fn descriptions_are_cut_on_character_boundaries() {
    assert_eq!(cut_description("short"), "short");
    let cut = cut_description(&"日本".repeat(100));
    assert_eq!(cut.chars().count(), 140);
}
