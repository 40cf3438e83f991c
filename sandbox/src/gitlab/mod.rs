//! The GitLab REST v4 dialect of the sandbox, served under `/api/v4` over the same store as the
//! GitHub dialect (same repositories, merge requests = the store's pull requests, statuses):
//! GitLab's request rules (`PRIVATE-TOKEN` or `Authorization: Bearer`; projects addressed by id or
//! by URL-encoded full path, a raw `/` being a 404), routing, parameters from the query or a JSON
//! or form body, GitLab's pagination headers, and the translation of store answers and
//! [`ForgeError`]s into GitLab's status codes and bodies. The forge rules live in the store.
//!
//! What the sandbox models of GitLab and what it simplifies (docs/sandbox.md says it too):
//! - Store statuses keep GitHub's vocabulary; GitLab `failed` ↔ `failure` (`canceled` is stored
//!   as `error` and read back as `failed`), `pending`/`running`/`created` → `pending`,
//!   `skipped` → `success`.
//! - The commit status state machine: a pending status of a name on a SHA by the same user is
//!   reused, and posting `pending` onto it is refused with 400 "Cannot transition status via
//!   :enqueue from :pending", as GitLab does; a finished status gets a new one.
//! - Pipelines are synthesized per SHA from the commit statuses on it (the worst state; none →
//!   no pipeline); only a `sha=` query lists any.
//! - A project whose merge commits are off behaves like a fast-forward project that needs a
//!   rebase: `detailed_merge_status: need_rebase` and 405 on merge.

mod commits;
mod issues;
mod merge_requests;

use std::sync::MutexGuard;

use serde_json::{Map, Value, json};

use super::github::timestamp_of;
use super::server::{Incoming, Reply, Shared, decode, lock};
use super::store::{RepoRecord, Store, User};

const API_PREFIX: &str = "/api/v4";

pub(crate) fn is_api_path(path: &str) -> bool {
    path == API_PREFIX || path.starts_with("/api/v4/")
}

/// A request that passed GitLab's gate: who calls, which project, the merged parameters.
pub(crate) struct Call<'a> {
    pub shared: &'a Shared,
    pub incoming: &'a Incoming,
    pub caller: User,
    pub params: Map<String, Value>,
}

impl Call<'_> {
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.shared.store)
    }

    pub(crate) fn web(&self) -> &str {
        &self.shared.base_url
    }

    /// A string parameter; numbers and booleans given as JSON count as their text.
    pub(crate) fn param(&self, key: &str) -> Option<String> {
        match self.params.get(key)? {
            Value::String(text) => Some(text.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// A boolean parameter (`true`/`false` as JSON or text).
    pub(crate) fn flag(&self, key: &str) -> bool {
        match self.params.get(key) {
            Some(Value::Bool(value)) => *value,
            Some(Value::String(text)) => text == "true" || text == "1",
            _ => false,
        }
    }
}

type Answer = Result<Reply, Reply>;

pub(crate) fn answer(shared: &Shared, incoming: &Incoming) -> Reply {
    // Docs rest/authentication.md: `PRIVATE-TOKEN: <token>` or `Authorization: Bearer <token>`;
    // without a valid one, 401 `{"message":"401 Unauthorized"}`.
    let token = incoming
        .header("private-token")
        .map(str::to_owned)
        .or_else(|| {
            incoming
                .header("authorization")
                .and_then(|value| value.trim().split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, token)| token.trim().to_owned())
        });
    let Some(caller) = token.and_then(|token| lock(&shared.store).token_owner(&token)) else {
        return message(401, "401 Unauthorized");
    };
    let params = match params(incoming) {
        Ok(params) => params,
        Err(reply) => return reply,
    };
    let call = Call {
        shared,
        incoming,
        caller,
        params,
    };
    let segments: Vec<&str> = incoming.path[API_PREFIX.len()..]
        .split('/')
        .filter(|segment| !segment.is_empty())
        .collect();
    match route(&call, &segments) {
        Ok(reply) | Err(reply) => reply,
    }
}

fn route(call: &Call<'_>, segments: &[&str]) -> Answer {
    let ["projects", id, rest @ ..] = segments else {
        return Err(message(404, "404 Not Found"));
    };
    // Docs rest/index.md "Namespaced paths": `:id` is the numeric id or the full path with every
    // `/` encoded as `%2F`; a raw `/` splits the segment and finds nothing.
    let full_name = project_of(&call.store(), &decode(id))
        .ok_or_else(|| message(404, "404 Project Not Found"))?;
    let method = call.incoming.method.as_str();
    match (method, rest) {
        ("GET", []) => commits::get_project(call, &full_name),
        ("GET", ["merge_requests"]) => merge_requests::list(call, &full_name),
        ("POST", ["merge_requests"]) => merge_requests::create(call, &full_name),
        ("GET", ["merge_requests", iid]) => merge_requests::get(call, &full_name, iid_of(iid)?),
        ("PUT", ["merge_requests", iid]) => merge_requests::update(call, &full_name, iid_of(iid)?),
        ("PUT", ["merge_requests", iid, "merge"]) => {
            merge_requests::merge(call, &full_name, iid_of(iid)?)
        }
        ("GET", ["repository", "commits", sha, "statuses"]) => {
            commits::list_statuses(call, &full_name, &decode(sha))
        }
        ("GET", ["issues"]) => issues::list(call, &full_name),
        ("POST", ["issues"]) => issues::create(call, &full_name),
        ("GET", ["issues", iid]) => issues::get(call, &full_name, iid_of(iid)?),
        ("PUT", ["issues", iid]) => issues::update(call, &full_name, iid_of(iid)?),
        ("POST", ["statuses", sha]) => commits::create_status(call, &full_name, &decode(sha)),
        ("GET", ["pipelines"]) => commits::list_pipelines(call, &full_name),
        _ => Err(message(404, "404 Not Found")),
    }
}

/// The store's `owner/name` of a project given by id or full path.
fn project_of(store: &Store, id: &str) -> Option<String> {
    if let Ok(number) = id.parse::<u64>() {
        return store
            .repo_names()
            .into_iter()
            .find(|name| store.repo(name).is_ok_and(|repo| repo.id == number));
    }
    store.repo(id).ok().map(RepoRecord::full_name)
}

fn iid_of(text: &str) -> Result<u64, Reply> {
    text.parse().map_err(|_| message(404, "404 Not found"))
}

/// `{"message": "..."}`, GitLab's usual error body.
pub(crate) fn message(status: u16, text: &str) -> Reply {
    Reply::json(status, &json!({"message": text}))
}

/// `{"error": "..."}`, GitLab's body for parameter validation (Grape).
pub(crate) fn param_error(text: &str) -> Reply {
    Reply::json(400, &json!({"error": text}))
}

/// Query parameters, then body parameters over them: a JSON object or a form-encoded body.
fn params(incoming: &Incoming) -> Result<Map<String, Value>, Reply> {
    let mut params: Map<String, Value> = incoming
        .params()
        .into_iter()
        .map(|(key, value)| (key, Value::String(value)))
        .collect();
    if incoming.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(params);
    }
    let is_json = incoming
        .header("content-type")
        .is_none_or(|kind| kind.contains("json"));
    if is_json {
        match serde_json::from_slice::<Value>(&incoming.body) {
            Ok(Value::Object(body)) => params.extend(body),
            _ => {
                return Err(message(
                    400,
                    "400 Bad request - JSON body could not be parsed",
                ));
            }
        }
    } else {
        let text = String::from_utf8_lossy(&incoming.body);
        for pair in text.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            params.insert(decode(key), Value::String(decode(value)));
        }
    }
    Ok(params)
}

/// Pages a list as GitLab does (docs rest/index.md "Pagination"): `per_page` (default 20, at most
/// 100) and `page`, with `x-page`, `x-per-page`, `x-total`, `x-total-pages`, `x-next-page`,
/// `x-prev-page` and a `Link` header.
fn paginate(call: &Call<'_>, items: Vec<Value>) -> Reply {
    let number = |key: &str, default: usize| {
        call.param(key)
            .and_then(|value| value.parse::<usize>().ok())
            .unwrap_or(default)
    };
    let per_page = number("per_page", 20).clamp(1, 100);
    let page = number("page", 1).max(1);
    let pages = items.len().div_ceil(per_page).max(1);
    let slice: Vec<Value> = items
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .cloned()
        .collect();
    let mut reply = Reply::json(200, &Value::Array(slice));
    let kept: Vec<&str> = call
        .incoming
        .query
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.starts_with("page="))
        .collect();
    let link_to = |target: usize| {
        let mut query = kept.join("&");
        if !query.is_empty() {
            query.push('&');
        }
        format!(
            "<{}{}?{query}page={target}>",
            call.shared.base_url, call.incoming.path
        )
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", link_to(page - 1)));
    }
    if page < pages {
        links.push(format!("{}; rel=\"next\"", link_to(page + 1)));
    }
    links.push(format!("{}; rel=\"first\"", link_to(1)));
    links.push(format!("{}; rel=\"last\"", link_to(pages)));
    let next = if page < pages {
        (page + 1).to_string()
    } else {
        String::new()
    };
    let prev = if page > 1 {
        (page - 1).to_string()
    } else {
        String::new()
    };
    for (name, value) in [
        ("x-page", page.to_string()),
        ("x-per-page", per_page.to_string()),
        ("x-total", items.len().to_string()),
        ("x-total-pages", pages.to_string()),
        ("x-next-page", next),
        ("x-prev-page", prev),
        ("link", links.join(", ")),
    ] {
        reply.set_header(name, &value);
    }
    reply
}

/// A user as GitLab shows it in `author`, `merged_by` and the like.
fn user(call: &Call<'_>, user: &User) -> Value {
    json!({
        "id": user.id,
        "username": user.login,
        "name": user.login,
        "state": "active",
        "locked": false,
        "avatar_url": null,
        "web_url": format!("{}/{}", call.web(), user.login)
    })
}

/// GitLab's timestamps carry milliseconds (`2016-01-19T09:05:50.355Z`).
fn timestamp(seconds: i64) -> String {
    let text = timestamp_of(seconds);
    match text.strip_suffix('Z') {
        Some(body) => format!("{body}.000Z"),
        None => text,
    }
}

/// Grape's message for absent required parameters: "source_branch is missing, title is missing".
fn missing(call: &Call<'_>, keys: &[&str]) -> Option<String> {
    let absent: Vec<String> = keys
        .iter()
        .filter(|key| call.param(key).is_none())
        .map(|key| format!("{key} is missing"))
        .collect();
    (!absent.is_empty()).then(|| absent.join(", "))
}
