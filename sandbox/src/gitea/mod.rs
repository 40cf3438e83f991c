//! The Gitea/Forgejo REST v1 dialect of the sandbox, served under `/api/v1` over the same store as
//! the GitHub dialect (same repositories, pull requests and statuses): Gitea's credentials
//! (`Authorization: token|Bearer`, basic auth), routing, `page`/`limit` paging with `X-Total-Count`
//! and `Link`, and the translation of store answers and [`ForgeError`]s into Gitea's status codes
//! and `{"message", "url"}` bodies (`routers/api/v1/repo/pull.go`, `status.go`). The forge rules
//! live in the store; which product is imitated is a [`GiteaFlavor`].

mod issues;
mod json;
mod pulls;
mod statuses;

use std::sync::MutexGuard;

use base64::Engine;
use serde_json::{Map, Value, json};

use super::server::{Incoming, Reply, Shared, decode, lock};
use super::store::{ForgeError, Store, User};

const API_PREFIX: &str = "/api/v1";
/// Gitea's default `[api] DEFAULT_PAGING_NUM` and `MAX_RESPONSE_ITEMS`.
const DEFAULT_LIMIT: usize = 30;
const MAX_LIMIT: usize = 50;

/// Which product the dialect imitates where Gitea and Forgejo differ for promoter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GiteaFlavor {
    /// A Gitea release (1.22): merge options `Do`, `MergeTitleField`, `MergeMessageField`.
    #[default]
    GiteaRelease,
    /// Gitea main (`v1-swagger.generated.json`): `do`, `merge_title_field`, `merge_message_field`.
    GiteaMain,
    /// Forgejo: Gitea release spellings, and a `+gitea-` version string.
    Forgejo,
}

impl GiteaFlavor {
    /// What `GET /api/v1/version` answers.
    pub fn version(self) -> &'static str {
        match self {
            GiteaFlavor::GiteaRelease => "1.22.3",
            GiteaFlavor::GiteaMain => "1.24.0+dev-512-g0123abcd",
            // Forgejo reports its own version with the Gitea version it is compatible with.
            GiteaFlavor::Forgejo => "9.0.3+gitea-1.22.0",
        }
    }

    /// The keys this flavor decodes the merge title and message from.
    fn merge_text_keys(self) -> (&'static str, &'static str) {
        match self {
            GiteaFlavor::GiteaRelease | GiteaFlavor::Forgejo => {
                ("MergeTitleField", "MergeMessageField")
            }
            GiteaFlavor::GiteaMain => ("merge_title_field", "merge_message_field"),
        }
    }
}

pub(crate) fn is_api_path(path: &str) -> bool {
    path == API_PREFIX || path.starts_with("/api/v1/")
}

/// A request that passed Gitea's gate.
pub(crate) struct Call<'a> {
    pub shared: &'a Shared,
    pub incoming: &'a Incoming,
    pub caller: User,
    pub flavor: GiteaFlavor,
}

impl Call<'_> {
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.shared.store)
    }

    /// `<base>/api/v1`.
    pub(crate) fn api(&self) -> String {
        format!("{}{API_PREFIX}", self.shared.base_url)
    }

    pub(crate) fn web(&self) -> &str {
        &self.shared.base_url
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
        .map(str::to_owned)
        .collect();
    let flavor = *lock(&shared.gitea_flavor);
    let words: Vec<&str> = segments.iter().map(String::as_str).collect();
    // swagger getVersion: public, `{"version": "…"}`.
    if let ["version"] = words.as_slice() {
        return if incoming.method == "GET" {
            Reply::json(200, &json!({"version": flavor.version()}))
        } else {
            not_found(shared)
        };
    }
    let authenticated = caller.is_some();
    let call = Call {
        shared,
        incoming,
        caller: caller.unwrap_or(User {
            id: 0,
            login: String::new(),
            kind: super::store::UserKind::User,
        }),
        flavor,
    };
    match route(&call, authenticated, &words) {
        Ok(reply) | Err(reply) => reply,
    }
}

/// `Ok(None)` = anonymous; `Err` = 401 for a token the forge does not know.
fn authenticate(shared: &Shared, incoming: &Incoming) -> Result<Option<User>, Box<Reply>> {
    let Some(header) = incoming.header("authorization") else {
        return Ok(None);
    };
    token_of(header)
        .and_then(|token| lock(&shared.store).token_owner(&token))
        .map(Some)
        // Gitea's API auth middleware: an unknown token is 401 (never a hint of which part failed).
        .ok_or_else(|| Box::new(error(shared, 401, "user does not exist [uid: 0, name: ]")))
}

/// Gitea API docs "Authentication": `token <t>`, `Bearer <t>`, or basic auth with the token (or
/// a password) as the password.
fn token_of(header: &str) -> Option<String> {
    let (scheme, value) = header.trim().split_once(' ')?;
    match scheme.to_ascii_lowercase().as_str() {
        "bearer" | "token" => Some(value.trim().to_owned()),
        "basic" => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(value.trim())
                .ok()?;
            let text = String::from_utf8(decoded).ok()?;
            text.split_once(':')
                .map(|(_, password)| password.to_owned())
        }
        _ => None,
    }
}

type Answer = Result<Reply, Reply>;

fn route(call: &Call<'_>, authenticated: bool, words: &[&str]) -> Answer {
    let method = call.incoming.method.as_str();
    let ["repos", owner, name, rest @ ..] = words else {
        return Err(not_found(call.shared));
    };
    let full_name = format!("{}/{}", decode(owner), decode(name));
    // Sandbox repositories are private: Gitea answers 404 to anyone who cannot see them.
    if !authenticated || call.store().repo(&full_name).is_err() {
        return Err(not_found(call.shared));
    }
    let number = |text: &str| text.parse::<u64>().map_err(|_| not_found(call.shared));
    match (method, rest) {
        ("GET", []) => pulls::get_repo(call, &full_name),
        ("GET", ["pulls"]) => pulls::list(call, &full_name),
        ("POST", ["pulls"]) => pulls::create(call, &full_name),
        ("GET", ["pulls", index]) => pulls::get(call, &full_name, number(index)?),
        ("PATCH", ["pulls", index]) => pulls::update(call, &full_name, number(index)?),
        ("POST", ["pulls", index, "merge"]) => pulls::merge(call, &full_name, number(index)?),
        ("GET", ["pulls", index, "merge"]) => pulls::is_merged(call, &full_name, number(index)?),
        ("GET", ["issues"]) => issues::list(call, &full_name),
        ("POST", ["issues"]) => issues::create(call, &full_name),
        ("GET", ["issues", index]) => issues::get(call, &full_name, number(index)?),
        ("PATCH", ["issues", index]) => issues::update(call, &full_name, number(index)?),
        ("POST", ["statuses", sha]) => statuses::create(call, &full_name, &decode(sha)),
        // swagger repoListStatuses (`/statuses/{sha}`) and repoListStatusesByRef.
        ("GET", ["statuses", sha]) => statuses::list(call, &full_name, &decode(sha)),
        ("GET", ["commits", reference @ .., "statuses"]) if !reference.is_empty() => {
            statuses::list(call, &full_name, &decode(&reference.join("/")))
        }
        ("GET", ["commits", reference @ .., "status"]) if !reference.is_empty() => {
            statuses::combined(call, &full_name, &decode(&reference.join("/")))
        }
        _ => Err(not_found(call.shared)),
    }
}

/// `APIError`: `{"message", "url"}` with the swagger URL (Gitea `context.APIContext.Error`).
pub(crate) fn error(shared: &Shared, status: u16, message: &str) -> Reply {
    Reply::json(
        status,
        &json!({"message": message, "url": format!("{}/api/swagger", shared.base_url)}),
    )
}

/// `APINotFound`: `{"errors", "message": "not found", "url"}`.
fn not_found(shared: &Shared) -> Reply {
    Reply::json(
        404,
        &json!({"errors": [], "message": "not found", "url": format!("{}/api/swagger", shared.base_url)}),
    )
}

/// Gitea's answer to each refusal of the store that is not answered at the call site.
fn forge_error(shared: &Shared, refusal: ForgeError) -> Reply {
    match refusal {
        ForgeError::NotFound => not_found(shared),
        ForgeError::MissingBranch { .. } => not_found(shared),
        ForgeError::Invalid { field, message } => {
            error(shared, 422, &format!("[{field}]: {message}"))
        }
        ForgeError::Other(cause) => error(shared, 500, &format!("{cause:#}")),
        other => error(shared, 422, &other.to_string()),
    }
}

/// The request body as a JSON object (empty = `{}`); Gitea's binding answers 422 otherwise.
fn body_object(call: &Call<'_>) -> Result<Map<String, Value>, Reply> {
    let body = &call.incoming.body;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(error(call.shared, 422, "invalid JSON body")),
    }
}

/// A string field as Go's `encoding/json` finds it for a struct field whose JSON name is `key`:
/// the exact key, else a key equal to it ignoring case — never one spelled with other
/// underscores. Another JSON type is a 422.
fn go_string(
    call: &Call<'_>,
    body: &Map<String, Value>,
    key: &str,
) -> Result<Option<String>, Reply> {
    let found = body.get(key).or_else(|| {
        body.iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| value)
    });
    match found {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(error(
            call.shared,
            422,
            &format!("[{key}]: cannot unmarshal {other} into a string"),
        )),
    }
}

/// Pages a list as Gitea does: `limit` (default 30, at most 50) and `page` (from 1), with
/// `X-Total-Count` and a `Link` header naming next/last/first/prev (`context.SetLinkHeader`).
fn paginate<T: Clone>(call: &Call<'_>, items: &[T]) -> (Vec<T>, Vec<(String, String)>) {
    let params = call.incoming.params();
    let limit = params
        .get("limit")
        .and_then(|value| value.parse::<usize>().ok())
        .filter(|limit| *limit > 0)
        .unwrap_or(DEFAULT_LIMIT)
        .min(MAX_LIMIT);
    let page = params
        .get("page")
        .and_then(|value| value.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let slice = items
        .iter()
        .skip((page - 1) * limit)
        .take(limit)
        .cloned()
        .collect();
    let mut headers = vec![("x-total-count".to_owned(), items.len().to_string())];
    let last = items.len().div_ceil(limit).max(1);
    let kept: Vec<&str> = call
        .incoming
        .query
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.starts_with("page="))
        .collect();
    let link_to = |target: usize, rel: &str| {
        let mut query = kept.join("&");
        if !query.is_empty() {
            query.push('&');
        }
        format!(
            "<{}{}?{query}page={target}>; rel=\"{rel}\"",
            call.shared.base_url, call.incoming.path
        )
    };
    let mut links = Vec::new();
    if page < last {
        links.push(link_to(page + 1, "next"));
        links.push(link_to(last, "last"));
    }
    if page > 1 {
        links.push(link_to(1, "first"));
        links.push(link_to(page.min(last + 1) - 1, "prev"));
    }
    if !links.is_empty() {
        headers.push(("link".to_owned(), links.join(",")));
    }
    (slice, headers)
}

fn with_headers(mut reply: Reply, headers: Vec<(String, String)>) -> Reply {
    for (name, value) in headers {
        reply.set_header(&name, &value);
    }
    reply
}
