//! Gitea's response bodies (`User`, `Repository`, `PullRequest`, `CommitStatus`,
//! `CombinedStatus`), built from store records with the keys of the swagger definitions and the
//! captured payloads in `tests/fixtures/scm/gitea/`. Values the sandbox does not model (stars,
//! sizes) are empty or zero.

use serde_json::{Value, json};

use crate::github::timestamp_of as timestamp;
use crate::store::{PullRecord, PullState, RepoRecord, StatusRecord, User, stable_number};

/// The API root and the web host.
#[derive(Debug, Clone)]
pub(super) struct Urls {
    pub api: String,
    pub web: String,
}

pub(super) fn user(urls: &Urls, user: &User) -> Value {
    json!({
        "id": user.id,
        "login": user.login,
        "login_name": "",
        "full_name": "",
        "email": format!("{}@noreply.sandbox.invalid", user.login),
        "avatar_url": format!("{}/avatars/{}", urls.web, user.login),
        "html_url": format!("{}/{}", urls.web, user.login),
        "language": "",
        "is_admin": false,
        "restricted": false,
        "active": true,
        "prohibit_login": false,
        "visibility": "public",
        "username": user.login
    })
}

pub(super) fn repo(urls: &Urls, repo: &RepoRecord, owner: &User, open_pulls: usize) -> Value {
    let full_name = repo.full_name();
    let host = urls.web.trim_start_matches("http://");
    let created = timestamp(repo.created_at);
    json!({
        "id": repo.id,
        "owner": user(urls, owner),
        "name": repo.name,
        "full_name": full_name,
        "description": "",
        "empty": false,
        "private": true,
        "fork": repo.parent.is_some(),
        "template": false,
        "parent": null,
        "mirror": false,
        "size": 0,
        "html_url": format!("{}/{full_name}", urls.web),
        "url": format!("{}/repos/{full_name}", urls.api),
        "ssh_url": format!("git@{host}:{full_name}.git"),
        "clone_url": format!("{}/{full_name}.git", urls.web),
        "website": "",
        "stars_count": 0,
        "forks_count": 0,
        "watchers_count": 0,
        "open_issues_count": 0,
        "open_pr_counter": open_pulls,
        "default_branch": repo.default_branch,
        "archived": false,
        "created_at": created,
        "updated_at": created,
        "permissions": {"admin": true, "push": true, "pull": true},
        "has_pull_requests": true,
        "allow_merge_commits": repo.allow_merge_commit,
        "allow_rebase": repo.allow_rebase_merge,
        "allow_rebase_explicit": false,
        "allow_squash_merge": repo.allow_squash_merge,
        "allow_fast_forward_only_merge": false,
        "allow_rebase_update": true,
        "default_delete_branch_after_merge": false,
        "default_merge_style": "merge"
    })
}

/// The two sides of a PR with their repositories.
#[derive(Debug)]
pub(super) struct Sides {
    pub author: User,
    pub head_repo: Value,
    pub head_repo_id: u64,
    pub base_repo: Value,
    pub base_repo_id: u64,
}

/// A PR's `labels`: swagger `Label` objects (`id`, `name`, `exclusive`, `is_archived`, `color`,
/// `description`, `url`) on list items and single PRs, Gitea and Forgejo alike
/// (https://gitea.com/api/swagger#/repository/repoGetPullRequest).
fn labels(urls: &Urls, full_name: &str, names: &[String]) -> Value {
    let label = |name: &String| {
        let id = stable_number(name);
        json!({
            "id": id,
            "name": name,
            "exclusive": false,
            "is_archived": false,
            "color": "ededed",
            "description": "",
            "url": format!("{}/repos/{full_name}/labels/{id}", urls.api)
        })
    };
    Value::Array(names.iter().map(label).collect())
}

/// `PullRequest` (list items, get, create and edit answers).
pub(super) fn pull(
    urls: &Urls,
    pull: &PullRecord,
    sides: &Sides,
    mergeable: bool,
    merged_by: Option<&User>,
) -> Value {
    let html = format!("{}/{}/pulls/{}", urls.web, pull.base_repo, pull.number);
    let head_owner = pull.head_repo.split('/').next().unwrap_or_default();
    // Gitea's head label is the branch for a same-repository PR, `owner:branch` for a fork's.
    let head_label = if pull.head_repo == pull.base_repo {
        pull.head_branch.clone()
    } else {
        format!("{head_owner}:{}", pull.head_branch)
    };
    json!({
        "id": pull.id,
        "url": html,
        "number": pull.number,
        "user": user(urls, &sides.author),
        "title": pull.title,
        "body": pull.body,
        "labels": labels(urls, &pull.base_repo, &pull.labels),
        "milestone": null,
        "assignee": null,
        "assignees": null,
        "requested_reviewers": null,
        "state": if pull.state == PullState::Open { "open" } else { "closed" },
        "draft": false,
        "is_locked": false,
        "comments": 0,
        "html_url": html,
        "diff_url": format!("{html}.diff"),
        "patch_url": format!("{html}.patch"),
        "mergeable": mergeable,
        "merged": pull.merged.is_some(),
        "merged_at": pull.merged.as_ref().map(|merged| timestamp(merged.at)),
        "merge_commit_sha": pull.merged.as_ref().map(|merged| merged.sha.clone()),
        "merged_by": merged_by.map(|by| user(urls, by)),
        "allow_maintainer_edit": false,
        "base": {
            "label": pull.base_branch,
            "ref": pull.base_branch,
            "sha": pull.base_sha,
            "repo_id": sides.base_repo_id,
            "repo": sides.base_repo
        },
        "head": {
            "label": head_label,
            "ref": pull.head_branch,
            "sha": pull.head_sha,
            "repo_id": sides.head_repo_id,
            "repo": sides.head_repo
        },
        "merge_base": pull.base_sha,
        "due_date": null,
        "created_at": timestamp(pull.created_at),
        "updated_at": timestamp(pull.updated_at),
        "closed_at": pull.closed_at.map(timestamp),
        "pin_order": 0
    })
}

/// `CommitStatus`: the state is under `status` (the request field is `state`).
pub(super) fn status(urls: &Urls, full_name: &str, status: &StatusRecord, creator: &User) -> Value {
    json!({
        "id": status.id,
        "status": status.state,
        "target_url": status.target_url.clone().unwrap_or_default(),
        "description": status.description.clone().unwrap_or_default(),
        "url": format!("{}/repos/{full_name}/statuses/{}", urls.api, status.sha),
        "context": status.context,
        "creator": user(urls, creator),
        "created_at": timestamp(status.created_at),
        "updated_at": timestamp(status.created_at)
    })
}
