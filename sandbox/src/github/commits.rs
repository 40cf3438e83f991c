//! GitHub endpoints about repositories, branches and commits: the repository, a branch, commit
//! statuses (create, list, combined) and check runs (create, list).

use serde_json::{Value, json};

use super::json::{self, timestamp};
use super::{
    Answer, Call, body_object, error, forge_error, paginate, stamp, string_field, with_link,
};
use crate::bare;
use crate::server::Reply;
use crate::store::{CheckRunRecord, StatusRecord, UserKind, combined_state};

pub(super) fn get_repo(call: &Call<'_>, full_name: &str) -> Answer {
    let store = call.store();
    let repo = store.repo(full_name).map_err(forge_error)?;
    let owner = store.user(&repo.owner);
    let mut value = json::repo(&call.urls, repo, &owner, store.open_pull_count(full_name));
    if let Some(parent) = repo
        .parent
        .as_deref()
        .and_then(|name| store.repo(name).ok())
    {
        let parent_owner = store.user(&parent.owner);
        value["parent"] = json::repo(&call.urls, parent, &parent_owner, 0);
    }
    Ok(Reply::json(200, &value))
}

pub(super) fn get_branch(call: &Call<'_>, full_name: &str, branch: &str) -> Answer {
    let store = call.store();
    let git = store.git(full_name).map_err(forge_error)?;
    let not_found = || error(404, "Branch not found");
    let tip = bare::branch_tip(&git, branch)
        .map_err(|cause| forge_error(cause.into()))?
        .ok_or_else(not_found)?;
    let (message, author, committer) =
        bare::commit_info(&git, tip).map_err(|cause| forge_error(cause.into()))?;
    let parents = bare::parents(&git, tip).map_err(|cause| forge_error(cause.into()))?;
    let api = format!("{}/repos/{full_name}", call.urls.api);
    let web = format!("{}/{full_name}", call.urls.web);
    let person = |who: &bare::Person| json!({"name": who.name, "email": who.email, "date": timestamp(who.time)});
    let value = json!({
        "name": branch,
        "commit": {
            "sha": tip.to_string(),
            "node_id": "",
            "commit": {
                "author": person(&author),
                "committer": person(&committer),
                "message": message,
                "tree": {"sha": git.find_commit(tip).map(|c| c.tree_id().to_string()).unwrap_or_default(), "url": format!("{api}/git/trees/{tip}")},
                "url": format!("{api}/git/commits/{tip}"),
                "comment_count": 0,
                "verification": {"verified": false, "reason": "unsigned", "signature": null, "payload": null}
            },
            "url": format!("{api}/commits/{tip}"),
            "html_url": format!("{web}/commit/{tip}"),
            "comments_url": format!("{api}/commits/{tip}/comments"),
            "author": null,
            "committer": null,
            "parents": parents.iter().map(|parent| json!({
                "sha": parent.to_string(),
                "url": format!("{api}/commits/{parent}"),
                "html_url": format!("{web}/commit/{parent}")
            })).collect::<Vec<_>>()
        },
        "_links": {"self": format!("{api}/branches/{branch}"), "html": format!("{web}/tree/{branch}")},
        "protected": false,
        "protection": {"enabled": false, "required_status_checks": {"enforcement_level": "off", "contexts": [], "checks": []}},
        "protection_url": format!("{api}/branches/{branch}/protection")
    });
    Ok(Reply::json(200, &value))
}

/// The full SHA of `reference`; GitHub answers 422 "No commit found for SHA" / ref.
fn resolve(call: &Call<'_>, full_name: &str, reference: &str) -> Result<String, Reply> {
    call.store()
        .resolve(full_name, reference)
        .map_err(forge_error)?
        .ok_or_else(|| error(422, &format!("No commit found for SHA: {reference}")))
}

pub(super) fn create_status(call: &Call<'_>, full_name: &str, sha: &str) -> Answer {
    let body = body_object(call.incoming)?;
    let state = string_field(&body, "state")?;
    let invalid = |field: &str, message: &str| {
        super::validation(
            json!({"resource": "Status", "field": field, "code": "custom", "message": message}),
        )
    };
    let Some(state) =
        state.filter(|state| matches!(state.as_str(), "error" | "failure" | "pending" | "success"))
    else {
        return Err(invalid("state", "state is not included in the list"));
    };
    let description = string_field(&body, "description")?;
    // GitHub rejects descriptions over 140 characters (observed; not in docs.github.com/rest/commits/statuses).
    if description
        .as_ref()
        .is_some_and(|text| text.chars().count() > 140)
    {
        return Err(invalid(
            "description",
            "description is too long (maximum is 140 characters)",
        ));
    }
    let sha = resolve(call, full_name, sha)?;
    let record = StatusRecord {
        id: 0,
        sha,
        state,
        // `context` defaults to "default" (repos/create-commit-status).
        context: string_field(&body, "context")?.unwrap_or_else(|| "default".to_owned()),
        description,
        target_url: string_field(&body, "target_url")?,
        creator: call.caller.login.clone(),
        created_at: stamp(),
    };
    let mut store = call.store();
    let saved = store.add_status(full_name, record).map_err(forge_error)?;
    let creator = store.user(&saved.creator);
    Ok(Reply::json(
        201,
        &json::status(&call.urls, full_name, &saved, Some(&creator)),
    ))
}

pub(super) fn list_statuses(call: &Call<'_>, full_name: &str, reference: &str) -> Answer {
    let sha = resolve(call, full_name, reference)?;
    let store = call.store();
    let all = store.statuses(full_name, &sha);
    let (page, link) = paginate(call, &all);
    let items: Vec<Value> = page
        .iter()
        .map(|status| {
            let creator = store.user(&status.creator);
            json::status(&call.urls, full_name, status, Some(&creator))
        })
        .collect();
    Ok(with_link(Reply::json(200, &Value::Array(items)), link))
}

pub(super) fn combined_status(call: &Call<'_>, full_name: &str, reference: &str) -> Answer {
    let sha = resolve(call, full_name, reference)?;
    let store = call.store();
    let latest = store.latest_statuses(full_name, &sha);
    let (page, link) = paginate(call, &latest);
    let repo = store.repo(full_name).map_err(forge_error)?;
    let owner = store.user(&repo.owner);
    let api = format!("{}/repos/{full_name}", call.urls.api);
    let value = json!({
        "state": combined_state(&latest),
        "statuses": page.iter().map(|status| json::status(&call.urls, full_name, status, None)).collect::<Vec<_>>(),
        "sha": sha,
        "total_count": latest.len(),
        "repository": json::repo(&call.urls, repo, &owner, store.open_pull_count(full_name)),
        "commit_url": format!("{api}/commits/{sha}"),
        "url": format!("{api}/commits/{sha}/status")
    });
    Ok(with_link(Reply::json(200, &value), link))
}

pub(super) fn create_check_run(call: &Call<'_>, full_name: &str) -> Answer {
    // Check runs can only be created by GitHub Apps; a personal token gets 403
    // (docs "Create a check run": "OAuth apps and authenticated users cannot create check runs").
    if call.caller.kind != UserKind::Bot {
        return Err(error(403, "You must authenticate via a GitHub App."));
    }
    let body = body_object(call.incoming)?;
    let missing = |field: &str| {
        super::validation(json!({"resource": "CheckRun", "field": field, "code": "missing_field"}))
    };
    let name = string_field(&body, "name")?.ok_or_else(|| missing("name"))?;
    let head_sha = string_field(&body, "head_sha")?.ok_or_else(|| missing("head_sha"))?;
    let sha = resolve(call, full_name, &head_sha)?;
    let conclusion = string_field(&body, "conclusion")?;
    // Giving a conclusion marks the run completed (checks/create).
    let status = if conclusion.is_some() {
        "completed".to_owned()
    } else {
        string_field(&body, "status")?.unwrap_or_else(|| "queued".to_owned())
    };
    if status == "completed" && conclusion.is_none() {
        return Err(missing("conclusion"));
    }
    let output = body.get("output").and_then(Value::as_object);
    let output_text = |key: &str| {
        output
            .and_then(|output| output.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let now = stamp();
    let record = CheckRunRecord {
        id: 0,
        sha,
        name,
        completed_at: (status == "completed").then_some(now),
        status,
        conclusion,
        details_url: string_field(&body, "details_url")?,
        external_id: string_field(&body, "external_id")?.unwrap_or_default(),
        output_title: output_text("title"),
        output_summary: output_text("summary"),
        app: call.caller.login.clone(),
        started_at: now,
    };
    let mut store = call.store();
    let saved = store
        .add_check_run(full_name, record)
        .map_err(forge_error)?;
    let app = store.user(&saved.app);
    Ok(Reply::json(
        201,
        &json::check_run(&call.urls, full_name, &saved, &app),
    ))
}

pub(super) fn list_check_runs(call: &Call<'_>, full_name: &str, reference: &str) -> Answer {
    let sha = resolve(call, full_name, reference)?;
    let params = call.incoming.params();
    let store = call.store();
    let mut runs = store.check_runs(full_name, &sha);
    // `filter=latest` (the default) keeps the newest run per name; `all` keeps every run.
    if params.get("filter").is_none_or(|filter| filter != "all") {
        let mut seen = std::collections::BTreeSet::new();
        runs.retain(|run| seen.insert(run.name.clone()));
    }
    if let Some(name) = params.get("check_name") {
        runs.retain(|run| run.name == *name);
    }
    if let Some(status) = params.get("status") {
        runs.retain(|run| run.status == *status);
    }
    let (page, link) = paginate(call, &runs);
    let value = json!({
        "total_count": runs.len(),
        "check_runs": page.iter().map(|run| {
            let app = store.user(&run.app);
            json::check_run(&call.urls, full_name, run, &app)
        }).collect::<Vec<_>>()
    });
    Ok(with_link(Reply::json(200, &value), link))
}
