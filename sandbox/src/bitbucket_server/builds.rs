//! Bitbucket Data Center build statuses, the commit-wide resource
//! `/rest/build-status/1.0/commits/{commitId}` (REST reference "Build-status"; how-to "Updating
//! build status for commits"): post (`state`, `key`, `url` required; a key the commit has is
//! replaced) and list (the newest per key, paged). Bitbucket stores them by commit, not by
//! repository; the sandbox stores them in every repository that has the commit and lists them
//! from all of those. Also "Get commit" (`/rest/api/1.0/projects/{key}/repos/{slug}/commits/{id}`),
//! which promoter reads for a merge commit's parents.

use serde_json::{Value, json};

use super::{Answer, Call, body_object, error, page};
use crate::server::Reply;
use crate::store::{StatusRecord, now};

/// The store's state words (GitHub's) in Bitbucket's, and back.
fn bitbucket_state(state: &str) -> &'static str {
    match state {
        "success" => "SUCCESSFUL",
        "failure" | "error" => "FAILED",
        _ => "INPROGRESS",
    }
}

fn store_state(state: &str) -> Option<&'static str> {
    match state {
        "SUCCESSFUL" => Some("success"),
        "FAILED" => Some("failure"),
        "INPROGRESS" => Some("pending"),
        _ => None,
    }
}

/// The repositories holding `sha` (full SHA), with its full form.
fn holders(call: &Call<'_>, sha: &str) -> Vec<(String, String)> {
    let store = call.store();
    store
        .repo_names()
        .into_iter()
        .filter_map(|name| {
            let full = store.resolve(&name, sha).ok().flatten()?;
            // Only a commit id names a commit here, not a branch.
            full.eq_ignore_ascii_case(sha).then_some((name, full))
        })
        .collect()
}

fn too_long(field: &str, value: &str, max: usize) -> Result<(), Reply> {
    if value.chars().count() > max {
        return Err(error(
            400,
            &format!("{field} must be at most {max} characters"),
            "com.atlassian.bitbucket.validation.ArgumentValidationException",
        ));
    }
    Ok(())
}

/// POST: 204 No Content. 400 for a missing or unknown `state`, a missing `key` or `url`, or a
/// field over 255 characters (`url` 450).
pub(super) fn create(call: &Call<'_>, sha: &str) -> Answer {
    let body = body_object(call)?;
    let field = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
    let (Some(state), Some(key), Some(url)) = (field("state"), field("key"), field("url")) else {
        return Err(error(
            400,
            "state, key and url are required",
            "com.atlassian.bitbucket.validation.ArgumentValidationException",
        ));
    };
    let Some(state) = store_state(&state) else {
        return Err(error(
            400,
            &format!("{state} is not a valid build state"),
            "com.atlassian.bitbucket.validation.ArgumentValidationException",
        ));
    };
    let description = field("description");
    too_long("key", &key, 255)?;
    too_long("url", &url, 450)?;
    too_long("description", description.as_deref().unwrap_or(""), 255)?;
    let holders = holders(call, sha);
    if holders.is_empty() {
        return Err(error(
            404,
            &format!("Commit {sha} does not exist in any repository."),
            "com.atlassian.bitbucket.commit.NoSuchCommitException",
        ));
    }
    let mut store = call.store();
    for (full_name, full_sha) in holders {
        let record = StatusRecord {
            id: 0,
            sha: full_sha,
            state: state.to_owned(),
            context: key.clone(),
            description: description.clone(),
            target_url: Some(url.clone()),
            creator: call.caller.login.clone(),
            created_at: now(),
        };
        store
            .add_status(&full_name, record)
            .map_err(super::forge_error)?;
    }
    Ok(Reply {
        status: 204,
        headers: Vec::new(),
        body: Vec::new(),
    })
}

/// GET: the newest status per key, paged; an unknown commit is an empty page.
pub(super) fn list(call: &Call<'_>, sha: &str) -> Answer {
    let holders = holders(call, sha);
    let store = call.store();
    let mut items: Vec<Value> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    for (full_name, full_sha) in holders {
        for status in store.latest_statuses(&full_name, &full_sha) {
            if keys.contains(&status.context) {
                continue;
            }
            keys.push(status.context.clone());
            items.push(json!({
                "state": bitbucket_state(&status.state),
                "key": status.context,
                "name": status.context,
                "url": status.target_url.unwrap_or_default(),
                "description": status.description.unwrap_or_default(),
                "dateAdded": status.created_at * 1000,
            }));
        }
    }
    Ok(Reply::json(200, &page(call, items)))
}

/// "Get commit": `id`, `displayId`, `message`, `parents` (`id`, `displayId`); 404
/// NoSuchCommitException for a commit the repository lacks.
pub(super) fn commit(call: &Call<'_>, full_name: &str, id: &str) -> Answer {
    let missing = || {
        error(
            404,
            &format!("Commit '{id}' does not exist in repository '{full_name}'."),
            "com.atlassian.bitbucket.commit.NoSuchCommitException",
        )
    };
    let store = call.store();
    let full = store
        .resolve(full_name, id)
        .map_err(super::forge_error)?
        .ok_or_else(missing)?;
    let repo = store.git(full_name).map_err(super::forge_error)?;
    let oid = git2::Oid::from_str(&full).map_err(|_| missing())?;
    let commit = repo.find_commit(oid).map_err(|_| missing())?;
    let parents: Vec<Value> = commit
        .parent_ids()
        .map(|p| json!({"id": p.to_string(), "displayId": &p.to_string()[..11]}))
        .collect();
    Ok(Reply::json(
        200,
        &json!({
            "id": full,
            "displayId": &full[..11],
            "message": commit.message().unwrap_or_default(),
            "parents": parents,
        }),
    ))
}
