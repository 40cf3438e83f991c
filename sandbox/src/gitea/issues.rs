//! Gitea issue endpoints (`routers/api/v1/repo/issue.go`; swagger `issueListIssues`,
//! `issueGetIssue`, `issueCreateIssue`, `issueEditIssue`): the issues list returns pull requests
//! too unless `type=issues` is asked, each carrying `pull_request`. Labels, milestones,
//! assignees and comments are not modelled (empty, null or zero).

use serde_json::{Value, json};

use super::json::{self, Urls};
use super::{Answer, Call, body_object, error, forge_error, go_string, paginate, with_headers};
use crate::github::timestamp_of as timestamp;
use crate::server::Reply;
use crate::store::{IssueRecord, NewIssue, PullRecord, PullState, Store};

/// An issue, or a pull request seen through the issues endpoint.
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

    fn state(&self) -> PullState {
        match self {
            Entry::Issue(issue) => issue.state,
            Entry::Pull(pull) => pull.state,
        }
    }
}

fn urls(call: &Call<'_>) -> Urls {
    Urls {
        api: call.api(),
        web: call.web().to_owned(),
    }
}

/// swagger `Issue`.
fn render(call: &Call<'_>, store: &Store, full_name: &str, entry: &Entry) -> Value {
    let urls = urls(call);
    let (number, id, title, body, author, created, updated) = match entry {
        Entry::Issue(i) => (
            i.number,
            i.id,
            &i.title,
            &i.body,
            &i.author,
            i.created_at,
            i.updated_at,
        ),
        Entry::Pull(p) => (
            p.number,
            p.id,
            &p.title,
            &p.body,
            &p.author,
            p.created_at,
            p.updated_at,
        ),
    };
    let kind = match entry {
        Entry::Issue(_) => "issues",
        Entry::Pull(_) => "pulls",
    };
    let repo = store.repo(full_name).ok();
    let pull_request = match entry {
        Entry::Issue(_) => Value::Null,
        // swagger `PullRequestMeta`.
        Entry::Pull(pull) => json!({
            "merged": pull.merged.is_some(),
            "merged_at": pull.merged.as_ref().map(|m| timestamp(m.at)),
            "draft": false,
            "html_url": format!("{}/{full_name}/pulls/{number}", urls.web)
        }),
    };
    json!({
        "id": id,
        "url": format!("{}/repos/{full_name}/issues/{number}", urls.api),
        "html_url": format!("{}/{full_name}/{kind}/{number}", urls.web),
        "number": number,
        "user": json::user(&urls, &store.user(author)),
        "original_author": "",
        "original_author_id": 0,
        "title": title,
        "body": body,
        "ref": "",
        "assets": [],
        "labels": [],
        "milestone": null,
        "assignee": null,
        "assignees": null,
        "state": match entry.state() { PullState::Open => "open", PullState::Closed => "closed" },
        "is_locked": false,
        "comments": 0,
        "created_at": timestamp(created),
        "updated_at": timestamp(updated),
        "closed_at": null,
        "due_date": null,
        "pull_request": pull_request,
        "repository": repo.map(|r| json!({"id": r.id, "name": r.name, "owner": r.owner, "full_name": full_name})),
        "pin_order": 0
    })
}

pub(super) fn list(call: &Call<'_>, full_name: &str) -> Answer {
    let params = call.incoming.params();
    let state = params.get("state").map_or("open", String::as_str);
    if !matches!(state, "open" | "closed" | "all") {
        return Err(error(call.shared, 422, "[State]: invalid state"));
    }
    // swagger issueListIssues `type`: "filter by type (issues / pulls) if set".
    let kind = params.get("type").map(String::as_str);
    let mut store = call.store();
    let issues = store
        .issues(full_name)
        .map_err(|e| forge_error(call.shared, e))?;
    let pulls = store
        .pulls(full_name)
        .map_err(|e| forge_error(call.shared, e))?;
    let mut entries: Vec<Entry> = Vec::new();
    if kind != Some("pulls") {
        entries.extend(issues.into_iter().map(Entry::Issue));
    }
    if kind != Some("issues") {
        entries.extend(pulls.into_iter().map(|pull| Entry::Pull(Box::new(pull))));
    }
    entries.retain(|entry| match state {
        "open" => entry.state() == PullState::Open,
        "closed" => entry.state() == PullState::Closed,
        _ => true,
    });
    // Gitea's default order is newest first.
    entries.sort_by_key(|entry| std::cmp::Reverse(entry.number()));
    let (page, headers) = paginate(call, &entries);
    let items: Vec<Value> = page
        .iter()
        .map(|entry| render(call, &store, full_name, entry))
        .collect();
    Ok(with_headers(
        Reply::json(200, &Value::Array(items)),
        headers,
    ))
}

pub(super) fn get(call: &Call<'_>, full_name: &str, number: u64) -> Answer {
    let store = call.store();
    let issue = store
        .issue(full_name, number)
        .map_err(|e| forge_error(call.shared, e))?;
    Ok(Reply::json(
        200,
        &render(call, &store, full_name, &Entry::Issue(issue)),
    ))
}

pub(super) fn create(call: &Call<'_>, full_name: &str) -> Answer {
    let body = body_object(call)?;
    let Some(title) = go_string(call, &body, "title")?.filter(|t| !t.trim().is_empty()) else {
        return Err(error(call.shared, 422, "[Title]: Required"));
    };
    let text = go_string(call, &body, "body")?.unwrap_or_default();
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
        .map_err(|e| forge_error(call.shared, e))?;
    // swagger issueCreateIssue: 201 with the Issue.
    Ok(Reply::json(
        201,
        &render(call, &store, full_name, &Entry::Issue(issue)),
    ))
}

/// swagger issueEditIssue: answers **201** with the Issue, like the PR edit.
pub(super) fn update(call: &Call<'_>, full_name: &str, number: u64) -> Answer {
    let body = body_object(call)?;
    let title = go_string(call, &body, "title")?;
    let text = go_string(call, &body, "body")?;
    let mut store = call.store();
    let issue = store
        .update_issue(full_name, number, title, text)
        .map_err(|e| forge_error(call.shared, e))?;
    Ok(Reply::json(
        201,
        &render(call, &store, full_name, &Entry::Issue(issue)),
    ))
}
