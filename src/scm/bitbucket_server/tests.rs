//! Wire-format tests over the Bitbucket Data Center payloads in
//! tests/fixtures/scm/bitbucket-server (every file), and the client's request sequences against a
//! scripted server: paging, the duplicate-create adoption, the stale-version retry, the head check
//! before merging and the veto reasons.

use serde_json::{Value, json};

use super::wire::{self, BuildStatus, MergeCheck, Page, Pull};
use super::*;
use crate::model::GateState;
use crate::scm::http::tests::{FakeClock, test_options};
use crate::scm::issues::Issues;
use crate::scm::shared::WirePull;
use crate::scm::test_server::{Canned, ScriptedServer};

const TOKEN: &str = "bbdc-t0k3n";
const REPO: &str = "/rest/api/1.0/projects/PRJ/repos/my-repo";
const HEAD: &str = "babecafebabecafebabecafebabecafebabecafe";

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            "../../../tests/fixtures/scm/bitbucket-server/",
            $name
        ))
    };
}

fn client(server: &ScriptedServer) -> BitbucketServer {
    BitbucketServer::new(
        &server.base_url,
        &RepoPath::new("PRJ", "my-repo"),
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

/// The documented PR, moved onto the promotion branches with `id` and `version`.
fn pull(id: u64, version: u64) -> Value {
    let mut pr: Value = serde_json::from_str(fixture!("pull-request.json")).unwrap();
    pr["id"] = json!(id);
    pr["version"] = json!(version);
    pr["fromRef"]["id"] = json!("refs/heads/environment/dev-next");
    pr["toRef"]["id"] = json!("refs/heads/environment/dev");
    pr
}

fn page(values: Vec<Value>, next: Option<u64>) -> String {
    let mut page = json!({"size": values.len(), "limit": 100, "start": 0, "values": values,
        "isLastPage": next.is_none()});
    if let Some(next) = next {
        page["nextPageStart"] = json!(next);
    }
    page.to_string()
}

fn new_pr() -> NewPullRequest {
    NewPullRequest {
        head: branch("environment/dev-next"),
        base: branch("environment/dev"),
        title: "Promote abc1234 to `environment/dev`".into(),
        body: "body".into(),
    }
}

fn calls(server: &ScriptedServer) -> Vec<(String, String)> {
    server
        .requests()
        .into_iter()
        .map(|r| (r.method, r.url))
        .collect()
}

fn find_url(start: u64) -> String {
    format!(
        "{REPO}/pull-requests?state=OPEN&direction=INCOMING&at=refs%2Fheads%2Fenvironment%2Fdev&limit=100&start={start}"
    )
}

#[test]
fn the_documented_pull_request_maps_to_the_domain_pr() {
    let pull: Pull = serde_json::from_str(fixture!("pull-request.json")).unwrap();
    assert!(pull.is_open() && !pull.is_merged());
    assert_eq!(pull.version, 1);
    assert_eq!(pull.reviewer_names(), ["jcitizen"]);
    assert_eq!(pull.merge_sha(), None);
    let pr = WirePull::into_domain(pull).unwrap();
    assert_eq!(pr.number, PrNumber(1));
    assert_eq!(pr.url, "http://link/to/pullrequest");
    assert_eq!(pr.title, "Talking Nerdy");
    assert_eq!(pr.head_sha.as_str(), HEAD);
    assert_eq!(pr.head_branch, branch("feature-ABC-123"));
    assert_eq!(pr.base_branch, branch("master"));
}

#[test]
fn the_list_page_is_filtered_on_branches_and_repository() {
    let page: Page<Pull> = serde_json::from_str(fixture!("pull-requests-list.json")).unwrap();
    assert!(page.is_last_page);
    let pull = &page.values[0];
    let (head, base) = (branch("feature-ABC-123"), branch("master"));
    assert!(pull.is_promotion_pr("PRJ", "my-repo", &head, &base));
    // Project keys and slugs compare without case.
    assert!(pull.is_promotion_pr("prj", "My-Repo", &head, &base));
    assert!(!pull.is_promotion_pr("FORK", "my-repo", &head, &base));
    assert!(!pull.is_promotion_pr("PRJ", "my-repo", &base, &head));
}

#[test]
fn a_forks_pull_request_is_never_the_environments() {
    let mut fork = pull(3, 0);
    fork["fromRef"]["repository"]["project"]["key"] = json!("~MALLORY");
    let fork: Pull = serde_json::from_value(fork).unwrap();
    assert!(!fork.is_promotion_pr(
        "PRJ",
        "my-repo",
        &branch("environment/dev-next"),
        &branch("environment/dev")
    ));
}

#[test]
fn a_merged_pull_request_names_its_merge_commit() {
    let merged: Pull = serde_json::from_str(fixture!("pull-request-merged.json")).unwrap();
    assert!(merged.is_merged());
    assert_eq!(
        merged.merge_sha().unwrap().as_str(),
        "0a943a29376f2336b78312d99e65da17048951db"
    );
}

#[test]
fn build_statuses_map_to_gate_states_newest_per_key() {
    let page: Page<BuildStatus> = serde_json::from_str(fixture!("build-statuses.json")).unwrap();
    let reports = wire::reduce(page.values);
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].name, "TEST-REP3");
    // CANCELLED (7.4 and later) fails the gate.
    assert_eq!(reports[0].state, GateState::Failure);
    assert_eq!(
        reports[0].target_url.as_deref(),
        Some("https://bamboo.example.com/browse/TEST-REP3")
    );

    let page: Page<BuildStatus> =
        serde_json::from_str(fixture!("build-statuses-1.0.json")).unwrap();
    let mut values = page.values;
    values.push(
        serde_json::from_value(json!({"state": "FAILED", "key": "REPO-MASTER",
            "url": "https://x", "dateAdded": 1_359_075_900}))
        .unwrap(),
    );
    let reports = wire::reduce(values);
    let states: Vec<(&str, GateState)> =
        reports.iter().map(|r| (r.name.as_str(), r.state)).collect();
    // The older FAILED entry of REPO-MASTER loses to the newer SUCCESSFUL one.
    assert_eq!(
        states,
        [
            ("REPO-FEATURE", GateState::Pending),
            ("REPO-MASTER", GateState::Success)
        ]
    );
    assert_eq!(wire::gate_state("UNKNOWN"), GateState::Pending);
}

#[test]
fn the_status_body_has_the_documented_fields() {
    let body = wire::CreateBuildStatus {
        state: wire::write_state(GateState::Success),
        key: "REPO-MASTER",
        name: "REPO-MASTER-42",
        url: "https://bamboo.example.com/browse/REPO-MASTER-42",
        description: "Changes by John Doe",
    };
    let documented: Value = serde_json::from_str(fixture!("build-status.request.json")).unwrap();
    assert_eq!(serde_json::to_value(&body).unwrap(), documented);
    assert_eq!(wire::write_state(GateState::Pending), "INPROGRESS");
    assert_eq!(wire::write_state(GateState::Failure), "FAILED");
}

#[test]
fn veto_reasons_are_read_from_the_merge_check() {
    let check: MergeCheck = serde_json::from_str(fixture!("merge-check-vetoed.json")).unwrap();
    assert_eq!(
        check.reasons(),
        "Requires approvals: You need 2 more approvals before this pull request can be merged."
    );
    let conflicted: MergeCheck =
        serde_json::from_value(json!({"canMerge": false, "conflicted": true, "vetoes": []}))
            .unwrap();
    assert_eq!(conflicted.reasons(), "the pull request has conflicts");
}

#[test]
fn the_lookup_reads_every_page_and_sends_the_bearer_token() {
    let mut other = pull(1, 0);
    other["fromRef"]["id"] = json!("refs/heads/feature");
    let server = ScriptedServer::start(vec![
        Canned::json(200, page(vec![other], Some(1))),
        Canned::json(200, page(vec![pull(7, 3)], None)),
    ]);
    let scm = client(&server);
    let pr = scm
        .find_open_pull_request(&branch("environment/dev-next"), &branch("environment/dev"))
        .unwrap()
        .unwrap();
    assert_eq!(pr.number, PrNumber(7));
    assert_eq!(
        calls(&server),
        [
            ("GET".to_owned(), find_url(0)),
            ("GET".to_owned(), find_url(1))
        ]
    );
    let first = &server.requests()[0];
    assert_eq!(
        first.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}

#[test]
fn a_duplicate_create_adopts_the_open_pull_request() {
    let server = ScriptedServer::start(vec![
        Canned::json(
            409,
            fixture!("pull-request-create-409-duplicate.observed.json"),
        ),
        Canned::json(200, page(vec![pull(4, 0)], None)),
    ]);
    let pr = client(&server).create_pull_request(&new_pr()).unwrap();
    assert_eq!(pr.number, PrNumber(4));
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let body = requests[0].json();
    assert_eq!(body["fromRef"]["id"], "refs/heads/environment/dev-next");
    assert_eq!(body["toRef"]["repository"]["project"]["key"], "PRJ");
    assert_eq!(body["toRef"]["repository"]["slug"], "my-repo");
}

#[test]
fn an_update_sends_the_version_and_reviewers_seen_and_retries_once_when_stale() {
    let server = ScriptedServer::start(vec![
        Canned::json(200, page(vec![pull(7, 3)], None)),
        Canned::json(409, fixture!("pull-request-409-out-of-date.observed.json")),
        Canned::json(200, pull(7, 4).to_string()),
        Canned::json(200, pull(7, 5).to_string()),
    ]);
    let scm = client(&server);
    scm.find_open_pull_request(&branch("environment/dev-next"), &branch("environment/dev"))
        .unwrap();
    scm.update_pull_request(PrNumber(7), "new title", "new body")
        .unwrap();
    let requests = server.requests();
    let methods: Vec<&str> = requests.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["GET", "PUT", "GET", "PUT"]);
    assert_eq!(requests[1].json()["version"], 3);
    assert_eq!(
        requests[1].json()["reviewers"],
        json!([{"user": {"name": "jcitizen"}}])
    );
    assert_eq!(requests[3].json()["version"], 4);
    assert_eq!(requests[3].json()["title"], "new title");
}

#[test]
fn a_merge_checks_the_head_first_and_sends_the_version_it_read() {
    let mut merged: Value = serde_json::from_str(fixture!("pull-request-merged.json")).unwrap();
    merged["id"] = json!(7);
    let merge_commit = json!({"id": "0a943a29376f2336b78312d99e65da17048951db",
        "parents": [{"id": "cafebabecafebabecafebabecafebabecafebabe"}, {"id": HEAD}]});
    let server = ScriptedServer::start(vec![
        Canned::json(200, pull(7, 6).to_string()),
        Canned::json(200, merged.to_string()),
        Canned::json(200, merge_commit.to_string()),
    ]);
    let outcome = client(&server)
        .merge_pull_request(PrNumber(7), &sha(HEAD), "Promote", "body")
        .unwrap();
    assert_eq!(
        outcome,
        MergeOutcome::Merged {
            merge_sha: Some(sha("0a943a29376f2336b78312d99e65da17048951db"))
        }
    );
    let requests = server.requests();
    assert_eq!(
        calls(&server),
        [
            ("GET".to_owned(), format!("{REPO}/pull-requests/7")),
            (
                "POST".to_owned(),
                format!("{REPO}/pull-requests/7/merge?version=6")
            ),
            (
                "GET".to_owned(),
                format!("{REPO}/commits/0a943a29376f2336b78312d99e65da17048951db")
            )
        ]
    );
    let body = requests[1].json();
    assert_eq!(body["strategyId"], "no-ff");
    assert_eq!(body["message"], "Promote\n\nbody");
    assert_eq!(body["autoSubject"], false);
}

#[test]
fn a_merge_commit_whose_second_parent_is_not_the_gated_head_is_reported_loudly() {
    let mut merged: Value = serde_json::from_str(fixture!("pull-request-merged.json")).unwrap();
    merged["id"] = json!(7);
    let other = "3".repeat(40);
    let merge_commit = json!({"id": "0a943a29376f2336b78312d99e65da17048951db",
        "parents": [{"id": "cafebabecafebabecafebabecafebabecafebabe"}, {"id": other}]});
    let server = ScriptedServer::start(vec![
        Canned::json(200, pull(7, 6).to_string()),
        Canned::json(200, merged.to_string()),
        Canned::json(200, merge_commit.to_string()),
    ]);
    let error = client(&server)
        .merge_pull_request(PrNumber(7), &sha(HEAD), "Promote", "")
        .unwrap_err();
    let text = format!("{error:#}");
    assert!(text.contains("GATES WERE NOT READ"), "{text}");
    assert!(text.contains(&other) && text.contains(HEAD), "{text}");
}

#[test]
fn a_head_that_moved_before_the_merge_is_never_merged() {
    let mut moved = pull(7, 6);
    moved["fromRef"]["latestCommit"] = json!("1".repeat(40));
    let server = ScriptedServer::start(vec![Canned::json(200, moved.to_string())]);
    let outcome = client(&server)
        .merge_pull_request(PrNumber(7), &sha(HEAD), "Promote", "")
        .unwrap();
    assert_eq!(outcome, MergeOutcome::HeadMoved);
    assert_eq!(server.requests().len(), 1, "no merge is sent");
}

#[test]
fn a_stale_version_with_a_moved_head_is_head_moved() {
    let mut moved = pull(7, 7);
    moved["fromRef"]["latestCommit"] = json!("2".repeat(40));
    let server = ScriptedServer::start(vec![
        Canned::json(200, pull(7, 6).to_string()),
        Canned::json(409, fixture!("pull-request-409-out-of-date.observed.json")),
        Canned::json(200, moved.to_string()),
    ]);
    let outcome = client(&server)
        .merge_pull_request(PrNumber(7), &sha(HEAD), "Promote", "")
        .unwrap();
    assert_eq!(outcome, MergeOutcome::HeadMoved);
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn a_vetoed_merge_is_blocked_with_the_veto_reasons() {
    let server = ScriptedServer::start(vec![
        Canned::json(200, pull(7, 6).to_string()),
        Canned::json(409, fixture!("merge-409-vetoed.observed.json")),
        Canned::json(200, fixture!("merge-check-vetoed.json")),
    ]);
    let outcome = client(&server)
        .merge_pull_request(PrNumber(7), &sha(HEAD), "Promote", "")
        .unwrap();
    let MergeOutcome::Blocked { reason } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(reason.contains("You need 2 more approvals"), "{reason}");
    assert_eq!(
        calls(&server)[2],
        ("GET".to_owned(), format!("{REPO}/pull-requests/7/merge"))
    );
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn status_reads_page_through_the_build_status_resource_and_writes_carry_a_url() {
    let server = ScriptedServer::start(vec![
        Canned::json(200, fixture!("build-statuses-1.0.json")),
        Canned::json(204, ""),
    ]);
    let scm = client(&server);
    let commit = sha(HEAD);
    let reports = scm.status_reports(&commit).unwrap();
    assert_eq!(reports.len(), 2);
    scm.write_status(
        &commit,
        &StatusWrite {
            context: "promoter-previous-environment".into(),
            state: GateState::Pending,
            description: "Waiting".into(),
            target_url: None,
        },
    )
    .unwrap();
    let requests = server.requests();
    assert_eq!(
        requests[0].url,
        format!("/rest/build-status/1.0/commits/{HEAD}?limit=100&start=0")
    );
    assert_eq!(
        requests[1].url,
        format!("/rest/build-status/1.0/commits/{HEAD}")
    );
    let body = requests[1].json();
    assert_eq!(body["state"], "INPROGRESS");
    assert_eq!(body["key"], "promoter-previous-environment");
    assert_eq!(
        body["url"],
        format!(
            "{}/projects/PRJ/repos/my-repo/commits/{HEAD}",
            server.base_url
        )
    );
}

#[test]
fn urls_follow_the_data_center_layout() {
    let path = RepoPath::new("PRJ", "my-repo");
    let web = "https://bitbucket.acme.com/bb";
    let page = repository_url(web, &path);
    assert_eq!(
        page,
        "https://bitbucket.acme.com/bb/projects/PRJ/repos/my-repo"
    );
    assert_eq!(
        clone_url(web, &path),
        "https://bitbucket.acme.com/bb/scm/prj/my-repo.git"
    );
    assert_eq!(
        commit_url(&page, &sha(HEAD)),
        format!("{page}/commits/{HEAD}")
    );
}

#[test]
fn the_dashboard_issue_is_refused_without_a_request() {
    let server = ScriptedServer::start(vec![]);
    let error = client(&server).open_issues().unwrap_err();
    assert!(error.to_string().contains("no issue tracker"), "{error}");
    assert!(server.requests().is_empty());
}
