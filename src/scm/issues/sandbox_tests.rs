//! Every provider's [`Issues`] client against the sandbox forge's dialect over real HTTP on
//! 127.0.0.1: pull requests left out of the list, every page read, create and update on the
//! wire, and the dashboard's request counts and single create after an unanswered one.

use std::time::Duration;

use crate::dashboard::{self, DashboardReport, MARKER};
use crate::model::Secret;
use crate::scm::gitea::{Flavor, Gitea};
use crate::scm::github::GitHub;
use crate::scm::gitlab::GitLab;
use crate::scm::http::HttpOptions;
use crate::scm::http::tests::{FakeClock, test_options};
use crate::scm::issues::Issues;
use sandbox::{CommitSpec, Fault, Sandbox};

const TOKEN: &str = "issues-token-0123456789abcdef";
const OWNER: &str = "acme";
const NAME: &str = "deploy";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Provider {
    Github,
    Gitlab,
    Gitea,
}

const PROVIDERS: [Provider; 3] = [Provider::Github, Provider::Gitlab, Provider::Gitea];

struct Forge {
    sandbox: Sandbox,
    _dir: tempfile::TempDir,
}

impl Forge {
    /// `acme/deploy` with one open pull request (#1) and one issue by alice (#2).
    fn new() -> Forge {
        let dir = tempfile::tempdir().expect("temp dir");
        let sandbox = Sandbox::start(&dir.path().join("forge"), &sandbox::Token::new(TOKEN))
            .expect("sandbox");
        sandbox.create_repo(OWNER, NAME).expect("repo");
        for (branch, content) in [("environment/dev", "0\n"), ("environment/dev-next", "1\n")] {
            sandbox
                .commit(
                    OWNER,
                    NAME,
                    branch,
                    &CommitSpec::new("c").file("a.yaml", content),
                )
                .expect("commit");
        }
        let pr = sandbox
            .open_pull_as(
                "alice",
                OWNER,
                NAME,
                "environment/dev-next",
                "environment/dev",
                "Promote",
            )
            .expect("pull request");
        assert_eq!(pr, 1);
        let issue = sandbox
            .open_issue_as("alice", OWNER, NAME, "A bug", "It breaks.")
            .expect("issue");
        assert_eq!(issue, 2);
        Forge { sandbox, _dir: dir }
    }

    fn client_with(&self, provider: Provider, options: HttpOptions) -> Box<dyn Issues> {
        let token = Some(Secret::new(TOKEN));
        let repo = &crate::scm::RepoPath::new(OWNER, NAME);
        match provider {
            Provider::Github => Box::new(
                GitHub::new(&self.sandbox.api_url(), repo, token, options).expect("client"),
            ),
            Provider::Gitlab => Box::new(
                GitLab::new(&self.sandbox.gitlab_api_url(), repo, token, options).expect("client"),
            ),
            Provider::Gitea => Box::new(
                Gitea::new(
                    Flavor::Gitea,
                    &self.sandbox.gitea_api_url(),
                    repo,
                    token,
                    options,
                )
                .expect("client"),
            ),
        }
    }

    fn client(&self, provider: Provider) -> Box<dyn Issues> {
        self.client_with(provider, test_options(FakeClock::new()))
    }

    /// The methods of the issue requests since the last clear, in order.
    fn issue_requests(&self) -> Vec<String> {
        self.sandbox
            .requests()
            .into_iter()
            .filter(|r| r.path.contains("/issues"))
            .map(|r| r.method)
            .collect()
    }
}

#[test]
fn open_issues_leave_pull_requests_out_and_read_every_page() {
    for provider in PROVIDERS {
        let forge = Forge::new();
        let client = forge.client(provider);
        let issues = client.open_issues().expect("list");
        let numbers: Vec<u64> = issues.iter().map(|i| i.number).collect();
        assert_eq!(
            numbers,
            vec![2],
            "{provider:?}: the PR (#1) is not an issue"
        );
        assert_eq!(issues[0].title, "A bug");
        assert_eq!(issues[0].body, "It breaks.");
        assert!(
            issues[0].url.ends_with("/issues/2"),
            "{provider:?}: {}",
            issues[0].url
        );
        for i in 0..120 {
            forge
                .sandbox
                .open_issue_as("bob", OWNER, NAME, &format!("issue {i}"), "")
                .expect("issue");
        }
        forge.sandbox.close_issue(OWNER, NAME, 2).expect("close");
        forge.sandbox.clear_requests();
        let issues = client.open_issues().expect("list");
        assert_eq!(
            issues.len(),
            120,
            "{provider:?}: closed #2 left out, every page read"
        );
        assert!(issues.iter().all(|i| i.body.is_empty()));
        let pages = forge.issue_requests().len();
        let expected = match provider {
            Provider::Github | Provider::Gitlab => 2, // 100 a page
            Provider::Gitea => 3,                     // 50 a page
        };
        assert_eq!(pages, expected, "{provider:?}");
    }
}

#[test]
fn create_and_update_write_title_and_body() {
    for provider in PROVIDERS {
        let forge = Forge::new();
        let client = forge.client(provider);
        let created = client
            .create_issue("Dashboard", "line 1\nline 2")
            .expect("create");
        assert_eq!(
            created.number, 3,
            "{provider:?}: one number sequence with PRs"
        );
        assert_eq!(
            (created.title.as_str(), created.body.as_str()),
            ("Dashboard", "line 1\nline 2")
        );
        let updated = client
            .update_issue(3, "Renamed", "new body")
            .expect("update");
        assert_eq!(
            (updated.title.as_str(), updated.body.as_str()),
            ("Renamed", "new body")
        );
        let stored = forge.sandbox.issues(OWNER, NAME).expect("issues");
        let stored = stored.iter().find(|i| i.number == 3).expect("#3");
        assert_eq!(
            (stored.title.as_str(), stored.body.as_str()),
            ("Renamed", "new body")
        );
        assert_eq!(stored.author, sandbox::DEFAULT_USER);
        let error = client.update_issue(99, "x", "y").expect_err("no #99");
        assert!(
            format!("{error:#}").contains("404"),
            "{provider:?}: {error:#}"
        );
    }
}

#[test]
fn the_dashboard_is_written_once_then_read_then_updated_on_change() {
    for provider in PROVIDERS {
        let forge = Forge::new();
        let client = forge.client(provider);
        let body = format!("{MARKER}\nfirst");
        forge.sandbox.clear_requests();
        let first = dashboard::sync(client.as_ref(), "Promotion dashboard", &body).expect("sync");
        assert!(
            matches!(first, DashboardReport::Created { number: 3, .. }),
            "{provider:?}: {first:?}"
        );
        assert_eq!(forge.issue_requests(), ["GET", "POST"], "{provider:?}");

        forge.sandbox.clear_requests();
        let again = dashboard::sync(client.as_ref(), "Promotion dashboard", &body).expect("sync");
        assert!(
            matches!(again, DashboardReport::Unchanged { number: 3, .. }),
            "{provider:?}"
        );
        assert_eq!(forge.issue_requests(), ["GET"], "{provider:?}");

        forge.sandbox.clear_requests();
        let changed = format!("{MARKER}\nsecond");
        let update =
            dashboard::sync(client.as_ref(), "Promotion dashboard", &changed).expect("sync");
        assert!(
            matches!(update, DashboardReport::Updated { number: 3, .. }),
            "{provider:?}"
        );
        let update_method = if provider == Provider::Gitlab {
            "PUT"
        } else {
            "PATCH"
        };
        assert_eq!(
            forge.issue_requests(),
            ["GET", update_method],
            "{provider:?}"
        );
        let dashboards = forge
            .sandbox
            .issues(OWNER, NAME)
            .expect("issues")
            .into_iter()
            .filter(|i| i.body.starts_with(MARKER))
            .count();
        assert_eq!(dashboards, 1, "{provider:?}");
    }
}

#[test]
fn an_unanswered_create_is_looked_up_never_sent_twice() {
    for provider in PROVIDERS {
        let forge = Forge::new();
        let glob = match provider {
            Provider::Gitlab => "/api/v4/projects/*/issues",
            Provider::Github => "/api/v3/repos/acme/deploy/issues",
            Provider::Gitea => "/api/v1/repos/acme/deploy/issues",
        };
        // The forge creates the issue but answers after the client gave up.
        forge
            .sandbox
            .inject(Fault::new("POST", glob).delay_after(Duration::from_millis(600)));
        let options = HttpOptions {
            request_timeout: Duration::from_millis(300),
            ..test_options(FakeClock::new())
        };
        let client = forge.client_with(provider, options);
        forge.sandbox.clear_requests();
        let body = format!("{MARKER}\nbody");
        let outcome = dashboard::sync(client.as_ref(), "Promotion dashboard", &body).expect("sync");
        assert!(
            matches!(outcome, DashboardReport::Created { number: 3, .. }),
            "{provider:?}: {outcome:?}"
        );
        // The request log has the POST once (logged when its late answer is sent) and a second
        // list.
        for _ in 0..40 {
            if forge.issue_requests().iter().any(|m| m == "POST") {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let requests = forge.issue_requests();
        assert_eq!(
            requests.iter().filter(|m| *m == "POST").count(),
            1,
            "{provider:?}: {requests:?}"
        );
        assert_eq!(
            requests.iter().filter(|m| *m == "GET").count(),
            2,
            "{provider:?}: {requests:?}"
        );

        // A 502 that created nothing: looked up, nothing found, the error — and still one POST.
        let forge = Forge::new();
        forge.sandbox.inject(
            Fault::new("POST", glob)
                .status(502)
                .body(r#"{"message":"Bad Gateway"}"#),
        );
        let client = forge.client(provider);
        forge.sandbox.clear_requests();
        let error =
            dashboard::sync(client.as_ref(), "Promotion dashboard", &body).expect_err("502");
        assert!(
            format!("{error:#}").contains("502"),
            "{provider:?}: {error:#}"
        );
        let requests = forge.issue_requests();
        assert_eq!(requests, ["GET", "POST", "GET"], "{provider:?}");
        let dashboards = forge.sandbox.issues(OWNER, NAME).expect("issues").len();
        assert_eq!(dashboards, 1, "{provider:?}: only alice's issue");
    }
}
