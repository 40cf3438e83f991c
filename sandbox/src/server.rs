//! The HTTP side of the sandbox: each request, read whole by `http1` (a thread per connection), passed through fault injection, routed to the GitHub API (`/api/v3/...`), the
//! Gitea API (`/api/v1/...`), the GitLab API (`/api/v4/...`), the Bitbucket Data Center API (`/rest/...`) or to git smart HTTP (`/{owner}/{name}.git/...`),
//! answered and logged. Owns no forge rules.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use super::faults::{Faults, LoggedRequest};
use super::gitea::GiteaFlavor;
use super::store::Store;
use super::{azure, bitbucket, bitbucket_server, gitea, github, gitlab, smart_http};

/// Everything the worker threads share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub store: Mutex<Store>,
    pub base_url: String,
    pub root: PathBuf,
    pub log: Mutex<Vec<LoggedRequest>>,
    pub faults: Mutex<Faults>,
    /// Requests counted per token owner (or `""` for anonymous), for `x-ratelimit-*`.
    pub rate_used: Mutex<BTreeMap<String, u64>>,
    /// When the current rate-limit window ends (epoch seconds).
    pub rate_reset: i64,
    /// Which product the Gitea dialect (`/api/v1`) imitates.
    pub gitea_flavor: Mutex<GiteaFlavor>,
    /// What the Azure DevOps dialect keeps beside the store.
    pub azure: Mutex<azure::State>,
    /// The PR versions the Bitbucket Data Center dialect handed out.
    pub bitbucket_versions: bitbucket_server::Versions,
}

/// Locks a mutex; a poisoned lock (a worker panicked) still holds consistent forge data because
/// every store change is a single method call.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn api_url(&self) -> String {
        format!("{}/api/v3", self.base_url)
    }

    pub(crate) fn gitea_api_url(&self) -> String {
        format!("{}/api/v1", self.base_url)
    }

    pub(crate) fn gitlab_api_url(&self) -> String {
        format!("{}/api/v4", self.base_url)
    }
}

/// One request, read whole.
#[derive(Debug, Clone)]
pub(crate) struct Incoming {
    pub method: String,
    /// Raw (still percent-encoded) path, without the query.
    pub path: String,
    pub query: String,
    /// Header names in lowercase.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Incoming {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The query parameters, percent-decoded; the last one of a name wins.
    pub(crate) fn params(&self) -> BTreeMap<String, String> {
        self.query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (decode(key), decode(value))
            })
            .collect()
    }
}

/// Percent-decodes, with `+` as a space (form encoding, which query strings use).
pub(crate) fn decode(text: &str) -> String {
    let spaced = text.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// An answer before it is written.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(status: u16, value: &serde_json::Value) -> Self {
        let body = serde_json::to_vec_pretty(value).expect("a JSON value always serializes");
        Self {
            status,
            headers: vec![(
                "content-type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body,
        }
    }

    pub(crate) fn text(status: u16, text: &str) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
            body: text.as_bytes().to_vec(),
        }
    }

    /// Sets a header, replacing one of the same name.
    pub(crate) fn set_header(&mut self, name: &str, value: &str) {
        let name = name.to_ascii_lowercase();
        self.headers.retain(|(key, _)| *key != name);
        self.headers.push((name, value.to_owned()));
    }
}

/// Answers one request: routes it (faults first), logs it, and hands the reply to the HTTP
/// server (`http1`).
pub(crate) fn handle(shared: &Shared, request: crate::http1::Request) -> crate::http1::Response {
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((request.target.as_str(), ""));
    let incoming = Incoming {
        method: request.method.clone(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers: request.headers,
        body: request.body,
    };
    let reply = answer(shared, &incoming);
    let is_git =
        smart_http::repo_of(&incoming.path).is_some() || azure::git_path(&incoming.path).is_some();
    let caller = github::caller_of(shared, &incoming);
    lock(&shared.log).push(LoggedRequest {
        method: incoming.method.clone(),
        path: incoming.path.clone(),
        query: incoming.query.clone(),
        body: if is_git {
            String::new()
        } else {
            String::from_utf8_lossy(&incoming.body).into_owned()
        },
        status: reply.status,
        caller,
    });
    crate::http1::Response {
        status: reply.status,
        headers: reply.headers,
        body: reply.body,
    }
}

fn answer(shared: &Shared, incoming: &Incoming) -> Reply {
    let hit = lock(&shared.faults).take(&incoming.method, &incoming.path, &incoming.body);
    if let Some(after) = hit.as_ref().and_then(|hit| hit.delay_after) {
        let reply = route(shared, incoming);
        std::thread::sleep(after);
        return reply;
    }
    if let Some(hit) = hit {
        hit.run_hook();
        if let Some(delay) = hit.delay {
            std::thread::sleep(delay);
        }
        if let Some((status, headers, body)) = hit.answer {
            if hit.ghost {
                let _ = route(shared, incoming);
            }
            let mut reply = Reply {
                status,
                headers: vec![(
                    "content-type".into(),
                    "application/json; charset=utf-8".into(),
                )],
                body,
            };
            if github::is_api_path(&incoming.path) {
                github::add_rate_headers(shared, incoming, &mut reply);
            }
            for (name, value) in headers {
                reply.set_header(&name, &value);
            }
            return reply;
        }
    }
    route(shared, incoming)
}

/// The real answer of the forge.
fn route(shared: &Shared, incoming: &Incoming) -> Reply {
    if github::is_api_path(&incoming.path) {
        github::answer(shared, incoming)
    } else if gitea::is_api_path(&incoming.path) {
        gitea::answer(shared, incoming)
    } else if gitlab::is_api_path(&incoming.path) {
        gitlab::answer(shared, incoming)
    } else if bitbucket::is_api_path(&incoming.path) {
        bitbucket::answer(shared, incoming)
    } else if azure::is_api_path(&incoming.path) {
        azure::answer(shared, incoming)
    } else if let Some(path) = azure::git_path(&incoming.path) {
        smart_http::answer(
            shared,
            &Incoming {
                path,
                ..incoming.clone()
            },
        )
    } else if bitbucket_server::is_api_path(&incoming.path) {
        bitbucket_server::answer(shared, incoming)
    } else if smart_http::repo_of(&incoming.path).is_some() {
        smart_http::answer(shared, incoming)
    } else {
        Reply::json(404, &serde_json::json!({"message": "Not Found"}))
    }
}
