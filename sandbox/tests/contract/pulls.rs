//! Pull request endpoints: create, list (filters, the head-filter quirk, pages), get, update.

use sandbox::CommitSpec;

use super::{NAME, OWNER, api, forge, open_dev_pull, repo_path};

#[test]
fn creating_a_pull_request_answers_201_with_the_full_pull_request() {
    let forge = forge();
    let answer = api(
        &forge,
        "POST",
        &repo_path("/pulls"),
        Some(
            r#"{"title":"Promote","head":"environment/dev-next","base":"environment/dev","body":"why"}"#,
        ),
    );
    assert_eq!(answer.status, 201, "{}", answer.text);
    let pull = answer.json();
    assert_eq!(pull["number"], 1);
    assert_eq!(pull["state"], "open");
    assert_eq!(pull["title"], "Promote");
    assert_eq!(pull["body"], "why");
    assert_eq!(pull["head"]["ref"], "environment/dev-next");
    assert_eq!(pull["head"]["label"], "acme:environment/dev-next");
    assert_eq!(pull["head"]["sha"], forge.staging.as_str());
    assert_eq!(pull["head"]["repo"]["full_name"], "acme/deploy");
    assert_eq!(pull["base"]["ref"], "environment/dev");
    assert_eq!(pull["base"]["sha"], forge.live.as_str());
    assert_eq!(pull["user"]["login"], "promoter-bot");
    assert_eq!(pull["merged"], false);
    assert_eq!(pull["mergeable"], true);
    assert_eq!(
        pull["html_url"],
        format!("{}/acme/deploy/pull/1", forge.sandbox.base_url())
    );
    assert_eq!(
        answer.header("location"),
        Some(format!("{}/repos/acme/deploy/pulls/1", forge.sandbox.api_url()).as_str())
    );
}

#[test]
fn a_second_pull_request_for_the_same_head_and_base_is_refused_with_422() {
    let forge = forge();
    open_dev_pull(&forge);
    let answer = api(
        &forge,
        "POST",
        &repo_path("/pulls"),
        Some(r#"{"title":"Again","head":"environment/dev-next","base":"environment/dev"}"#),
    );
    assert_eq!(answer.status, 422);
    let body = answer.json();
    assert_eq!(body["message"], "Validation Failed");
    assert_eq!(
        body["errors"][0]["message"],
        "A pull request already exists for acme:environment/dev-next."
    );
}

#[test]
fn a_pull_request_without_new_commits_is_refused_with_422() {
    let forge = forge();
    let answer = api(
        &forge,
        "POST",
        &repo_path("/pulls"),
        Some(r#"{"title":"Nothing","head":"environment/dev","base":"environment/dev-next"}"#),
    );
    assert_eq!(answer.status, 422);
    assert_eq!(
        answer.json()["errors"][0]["message"],
        "No commits between environment/dev-next and acme:environment/dev"
    );
}

#[test]
fn a_pull_request_from_a_missing_branch_is_refused_with_422_naming_the_field() {
    let forge = forge();
    let answer = api(
        &forge,
        "POST",
        &repo_path("/pulls"),
        Some(r#"{"title":"x","head":"nope","base":"environment/dev"}"#),
    );
    assert_eq!(answer.status, 422);
    assert_eq!(answer.json()["errors"][0]["field"], "head");
    let answer = api(
        &forge,
        "POST",
        &repo_path("/pulls"),
        Some(r#"{"title":"x","head":"environment/dev-next","base":"nope"}"#),
    );
    assert_eq!(answer.status, 422);
    assert_eq!(answer.json()["errors"][0]["field"], "base");
}

fn numbers(answer: &super::Answer) -> Vec<u64> {
    answer
        .json()
        .as_array()
        .expect("array")
        .iter()
        .map(|pull| pull["number"].as_u64().expect("number"))
        .collect()
}

/// Adds `environment/prod` and `environment/prod-next` with a PR between them (number 2).
fn second_pull(forge: &super::Forge) {
    let sandbox = &forge.sandbox;
    sandbox
        .create_branch(OWNER, NAME, "environment/prod", "main")
        .expect("branch");
    sandbox
        .create_branch(OWNER, NAME, "environment/prod-next", "main")
        .expect("branch");
    sandbox
        .commit(
            OWNER,
            NAME,
            "environment/prod-next",
            &CommitSpec::new("p").file("p", "1"),
        )
        .expect("commit");
    sandbox
        .open_pull_as(
            "someone",
            OWNER,
            NAME,
            "environment/prod-next",
            "environment/prod",
            "Prod",
        )
        .expect("pull");
}

#[test]
fn the_head_filter_applies_only_with_the_owner_prefix_as_on_github() {
    let forge = forge();
    open_dev_pull(&forge);
    second_pull(&forge);
    let with_owner = api(
        &forge,
        "GET",
        &repo_path("/pulls?state=open&head=acme:environment/dev-next"),
        None,
    );
    assert_eq!(numbers(&with_owner), vec![1]);
    // Without `owner:` GitHub ignores the filter and lists every open PR.
    let without_owner = api(
        &forge,
        "GET",
        &repo_path("/pulls?state=open&head=environment/dev-next"),
        None,
    );
    assert_eq!(numbers(&without_owner), vec![2, 1]);
    let by_base = api(
        &forge,
        "GET",
        &repo_path("/pulls?base=environment/prod"),
        None,
    );
    assert_eq!(numbers(&by_base), vec![2]);
}

#[test]
fn the_state_filter_separates_open_and_closed_pull_requests() {
    let forge = forge();
    let number = open_dev_pull(&forge);
    second_pull(&forge);
    let closed = api(
        &forge,
        "PATCH",
        &repo_path(&format!("/pulls/{number}")),
        Some(r#"{"state":"closed"}"#),
    );
    assert_eq!(closed.status, 200);
    assert_eq!(closed.json()["state"], "closed");
    assert_eq!(
        numbers(&api(&forge, "GET", &repo_path("/pulls"), None)),
        vec![2]
    );
    assert_eq!(
        numbers(&api(&forge, "GET", &repo_path("/pulls?state=closed"), None)),
        vec![1]
    );
    assert_eq!(
        numbers(&api(&forge, "GET", &repo_path("/pulls?state=all"), None)),
        vec![2, 1]
    );
}

#[test]
fn pull_request_lists_are_paged_with_a_link_header() {
    let forge = forge();
    let sandbox = &forge.sandbox;
    for index in 0..5 {
        let branch = format!("feature/{index}");
        sandbox
            .create_branch(OWNER, NAME, &branch, "main")
            .expect("branch");
        sandbox
            .commit(
                OWNER,
                NAME,
                &branch,
                &CommitSpec::new("f").file("f", &index.to_string()),
            )
            .expect("commit");
        sandbox
            .open_pull_as("dev", OWNER, NAME, &branch, "main", "feature")
            .expect("pull");
    }
    let first = api(&forge, "GET", &repo_path("/pulls?per_page=2"), None);
    assert_eq!(numbers(&first), vec![5, 4]);
    let base = format!("{}{}", sandbox.api_url(), repo_path("/pulls"));
    assert_eq!(
        first.header("link"),
        Some(
            format!(
                r#"<{base}?per_page=2&page=2>; rel="next", <{base}?per_page=2&page=3>; rel="last""#
            )
            .as_str()
        )
    );
    let second = api(&forge, "GET", &repo_path("/pulls?per_page=2&page=2"), None);
    assert_eq!(numbers(&second), vec![3, 2]);
    assert_eq!(
        second.header("link"),
        Some(format!(r#"<{base}?per_page=2&page=1>; rel="prev", <{base}?per_page=2&page=3>; rel="next", <{base}?per_page=2&page=3>; rel="last", <{base}?per_page=2&page=1>; rel="first""#).as_str())
    );
    let last = api(&forge, "GET", &repo_path("/pulls?per_page=2&page=3"), None);
    assert_eq!(numbers(&last), vec![1]);
    let single = api(&forge, "GET", &repo_path("/pulls"), None);
    assert_eq!(single.header("link"), None);
}

#[test]
fn the_pull_request_head_follows_the_head_branch_tip() {
    let forge = forge();
    let number = open_dev_pull(&forge);
    let moved = forge
        .sandbox
        .commit(
            OWNER,
            NAME,
            "environment/dev-next",
            &CommitSpec::new("again").file("app.yaml", "v: 3\n"),
        )
        .expect("commit");
    let pull = api(&forge, "GET", &repo_path(&format!("/pulls/{number}")), None).json();
    assert_eq!(pull["head"]["sha"], moved.as_str());
    let listed = api(&forge, "GET", &repo_path("/pulls"), None).json();
    assert_eq!(listed[0]["head"]["sha"], moved.as_str());
}

#[test]
fn updating_a_pull_request_changes_title_and_body_only_as_asked() {
    let forge = forge();
    let number = open_dev_pull(&forge);
    let path = repo_path(&format!("/pulls/{number}"));
    let answer = api(&forge, "PATCH", &path, Some(r#"{"title":"New title"}"#));
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["title"], "New title");
    assert_eq!(answer.json()["body"], "b");
    let answer = api(&forge, "PATCH", &path, Some(r#"{"body":"New body"}"#));
    assert_eq!(answer.json()["title"], "New title");
    assert_eq!(answer.json()["body"], "New body");
    assert_eq!(
        api(&forge, "GET", &repo_path("/pulls/99"), None).status,
        404
    );
}

#[test]
fn a_conflicting_pull_request_reports_mergeable_false() {
    let forge = forge();
    let number = open_dev_pull(&forge);
    forge
        .sandbox
        .commit(
            OWNER,
            NAME,
            "environment/dev",
            &CommitSpec::new("live edit").file("app.yaml", "v: 9\n"),
        )
        .expect("commit");
    let pull = api(&forge, "GET", &repo_path(&format!("/pulls/{number}")), None).json();
    assert_eq!(pull["mergeable"], false);
    assert_eq!(pull["mergeable_state"], "dirty");
}

#[test]
fn a_pull_request_from_a_fork_carries_the_fork_as_head_repository() {
    let forge = forge();
    let sandbox = &forge.sandbox;
    sandbox.fork_repo(OWNER, NAME, "forker").expect("fork");
    let tip = sandbox
        .commit(
            "forker",
            NAME,
            "environment/dev-next",
            &CommitSpec::new("fork").file("x", "1"),
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
    let pull = api(&forge, "GET", &repo_path(&format!("/pulls/{number}")), None).json();
    assert_eq!(pull["head"]["label"], "forker:environment/dev-next");
    assert_eq!(pull["head"]["repo"]["full_name"], "forker/deploy");
    assert_eq!(pull["head"]["repo"]["fork"], true);
    assert_eq!(pull["head"]["sha"], tip.as_str());
    assert_eq!(pull["user"]["login"], "forker");
    // The same-repository PR with this head/base is a different PR and may still be opened.
    let own = api(
        &forge,
        "GET",
        &repo_path("/pulls?head=acme:environment/dev-next"),
        None,
    );
    assert_eq!(numbers(&own), Vec::<u64>::new());
    assert_eq!(super::open_dev_pull(&forge), 2);
}
