//! Wire-format tests over the Bitbucket Cloud payloads in tests/fixtures/scm/bitbucket (every
//! file), and the client's request sequences against a scripted HTTP server: BBQL lookup with
//! `next` paging and the short-hash resolve, the merge guard before and the second-parent check
//! after a merge, the 202 merge task, Basic auth, and the status link default. The client against
//! the sandbox's Bitbucket dialect is in `sandbox_tests.rs`.

use serde_json::{Value, json};

use super::wire::{self, CommitStatus, Page, Pull, reduce};
use super::*;
use crate::model::GateState;
use crate::scm::http::tests::{FakeClock, test_options};
use crate::scm::test_server::{Canned, ScriptedServer};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../tests/fixtures/scm/bitbucket/", $name))
    };
}

const HEAD: &str = "31c54529bd80aaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const MERGE: &str = "7e57ab1e00000000000000000000000000000001";
const BASE: &str = "710db794f15b0000000000000000000000000000";

fn branch(name: &str) -> BranchName {
    BranchName::parse(name).unwrap()
}

fn sha(text: &str) -> Sha {
    Sha::parse(text).unwrap()
}

/// The fixture PR, turned into a same-repository PR of `acme/deploy` from `head` into `base`.
fn pull_json(id: u64, head: &str, base: &str, hash: &str) -> Value {
    let mut value: Value = serde_json::from_str(fixture!("pullrequest.go-scm.json")).unwrap();
    value["id"] = json!(id);
    value["source"]["branch"]["name"] = json!(head);
    value["source"]["commit"]["hash"] = json!(hash);
    value["source"]["repository"]["full_name"] = json!("acme/deploy");
    value["destination"]["branch"]["name"] = json!(base);
    value["destination"]["repository"]["full_name"] = json!("acme/deploy");
    value
}

fn commit_json(hash: &str, parents: &[&str]) -> String {
    json!({
        "type": "commit",
        "hash": hash,
        "parents": parents.iter().map(|p| json!({"type": "commit", "hash": p})).collect::<Vec<_>>(),
    })
    .to_string()
}

fn client(server: &ScriptedServer, username: Option<&str>) -> Bitbucket {
    let mut options = test_options(FakeClock::new());
    options.token_source = Some("BITBUCKET_TOKEN".into());
    Bitbucket::new(
        &format!("{}/2.0", server.base_url),
        &RepoPath::new("acme", "deploy"),
        Some(Secret::new("bb-token-0123456789abcdef")),
        username.map(str::to_owned),
        options,
    )
    .unwrap()
}

#[test]
fn the_pull_request_payload_maps_to_the_domain_pr_once_its_hash_is_resolved() {
    let pull: Pull = serde_json::from_str(fixture!("pullrequest.go-scm.json")).unwrap();
    assert!(pull.is_open());
    assert_eq!(pull.source.hash(), Some("31c54529bd80"));
    // The fixture's source is a fork: never the environment's PR.
    let head = branch(&pull.source.branch.name);
    assert!(!pull.is_promotion_pr("atlassian/atlaskit", &head, &branch("master")));
    let same: Pull =
        serde_json::from_value(pull_json(4982, "feature", "master", "31c54529bd80")).unwrap();
    assert!(same.is_promotion_pr("ACME/Deploy", &branch("feature"), &branch("master")));
    assert!(!same.is_promotion_pr("acme/deploy", &branch("feature"), &branch("main")));
    let pr = wire::into_domain(same, sha(HEAD)).unwrap();
    assert_eq!(pr.number, PrNumber(4982));
    assert_eq!(
        pr.url,
        "https://bitbucket.org/atlassian/atlaskit/pull-requests/4982"
    );
    assert_eq!(pr.body, "IOS date picker component duplicate March issue");
    assert_eq!(pr.head_sha, sha(HEAD));
}

#[test]
fn the_list_envelope_and_short_hash_comparison() {
    let page: Page<Pull> = serde_json::from_str(fixture!("pullrequests-list.go-scm.json")).unwrap();
    assert_eq!(page.values.len(), 1);
    assert!(wire::names("31c54529bd80", &sha(HEAD)));
    assert!(wire::names("31C54529BD80", &sha(HEAD)));
    assert!(!wire::names("31c54529bd81", &sha(HEAD)));
    assert!(
        !wire::names("31c", &sha(HEAD)),
        "too short to name a commit"
    );
}

#[test]
fn status_payloads_map_states_and_keep_one_per_key() {
    let page: Page<CommitStatus> =
        serde_json::from_str(fixture!("commit-statuses.go-scm.json")).unwrap();
    assert!(page.next.is_some());
    let one: CommitStatus = serde_json::from_str(fixture!("commit-status.go-scm.json")).unwrap();
    let mut older: Value = serde_json::from_str(fixture!("commit-status.go-scm.json")).unwrap();
    older["state"] = json!("FAILED");
    older["updated_on"] = json!("2018-07-01T20:00:00.000000+00:00");
    let older: CommitStatus = serde_json::from_value(older).unwrap();
    let reports = reduce(vec![one, older]);
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].name, "drone");
    assert_eq!(reports[0].state, GateState::Success);
    assert_eq!(
        reports[0].target_url.as_deref(),
        Some("https://ci.example.com/1000/output")
    );
    assert_eq!(wire::status_state("STOPPED"), GateState::Failure);
    assert_eq!(wire::status_state("INPROGRESS"), GateState::Pending);
    assert_eq!(wire::status_state("SOMETHING_NEW"), GateState::Pending);
    assert_eq!(wire::write_state(GateState::Pending), "INPROGRESS");
}

#[test]
fn a_lookup_filters_with_bbql_follows_next_and_resolves_the_short_hash() {
    let server = ScriptedServer::start(vec![]);
    let next = format!(
        "{}/2.0/repositories/acme/deploy/pullrequests?state=OPEN&pagelen=50&page=2",
        server.base_url
    );
    // Page 1: another branch's PR (a server that ignored the filter); page 2: the one.
    server.push(Canned::json(200, json!({"pagelen": 50, "values": [pull_json(3, "other", "environment/dev", "aaaaaaaaaaaa")], "next": next}).to_string()));
    server.push(Canned::json(200, json!({"pagelen": 50, "values": [pull_json(7, "environment/dev-next", "environment/dev", "31c54529bd80")]}).to_string()));
    server.push(Canned::json(200, commit_json(HEAD, &[BASE])));
    let client = client(&server, None);
    let pr = client
        .find_open_pull_request(&branch("environment/dev-next"), &branch("environment/dev"))
        .unwrap()
        .expect("found");
    assert_eq!((pr.number, pr.head_sha.clone()), (PrNumber(7), sha(HEAD)));
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert!(
        requests[0]
            .url
            .starts_with("/2.0/repositories/acme/deploy/pullrequests?state=OPEN&pagelen=50&q="),
        "{}",
        requests[0].url
    );
    assert!(
        requests[0].url.contains("source.branch.name%20%3D%20%22environment%2Fdev-next%22%20AND%20destination.branch.name%20%3D%20%22environment%2Fdev%22"),
        "{}", requests[0].url
    );
    assert!(requests[1].url.ends_with("&page=2"));
    assert_eq!(
        requests[2].url,
        "/2.0/repositories/acme/deploy/commit/31c54529bd80"
    );
    assert_eq!(
        requests[0].header("authorization"),
        Some("Bearer bb-token-0123456789abcdef")
    );

    // The same PR updated in the same run: its hash is remembered, no second commit read.
    server.push(Canned::json(
        200,
        pull_json(7, "environment/dev-next", "environment/dev", "31c54529bd80").to_string(),
    ));
    let updated = client.update_pull_request(PrNumber(7), "t", "b").unwrap();
    assert_eq!(updated.head_sha, sha(HEAD));
    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    assert_eq!(requests[3].method, "PUT");
    assert_eq!(
        requests[3].json(),
        json!({"title": "t", "description": "b"})
    );
}

#[test]
fn a_next_link_off_the_api_root_is_refused() {
    let server = ScriptedServer::start(vec![Canned::json(
        200,
        json!({"values": [], "next": "https://elsewhere.example/2.0/repositories/acme/deploy/pullrequests?page=2"}).to_string(),
    )]);
    let error = client(&server, None)
        .find_open_pull_request(&branch("a"), &branch("b"))
        .unwrap_err();
    assert!(format!("{error:#}").contains("leaves"), "{error:#}");
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn the_title_required_answer_is_shown_by_its_message() {
    let server = ScriptedServer::start(vec![Canned::json(
        400,
        fixture!("pullrequest-update-400-title-required.observed.json"),
    )]);
    let error = client(&server, None)
        .update_pull_request(PrNumber(1), "", "b")
        .unwrap_err();
    assert!(
        format!("{error:#}").contains("answered 400: title: This field is required."),
        "{error:#}"
    );
}

#[test]
fn a_merge_is_refused_before_sending_when_the_source_moved() {
    let server = ScriptedServer::start(vec![Canned::json(
        200,
        pull_json(7, "s", "l", "bbbbbbbbbbbb").to_string(),
    )]);
    let outcome = client(&server, None)
        .merge_pull_request(PrNumber(7), &sha(HEAD), "t", "m")
        .unwrap();
    assert_eq!(outcome, MergeOutcome::HeadMoved);
    assert_eq!(server.requests().len(), 1, "no merge sent");
}

#[test]
fn a_merge_checks_the_merge_commits_second_parent() {
    let mut merged = pull_json(7, "s", "l", "31c54529bd80");
    merged["state"] = json!("MERGED");
    merged["merge_commit"] = json!({"hash": "7e57ab1e0000"});
    let server = ScriptedServer::start(vec![
        Canned::json(200, pull_json(7, "s", "l", "31c54529bd80").to_string()),
        Canned::json(200, merged.to_string()),
        Canned::json(200, commit_json(MERGE, &[BASE, HEAD])),
    ]);
    let client = client(&server, None);
    let outcome = client
        .merge_pull_request(PrNumber(7), &sha(HEAD), "Promote", "body")
        .unwrap();
    assert_eq!(
        outcome,
        MergeOutcome::Merged {
            merge_sha: Some(sha(MERGE))
        }
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(
        requests[1].url,
        "/2.0/repositories/acme/deploy/pullrequests/7/merge"
    );
    assert_eq!(
        requests[1].json(),
        json!({"type": "pullrequest_merge_parameters", "message": "Promote\n\nbody", "merge_strategy": "merge_commit", "close_source_branch": false})
    );
    assert_eq!(
        requests[2].url,
        "/2.0/repositories/acme/deploy/commit/7e57ab1e0000"
    );

    // A push between the read and the merge: Bitbucket merged another commit. Loud, both named.
    let other = "cccccccccccccccccccccccccccccccccccccccc";
    server.push(Canned::json(
        200,
        pull_json(7, "s", "l", "31c54529bd80").to_string(),
    ));
    server.push(Canned::json(200, merged.to_string()));
    server.push(Canned::json(200, commit_json(MERGE, &[BASE, other])));
    let error = client
        .merge_pull_request(PrNumber(7), &sha(HEAD), "Promote", "body")
        .unwrap_err();
    let text = format!("{error:#}");
    assert!(
        text.contains(other) && text.contains(HEAD) && text.contains(MERGE),
        "{text}"
    );
}

#[test]
fn a_merge_answered_202_is_polled_until_its_task_succeeds() {
    let mut merged = pull_json(7, "s", "l", "31c54529bd80");
    merged["state"] = json!("MERGED");
    merged["merge_commit"] = json!({"hash": "7e57ab1e0000"});
    let server = ScriptedServer::start(vec![]);
    let task = format!(
        "{}/2.0/repositories/acme/deploy/pullrequests/7/merge/task-status/abc",
        server.base_url
    );
    server.push(Canned::json(
        200,
        pull_json(7, "s", "l", "31c54529bd80").to_string(),
    ));
    server.push(Canned::json(202, "{}").header("Location", task));
    server.push(Canned::json(
        200,
        json!({"task_status": "PENDING"}).to_string(),
    ));
    server.push(Canned::json(
        200,
        json!({"task_status": "SUCCESS", "merge_result": merged}).to_string(),
    ));
    server.push(Canned::json(200, commit_json(MERGE, &[BASE, HEAD])));
    let outcome = client(&server, None)
        .merge_pull_request(PrNumber(7), &sha(HEAD), "t", "")
        .unwrap();
    assert_eq!(
        outcome,
        MergeOutcome::Merged {
            merge_sha: Some(sha(MERGE))
        }
    );
    let urls: Vec<String> = server.requests().into_iter().map(|r| r.url).collect();
    assert_eq!(
        urls[2],
        "/2.0/repositories/acme/deploy/pullrequests/7/merge/task-status/abc"
    );
    assert_eq!(urls.len(), 5);
}

#[test]
fn a_merge_strategy_refusal_says_to_allow_merge_commits() {
    let server = ScriptedServer::start(vec![
        Canned::json(200, pull_json(7, "s", "l", "31c54529bd80").to_string()),
        Canned::json(
            400,
            r#"{"type":"error","error":{"message":"The merge strategy \"merge_commit\" is not allowed"}}"#,
        ),
    ]);
    let outcome = client(&server, None)
        .merge_pull_request(PrNumber(7), &sha(HEAD), "t", "")
        .unwrap();
    let MergeOutcome::Blocked { reason } = outcome else {
        panic!("{outcome:?}");
    };
    assert!(reason.contains("Merge commit"), "{reason}");
}

#[test]
fn a_user_name_sends_basic_auth_and_a_status_without_link_points_at_the_repository() {
    let server = ScriptedServer::start(vec![Canned::json(
        201,
        fixture!("commit-status.go-scm.json"),
    )]);
    let client = client(&server, Some("alice"));
    let status = StatusWrite {
        context: "promoter-previous-environment".into(),
        state: GateState::Pending,
        description: "waiting".into(),
        target_url: None,
    };
    client.write_status(&sha(HEAD), &status).unwrap();
    let request = &server.requests()[0];
    use base64::Engine;
    let expected =
        base64::engine::general_purpose::STANDARD.encode("alice:bb-token-0123456789abcdef");
    assert_eq!(
        request.header("authorization"),
        Some(format!("Basic {expected}").as_str())
    );
    assert_eq!(
        request.url,
        format!("/2.0/repositories/acme/deploy/commit/{HEAD}/statuses/build")
    );
    assert_eq!(
        request.json(),
        json!({"key": "promoter-previous-environment", "state": "INPROGRESS", "name": "promoter-previous-environment", "description": "waiting", "url": format!("{}/acme/deploy", server.base_url)})
    );
}

#[test]
fn a_status_key_over_forty_characters_is_refused_before_sending() {
    let server = ScriptedServer::start(vec![]);
    let status = StatusWrite {
        context: "k".repeat(41),
        state: GateState::Success,
        description: String::new(),
        target_url: None,
    };
    let error = client(&server, None)
        .write_status(&sha(HEAD), &status)
        .unwrap_err();
    assert!(format!("{error:#}").contains("40 characters"), "{error:#}");
    assert!(server.requests().is_empty());
}

#[test]
fn a_merge_answer_without_its_merge_commit_reads_the_pr_for_it() {
    let mut answered = pull_json(7, "s", "l", "31c54529bd80");
    answered["state"] = json!("MERGED");
    answered["merge_commit"] = Value::Null;
    let mut read = answered.clone();
    read["merge_commit"] = json!({"hash": "7e57ab1e0000"});
    let server = ScriptedServer::start(vec![
        Canned::json(200, pull_json(7, "s", "l", "31c54529bd80").to_string()),
        Canned::json(200, answered.to_string()),
        Canned::json(200, read.to_string()),
        Canned::json(200, commit_json(MERGE, &[BASE, HEAD])),
    ]);
    let outcome = client(&server, None)
        .merge_pull_request(PrNumber(7), &sha(HEAD), "t", "")
        .unwrap();
    assert_eq!(
        outcome,
        MergeOutcome::Merged {
            merge_sha: Some(sha(MERGE))
        }
    );
    let urls: Vec<String> = server.requests().into_iter().map(|r| r.url).collect();
    assert_eq!(urls[2], "/2.0/repositories/acme/deploy/pullrequests/7");
    assert_eq!(urls[3], "/2.0/repositories/acme/deploy/commit/7e57ab1e0000");
}

#[test]
fn pipelines_variables_give_the_workspace_and_slug() {
    let read = PROVIDER.ci.repository.as_ref().unwrap().read;
    let full = |name: &str| (name == "BITBUCKET_REPO_FULL_NAME").then(|| "acme/deploy".to_owned());
    assert_eq!(read(&full), Some(("acme".to_owned(), "deploy".to_owned())));
    let split = |name: &str| match name {
        "BITBUCKET_WORKSPACE" => Some("acme".to_owned()),
        "BITBUCKET_REPO_SLUG" => Some("deploy".to_owned()),
        _ => None,
    };
    assert_eq!(read(&split), Some(("acme".to_owned(), "deploy".to_owned())));
    assert_eq!(read(&|_: &str| None), None);
    let page = (PROVIDER.web.repository)("https://bitbucket.org", &RepoPath::new("acme", "deploy"));
    assert_eq!(page, "https://bitbucket.org/acme/deploy");
    assert_eq!(
        (PROVIDER.web.commit)(&page, &sha(HEAD)),
        format!("https://bitbucket.org/acme/deploy/commits/{HEAD}")
    );
}
