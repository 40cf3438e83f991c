//! The Gitea/Forgejo client against the sandbox forge's Gitea dialect (`/api/v1`) over real bare
//! repositories and real HTTP on 127.0.0.1: paging, fork PRs, duplicate creates, the merge guard
//! and the merge text under every flavor's field spelling, status reads and writes.

use crate::model::{GateState, PREVIOUS_ENVIRONMENT};

use serde_json::{Value, json};

use super::*;
use crate::scm::http::tests::{FakeClock, test_options};
use sandbox::{CommitSpec, GiteaFlavor, Sandbox};

const TOKEN: &str = "gitea-token-0123456789abcdef";
const OWNER: &str = "acme";
const NAME: &str = "deploy";
const LIVE: &str = "environment/dev";
const STAGING: &str = "environment/dev-next";

struct Forge {
    sandbox: Sandbox,
    _dir: tempfile::TempDir,
    changes: u32,
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
                OWNER,
                NAME,
                STAGING,
                &CommitSpec::new("hydrate").file("app.yaml", &content),
            )
            .unwrap()
            .into()
    }

    fn client(&self, flavor: Flavor) -> Gitea {
        self.client_with(flavor, TOKEN)
    }

    fn client_with(&self, flavor: Flavor, token: &str) -> Gitea {
        let mut options = test_options(FakeClock::new());
        options.token_source = Some("PROMOTER_TOKEN".into());
        Gitea::new(
            flavor,
            &self.sandbox.gitea_api_url(),
            &crate::scm::RepoPath::new(OWNER, NAME),
            Some(Secret::new(token)),
            options,
        )
        .unwrap()
    }

    /// A raw client on the same API, for requests the trait does not make.
    fn http(&self) -> HttpClient {
        HttpClient::new(
            &self.sandbox.gitea_api_url(),
            Some(Auth::token(Secret::new(TOKEN))),
            test_options(FakeClock::new()),
        )
        .unwrap()
    }

    fn open_by_hand(&self, head: &str, title: &str) -> u64 {
        self.sandbox
            .open_pull_as("someone", OWNER, NAME, head, LIVE, title)
            .unwrap()
    }

    /// `(method, path?query, status)` of the API requests served, oldest first.
    fn log(&self, path_contains: &str) -> Vec<(String, String, u16)> {
        self.sandbox
            .requests()
            .into_iter()
            .filter(|r| r.path.starts_with("/api/v1/") && r.path.contains(path_contains))
            .map(|r| (r.method, format!("{}?{}", r.path, r.query), r.status))
            .collect()
    }
}

fn branch(name: &str) -> BranchName {
    BranchName::parse(name).unwrap()
}

fn find(forge: &Forge) -> Option<PullRequest> {
    forge
        .client(Flavor::Gitea)
        .find_open_pull_request(&branch(STAGING), &branch(LIVE))
        .unwrap()
}

#[test]
fn the_environments_pr_is_found_on_page_two_of_sixty_one_open_prs() {
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
    let found = find(&forge).expect("found past the first page");
    assert_eq!(found.number, PrNumber(ours));
    let list = "/api/v1/repos/acme/deploy/pulls";
    assert_eq!(
        forge.log("/pulls"),
        [
            (
                "GET".into(),
                format!("{list}?state=open&limit=50&page=1"),
                200
            ),
            (
                "GET".into(),
                format!("{list}?state=open&limit=50&page=2"),
                200
            ),
        ]
    );
}

#[test]
fn a_forks_pr_with_the_same_head_branch_name_is_ignored() {
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
    assert_eq!(find(&forge), None);
    let ours = forge.open_by_hand(STAGING, "promotion");
    assert_eq!(find(&forge).unwrap().number, PrNumber(ours));
}

#[test]
fn a_duplicate_create_adopts_the_open_pr() {
    let forge = Forge::new();
    let existing = forge.open_by_hand(STAGING, "opened elsewhere");
    forge.sandbox.clear_requests();
    let pr = forge
        .client(Flavor::Forgejo)
        .create_pull_request(&NewPullRequest {
            head: branch(STAGING),
            base: branch(LIVE),
            title: "Promote".into(),
            body: "body".into(),
        })
        .unwrap();
    assert_eq!(pr.number, PrNumber(existing));
    assert_eq!(pr.title, "opened elsewhere");
    let calls: Vec<(String, u16)> = forge
        .log("/pulls")
        .into_iter()
        .map(|(method, _, status)| (method, status))
        .collect();
    assert_eq!(calls, [("POST".into(), 409), ("GET".into(), 200)]);
}

#[test]
fn creating_then_updating_returns_the_pr_and_the_update_answers_201() {
    let forge = Forge::new();
    let client = forge.client(Flavor::Gitea);
    let pr = client
        .create_pull_request(&NewPullRequest {
            head: branch(STAGING),
            base: branch(LIVE),
            title: "Promote".into(),
            body: "line\r\nbody".into(),
        })
        .unwrap();
    assert_eq!(pr.body, "line\nbody");
    assert_eq!(
        pr.head_sha,
        forge
            .sandbox
            .branch_tip(OWNER, NAME, STAGING)
            .unwrap()
            .unwrap()
    );
    assert!(pr.url.ends_with("/acme/deploy/pulls/1"), "{}", pr.url);
    let updated = client
        .update_pull_request(pr.number, "Promote again", "new body")
        .unwrap();
    assert_eq!(
        (updated.title.as_str(), updated.body.as_str()),
        ("Promote again", "new body")
    );
    let patch = forge.log("/pulls/1").pop().unwrap();
    assert_eq!((patch.0.as_str(), patch.2), ("PATCH", 201));
    assert_eq!(
        forge.sandbox.pull(OWNER, NAME, 1).unwrap().title,
        "Promote again"
    );
}

#[test]
fn a_merge_after_the_head_moved_is_head_moved_and_leaves_the_pr_open() {
    let mut forge = Forge::new();
    let number = forge.open_by_hand(STAGING, "promotion");
    let seen = find(&forge).unwrap();
    forge.stage();
    let outcome = forge
        .client(Flavor::Gitea)
        .merge_pull_request(PrNumber(number), &seen.head_sha, "t", "m")
        .unwrap();
    assert_eq!(outcome, MergeOutcome::HeadMoved);
    assert!(
        forge
            .sandbox
            .pull(OWNER, NAME, number)
            .unwrap()
            .merged
            .is_none()
    );
    let merge = forge.log("/merge").pop().unwrap();
    assert_eq!((merge.0.as_str(), merge.2), ("POST", 409));
}

#[test]
fn promoters_merge_text_reaches_the_merge_commit_under_every_flavor() {
    let mut forge = Forge::new();
    for (flavor, client_flavor) in [
        (GiteaFlavor::GiteaRelease, Flavor::Gitea),
        (GiteaFlavor::GiteaMain, Flavor::Gitea),
        (GiteaFlavor::Forgejo, Flavor::Forgejo),
    ] {
        forge.sandbox.set_gitea_flavor(flavor);
        let head = forge.stage();
        let number = forge.open_by_hand(STAGING, "promotion");
        let outcome = forge
            .client(client_flavor)
            .merge_pull_request(
                PrNumber(number),
                &head,
                "Promote abc1234 to environment/dev",
                "Details.\n\nSha-dry-active: abc",
            )
            .unwrap();
        let tip = forge
            .sandbox
            .branch_tip(OWNER, NAME, LIVE)
            .unwrap()
            .unwrap();
        assert_eq!(
            outcome,
            MergeOutcome::Merged {
                merge_sha: Some(tip.clone().into())
            },
            "{flavor:?}"
        );
        assert_eq!(
            forge.sandbox.commit_message(OWNER, NAME, &tip).unwrap(),
            "Promote abc1234 to environment/dev\n\nDetails.\n\nSha-dry-active: abc",
            "{flavor:?}"
        );
        let parents = forge.sandbox.parents(OWNER, NAME, &tip).unwrap();
        assert_eq!(parents.len(), 2, "a merge commit under {flavor:?}");
        assert_eq!(parents[1], head);
    }
}

#[test]
fn each_flavor_reads_only_its_own_spelling_of_the_merge_text() {
    let mut forge = Forge::new();
    for (flavor, key, takes_it) in [
        (GiteaFlavor::GiteaMain, "MergeTitleField", false),
        (GiteaFlavor::Forgejo, "merge_title_field", false),
        (GiteaFlavor::GiteaRelease, "mergetitlefield", true),
    ] {
        forge.sandbox.set_gitea_flavor(flavor);
        forge.stage();
        let number = forge.open_by_hand(STAGING, "promotion");
        let mut body = json!({"Do": "merge"});
        body[key] = json!("Only one spelling");
        forge
            .http()
            .send(
                Method::Post,
                &format!("/repos/acme/deploy/pulls/{number}/merge"),
                Some(&body),
                Retry::NotBlindly,
            )
            .unwrap();
        let tip = forge
            .sandbox
            .branch_tip(OWNER, NAME, LIVE)
            .unwrap()
            .unwrap();
        let message = forge.sandbox.commit_message(OWNER, NAME, &tip).unwrap();
        let expected = if takes_it {
            "Only one spelling".to_owned()
        } else {
            format!("Merge pull request 'promotion' (#{number}) from {STAGING} into {LIVE}")
        };
        assert_eq!(message, expected, "{flavor:?} with {key}");
    }
}

#[test]
fn a_second_merge_answered_405_already_merged_counts_as_merged() {
    let forge = Forge::new();
    let number = forge.open_by_hand(STAGING, "promotion");
    let head = find(&forge).unwrap().head_sha;
    let client = forge.client(Flavor::Gitea);
    let first = client
        .merge_pull_request(PrNumber(number), &head, "t", "")
        .unwrap();
    let again = client
        .merge_pull_request(PrNumber(number), &head, "t", "")
        .unwrap();
    assert_eq!(first, again);
    assert!(matches!(again, MergeOutcome::Merged { merge_sha: Some(_) }));
    let merges: Vec<u16> = forge.log("/merge").into_iter().map(|(_, _, s)| s).collect();
    assert_eq!(merges, [200, 405]);
}

#[test]
fn disallowed_merge_commits_block_with_a_reason_saying_promoter_needs_them() {
    let forge = Forge::new();
    forge
        .sandbox
        .set_allow_merge_commit(OWNER, NAME, false)
        .unwrap();
    let number = forge.open_by_hand(STAGING, "promotion");
    let head = find(&forge).unwrap().head_sha;
    let MergeOutcome::Blocked { reason } = forge
        .client(Flavor::Forgejo)
        .merge_pull_request(PrNumber(number), &head, "t", "m")
        .unwrap()
    else {
        panic!("not blocked")
    };
    assert!(reason.contains("promoter needs"), "{reason}");
    assert!(
        reason.contains("Forgejo said: merge is not allowed"),
        "{reason}"
    );
}

#[test]
fn merging_a_closed_pr_is_an_error_saying_it_is_closed() {
    let forge = Forge::new();
    let number = forge.open_by_hand(STAGING, "promotion");
    let head = find(&forge).unwrap().head_sha;
    forge
        .http()
        .send(
            Method::Patch,
            &format!("/repos/acme/deploy/pulls/{number}"),
            Some(&json!({"state": "closed"})),
            Retry::Idempotent,
        )
        .unwrap();
    let error = forge
        .client(Flavor::Gitea)
        .merge_pull_request(PrNumber(number), &head, "t", "m")
        .unwrap_err();
    let shown = format!("{error:#}");
    assert!(shown.contains("is closed without being merged"), "{shown}");
    assert!(shown.contains("answered 404"), "{shown}");
}

#[test]
fn gate_reads_page_through_every_context_of_the_combined_status_and_keep_the_newest() {
    let forge = Forge::new();
    let sha: Sha = forge
        .sandbox
        .branch_tip(OWNER, NAME, LIVE)
        .unwrap()
        .unwrap()
        .into();
    for i in 0..52 {
        forge
            .sandbox
            .set_status(OWNER, NAME, &sha, &format!("ci/{i:02}"), "success", "ok")
            .unwrap();
    }
    forge
        .sandbox
        .set_status(OWNER, NAME, &sha, "health", "failure", "down")
        .unwrap();
    forge
        .sandbox
        .set_status(OWNER, NAME, &sha, "health", "warning", "degraded")
        .unwrap();
    let client = forge.client(Flavor::Gitea);
    client
        .write_status(
            &sha,
            &StatusWrite {
                context: PREVIOUS_ENVIRONMENT.into(),
                state: GateState::Pending,
                description: "waiting".into(),
                target_url: Some("http://example.invalid/pr/1".into()),
            },
        )
        .unwrap();
    forge.sandbox.clear_requests();
    let reports = client.status_reports(&sha).unwrap();
    assert_eq!(reports.len(), 54);
    let health = reports.iter().find(|r| r.name == "health").unwrap();
    assert_eq!(
        (health.state, health.description.as_str()),
        (GateState::Success, "degraded")
    );
    let previous = reports
        .iter()
        .find(|r| r.name == PREVIOUS_ENVIRONMENT)
        .unwrap();
    assert_eq!(previous.state, GateState::Pending);
    assert_eq!(
        previous.target_url.as_deref(),
        Some("http://example.invalid/pr/1")
    );
    let path = format!("/api/v1/repos/acme/deploy/commits/{sha}/status");
    assert_eq!(
        forge.log("/status"),
        [
            ("GET".into(), format!("{path}?limit=50&page=1"), 200),
            ("GET".into(), format!("{path}?limit=50&page=2"), 200),
        ]
    );
    // The sandbox stores what the API was sent: `state` in, `status` out.
    let stored = forge.sandbox.statuses(OWNER, NAME, &sha);
    assert_eq!(
        stored
            .iter()
            .filter(|s| s.context == PREVIOUS_ENVIRONMENT)
            .count(),
        1
    );
}

#[test]
fn a_wrong_token_fails_with_a_hint_and_never_shows_the_token() {
    let forge = Forge::new();
    let wrong = "wrong-token-abcdef-0123";
    let error = forge
        .client_with(Flavor::Forgejo, wrong)
        .find_open_pull_request(&branch(STAGING), &branch(LIVE))
        .unwrap_err();
    assert_eq!(
        crate::scm::http::hint(&error),
        Some("Forgejo refused the token: check that PROMOTER_TOKEN holds a valid access token")
    );
    let shown = format!("{error:#} {error:?}");
    assert!(shown.contains("answered 401"), "{shown}");
    assert!(!shown.contains(wrong), "{shown}");
    let header = forge.sandbox.requests();
    assert!(header.iter().all(|r| !r.query.contains(wrong)));
}

#[test]
fn the_version_endpoint_names_the_flavor() {
    let forge = Forge::new();
    for (flavor, version) in [
        (GiteaFlavor::GiteaRelease, "1.22.3"),
        (GiteaFlavor::Forgejo, "9.0.3+gitea-1.22.0"),
    ] {
        forge.sandbox.set_gitea_flavor(flavor);
        let answer: Value = forge.http().get_json("/version").unwrap();
        assert_eq!(answer, json!({"version": version}));
    }
}

#[test]
fn the_dialect_pages_with_total_count_and_link_and_takes_bearer_tokens() {
    let forge = Forge::new();
    for i in 0..3 {
        let name = format!("feature/{i}");
        forge
            .sandbox
            .create_branch(OWNER, NAME, &name, STAGING)
            .unwrap();
        forge.open_by_hand(&name, &format!("feature {i}"));
    }
    let bearer = HttpClient::new(
        &forge.sandbox.gitea_api_url(),
        Some(Auth::bearer(Secret::new(TOKEN))),
        test_options(FakeClock::new()),
    )
    .unwrap();
    let answer = bearer
        .send(
            Method::Get,
            "/repos/acme/deploy/pulls?state=open&limit=2",
            None,
            Retry::Idempotent,
        )
        .unwrap();
    assert_eq!(answer.header("x-total-count"), Some("3"));
    let link = answer.header("link").unwrap();
    assert!(
        link.contains("/api/v1/repos/acme/deploy/pulls?state=open&limit=2&page=2>; rel=\"next\""),
        "{link}"
    );
    let page: Vec<Value> = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0]["number"], json!(3), "newest first");
}

#[test]
fn a_dialect_merge_answers_200_with_an_empty_body() {
    let forge = Forge::new();
    let number = forge.open_by_hand(STAGING, "promotion");
    let answer = forge
        .http()
        .send(
            Method::Post,
            &format!("/repos/acme/deploy/pulls/{number}/merge"),
            Some(&json!({"Do": "merge"})),
            Retry::NotBlindly,
        )
        .unwrap();
    assert_eq!((answer.status, answer.body.as_str()), (200, ""));
    let pull: Value = forge
        .http()
        .get_json(&format!("/repos/acme/deploy/pulls/{number}"))
        .unwrap();
    assert_eq!(pull["merged"], json!(true));
    assert_eq!(
        pull["merge_commit_sha"],
        json!(
            forge
                .sandbox
                .branch_tip(OWNER, NAME, LIVE)
                .unwrap()
                .unwrap()
                .as_str()
        )
    );
}
