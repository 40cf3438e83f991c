//! `POST /api/graphql`, as GitHub Enterprise Server serves GraphQL beside `/api/v3`: a narrow
//! reader of exactly the query promoter sends for gate reads (`src/scm/github/graphql.rs`) —
//! `repository(owner: $owner, name: $name)` with one aliased `object(oid: "<sha>")` per commit,
//! each asking `statusCheckRollup { contexts(first: 100) { … } }`. Any other query gets a GraphQL
//! error (HTTP 200 with `errors`), as GitHub answers a query it cannot serve. The selection set is
//! not interpreted: each commit's rollup is answered with every field promoter asks for.
//!
//! GitHub docs: `Commit.statusCheckRollup`, `StatusCheckRollup.contexts`
//! (https://docs.github.com/en/graphql/reference/objects#statuscheckrollup): the newest status
//! per context and the latest check run per name, enum values in upper case.

use serde_json::{Value, json};

use super::Call;
use super::json::timestamp;
use crate::server::Reply;

pub(super) fn answer(call: &Call<'_>, authenticated: bool) -> Reply {
    if call.incoming.method != "POST" {
        return super::error(404, "Not Found");
    }
    // Docs "Forming calls with GraphQL": every GraphQL call must be authenticated.
    if !authenticated {
        return super::error(401, "This endpoint requires you to be authenticated.");
    }
    let Ok(body) = serde_json::from_slice::<Value>(&call.incoming.body) else {
        return super::error(400, "Problems parsing JSON");
    };
    let query = body["query"].as_str().unwrap_or_default();
    let owner = body["variables"]["owner"].as_str().unwrap_or_default();
    let name = body["variables"]["name"].as_str().unwrap_or_default();
    if !query.contains("statusCheckRollup")
        || !query.contains("repository(owner: $owner, name: $name)")
    {
        return graphql_error("the sandbox serves only promoter's statusCheckRollup query");
    }
    let full_name = format!("{owner}/{name}");
    if call.store().repo(&full_name).is_err() {
        return Reply::json(
            200,
            &json!({"data": {"repository": null}, "errors": [{"type": "NOT_FOUND", "path": ["repository"], "message": format!("Could not resolve to a Repository with the name '{full_name}'.")}]}),
        );
    }
    let mut repository = serde_json::Map::new();
    for (alias, oid) in objects(query) {
        let store = call.store();
        let sha = store.resolve(&full_name, &oid).ok().flatten();
        let Some(sha) = sha else {
            repository.insert(alias, Value::Null);
            continue;
        };
        let statuses = store.latest_statuses(&full_name, &sha);
        let mut seen = std::collections::BTreeSet::new();
        let mut runs = store.check_runs(&full_name, &sha);
        runs.retain(|run| seen.insert(run.name.clone()));
        if statuses.is_empty() && runs.is_empty() {
            repository.insert(alias, json!({"statusCheckRollup": null}));
            continue;
        }
        let mut nodes: Vec<Value> = statuses
            .iter()
            .map(|status| {
                json!({
                    "__typename": "StatusContext",
                    "context": status.context,
                    "state": status.state.to_ascii_uppercase(),
                    "description": status.description,
                    "targetUrl": status.target_url,
                    "createdAt": timestamp(status.created_at),
                })
            })
            .collect();
        nodes.extend(runs.iter().map(|run| {
            json!({
                "__typename": "CheckRun",
                "name": run.name,
                "status": run.status.to_ascii_uppercase(),
                "conclusion": run.conclusion.as_ref().map(|c| c.to_ascii_uppercase()),
                "title": run.output_title,
                "detailsUrl": run.details_url,
                "url": format!("{}/{full_name}/runs/{}", call.urls.web, run.id),
                "startedAt": timestamp(run.started_at),
                "completedAt": run.completed_at.map(timestamp),
            })
        }));
        let more = nodes.len() > 100;
        nodes.truncate(100);
        repository.insert(
            alias,
            json!({"statusCheckRollup": {"contexts": {"pageInfo": {"hasNextPage": more}, "nodes": nodes}}}),
        );
    }
    Reply::json(200, &json!({"data": {"repository": repository}}))
}

/// `(alias, oid)` of every `alias: object(oid: "…")` in the query.
fn objects(query: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let marker = ": object(oid: \"";
    let mut rest = query;
    while let Some(at) = rest.find(marker) {
        let alias: String = rest[..at]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let after = &rest[at + marker.len()..];
        let Some(end) = after.find('"') else { break };
        found.push((alias, after[..end].to_owned()));
        rest = &after[end..];
    }
    found
}

fn graphql_error(message: &str) -> Reply {
    Reply::json(200, &json!({"errors": [{"message": message}]}))
}
