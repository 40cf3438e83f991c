//! Contract tests of the sandbox forge over real HTTP on 127.0.0.1 and real bare repositories.
//! Shared setup lives here; each file below covers one group of endpoints.

// Everything in this binary is test code; a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api_rules;
mod azure;
mod bitbucket;
mod bitbucket_server;
mod conditional;
mod git_http;
mod gitlab;
mod hydrator;
mod labels;
mod merges;
mod pulls;
mod shapes;
mod statuses;

use sandbox::{CommitSpec, Sandbox};
use sandbox::{Sha, Token};
use serde_json::Value;

pub const TOKEN: &str = "test-token-1";
pub const OWNER: &str = "acme";
pub const NAME: &str = "deploy";

/// A running forge with `acme/deploy`: `main` (one commit), `environment/dev` at main, and
/// `environment/dev-next` one commit ahead.
#[derive(Debug)]
pub struct Forge {
    pub sandbox: Sandbox,
    pub live: Sha,
    pub staging: Sha,
    _dir: tempfile::TempDir,
}

pub fn forge() -> Forge {
    let dir = tempfile::tempdir().expect("temp dir");
    let sandbox = Sandbox::start(dir.path(), &Token::new(TOKEN)).expect("sandbox starts");
    sandbox.create_repo(OWNER, NAME).expect("repo");
    let live = sandbox
        .commit(
            OWNER,
            NAME,
            "main",
            &CommitSpec::new("init").file("app.yaml", "v: 1\n"),
        )
        .expect("main");
    sandbox
        .create_branch(OWNER, NAME, "environment/dev", "main")
        .expect("live branch");
    sandbox
        .create_branch(OWNER, NAME, "environment/dev-next", "main")
        .expect("staging branch");
    let staging = sandbox
        .commit(
            OWNER,
            NAME,
            "environment/dev-next",
            &CommitSpec::new("hydrate v2")
                .file("app.yaml", "v: 2\n")
                .at(1_700_000_100),
        )
        .expect("staging commit");
    Forge {
        sandbox,
        live,
        staging,
        _dir: dir,
    }
}

/// An answer read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Sends `builder`'s request (with `body` as `(content type, text)`) through an agent that
/// returns error statuses as answers, and reads the answer whole.
pub fn exchange(builder: ureq::http::request::Builder, body: Option<(&str, &str)>) -> Answer {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let what = format!(
        "{} {}",
        builder
            .method_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        builder
            .uri_ref()
            .map(ToString::to_string)
            .unwrap_or_default()
    );
    let response = match body {
        Some((kind, text)) => agent.run(
            builder
                .header("Content-Type", kind)
                .body(text.to_owned())
                .expect("request"),
        ),
        None => agent.run(builder.body(()).expect("request")),
    }
    .unwrap_or_else(|error| panic!("{what}: {error}"));
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.to_string(),
                value.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let text = response.into_body().read_to_string().expect("body");
    Answer {
        status,
        headers,
        text,
    }
}

/// How a request authenticates.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    Bearer(&'a str),
    Token(&'a str),
    None,
}

pub fn send(
    forge: &Forge,
    method: &str,
    path: &str,
    body: Option<&str>,
    auth: Auth<'_>,
    user_agent: bool,
) -> Answer {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .user_agent(ureq::config::AutoHeaderValue::None)
        .build()
        .into();
    let url = format!("{}{path}", forge.sandbox.api_url());
    let mut builder = ureq::http::Request::builder().method(method).uri(&url);
    if user_agent {
        builder = builder.header("User-Agent", "promoter-tests/1");
    }
    builder = builder.header("Accept", "application/vnd.github+json");
    match auth {
        Auth::Bearer(token) => builder = builder.header("Authorization", format!("Bearer {token}")),
        Auth::Token(token) => builder = builder.header("Authorization", format!("token {token}")),
        Auth::None => {}
    }
    read(
        match body {
            Some(body) => agent.run(builder.body(body.to_owned()).expect("request")),
            None => agent.run(builder.body(()).expect("request")),
        }
        .unwrap_or_else(|error| panic!("{method} {path}: {error}")),
    )
}

/// A response read whole: status, headers and body text.
pub fn read(response: ureq::http::Response<ureq::Body>) -> Answer {
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.to_string(),
                value.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let text = response.into_body().read_to_string().expect("body");
    Answer {
        status,
        headers,
        text,
    }
}

/// An authenticated API call with a User-Agent, as a well-behaved client makes it.
pub fn api(forge: &Forge, method: &str, path: &str, body: Option<&str>) -> Answer {
    send(forge, method, path, body, Auth::Bearer(TOKEN), true)
}

pub fn repo_path(rest: &str) -> String {
    format!("/repos/{OWNER}/{NAME}{rest}")
}

/// Opens the dev promotion PR through the API and returns its number.
pub fn open_dev_pull(forge: &Forge) -> u64 {
    let answer = api(
        forge,
        "POST",
        &repo_path("/pulls"),
        Some(
            r#"{"title":"Promote","head":"environment/dev-next","base":"environment/dev","body":"b"}"#,
        ),
    );
    assert_eq!(answer.status, 201, "{}", answer.text);
    answer.json()["number"].as_u64().expect("number")
}
