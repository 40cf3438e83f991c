//! Azure DevOps pull request endpoints (Pull Requests - Get Pull Requests, Get Pull Request By
//! Id, Create, Update): search by full refs and status with `$top`/`$skip`, the 400-character
//! description cut in lists, 409 TF401179 for a second active PR, and completion
//! (`status: completed`) guarded by `lastMergeSourceCommit` (409 TF401192 when the source moved).
//! The rules are the store's.

use serde_json::{Map, Value, json};

use super::{
    Answer, Call, body_object, error, invalid, list_reply, not_found_resource, page, string_field,
    timestamp,
};
use crate::server::Reply;
use crate::store::{
    ForgeError, MergeMethod, MergeRequest, NewPull, PullRecord, PullState, now, stable_number,
};

/// Descriptions in list answers are cut to this many characters ("description field will be
/// truncated up to 400 symbols in the result").
const LIST_DESCRIPTION_CUT: usize = 400;
/// Pull Requests - Update: "Description (up to 4000 characters)".
const MAX_DESCRIPTION: usize = 4000;

fn status_of(pull: &PullRecord) -> &'static str {
    match (pull.state, pull.merged.is_some()) {
        (PullState::Open, _) => "active",
        (PullState::Closed, true) => "completed",
        (PullState::Closed, false) => "abandoned",
    }
}

/// A `GitPullRequest` (fixture `pull-create.json`). `queued` shows a completed PR as still
/// `active` with `completionQueueTime` (a completion the server has not finished).
fn render(call: &Call<'_>, pull: &PullRecord, queued: Option<i64>) -> Value {
    let api = call.api_repo();
    let commit = |sha: &str| json!({"commitId": sha, "url": format!("{api}/commits/{sha}")});
    let mergeable = call.store().mergeable(pull).ok().flatten();
    let status = if queued.is_some() {
        "active"
    } else {
        status_of(pull)
    };
    let repo_id = format!(
        "00000000-0000-0000-0000-{:012}",
        call.store()
            .repo(&call.full_name)
            .map(|r| r.id)
            .unwrap_or_default()
    );
    let project_id = format!(
        "00000000-0000-0000-0001-{:012}",
        project_number(&call.project)
    );
    let base = call.shared.base_url.as_str();
    let org = super::ORGANIZATION;
    let self_url = format!("{api}/pullRequests/{}", pull.number);
    let href = |url: String| json!({"href": url});
    let mut value = json!({
        "repository": {
            "id": repo_id,
            "name": call.repository,
            "url": api,
            "project": {
                "id": project_id,
                "name": call.project,
                "description": "",
                "url": format!("{base}/{org}/_apis/projects/{project_id}"),
                "state": "wellFormed",
                "revision": 1,
            },
            "remoteUrl": call.web_repo(),
            "webUrl": call.web_repo(),
        },
        "pullRequestId": pull.number,
        "codeReviewId": pull.number,
        "status": status,
        "createdBy": call.identity(&pull.author),
        "creationDate": timestamp(pull.created_at),
        "title": pull.title,
        "sourceRefName": format!("refs/heads/{}", pull.head_branch),
        "targetRefName": format!("refs/heads/{}", pull.base_branch),
        "mergeStatus": match (queued, mergeable) {
            (Some(_), _) => "queued",
            (None, Some(false)) => "conflicts",
            _ => "succeeded",
        },
        "mergeId": format!("00000000-0000-0000-0002-{:012}", pull.id),
        "isDraft": false,
        "lastMergeSourceCommit": commit(&pull.head_sha),
        "lastMergeTargetCommit": commit(&pull.base_sha),
        "reviewers": [],
        "url": self_url,
        "_links": {
            "self": href(self_url.clone()),
            "repository": href(api.clone()),
            "workItems": href(format!("{self_url}/workitems")),
            "sourceBranch": href(format!("{api}/refs")),
            "targetBranch": href(format!("{api}/refs")),
            "sourceCommit": href(format!("{api}/commits/{}", pull.head_sha)),
            "targetCommit": href(format!("{api}/commits/{}", pull.base_sha)),
            "createdBy": href(format!("{base}/{org}/_apis/Identities/{}", pull.author)),
            "iterations": href(format!("{self_url}/iterations")),
        },
        "supportsIterations": true,
        "artifactId": format!("vstfs:///Git/PullRequestId/{project_id}%2f{repo_id}%2f{}", pull.number),
    });
    let object = value.as_object_mut().expect("an object");
    if !pull.body.is_empty() {
        object.insert("description".into(), json!(pull.body));
    }
    if mergeable == Some(false) && queued.is_none() && pull.state == PullState::Open {
        object.insert(
            "mergeFailureMessage".into(),
            json!("The merge could not be completed because of conflicts."),
        );
    }
    if let Some(at) = queued {
        object.insert("completionQueueTime".into(), json!(timestamp(at)));
    } else if let Some(merged) = &pull.merged {
        object.insert("lastMergeCommit".into(), commit(&merged.sha));
        object.insert("closedDate".into(), json!(timestamp(merged.at)));
        object.insert("closedBy".into(), call.identity(&merged.by));
    } else if let Some(at) = pull.closed_at {
        object.insert("closedDate".into(), json!(timestamp(at)));
    }
    // `labels`: the PR's tags as `WebApiTagDefinition` (`active`, `id`, `name`, `url`), left out
    // when it has none (as in the documented answers; Pull Requests - Get Pull Requests,
    // https://learn.microsoft.com/en-us/rest/api/azure/devops/git/pull-requests/get-pull-requests?view=azure-devops-rest-7.1).
    if !pull.labels.is_empty() {
        let tags: Vec<Value> = pull
            .labels
            .iter()
            .map(|name| {
                let id = format!("00000000-0000-0000-0003-{:012}", stable_number(name));
                json!({"id": id, "name": name, "active": true, "url": format!("{self_url}/labels/{id}")})
            })
            .collect();
        object.insert("labels".into(), Value::Array(tags));
    }
    if pull.head_repo != pull.base_repo {
        object.insert(
            "forkSource".into(),
            json!({"name": format!("refs/heads/{}", pull.head_branch), "repository": {"name": pull.head_repo}}),
        );
    }
    value
}

/// A stable number for a project name (the sandbox has no project records).
fn project_number(project: &str) -> u64 {
    stable_number(project)
}

/// The queued-completion answers left for PR `number`; each call uses one up.
fn take_queued(call: &Call<'_>, number: u64) -> Option<i64> {
    let mut state = call.state();
    let key = (call.full_name.clone(), number);
    let (left, at) = state.queued.get_mut(&key)?;
    let at = *at;
    if *left == 0 {
        state.queued.remove(&key);
        return None;
    }
    *left -= 1;
    Some(at)
}

/// Get Pull Requests: `searchCriteria.status` (active by default; abandoned, completed, all),
/// `searchCriteria.sourceRefName`/`targetRefName` (full refs, exact), newest first, `$top`/`$skip`.
pub(super) fn list(call: &Call<'_>) -> Answer {
    let params = call.incoming.params();
    let status = params
        .get("searchCriteria.status")
        .map_or("active", String::as_str);
    if !matches!(
        status,
        "active" | "abandoned" | "completed" | "all" | "notSet"
    ) {
        return Err(invalid(&format!(
            "The value '{status}' is not valid for searchCriteria.status."
        )));
    }
    let source = params.get("searchCriteria.sourceRefName");
    let target = params.get("searchCriteria.targetRefName");
    let pulls: Vec<PullRecord> = call
        .store()
        .pulls(&call.full_name)
        .map_err(|_| not_found_resource())?
        .into_iter()
        .filter(|pull| matches!(status, "all" | "notSet") || status_of(pull) == status)
        .filter(|pull| source.is_none_or(|s| *s == format!("refs/heads/{}", pull.head_branch)))
        .filter(|pull| target.is_none_or(|t| *t == format!("refs/heads/{}", pull.base_branch)))
        .collect();
    let items = page(call, &pulls, "$", 101)
        .iter()
        .map(|pull| {
            let mut value = render(call, pull, None);
            if let Some(Value::String(text)) = value.get_mut("description")
                && text.chars().count() > LIST_DESCRIPTION_CUT
            {
                *text = text.chars().take(LIST_DESCRIPTION_CUT).collect();
            }
            value
        })
        .collect();
    Ok(list_reply(items))
}

pub(super) fn get(call: &Call<'_>, number: u64) -> Answer {
    let pull = find(call, number)?;
    let queued = take_queued(call, number);
    Ok(Reply::json(200, &render(call, &pull, queued)))
}

fn find(call: &Call<'_>, number: u64) -> Result<PullRecord, Reply> {
    call.store()
        .pull(&call.full_name, number)
        .map_err(|_| pull_not_found(number))
}

fn pull_not_found(number: u64) -> Reply {
    error(
        404,
        &format!("TF401180: The requested pull request was not found. Pull request id: {number}"),
        "GitPullRequestNotFoundException",
    )
}

/// `refs/heads/<branch>` → `<branch>`; anything else is TF401398 (observed wording).
fn branch_of(reference: Option<String>) -> Result<String, Reply> {
    reference
        .as_deref()
        .and_then(|r| r.strip_prefix("refs/heads/"))
        .filter(|b| !b.is_empty())
        .map(str::to_owned)
        .ok_or_else(branch_refused)
}

fn branch_refused() -> Reply {
    error(
        400,
        "TF401398: The pull request cannot be activated because the source and/or the target branch no longer exists, or the requested refs are not branches",
        "GitPullRequestCannotBeActivated",
    )
}

fn description_too_long() -> Reply {
    invalid(&format!(
        "The pull request description is too long. The maximum length is {MAX_DESCRIPTION} characters."
    ))
}

/// Create: `sourceRefName`, `targetRefName` (full refs), `title`, `description`; 201 with the PR.
pub(super) fn create(call: &Call<'_>) -> Answer {
    let body = body_object(call)?;
    let head = branch_of(string_field(&body, "sourceRefName")?)?;
    let base = branch_of(string_field(&body, "targetRefName")?)?;
    let title = string_field(&body, "title")?.unwrap_or_default();
    let description = string_field(&body, "description")?.unwrap_or_default();
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(description_too_long());
    }
    let opened = call.store().open_pull(
        &call.full_name,
        NewPull {
            head_repo: call.full_name.clone(),
            head_branch: head,
            base_branch: base,
            title,
            body: description,
            author: call.caller.login.clone(),
        },
    );
    match opened {
        Ok(pull) => Ok(Reply::json(201, &render(call, &pull, None))),
        // Observed: 409 "TF401179: An active pull request for the source and target branch
        // already exists."
        Err(ForgeError::PullExists { .. }) => Err(error(
            409,
            "TF401179: An active pull request for the source and target branch already exists.",
            "GitPullRequestExistsException",
        )),
        Err(ForgeError::MissingBranch { .. }) => Err(branch_refused()),
        // Azure DevOps' REST API would open the PR; the store refuses (module doc).
        Err(ForgeError::NoCommits { base, head }) => Err(invalid(&format!(
            "sandbox: the source branch {head} has no commit that the target branch {base} lacks"
        ))),
        Err(other) => Err(error(500, &other.to_string(), "Exception")),
    }
}

/// Update: `title`, `description`, `status` (`abandoned`, `active`, `completed`). Completion needs
/// `lastMergeSourceCommit.commitId` (400 otherwise, fixture
/// `pull-complete-400-missing-last-merge-source-commit.observed.json`) equal to the source head
/// (409 TF401192 otherwise) and `completionOptions.mergeStrategy` `noFastForward` (default) or
/// `squash`.
pub(super) fn update(call: &Call<'_>, number: u64) -> Answer {
    let body = body_object(call)?;
    let title = string_field(&body, "title")?;
    let description = string_field(&body, "description")?;
    let status = string_field(&body, "status")?;
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION)
    {
        return Err(description_too_long());
    }
    let pull = find(call, number)?;
    if status.as_deref() == Some("completed") {
        return complete(call, pull, &body);
    }
    let state = match status.as_deref() {
        None => None,
        Some("abandoned") => Some(PullState::Closed),
        Some("active") => Some(PullState::Open),
        Some(other) => return Err(invalid(&format!("Invalid status `{other}`."))),
    };
    if pull.merged.is_some() {
        return Err(error(
            409,
            &format!("TF401181: The pull request {number} is completed and cannot be edited."),
            "InvalidPullRequestException",
        ));
    }
    let updated = call
        .store()
        .update_pull(&call.full_name, number, title, description, state)
        .map_err(|e| match e {
            ForgeError::PullExists { .. } => error(
                409,
                "TF401179: An active pull request for the source and target branch already exists.",
                "GitPullRequestExistsException",
            ),
            other => invalid(&other.to_string()),
        })?;
    Ok(Reply::json(200, &render(call, &updated, None)))
}

fn complete(call: &Call<'_>, pull: PullRecord, body: &Map<String, Value>) -> Answer {
    let number = pull.number;
    let expected = body
        .get("lastMergeSourceCommit")
        .and_then(|c| c.get("commitId"))
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            invalid("Invalid argument value.\r\nParameter name: You must specify a valid LastMergeSourceCommit to perform this operation.")
        })?
        .to_owned();
    if pull.state == PullState::Closed {
        return Err(error(
            409,
            &format!("TF401181: The pull request {number} is not active and cannot be completed."),
            "InvalidPullRequestException",
        ));
    }
    // Observed: a stale `lastMergeSourceCommit` is refused with 409 TF401192.
    if !expected.eq_ignore_ascii_case(&pull.head_sha) {
        return Err(error(
            409,
            "TF401192: The source branch has been modified since the last merge attempt.",
            "GitPullRequestStaleException",
        ));
    }
    let options = body.get("completionOptions");
    let strategy = options
        .and_then(|o| o.get("mergeStrategy"))
        .and_then(Value::as_str)
        .unwrap_or("noFastForward");
    let method = match strategy {
        "noFastForward" => MergeMethod::Merge,
        "squash" => MergeMethod::Squash,
        "rebase" | "rebaseMerge" => MergeMethod::Rebase,
        other => return Err(invalid(&format!("Invalid merge strategy `{other}`."))),
    };
    let message = options
        .and_then(|o| o.get("mergeCommitMessage"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    // Azure DevOps takes one message: the first line is the subject.
    let (title, rest) = match message {
        Some(text) => {
            let (first, rest) = text.split_once("\n\n").unwrap_or((text.as_str(), ""));
            (Some(first.to_owned()), Some(rest.to_owned()))
        }
        None => (
            Some(format!("Merged PR {number}: {}", pull.title)),
            Some(String::new()),
        ),
    };
    let merged = call.store().merge_pull(
        &call.full_name,
        number,
        MergeRequest {
            merger: call.caller.login.clone(),
            expected_head: Some(expected),
            method,
            title,
            message: rest,
        },
    );
    match merged {
        Ok(_) => {}
        Err(ForgeError::HeadMoved) => {
            return Err(error(
                409,
                "TF401192: The source branch has been modified since the last merge attempt.",
                "GitPullRequestStaleException",
            ));
        }
        // Branch policy "Limit merge types" leaves no fast-forward merge out.
        Err(ForgeError::MethodNotAllowed(_)) => {
            return Err(error(
                409,
                &format!(
                    "TF401027: The merge strategy {strategy} is not allowed by the branch policies of the target branch."
                ),
                "PullRequestMergeStrategyNotAllowedException",
            ));
        }
        // A conflict: Azure DevOps answers the PR, still active, with `mergeStatus: conflicts`.
        Err(ForgeError::NotMergeable | ForgeError::BaseMoved) => {
            let pull = find(call, number)?;
            return Ok(Reply::json(200, &render(call, &pull, None)));
        }
        Err(other) => return Err(error(500, &other.to_string(), "Exception")),
    }
    let pull = find(call, number)?;
    let queued_reads = call.state().queued_reads;
    if queued_reads > 0 {
        // The answer and the next `queued_reads - 1` reads show the completion queued.
        call.state()
            .queued
            .insert((call.full_name.clone(), number), (queued_reads - 1, now()));
        return Ok(Reply::json(200, &render(call, &pull, Some(now()))));
    }
    Ok(Reply::json(200, &render(call, &pull, None)))
}
