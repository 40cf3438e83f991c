//! `PUT …/pulls/{n}/merge`: real merge commits, the SHA guard (409), refusals (405), settings.

use sandbox::CommitSpec;
use sandbox::Sha;

use super::{NAME, OWNER, api, forge, open_dev_pull, repo_path};

fn merge(forge: &super::Forge, number: u64, body: &str) -> super::Answer {
    api(
        forge,
        "PUT",
        &repo_path(&format!("/pulls/{number}/merge")),
        Some(body),
    )
}

#[test]
fn merging_writes_a_merge_commit_with_both_tips_as_parents_and_moves_the_base() {
    let forge = forge();
    let number = open_dev_pull(&forge);
    let body = format!(
        r#"{{"sha":"{}","merge_method":"merge","commit_title":"Promote v2","commit_message":"Trailer: x"}}"#,
        forge.staging
    );
    let answer = merge(&forge, number, &body);
    assert_eq!(answer.status, 200, "{}", answer.text);
    let json = answer.json();
    assert_eq!(json["merged"], true);
    assert_eq!(json["message"], "Pull Request successfully merged");
    let merge_sha = Sha::parse(json["sha"].as_str().expect("sha")).expect("a SHA");
    let sandbox = &forge.sandbox;
    assert_eq!(
        sandbox
            .branch_tip(OWNER, NAME, "environment/dev")
            .expect("tip"),
        Some(merge_sha.clone())
    );
    assert_eq!(
        sandbox.parents(OWNER, NAME, &merge_sha).expect("parents"),
        vec![forge.live.clone(), forge.staging.clone()]
    );
    assert_eq!(
        sandbox
            .commit_message(OWNER, NAME, &merge_sha)
            .expect("message"),
        "Promote v2\n\nTrailer: x"
    );
    assert_eq!(
        sandbox
            .read_file(OWNER, NAME, &merge_sha, "app.yaml")
            .expect("read")
            .as_deref(),
        Some("v: 2\n")
    );
    let pull = api(&forge, "GET", &repo_path(&format!("/pulls/{number}")), None).json();
    assert_eq!(pull["merged"], true);
    assert_eq!(pull["state"], "closed");
    assert_eq!(pull["merge_commit_sha"], merge_sha.as_str());
    assert_eq!(pull["merged_by"]["login"], "promoter-bot");
    assert!(pull["merged_at"].is_string());
}

#[test]
fn merging_without_a_body_uses_githubs_default_message() {
    let forge = forge();
    let number = open_dev_pull(&forge);
    let answer = merge(&forge, number, "");
    assert_eq!(answer.status, 200, "{}", answer.text);
    let sha = Sha::parse(answer.json()["sha"].as_str().expect("sha")).expect("sha");
    assert_eq!(
        forge
            .sandbox
            .commit_message(OWNER, NAME, &sha)
            .expect("message"),
        "Merge pull request #1 from acme/environment/dev-next\n\nPromote"
    );
}

#[test]
fn a_merge_guarded_by_a_stale_head_sha_is_refused_with_409() {
    let forge = forge();
    let number = open_dev_pull(&forge);
    forge
        .sandbox
        .commit(
            OWNER,
            NAME,
            "environment/dev-next",
            &CommitSpec::new("late push").file("late", "1"),
        )
        .expect("commit");
    let answer = merge(&forge, number, &format!(r#"{{"sha":"{}"}}"#, forge.staging));
    assert_eq!(answer.status, 409);
    assert_eq!(
        answer.json()["message"],
        "Head branch was modified. Review and try the merge again."
    );
    assert_eq!(
        forge
            .sandbox
            .branch_tip(OWNER, NAME, "environment/dev")
            .expect("tip"),
        Some(forge.live.clone())
    );
}

#[test]
fn a_conflicting_merge_is_refused_with_405_and_moves_nothing() {
    let forge = forge();
    let number = open_dev_pull(&forge);
    let live = forge
        .sandbox
        .commit(
            OWNER,
            NAME,
            "environment/dev",
            &CommitSpec::new("hotfix").file("app.yaml", "v: 9\n"),
        )
        .expect("commit");
    let answer = merge(&forge, number, &format!(r#"{{"sha":"{}"}}"#, forge.staging));
    assert_eq!(answer.status, 405);
    assert_eq!(answer.json()["message"], "Pull Request is not mergeable");
    assert_eq!(
        forge
            .sandbox
            .branch_tip(OWNER, NAME, "environment/dev")
            .expect("tip"),
        Some(live)
    );
}

#[test]
fn merging_a_closed_or_merged_pull_request_is_refused_with_405() {
    let forge = forge();
    let number = open_dev_pull(&forge);
    assert_eq!(merge(&forge, number, "{}").status, 200);
    let again = merge(&forge, number, "{}");
    assert_eq!(again.status, 405);
    assert_eq!(again.json()["message"], "Pull Request is not mergeable");
}

#[test]
fn a_repository_without_merge_commits_refuses_merge_but_allows_squash() {
    let forge = forge();
    forge
        .sandbox
        .set_allow_merge_commit(OWNER, NAME, false)
        .expect("setting");
    let number = open_dev_pull(&forge);
    let refused = merge(&forge, number, r#"{"merge_method":"merge"}"#);
    assert_eq!(refused.status, 405);
    assert_eq!(
        refused.json()["message"],
        "Merge commits are not allowed on this repository."
    );
    let repo = api(&forge, "GET", &repo_path(""), None).json();
    assert_eq!(repo["allow_merge_commit"], false);
    let squashed = merge(&forge, number, r#"{"merge_method":"squash"}"#);
    assert_eq!(squashed.status, 200, "{}", squashed.text);
    let sha = Sha::parse(squashed.json()["sha"].as_str().expect("sha")).expect("sha");
    assert_eq!(
        forge.sandbox.parents(OWNER, NAME, &sha).expect("parents"),
        vec![forge.live.clone()]
    );
}

#[test]
fn an_unknown_merge_method_is_refused_with_422() {
    let forge = forge();
    let number = open_dev_pull(&forge);
    assert_eq!(
        merge(&forge, number, r#"{"merge_method":"octopus"}"#).status,
        422
    );
    assert_eq!(
        merge(&forge, number, r#"{"merge_method":"rebase"}"#).status,
        405
    );
}

#[test]
fn a_merge_commit_is_stamped_with_the_forges_clock_not_the_branch_times() {
    let forge = forge();
    let number = open_dev_pull(&forge);
    let answer = merge(&forge, number, "{}");
    let sha = answer.json()["sha"].as_str().expect("sha").to_owned();
    let branch = api(&forge, "GET", &repo_path("/branches/environment/dev"), None).json();
    assert_eq!(branch["commit"]["sha"], sha.as_str());
    let date = branch["commit"]["commit"]["committer"]["date"]
        .as_str()
        .expect("date");
    // Test commits are from 2023; a merge made now is from a later year.
    assert!(date > "2024-01-01T00:00:00Z", "{date}");
}

#[test]
fn merging_a_pull_request_from_a_fork_brings_the_forks_commit_into_the_base() {
    let forge = forge();
    let sandbox = &forge.sandbox;
    sandbox.fork_repo(OWNER, NAME, "forker").expect("fork");
    let fork_tip = sandbox
        .commit(
            "forker",
            NAME,
            "environment/dev-next",
            &CommitSpec::new("fork change").file("f", "1"),
        )
        .expect("commit");
    let number = sandbox
        .open_pull_as(
            "forker",
            OWNER,
            NAME,
            "forker:environment/dev-next",
            "environment/dev",
            "From fork",
        )
        .expect("pull");
    let answer = merge(&forge, number, &format!(r#"{{"sha":"{fork_tip}"}}"#));
    assert_eq!(answer.status, 200, "{}", answer.text);
    let sha = Sha::parse(answer.json()["sha"].as_str().expect("sha")).expect("sha");
    assert_eq!(
        sandbox.parents(OWNER, NAME, &sha).expect("parents"),
        vec![forge.live.clone(), fork_tip.clone()]
    );
    assert_eq!(
        sandbox
            .read_file(OWNER, NAME, &sha, "f")
            .expect("read")
            .as_deref(),
        Some("1")
    );
}
