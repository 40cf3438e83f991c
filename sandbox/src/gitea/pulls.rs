//! Gitea pull request endpoints (`routers/api/v1/repo/pull.go`): list, get, create, edit, merge,
//! is-merged, and the repository itself. Request bodies are read here with Go's key matching; the
//! rules are the store's.

use serde_json::Value;

use super::json::{self, Sides, Urls};
use super::{
    Answer, Call, body_object, error, forge_error, go_string, not_found, paginate, with_headers,
};
use crate::server::Reply;
use crate::store::{ForgeError, MergeMethod, MergeRequest, NewPull, PullRecord, PullState, Store};

fn urls(call: &Call<'_>) -> Urls {
    Urls {
        api: call.api(),
        web: call.web().to_owned(),
    }
}

fn render(call: &Call<'_>, store: &Store, pull: &PullRecord) -> Result<Value, Reply> {
    let urls = urls(call);
    let repo_json = |full_name: &str| -> Result<(Value, u64), Reply> {
        let repo = store
            .repo(full_name)
            .map_err(|e| forge_error(call.shared, e))?;
        let owner = store.user(&repo.owner);
        let open = store.open_pull_count(full_name);
        Ok((json::repo(&urls, repo, &owner, open), repo.id))
    };
    let (head_repo, head_repo_id) = repo_json(&pull.head_repo)?;
    let (base_repo, base_repo_id) = repo_json(&pull.base_repo)?;
    let sides = Sides {
        author: store.user(&pull.author),
        head_repo,
        head_repo_id,
        base_repo,
        base_repo_id,
    };
    let mergeable = store
        .mergeable(pull)
        .map_err(|e| forge_error(call.shared, e))?
        .unwrap_or(false);
    let merged_by = pull.merged.as_ref().map(|merged| store.user(&merged.by));
    Ok(json::pull(
        &urls,
        pull,
        &sides,
        mergeable,
        merged_by.as_ref(),
    ))
}

pub(super) fn get_repo(call: &Call<'_>, full_name: &str) -> Answer {
    let store = call.store();
    let repo = store
        .repo(full_name)
        .map_err(|e| forge_error(call.shared, e))?;
    let owner = store.user(&repo.owner);
    Ok(Reply::json(
        200,
        &json::repo(&urls(call), repo, &owner, store.open_pull_count(full_name)),
    ))
}

/// swagger repoListPullRequests: `state` (open, closed, all; default open), `page`, `limit`,
/// newest first. There is no head or base filter.
pub(super) fn list(call: &Call<'_>, full_name: &str) -> Answer {
    let params = call.incoming.params();
    let state = params.get("state").map_or("open", String::as_str);
    if !matches!(state, "open" | "closed" | "all") {
        return Err(error(call.shared, 422, "[State]: invalid state"));
    }
    let mut store = call.store();
    let pulls: Vec<PullRecord> = store
        .pulls(full_name)
        .map_err(|e| forge_error(call.shared, e))?
        .into_iter()
        .filter(|pull| {
            matches!(
                (state, pull.state),
                ("all", _) | ("open", PullState::Open) | ("closed", PullState::Closed)
            )
        })
        .collect();
    let (page, headers) = paginate(call, &pulls);
    let items = page
        .iter()
        .map(|pull| render(call, &store, pull))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(with_headers(
        Reply::json(200, &Value::Array(items)),
        headers,
    ))
}

pub(super) fn get(call: &Call<'_>, full_name: &str, number: u64) -> Answer {
    let mut store = call.store();
    let pull = store
        .pull(full_name, number)
        .map_err(|e| forge_error(call.shared, e))?;
    Ok(Reply::json(200, &render(call, &store, &pull)?))
}

/// Gitea's `ErrPullRequestAlreadyExists` text (models/issues/pull.go), answered with 409.
fn already_exists(
    call: &Call<'_>,
    existing: &PullRecord,
    base_repo_id: u64,
    head_repo_id: u64,
) -> Reply {
    error(
        call.shared,
        409,
        &format!(
            "pull request already exists for these targets [id: {}, issue_id: {}, head_repo_id: {head_repo_id}, base_repo_id: {base_repo_id}, head_branch: {}, base_branch: {}]",
            existing.id, existing.id, existing.head_branch, existing.base_branch
        ),
    )
}

/// The open PR with the same head and base as `probe`, if any.
fn open_twin(store: &mut Store, full_name: &str, probe: (&str, &str, &str)) -> Option<PullRecord> {
    let (head_repo, head_branch, base_branch) = probe;
    store.pulls(full_name).ok()?.into_iter().find(|pull| {
        pull.state == PullState::Open
            && pull.head_repo == head_repo
            && pull.head_branch == head_branch
            && pull.base_branch == base_branch
    })
}

fn repo_id(store: &Store, full_name: &str) -> u64 {
    store.repo(full_name).map_or(0, |repo| repo.id)
}

/// swagger repoCreatePullRequest: 201 PullRequest; 409 duplicate; 404 unknown branch or fork;
/// 422 validation (title required, nothing to merge).
pub(super) fn create(call: &Call<'_>, full_name: &str) -> Answer {
    let body = body_object(call)?;
    let Some(title) = go_string(call, &body, "title")?.filter(|t| !t.trim().is_empty()) else {
        return Err(error(call.shared, 422, "[Title]: Required"));
    };
    check_title(call, Some(&title))?;
    let (Some(head), Some(base)) = (
        go_string(call, &body, "head")?,
        go_string(call, &body, "base")?,
    ) else {
        return Err(error(call.shared, 422, "[Head Base]: Required"));
    };
    let text = go_string(call, &body, "body")?.unwrap_or_default();
    let mut store = call.store();
    // `head` is `branch` (same repository) or `owner:branch` (a fork in the network).
    let (head_repo, head_branch) = match head.split_once(':') {
        Some((owner, branch)) => match store.repo_in_network(full_name, owner) {
            Some(repo) => (repo, branch.to_owned()),
            None => return Err(not_found(call.shared)),
        },
        None => (full_name.to_owned(), head),
    };
    let new = NewPull {
        head_repo: head_repo.clone(),
        head_branch: head_branch.clone(),
        base_branch: base.clone(),
        title,
        body: text,
        author: call.caller.login.clone(),
    };
    let pull = match store.open_pull(full_name, new) {
        Ok(pull) => pull,
        Err(ForgeError::PullExists { .. }) => {
            let twin = open_twin(&mut store, full_name, (&head_repo, &head_branch, &base))
                .ok_or_else(|| error(call.shared, 500, "duplicate without a twin"))?;
            let (base_id, head_id) = (repo_id(&store, full_name), repo_id(&store, &head_repo));
            return Err(already_exists(call, &twin, base_id, head_id));
        }
        // pull.go CreatePullRequest (1.22): nothing to merge is a 422.
        Err(ForgeError::NoCommits { .. }) => {
            return Err(error(
                call.shared,
                422,
                "There are no changes between the head and the base",
            ));
        }
        Err(other) => return Err(forge_error(call.shared, other)),
    };
    Ok(Reply::json(201, &render(call, &store, &pull)?))
}

/// Gitea stores a PR's title in the issue's `name` column, a VARCHAR(255) (models/issues/issue.go,
/// `Title string xorm:"name"`); a longer one fails in the database (MySQL, PostgreSQL) with a 500.
/// The description is LONGTEXT, without a limit.
fn check_title(call: &Call<'_>, title: Option<&str>) -> Result<(), Reply> {
    if title.is_some_and(|t| t.chars().count() > 255) {
        return Err(error(
            call.shared,
            500,
            "Data too long for column 'name' at row 1",
        ));
    }
    Ok(())
}

/// swagger repoEditPullRequest: answers **201** (not 200) with the PullRequest.
pub(super) fn update(call: &Call<'_>, full_name: &str, number: u64) -> Answer {
    let body = body_object(call)?;
    let title = go_string(call, &body, "title")?;
    check_title(call, title.as_deref())?;
    let text = go_string(call, &body, "body")?;
    let state = match go_string(call, &body, "state")?.as_deref() {
        None => None,
        Some("open") => Some(PullState::Open),
        Some("closed") => Some(PullState::Closed),
        Some(_) => return Err(error(call.shared, 422, "[State]: invalid state")),
    };
    let mut store = call.store();
    let current = store
        .pull(full_name, number)
        .map_err(|e| forge_error(call.shared, e))?;
    let pull = match store.update_pull(full_name, number, title, text, state) {
        Ok(pull) => pull,
        Err(ForgeError::PullExists { .. }) => {
            let twin = open_twin(
                &mut store,
                full_name,
                (
                    &current.head_repo,
                    &current.head_branch,
                    &current.base_branch,
                ),
            )
            .ok_or_else(|| error(call.shared, 500, "duplicate without a twin"))?;
            let (base_id, head_id) = (
                repo_id(&store, full_name),
                repo_id(&store, &current.head_repo),
            );
            return Err(already_exists(call, &twin, base_id, head_id));
        }
        Err(other) => return Err(forge_error(call.shared, other)),
    };
    Ok(Reply::json(201, &render(call, &store, &pull)?))
}

/// Gitea's default merge commit title for the merge style (`GetDefaultMergeMessage`).
fn default_title(pull: &PullRecord) -> String {
    let head = if pull.head_repo == pull.base_repo {
        pull.head_branch.clone()
    } else {
        format!("{}:{}", pull.head_repo, pull.head_branch)
    };
    format!(
        "Merge pull request '{}' (#{}) from {head} into {}",
        pull.title, pull.number, pull.base_branch
    )
}

/// swagger repoMergePullRequest, in the order of pull.go `MergePullRequest`:
/// 404 unknown; 405 "PR already merged" (empty message); 404 closed (`ErrIsClosed`); 405 "Please
/// try again later" (not in a mergeable state); 405 disallowed style; 409 "head out of date";
/// 409 "merge push out of date" (the base moved); 200 with an EMPTY body.
pub(super) fn merge(call: &Call<'_>, full_name: &str, number: u64) -> Answer {
    let body = body_object(call)?;
    let style = go_string(call, &body, "Do")?.unwrap_or_default();
    let method = match style.as_str() {
        "" | "merge" => MergeMethod::Merge,
        "squash" => MergeMethod::Squash,
        "rebase" | "rebase-merge" | "fast-forward-only" => MergeMethod::Rebase,
        "manually-merged" => {
            return Err(error(
                call.shared,
                405,
                "manually-merged is not allowed an allowed merge style for this repository",
            ));
        }
        _ => return Err(error(call.shared, 422, "[Do]: In")),
    };
    let (title_key, message_key) = call.flavor.merge_text_keys();
    let title = go_string(call, &body, title_key)?.unwrap_or_default();
    let message = go_string(call, &body, message_key)?.unwrap_or_default();
    let expected_head = go_string(call, &body, "head_commit_id")?.filter(|h| !h.is_empty());
    let mut store = call.store();
    let pull = store
        .pull(full_name, number)
        .map_err(|e| forge_error(call.shared, e))?;
    if pull.merged.is_some() {
        return Err(error(call.shared, 405, ""));
    }
    if pull.state == PullState::Closed {
        return Err(not_found(call.shared));
    }
    if store
        .mergeable(&pull)
        .map_err(|e| forge_error(call.shared, e))?
        == Some(false)
    {
        return Err(error(call.shared, 405, "Please try again later"));
    }
    let settings = store
        .repo(full_name)
        .map_err(|e| forge_error(call.shared, e))?;
    let allowed = match method {
        MergeMethod::Merge => settings.allow_merge_commit,
        MergeMethod::Squash => settings.allow_squash_merge,
        MergeMethod::Rebase => settings.allow_rebase_merge,
    };
    if !allowed {
        return Err(error(
            call.shared,
            405,
            &format!(
                "{style_name} is not allowed an allowed merge style for this repository",
                style_name = if style.is_empty() {
                    "merge"
                } else {
                    style.as_str()
                }
            ),
        ));
    }
    // pull.go: the title is MergeTitleField trimmed (else the default message), the message is
    // appended after a blank line when MergeMessageField is not empty.
    let title = match title.trim() {
        "" => default_title(&pull),
        text => text.to_owned(),
    };
    let request = MergeRequest {
        merger: call.caller.login.clone(),
        expected_head,
        method,
        title: Some(title),
        message: Some(message.trim().to_owned()),
    };
    match store.merge_pull(full_name, number, request) {
        Ok(_) => Ok(Reply {
            status: 200,
            headers: Vec::new(),
            body: Vec::new(),
        }),
        Err(ForgeError::HeadMoved) => Err(error(call.shared, 409, "head out of date")),
        Err(ForgeError::BaseMoved) => Err(error(call.shared, 409, "merge push out of date")),
        Err(ForgeError::NotMergeable) => Err(error(call.shared, 405, "Please try again later")),
        Err(other) => Err(forge_error(call.shared, other)),
    }
}

/// swagger repoPullRequestIsMerged: 204 merged, 404 not.
pub(super) fn is_merged(call: &Call<'_>, full_name: &str, number: u64) -> Answer {
    let pull = call
        .store()
        .pull(full_name, number)
        .map_err(|e| forge_error(call.shared, e))?;
    if pull.merged.is_some() {
        Ok(Reply {
            status: 204,
            headers: Vec::new(),
            body: Vec::new(),
        })
    } else {
        Err(not_found(call.shared))
    }
}
