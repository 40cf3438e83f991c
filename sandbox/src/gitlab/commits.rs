//! GitLab endpoints about projects and commits: the project, commit statuses (list, create with
//! GitLab's state machine) and pipelines synthesized from the statuses of a SHA. States are
//! translated between GitLab's words and the store's (GitHub's) vocabulary here.

use serde_json::{Value, json};

use super::{Answer, Call, message, paginate, param_error, timestamp, user};
use crate::server::Reply;
use crate::store::{StatusRecord, now};

/// The store's state for a GitLab state (docs commits.md "Set the pipeline status of a commit":
/// `pending`, `running`, `success`, `failed`, `canceled`, `skipped`).
fn to_store(state: &str) -> Option<&'static str> {
    match state {
        "pending" | "running" => Some("pending"),
        "success" | "skipped" => Some("success"),
        "failed" => Some("failure"),
        "canceled" => Some("error"),
        _ => None,
    }
}

/// GitLab's word for a store state.
fn to_gitlab(state: &str) -> &'static str {
    match state {
        "success" => "success",
        "failure" | "error" => "failed",
        _ => "pending",
    }
}

pub(super) fn get_project(call: &Call<'_>, full_name: &str) -> Answer {
    let store = call.store();
    let repo = store.repo(full_name).map_err(|_| not_found())?;
    let web = format!("{}/{full_name}", call.web());
    let (namespace, path) = full_name.rsplit_once('/').unwrap_or(("", full_name));
    Ok(Reply::json(
        200,
        &json!({
            "id": repo.id,
            "name": repo.name,
            "path": path,
            "path_with_namespace": full_name,
            "name_with_namespace": full_name.replace('/', " / "),
            "namespace": {"full_path": namespace, "path": namespace.rsplit('/').next().unwrap_or(namespace)},
            "default_branch": repo.default_branch,
            "visibility": "private",
            "web_url": web,
            "http_url_to_repo": format!("{web}.git"),
            "created_at": timestamp(repo.created_at),
            "merge_method": if repo.allow_merge_commit { "merge" } else { "ff" },
            "squash_option": if repo.allow_squash_merge { "default_off" } else { "never" },
            "forked_from_project": repo.parent.as_deref().and_then(|p| store.repo(p).ok()).map(|p| json!({"id": p.id, "path_with_namespace": p.full_name()}))
        }),
    ))
}

fn not_found() -> Reply {
    message(404, "404 Project Not Found")
}

/// The full SHA of `reference`; GitLab answers 404 "404 Commit Not Found".
fn resolve(call: &Call<'_>, full_name: &str, reference: &str) -> Result<String, Reply> {
    call.store()
        .resolve(full_name, reference)
        .map_err(|_| not_found())?
        .ok_or_else(|| message(404, "404 Commit Not Found"))
}

/// A status in the shape of commits.md "List the statuses of a commit".
fn render(call: &Call<'_>, status: &StatusRecord, reference: Option<&str>) -> Value {
    let author = call.store().user(&status.creator);
    let state = to_gitlab(&status.state);
    let finished = (state != "pending").then(|| timestamp(status.created_at));
    json!({
        "id": status.id,
        "sha": status.sha,
        "ref": reference,
        "status": state,
        "name": status.context,
        "target_url": status.target_url,
        "description": status.description,
        "created_at": timestamp(status.created_at),
        "started_at": null,
        "finished_at": finished,
        "allow_failure": false,
        "coverage": null,
        "author": user(call, &author)
    })
}

pub(super) fn list_statuses(call: &Call<'_>, full_name: &str, reference: &str) -> Answer {
    let sha = resolve(call, full_name, reference)?;
    // Without `all`, the latest status per name (docs commits.md, `all`: "Return all statuses,
    // not only the latest ones").
    let mut statuses = if call.flag("all") {
        call.store().statuses(full_name, &sha)
    } else {
        let mut latest = call.store().latest_statuses(full_name, &sha);
        latest.sort_by_key(|status| std::cmp::Reverse(status.id));
        latest
    };
    if let Some(name) = call.param("name") {
        statuses.retain(|status| status.context == name);
    }
    let items = statuses
        .iter()
        .map(|status| render(call, status, call.param("ref").as_deref()))
        .collect();
    Ok(paginate(call, items))
}

pub(super) fn create_status(call: &Call<'_>, full_name: &str, sha: &str) -> Answer {
    let Some(state) = call.param("state") else {
        return Err(param_error("state is missing"));
    };
    let Some(stored) = to_store(&state) else {
        return Err(param_error("state does not have a valid value"));
    };
    let sha = resolve(call, full_name, sha)?;
    let name = call
        .param("name")
        .or_else(|| call.param("context"))
        .unwrap_or_else(|| "default".to_owned());
    let mut store = call.store();
    // Ci::CreateCommitStatusService reuses the pending or running status of this name by this
    // user and moves it with `enqueue!` for `pending`: from `pending` that transition does not
    // exist, so GitLab answers 400 (observed; fixture commit-status-400-transition.observed.json).
    // A finished status is not reused: any state may follow it.
    let current = store
        .statuses(full_name, &sha)
        .into_iter()
        .find(|status| status.context == name && status.creator == call.caller.login);
    if state == "pending" && current.is_some_and(|status| status.state == "pending") {
        return Err(message(
            400,
            "Cannot transition status via :enqueue from :pending (Reason(s): Status cannot transition via \"enqueue\")",
        ));
    }
    let record = StatusRecord {
        id: 0,
        sha,
        state: stored.to_owned(),
        context: name,
        description: call.param("description"),
        target_url: call.param("target_url"),
        creator: call.caller.login.clone(),
        created_at: now(),
    };
    let saved = store
        .add_status(full_name, record)
        .map_err(|error| message(500, &format!("500 Internal Server Error: {error}")))?;
    drop(store);
    let mut value = render(call, &saved, call.param("ref").as_deref());
    // The answer names the state as asked (a `running` status is stored as pending).
    value["status"] = json!(state);
    Ok(Reply::json(201, &value))
}

/// The pipeline state of a set of latest statuses: failed over pending over success.
fn pipeline_state(latest: &[StatusRecord]) -> &'static str {
    let states: Vec<&str> = latest.iter().map(|s| to_gitlab(&s.state)).collect();
    if states.contains(&"failed") {
        "failed"
    } else if states.contains(&"pending") {
        "pending"
    } else {
        "success"
    }
}

pub(super) fn list_pipelines(call: &Call<'_>, full_name: &str) -> Answer {
    let mut items = Vec::new();
    // Pipelines exist here only as the sum of a SHA's statuses, so only `sha=` can find one.
    if let Some(reference) = call.param("sha") {
        let sha = call
            .store()
            .resolve(full_name, &reference)
            .map_err(|_| not_found())?;
        if let Some(sha) = sha {
            let store = call.store();
            let all = store.statuses(full_name, &sha);
            let latest = store.latest_statuses(full_name, &sha);
            if let (Some(first), Some(last)) = (all.last(), all.first()) {
                let id = first.id;
                let status = pipeline_state(&latest);
                if call.param("status").is_none_or(|wanted| wanted == status) {
                    items.push(json!({
                        "id": id,
                        "iid": id,
                        "project_id": store.repo(full_name).map(|r| r.id).unwrap_or_default(),
                        "sha": sha,
                        "ref": call.param("ref"),
                        "status": status,
                        "source": "external",
                        "created_at": timestamp(first.created_at),
                        "updated_at": timestamp(last.created_at),
                        "web_url": format!("{}/{full_name}/-/pipelines/{id}", call.web())
                    }));
                }
            }
        }
    }
    Ok(paginate(call, items))
}
