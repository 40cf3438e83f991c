//! The Bitbucket Data Center client against the sandbox forge's dialect: real HTTP on 127.0.0.1,
//! real bare repositories. Each test says which Bitbucket behaviour the client relies on.

use crate::model::{GateState, PREVIOUS_ENVIRONMENT};

use super::*;
use crate::scm::http::tests::{FakeClock, test_options};
use sandbox::{CI_APP, CommitSpec, Sandbox};

const TOKEN: &str = "bbdc-sandbox-token";
const OWNER: &str = "acme";
const NAME: &str = "deploy";

struct Forge {
    sandbox: Sandbox,
    staging: Sha,
    _dir: tempfile::TempDir,
}

/// `acme/deploy` (project `acme`) with `environment/dev` and `environment/dev-next` one commit
/// ahead.
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

fn client(forge: &Forge, token: &str) -> BitbucketServer {
    // The project key is written as Bitbucket shows it (upper case); the sandbox compares keys
    // without case, as Bitbucket does.
    BitbucketServer::new(
        &forge.sandbox.base_url(),
        &RepoPath::new("ACME", NAME),
        Some(Secret::new(token)),
        test_options(FakeClock::new()),
    )
    .unwrap()
}

fn branch(name: &str) -> BranchName {
    BranchName::parse(name).unwrap()
}

fn new_pr() -> NewPullRequest {
    NewPullRequest {
        head: branch("environment/dev-next"),
        base: branch("environment/dev"),
        title: "Promote v2".into(),
        body: "body".into(),
    }
}

/// The hydrator pushes v3 onto the staging branch.
fn push_v3(forge: &Forge) {
    forge
        .sandbox
        .commit(
            OWNER,
            NAME,
            "environment/dev-next",
            &CommitSpec::new("hydrate v3").file("app.yaml", "v: 3\n"),
        )
        .unwrap();
}

fn find(scm: &BitbucketServer) -> Option<PullRequest> {
    scm.find_open_pull_request(&branch("environment/dev-next"), &branch("environment/dev"))
        .unwrap()
}

#[test]
fn a_promotion_opens_updates_gates_and_merges_with_a_merge_commit_of_the_gated_head() {
    let forge = forge();
    let scm = client(&forge, TOKEN);
    assert_eq!(find(&scm), None);
    let pr = scm.create_pull_request(&new_pr()).unwrap();
    assert_eq!(pr.head_sha, forge.staging);
    assert_eq!(find(&scm).unwrap().number, pr.number);
    // A second create adopts the open PR (409 DuplicatePullRequestException).
    assert_eq!(
        scm.create_pull_request(&new_pr()).unwrap().number,
        pr.number
    );

    let updated = scm
        .update_pull_request(pr.number, "Promote v2 again", "new body")
        .unwrap();
    assert_eq!(updated.title, "Promote v2 again");

    scm.write_status(
        &forge.staging,
        &StatusWrite {
            context: PREVIOUS_ENVIRONMENT.into(),
            state: GateState::Success,
            description: "ok".into(),
            target_url: None,
        },
    )
    .unwrap();
    forge
        .sandbox
        .set_status(OWNER, NAME, &forge.staging, "scan", "failure", "1 finding")
        .unwrap();
    let reports = scm.status_reports(&forge.staging).unwrap();
    let states: Vec<(&str, GateState)> =
        reports.iter().map(|r| (r.name.as_str(), r.state)).collect();
    assert_eq!(
        states,
        [
            (PREVIOUS_ENVIRONMENT, GateState::Success),
            ("scan", GateState::Failure)
        ]
    );
    // `url` is required: promoter's status links to the commit's page.
    assert!(
        reports[0]
            .target_url
            .as_deref()
            .is_some_and(|u| u.ends_with(&format!("/commits/{}", forge.staging))),
        "{reports:?}"
    );

    let outcome = scm
        .merge_pull_request(pr.number, &forge.staging, "Promote v2", "Trailer: x")
        .unwrap();
    let MergeOutcome::Merged {
        merge_sha: Some(merge),
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    let live = forge
        .sandbox
        .branch_tip(OWNER, NAME, "environment/dev")
        .unwrap()
        .unwrap();
    assert_eq!(live.as_str(), merge.as_str());
    let parents = forge.sandbox.parents(OWNER, NAME, &merge).unwrap();
    assert_eq!(parents[1].as_str(), forge.staging.as_str());
    // autoSubject: false — promoter's title is the subject, its message follows.
    let message = forge.sandbox.commit_message(OWNER, NAME, &merge).unwrap();
    assert_eq!(message.trim_end(), "Promote v2\n\nTrailer: x");
    assert_eq!(find(&scm), None, "merged PRs are not open");
    let _ = CI_APP;
}

#[test]
fn a_push_after_the_gates_were_read_is_head_moved_and_nothing_is_merged() {
    let forge = forge();
    let scm = client(&forge, TOKEN);
    let pr = scm.create_pull_request(&new_pr()).unwrap();
    push_v3(&forge);
    let outcome = scm
        .merge_pull_request(pr.number, &forge.staging, "Promote v2", "")
        .unwrap();
    assert_eq!(outcome, MergeOutcome::HeadMoved);
    let pull = forge.sandbox.pull(OWNER, NAME, pr.number.0).unwrap();
    assert!(pull.merged.is_none());
}

#[test]
fn an_update_with_a_stale_version_is_read_again_and_sent_once_more() {
    let forge = forge();
    let scm = client(&forge, TOKEN);
    let pr = scm.create_pull_request(&new_pr()).unwrap();
    // The hydrator pushes: Bitbucket bumps the PR version; the client's is now stale.
    push_v3(&forge);
    let updated = scm
        .update_pull_request(pr.number, "Promote v3", "body 3")
        .unwrap();
    assert_eq!(updated.title, "Promote v3");
    let puts: Vec<u16> = forge
        .sandbox
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .map(|r| r.status)
        .collect();
    assert_eq!(puts, [409, 200]);
}

#[test]
fn a_repository_without_merge_commits_is_blocked_with_the_reason() {
    let forge = forge();
    forge
        .sandbox
        .set_allow_merge_commit(OWNER, NAME, false)
        .unwrap();
    let scm = client(&forge, TOKEN);
    let pr = scm.create_pull_request(&new_pr()).unwrap();
    let outcome = scm
        .merge_pull_request(pr.number, &forge.staging, "Promote v2", "")
        .unwrap();
    let MergeOutcome::Blocked { reason } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(reason.contains("needs merge commits"), "{reason}");
    assert!(reason.contains("no-ff"), "{reason}");
}

#[test]
fn a_wrong_token_is_401_with_a_hint_naming_the_variable() {
    let forge = forge();
    let scm = client(&forge, "wrong");
    let error = scm
        .find_open_pull_request(&branch("environment/dev-next"), &branch("environment/dev"))
        .unwrap_err();
    let text = format!("{error:#}");
    assert!(text.contains("401"), "{text}");
    let hint = crate::scm::http::hint(&error).unwrap_or_default();
    assert!(hint.contains("HTTP access token"), "{hint}");
    assert!(
        !text.contains("wrong") || !text.contains("Bearer"),
        "{text}"
    );
}
