//! HTTP behaviour of the client against a real server on 127.0.0.1 (the scripted test server).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::*;
use crate::model::Secret;
use crate::scm::test_server::{Canned, ScriptedServer};

const TOKEN: &str = "ghp_TESTTOKEN0123456789";
const START: u64 = 1_700_000_000;

/// A clock that only moves when slept on, and remembers every sleep.
#[derive(Debug)]
pub(crate) struct FakeClock {
    now: Mutex<SystemTime>,
    slept: Mutex<Vec<Duration>>,
}

impl FakeClock {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            now: Mutex::new(SystemTime::UNIX_EPOCH + Duration::from_secs(START)),
            slept: Mutex::new(Vec::new()),
        })
    }
    pub(crate) fn slept(&self) -> Vec<Duration> {
        self.slept.lock().unwrap().clone()
    }
}

impl Clock for FakeClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap()
    }
    fn sleep(&self, duration: Duration) {
        *self.now.lock().unwrap() += duration;
        self.slept.lock().unwrap().push(duration);
    }
}

pub(crate) fn test_options(clock: Arc<FakeClock>) -> HttpOptions {
    HttpOptions {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        backoff: Duration::from_millis(100),
        clock,
        token_source: Some("GITHUB_TOKEN".into()),
        ..HttpOptions::default()
    }
}

fn client(server: &ScriptedServer, options: HttpOptions) -> HttpClient {
    HttpClient::new(
        &server.base_url,
        Some(Auth::bearer(Secret::new(TOKEN))),
        options,
    )
    .unwrap()
    .with_header("x-github-api-version", "2022-11-28")
    .with_hint(Arc::new(|status, _| {
        (status == 401).then(|| "check the token variable".to_owned())
    }))
}

fn ok(body: &str) -> Canned {
    Canned::json(200, body)
}

#[test]
fn every_request_carries_user_agent_auth_and_fixed_headers() {
    let server = ScriptedServer::start(vec![ok("{}")]);
    let http = client(&server, test_options(FakeClock::new()));
    http.send(Method::Get, "/x", None, Retry::Idempotent)
        .unwrap();
    let request = &server.requests()[0];
    assert_eq!(
        request.header("user-agent"),
        Some(format!("promoter/{}", env!("CARGO_PKG_VERSION")).as_str())
    );
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(request.header("x-github-api-version"), Some("2022-11-28"));
}

#[test]
fn other_providers_auth_headers_have_their_own_shape() {
    let server = ScriptedServer::start(vec![ok("{}"), ok("{}")]);
    let options = test_options(FakeClock::new());
    let gitlab = HttpClient::new(
        &server.base_url,
        Some(Auth::private_token(Secret::new("glpat"))),
        options.clone(),
    )
    .unwrap();
    gitlab
        .send(Method::Get, "/a", None, Retry::Idempotent)
        .unwrap();
    let gitea = HttpClient::new(
        &server.base_url,
        Some(Auth::token(Secret::new("gt"))),
        options,
    )
    .unwrap();
    gitea
        .send(Method::Get, "/b", None, Retry::Idempotent)
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests[0].header("private-token"), Some("glpat"));
    assert_eq!(requests[0].header("authorization"), None);
    assert_eq!(requests[1].header("authorization"), Some("token gt"));
}

#[test]
fn basic_auth_sends_the_encoded_user_and_token_pair() {
    let server = ScriptedServer::start(vec![ok("{}")]);
    let http = HttpClient::new(
        &server.base_url,
        // An empty user name, as a personal access token is sent where the user does not matter.
        Some(Auth::basic("", &Secret::new("pat-123"))),
        test_options(FakeClock::new()),
    )
    .unwrap();
    http.send(Method::Get, "/a", None, Retry::Idempotent)
        .unwrap();
    // base64(":pat-123") (RFC 7617 section 2).
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some("Basic OnBhdC0xMjM=")
    );
}

#[test]
fn an_idempotent_request_is_sent_again_after_502s_with_growing_backoff() {
    let server = ScriptedServer::start(vec![
        Canned::json(502, "bad gateway"),
        Canned::json(502, ""),
        ok("[1]"),
    ]);
    let clock = FakeClock::new();
    let http = client(&server, test_options(clock.clone()));
    let answer = http
        .send(Method::Get, "/x", None, Retry::Idempotent)
        .unwrap();
    assert_eq!(answer.body, "[1]");
    assert_eq!(server.requests().len(), 3);
    let slept = clock.slept();
    assert_eq!(slept.len(), 2);
    assert!(slept[0] >= Duration::from_millis(50) && slept[0] <= Duration::from_millis(100));
    assert!(slept[1] >= Duration::from_millis(100) && slept[1] <= Duration::from_millis(200));
}

#[test]
fn three_5xx_answers_end_in_a_typed_error_with_the_status() {
    let server = ScriptedServer::start(vec![
        Canned::json(503, "{}"),
        Canned::json(503, "{}"),
        Canned::json(503, r#"{"message":"Service Unavailable"}"#),
        ok("never sent"),
    ]);
    let http = client(&server, test_options(FakeClock::new()));
    let error = http
        .send(Method::Get, "/x?page=2", None, Retry::Idempotent)
        .unwrap_err();
    assert_eq!(error.status(), Some(503));
    assert!(error.is_ambiguous());
    assert_eq!(
        error.to_string(),
        "GET /x answered 503: Service Unavailable"
    );
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn a_request_that_is_not_blindly_resent_fails_on_the_first_502() {
    let server = ScriptedServer::start(vec![Canned::json(502, ""), ok("{}")]);
    let http = client(&server, test_options(FakeClock::new()));
    let body = serde_json::json!({"title": "t"});
    let error = http
        .send(Method::Post, "/pulls", Some(&body), Retry::NotBlindly)
        .unwrap_err();
    assert_eq!(error.status(), Some(502));
    assert!(error.is_ambiguous());
    assert_eq!(server.requests().len(), 1);
    assert_eq!(server.requests()[0].json(), body);
}

#[test]
fn a_timeout_after_sending_is_ambiguous_and_not_resent_blindly() {
    let server = ScriptedServer::start(vec![ok("{}").delayed(Duration::from_millis(800))]);
    let options = HttpOptions {
        request_timeout: Duration::from_millis(200),
        ..test_options(FakeClock::new())
    };
    let http = client(&server, options);
    let body = serde_json::json!({});
    let error = http
        .send(Method::Post, "/pulls", Some(&body), Retry::NotBlindly)
        .unwrap_err();
    assert!(
        matches!(
            error,
            HttpError::Transport {
                maybe_sent: true,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.is_ambiguous());
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn a_refused_connection_is_safe_to_resend_even_for_a_create() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let tries = Arc::new(Mutex::new(Vec::new()));
    let seen = tries.clone();
    let options = HttpOptions {
        on_request: Some(Arc::new(move |record: &RequestRecord| {
            seen.lock().unwrap().push(record.clone())
        })),
        ..test_options(FakeClock::new())
    };
    let http = HttpClient::new(&format!("http://127.0.0.1:{port}"), None, options).unwrap();
    let error = http
        .send(
            Method::Post,
            "/pulls",
            Some(&serde_json::json!({})),
            Retry::NotBlindly,
        )
        .unwrap_err();
    assert!(
        matches!(
            error,
            HttpError::Transport {
                maybe_sent: false,
                ..
            }
        ),
        "{error:?}"
    );
    let tries = tries.lock().unwrap();
    assert_eq!(tries.len(), 3);
    assert_eq!(tries[2].attempt, 3);
    assert_eq!(tries[2].status, None);
    assert_eq!(tries[2].path, "/pulls");
}

#[test]
fn a_429_waits_exactly_its_retry_after_even_for_a_create() {
    let server = ScriptedServer::start(vec![
        Canned::json(429, r#"{"message":"slow down"}"#).header("Retry-After", "3"),
        Canned::json(201, r#"{"number":1}"#),
    ]);
    let clock = FakeClock::new();
    let http = client(&server, test_options(clock.clone()));
    let answer = http
        .send(
            Method::Post,
            "/pulls",
            Some(&serde_json::json!({})),
            Retry::NotBlindly,
        )
        .unwrap();
    assert_eq!(answer.status, 201);
    assert_eq!(clock.slept(), vec![Duration::from_secs(3)]);
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn a_secondary_limit_without_retry_after_waits_sixty_seconds_once() {
    let secondary = r#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}"#;
    let server = ScriptedServer::start(vec![Canned::json(403, secondary), ok("[]")]);
    let clock = FakeClock::new();
    let http = client(&server, test_options(clock.clone()));
    http.send(Method::Get, "/x", None, Retry::Idempotent)
        .unwrap();
    assert_eq!(clock.slept(), vec![Duration::from_secs(60)]);

    let server = ScriptedServer::start(vec![
        Canned::json(403, secondary),
        Canned::json(403, secondary),
    ]);
    let clock = FakeClock::new();
    let http = client(&server, test_options(clock.clone()));
    let error = http
        .send(Method::Get, "/x", None, Retry::Idempotent)
        .unwrap_err();
    assert_eq!(clock.slept(), vec![Duration::from_secs(60)]);
    // The second answer came at START + 60; one more minute is asked for.
    assert_eq!(
        error.to_string(),
        "GET /x: rate limited until 2023-11-14T22:15:20Z"
    );
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn an_exhausted_primary_limit_waits_for_a_near_reset() {
    let server = ScriptedServer::start(vec![
        Canned::json(403, r#"{"message":"API rate limit exceeded"}"#)
            .header("x-ratelimit-remaining", "0")
            .header("x-ratelimit-reset", (START + 42).to_string()),
        ok("[]"),
    ]);
    let clock = FakeClock::new();
    let http = client(&server, test_options(clock.clone()));
    http.send(Method::Get, "/x", None, Retry::Idempotent)
        .unwrap();
    assert_eq!(clock.slept(), vec![Duration::from_secs(42)]);
}

#[test]
fn an_exhausted_primary_limit_with_a_far_reset_fails_at_once_saying_until_when() {
    let server = ScriptedServer::start(vec![
        Canned::json(429, r#"{"message":"API rate limit exceeded"}"#)
            .header("x-ratelimit-remaining", "0")
            .header("x-ratelimit-reset", (START + 3600).to_string()),
    ]);
    let clock = FakeClock::new();
    let http = client(&server, test_options(clock.clone()));
    let error = http
        .send(Method::Get, "/x", None, Retry::Idempotent)
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "GET /x: rate limited until 2023-11-14T23:13:20Z"
    );
    assert!(error.hint().is_some());
    assert!(clock.slept().is_empty());
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn waits_stop_at_the_total_budget_of_the_run() {
    let server = ScriptedServer::start(vec![
        Canned::json(429, "{}").header("retry-after", "80"),
        ok("{}"),
        Canned::json(429, "{}").header("retry-after", "30"),
        ok("never sent"),
    ]);
    let clock = FakeClock::new();
    let options = HttpOptions {
        max_wait: Duration::from_secs(100),
        ..test_options(clock.clone())
    };
    let http = client(&server, options);
    http.send(Method::Get, "/a", None, Retry::Idempotent)
        .unwrap();
    let error = http
        .send(Method::Get, "/b", None, Retry::Idempotent)
        .unwrap_err();
    // Second refusal came at START + 80 and asked for 30 s more.
    assert_eq!(
        error.to_string(),
        "GET /b: rate limited until 2023-11-14T22:15:10Z"
    );
    assert_eq!(clock.slept(), vec![Duration::from_secs(80)]);
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn pages_are_followed_through_link_next_until_the_last() {
    let server = ScriptedServer::start(Vec::new());
    let next = |page: u32| {
        format!(
            "<{}/items?per_page=2&page={page}>; rel=\"next\", <{}/items?page=3>; rel=\"last\"",
            server.base_url, server.base_url
        )
    };
    server.push(ok("[1,2]").header("Link", next(2)));
    server.push(ok("[3,4]").header("Link", next(3)));
    server.push(ok("[5]").header(
        "Link",
        format!("<{}/items?page=1>; rel=\"first\"", server.base_url),
    ));
    let http = client(&server, test_options(FakeClock::new()));
    let mut items: Vec<u32> = Vec::new();
    http.get_pages("/items?per_page=2", |page: Vec<u32>| items.extend(page))
        .unwrap();
    assert_eq!(items, vec![1, 2, 3, 4, 5]);
    let urls: Vec<String> = server.requests().into_iter().map(|r| r.url).collect();
    assert_eq!(
        urls,
        [
            "/items?per_page=2",
            "/items?per_page=2&page=2",
            "/items?per_page=2&page=3"
        ]
    );
}

#[test]
fn a_next_link_to_another_host_is_refused_so_the_token_stays_home() {
    let server = ScriptedServer::start(vec![
        ok("[1]").header("Link", "<https://evil.example/items?page=2>; rel=\"next\""),
    ]);
    let http = client(&server, test_options(FakeClock::new()));
    let error = http.get_pages("/items", |_: Vec<u32>| {}).unwrap_err();
    assert!(
        error.to_string().contains("next-page link leaves"),
        "{error}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn error_statuses_carry_the_providers_hint_and_never_the_token() {
    // A server that echoes the Authorization header back in its error body.
    let server = ScriptedServer::start(vec![Canned::json(
        401,
        format!(
            r#"{{"message":"Bad credentials: Bearer {TOKEN}","documentation_url":"https://docs.github.com/rest"}}"#
        ),
    )]);
    let http = client(&server, test_options(FakeClock::new()));
    let error = http
        .send(
            Method::Get,
            "/repos/o/r/pulls?state=open",
            None,
            Retry::Idempotent,
        )
        .unwrap_err();
    assert_eq!(error.status(), Some(401));
    assert_eq!(error.hint(), Some("check the token variable"));
    let anyhow_error = anyhow::Error::new(error).context("finding the pull request");
    assert_eq!(hint(&anyhow_error), Some("check the token variable"));
    let shown = format!("{anyhow_error:#} {anyhow_error:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(
        shown.contains("GET /repos/o/r/pulls answered 401: Bad credentials: Bearer ***"),
        "{shown}"
    );
    assert!(!format!("{http:?}").contains(TOKEN));
}

#[test]
fn an_error_body_is_shown_on_one_line_whatever_it_holds() {
    let server = ScriptedServer::start(vec![Canned::json(
        422,
        r#"{"message":"bad\n::error::injected\r##[error]x \u202e"}"#.to_owned(),
    )]);
    let http = client(&server, test_options(FakeClock::new()));
    let error = http
        .send(Method::Get, "/repos/o/r/pulls", None, Retry::Idempotent)
        .unwrap_err();
    assert_eq!(
        error.message(),
        Some("bad\\n::error::injected\\r##[error]x \\u{202e}")
    );
}

#[test]
fn validation_errors_show_the_nested_messages() {
    let server = ScriptedServer::start(vec![Canned::json(
        422,
        r#"{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"A pull request already exists for o:x."}]}"#,
    )]);
    let http = client(&server, test_options(FakeClock::new()));
    let error = http
        .send(
            Method::Post,
            "/pulls",
            Some(&serde_json::json!({})),
            Retry::NotBlindly,
        )
        .unwrap_err();
    assert_eq!(
        error.message(),
        Some("Validation Failed; A pull request already exists for o:x.")
    );
    assert!(!error.is_ambiguous());
}

#[test]
fn a_non_json_error_body_is_shown_as_an_excerpt() {
    let long = "x".repeat(1000);
    let server = ScriptedServer::start(vec![Canned::json(404, long)]);
    let http = client(&server, test_options(FakeClock::new()));
    let error = http
        .send(Method::Get, "/x", None, Retry::Idempotent)
        .unwrap_err();
    let message = error.message().unwrap();
    assert_eq!(message.chars().count(), 301);
    assert!(message.ends_with('…'));
}

#[test]
fn the_base_url_must_be_http_or_https() {
    let options = HttpOptions::default();
    assert!(HttpClient::new("ftp://example.com", None, options.clone()).is_err());
    assert!(HttpClient::new("not a url", None, options.clone()).is_err());
    assert!(HttpClient::new("https://ghe.example.com/api/v3/", None, options).is_ok());
}

#[test]
fn link_headers_are_read_per_rfc_8288() {
    let header = r#"<https://api.github.com/repositories/1/pulls?page=1>; rel="prev", <https://api.github.com/repositories/1/pulls?page=3>; rel="next""#;
    assert_eq!(
        next_link(header).as_deref(),
        Some("https://api.github.com/repositories/1/pulls?page=3")
    );
    assert_eq!(next_link(r#"<https://x/a>; rel="last""#), None);
}

#[test]
fn the_trust_roots_are_loaded_for_an_https_api_only() {
    for (url, loaded) in [
        ("http://127.0.0.1:1/api/v3", false),
        ("https://ghe.example.com/api/v3", true),
    ] {
        let trust = crate::tls::Trust::new(None);
        let options = HttpOptions {
            trust: Arc::clone(&trust),
            ..HttpOptions::default()
        };

        HttpClient::new(url, None, options).unwrap();

        assert_eq!(trust.is_loaded(), loaded, "{url}");
    }
}
