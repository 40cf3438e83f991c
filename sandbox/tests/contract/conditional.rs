//! Conditional requests and the GraphQL gate query of the GitHub dialect.

use super::{NAME, OWNER, TOKEN, api, forge, repo_path};

/// `GET path` with `If-None-Match: etag`: `(status, etag, x-ratelimit-used)`.
fn conditional_get(forge: &super::Forge, path: &str, etag: &str) -> (u16, String, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{}{path}", forge.sandbox.api_url());
    let response = agent
        .get(&url)
        .header("Authorization", format!("Bearer {TOKEN}"))
        .header("If-None-Match", etag)
        .call()
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    (
        response.status().as_u16(),
        header("etag"),
        header("x-ratelimit-used"),
    )
}

#[test]
fn an_unchanged_answer_is_304_and_does_not_count_against_the_rate_limit() {
    let forge = forge();
    let path = repo_path("/pulls?state=open");
    let first = api(&forge, "GET", &path, None);
    assert_eq!(first.status, 200);
    let etag = first.header("etag").expect("an ETag").to_owned();
    assert!(etag.starts_with("W/\""), "{etag}");
    let used: u64 = first.header("x-ratelimit-used").unwrap().parse().unwrap();

    let (status, again, used_after) = conditional_get(&forge, &path, &etag);
    assert_eq!(status, 304);
    assert_eq!(again, etag);
    assert_eq!(used_after, used.to_string(), "a 304 is not counted");
    assert_eq!(forge.sandbox.not_modified_count(), 1);

    // Something changed: the old tag no longer matches.
    super::open_dev_pull(&forge);
    let (status, changed, _) = conditional_get(&forge, &path, &etag);
    assert_eq!(status, 200);
    assert_ne!(changed, etag);
}

#[test]
fn the_graphql_gate_query_answers_each_aliased_commit() {
    let forge = forge();
    forge
        .sandbox
        .set_status(OWNER, NAME, &forge.staging, "health", "success", "ok")
        .unwrap();
    let query = format!(
        "query($owner: String!, $name: String!) {{ repository(owner: $owner, name: $name) {{ \
         c0: object(oid: \"{}\") {{ ... on Commit {{ statusCheckRollup {{ contexts(first: 100) {{ nodes {{ __typename }} }} }} }} }} \
         c1: object(oid: \"{}\") {{ ... on Commit {{ statusCheckRollup {{ contexts(first: 100) {{ nodes {{ __typename }} }} }} }} }} }} }}",
        forge.staging, forge.live
    );
    let body = serde_json::json!({"query": query, "variables": {"owner": OWNER, "name": NAME}});
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{}/api/graphql", forge.sandbox.base_url());
    let mut response = agent
        .post(&url)
        .header("Authorization", format!("Bearer {TOKEN}"))
        .header("User-Agent", "promoter-tests/1")
        .send(body.to_string())
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let answer: serde_json::Value =
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    let repository = &answer["data"]["repository"];
    let nodes = &repository["c0"]["statusCheckRollup"]["contexts"]["nodes"];
    assert_eq!(nodes[0]["__typename"], "StatusContext");
    assert_eq!(nodes[0]["context"], "health");
    assert_eq!(nodes[0]["state"], "SUCCESS");
    assert!(repository["c1"]["statusCheckRollup"].is_null(), "{answer}");
}
