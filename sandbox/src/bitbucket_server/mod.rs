//! The Bitbucket Data Center dialect of the sandbox (REST 1.0), served under `/rest/api/1.0`,
//! `/rest/api/latest` and `/rest/build-status/1.0` over the same store as the other dialects:
//! Bearer HTTP access tokens (basic auth with the token as password too), routing by project key
//! and repository slug, `start`/`limit` paging with `isLastPage`/`nextPageStart`, the PR `version`
//! (an optimistic lock: it grows whenever the PR changes, and update and merge must send the
//! current one), and the `{"errors": [{"context", "message", "exceptionName"}]}` error body.
//!
//! Sources: the REST reference
//! <https://developer.atlassian.com/server/bitbucket/rest/v803/api-group-pull-requests/>,
//! <https://developer.atlassian.com/server/bitbucket/rest/v803/api-group-build-status/>,
//! "Paged APIs" and "Authentication" of
//! <https://docs.atlassian.com/bitbucket-server/rest/7.20.0/bitbucket-rest.html>.
//! The forge rules live in the store; this module only speaks Bitbucket.

mod builds;
mod pulls;

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use base64::Engine;
use serde_json::{Value, json};

use super::server::{Incoming, Reply, Shared, decode, lock};
use super::store::{ForgeError, PullRecord, Store, User};

/// The PR versions the dialect has handed out: per (repository, PR number) the fingerprint of
/// what the PR showed and the version it had then. Bitbucket increments a PR's version on every
/// change (text, reviewers, a push to its source branch); the sandbox increments it the first
/// time it sees the PR changed.
#[derive(Debug, Default)]
pub(crate) struct Versions(Mutex<BTreeMap<(String, u64), (String, u64)>>);

impl Versions {
    /// The PR's version now.
    pub(crate) fn of(&self, full_name: &str, pull: &PullRecord) -> u64 {
        let fingerprint = format!(
            "{:?}|{}|{}|{}|{}",
            pull.state,
            pull.merged.is_some(),
            pull.head_sha,
            pull.title,
            pull.body
        );
        let mut seen = lock(&self.0);
        let entry = seen
            .entry((full_name.to_owned(), pull.number))
            .or_insert_with(|| (fingerprint.clone(), 0));
        if entry.0 != fingerprint {
            *entry = (fingerprint, entry.1 + 1);
        }
        entry.1
    }
}

pub(crate) fn is_api_path(path: &str) -> bool {
    [
        "/rest/api/1.0/",
        "/rest/api/latest/",
        "/rest/build-status/1.0/",
    ]
    .iter()
    .any(|prefix| path.starts_with(prefix))
}

/// A request that passed authentication.
pub(crate) struct Call<'a> {
    pub shared: &'a Shared,
    pub incoming: &'a Incoming,
    pub caller: User,
}

impl Call<'_> {
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.shared.store)
    }

    pub(crate) fn web(&self) -> &str {
        &self.shared.base_url
    }

    pub(crate) fn version(&self, full_name: &str, pull: &PullRecord) -> u64 {
        self.shared.bitbucket_versions.of(full_name, pull)
    }
}

type Answer = Result<Reply, Reply>;

pub(crate) fn answer(shared: &Shared, incoming: &Incoming) -> Reply {
    // "Authentication": every resource promoter uses needs a user; an anonymous or unknown
    // caller gets 401 with the error body.
    let caller = incoming
        .header("authorization")
        .and_then(token_of)
        .and_then(|token| lock(&shared.store).token_owner(&token));
    let Some(caller) = caller else {
        return error(
            401,
            "Authentication failed. Please check your credentials and try again.",
            "com.atlassian.bitbucket.AuthorisationException",
        );
    };
    let words: Vec<String> = incoming
        .path
        .split('/')
        .filter(|segment| !segment.is_empty())
        .map(decode)
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let call = Call {
        shared,
        incoming,
        caller,
    };
    match route(&call, &words) {
        Ok(reply) | Err(reply) => reply,
    }
}

/// `Authorization: Bearer <token>` (HTTP access tokens), or basic auth with the token as the
/// password.
fn token_of(header: &str) -> Option<String> {
    let (scheme, value) = header.trim().split_once(' ')?;
    match scheme.to_ascii_lowercase().as_str() {
        "bearer" => Some(value.trim().to_owned()),
        "basic" => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(value.trim())
                .ok()?;
            let text = String::from_utf8(decoded).ok()?;
            text.split_once(':').map(|(_, token)| token.to_owned())
        }
        _ => None,
    }
}

fn route(call: &Call<'_>, words: &[&str]) -> Answer {
    let method = call.incoming.method.as_str();
    match words {
        ["rest", "build-status", "1.0", "commits", sha] => match method {
            "GET" => builds::list(call, sha),
            "POST" => builds::create(call, sha),
            _ => Err(not_found("No such resource")),
        },
        [
            "rest",
            "api",
            "1.0" | "latest",
            "projects",
            key,
            "repos",
            slug,
            rest @ ..,
        ] => {
            let full_name = repository(call, key, slug)?;
            let number = |text: &str| {
                text.parse::<u64>()
                    .map_err(|_| not_found("No pull request exists with that ID."))
            };
            match (method, rest) {
                ("GET", ["pull-requests"]) => pulls::list(call, &full_name),
                ("POST", ["pull-requests"]) => pulls::create(call, &full_name),
                ("GET", ["pull-requests", id]) => pulls::get(call, &full_name, number(id)?),
                ("PUT", ["pull-requests", id]) => pulls::update(call, &full_name, number(id)?),
                ("GET", ["pull-requests", id, "merge"]) => {
                    pulls::merge_check(call, &full_name, number(id)?)
                }
                ("POST", ["pull-requests", id, "merge"]) => {
                    pulls::merge(call, &full_name, number(id)?)
                }
                ("GET", ["commits", id]) => builds::commit(call, &full_name, id),
                _ => Err(not_found("No such resource")),
            }
        }
        _ => Err(not_found("No such resource")),
    }
}

/// The store's `owner/name` for project `key` and repository `slug`: project keys compare
/// without case (Bitbucket keeps them upper case), slugs too.
fn repository(call: &Call<'_>, key: &str, slug: &str) -> Result<String, Reply> {
    let store = call.store();
    store
        .repo_names()
        .into_iter()
        .find(|full_name| {
            full_name.split_once('/').is_some_and(|(owner, name)| {
                owner.eq_ignore_ascii_case(key) && name.eq_ignore_ascii_case(slug)
            })
        })
        .ok_or_else(|| {
            not_found(&format!(
                "Repository {key}/{slug} does not exist or you do not have permission to see it."
            ))
        })
}

/// The error body of every refusal.
pub(crate) fn error(status: u16, message: &str, exception: &str) -> Reply {
    Reply::json(
        status,
        &json!({"errors": [{"context": null, "message": message, "exceptionName": exception}]}),
    )
}

fn not_found(message: &str) -> Reply {
    error(
        404,
        message,
        "com.atlassian.bitbucket.NoSuchEntityException",
    )
}

/// The store's refusals not answered at the call site.
fn forge_error(refusal: ForgeError) -> Reply {
    match refusal {
        ForgeError::NotFound => not_found("No pull request exists with that ID."),
        ForgeError::MissingBranch { field } => error(
            404,
            &format!("The {field} branch does not exist."),
            "com.atlassian.bitbucket.repository.NoSuchBranchException",
        ),
        ForgeError::Other(cause) => error(500, &format!("{cause:#}"), "java.lang.RuntimeException"),
        other => error(
            400,
            &other.to_string(),
            "com.atlassian.bitbucket.validation.ArgumentValidationException",
        ),
    }
}

/// The request body as a JSON object; Bitbucket answers 400 otherwise.
fn body_object(call: &Call<'_>) -> Result<serde_json::Map<String, Value>, Reply> {
    let body = &call.incoming.body;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(error(
            400,
            "The request body is not valid JSON.",
            "com.atlassian.bitbucket.rest.exception.UnmappableRequestEntityException",
        )),
    }
}

/// "Paged APIs": `start` (default 0) and `limit` (default 25, at most 1000); the page carries
/// `size`, `limit`, `start`, `isLastPage` and, unless it is the last, `nextPageStart`.
fn page(call: &Call<'_>, items: Vec<Value>) -> Value {
    let params = call.incoming.params();
    let start = params
        .get("start")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0);
    let limit = params
        .get("limit")
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|l| *l > 0)
        .unwrap_or(25)
        .min(1000);
    let total = items.len();
    let values: Vec<Value> = items.into_iter().skip(start).take(limit).collect();
    let end = start + values.len();
    let mut page = json!({
        "size": values.len(),
        "limit": limit,
        "start": start,
        "isLastPage": end >= total,
        "values": values,
    });
    if end < total {
        page["nextPageStart"] = json!(end);
    }
    page
}
