//! The Bitbucket Cloud client against the sandbox forge's Bitbucket dialect (`/2.0`) over real
//! bare repositories and real HTTP on 127.0.0.1: `next` paging past fifty open PRs, fork PRs,
//! a create refused for a PR that exists, a merge answered 202, statuses read back, issues.

use super::*;
use crate::model::GateState;
use crate::scm::http::tests::{FakeClock, test_options};
use crate::scm::issues::Issues;
use sandbox::{CommitSpec, Fault, Sandbox};

const TOKEN: &str = "bitbucket-token-0123456789abcdef";
const OWNER: &str = "acme";
const NAME: &str = "deploy";
const LIVE: &str = "environment/dev";
const STAGING: &str = "environment/dev-next";

struct Forge {
    sandbox: Sandbox,
    _dir: tempfile::TempDir,
}

impl Forge {
    /// `acme/deploy` with a live branch and a staging branch one commit ahead of it.
    fn new() -> Forge {
        let dir = tempfile::tempdir().unwrap();
        let sandbox =
            Sandbox::start(&dir.path().join("forge"), &sandbox::Token::new(TOKEN)).unwrap();
        sandbox.create_repo(OWNER, NAME).unwrap();
        sandbox
            .commit(
                OWNER,
                NAME,
                LIVE,
                &CommitSpec::new("live").file("app.yaml", "0\n"),
            )
            .unwrap();
        sandbox.create_branch(OWNER, NAME, STAGING, LIVE).unwrap();
        sandbox
            .commit(
                OWNER,
                NAME,
                STAGING,
                &CommitSpec::new("hydrate").file("app.yaml", "1\n"),
            )
            .unwrap();
        Forge { sandbox, _dir: dir }
    }

    fn client(&self) -> Bitbucket {
        Bitbucket::new(
            &self.sandbox.bitbucket_api_url(),
            &RepoPath::new(OWNER, NAME),
            Some(Secret::new(TOKEN)),
            None,
            test_options(FakeClock::new()),
        )
        .unwrap()
    }

    fn staging(&self) -> Sha {
        Sha::parse(
            self.sandbox
                .branch_tip(OWNER, NAME, STAGING)
                .unwrap()
                .unwrap()
                .as_str(),
        )
        .unwrap()
    }

    fn open_by_hand(&self, head: &str, title: &str) -> u64 {
        self.sandbox
            .open_pull_as("someone", OWNER, NAME, head, LIVE, title)
            .unwrap()
    }

    /// `METHOD path?query` of the API requests served, oldest first.
    fn log(&self) -> Vec<String> {
        self.sandbox
            .requests()
            .into_iter()
            .filter(|r| r.path.starts_with("/2.0/"))
            .map(|r| format!("{} {}?{}", r.method, r.path, r.query))
            .collect()
    }
}

fn branch(name: &str) -> BranchName {
    BranchName::parse(name).unwrap()
}

fn new_pull() -> NewPullRequest {
    NewPullRequest {
        head: branch(STAGING),
        base: branch(LIVE),
        title: "Promote".into(),
        body: "body".into(),
    }
}

#[test]
fn the_environments_pr_is_found_through_bbql_among_sixty_open_prs_and_its_hash_resolved() {
    let forge = Forge::new();
    let ours = forge.open_by_hand(STAGING, "promotion");
    for i in 0..60 {
        let name = format!("feature/{i}");
        forge
            .sandbox
            .create_branch(OWNER, NAME, &name, STAGING)
            .unwrap();
        forge.open_by_hand(&name, &format!("feature {i}"));
    }
    forge.sandbox.clear_requests();
    let pr = forge
        .client()
        .find_open_pull_request(&branch(STAGING), &branch(LIVE))
        .unwrap()
        .expect("found");
    assert_eq!(pr.number, PrNumber(ours));
    assert_eq!(pr.head_sha, forge.staging());
    let log = forge.log();
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(
        log[0]
            .starts_with("GET /2.0/repositories/acme/deploy/pullrequests?state=OPEN&pagelen=50&q=")
    );
    assert_eq!(
        log[1],
        format!(
            "GET /2.0/repositories/acme/deploy/commit/{}?",
            &forge.staging().as_str()[..12]
        )
    );

    // Without the filter's help (a branch matching none), nothing is found and nothing resolved.
    assert_eq!(
        forge
            .client()
            .find_open_pull_request(&branch("nope"), &branch(LIVE))
            .unwrap(),
        None
    );
}

#[test]
fn a_forks_pr_is_ignored_and_a_refused_duplicate_create_adopts_the_open_pr() {
    let forge = Forge::new();
    forge.sandbox.fork_repo(OWNER, NAME, "mallory").unwrap();
    forge
        .sandbox
        .open_pull_as(
            "mallory",
            OWNER,
            NAME,
            &format!("mallory:{STAGING}"),
            LIVE,
            "fork",
        )
        .unwrap();
    let client = forge.client();
    assert_eq!(
        client
            .find_open_pull_request(&branch(STAGING), &branch(LIVE))
            .unwrap(),
        None
    );
    let existing = forge.open_by_hand(STAGING, "opened elsewhere");
    let pr = client.create_pull_request(&new_pull()).unwrap();
    assert_eq!(
        (pr.number, pr.title.as_str()),
        (PrNumber(existing), "opened elsewhere")
    );
}

#[test]
fn a_create_with_nothing_to_promote_is_head_in_base() {
    let forge = Forge::new();
    let mut new = new_pull();
    new.head = branch(LIVE);
    new.base = branch(STAGING);
    let error = forge.client().create_pull_request(&new).unwrap_err();
    assert!(
        error.chain().any(|c| c.is::<crate::scm::HeadInBase>()),
        "{error:#}"
    );
}

#[test]
fn a_merge_answered_202_is_polled_then_checked_and_statuses_read_back() {
    let forge = Forge::new();
    let client = forge.client();
    let pr = client.create_pull_request(&new_pull()).unwrap();
    let head = forge.staging();
    assert_eq!(pr.head_sha, head);
    let status = StatusWrite {
        context: "promoter-previous-environment".into(),
        state: GateState::Success,
        description: "ok".into(),
        target_url: None,
    };
    client.write_status(&head, &status).unwrap();
    client.write_status(&head, &status).unwrap();
    let reports = client.status_reports(&head).unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].state, GateState::Success);
    assert!(
        reports[0]
            .target_url
            .as_deref()
            .unwrap()
            .ends_with("/acme/deploy")
    );

    // The forge merges at once but answers as a long merge does: 202 and a task to poll.
    let task = format!(
        "{}/repositories/acme/deploy/pullrequests/{}/merge/task-status/merge-{}",
        forge.sandbox.bitbucket_api_url(),
        pr.number.0,
        pr.number.0
    );
    forge.sandbox.inject(
        Fault::new("POST", "/2.0/repositories/acme/deploy/pullrequests/*/merge")
            .status(202)
            .header("location", &task)
            .body("{}")
            .ghost(),
    );
    let outcome = client
        .merge_pull_request(pr.number, &head, "Promote", "body")
        .unwrap();
    let live = forge
        .sandbox
        .branch_tip(OWNER, NAME, LIVE)
        .unwrap()
        .unwrap();
    assert_eq!(
        outcome,
        MergeOutcome::Merged {
            merge_sha: Some(Sha::parse(live.as_str()).unwrap())
        }
    );
    let parents = forge.sandbox.parents(OWNER, NAME, &live).unwrap();
    assert_eq!(parents[1].as_str(), head.as_str());
}

#[test]
fn the_dashboard_issue_is_opened_listed_and_updated() {
    let forge = Forge::new();
    let client = forge.client();
    assert_eq!(client.open_issues().unwrap(), []);
    let issue = client.create_issue("Promotion dashboard", "first").unwrap();
    assert!(
        issue
            .url
            .ends_with(&format!("/acme/deploy/issues/{}", issue.number))
    );
    let updated = client
        .update_issue(issue.number, "Promotion dashboard", "second")
        .unwrap();
    assert_eq!(updated.body, "second");
    let open = client.open_issues().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].body, "second");
}
