//! GitLab merge request endpoints over the store's pull requests: list, get, create (409 on a
//! duplicate, with GitLab's array message), update, and merge with the `sha` guard (409), 405 when
//! it cannot be merged (not open, merge commits off) and 406 on conflicts. Bodies follow the
//! "Example response" blocks of GitLab's docs (copies in tests/fixtures/scm/gitlab).

use serde_json::{Value, json};

use super::{Answer, Call, message, missing, paginate, param_error, timestamp, user};
use crate::server::Reply;
use crate::store::{ForgeError, MergeMethod, MergeRequest, NewPull, PullRecord, PullState, Store};

/// GitLab's answer to each refusal of the store, for endpoints other than merge.
fn forge_error(error: ForgeError) -> Reply {
    match error {
        ForgeError::NotFound => message(404, "404 Not found"),
        ForgeError::MissingBranch { field } => Reply::json(
            422,
            &json!({"message": [format!("{} branch does not exist", if field == "head" { "Source" } else { "Target" })]}),
        ),
        ForgeError::NoCommits { .. } => Reply::json(
            422,
            &json!({"message": ["Source branch has no commits that are not in the target branch"]}),
        ),
        ForgeError::Invalid { message: text, .. } => Reply::json(422, &json!({"message": [text]})),
        ForgeError::Other(cause) => message(500, &format!("500 Internal Server Error: {cause:#}")),
        other => message(422, &other.to_string()),
    }
}

fn state_name(pull: &PullRecord) -> &'static str {
    match (pull.state, &pull.merged) {
        (PullState::Open, _) => "opened",
        (PullState::Closed, Some(_)) => "merged",
        (PullState::Closed, None) => "closed",
    }
}

/// One merge request in GitLab's `MergeRequest` shape.
fn render(call: &Call<'_>, store: &Store, pull: &PullRecord) -> Result<Value, Reply> {
    let base = store.repo(&pull.base_repo).map_err(forge_error)?;
    let head = store.repo(&pull.head_repo).map_err(forge_error)?;
    let mergeable = store.mergeable(pull).map_err(forge_error)?;
    let detailed = match (pull.state, mergeable) {
        (PullState::Closed, _) => "not_open",
        (_, Some(false)) => "conflict",
        // A project without merge commits is fast-forward only here: it wants a rebase.
        _ if !base.allow_merge_commit => "need_rebase",
        _ => "mergeable",
    };
    let full_path = base.full_name();
    let web_url = format!(
        "{}/{full_path}/-/merge_requests/{}",
        call.web(),
        pull.number
    );
    let merged_by = pull
        .merged
        .as_ref()
        .map(|merged| user(call, &store.user(&merged.by)));
    Ok(json!({
        "id": pull.id,
        "iid": pull.number,
        "project_id": base.id,
        "title": pull.title,
        "description": pull.body,
        "state": state_name(pull),
        "imported": false,
        "imported_from": "none",
        "created_at": timestamp(pull.created_at),
        "updated_at": timestamp(pull.updated_at),
        "merged_by": merged_by.clone(),
        "merge_user": merged_by,
        "merged_at": pull.merged.as_ref().map(|merged| timestamp(merged.at)),
        "closed_by": null,
        "closed_at": if pull.merged.is_none() { pull.closed_at.map(timestamp) } else { None },
        "target_branch": pull.base_branch,
        "source_branch": pull.head_branch,
        "user_notes_count": 0,
        "upvotes": 0,
        "downvotes": 0,
        "author": user(call, &store.user(&pull.author)),
        "assignees": [],
        "assignee": null,
        "reviewers": [],
        "source_project_id": head.id,
        "target_project_id": base.id,
        // Label names as strings (objects only with `with_labels_details=true`; docs
        // https://docs.gitlab.com/api/merge_requests/#list-merge-requests).
        "labels": pull.labels,
        "draft": false,
        "work_in_progress": false,
        "milestone": null,
        "merge_when_pipeline_succeeds": false,
        "merge_status": if detailed == "mergeable" { "can_be_merged" } else { "cannot_be_merged" },
        "detailed_merge_status": detailed,
        "merge_error": null,
        "sha": pull.head_sha,
        "merge_commit_sha": pull.merged.as_ref().map(|merged| merged.sha.clone()),
        "squash_commit_sha": null,
        "discussion_locked": null,
        "should_remove_source_branch": false,
        "force_remove_source_branch": false,
        "reference": format!("!{}", pull.number),
        "references": {
            "short": format!("!{}", pull.number),
            "relative": format!("!{}", pull.number),
            "full": format!("{full_path}!{}", pull.number)
        },
        "web_url": web_url,
        "time_stats": {"time_estimate": 0, "total_time_spent": 0, "human_time_estimate": null, "human_total_time_spent": null},
        "squash": false,
        "task_completion_status": {"count": 0, "completed_count": 0},
        "has_conflicts": mergeable == Some(false),
        "blocking_discussions_resolved": true,
        "diff_refs": {"base_sha": pull.base_sha, "head_sha": pull.head_sha, "start_sha": pull.base_sha}
    }))
}

pub(super) fn list(call: &Call<'_>, full_name: &str) -> Answer {
    let state = call.param("state").unwrap_or_else(|| "all".to_owned());
    if !matches!(
        state.as_str(),
        "opened" | "closed" | "locked" | "merged" | "all"
    ) {
        return Err(param_error("state does not have a valid value"));
    }
    let source = call.param("source_branch");
    let target = call.param("target_branch");
    let mut store = call.store();
    let pulls: Vec<PullRecord> = store
        .pulls(full_name)
        .map_err(forge_error)?
        .into_iter()
        .filter(|pull| state == "all" || state_name(pull) == state)
        .filter(|pull| source.as_ref().is_none_or(|s| pull.head_branch == *s))
        .filter(|pull| target.as_ref().is_none_or(|t| pull.base_branch == *t))
        .collect();
    let items = pulls
        .iter()
        .map(|pull| render(call, &store, pull))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(paginate(call, items))
}

pub(super) fn get(call: &Call<'_>, full_name: &str, iid: u64) -> Answer {
    let mut store = call.store();
    let pull = store.pull(full_name, iid).map_err(forge_error)?;
    Ok(Reply::json(200, &render(call, &store, &pull)?))
}

pub(super) fn create(call: &Call<'_>, full_name: &str) -> Answer {
    if let Some(text) = missing(call, &["source_branch", "target_branch", "title"]) {
        return Err(param_error(&text));
    }
    check_lengths(
        call.param("title").as_deref(),
        call.param("description").as_deref(),
    )?;
    let field = |key: &str| call.param(key).unwrap_or_default();
    let mut store = call.store();
    // `target_project_id` opens the MR from this project (a fork) into its parent.
    let this_id = store.repo(full_name).map_err(forge_error)?.id;
    let target = match call.param("target_project_id") {
        Some(id) if id != this_id.to_string() => {
            let parent = store.repo(full_name).map_err(forge_error)?.parent.clone();
            match parent.filter(|p| store.repo(p).is_ok_and(|r| r.id.to_string() == id)) {
                Some(parent) => parent,
                None => return Err(message(404, "404 Project Not Found")),
            }
        }
        _ => full_name.to_owned(),
    };
    let new = NewPull {
        head_repo: full_name.to_owned(),
        head_branch: field("source_branch"),
        base_branch: field("target_branch"),
        title: field("title"),
        body: field("description"),
        author: call.caller.login.clone(),
    };
    let pull = match store.open_pull(&target, new.clone()) {
        Ok(pull) => pull,
        // Observed 409 when an open MR has this source and target branch; `message` is an array
        // naming the existing MR (observed; GitLab docs, doc/api/merge_requests.md "Create MR").
        Err(ForgeError::PullExists { .. }) => {
            let existing = store
                .pulls(&target)
                .map_err(forge_error)?
                .into_iter()
                .find(|pull| {
                    pull.state == PullState::Open
                        && pull.head_repo == new.head_repo
                        && pull.head_branch == new.head_branch
                        && pull.base_branch == new.base_branch
                })
                .map_or(0, |pull| pull.number);
            return Err(Reply::json(
                409,
                &json!({"message": [format!("Another open merge request already exists for this source branch: !{existing}")]}),
            ));
        }
        Err(error) => return Err(forge_error(error)),
    };
    Ok(Reply::json(201, &render(call, &store, &pull)?))
}

/// GitLab's validation of issuable text (app/models/concerns/issuable.rb: `TITLE_LENGTH_MAX = 255`,
/// `DESCRIPTION_LENGTH_MAX = 1.megabyte`), answered as a 400 with the model's errors by field.
fn check_lengths(title: Option<&str>, description: Option<&str>) -> Result<(), Reply> {
    for (field, text, max) in [
        ("title", title, 255),
        ("description", description, 1_048_576),
    ] {
        if text.is_some_and(|t| t.chars().count() > max) {
            return Err(Reply::json(
                400,
                &json!({"message": {field: [format!("is too long (maximum is {max} characters)")]}}),
            ));
        }
    }
    Ok(())
}

pub(super) fn update(call: &Call<'_>, full_name: &str, iid: u64) -> Answer {
    let title = call.param("title");
    let description = call.param("description");
    let state = match call.param("state_event").as_deref() {
        None => None,
        Some("close") => Some(PullState::Closed),
        Some("reopen") => Some(PullState::Open),
        Some(_) => return Err(param_error("state_event does not have a valid value")),
    };
    check_lengths(title.as_deref(), description.as_deref())?;
    if title.is_none() && description.is_none() && state.is_none() {
        return Err(param_error(
            "title, description, state_event, target_branch are missing, at least one parameter must be provided",
        ));
    }
    let mut store = call.store();
    let pull = match store.update_pull(full_name, iid, title, description, state) {
        Ok(pull) => pull,
        Err(ForgeError::PullExists { .. }) => {
            return Err(Reply::json(
                409,
                &json!({"message": ["Another open merge request already exists for this source branch"]}),
            ));
        }
        Err(error) => return Err(forge_error(error)),
    };
    Ok(Reply::json(200, &render(call, &store, &pull)?))
}

pub(super) fn merge(call: &Call<'_>, full_name: &str, iid: u64) -> Answer {
    let mut store = call.store();
    let pull = store.pull(full_name, iid).map_err(forge_error)?;
    // Docs "Merge a merge request": 405 when it cannot be merged — an MR that is not open
    // (already merged or closed) included.
    if pull.state != PullState::Open {
        return Err(message(405, "405 Method Not Allowed"));
    }
    let squash = call.flag("squash");
    // Without `merge_commit_message`, GitLab's default merge commit message template.
    let text = call
        .param(if squash {
            "squash_commit_message"
        } else {
            "merge_commit_message"
        })
        .unwrap_or_else(|| {
            format!(
                "Merge branch '{}' into '{}'\n\n{}\n\nSee merge request {full_name}!{iid}",
                pull.head_branch, pull.base_branch, pull.title
            )
        });
    let request = MergeRequest {
        merger: call.caller.login.clone(),
        expected_head: call.param("sha"),
        method: if squash {
            MergeMethod::Squash
        } else {
            MergeMethod::Merge
        },
        title: Some(text),
        message: Some(String::new()),
    };
    match store.merge_pull(full_name, iid, request) {
        Ok(_) => {}
        // Docs: 409 "if sha parameter is passed and does not match the HEAD of the source".
        Err(ForgeError::HeadMoved) => {
            return Err(message(
                409,
                &format!(
                    "SHA does not match HEAD of source branch: {}",
                    store
                        .pull(full_name, iid)
                        .map_or(pull.head_sha, |p| p.head_sha)
                ),
            ));
        }
        // A fast-forward project (merge commits off) that needs a rebase answers 405.
        Err(ForgeError::MethodNotAllowed(_)) => {
            return Err(message(405, "405 Method Not Allowed"));
        }
        // Docs: 406 "Branch cannot be merged" when it has conflicts.
        Err(ForgeError::NotMergeable | ForgeError::BaseMoved) => {
            return Err(message(406, "Branch cannot be merged"));
        }
        Err(error) => return Err(forge_error(error)),
    }
    let merged = store.pull(full_name, iid).map_err(forge_error)?;
    Ok(Reply::json(200, &render(call, &store, &merged)?))
}
