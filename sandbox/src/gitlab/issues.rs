//! GitLab issue endpoints over the store's issues: list, get, create, edit (docs `api/issues.md`
//! "List project issues", "Single project issue", "New issue", "Edit an issue"). Merge requests
//! are never listed here: GitLab keeps them apart. Labels, milestones, assignees and time stats
//! are not modelled (empty, null or zero).

use serde_json::{Value, json};

use super::{Answer, Call, message, missing, paginate, param_error, timestamp, user};
use crate::server::Reply;
use crate::store::{ForgeError, IssueRecord, NewIssue, PullState, Store};

fn forge_error(error: ForgeError) -> Reply {
    match error {
        ForgeError::NotFound => message(404, "404 Not found"),
        // Rails validation errors answer 400 with `message` keyed by field.
        ForgeError::Invalid {
            field,
            message: text,
        } => Reply::json(400, &json!({"message": {field: [text]}})),
        ForgeError::Other(cause) => message(500, &format!("500 Internal Server Error: {cause:#}")),
        other => message(422, &other.to_string()),
    }
}

fn state_name(issue: &IssueRecord) -> &'static str {
    match issue.state {
        PullState::Open => "opened",
        PullState::Closed => "closed",
    }
}

/// One issue in the `Issue` shape of the docs' example responses.
fn render(
    call: &Call<'_>,
    store: &Store,
    full_name: &str,
    issue: &IssueRecord,
) -> Result<Value, Reply> {
    let project = store.repo(full_name).map_err(forge_error)?;
    let web_url = format!("{}/{full_name}/-/issues/{}", call.web(), issue.number);
    Ok(json!({
        "id": issue.id,
        "iid": issue.number,
        "project_id": project.id,
        "title": issue.title,
        "description": issue.body,
        "state": state_name(issue),
        "created_at": timestamp(issue.created_at),
        "updated_at": timestamp(issue.updated_at),
        "closed_at": null,
        "closed_by": null,
        "labels": [],
        "milestone": null,
        "assignees": [],
        "assignee": null,
        "author": user(call, &store.user(&issue.author)),
        "type": "ISSUE",
        "issue_type": "issue",
        "user_notes_count": 0,
        "merge_requests_count": 0,
        "upvotes": 0,
        "downvotes": 0,
        "due_date": null,
        "confidential": false,
        "discussion_locked": null,
        "web_url": web_url,
        "references": {
            "short": format!("#{}", issue.number),
            "relative": format!("#{}", issue.number),
            "full": format!("{full_name}#{}", issue.number)
        },
        "time_stats": {"time_estimate": 0, "total_time_spent": 0, "human_time_estimate": null, "human_total_time_spent": null},
        "task_completion_status": {"count": 0, "completed_count": 0},
        "has_tasks": false,
        "_links": {
            "self": format!("{}/api/v4/projects/{}/issues/{}", call.web(), project.id, issue.number),
            "project": format!("{}/api/v4/projects/{}", call.web(), project.id)
        }
    }))
}

pub(super) fn list(call: &Call<'_>, full_name: &str) -> Answer {
    // Docs: `state` is `opened` or `closed`; absent = all. `order_by` (default `created_at`) and
    // `sort` (default `desc`).
    let state = call.param("state").unwrap_or_else(|| "all".to_owned());
    if !matches!(state.as_str(), "opened" | "closed" | "all") {
        return Err(param_error("state does not have a valid value"));
    }
    let store = call.store();
    let mut issues: Vec<IssueRecord> = store
        .issues(full_name)
        .map_err(forge_error)?
        .into_iter()
        .filter(|issue| state == "all" || state_name(issue) == state)
        .collect();
    if call.param("sort").is_none_or(|sort| sort != "asc") {
        issues.reverse();
    }
    let items = issues
        .iter()
        .map(|issue| render(call, &store, full_name, issue))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(paginate(call, items))
}

pub(super) fn get(call: &Call<'_>, full_name: &str, iid: u64) -> Answer {
    let store = call.store();
    let issue = store.issue(full_name, iid).map_err(forge_error)?;
    Ok(Reply::json(200, &render(call, &store, full_name, &issue)?))
}

pub(super) fn create(call: &Call<'_>, full_name: &str) -> Answer {
    if let Some(text) = missing(call, &["title"]) {
        return Err(param_error(&text));
    }
    let mut store = call.store();
    let issue = store
        .open_issue(
            full_name,
            NewIssue {
                title: call.param("title").unwrap_or_default(),
                body: call.param("description").unwrap_or_default(),
                author: call.caller.login.clone(),
            },
        )
        .map_err(forge_error)?;
    // Docs "New issue": 201 with the issue.
    Ok(Reply::json(201, &render(call, &store, full_name, &issue)?))
}

pub(super) fn update(call: &Call<'_>, full_name: &str, iid: u64) -> Answer {
    let title = call.param("title");
    let description = call.param("description");
    if title.is_none() && description.is_none() {
        // Grape's answer when none of the optional parameters is given (docs "Edit an issue").
        return Err(param_error(
            "title, description, state_event are missing, at least one parameter must be provided",
        ));
    }
    let mut store = call.store();
    let issue = store
        .update_issue(full_name, iid, title, description)
        .map_err(forge_error)?;
    // Docs "Edit an issue": 200 with the issue.
    Ok(Reply::json(200, &render(call, &store, full_name, &issue)?))
}
