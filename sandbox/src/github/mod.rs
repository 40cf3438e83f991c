//! The GitHub REST v3 dialect of the sandbox, served under `/api/v3` as on GitHub Enterprise Server:
//! GitHub's request rules (User-Agent, credentials, rate-limit headers, JSON errors), routing, and
//! the translation of store answers and [`ForgeError`]s into GitHub's status codes and bodies.
//! The forge rules themselves live in the store.

mod apps;
mod commits;
mod graphql;
mod issues;
mod json;
mod pulls;

use std::sync::MutexGuard;

use base64::Engine;
use serde_json::{Map, Value, json};

use super::server::{Incoming, Reply, Shared, decode, lock};
use super::store::{ForgeError, MergeMethod, Store, User, now};

pub(crate) use apps::pkcs1_public_key;
pub(crate) use json::{Urls, timestamp as timestamp_of};

const API_PREFIX: &str = "/api/v3";
const DOCS: &str = "https://docs.github.com/rest";

/// GitHub Enterprise Server's GraphQL endpoint beside the REST root (docs "Forming calls with
/// GraphQL": `http(s)://HOSTNAME/api/graphql`).
const GRAPHQL_PATH: &str = "/api/graphql";

pub(crate) fn is_api_path(path: &str) -> bool {
    path == API_PREFIX || path.starts_with("/api/v3/") || path == GRAPHQL_PATH
}

/// A request that passed GitHub's gate: who is calling, and the decoded path segments.
pub(crate) struct Call<'a> {
    pub shared: &'a Shared,
    pub incoming: &'a Incoming,
    pub caller: User,
    pub urls: Urls,
}

impl Call<'_> {
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.shared.store)
    }
}

pub(crate) fn answer(shared: &Shared, incoming: &Incoming) -> Reply {
    // GitHub: "Requests with no User-Agent header will be rejected" (docs "Getting started with
    // the REST API", User-Agent required) — a 403 with a plain-text body.
    if incoming
        .header("user-agent")
        .is_none_or(|agent| agent.trim().is_empty())
    {
        let mut reply = Reply::text(
            403,
            "Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required).\n",
        );
        add_rate_headers(shared, incoming, &mut reply);
        return reply;
    }
    // The App endpoints authenticate with a JWT instead of a token.
    if let Some(mut reply) = apps::answer(shared, incoming) {
        add_rate_headers(shared, incoming, &mut reply);
        return reply;
    }
    let caller = match authenticate(shared, incoming) {
        Ok(caller) => caller,
        Err(reply) => {
            let mut reply = *reply;
            add_rate_headers(shared, incoming, &mut reply);
            return reply;
        }
    };
    let call = Call {
        shared,
        incoming,
        caller: caller.clone().unwrap_or(User {
            id: 0,
            login: String::new(),
            kind: super::store::UserKind::User,
        }),
        urls: Urls {
            api: shared.api_url(),
            web: shared.base_url.clone(),
        },
    };
    if incoming.path == GRAPHQL_PATH {
        let mut reply = graphql::answer(&call, caller.is_some());
        add_rate_headers(shared, incoming, &mut reply);
        return reply;
    }
    let segments: Vec<String> = incoming.path[API_PREFIX.len()..]
        .split('/')
        .filter(|segment| !segment.is_empty())
        .map(str::to_owned)
        .collect();
    let mut reply = match route(&call, caller.is_some(), &segments) {
        Ok(reply) | Err(reply) => reply,
    };
    conditional(incoming, &mut reply);
    add_rate_headers(shared, incoming, &mut reply);
    reply
}

/// `ETag` on every 200 answer to a GET, and `304 Not Modified` (empty body, same `ETag`) when the
/// request's `If-None-Match` names it: docs "Best practices for using the REST API" → "Use
/// conditional requests if appropriate"
/// (https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#use-conditional-requests-if-appropriate).
/// The tag is a weak hash of the body, as GitHub's `W/"…"` tags are; a 304 does not count
/// against the rate limit ([`add_rate_headers`]).
fn conditional(incoming: &Incoming, reply: &mut Reply) {
    if incoming.method != "GET" || reply.status != 200 {
        return;
    }
    let tag = format!("W/\"{:016x}\"", fnv1a(&reply.body));
    let matches = incoming.header("if-none-match").is_some_and(|header| {
        header
            .split(',')
            .any(|candidate| candidate.trim() == tag || candidate.trim() == "*")
    });
    reply.set_header("etag", &tag);
    if matches {
        reply.status = 304;
        reply.body.clear();
    }
}

/// FNV-1a, 64 bits.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `Ok(None)` = anonymous; `Err` = 401 "Bad credentials" for any token the forge does not know.
fn authenticate(shared: &Shared, incoming: &Incoming) -> Result<Option<User>, Box<Reply>> {
    let Some(header) = incoming.header("authorization") else {
        return Ok(None);
    };
    let token = token_of(header);
    token
        .and_then(|token| lock(&shared.store).token_owner(&token))
        .map(Some)
        .ok_or_else(|| Box::new(error(401, "Bad credentials")))
}

/// Who a request's credential names, for the request log: the token's (or basic-auth password's)
/// login, `app <id> (JWT)` for an app JWT (as claimed, verified or not), `None` when anonymous or
/// unknown. Never the credential itself.
pub(crate) fn caller_of(shared: &Shared, incoming: &Incoming) -> Option<String> {
    // GitLab's dialect also takes the token in `PRIVATE-TOKEN`.
    let token = match incoming.header("private-token") {
        Some(token) => token.trim().to_owned(),
        None => token_of(incoming.header("authorization")?)?,
    };
    if apps::is_jwt(&token) {
        return apps::claimed_issuer(&token).map(|iss| format!("app {iss} (JWT)"));
    }
    lock(&shared.store)
        .token_owner(&token)
        .map(|user| user.login)
}

/// GitHub takes `Bearer <token>`, `token <token>`, or basic auth with the token as password.
pub(crate) fn token_of(header: &str) -> Option<String> {
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

/// `x-ratelimit-*` on every answer (docs "Rate limits for the REST API"): 5000 an hour for a
/// token, 60 for anonymous callers. `/rate_limit` itself does not count.
pub(crate) fn add_rate_headers(shared: &Shared, incoming: &Incoming, reply: &mut Reply) {
    let owner = incoming
        .header("authorization")
        .and_then(token_of)
        .and_then(|token| lock(&shared.store).token_owner(&token))
        .map(|user| user.login);
    let limit: u64 = if owner.is_some() { 5000 } else { 60 };
    // A 304 to a conditional request does not count (docs "Best practices for using the REST
    // API" → "Use conditional requests if appropriate").
    let counts = !incoming.path.ends_with("/rate_limit") && reply.status != 304;
    let used = {
        let mut used = lock(&shared.rate_used);
        let entry = used.entry(owner.unwrap_or_default()).or_insert(0);
        if counts {
            *entry += 1;
        }
        *entry
    };
    for (name, value) in [
        ("x-ratelimit-limit", limit.to_string()),
        (
            "x-ratelimit-remaining",
            limit.saturating_sub(used).to_string(),
        ),
        ("x-ratelimit-used", used.to_string()),
        ("x-ratelimit-reset", shared.rate_reset.to_string()),
        ("x-ratelimit-resource", "core".to_owned()),
        ("x-github-api-version-selected", "2022-11-28".to_owned()),
    ] {
        if !reply.headers.iter().any(|(key, _)| key == name) {
            reply.headers.push((name.to_owned(), value));
        }
    }
}

type Answer = Result<Reply, Reply>;

fn route(call: &Call<'_>, authenticated: bool, segments: &[String]) -> Answer {
    let method = call.incoming.method.as_str();
    let words: Vec<&str> = segments.iter().map(String::as_str).collect();
    if let ["rate_limit"] = words.as_slice() {
        return if method == "GET" {
            Ok(rate_limit(call))
        } else {
            Err(not_found())
        };
    }
    let ["repos", owner, name, rest @ ..] = words.as_slice() else {
        return Err(not_found());
    };
    let full_name = format!("{}/{}", decode(owner), decode(name));
    // Sandbox repositories are private: GitHub answers 404, not 401, to anonymous callers.
    if !authenticated || call.store().repo(&full_name).is_err() {
        return Err(not_found());
    }
    match (method, rest) {
        ("GET", []) => commits::get_repo(call, &full_name),
        ("GET", ["pulls"]) => pulls::list(call, &full_name),
        ("POST", ["pulls"]) => pulls::create(call, &full_name),
        ("GET", ["pulls", number]) => pulls::get(call, &full_name, parse_number(number)?),
        ("PATCH", ["pulls", number]) => pulls::update(call, &full_name, parse_number(number)?),
        ("PUT", ["pulls", number, "merge"]) => {
            pulls::merge(call, &full_name, parse_number(number)?)
        }
        ("GET", ["pulls", number, "merge"]) => {
            pulls::is_merged(call, &full_name, parse_number(number)?)
        }
        ("GET", ["issues"]) => issues::list(call, &full_name),
        ("POST", ["issues"]) => issues::create(call, &full_name),
        ("GET", ["issues", number]) => issues::get(call, &full_name, parse_number(number)?),
        ("PATCH", ["issues", number]) => issues::update(call, &full_name, parse_number(number)?),
        ("POST", ["statuses", sha]) => commits::create_status(call, &full_name, &decode(sha)),
        ("POST", ["check-runs"]) => commits::create_check_run(call, &full_name),
        ("GET", ["branches", branch @ ..]) if !branch.is_empty() => {
            commits::get_branch(call, &full_name, &decode(&branch.join("/")))
        }
        ("GET", ["commits", reference @ .., last]) if !reference.is_empty() => {
            let reference = decode(&reference.join("/"));
            match *last {
                "statuses" => commits::list_statuses(call, &full_name, &reference),
                "status" => commits::combined_status(call, &full_name, &reference),
                "check-runs" => commits::list_check_runs(call, &full_name, &reference),
                _ => Err(not_found()),
            }
        }
        _ => Err(not_found()),
    }
}

fn parse_number(text: &str) -> Result<u64, Reply> {
    text.parse().map_err(|_| not_found())
}

fn rate_limit(call: &Call<'_>) -> Reply {
    let limit: u64 = if call.caller.login.is_empty() {
        60
    } else {
        5000
    };
    let used = lock(&call.shared.rate_used)
        .get(&call.caller.login)
        .copied()
        .unwrap_or(0);
    let core = json!({
        "limit": limit,
        "used": used,
        "remaining": limit.saturating_sub(used),
        "reset": call.shared.rate_reset,
        "resource": "core"
    });
    Reply::json(200, &json!({"resources": {"core": core}, "rate": core}))
}

/// `basic-error`: `{"message", "documentation_url", "status"}`.
pub(crate) fn error(status: u16, message: &str) -> Reply {
    Reply::json(
        status,
        &json!({"message": message, "documentation_url": DOCS, "status": status.to_string()}),
    )
}

fn not_found() -> Reply {
    error(404, "Not Found")
}

/// `validation-error` (422) with one entry in `errors`.
fn validation(entry: Value) -> Reply {
    Reply::json(
        422,
        &json!({"message": "Validation Failed", "errors": [entry], "documentation_url": DOCS, "status": "422"}),
    )
}

/// GitHub's answer to each refusal of the store.
fn forge_error(error_value: ForgeError) -> Reply {
    match error_value {
        ForgeError::NotFound => not_found(),
        // Observed body of pulls/create when an open PR with this head and base exists.
        ForgeError::PullExists { head_label } => validation(json!({
            "resource": "PullRequest", "code": "custom",
            "message": format!("A pull request already exists for {head_label}.")
        })),
        ForgeError::NoCommits { base, head } => validation(json!({
            "resource": "PullRequest", "code": "custom",
            "message": format!("No commits between {base} and {head}")
        })),
        ForgeError::MissingBranch { field } => validation(json!({
            "resource": "PullRequest", "field": field, "code": "invalid"
        })),
        ForgeError::Invalid { field, message } => validation(json!({
            "resource": "PullRequest", "field": field, "code": "invalid", "message": message
        })),
        // pulls/merge 409: "sha was provided and pull request head did not match".
        ForgeError::HeadMoved => error(
            409,
            "Head branch was modified. Review and try the merge again.",
        ),
        // pulls/merge 405 (observed message when the base moved during the merge).
        ForgeError::BaseMoved => error(
            405,
            "Base branch was modified. Review and try the merge again.",
        ),
        // pulls/merge 405 "merge cannot be performed".
        ForgeError::NotMergeable => error(405, "Pull Request is not mergeable"),
        // pulls/merge 405 when the repository disallows the method (observed messages).
        ForgeError::MethodNotAllowed(method) => error(
            405,
            match method {
                MergeMethod::Merge => "Merge commits are not allowed on this repository.",
                MergeMethod::Squash => "Squash merges are not allowed on this repository.",
                MergeMethod::Rebase => "Rebase merges are not allowed on this repository.",
            },
        ),
        ForgeError::Other(cause) => error(500, &format!("Server Error: {cause:#}")),
    }
}

/// The request body as a JSON object; an empty body is an empty object. GitHub answers 400
/// "Problems parsing JSON" to a body that is not JSON.
fn body_object(incoming: &Incoming) -> Result<Map<String, Value>, Reply> {
    if incoming.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&incoming.body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(error(
            422,
            "Invalid request.\n\nThe body must be a JSON object.",
        )),
        Err(_) => Err(error(400, "Problems parsing JSON")),
    }
}

/// An optional string field; another JSON type is GitHub's 422 "Invalid request".
fn string_field(body: &Map<String, Value>, key: &str) -> Result<Option<String>, Reply> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(error(
            422,
            &format!("Invalid request.\n\nFor 'properties/{key}', {other} is not a string."),
        )),
    }
}

/// Pages a list as GitHub does: `per_page` (default 30, at most 100) and `page` (from 1), with a
/// `Link` header naming prev/next/last/first (docs "Using pagination in the REST API").
fn paginate<T: Clone>(call: &Call<'_>, items: &[T]) -> (Vec<T>, Option<String>) {
    let params = call.incoming.params();
    let per_page = params
        .get("per_page")
        .and_then(|value| value.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page = params
        .get("page")
        .and_then(|value| value.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let last = items.len().div_ceil(per_page).max(1);
    let slice = items
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .cloned()
        .collect();
    if last == 1 {
        return (slice, None);
    }
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
        links.push(format!("{}; rel=\"prev\"", link_to(page.min(last + 1) - 1)));
    }
    if page < last {
        links.push(format!("{}; rel=\"next\"", link_to(page + 1)));
        links.push(format!("{}; rel=\"last\"", link_to(last)));
    }
    if page > 1 {
        links.push(format!("{}; rel=\"first\"", link_to(1)));
    }
    (slice, Some(links.join(", ")))
}

fn with_link(mut reply: Reply, link: Option<String>) -> Reply {
    if let Some(link) = link {
        reply.set_header("link", &link);
    }
    reply
}

/// The current time in seconds; one place so the GitHub layer's stamps match the store's.
fn stamp() -> i64 {
    now()
}
