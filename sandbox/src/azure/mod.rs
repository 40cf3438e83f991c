//! The Azure DevOps Services dialect of the sandbox (Azure Repos REST 7.1), served at
//! `<base>/{organization}/{project}/_apis/git/repositories/{repository}/…` over the same store as
//! the other dialects, and git smart HTTP at `<base>/{organization}/{project}/_git/{repository}`.
//! Azure DevOps' request rules: `api-version` required; HTTP Basic (any user, the token as the
//! password) or Bearer; an unknown or missing credential is a 401 when the client sends
//! `X-TFS-FedAuthRedirect: Suppress`, else the 203 HTML sign-in page; errors as
//! `{"$id", "innerException", "message", "typeName", "typeKey", "errorCode", "eventId"}`.
//!
//! What the sandbox models of Azure DevOps and what it simplifies (docs/sandbox.md says it too):
//! - The sandbox is one organization, [`ORGANIZATION`]; a project is a store owner, so
//!   `sandbox/acme/_apis/git/repositories/deploy` is the store's `acme/deploy`.
//! - Statuses keep the store's (GitHub's) vocabulary: `succeeded` ↔ `success`, `failed` ↔
//!   `failure`, `error` ↔ `error`, `pending`/`notSet` → `pending`, `notApplicable` → `success`.
//!   A status's `genre` is kept by this dialect beside the store's record (by its id).
//! - Completion is synchronous unless [`crate::Sandbox::set_azure_queued_reads`] asks the answer
//!   and the next reads to show it still `active` with `completionQueueTime`, as Azure DevOps does
//!   while it merges.
//! - A source with no commit the target lacks is refused (the store's rule); Azure DevOps' REST
//!   API opens such a PR.

mod pulls;
mod statuses;

use std::collections::BTreeMap;
use std::sync::MutexGuard;

use serde_json::{Map, Value, json};

use super::github::timestamp_of;
use super::server::{Incoming, Reply, Shared, decode, lock};
use super::store::{Store, User};

/// The one organization of the sandbox.
pub const ORGANIZATION: &str = "sandbox";

/// Dialect state the store does not keep: genres of statuses, queued completions.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// Status id → its `context.genre`.
    pub genres: BTreeMap<u64, String>,
    /// How many answers after a completion still show the PR `active` (test switch).
    pub queued_reads: usize,
    /// (repository, PR) → answers left that show a completed PR still `active`, and the time the
    /// completion was queued.
    pub queued: BTreeMap<(String, u64), (usize, i64)>,
}

/// `(project, repository, rest)` of `/{ORGANIZATION}/{project}/_apis/git/repositories/{repo}/…`.
pub(crate) fn is_api_path(path: &str) -> bool {
    path.split('/').nth(3) == Some("_apis")
}

/// The smart HTTP path of the store for `/{organization}/{project}/_git/{repo}/…`:
/// `/{project}/{repo}.git/…`.
pub(crate) fn git_path(path: &str) -> Option<String> {
    let mut parts = path.splitn(6, '/');
    let (Some(""), Some(organization), Some(project), Some("_git"), Some(repo), Some(rest)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    (organization == ORGANIZATION && !project.is_empty() && !repo.is_empty())
        .then(|| format!("/{project}/{repo}.git/{rest}"))
}

/// A request that passed Azure DevOps' gate.
pub(crate) struct Call<'a> {
    pub shared: &'a Shared,
    pub incoming: &'a Incoming,
    pub caller: User,
    /// The store's `project/repository`.
    pub full_name: String,
    /// The repository as the URL named it: project and repository names.
    pub project: String,
    pub repository: String,
}

impl Call<'_> {
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.shared.store)
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.shared.azure)
    }

    /// `<base>/{organization}/{project}/_apis/git/repositories/{repository}`.
    pub(crate) fn api_repo(&self) -> String {
        format!(
            "{}/{ORGANIZATION}/{}/_apis/git/repositories/{}",
            self.shared.base_url, self.project, self.repository
        )
    }

    /// `<base>/{organization}/{project}/_git/{repository}`.
    pub(crate) fn web_repo(&self) -> String {
        format!(
            "{}/{ORGANIZATION}/{}/_git/{}",
            self.shared.base_url, self.project, self.repository
        )
    }

    /// An `IdentityRef`.
    pub(crate) fn identity(&self, login: &str) -> Value {
        let user = self.store().user(login);
        json!({
            "id": format!("00000000-0000-0000-0000-{:012}", user.id),
            "displayName": user.login,
            "uniqueName": format!("{}@sandbox.invalid", user.login),
            "url": format!("{}/{ORGANIZATION}/_apis/Identities/{}", self.shared.base_url, user.id),
            "imageUrl": format!("{}/{ORGANIZATION}/_api/_common/identityImage?id={}", self.shared.base_url, user.id),
        })
    }
}

pub(crate) fn answer(shared: &Shared, incoming: &Incoming) -> Reply {
    let caller = match authenticate(shared, incoming) {
        Ok(caller) => caller,
        Err(reply) => return *reply,
    };
    // Every route needs `api-version` ("Versioning": "api-version … must be provided with every
    // request").
    if !incoming.params().contains_key("api-version") {
        return error(
            400,
            &format!(
                "No api-version was supplied for the \"{}\" request. The version must be supplied either as part of the Accept header (e.g. \"application/json; api-version=1.0\") or as a query parameter (e.g. '?api-version=1.0').",
                incoming.method
            ),
            "VssVersionNotSpecifiedException",
        );
    }
    let segments: Vec<String> = incoming
        .path
        .split('/')
        .filter(|segment| !segment.is_empty())
        .map(decode)
        .collect();
    let words: Vec<&str> = segments.iter().map(String::as_str).collect();
    let [
        organization,
        project,
        "_apis",
        "git",
        "repositories",
        repository,
        rest @ ..,
    ] = words.as_slice()
    else {
        return not_found_resource();
    };
    let full_name = format!("{project}/{repository}");
    if *organization != ORGANIZATION || lock(&shared.store).repo(&full_name).is_err() {
        return repository_not_found(repository);
    }
    let call = Call {
        shared,
        incoming,
        caller,
        full_name,
        project: (*project).to_owned(),
        repository: (*repository).to_owned(),
    };
    let number = |text: &str| text.parse::<u64>().map_err(|_| not_found_resource());
    let method = incoming.method.as_str();
    let result = match (method, rest) {
        ("GET", ["pullrequests" | "pullRequests"]) => pulls::list(&call),
        ("POST", ["pullrequests" | "pullRequests"]) => pulls::create(&call),
        ("GET", ["pullrequests" | "pullRequests", id]) => {
            number(id).and_then(|id| pulls::get(&call, id))
        }
        ("PATCH", ["pullrequests" | "pullRequests", id]) => {
            number(id).and_then(|id| pulls::update(&call, id))
        }
        ("GET", ["commits", sha, "statuses"]) => statuses::list(&call, sha),
        ("POST", ["commits", sha, "statuses"]) => statuses::create(&call, sha),
        _ => Err(not_found_resource()),
    };
    match result {
        Ok(reply) | Err(reply) => reply,
    }
}

/// Basic (any user name, the token as the password) or Bearer. No credential or an unknown one:
/// 401 with `X-TFS-FedAuthRedirect: Suppress`, else the 203 sign-in page.
fn authenticate(shared: &Shared, incoming: &Incoming) -> Result<User, Box<Reply>> {
    let token = incoming.header("authorization").and_then(token_of);
    if let Some(user) = token.and_then(|token| lock(&shared.store).token_owner(&token)) {
        return Ok(user);
    }
    let suppress = incoming
        .header("x-tfs-fedauthredirect")
        .is_some_and(|value| value.eq_ignore_ascii_case("suppress"));
    if suppress {
        let mut reply = Reply::text(401, "");
        reply.set_header("www-authenticate", "Basic realm=\"https://dev.azure.com/\"");
        reply.set_header("x-tfs-fedauthredirect", "Suppress");
        return Err(Box::new(reply));
    }
    let mut page = Reply::text(
        203,
        "<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head><body>Sign in to your account</body></html>",
    );
    page.set_header("content-type", "text/html; charset=utf-8");
    Err(Box::new(page))
}

/// Basic (the password) or Bearer; not GitHub's and Gitea's `token` scheme.
fn token_of(header: &str) -> Option<String> {
    let scheme = header.trim().split_once(' ')?.0;
    if scheme.eq_ignore_ascii_case("token") {
        return None;
    }
    super::github::token_of(header)
}

type Answer = Result<Reply, Reply>;

/// Azure DevOps' error envelope (fixture `pull-complete-400-missing-last-merge-source-commit`).
pub(crate) fn error(status: u16, message: &str, type_key: &str) -> Reply {
    Reply::json(
        status,
        &json!({
            "$id": "1",
            "innerException": null,
            "message": message,
            "typeName": format!("Microsoft.TeamFoundation.SourceControl.WebServer.{type_key}, Microsoft.TeamFoundation.SourceControl.WebServer"),
            "typeKey": type_key,
            "errorCode": 0,
            "eventId": 3000,
        }),
    )
}

fn repository_not_found(repository: &str) -> Reply {
    error(
        404,
        &format!(
            "TF401019: The Git repository with name or identifier {repository} does not exist or you do not have permissions for the operation you are attempting."
        ),
        "GitRepositoryNotFoundException",
    )
}

fn not_found_resource() -> Reply {
    error(
        404,
        "The requested resource does not exist.",
        "NotFoundException",
    )
}

/// An invalid argument (`InvalidArgumentValueException`, 400).
pub(crate) fn invalid(message: &str) -> Reply {
    error(400, message, "InvalidArgumentValueException")
}

/// The request body as a JSON object (empty = `{}`).
fn body_object(call: &Call<'_>) -> Result<Map<String, Value>, Reply> {
    let body = &call.incoming.body;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(invalid(
            "Value cannot be null.\r\nParameter name: The request body is empty.",
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(invalid("The request body is not a JSON object.")),
    }
}

/// A string field of a body; another JSON type is a 400.
fn string_field(body: &Map<String, Value>, key: &str) -> Result<Option<String>, Reply> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(invalid(&format!("Invalid value for `{key}`."))),
    }
}

/// `top`/`skip` (`$top`/`$skip` for PRs): the page of `items`.
fn page<T: Clone>(call: &Call<'_>, items: &[T], prefix: &str, default_top: usize) -> Vec<T> {
    let params = call.incoming.params();
    let number = |key: &str| {
        params
            .get(&format!("{prefix}{key}"))
            .and_then(|value| value.parse::<usize>().ok())
    };
    let top = number("top").unwrap_or(default_top);
    let skip = number("skip").unwrap_or(0);
    items.iter().skip(skip).take(top).cloned().collect()
}

/// `{"value": [...], "count": n}`.
fn list_reply(items: Vec<Value>) -> Reply {
    Reply::json(200, &json!({"count": items.len(), "value": items}))
}

/// A timestamp as Azure DevOps writes them (`2016-11-01T16:30:31.6655471Z`).
fn timestamp(seconds: i64) -> String {
    let text = timestamp_of(seconds);
    match text.strip_suffix('Z') {
        Some(body) => format!("{body}.0000000Z"),
        None => text,
    }
}
