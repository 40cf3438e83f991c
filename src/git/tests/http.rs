//! Git over smart HTTP on 127.0.0.1: a tiny CGI bridge to `git http-backend` that demands
//! Basic auth, so the credential callback, its retry guard and the error wording are tested
//! against a real server.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;

use base64::Engine;
use time::macros::datetime;

use super::*;
use crate::git::{GitCredentials, OursMerge};
use crate::model::Secret;

pub(super) const TOKEN: &str = "tok_correct_horse";

pub(super) struct HttpOrigin {
    pub origin: Origin,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    pub requests: Arc<AtomicUsize>,
    port: u16,
}

impl HttpOrigin {
    pub fn start() -> Self {
        let origin = Origin::new();
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let root = origin.path.parent().unwrap().to_path_buf();
        let thread = {
            let (server, requests) = (server.clone(), requests.clone());
            std::thread::spawn(move || {
                while let Ok(request) = server.recv() {
                    requests.fetch_add(1, Ordering::SeqCst);
                    serve(request, &root);
                }
            })
        };
        Self {
            origin,
            server,
            thread: Some(thread),
            requests,
            port,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/origin.git", self.port)
    }

    pub fn open(&self, token: &str) -> GitCache {
        let credentials = GitCredentials {
            username: "x-access-token".into(),
            token: Secret::new(token),
        };
        GitCache::open(&self.origin.cache_root, &self.url(), Some(credentials))
            .unwrap()
            .0
    }
}

impl Drop for HttpOrigin {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

fn serve(mut request: tiny_http::Request, root: &Path) {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{TOKEN}"))
    );
    let authorized = request
        .headers()
        .iter()
        .any(|h| h.field.equiv("Authorization") && h.value.as_str() == expected);
    if !authorized {
        let challenge =
            tiny_http::Header::from_bytes("WWW-Authenticate", "Basic realm=\"origin\"").unwrap();
        let _ = request.respond(tiny_http::Response::empty(401).with_header(challenge));
        return;
    }
    let (path, query) = request
        .url()
        .split_once('?')
        .map_or((request.url().to_owned(), String::new()), |(p, q)| {
            (p.to_owned(), q.to_owned())
        });
    let content_type = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Content-Type"))
        .map(|h| h.value.to_string())
        .unwrap_or_default();
    let mut body = Vec::new();
    request.as_reader().read_to_end(&mut body).unwrap();
    // CGI environment for git-http-backend(1); REMOTE_USER enables receive-pack.
    let mut child = Command::new("git")
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", root)
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REMOTE_USER", "x-access-token")
        .env("REQUEST_METHOD", request.method().as_str())
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("CONTENT_TYPE", content_type)
        .env("CONTENT_LENGTH", body.len().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&body).unwrap();
    let output = child.wait_with_output().unwrap();
    let out = output.stdout;
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, i + 4))
        .or_else(|| {
            out.windows(2)
                .position(|w| w == b"\n\n")
                .map(|i| (i, i + 2))
        })
        .unwrap();
    let head = String::from_utf8_lossy(&out[..split.0]).into_owned();
    let mut status = 200;
    let mut response = tiny_http::Response::from_data(out[split.1..].to_vec());
    for line in head.lines() {
        let (name, value) = line.split_once(':').unwrap();
        if name.eq_ignore_ascii_case("Status") {
            status = value.trim()[..3].parse().unwrap();
        } else {
            response.add_header(tiny_http::Header::from_bytes(name, value.trim()).unwrap());
        }
    }
    let _ = request.respond(response.with_status_code(status));
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
    // One anonymous request, one with the token; no retry loop.
    assert!(server.requests.load(Ordering::SeqCst) <= 3);
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
