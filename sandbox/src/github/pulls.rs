//! GitHub pull request endpoints: list (with GitHub's head-filter quirk), get, create, update,
//! merge. Request bodies are read here; the rules are the store's.

use serde_json::{Value, json};

use super::json::{self, PullContext};
use super::{Answer, Call, body_object, error, forge_error, paginate, string_field, with_link};
use crate::server::Reply;
use crate::store::{MergeMethod, MergeRequest, NewPull, PullRecord, PullState, Store};

/// Renders one PR in the simple (list) or full shape.
fn render(call: &Call<'_>, store: &Store, pull: &PullRecord, full: bool) -> Result<Value, Reply> {
    let repo_json = |full_name: &str| -> Result<(Value, crate::store::User), Reply> {
        let repo = store.repo(full_name).map_err(forge_error)?;
        let owner = store.user(&repo.owner);
        let open = store.open_pull_count(full_name);
        Ok((json::repo(&call.urls, repo, &owner, open), owner))
    };
    let (head_repo, head_owner) = repo_json(&pull.head_repo)?;
    let (base_repo, base_owner) = repo_json(&pull.base_repo)?;
    let author = store.user(&pull.author);
    let context = PullContext {
        author: &author,
        head_repo,
        base_repo,
        head_owner: &head_owner,
        base_owner: &base_owner,
    };
    if !full {
        return Ok(json::pull_simple(&call.urls, pull, &context));
    }
    let mergeable = store.mergeable(pull).map_err(forge_error)?;
    let merged_by = pull.merged.as_ref().map(|merged| store.user(&merged.by));
    Ok(json::pull_full(
        &call.urls,
        pull,
        &context,
        mergeable,
        merged_by.as_ref(),
    ))
}

pub(super) fn list(call: &Call<'_>, full_name: &str) -> Answer {
    let params = call.incoming.params();
    let state = params.get("state").map_or("open", String::as_str);
    if !matches!(state, "open" | "closed" | "all") {
        return Err(error(422, "Validation Failed"));
    }
    // GitHub's `head` filter is `user:ref-name` or `organization:ref-name`; a value without the
    // owner prefix is silently ignored and every PR is returned (observed, many reports; see
    // docs.github.com/rest/pulls/pulls#list-pull-requests, parameter `head`). The sandbox reproduces that.
    let head = params.get("head").filter(|head| head.contains(':'));
    let base = params.get("base");
    let ascending = params.get("direction").is_some_and(|d| d == "asc");
    let mut store = call.store();
    let mut pulls: Vec<PullRecord> = store
        .pulls(full_name)
        .map_err(forge_error)?
        .into_iter()
        .filter(|pull| {
            matches!(
                (state, pull.state),
                ("all", _) | ("open", PullState::Open) | ("closed", PullState::Closed)
            )
        })
        .filter(|pull| head.is_none_or(|head| pull.head_label().eq_ignore_ascii_case(head)))
        .filter(|pull| base.is_none_or(|base| pull.base_branch == *base))
        .collect();
    if ascending {
        pulls.reverse();
    }
    let (page, link) = paginate(call, &pulls);
    let items = page
        .iter()
        .map(|pull| render(call, &store, pull, false))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(with_link(Reply::json(200, &Value::Array(items)), link))
}

pub(super) fn get(call: &Call<'_>, full_name: &str, number: u64) -> Answer {
    let mut store = call.store();
    let pull = store.pull(full_name, number).map_err(forge_error)?;
    Ok(Reply::json(200, &render(call, &store, &pull, true)?))
}

pub(super) fn create(call: &Call<'_>, full_name: &str) -> Answer {
    let body = body_object(call.incoming)?;
    let title = string_field(&body, "title")?;
    let text = string_field(&body, "body")?.unwrap_or_default();
    let (Some(head), Some(base)) = (string_field(&body, "head")?, string_field(&body, "base")?)
    else {
        let missing = if body.contains_key("head") {
            "base"
        } else {
            "head"
        };
        return Err(super::validation(
            json!({"resource": "PullRequest", "field": missing, "code": "missing_field"}),
        ));
    };
    let Some(title) = title else {
        return Err(super::validation(
            json!({"resource": "PullRequest", "field": "title", "code": "missing_field"}),
        ));
    };
    check_lengths(Some(&title), Some(&text))?;
    let mut store = call.store();
    // `head` is `branch` for the same repository or `owner:branch` for a fork in its network.
    let (head_repo, head_branch) = match head.split_once(':') {
        Some((owner, branch)) => match store.repo_in_network(full_name, owner) {
            Some(repo) => (repo, branch.to_owned()),
            None => {
                return Err(super::validation(
                    json!({"resource": "PullRequest", "field": "head", "code": "invalid"}),
                ));
            }
        },
        None => (full_name.to_owned(), head),
    };
    let pull = store
        .open_pull(
            full_name,
            NewPull {
                head_repo,
                head_branch,
                base_branch: base,
                title,
                body: text,
                author: call.caller.login.clone(),
            },
        )
        .map_err(forge_error)?;
    let mut reply = Reply::json(201, &render(call, &store, &pull, true)?);
    reply.set_header(
        "location",
        &format!("{}/repos/{full_name}/pulls/{}", call.urls.api, pull.number),
    );
    Ok(reply)
}

/// GitHub's length validation of PR text: 422 "title is too long (maximum is 256 characters)" and
/// "body is too long (maximum is 65536 characters)" (observed; the REST docs of pulls/create state
/// no limit). Characters, not bytes.
fn check_lengths(title: Option<&str>, body: Option<&str>) -> Result<(), Reply> {
    for (field, text, max) in [("title", title, 256), ("body", body, 65_536)] {
        if text.is_some_and(|t| t.chars().count() > max) {
            return Err(super::validation(json!({
                "resource": "Issue", "code": "custom", "field": field,
                "message": format!("{field} is too long (maximum is {max} characters)")
            })));
        }
    }
    Ok(())
}

pub(super) fn update(call: &Call<'_>, full_name: &str, number: u64) -> Answer {
    let body = body_object(call.incoming)?;
    let title = string_field(&body, "title")?;
    let text = string_field(&body, "body")?;
    let state = match string_field(&body, "state")?.as_deref() {
        None => None,
        Some("open") => Some(PullState::Open),
        Some("closed") => Some(PullState::Closed),
        Some(_) => {
            return Err(super::validation(
                json!({"resource": "PullRequest", "field": "state", "code": "invalid"}),
            ));
        }
    };
    check_lengths(title.as_deref(), text.as_deref())?;
    let mut store = call.store();
    let pull = store
        .update_pull(full_name, number, title, text, state)
        .map_err(forge_error)?;
    Ok(Reply::json(200, &render(call, &store, &pull, true)?))
}

pub(super) fn merge(call: &Call<'_>, full_name: &str, number: u64) -> Answer {
    let body = body_object(call.incoming)?;
    let method = match string_field(&body, "merge_method")?.as_deref() {
        None | Some("merge") => MergeMethod::Merge,
        Some("squash") => MergeMethod::Squash,
        Some("rebase") => MergeMethod::Rebase,
        Some(_) => {
            return Err(super::validation(
                json!({"resource": "PullRequest", "field": "merge_method", "code": "invalid"}),
            ));
        }
    };
    let request = MergeRequest {
        merger: call.caller.login.clone(),
        expected_head: string_field(&body, "sha")?,
        method,
        title: string_field(&body, "commit_title")?,
        message: string_field(&body, "commit_message")?,
    };
    let sha = call
        .store()
        .merge_pull(full_name, number, request)
        .map_err(forge_error)?;
    Ok(Reply::json(
        200,
        &json!({"sha": sha, "merged": true, "message": "Pull Request successfully merged"}),
    ))
}

/// `GET …/pulls/{n}/merge`: 204 when merged, 404 when not.
pub(super) fn is_merged(call: &Call<'_>, full_name: &str, number: u64) -> Answer {
    let pull = call.store().pull(full_name, number).map_err(forge_error)?;
    if pull.merged.is_some() {
        Ok(Reply {
            status: 204,
            headers: Vec::new(),
            body: Vec::new(),
        })
    } else {
        Err(super::not_found())
    }
}
