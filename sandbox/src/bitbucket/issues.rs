//! Bitbucket issue tracker endpoints (api-group-issue-tracker): list (BBQL `q` on `state`,
//! `title`), get, create (`title`, `content.raw`), update (`PUT`). Issue states here are `new`
//! (open in the store) and `resolved` (closed).

use serde_json::{Value, json};

use super::{
    Answer, Call, body_object, error, field_error, filter, forge_error, paged, string_at,
    timestamp, user_json,
};
use crate::server::Reply;
use crate::store::{IssueRecord, NewIssue, PullState, Store};

const MAX_PAGELEN: usize = 50;

fn state(issue: &IssueRecord) -> &'static str {
    match issue.state {
        PullState::Open => "new",
        PullState::Closed => "resolved",
    }
}

fn render(call: &Call<'_>, store: &Store, issue: &IssueRecord) -> Value {
    json!({
        "type": "issue",
        "id": issue.number,
        "title": issue.title,
        "content": {"type": "rendered", "raw": issue.body, "markup": "markdown", "html": ""},
        "state": state(issue),
        "kind": "task",
        "priority": "major",
        "reporter": user_json(&store.user(&issue.author)),
        "created_on": timestamp(issue.created_at),
        "updated_on": timestamp(issue.updated_at),
        "links": {
            "self": {"href": format!("{}/issues/{}", call.repo_api(), issue.number)},
            "html": {"href": format!("{}/issues/{}", call.repo_web(), issue.number)},
        },
    })
}

pub(super) fn list(call: &Call<'_>) -> Answer {
    let query = filter(call)?;
    let store = call.store();
    let mut values = Vec::new();
    for issue in store.issues(&call.full_name).map_err(forge_error)? {
        if let Some(query) = &query {
            let keep = query
                .matches(&|name| match name {
                    "state" => Ok(Some(state(&issue).to_owned())),
                    "title" => Ok(Some(issue.title.clone())),
                    "id" => Ok(Some(issue.number.to_string())),
                    other => Err(format!("'{other}' is not a valid field name")),
                })
                .map_err(|e| error(400, &e))?;
            if !keep {
                continue;
            }
        }
        values.push(render(call, &store, &issue));
    }
    Ok(paged(call, values, MAX_PAGELEN))
}

pub(super) fn get(call: &Call<'_>, number: u64) -> Answer {
    let store = call.store();
    let issue = store
        .issue(&call.full_name, number)
        .map_err(|_| error(404, &format!("No issue with id {number}")))?;
    Ok(Reply::json(200, &render(call, &store, &issue)))
}

pub(super) fn create(call: &Call<'_>) -> Answer {
    let body = body_object(call)?;
    let Some(title) = string_at(&body, "title")?.filter(|t| !t.trim().is_empty()) else {
        return Err(field_error("title", "This field is required."));
    };
    let new = NewIssue {
        title,
        body: string_at(&body, "content.raw")?.unwrap_or_default(),
        author: call.caller.login.clone(),
    };
    let mut store = call.store();
    let issue = store
        .open_issue(&call.full_name, new)
        .map_err(forge_error)?;
    Ok(Reply::json(201, &render(call, &store, &issue)))
}

pub(super) fn update(call: &Call<'_>, number: u64) -> Answer {
    let body = body_object(call)?;
    let title = string_at(&body, "title")?;
    let text = string_at(&body, "content.raw")?;
    let mut store = call.store();
    let issue = store
        .update_issue(&call.full_name, number, title, text)
        .map_err(|e| match e {
            crate::store::ForgeError::NotFound => error(404, &format!("No issue with id {number}")),
            other => forge_error(other),
        })?;
    Ok(Reply::json(200, &render(call, &store, &issue)))
}
