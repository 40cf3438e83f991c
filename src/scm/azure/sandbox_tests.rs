//! The Azure DevOps client against the sandbox forge's Azure DevOps dialect over real bare
//! repositories and real HTTP on 127.0.0.1: the search by full refs, fork PRs, the description
//! cut of list answers, duplicate creates, the completion guard, queued completions, conflicts,
//! status genres, and a refused token.

use std::sync::Arc;

use crate::model::{GateState, PREVIOUS_ENVIRONMENT};

use super::*;
use crate::scm::http::tests::{FakeClock, test_options};
use sandbox::{AZURE_ORGANIZATION, CommitSpec, Sandbox};

const TOKEN: &str = "azure-pat-0123456789abcdef";
const PROJECT: &str = "acme";
const NAME: &str = "deploy";
const LIVE: &str = "environment/dev";
const STAGING: &str = "environment/dev-next";

struct Forge {
    sandbox: Sandbox,
    _dir: tempfile::TempDir,
    changes: u32,
}

impl Forge {
    /// `sandbox/acme/deploy` with a live branch and a staging branch one commit ahead of it.
    fn new() -> Forge {
        let dir = tempfile::tempdir().unwrap();
        let sandbox =
            Sandbox::start(&dir.path().join("forge"), &sandbox::Token::new(TOKEN)).unwrap();
        sandbox.create_repo(PROJECT, NAME).unwrap();
        sandbox
            .commit(
                PROJECT,
                NAME,
                LIVE,
                &CommitSpec::new("live").file("app.yaml", "0\n"),
            )
            .unwrap();
        sandbox.create_branch(PROJECT, NAME, STAGING, LIVE).unwrap();
        let mut forge = Forge {
            sandbox,
            _dir: dir,
            changes: 0,
        };
        forge.stage();
        forge
    }

    /// A new hydrated commit on the staging branch.
    fn stage(&mut self) -> Sha {
        self.changes += 1;
        let content = format!("{}\n", self.changes);
        self.sandbox
            .commit(
                PROJECT,
                NAME,
                STAGING,
                &CommitSpec::new("hydrate").file("app.yaml", &content),
            )
            .map(|tip| Sha::parse(tip.as_str()).unwrap())
            .unwrap()
    }

    fn client(&self) -> Azure {
        self.client_with(TOKEN, FakeClock::new())
    }

    fn client_with(&self, token: &str, clock: Arc<FakeClock>) -> Azure {
        let mut options = test_options(clock);
        options.token_source = Some("PROMOTER_TOKEN".into());
        Azure::new(
            &self.sandbox.azure_api_url(),
            &RepoPath::new(&format!("{AZURE_ORGANIZATION}/{PROJECT}"), NAME),
            Some(Secret::new(token)),
            options,
        )
        .unwrap()
    }

    fn open_by_hand(&self, head: &str, title: &str) -> u64 {
        self.sandbox
            .open_pull_as("someone", PROJECT, NAME, head, LIVE, title)
            .unwrap()
    }

    /// `(method, path, status)` of the API requests served, oldest first.
    fn log(&self) -> Vec<(String, String, u16)> {
        self.sandbox
            .requests()
            .into_iter()
            .filter(|r| r.path.contains("/_apis/"))
            .map(|r| (r.method, r.path, r.status))
            .collect()
    }
}

fn branch(name: &str) -> BranchName {
    BranchName::parse(name).unwrap()
}

fn new_pr(title: &str, body: &str) -> NewPullRequest {
    NewPullRequest {
        head: branch(STAGING),
        base: branch(LIVE),
        title: title.into(),
        body: body.into(),
    }
}

fn find(forge: &Forge) -> Option<PullRequest> {
    forge
        .client()
        .find_open_pull_request(&branch(STAGING), &branch(LIVE))
        .unwrap()
}

const PULLS: &str = "/sandbox/acme/_apis/git/repositories/deploy/pullrequests";

#[test]
fn the_search_finds_this_repositorys_pr_and_never_a_forks() {
    let forge = Forge::new();
    assert_eq!(find(&forge), None);
    forge.sandbox.fork_repo(PROJECT, NAME, "mallory").unwrap();
    forge
        .sandbox
        .open_pull_as(
            "mallory",
            PROJECT,
            NAME,
            &format!("mallory:{STAGING}"),
            LIVE,
            "fork",
        )
        .unwrap();
    assert_eq!(find(&forge), None);
    let ours = forge.open_by_hand(STAGING, "promotion");
    let found = find(&forge).unwrap();
    assert_eq!(found.number, PrNumber(ours));
    assert_eq!(
        found.url,
        format!(
            "{}/sandbox/acme/_git/deploy/pullrequest/{ours}",
            forge.sandbox.base_url()
        )
    );
    assert_eq!(found.head_sha, find_sha(&forge));
}

#[test]
fn a_description_cut_by_the_list_is_read_whole_by_id() {
    let forge = Forge::new();
    let client = forge.client();
    let long = "line of the description\n".repeat(40);
    let short = client
        .create_pull_request(&new_pr("Promote", "short"))
        .unwrap();
    forge.sandbox.clear_requests();
    assert_eq!(find(&forge).unwrap().body, "short");
    assert_eq!(
        forge.log().len(),
        1,
        "a short description is whole in the list"
    );
    client
        .update_pull_request(short.number, "Promote", &long)
        .unwrap();
    forge.sandbox.clear_requests();
    assert_eq!(find(&forge).unwrap().body, long);
    let paths: Vec<String> = forge
        .log()
        .into_iter()
        .map(|(m, p, _)| format!("{m} {p}"))
        .collect();
    assert_eq!(
        paths,
        [
            format!("GET {PULLS}"),
            format!("GET {PULLS}/{}", short.number.0)
        ]
    );
}

#[test]
fn a_duplicate_create_adopts_the_active_pr() {
    let forge = Forge::new();
    let existing = forge.open_by_hand(STAGING, "opened elsewhere");
    forge.sandbox.clear_requests();
    let pr = forge
        .client()
        .create_pull_request(&new_pr("Promote", "body"))
        .unwrap();
    assert_eq!(pr.number, PrNumber(existing));
    assert_eq!(pr.title, "opened elsewhere");
    let calls: Vec<(String, u16)> = forge.log().into_iter().map(|(m, _, s)| (m, s)).collect();
    assert_eq!(calls, [("POST".into(), 409), ("GET".into(), 200)]);
}

#[test]
fn completion_is_guarded_by_the_source_commit_and_makes_a_merge_commit() {
    let mut forge = Forge::new();
    let client = forge.client();
    let pr = client
        .create_pull_request(&new_pr("Promote", "body"))
        .unwrap();
    let read = pr.head_sha.clone();
    // The staging branch moves after the gates were read: the completion is refused.
    let moved = forge.stage();
    let outcome = client
        .merge_pull_request(pr.number, &read, "Promote 1", "details")
        .unwrap();
    assert_eq!(outcome, MergeOutcome::HeadMoved);
    assert_eq!(
        forge.log().last().map(|(m, _, s)| (m.clone(), *s)),
        Some(("PATCH".into(), 409))
    );
    let outcome = client
        .merge_pull_request(pr.number, &moved, "Promote 2", "details")
        .unwrap();
    let MergeOutcome::Merged {
        merge_sha: Some(merge),
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    let tip = forge
        .sandbox
        .branch_tip(PROJECT, NAME, LIVE)
        .unwrap()
        .unwrap();
    assert_eq!(tip.as_str(), merge.as_str());
    let parents = forge
        .sandbox
        .parents(PROJECT, NAME, merge.as_str())
        .unwrap();
    assert_eq!(parents.len(), 2);
    assert_eq!(parents[1].as_str(), moved.as_str());
    let message = forge
        .sandbox
        .commit_message(PROJECT, NAME, merge.as_str())
        .unwrap();
    assert!(message.starts_with("Promote 2\n\ndetails"), "{message}");
    assert_eq!(find(&forge), None, "completed, no longer active");
}

#[test]
fn a_queued_completion_is_read_again_until_it_completes() {
    let forge = Forge::new();
    forge.sandbox.set_azure_queued_reads(2);
    let clock = FakeClock::new();
    let client = forge.client_with(TOKEN, clock.clone());
    let pr = client
        .create_pull_request(&new_pr("Promote", "body"))
        .unwrap();
    forge.sandbox.clear_requests();
    let outcome = client
        .merge_pull_request(pr.number, &pr.head_sha, "Promote", "")
        .unwrap();
    assert!(
        matches!(outcome, MergeOutcome::Merged { merge_sha: Some(_) }),
        "{outcome:?}"
    );
    let methods: Vec<String> = forge.log().into_iter().map(|(m, _, _)| m).collect();
    assert_eq!(methods, ["PATCH", "GET", "GET"]);
    assert_eq!(clock.slept().len(), 2);
}

#[test]
fn a_conflicting_completion_is_blocked_with_the_servers_reason() {
    let forge = Forge::new();
    let client = forge.client();
    let pr = client
        .create_pull_request(&new_pr("Promote", "body"))
        .unwrap();
    forge
        .sandbox
        .commit(
            PROJECT,
            NAME,
            LIVE,
            &CommitSpec::new("hotfix").file("app.yaml", "hotfix\n"),
        )
        .unwrap();
    let outcome = client
        .merge_pull_request(pr.number, &pr.head_sha, "Promote", "")
        .unwrap();
    let MergeOutcome::Blocked { reason } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(reason.contains("conflicts"), "{reason}");
}

#[test]
fn statuses_are_written_under_promoters_genre_and_read_back_under_the_key() {
    let forge = Forge::new();
    let client = forge.client();
    let sha = find_sha(&forge);
    client
        .write_status(
            &sha,
            &StatusWrite {
                context: PREVIOUS_ENVIRONMENT.into(),
                state: GateState::Pending,
                description: "waiting".into(),
                target_url: None,
            },
        )
        .unwrap();
    client
        .write_status(
            &sha,
            &StatusWrite {
                context: PREVIOUS_ENVIRONMENT.into(),
                state: GateState::Success,
                description: "done".into(),
                target_url: Some("https://example.invalid/x".into()),
            },
        )
        .unwrap();
    forge
        .sandbox
        .set_status(PROJECT, NAME, sha.as_str(), "health", "failure", "down")
        .unwrap();
    let mut reports = client.status_reports(&sha).unwrap();
    reports.sort_by(|a, b| a.name.cmp(&b.name));
    let got: Vec<(&str, GateState, &str)> = reports
        .iter()
        .map(|r| (r.name.as_str(), r.state, r.description.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("health", GateState::Failure, "down"),
            (PREVIOUS_ENVIRONMENT, GateState::Success, "done"),
        ]
    );
    let body: serde_json::Value = serde_json::from_str(
        &forge
            .sandbox
            .requests()
            .into_iter()
            .find(|r| r.method == "POST" && r.path.ends_with("/statuses"))
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(body["context"]["genre"], "promoter");
    assert_eq!(body["state"], "pending");
}

fn find_sha(forge: &Forge) -> Sha {
    let tip = forge
        .sandbox
        .branch_tip(PROJECT, NAME, STAGING)
        .unwrap()
        .unwrap();
    Sha::parse(tip.as_str()).unwrap()
}

#[test]
fn a_refused_token_is_a_401_with_a_hint_never_a_sign_in_page() {
    let forge = Forge::new();
    let client = forge.client_with("not-the-token-0123456789", FakeClock::new());
    let error = client
        .find_open_pull_request(&branch(STAGING), &branch(LIVE))
        .unwrap_err();
    let text = format!("{error:#}");
    assert!(text.contains("401"), "{text}");
    let hint = crate::scm::http::hint(&error).unwrap();
    assert!(hint.contains("PROMOTER_TOKEN"), "{hint}");
    assert!(!text.contains("not-the-token"));
}
