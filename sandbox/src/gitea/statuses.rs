//! Gitea commit status endpoints (`routers/api/v1/repo/status.go`): create, list (newest first,
//! paged), combined. The state is `state` in requests and `status` in answers.

use serde_json::{Value, json};

use super::json::{self, Urls};
use super::{Answer, Call, body_object, error, forge_error, go_string, paginate, with_headers};
use crate::server::Reply;
use crate::store::{StatusRecord, now};

fn urls(call: &Call<'_>) -> Urls {
    Urls {
        api: call.api(),
        web: call.web().to_owned(),
    }
}

/// The full SHA of `reference` (a SHA or branch); an unknown commit is a 404.
fn resolve(call: &Call<'_>, full_name: &str, reference: &str) -> Result<String, Reply> {
    call.store()
        .resolve(full_name, reference)
        .map_err(|e| forge_error(call.shared, e))?
        .ok_or_else(|| error(call.shared, 404, &format!("commit not found: {reference}")))
}

/// swagger repoCreateStatus: `CreateStatusOption {state, target_url, description, context}` →
/// 201 CommitStatus. States: pending, success, error, failure, warning.
pub(super) fn create(call: &Call<'_>, full_name: &str, sha: &str) -> Answer {
    let body = body_object(call)?;
    let Some(state) = go_string(call, &body, "state")?.filter(|state| {
        matches!(
            state.as_str(),
            "pending" | "success" | "error" | "failure" | "warning"
        )
    }) else {
        return Err(error(
            call.shared,
            422,
            "[State]: invalid commit status state",
        ));
    };
    let sha = resolve(call, full_name, sha)?;
    let record = StatusRecord {
        id: 0,
        sha,
        state,
        context: go_string(call, &body, "context")?
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "default".to_owned()),
        description: go_string(call, &body, "description")?,
        target_url: go_string(call, &body, "target_url")?,
        creator: call.caller.login.clone(),
        created_at: now(),
    };
    let mut store = call.store();
    let saved = store
        .add_status(full_name, record)
        .map_err(|e| forge_error(call.shared, e))?;
    let creator = store.user(&saved.creator);
    Ok(Reply::json(
        201,
        &json::status(&urls(call), full_name, &saved, &creator),
    ))
}

/// swagger repoListStatusesByRef / repoListStatuses: every status, newest first, paged.
pub(super) fn list(call: &Call<'_>, full_name: &str, reference: &str) -> Answer {
    let sha = resolve(call, full_name, reference)?;
    let store = call.store();
    let all = store.statuses(full_name, &sha);
    let (page, headers) = paginate(call, &all);
    let urls = urls(call);
    let items: Vec<Value> = page
        .iter()
        .map(|status| json::status(&urls, full_name, status, &store.user(&status.creator)))
        .collect();
    Ok(with_headers(
        Reply::json(200, &Value::Array(items)),
        headers,
    ))
}

/// Gitea's combined state (`CalcCommitStatus`): the worst of the latest per context, in the order
/// error > failure > pending > warning > success; no statuses → an empty state.
fn combined_state(latest: &[StatusRecord]) -> &'static str {
    ["error", "failure", "pending", "warning", "success"]
        .into_iter()
        .find(|state| latest.iter().any(|status| status.state == *state))
        .unwrap_or("")
}

/// swagger repoGetCombinedStatusByRef: `CombinedStatus` over the latest status per context (exact
/// context names: Gitea groups by a hash of the context).
pub(super) fn combined(call: &Call<'_>, full_name: &str, reference: &str) -> Answer {
    let sha = resolve(call, full_name, reference)?;
    let store = call.store();
    let mut latest: Vec<StatusRecord> = Vec::new();
    for status in store.statuses(full_name, &sha) {
        if !latest.iter().any(|seen| seen.context == status.context) {
            latest.push(status);
        }
    }
    let (page, headers) = paginate(call, &latest);
    let urls = urls(call);
    let repo = store
        .repo(full_name)
        .map_err(|e| forge_error(call.shared, e))?;
    let owner = store.user(&repo.owner);
    let api = format!("{}/repos/{full_name}", urls.api);
    let value = json!({
        "state": combined_state(&latest),
        "sha": sha,
        "total_count": latest.len(),
        "statuses": page.iter().map(|status| json::status(&urls, full_name, status, &store.user(&status.creator))).collect::<Vec<_>>(),
        "repository": json::repo(&urls, repo, &owner, store.open_pull_count(full_name)),
        "commit_url": format!("{api}/commits/{sha}"),
        "url": format!("{api}/commits/{sha}/status")
    });
    Ok(with_headers(Reply::json(200, &value), headers))
}
