//! Azure DevOps commit statuses (Statuses - List, Statuses - Create): append-only `GitStatus`
//! records with `context.name` and `context.genre`, listed newest first, `latestOnly=true` keeping
//! the newest per genre and name, `top`/`skip` paging. States are translated between Azure
//! DevOps' words and the store's (GitHub's) vocabulary here.

use serde_json::{Value, json};

use super::{Answer, Call, body_object, invalid, list_reply, page, string_field, timestamp};
use crate::server::Reply;
use crate::store::{StatusRecord, now};

/// The store's state for a `GitStatusState`.
fn to_store(state: &str) -> Option<&'static str> {
    match state {
        "succeeded" | "notApplicable" => Some("success"),
        "failed" => Some("failure"),
        "error" => Some("error"),
        "pending" | "notSet" => Some("pending"),
        _ => None,
    }
}

/// Azure DevOps' word for a store state.
fn to_azure(state: &str) -> &'static str {
    match state {
        "success" => "succeeded",
        "failure" => "failed",
        "error" => "error",
        _ => "pending",
    }
}

/// The full SHA of `sha` in the repository (a 404 for an unknown commit).
fn resolve(call: &Call<'_>, sha: &str) -> Result<String, Reply> {
    let not_found = || {
        super::error(
            404,
            &format!(
                "TF401175:The version descriptor <Commit: {sha}> could not be resolved to a version in the repository {}",
                call.repository
            ),
            "GitUnresolvableToCommitException",
        )
    };
    call.store()
        .resolve(&call.full_name, sha)
        .map_err(|_| not_found())?
        .ok_or_else(not_found)
}

fn render(call: &Call<'_>, status: &StatusRecord, genre: Option<&String>) -> Value {
    let mut context = json!({"name": status.context});
    if let Some(genre) = genre {
        context["genre"] = json!(genre);
    }
    let mut value = json!({
        "id": status.id,
        "state": to_azure(&status.state),
        "description": status.description.clone().unwrap_or_default(),
        "context": context,
        "creationDate": timestamp(status.created_at),
        "updatedDate": timestamp(status.created_at),
        "createdBy": call.identity(&status.creator),
    });
    if let Some(url) = &status.target_url {
        value["targetUrl"] = json!(url);
    }
    value
}

/// Statuses - List: newest first; `latestOnly=true` keeps the newest per genre and name.
pub(super) fn list(call: &Call<'_>, sha: &str) -> Answer {
    let sha = resolve(call, sha)?;
    let all = call.store().statuses(&call.full_name, &sha);
    let latest_only = call
        .incoming
        .params()
        .get("latestOnly")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let genres = call.state().genres.clone();
    let mut seen: Vec<(Option<String>, String)> = Vec::new();
    let kept: Vec<StatusRecord> = all
        .into_iter()
        .filter(|status| {
            if !latest_only {
                return true;
            }
            let key = (genres.get(&status.id).cloned(), status.context.clone());
            if seen.contains(&key) {
                return false;
            }
            seen.push(key);
            true
        })
        .collect();
    let items = page(call, &kept, "", 1000)
        .iter()
        .map(|status| render(call, status, genres.get(&status.id)))
        .collect();
    Ok(list_reply(items))
}

/// Statuses - Create: `state`, `description`, `targetUrl`, `context` (`name` required, `genre`).
pub(super) fn create(call: &Call<'_>, sha: &str) -> Answer {
    let sha = resolve(call, sha)?;
    let body = body_object(call)?;
    let raw_state = string_field(&body, "state")?.unwrap_or_else(|| "notSet".to_owned());
    let state = to_store(&raw_state)
        .ok_or_else(|| invalid(&format!("Invalid value `{raw_state}` for state.")))?;
    let context = body.get("context").and_then(Value::as_object);
    let name = context
        .and_then(|c| c.get("name"))
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| invalid("Value cannot be null.\r\nParameter name: status.Context.Name"))?
        .to_owned();
    let genre = context
        .and_then(|c| c.get("genre"))
        .and_then(Value::as_str)
        .filter(|g| !g.is_empty())
        .map(str::to_owned);
    let record = StatusRecord {
        id: 0,
        sha,
        state: state.to_owned(),
        context: name,
        description: string_field(&body, "description")?,
        target_url: string_field(&body, "targetUrl")?,
        creator: call.caller.login.clone(),
        created_at: now(),
    };
    let stored = call
        .store()
        .add_status(&call.full_name, record)
        .map_err(|e| super::error(500, &e.to_string(), "Exception"))?;
    if let Some(genre) = &genre {
        call.state().genres.insert(stored.id, genre.clone());
    }
    Ok(Reply::json(201, &render(call, &stored, genre.as_ref())))
}
