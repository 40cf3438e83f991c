//! GitHub's response bodies, built from store records with the keys and value types of GitHub's
//! official examples (REST description 2022-11-28; copies in `tests/fixtures/scm/github/`).
//! Values the sandbox does not model (reviews, line counts) are empty or zero.

use base64::Engine;
use serde_json::{Value, json};

use crate::store::{
    CheckRunRecord, PullRecord, PullState, RepoRecord, StatusRecord, User, UserKind, stable_number,
};

/// The two URL roots: the API (`…/api/v3`) and the web/git host.
#[derive(Debug, Clone)]
pub(crate) struct Urls {
    pub api: String,
    pub web: String,
}

pub(crate) fn timestamp(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|at| {
            at.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn node_id(kind: &str, id: u64) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{kind}{id}"))
}

pub(super) fn user(urls: &Urls, user: &User) -> Value {
    let api = format!("{}/users/{}", urls.api, user.login);
    let kind = match user.kind {
        UserKind::User => "User",
        UserKind::Bot => "Bot",
    };
    json!({
        "login": user.login,
        "id": user.id,
        "node_id": node_id("04:User", user.id),
        "avatar_url": format!("{}/avatars/{}", urls.web, user.login),
        "gravatar_id": "",
        "url": api,
        "html_url": format!("{}/{}", urls.web, user.login),
        "followers_url": format!("{api}/followers"),
        "following_url": format!("{api}/following{{/other_user}}"),
        "gists_url": format!("{api}/gists{{/gist_id}}"),
        "starred_url": format!("{api}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{api}/subscriptions"),
        "organizations_url": format!("{api}/orgs"),
        "repos_url": format!("{api}/repos"),
        "events_url": format!("{api}/events{{/privacy}}"),
        "received_events_url": format!("{api}/received_events"),
        "type": kind,
        "site_admin": false
    })
}

/// `(key, suffix)` of the templated URLs every repository object carries.
const REPO_URLS: &[(&str, &str)] = &[
    ("archive_url", "/{archive_format}{/ref}"),
    ("assignees_url", "/assignees{/user}"),
    ("blobs_url", "/git/blobs{/sha}"),
    ("branches_url", "/branches{/branch}"),
    ("collaborators_url", "/collaborators{/collaborator}"),
    ("comments_url", "/comments{/number}"),
    ("commits_url", "/commits{/sha}"),
    ("compare_url", "/compare/{base}...{head}"),
    ("contents_url", "/contents/{+path}"),
    ("contributors_url", "/contributors"),
    ("deployments_url", "/deployments"),
    ("downloads_url", "/downloads"),
    ("events_url", "/events"),
    ("forks_url", "/forks"),
    ("git_commits_url", "/git/commits{/sha}"),
    ("git_refs_url", "/git/refs{/sha}"),
    ("git_tags_url", "/git/tags{/sha}"),
    ("issue_comment_url", "/issues/comments{/number}"),
    ("issue_events_url", "/issues/events{/number}"),
    ("issues_url", "/issues{/number}"),
    ("keys_url", "/keys{/key_id}"),
    ("labels_url", "/labels{/name}"),
    ("languages_url", "/languages"),
    ("merges_url", "/merges"),
    ("milestones_url", "/milestones{/number}"),
    (
        "notifications_url",
        "/notifications{?since,all,participating}",
    ),
    ("pulls_url", "/pulls{/number}"),
    ("releases_url", "/releases{/id}"),
    ("stargazers_url", "/stargazers"),
    ("statuses_url", "/statuses/{sha}"),
    ("subscribers_url", "/subscribers"),
    ("subscription_url", "/subscription"),
    ("tags_url", "/tags"),
    ("teams_url", "/teams"),
    ("trees_url", "/git/trees{/sha}"),
    ("hooks_url", "/hooks"),
];

pub(super) fn repo(urls: &Urls, repo: &RepoRecord, owner: &User, open_pulls: usize) -> Value {
    let full_name = repo.full_name();
    let api = format!("{}/repos/{full_name}", urls.api);
    let host = urls.web.trim_start_matches("http://");
    let created = timestamp(repo.created_at);
    let mut value = json!({
        "id": repo.id,
        "node_id": node_id("010:Repository", repo.id),
        "name": repo.name,
        "full_name": full_name,
        "owner": user(urls, owner),
        "private": true,
        "html_url": format!("{}/{full_name}", urls.web),
        "description": null,
        "fork": repo.parent.is_some(),
        "url": api,
        "git_url": format!("git://{host}/{full_name}.git"),
        "ssh_url": format!("git@{host}:{full_name}.git"),
        "clone_url": format!("{}/{full_name}.git", urls.web),
        "mirror_url": null,
        "svn_url": format!("{}/{full_name}", urls.web),
        "homepage": null,
        "language": null,
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "size": 0,
        "default_branch": repo.default_branch,
        "open_issues_count": open_pulls,
        "is_template": false,
        "topics": [],
        "has_issues": true,
        "has_projects": false,
        "has_wiki": false,
        "has_pages": false,
        "has_downloads": false,
        "has_discussions": false,
        "allow_forking": true,
        "archived": false,
        "disabled": false,
        "visibility": "private",
        "pushed_at": created,
        "created_at": created,
        "updated_at": created,
        "permissions": {"admin": true, "maintain": true, "push": true, "triage": true, "pull": true},
        "allow_rebase_merge": repo.allow_rebase_merge,
        "template_repository": null,
        "temp_clone_token": "",
        "allow_squash_merge": repo.allow_squash_merge,
        "allow_auto_merge": false,
        "delete_branch_on_merge": false,
        "allow_merge_commit": repo.allow_merge_commit,
        "subscribers_count": 0,
        "network_count": 0,
        "license": null,
        "forks": 0,
        "open_issues": open_pulls,
        "watchers": 0
    });
    let object = value.as_object_mut().expect("built as an object");
    for (key, suffix) in REPO_URLS {
        object.insert((*key).to_owned(), Value::String(format!("{api}{suffix}")));
    }
    value
}

/// The repository objects a pull request embeds, with their owners.
#[derive(Debug)]
pub(super) struct PullContext<'a> {
    pub author: &'a User,
    pub head_repo: Value,
    pub base_repo: Value,
    pub head_owner: &'a User,
    pub base_owner: &'a User,
}

/// A PR's `labels`: `label` objects (`id`, `node_id`, `url`, `name`, `description`, `color`,
/// `default`), on list items and single PRs alike
/// (https://docs.github.com/en/rest/pulls/pulls#list-pull-requests). `api` is the repository's API URL.
fn labels(api: &str, names: &[String]) -> Value {
    let label = |name: &String| {
        let id = stable_number(name);
        json!({
            "id": id,
            "node_id": node_id("010:Label", id),
            "url": format!("{api}/labels/{name}"),
            "name": name,
            "description": null,
            "color": "ededed",
            "default": false
        })
    };
    Value::Array(names.iter().map(label).collect())
}

/// `pull-request-simple` (list items).
pub(super) fn pull_simple(urls: &Urls, pull: &PullRecord, context: &PullContext<'_>) -> Value {
    let api = format!("{}/repos/{}", urls.api, pull.base_repo);
    let html = format!("{}/{}/pull/{}", urls.web, pull.base_repo, pull.number);
    let issue = format!("{api}/issues/{}", pull.number);
    let pull_url = format!("{api}/pulls/{}", pull.number);
    let statuses = format!("{api}/statuses/{}", pull.head_sha);
    let side = |label: String, branch: &str, sha: &str, owner: &User, repo: &Value| json!({"label": label, "ref": branch, "sha": sha, "user": user(urls, owner), "repo": repo});
    let base_owner_login = &context.base_owner.login;
    json!({
        "url": pull_url,
        "id": pull.id,
        "node_id": node_id("011:PullRequest", pull.id),
        "html_url": html,
        "diff_url": format!("{html}.diff"),
        "patch_url": format!("{html}.patch"),
        "issue_url": issue,
        "commits_url": format!("{pull_url}/commits"),
        "review_comments_url": format!("{pull_url}/comments"),
        "review_comment_url": format!("{api}/pulls/comments{{/number}}"),
        "comments_url": format!("{issue}/comments"),
        "statuses_url": statuses,
        "number": pull.number,
        "state": if pull.state == PullState::Open { "open" } else { "closed" },
        "locked": false,
        "title": pull.title,
        "user": user(urls, context.author),
        "body": pull.body,
        "labels": labels(&api, &pull.labels),
        "milestone": null,
        "active_lock_reason": null,
        "created_at": timestamp(pull.created_at),
        "updated_at": timestamp(pull.updated_at),
        "closed_at": pull.closed_at.map(timestamp),
        "merged_at": pull.merged.as_ref().map(|merged| timestamp(merged.at)),
        "merge_commit_sha": pull.merged.as_ref().map(|merged| merged.sha.clone()),
        "assignee": null,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": side(pull.head_label(), &pull.head_branch, &pull.head_sha, context.head_owner, &context.head_repo),
        "base": side(format!("{base_owner_login}:{}", pull.base_branch), &pull.base_branch, &pull.base_sha, context.base_owner, &context.base_repo),
        "_links": {
            "self": {"href": pull_url},
            "html": {"href": html},
            "issue": {"href": issue},
            "comments": {"href": format!("{issue}/comments")},
            "review_comments": {"href": format!("{pull_url}/comments")},
            "review_comment": {"href": format!("{api}/pulls/comments{{/number}}")},
            "commits": {"href": format!("{pull_url}/commits")},
            "statuses": {"href": statuses}
        },
        "author_association": if context.author.login == *base_owner_login { "OWNER" } else { "CONTRIBUTOR" },
        "auto_merge": null,
        "draft": false
    })
}

/// `pull-request` (GET, POST, PATCH): the simple shape plus merge state.
pub(super) fn pull_full(
    urls: &Urls,
    pull: &PullRecord,
    context: &PullContext<'_>,
    mergeable: Option<bool>,
    merged_by: Option<&User>,
) -> Value {
    let mut value = pull_simple(urls, pull, context);
    let mergeable_state = match (pull.state, mergeable) {
        (PullState::Open, Some(true)) => "clean",
        (PullState::Open, Some(false)) => "dirty",
        _ => "unknown",
    };
    let object = value.as_object_mut().expect("built as an object");
    let extra = json!({
        "merged": pull.merged.is_some(),
        "mergeable": mergeable,
        "rebaseable": mergeable,
        "mergeable_state": mergeable_state,
        "merged_by": merged_by.map(|by| user(urls, by)),
        "comments": 0,
        "review_comments": 0,
        "maintainer_can_modify": false,
        "commits": 1,
        "additions": 0,
        "deletions": 0,
        "changed_files": 0
    });
    if let Value::Object(extra) = extra {
        object.extend(extra);
    }
    value
}

pub(super) fn status(
    urls: &Urls,
    full_name: &str,
    status: &StatusRecord,
    creator: Option<&User>,
) -> Value {
    let mut value = json!({
        "url": format!("{}/repos/{full_name}/statuses/{}", urls.api, status.sha),
        "avatar_url": format!("{}/avatars/{}", urls.web, status.creator),
        "id": status.id,
        "node_id": node_id("06:Status", status.id),
        "state": status.state,
        "description": status.description,
        "target_url": status.target_url,
        "context": status.context,
        "created_at": timestamp(status.created_at),
        "updated_at": timestamp(status.created_at)
    });
    if let Some(creator) = creator {
        value["creator"] = user(urls, creator);
    }
    value
}

pub(super) fn check_run(urls: &Urls, full_name: &str, run: &CheckRunRecord, app: &User) -> Value {
    json!({
        "id": run.id,
        "head_sha": run.sha,
        "node_id": node_id("08:CheckRun", run.id),
        "external_id": run.external_id,
        "url": format!("{}/repos/{full_name}/check-runs/{}", urls.api, run.id),
        "html_url": format!("{}/{full_name}/runs/{}", urls.web, run.id),
        "details_url": run.details_url,
        "status": run.status,
        "conclusion": run.conclusion,
        "started_at": timestamp(run.started_at),
        "completed_at": run.completed_at.map(timestamp),
        "output": {
            "title": run.output_title,
            "summary": run.output_summary,
            "text": null,
            "annotations_count": 0,
            "annotations_url": format!("{}/repos/{full_name}/check-runs/{}/annotations", urls.api, run.id)
        },
        "name": run.name,
        "check_suite": {"id": run.id},
        "app": {
            "id": app.id,
            "slug": app.login,
            "node_id": node_id("012:Integration", app.id),
            "owner": user(urls, app),
            "name": app.login,
            "description": "",
            "external_url": urls.web,
            "html_url": format!("{}/apps/{}", urls.web, app.login),
            "created_at": timestamp(0),
            "updated_at": timestamp(0),
            "permissions": {"checks": "write", "metadata": "read"},
            "events": []
        },
        "pull_requests": []
    })
}
