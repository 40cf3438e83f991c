//! Bitbucket Data Center pull request resources (REST reference "Pull Requests"): list (with
//! `state`, `direction` and `at`), get, create, update (`version` required), the merge check and
//! the merge (`?version=`). The rules are the store's; the version is the dialect's.

use serde_json::{Value, json};

use super::{Answer, Call, body_object, error, forge_error, page};
use crate::server::Reply;
use crate::store::{ForgeError, MergeMethod, MergeRequest, NewPull, PullRecord, PullState, Store};

const HEADS: &str = "refs/heads/";
const OUT_OF_DATE: &str =
    "You are attempting to modify a pull request based on out-of-date information.";

/// `refs/heads/x` → `x`; a bare name is taken as a branch.
fn branch_of(id: &str) -> &str {
    id.strip_prefix(HEADS).unwrap_or(id)
}

fn state_of(pull: &PullRecord) -> &'static str {
    match (pull.state, pull.merged.is_some()) {
        (PullState::Open, _) => "OPEN",
        (PullState::Closed, true) => "MERGED",
        (PullState::Closed, false) => "DECLINED",
    }
}

/// `RestRepository` as a ref shows it: the project key is the store's owner.
fn repository(call: &Call<'_>, store: &Store, full_name: &str) -> Value {
    let (owner, name) = full_name.split_once('/').unwrap_or((full_name, full_name));
    let id = store.repo(full_name).map_or(0, |repo| repo.id);
    let web = call.web();
    json!({
        "slug": name, "id": id, "name": name, "scmId": "git", "state": "AVAILABLE",
        "forkable": true, "public": false,
        "project": {"key": owner, "id": id, "name": owner, "type": "NORMAL"},
        "links": {
            "clone": [{"href": format!("{web}/scm/{}/{name}.git", owner.to_ascii_lowercase()), "name": "http"}],
            "self": [{"href": format!("{web}/projects/{owner}/repos/{name}/browse")}]
        }
    })
}

fn participant(login: &str, role: &str) -> Value {
    json!({
        "user": {"name": login, "slug": login, "displayName": login, "active": true, "type": "NORMAL"},
        "role": role, "approved": false, "status": "UNAPPROVED"
    })
}

/// `RestPullRequest`.
fn render(call: &Call<'_>, store: &Store, full_name: &str, pull: &PullRecord) -> Value {
    let (owner, name) = full_name.split_once('/').unwrap_or((full_name, full_name));
    let state = state_of(pull);
    let mut value = json!({
        "id": pull.number,
        "version": call.version(full_name, pull),
        "title": pull.title,
        "description": pull.body,
        "state": state,
        "open": state == "OPEN",
        "closed": state != "OPEN",
        "createdDate": pull.created_at * 1000,
        "updatedDate": pull.updated_at * 1000,
        "fromRef": {
            "id": format!("{HEADS}{}", pull.head_branch),
            "displayId": pull.head_branch,
            "latestCommit": pull.head_sha,
            "type": "BRANCH",
            "repository": repository(call, store, &pull.head_repo),
        },
        "toRef": {
            "id": format!("{HEADS}{}", pull.base_branch),
            "displayId": pull.base_branch,
            "latestCommit": pull.base_sha,
            "type": "BRANCH",
            "repository": repository(call, store, full_name),
        },
        "locked": false,
        "author": participant(&pull.author, "AUTHOR"),
        "reviewers": [],
        "participants": [],
        "links": {"self": [{"href": format!(
            "{}/projects/{owner}/repos/{name}/pull-requests/{}", call.web(), pull.number
        )}]},
    });
    if let Some(merged) = &pull.merged {
        value["properties"] = json!({
            "mergeResult": {"outcome": "CLEAN", "current": true},
            "mergeCommit": {"id": merged.sha, "displayId": &merged.sha[..11.min(merged.sha.len())]},
        });
    }
    value
}

/// "Get pull requests for repository": `state` (OPEN default, DECLINED, MERGED, ALL),
/// `direction` (INCOMING default: `at` filters the target; OUTGOING: the source), `at` a ref id,
/// newest first, paged.
pub(super) fn list(call: &Call<'_>, full_name: &str) -> Answer {
    let params = call.incoming.params();
    let state = params
        .get("state")
        .map_or("OPEN", String::as_str)
        .to_owned();
    let outgoing = params
        .get("direction")
        .is_some_and(|d| d.eq_ignore_ascii_case("OUTGOING"));
    let at = params.get("at").map(|at| branch_of(at).to_owned());
    let mut store = call.store();
    let pulls = store.pulls(full_name).map_err(forge_error)?;
    let items: Vec<Value> = pulls
        .iter()
        .filter(|pull| state.eq_ignore_ascii_case("ALL") || state_of(pull) == state)
        .filter(|pull| {
            at.as_deref().is_none_or(|at| {
                if outgoing {
                    pull.head_branch == at
                } else {
                    pull.base_branch == at
                }
            })
        })
        .map(|pull| render(call, &store, full_name, pull))
        .collect();
    Ok(Reply::json(200, &page(call, items)))
}

pub(super) fn get(call: &Call<'_>, full_name: &str, number: u64) -> Answer {
    let mut store = call.store();
    let pull = store.pull(full_name, number).map_err(forge_error)?;
    Ok(Reply::json(200, &render(call, &store, full_name, &pull)))
}

fn string(body: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    body.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// A PR title over 255 characters (`sta_pull_request.title`) is refused.
fn check_title(title: Option<&str>) -> Result<(), Reply> {
    if title.is_some_and(|t| t.chars().count() > 255) {
        return Err(error(
            400,
            "title must be at most 255 characters",
            "com.atlassian.bitbucket.validation.ArgumentValidationException",
        ));
    }
    Ok(())
}

/// "Create pull request": `title`, `description`, `fromRef` (`id` and its `repository`, which
/// may be a fork), `toRef`. 201; 409 DuplicatePullRequestException; 409 EmptyPullRequestException
/// when the source has nothing the target lacks; 404 for a missing branch.
pub(super) fn create(call: &Call<'_>, full_name: &str) -> Answer {
    let body = body_object(call)?;
    let Some(title) = string(&body, "title").filter(|t| !t.trim().is_empty()) else {
        return Err(error(
            400,
            "title: a title is required",
            "com.atlassian.bitbucket.validation.ArgumentValidationException",
        ));
    };
    check_title(Some(&title))?;
    let ref_id = |end: &str| {
        body.get(end)
            .and_then(|r| r.get("id"))
            .and_then(Value::as_str)
            .map(|id| branch_of(id).to_owned())
    };
    let (Some(head), Some(base)) = (ref_id("fromRef"), ref_id("toRef")) else {
        return Err(error(
            400,
            "fromRef and toRef are required",
            "com.atlassian.bitbucket.validation.ArgumentValidationException",
        ));
    };
    let mut store = call.store();
    // The source repository: `fromRef.repository` (project key and slug), else this one.
    let from_repo = body.get("fromRef").and_then(|r| r.get("repository"));
    let head_repo = match from_repo {
        Some(repo) => {
            let key = repo
                .pointer("/project/key")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let slug = repo.get("slug").and_then(Value::as_str).unwrap_or_default();
            store
                .repo_names()
                .into_iter()
                .find(|name| name.eq_ignore_ascii_case(&format!("{key}/{slug}")))
                .ok_or_else(|| super::not_found("The source repository does not exist."))?
        }
        None => full_name.to_owned(),
    };
    let new = NewPull {
        head_repo,
        head_branch: head,
        base_branch: base,
        title,
        body: string(&body, "description").unwrap_or_default(),
        author: call.caller.login.clone(),
    };
    match store.open_pull(full_name, new) {
        Ok(pull) => Ok(Reply::json(201, &render(call, &store, full_name, &pull))),
        Err(ForgeError::PullExists { .. }) => Err(error(
            409,
            "Only one pull request may be open for a given source and target branch",
            "com.atlassian.bitbucket.pull.DuplicatePullRequestException",
        )),
        Err(ForgeError::NoCommits { base, head }) => Err(error(
            409,
            &format!(
                "Repository \"{full_name}\" on branch \"{head}\" is already up-to-date with branch \"{base}\""
            ),
            "com.atlassian.bitbucket.pull.EmptyPullRequestException",
        )),
        Err(other) => Err(forge_error(other)),
    }
}

/// The `version` a request sent, against the PR's: 409 PullRequestOutOfDateException when they
/// differ, 400 when none was sent.
fn check_version(
    call: &Call<'_>,
    full_name: &str,
    pull: &PullRecord,
    sent: Option<u64>,
) -> Result<(), Reply> {
    let Some(sent) = sent else {
        return Err(error(
            400,
            "version: the pull request version is required",
            "com.atlassian.bitbucket.validation.ArgumentValidationException",
        ));
    };
    let current = call.version(full_name, pull);
    if sent != current {
        let mut reply = error(
            409,
            OUT_OF_DATE,
            "com.atlassian.bitbucket.pull.PullRequestOutOfDateException",
        );
        reply.set_header("x-sandbox-current-version", &current.to_string());
        return Err(reply);
    }
    Ok(())
}

/// "Update pull request metadata": `version` required; `title` and `description` replaced.
pub(super) fn update(call: &Call<'_>, full_name: &str, number: u64) -> Answer {
    let body = body_object(call)?;
    let title = string(&body, "title");
    check_title(title.as_deref())?;
    let mut store = call.store();
    let pull = store.pull(full_name, number).map_err(forge_error)?;
    check_version(
        call,
        full_name,
        &pull,
        body.get("version").and_then(Value::as_u64),
    )?;
    if pull.state != PullState::Open {
        return Err(error(
            409,
            "The pull request is not open and cannot be updated.",
            "com.atlassian.bitbucket.pull.IllegalPullRequestStateException",
        ));
    }
    let pull = store
        .update_pull(full_name, number, title, string(&body, "description"), None)
        .map_err(forge_error)?;
    Ok(Reply::json(200, &render(call, &store, full_name, &pull)))
}

/// "Test if pull request can be merged": `canMerge`, `conflicted`, `outcome`, `vetoes`.
pub(super) fn merge_check(call: &Call<'_>, full_name: &str, number: u64) -> Answer {
    let mut store = call.store();
    let pull = store.pull(full_name, number).map_err(forge_error)?;
    let conflicted = store.mergeable(&pull).map_err(forge_error)? == Some(false);
    let mut vetoes = Vec::new();
    if !store
        .repo(full_name)
        .map_err(forge_error)?
        .allow_merge_commit
    {
        vetoes.push(json!({
            "summaryMessage": "Merge strategy not enabled",
            "detailedMessage": "The merge commit strategy (no-ff) is not enabled for this repository."
        }));
    }
    Ok(Reply::json(
        200,
        &json!({
            "canMerge": !conflicted && vetoes.is_empty() && pull.state == PullState::Open,
            "conflicted": conflicted,
            "outcome": if conflicted { "CONFLICTED" } else { "CLEAN" },
            "vetoes": vetoes,
        }),
    ))
}

/// "Merge pull request": `?version=` required (409 when stale); body `message`, `strategyId`,
/// `autoSubject`. 409 IllegalPullRequestStateException when not open; 409 conflicts; 409 veto
/// when the merge-commit strategy is disabled; 200 with the merged PR.
pub(super) fn merge(call: &Call<'_>, full_name: &str, number: u64) -> Answer {
    let body = body_object(call)?;
    let sent = call
        .incoming
        .params()
        .get("version")
        .and_then(|v| v.parse::<u64>().ok());
    let mut store = call.store();
    let pull = store.pull(full_name, number).map_err(forge_error)?;
    if pull.state != PullState::Open {
        return Err(error(
            409,
            &format!(
                "Pull request {number} is already {}.",
                state_of(&pull).to_ascii_lowercase()
            ),
            "com.atlassian.bitbucket.pull.IllegalPullRequestStateException",
        ));
    }
    check_version(call, full_name, &pull, sent)?;
    let strategy = string(&body, "strategyId").unwrap_or_else(|| "no-ff".to_owned());
    let method = match strategy.as_str() {
        "no-ff" | "ff" => MergeMethod::Merge,
        "squash" | "squash-ff-only" => MergeMethod::Squash,
        "rebase-no-ff" | "rebase-ff-only" | "ff-only" => MergeMethod::Rebase,
        _ => {
            return Err(error(
                400,
                &format!("{strategy} is not a valid merge strategy."),
                "com.atlassian.bitbucket.scm.pull.InvalidMergeStrategyException",
            ));
        }
    };
    if store.mergeable(&pull).map_err(forge_error)? == Some(false) {
        return Err(vetoed(
            "The pull request has conflicts and cannot be merged.",
            true,
            Vec::new(),
        ));
    }
    let message = string(&body, "message").unwrap_or_default();
    let auto_subject = body
        .get("autoSubject")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    // autoSubject (default true) puts Bitbucket's subject above the message; without it the
    // message is the whole commit message.
    let (title, text) = if auto_subject {
        (
            format!(
                "Merge pull request #{number} in {full_name} from {} to {}",
                pull.head_branch, pull.base_branch
            ),
            message,
        )
    } else {
        match message.split_once("\n\n") {
            Some((title, rest)) => (title.to_owned(), rest.to_owned()),
            None => (message, String::new()),
        }
    };
    let request = MergeRequest {
        merger: call.caller.login.clone(),
        // The version was checked under the same store lock, so the head is the one it names.
        expected_head: Some(pull.head_sha.clone()),
        method,
        title: Some(title),
        message: Some(text),
    };
    match store.merge_pull(full_name, number, request) {
        Ok(_) => {
            let pull = store.pull(full_name, number).map_err(forge_error)?;
            Ok(Reply::json(200, &render(call, &store, full_name, &pull)))
        }
        Err(ForgeError::MethodNotAllowed(_)) => Err(vetoed(
            "Merging the pull request has been vetoed.",
            false,
            vec![json!({
                "summaryMessage": "Merge strategy not enabled",
                "detailedMessage": "The merge commit strategy (no-ff) is not enabled for this repository."
            })],
        )),
        Err(ForgeError::NotMergeable) => Err(vetoed(
            "The pull request has conflicts and cannot be merged.",
            true,
            Vec::new(),
        )),
        Err(ForgeError::BaseMoved | ForgeError::HeadMoved) => Err(error(
            409,
            OUT_OF_DATE,
            "com.atlassian.bitbucket.pull.PullRequestOutOfDateException",
        )),
        Err(other) => Err(forge_error(other)),
    }
}

/// 409 PullRequestMergeVetoedException with its `conflicted` flag and `vetoes`.
fn vetoed(message: &str, conflicted: bool, vetoes: Vec<Value>) -> Reply {
    Reply::json(
        409,
        &json!({"errors": [{
            "context": null,
            "message": message,
            "exceptionName": "com.atlassian.bitbucket.pull.PullRequestMergeVetoedException",
            "conflicted": conflicted,
            "vetoes": vetoes,
        }]}),
    )
}
