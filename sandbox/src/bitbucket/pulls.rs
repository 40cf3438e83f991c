//! Bitbucket pull request endpoints (api-group-pullrequests): list (BBQL `q`, `state`), get,
//! create, update (`PUT`, `title` required), merge (no head guard: whatever the source is now is
//! merged), and the merge task status. Pull requests show their commits as 12-character short
//! hashes, as Bitbucket's do (fixture `pullrequest.go-scm.json`).

use serde_json::{Value, json};

use super::{
    Answer, Call, body_object, error, field_error, filter, forge_error, paged, string_at,
    timestamp, user_json,
};
use crate::server::Reply;
use crate::store::{ForgeError, MergeMethod, MergeRequest, NewPull, PullRecord, PullState, Store};

/// The most `pagelen` gives for pull requests.
const MAX_PAGELEN: usize = 50;
/// Characters of a hash shown in pull requests.
const SHORT: usize = 12;

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(SHORT)]
}

/// `OPEN`, `MERGED` or `DECLINED`.
fn state(pull: &PullRecord) -> &'static str {
    match (pull.state, &pull.merged) {
        (PullState::Open, _) => "OPEN",
        (PullState::Closed, Some(_)) => "MERGED",
        (PullState::Closed, None) => "DECLINED",
    }
}

fn repository_json(call: &Call<'_>, store: &Store, full_name: &str) -> Value {
    let (name, id) = store
        .repo(full_name)
        .map_or((full_name.to_owned(), 0), |repo| {
            (repo.name.clone(), repo.id)
        });
    json!({
        "type": "repository",
        "full_name": full_name,
        "name": name,
        "uuid": format!("{{00000000-0000-0000-0001-{id:012}}}"),
        "links": {
            "self": {"href": format!("{}/repositories/{full_name}", call.api())},
            "html": {"href": format!("{}/{full_name}", call.shared.base_url)},
        },
    })
}

fn commit_ref(call: &Call<'_>, hash: &str) -> Value {
    let hash = short(hash);
    json!({
        "type": "commit",
        "hash": hash,
        "links": {
            "self": {"href": format!("{}/commit/{hash}", call.repo_api())},
            "html": {"href": format!("{}/commits/{hash}", call.repo_web())},
        },
    })
}

/// `pullrequest`. `reviewers` only on the single-PR read, as Bitbucket lists omit them.
pub(super) fn render(call: &Call<'_>, store: &Store, pull: &PullRecord, single: bool) -> Value {
    let api = format!("{}/pullrequests/{}", call.repo_api(), pull.number);
    let mut value = json!({
        "type": "pullrequest",
        "id": pull.number,
        "title": pull.title,
        "description": pull.body,
        "summary": {"type": "rendered", "raw": pull.body, "markup": "markdown", "html": ""},
        "state": state(pull),
        "author": user_json(&store.user(&pull.author)),
        "source": {
            "branch": {"name": pull.head_branch},
            "commit": commit_ref(call, &pull.head_sha),
            "repository": repository_json(call, store, &pull.head_repo),
        },
        "destination": {
            "branch": {"name": pull.base_branch},
            "commit": commit_ref(call, &pull.base_sha),
            "repository": repository_json(call, store, &pull.base_repo),
        },
        "merge_commit": pull.merged.as_ref().map(|merged| commit_ref(call, &merged.sha)),
        "close_source_branch": false,
        "closed_by": pull.merged.as_ref().map(|merged| user_json(&store.user(&merged.by))),
        "comment_count": 0,
        "task_count": 0,
        "reason": "",
        "created_on": timestamp(pull.created_at),
        "updated_on": timestamp(pull.updated_at),
        "links": {
            "self": {"href": api},
            "html": {"href": format!("{}/pull-requests/{}", call.repo_web(), pull.number)},
            "merge": {"href": format!("{api}/merge")},
            "statuses": {"href": format!("{api}/statuses")},
        },
    });
    if single {
        value["reviewers"] = json!([]);
        value["participants"] = json!([]);
    }
    value
}

/// A field of a pull request as BBQL names it.
fn field(pull: &PullRecord, name: &str) -> Result<Option<String>, String> {
    Ok(Some(match name {
        "id" => pull.number.to_string(),
        "title" => pull.title.clone(),
        "description" => pull.body.clone(),
        "state" => state(pull).to_owned(),
        "source.branch.name" => pull.head_branch.clone(),
        "destination.branch.name" => pull.base_branch.clone(),
        "source.repository.full_name" => pull.head_repo.clone(),
        "destination.repository.full_name" => pull.base_repo.clone(),
        "author.nickname" => pull.author.clone(),
        other => return Err(format!("'{other}' is not a valid field name")),
    }))
}

/// "List pull requests": `state` (repeatable; default OPEN), `q`, paged, newest first.
pub(super) fn list(call: &Call<'_>) -> Answer {
    let states: Vec<String> = call
        .incoming
        .query
        .split('&')
        .filter_map(|pair| pair.strip_prefix("state="))
        .map(|value| crate::server::decode(value).to_ascii_uppercase())
        .collect();
    let states = if states.is_empty() {
        vec!["OPEN".to_owned()]
    } else {
        states
    };
    let query = filter(call)?;
    let mut store = call.store();
    let pulls = store.pulls(&call.full_name).map_err(forge_error)?;
    let mut values = Vec::new();
    for pull in &pulls {
        if !states.iter().any(|s| s == state(pull)) {
            continue;
        }
        if let Some(query) = &query {
            let keep = query
                .matches(&|name| field(pull, name))
                .map_err(|e| error(400, &e))?;
            if !keep {
                continue;
            }
        }
        values.push(render(call, &store, pull, false));
    }
    Ok(paged(call, values, MAX_PAGELEN))
}

pub(super) fn get(call: &Call<'_>, number: u64) -> Answer {
    let mut store = call.store();
    let pull = store
        .pull(&call.full_name, number)
        .map_err(|_| error(404, &format!("No pull request with id {number}")))?;
    Ok(Reply::json(200, &render(call, &store, &pull, true)))
}

/// "Create a pull request": `title` and `source.branch.name` required; `destination` defaults to
/// the main branch; `source.repository.full_name` names a fork. 201 pullrequest.
pub(super) fn create(call: &Call<'_>) -> Answer {
    let body = body_object(call)?;
    let Some(title) = string_at(&body, "title")?.filter(|t| !t.trim().is_empty()) else {
        return Err(field_error("title", "This field is required."));
    };
    let Some(source) = string_at(&body, "source.branch.name")? else {
        return Err(field_error("source", "This field is required."));
    };
    let description = string_at(&body, "description")?.unwrap_or_default();
    let mut store = call.store();
    let destination = match string_at(&body, "destination.branch.name")? {
        Some(name) => name,
        None => store
            .repo(&call.full_name)
            .map_err(forge_error)?
            .default_branch
            .clone(),
    };
    let head_repo = match string_at(&body, "source.repository.full_name")? {
        Some(fork) if fork != call.full_name => {
            let owner = fork.split('/').next().unwrap_or_default();
            match store.repo_in_network(&call.full_name, owner) {
                Some(repo) if repo == fork => repo,
                _ => return Err(field_error("source", "Repository not found")),
            }
        }
        _ => call.full_name.clone(),
    };
    let new = NewPull {
        head_repo,
        head_branch: source.clone(),
        base_branch: destination.clone(),
        title,
        body: description,
        author: call.caller.login.clone(),
    };
    match store.open_pull(&call.full_name, new) {
        Ok(pull) => Ok(Reply::json(201, &render(call, &store, &pull, true))),
        // Observed on bitbucket.org: a source with nothing the destination lacks is a 400.
        Err(ForgeError::NoCommits { .. }) => Err(error(400, "There are no changes to be pulled")),
        // Not documented; the sandbox refuses a second open PR for the same branches with a 400
        // (clients look the open one up, docs/bitbucket.md).
        Err(ForgeError::PullExists { .. }) => Err(error(
            400,
            &format!("There is already an open pull request from {source} to {destination}"),
        )),
        Err(ForgeError::MissingBranch { field }) => {
            let name = if field == "head" {
                "source"
            } else {
                "destination"
            };
            Err(field_error(name, "Branch not found"))
        }
        Err(other) => Err(forge_error(other)),
    }
}

/// "Update a pull request": `PUT`, only while OPEN, `title` required (400 "title: This field is
/// required.", observed). 200 pullrequest.
pub(super) fn update(call: &Call<'_>, number: u64) -> Answer {
    let body = body_object(call)?;
    let Some(title) = string_at(&body, "title")?.filter(|t| !t.trim().is_empty()) else {
        return Err(field_error("title", "This field is required."));
    };
    let description = string_at(&body, "description")?;
    let mut store = call.store();
    let current = store
        .pull(&call.full_name, number)
        .map_err(|_| error(404, &format!("No pull request with id {number}")))?;
    if current.state != PullState::Open {
        return Err(error(400, "Only open pull requests can be updated"));
    }
    let pull = store
        .update_pull(&call.full_name, number, Some(title), description, None)
        .map_err(forge_error)?;
    Ok(Reply::json(200, &render(call, &store, &pull, true)))
}

/// "Merge a pull request": `pullrequest_merge_parameters` (`merge_strategy`, default
/// `merge_commit`; `message`). No head guard. 200 pullrequest; with `async=true` 202 and a
/// `Location` to the task status. 400 not open / conflicts / strategy not allowed; 409 when the
/// destination moved while merging.
pub(super) fn merge(call: &Call<'_>, number: u64) -> Answer {
    let body = body_object(call)?;
    let strategy = string_at(&body, "merge_strategy")?.unwrap_or_else(|| "merge_commit".into());
    let method = match strategy.as_str() {
        "merge_commit" => MergeMethod::Merge,
        "squash" | "squash_fast_forward" => MergeMethod::Squash,
        "fast_forward" | "rebase_fast_forward" | "rebase_merge" => MergeMethod::Rebase,
        other => {
            return Err(field_error(
                "merge_strategy",
                &format!("\"{other}\" is not a valid choice."),
            ));
        }
    };
    let message = string_at(&body, "message")?;
    let mut store = call.store();
    let pull = store
        .pull(&call.full_name, number)
        .map_err(|_| error(404, &format!("No pull request with id {number}")))?;
    if pull.state != PullState::Open {
        return Err(error(
            400,
            "You can't merge a pull request that is not open.",
        ));
    }
    // The message is the whole commit message: its first line is the title.
    let (title, rest) = match message.as_deref().map(str::trim) {
        Some(text) if !text.is_empty() => {
            let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
            (first.to_owned(), rest.trim().to_owned())
        }
        _ => (
            format!("Merged in {} (pull request #{number})", pull.head_branch),
            pull.title.clone(),
        ),
    };
    let request = MergeRequest {
        merger: call.caller.login.clone(),
        expected_head: None,
        method,
        title: Some(title),
        message: Some(rest),
    };
    match store.merge_pull(&call.full_name, number, request) {
        Ok(_) => {}
        Err(ForgeError::MethodNotAllowed(_)) => {
            return Err(error(
                400,
                &format!(
                    "The merge strategy \"{strategy}\" is not allowed by the branch's merge strategies"
                ),
            ));
        }
        Err(ForgeError::NotMergeable) => {
            return Err(error(
                400,
                "This pull request has conflicts that must be resolved before merging.",
            ));
        }
        Err(ForgeError::BaseMoved) => {
            return Err(error(
                409,
                "One of the refs involved changed while attempting to merge.",
            ));
        }
        Err(other) => return Err(forge_error(other)),
    }
    let merged = store.pull(&call.full_name, number).map_err(forge_error)?;
    if call
        .incoming
        .params()
        .get("async")
        .is_some_and(|v| v == "true")
    {
        let mut reply = Reply::json(202, &json!({}));
        reply.set_header(
            "location",
            &format!(
                "{}/pullrequests/{number}/merge/task-status/merge-{number}",
                call.repo_api()
            ),
        );
        return Ok(reply);
    }
    Ok(Reply::json(200, &render(call, &store, &merged, true)))
}

/// "Get the merge task status for a pull request": `SUCCESS` with the merged pull request, else
/// `PENDING`.
pub(super) fn task_status(call: &Call<'_>, number: u64, task: &str) -> Answer {
    if task != format!("merge-{number}") {
        return Err(error(404, "Task not found"));
    }
    let mut store = call.store();
    let pull = store
        .pull(&call.full_name, number)
        .map_err(|_| error(404, &format!("No pull request with id {number}")))?;
    let value = if pull.merged.is_some() {
        json!({"task_status": "SUCCESS", "merge_result": render(call, &store, &pull, true)})
    } else {
        json!({"task_status": "PENDING"})
    };
    Ok(Reply::json(200, &value))
}
