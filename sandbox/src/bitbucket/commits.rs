//! Bitbucket commit and commit status endpoints: "Get a commit" (any unambiguous prefix; full
//! hash and parents), "Create a build status for a commit" (`key`, `state`, `url` required; the
//! same key overwrites), "List commit statuses for a commit" (paged, one per key).

use serde_json::{Value, json};

use super::{
    Answer, Call, body_object, error, field_error, forge_error, paged, string_at, timestamp,
};
use crate::server::Reply;
use crate::store::{StatusRecord, now};

/// The most `pagelen` gives for statuses.
const MAX_PAGELEN: usize = 100;

/// The full hash of a commit named by a prefix (or a branch); unknown → 404.
fn resolve(call: &Call<'_>, hash: &str) -> Result<String, Reply> {
    call.store()
        .resolve(&call.full_name, hash)
        .map_err(forge_error)?
        .ok_or_else(|| error(404, &format!("Commit not found: {hash}")))
}

/// `commit`: hash, parents (full hashes), message, date.
pub(super) fn get(call: &Call<'_>, hash: &str) -> Answer {
    let full = resolve(call, hash)?;
    let store = call.store();
    let repo = store.git(&call.full_name).map_err(forge_error)?;
    let oid = git2::Oid::from_str(&full).map_err(|e| error(500, &e.to_string()))?;
    let commit = repo
        .find_commit(oid)
        .map_err(|e| error(500, &e.to_string()))?;
    let parents: Vec<Value> = commit
        .parent_ids()
        .map(|parent| {
            json!({
                "type": "commit",
                "hash": parent.to_string(),
                "links": {"self": {"href": format!("{}/commit/{parent}", call.repo_api())}},
            })
        })
        .collect();
    Ok(Reply::json(
        200,
        &json!({
            "type": "commit",
            "hash": full,
            "message": commit.message().unwrap_or_default(),
            "date": timestamp(commit.time().seconds()),
            "author": {"type": "author", "raw": format!("{} <{}>", commit.author().name().unwrap_or_default(), commit.author().email().unwrap_or_default())},
            "parents": parents,
            "links": {
                "self": {"href": format!("{}/commit/{full}", call.repo_api())},
                "html": {"href": format!("{}/commits/{full}", call.repo_web())},
                "statuses": {"href": format!("{}/commit/{full}/statuses", call.repo_api())},
            },
        }),
    ))
}

/// Bitbucket's state → the store's (GitHub's words, which every dialect shares).
fn stored_state(state: &str) -> Option<&'static str> {
    match state {
        "SUCCESSFUL" => Some("success"),
        "FAILED" => Some("failure"),
        "INPROGRESS" => Some("pending"),
        "STOPPED" => Some("error"),
        _ => None,
    }
}

/// The store's state → Bitbucket's.
fn shown_state(state: &str) -> &'static str {
    match state {
        "success" => "SUCCESSFUL",
        "failure" => "FAILED",
        "error" => "STOPPED",
        _ => "INPROGRESS",
    }
}

fn render(call: &Call<'_>, status: &StatusRecord) -> Value {
    json!({
        "type": "build",
        "key": status.context,
        "name": status.context,
        "state": shown_state(&status.state),
        "description": status.description.clone().unwrap_or_default(),
        "url": status.target_url.clone().unwrap_or_default(),
        "refname": null,
        "created_on": timestamp(status.created_at),
        "updated_on": timestamp(status.created_at),
        "commit": {"type": "commit", "hash": status.sha},
        "links": {
            "self": {"href": format!("{}/commit/{}/statuses/build/{}", call.repo_api(), status.sha, status.context)},
        },
    })
}

/// "Create a build status for a commit": 201 commitstatus.
pub(super) fn create_status(call: &Call<'_>, hash: &str) -> Answer {
    let body = body_object(call)?;
    let Some(key) = string_at(&body, "key")?.filter(|k| !k.is_empty()) else {
        return Err(field_error("key", "This field is required."));
    };
    // Keys are at most 40 characters (what clients cut to, e.g. upstream gitops-promoter).
    if key.chars().count() > 40 {
        return Err(field_error(
            "key",
            "Ensure this value has at most 40 characters.",
        ));
    }
    let Some(state) = string_at(&body, "state")? else {
        return Err(field_error("state", "This field is required."));
    };
    let Some(stored) = stored_state(&state) else {
        return Err(field_error(
            "state",
            &format!("\"{state}\" is not a valid choice."),
        ));
    };
    let Some(url) = string_at(&body, "url")?.filter(|u| !u.is_empty()) else {
        return Err(field_error("url", "This field is required."));
    };
    let sha = resolve(call, hash)?;
    let record = StatusRecord {
        id: 0,
        sha,
        state: stored.to_owned(),
        context: key,
        description: string_at(&body, "description")?,
        target_url: Some(url),
        creator: call.caller.login.clone(),
        created_at: now(),
    };
    let saved = call
        .store()
        .add_status(&call.full_name, record)
        .map_err(forge_error)?;
    Ok(Reply::json(201, &render(call, &saved)))
}

/// "List commit statuses for a commit": one per key (the newest post), paged.
pub(super) fn list_statuses(call: &Call<'_>, hash: &str) -> Answer {
    let sha = resolve(call, hash)?;
    let latest = call.store().latest_statuses(&call.full_name, &sha);
    let values = latest.iter().map(|status| render(call, status)).collect();
    Ok(paged(call, values, MAX_PAGELEN))
}
