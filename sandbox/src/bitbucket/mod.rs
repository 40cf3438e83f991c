//! The Bitbucket Cloud REST 2.0 dialect of the sandbox, served under `/2.0` over the same store as
//! the other dialects (same repositories, pull requests, statuses and issues): Bitbucket's
//! credentials (`Authorization: Bearer` access tokens, HTTP Basic `user:app-password`), routing
//! under `/repositories/{workspace}/{repo_slug}`, the paged envelope (`pagelen`, `page`, `next`),
//! BBQL `q` filters, 12-character short hashes in pull requests, and
//! `{"type": "error", "error": {"message"}}` error bodies
//! (<https://developer.atlassian.com/cloud/bitbucket/rest/intro/>). The forge rules live in the
//! store.

mod bbql;
mod commits;
mod issues;
mod pulls;

use std::sync::MutexGuard;

use base64::Engine;
use serde_json::{Map, Value, json};

use super::server::{Incoming, Reply, Shared, decode, lock};
use super::store::{ForgeError, Store, User};

const API_PREFIX: &str = "/2.0";
/// `pagelen` when not asked (intro "Pagination": "the default page length is 10"); the most a
/// list gives depends on the endpoint (50 for pull requests, 100 for statuses).
const DEFAULT_PAGELEN: usize = 10;

pub(crate) fn is_api_path(path: &str) -> bool {
    path == API_PREFIX || path.starts_with("/2.0/")
}

/// A request that passed Bitbucket's gate.
pub(crate) struct Call<'a> {
    pub shared: &'a Shared,
    pub incoming: &'a Incoming,
    pub caller: User,
    /// `workspace/slug`.
    pub full_name: String,
}

impl Call<'_> {
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.shared.store)
    }

    /// `<base>/2.0`.
    pub(crate) fn api(&self) -> String {
        format!("{}{API_PREFIX}", self.shared.base_url)
    }

    /// `<base>/2.0/repositories/{ws}/{slug}`.
    pub(crate) fn repo_api(&self) -> String {
        format!("{}/repositories/{}", self.api(), self.full_name)
    }

    /// The repository's page, `<base>/{ws}/{slug}`.
    pub(crate) fn repo_web(&self) -> String {
        format!("{}/{}", self.shared.base_url, self.full_name)
    }
}

pub(crate) fn answer(shared: &Shared, incoming: &Incoming) -> Reply {
    let caller = match authenticate(shared, incoming) {
        Ok(caller) => caller,
        Err(reply) => return *reply,
    };
    let segments: Vec<String> = incoming.path[API_PREFIX.len()..]
        .split('/')
        .filter(|segment| !segment.is_empty())
        .map(decode)
        .collect();
    let words: Vec<&str> = segments.iter().map(String::as_str).collect();
    let ["repositories", workspace, slug, rest @ ..] = words.as_slice() else {
        return error(404, "Resource not found");
    };
    let full_name = format!("{workspace}/{slug}");
    // Private repositories answer 404 to callers who cannot see them (no hint that they exist).
    let Some(caller) = caller else {
        return error(404, &format!("Repository {full_name} not found"));
    };
    if lock(&shared.store).repo(&full_name).is_err() {
        return error(404, &format!("Repository {full_name} not found"));
    }
    let call = Call {
        shared,
        incoming,
        caller,
        full_name,
    };
    match route(&call, rest) {
        Ok(reply) | Err(reply) => reply,
    }
}

/// Access tokens are `Bearer`; app passwords and API tokens are Basic with the user's name
/// (intro "Authentication methods"). `Ok(None)` = anonymous; an unknown credential is a 401.
fn authenticate(shared: &Shared, incoming: &Incoming) -> Result<Option<User>, Box<Reply>> {
    let Some(header) = incoming.header("authorization") else {
        return Ok(None);
    };
    let refused = || Box::new(error(401, "Access token expired or invalid"));
    let (scheme, value) = header.trim().split_once(' ').ok_or_else(refused)?;
    let store = lock(&shared.store);
    match scheme.to_ascii_lowercase().as_str() {
        "bearer" => store
            .token_owner(value.trim())
            .map(Some)
            .ok_or_else(refused),
        "basic" => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(value.trim())
                .map_err(|_| refused())?;
            let text = String::from_utf8(decoded).map_err(|_| refused())?;
            let (user, password) = text.split_once(':').ok_or_else(refused)?;
            // The password belongs to one account: the user name must be that account's.
            match store.token_owner(password) {
                Some(owner) if owner.login == user => Ok(Some(owner)),
                _ => Err(refused()),
            }
        }
        _ => Err(refused()),
    }
}

type Answer = Result<Reply, Reply>;

fn route(call: &Call<'_>, rest: &[&str]) -> Answer {
    let method = call.incoming.method.as_str();
    let number = |text: &str| {
        text.parse::<u64>()
            .map_err(|_| error(404, &format!("No pull request with id {text}")))
    };
    match (method, rest) {
        ("GET", ["pullrequests"]) => pulls::list(call),
        ("POST", ["pullrequests"]) => pulls::create(call),
        ("GET", ["pullrequests", id]) => pulls::get(call, number(id)?),
        ("PUT", ["pullrequests", id]) => pulls::update(call, number(id)?),
        ("POST", ["pullrequests", id, "merge"]) => pulls::merge(call, number(id)?),
        ("GET", ["pullrequests", id, "merge", "task-status", task]) => {
            pulls::task_status(call, number(id)?, task)
        }
        ("GET", ["commit", hash]) => commits::get(call, hash),
        ("GET", ["commit", hash, "statuses"]) => commits::list_statuses(call, hash),
        ("POST", ["commit", hash, "statuses", "build"]) => commits::create_status(call, hash),
        ("GET", ["issues"]) => issues::list(call),
        ("POST", ["issues"]) => issues::create(call),
        ("GET", ["issues", id]) => issues::get(call, number(id)?),
        ("PUT", ["issues", id]) => issues::update(call, number(id)?),
        _ => Err(error(404, "Resource not found")),
    }
}

/// The standardized error body (intro "Standardized error responses").
pub(crate) fn error(status: u16, message: &str) -> Reply {
    Reply::json(
        status,
        &json!({"type": "error", "error": {"message": message}}),
    )
}

/// A 400 naming the field, as the observed "title: This field is required." answer does.
fn field_error(field: &str, problem: &str) -> Reply {
    Reply::json(
        400,
        &json!({"type": "error", "error": {
            "message": format!("{field}: {problem}"),
            "fields": {field: [problem]}
        }}),
    )
}

/// Bitbucket's answer to each store refusal not answered at the call site.
fn forge_error(refusal: ForgeError) -> Reply {
    match refusal {
        ForgeError::NotFound => error(404, "Resource not found"),
        ForgeError::MissingBranch { field } => error(400, &format!("{field}: branch not found")),
        ForgeError::Invalid { field, message } => field_error(&field, &message),
        ForgeError::Other(cause) => error(500, &format!("{cause:#}")),
        other => error(400, &other.to_string()),
    }
}

/// The request body as a JSON object (empty = `{}`).
fn body_object(call: &Call<'_>) -> Result<Map<String, Value>, Reply> {
    let body = &call.incoming.body;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(error(400, "Malformed JSON body")),
    }
}

/// A string at a dotted path of a body (`source.branch.name`); another JSON type is a 400.
fn string_at(body: &Map<String, Value>, path: &str) -> Result<Option<String>, Reply> {
    let mut parts = path.split('.');
    let first = parts.next().unwrap_or_default();
    let mut value = body.get(first);
    for part in parts {
        value = value.and_then(|v| v.get(part));
    }
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(field_error(path, "must be a string")),
    }
}

/// The paged envelope: `pagelen` (default 10, at most `max`), `page` from 1, `size`, and `next`
/// as a full URL while more pages follow.
fn paged(call: &Call<'_>, items: Vec<Value>, max: usize) -> Reply {
    let params = call.incoming.params();
    let pagelen = params
        .get("pagelen")
        .and_then(|value| value.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_PAGELEN)
        .min(max);
    let page = params
        .get("page")
        .and_then(|value| value.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let size = items.len();
    let values: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * pagelen)
        .take(pagelen)
        .collect();
    let mut envelope = json!({
        "size": size,
        "page": page,
        "pagelen": pagelen,
        "values": values,
    });
    if page * pagelen < size {
        let kept: Vec<&str> = call
            .incoming
            .query
            .split('&')
            .filter(|pair| !pair.is_empty() && !pair.starts_with("page="))
            .collect();
        let mut query = kept.join("&");
        if !query.is_empty() {
            query.push('&');
        }
        envelope["next"] = json!(format!(
            "{}{}?{query}page={}",
            call.shared.base_url,
            call.incoming.path,
            page + 1
        ));
    }
    Reply::json(200, &envelope)
}

/// The BBQL filter of `q`, if any; a query that does not parse is a 400.
fn filter(call: &Call<'_>) -> Result<Option<bbql::Query>, Reply> {
    match call.incoming.params().get("q") {
        None => Ok(None),
        Some(text) if text.trim().is_empty() => Ok(None),
        Some(text) => bbql::Query::parse(text)
            .map(Some)
            .map_err(|e| error(400, &format!("Invalid query: {e}"))),
    }
}

/// `{display_name, nickname, type, uuid}`: a user as Bitbucket shows one.
fn user_json(user: &User) -> Value {
    json!({
        "type": "user",
        "display_name": user.login,
        "nickname": user.login,
        "uuid": format!("{{00000000-0000-0000-0000-{:012}}}", user.id),
    })
}

/// RFC 3339 of epoch seconds, as Bitbucket's `created_on`/`updated_on` (microseconds, +00:00).
fn timestamp(seconds: i64) -> String {
    let time = time::OffsetDateTime::from_unix_timestamp(seconds)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000000+00:00",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute(),
        time.second()
    )
}
