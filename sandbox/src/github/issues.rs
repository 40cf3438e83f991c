//! GitHub issue endpoints: list (pull requests included, as GitHub does), create, get, update.
//! Bodies follow the `issue` schema of the REST description (2022-11-28); labels, assignees,
//! milestones and comments are not modelled (empty or zero).

use serde_json::{Value, json};

use super::json::{self, Urls};
use super::{Answer, Call, body_object, forge_error, paginate, string_field, with_link};
use crate::server::Reply;
use crate::store::{IssueRecord, NewIssue, PullRecord, PullState, Store};

/// One entry of the issues list: an issue, or a pull request seen as an issue.
#[derive(Debug, Clone)]
enum Entry {
    Issue(IssueRecord),
    Pull(Box<PullRecord>),
}

impl Entry {
    fn number(&self) -> u64 {
        match self {
            Entry::Issue(issue) => issue.number,
            Entry::Pull(pull) => pull.number,
        }
    }

    fn is_open(&self) -> bool {
        match self {
            Entry::Issue(issue) => issue.state == PullState::Open,
            Entry::Pull(pull) => pull.state == PullState::Open,
        }
    }
}

fn state_name(state: PullState) -> &'static str {
    match state {
        PullState::Open => "open",
        PullState::Closed => "closed",
    }
}

/// The `issue` shape of an issue or a pull request.
fn render(urls: &Urls, store: &Store, full_name: &str, entry: &Entry) -> Value {
    let api = format!("{}/repos/{full_name}", urls.api);
    let (number, id, title, body, author, state, created, updated) = match entry {
        Entry::Issue(i) => (
            i.number,
            i.id,
            &i.title,
            &i.body,
            &i.author,
            i.state,
            i.created_at,
            i.updated_at,
        ),
        Entry::Pull(p) => (
            p.number,
            p.id,
            &p.title,
            &p.body,
            &p.author,
            p.state,
            p.created_at,
            p.updated_at,
        ),
    };
    let url = format!("{api}/issues/{number}");
    let html = match entry {
        Entry::Issue(_) => format!("{}/{full_name}/issues/{number}", urls.web),
        Entry::Pull(_) => format!("{}/{full_name}/pull/{number}", urls.web),
    };
    let mut value = json!({
        "id": id,
        "node_id": format!("I_{id}"),
        "url": url,
        "repository_url": api,
        "labels_url": format!("{url}/labels{{/name}}"),
        "comments_url": format!("{url}/comments"),
        "events_url": format!("{url}/events"),
        "html_url": html,
        "number": number,
        "state": state_name(state),
        "state_reason": null,
        "title": title,
        // Docs: an issue without a body has `body: null`.
        "body": if body.is_empty() { Value::Null } else { Value::String(body.clone()) },
        "user": json::user(urls, &store.user(author)),
        "labels": [],
        "assignee": null,
        "assignees": [],
        "milestone": null,
        "locked": false,
        "active_lock_reason": null,
        "comments": 0,
        "closed_at": null,
        "created_at": json::timestamp(created),
        "updated_at": json::timestamp(updated),
        "closed_by": null,
        "author_association": "OWNER"
    });
    // Docs issues/list-repository-issues: pull requests are listed too, told apart by the
    // `pull_request` key.
    if let Entry::Pull(pull) = entry {
        let html = format!("{}/{full_name}/pull/{}", urls.web, pull.number);
        value["pull_request"] = json!({
            "url": format!("{api}/pulls/{}", pull.number),
            "html_url": html,
            "diff_url": format!("{html}.diff"),
            "patch_url": format!("{html}.patch"),
            "merged_at": pull.merged.as_ref().map(|m| json::timestamp(m.at))
        });
    }
    value
}

pub(super) fn list(call: &Call<'_>, full_name: &str) -> Answer {
    let params = call.incoming.params();
    let state = params.get("state").map_or("open", String::as_str);
    if !matches!(state, "open" | "closed" | "all") {
        return Err(super::error(422, "Validation Failed"));
    }
    let mut store = call.store();
    let mut entries: Vec<Entry> = store
        .issues(full_name)
        .map_err(forge_error)?
        .into_iter()
        .map(Entry::Issue)
        .chain(
            store
                .pulls(full_name)
                .map_err(forge_error)?
                .into_iter()
                .map(|pull| Entry::Pull(Box::new(pull))),
        )
        .filter(|entry| match state {
            "open" => entry.is_open(),
            "closed" => !entry.is_open(),
            _ => true,
        })
        .collect();
    // Docs: `sort` (created, updated, comments; default created) and `direction` (default desc).
    // Numbers grow with creation time, so creation order is number order.
    entries.sort_by_key(Entry::number);
    if params.get("direction").is_none_or(|d| d != "asc") {
        entries.reverse();
    }
    let (page, link) = paginate(call, &entries);
    let items: Vec<Value> = page
        .iter()
        .map(|entry| render(&call.urls, &store, full_name, entry))
        .collect();
    Ok(with_link(Reply::json(200, &Value::Array(items)), link))
}

pub(super) fn get(call: &Call<'_>, full_name: &str, number: u64) -> Answer {
    let store = call.store();
    let issue = store.issue(full_name, number).map_err(forge_error)?;
    Ok(Reply::json(
        200,
        &render(&call.urls, &store, full_name, &Entry::Issue(issue)),
    ))
}

pub(super) fn create(call: &Call<'_>, full_name: &str) -> Answer {
    let body = body_object(call.incoming)?;
    let Some(title) = string_field(&body, "title")? else {
        return Err(super::validation(
            json!({"resource": "Issue", "field": "title", "code": "missing_field"}),
        ));
    };
    let text = string_field(&body, "body")?.unwrap_or_default();
    let mut store = call.store();
    let issue = store
        .open_issue(
            full_name,
            NewIssue {
                title,
                body: text,
                author: call.caller.login.clone(),
            },
        )
        .map_err(forge_error)?;
    // Docs issues/create: 201 Created with the issue.
    Ok(Reply::json(
        201,
        &render(&call.urls, &store, full_name, &Entry::Issue(issue)),
    ))
}

pub(super) fn update(call: &Call<'_>, full_name: &str, number: u64) -> Answer {
    let body = body_object(call.incoming)?;
    let title = string_field(&body, "title")?;
    let text = string_field(&body, "body")?;
    let mut store = call.store();
    let issue = store
        .update_issue(full_name, number, title, text)
        .map_err(forge_error)?;
    // Docs issues/update: 200 with the issue.
    Ok(Reply::json(
        200,
        &render(&call.urls, &store, full_name, &Entry::Issue(issue)),
    ))
}
