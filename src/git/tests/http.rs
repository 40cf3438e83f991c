//! Git over smart HTTP on 127.0.0.1 against the project's sandbox forge (`crate::sandbox`), which
//! serves `<base>/acme/deploy.git` through `git http-backend` and demands the token as the
//! basic-auth password — so promoter's smart-HTTP transport (`git::http`), its 401 handling and
//! the error wording are tested against a real server. The origin repository is built with git2 in place, under the
//! sandbox root, before the forge starts and adopts it.

use time::macros::datetime;

use super::*;
use crate::git::{GitCredentials, OursMerge};
use crate::model::Secret;
use sandbox::{Fault, Sandbox};

pub(super) const TOKEN: &str = "tok_correct_horse";
const OWNER: &str = "acme";
const NAME: &str = "deploy";

/// An [`Origin`] served by a sandbox forge.
pub(super) struct HttpOrigin {
    pub origin: Origin,
    pub forge: Sandbox,
}

impl HttpOrigin {
    /// An empty origin at `<root>/acme/deploy.git`, created before the forge starts so that the
    /// forge adopts it; commits written to it later are served as they land on disk.
    pub(super) fn start() -> Self {
        let origin = Origin::at(&format!("forge/{OWNER}/{NAME}.git"));
        let forge =
            Sandbox::start(&origin.dir().join("forge"), &sandbox::Token::new(TOKEN)).unwrap();
        Self { origin, forge }
    }

    pub(super) fn url(&self) -> String {
        self.forge.clone_url(OWNER, NAME)
    }

    pub(super) fn open(&self, token: &str) -> GitCache {
        let credentials = GitCredentials {
            username: "x-access-token".into(),
            token: Secret::new(token),
        };
        GitCache::open(&self.origin.cache_root, &self.url(), Some(credentials))
            .unwrap()
            .0
    }
}

#[test]
fn a_wrong_token_fails_once_with_the_url_and_a_hint_but_never_the_token() {
    let server = HttpOrigin::start();
    dev_environment(&server.origin);
    let mut cache = server.open("tok_wrong_battery");

    let error = format!(
        "{:#}",
        cache.sync(&[branch("environment/dev")]).unwrap_err()
    );

    assert!(
        error.contains(&format!("authentication failed for {}", server.url())),
        "{error}"
    );
    assert!(error.contains("hint:"), "{error}");
    assert!(!error.contains("tok_wrong_battery"), "{error}");
    // The token goes with the first request; a refusal is final, no retry loop.
    let requests = server.forge.requests();
    assert!(requests.len() <= 3, "{requests:?}");
}

#[test]
fn a_server_asking_for_credentials_when_none_are_configured_says_so() {
    let server = HttpOrigin::start();
    dev_environment(&server.origin);
    let (mut cache, _) = GitCache::open(&server.origin.cache_root, &server.url(), None).unwrap();

    let error = format!(
        "{:#}",
        cache.sync(&[branch("environment/dev")]).unwrap_err()
    );

    assert!(error.contains("no token is configured"), "{error}");
    assert!(error.contains(&server.url()), "{error}");
}

#[test]
fn a_server_error_after_authenticating_is_reported_as_itself_not_as_an_auth_failure() {
    let server = HttpOrigin::start();
    dev_environment(&server.origin);
    // The ref listing authenticates; the fetch that follows then fails on the server's side.
    server.forge.inject(
        Fault::new("POST", &format!("/{OWNER}/{NAME}.git/git-upload-pack"))
            .status(500)
            .body("git http-backend failed"),
    );
    let mut cache = server.open(TOKEN);

    let error = format!(
        "{:#}",
        cache.sync(&[branch("environment/dev")]).unwrap_err()
    );

    assert!(!error.contains("authentication failed"), "{error}");
    // What we were doing, naming the URL, then libgit2's cause.
    assert!(
        error.starts_with(&format!("fetching from {}: ", server.url())),
        "{error}"
    );
    assert!(error.contains("500"), "{error}");
    assert!(!error.contains(TOKEN), "{error}");
    assert_eq!(
        server
            .forge
            .count_requests("POST", &format!("/{OWNER}/{NAME}.git/git-upload-pack")),
        1
    );
}

#[test]
fn the_right_token_fetches_and_pushes_over_http() {
    let server = HttpOrigin::start();
    let origin = &server.origin;
    dev_environment(origin);
    let live = origin.commit(
        "environment/dev",
        &[("app/deploy.yaml", Some("5"))],
        "drift",
    );
    let staging = origin.commit(
        "environment/dev-next",
        &[("app/deploy.yaml", Some("2"))],
        "b",
    );
    let mut cache = server.open(TOKEN);
    let (live_name, staging_name) = (branch("environment/dev"), branch("environment/dev-next"));

    let report = cache
        .sync(&[live_name.clone(), staging_name.clone()])
        .unwrap();
    assert!(report.fetched && report.received_bytes > 0, "{report:?}");
    assert!(
        !cache
            .sync(&[live_name.clone(), staging_name.clone()])
            .unwrap()
            .fetched
    );

    let merge = cache
        .ours_merge(
            &OursMerge {
                live: &live_name,
                live_tip: &to_sha(live),
                staging: &staging_name,
                staging_tip: &to_sha(staging),
                active_path: None,
            },
            datetime!(2026-03-01 12:00 UTC),
        )
        .unwrap();
    cache
        .push_branch(&merge, &staging_name, &to_sha(staging))
        .unwrap();
    assert_eq!(to_sha(origin.tip("environment/dev-next")), merge);
    // The cache's config never learns the URL or the token.
    let config = std::fs::read_to_string(cache.dir().join("config")).unwrap();
    assert!(
        !config.contains("127.0.0.1") && !config.contains(TOKEN),
        "{config}"
    );
}

#[test]
fn a_401_without_a_challenge_is_an_authentication_failure() {
    let server = HttpOrigin::start();
    dev_environment(&server.origin);
    // No `WWW-Authenticate`: libgit2 cannot ask for credentials and fails on the status alone.
    server.forge.inject(
        Fault::new("GET", &format!("/{OWNER}/{NAME}.git/info/refs"))
            .status(401)
            .body(r#"{"message":"Bad credentials"}"#),
    );
    let mut cache = server.open(TOKEN);

    let error = format!(
        "{:#}",
        cache.sync(&[branch("environment/dev")]).unwrap_err()
    );

    assert!(
        error.contains(&format!("authentication failed for {}", server.url())),
        "{error}"
    );
    assert!(!error.contains(TOKEN), "{error}");
}

#[test]
fn an_http_remote_loads_no_trust_roots() {
    let server = HttpOrigin::start();
    dev_environment(&server.origin);
    let mut cache = server.open(TOKEN);
    let trust = crate::tls::Trust::new(None);
    cache.set_trust(std::sync::Arc::clone(&trust));

    cache.sync(&[branch("environment/dev")]).unwrap();

    assert!(!trust.is_loaded());
}

#[test]
fn a_url_that_does_not_serve_git_says_so_with_the_content_type() {
    let server = HttpOrigin::start();
    dev_environment(&server.origin);
    // A web page where the ref advertisement should be (a wrong cloneUrl, a login portal).
    server.forge.inject(
        Fault::new("GET", &format!("/{OWNER}/{NAME}.git/info/refs"))
            .status(200)
            .header("content-type", "text/html; charset=utf-8")
            .body("<html>sign in</html>"),
    );
    let mut cache = server.open(TOKEN);

    let error = format!(
        "{:#}",
        cache.sync(&[branch("environment/dev")]).unwrap_err()
    );

    assert!(
        error.starts_with(&format!("listing the refs of {}: ", server.url())),
        "{error}"
    );
    assert!(
        error.contains("did not answer as a git smart HTTP server"),
        "{error}"
    );
    assert!(error.contains("text/html"), "{error}");
    assert!(!error.contains(TOKEN), "{error}");
}

#[test]
fn a_moved_repository_is_followed_and_the_fetch_goes_where_it_moved() {
    let server = HttpOrigin::start();
    dev_environment(&server.origin);
    // GitHub answers a renamed repository's old URL with a 301 to the new one.
    let base = server.forge.base_url();
    server.forge.inject(
        Fault::new("GET", "/acme/old-name.git/info/refs")
            .status(301)
            .header(
                "location",
                &format!("{base}/{OWNER}/{NAME}.git/info/refs?service=git-upload-pack"),
            ),
    );
    let credentials = GitCredentials {
        username: "x-access-token".into(),
        token: Secret::new(TOKEN),
    };
    let old_url = format!("{base}/acme/old-name.git");
    let (mut cache, _) =
        GitCache::open(&server.origin.cache_root, &old_url, Some(credentials)).unwrap();

    let report = cache.sync(&[branch("environment/dev")]).unwrap();

    assert!(report.fetched, "{report:?}");
    assert_eq!(
        server
            .forge
            .count_requests("POST", &format!("/{OWNER}/{NAME}.git/git-upload-pack")),
        1
    );
}

/// A provider whose git user name is empty (Bitbucket Data Center) sends the token as
/// `Authorization: Bearer`, the only form its project and repository tokens accept over git.
#[test]
fn an_empty_user_name_sends_the_token_as_bearer() {
    use crate::scm::test_server::{Canned, ScriptedServer};
    let server = ScriptedServer::start(vec![Canned::json(404, "{}")]);
    let origin = Origin::new();
    let credentials = GitCredentials {
        username: String::new(),
        token: Secret::new(TOKEN),
    };
    let url = format!("{}/scm/acme/deploy.git", server.base_url);
    let (mut cache, _) = GitCache::open(&origin.cache_root, &url, Some(credentials)).unwrap();
    let error = format!(
        "{:#}",
        cache.sync(&[branch("environment/dev")]).unwrap_err()
    );
    assert!(!error.contains(TOKEN), "{error}");
    let requests = server.requests();
    assert!(
        requests[0]
            .url
            .starts_with("/scm/acme/deploy.git/info/refs"),
        "{requests:?}"
    );
    let expected = format!("Bearer {TOKEN}");
    assert_eq!(requests[0].header("authorization"), Some(expected.as_str()));
}
