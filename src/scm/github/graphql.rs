//! Gate reads of many commits in one GraphQL query (docs/performance.md, "Batched reads"): each
//! SHA is one aliased `object(oid:)` whose `statusCheckRollup.contexts` holds the commit statuses
//! (`StatusContext`) and check runs (`CheckRun`) GitHub shows for it. The answer is mapped to the
//! REST wire shapes and reduced by the same code as the REST path (`wire::reduce`), so the states
//! and the newest-per-name rule are docs/design.md §4.1's either way.
//!
//! GitHub docs:
//! - Endpoint: `https://api.github.com/graphql`; GitHub Enterprise Server
//!   `http(s)://HOSTNAME/api/graphql` ("Forming calls with GraphQL",
//!   <https://docs.github.com/en/graphql/guides/forming-calls-with-graphql>).
//! - `Commit.statusCheckRollup` → `StatusCheckRollup.contexts` (a connection of
//!   `StatusCheckRollupContext` = `CheckRun | StatusContext`)
//!   (<https://docs.github.com/en/graphql/reference/objects#commit>,
//!   <https://docs.github.com/en/graphql/reference/objects#statuscheckrollup>). Enum values are
//!   upper case (`StatusState`, `CheckStatusState`, `CheckConclusionState`) and name the REST
//!   values, so lower-casing them gives the REST strings.
//! - Cost ("Rate limits and query limits for the GraphQL API",
//!   <https://docs.github.com/en/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api>):
//!   a query costs the number of connection requests divided by 100, at least 1 point, on the
//!   GraphQL limit (5,000 points an hour for a token) which is separate from REST's; `first` at
//!   most 100; at most 500,000 nodes. [`MAX_SHAS`] commits × 100 contexts stays far below it
//!   and costs 1 point.
//!
//! Decisions: a commit with more than 100 contexts (`pageInfo.hasNextPage`) is read again by
//! REST, which pages. A server without GraphQL or without `statusCheckRollup` (GitHub Enterprise
//! Server with the API off or older: 404, 403, 400/422, or a 200 whose `errors` leave no data) is
//! [`Failure::Unavailable`]: the caller reads by REST for the rest of the run.

use serde::Deserialize;

use super::wire::{CheckOutput, CheckRun, CommitStatus};
use crate::model::Sha;
use crate::scm::http::HttpError;

/// Commits per query; more are split into several queries.
pub(super) const MAX_SHAS: usize = 100;

/// The GraphQL endpoint for REST root `api_url`.
pub(super) fn endpoint(api_url: &str) -> String {
    let root = api_url.trim_end_matches('/');
    match root.strip_suffix("/api/v3") {
        Some(host) => format!("{host}/api/graphql"),
        None => format!("{root}/graphql"),
    }
}

/// The query for `shas` (aliases `c0`, `c1`, … in that order). SHAs are hex, so they need no
/// escaping inside the string literal.
pub(super) fn query(shas: &[Sha]) -> String {
    let mut text = String::from(
        "query($owner: String!, $name: String!) { repository(owner: $owner, name: $name) {",
    );
    for (index, sha) in shas.iter().enumerate() {
        text.push_str(&format!(
            " c{index}: object(oid: \"{sha}\") {{ ... on Commit {{ statusCheckRollup {{ contexts(first: 100) {{ pageInfo {{ hasNextPage }} nodes {{ __typename ... on StatusContext {{ context state description targetUrl createdAt }} ... on CheckRun {{ name status conclusion title detailsUrl url startedAt completedAt }} }} }} }} }} }}"
        ));
    }
    text.push_str(" } }");
    text
}

/// Why a query gave no reports.
#[derive(Debug)]
pub(super) enum Failure {
    /// GraphQL (or this field) is not there: read by REST instead.
    Unavailable,
    /// The request failed the way a REST read would have (no answer, 5xx, rate limit, 401).
    Failed(HttpError),
}

impl Failure {
    /// What an HTTP error of the query means.
    pub(super) fn of(error: HttpError) -> Self {
        match error.status() {
            // Docs: GHES without the API, a token or proxy refusing the endpoint, a query the
            // server cannot parse.
            Some(400 | 403 | 404 | 422) => Failure::Unavailable,
            _ => Failure::Failed(error),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct Answer {
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    errors: Option<Vec<GraphqlError>>,
}

#[derive(Debug, Deserialize)]
struct GraphqlError {}

#[derive(Debug, Deserialize)]
struct Data {
    repository: Option<std::collections::BTreeMap<String, Option<CommitObject>>>,
}

#[derive(Debug, Deserialize)]
struct CommitObject {
    #[serde(rename = "statusCheckRollup", default)]
    rollup: Option<Rollup>,
}

#[derive(Debug, Deserialize)]
struct Rollup {
    contexts: Contexts,
}

#[derive(Debug, Deserialize)]
struct Contexts {
    #[serde(rename = "pageInfo")]
    page_info: PageInfo,
    nodes: Vec<Option<Node>>,
}

#[derive(Debug, Deserialize)]
struct PageInfo {
    #[serde(rename = "hasNextPage")]
    has_next_page: bool,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "__typename")]
enum Node {
    StatusContext {
        context: String,
        state: String,
        description: Option<String>,
        #[serde(rename = "targetUrl")]
        target_url: Option<String>,
        #[serde(rename = "createdAt")]
        created_at: Option<String>,
    },
    CheckRun {
        name: String,
        status: String,
        conclusion: Option<String>,
        title: Option<String>,
        #[serde(rename = "detailsUrl")]
        details_url: Option<String>,
        url: Option<String>,
        #[serde(rename = "startedAt")]
        started_at: Option<String>,
        #[serde(rename = "completedAt")]
        completed_at: Option<String>,
    },
}

/// The REST-shaped reports of one commit; `None` when REST must read it (more than one page).
pub(super) type PerSha = Option<(Vec<CommitStatus>, Vec<CheckRun>)>;

/// The answer for `count` SHAs (aliases `c0`…), in order.
pub(super) fn read(answer: Answer, count: usize) -> Result<Vec<PerSha>, Failure> {
    let has_errors = answer.errors.as_ref().is_some_and(|e| !e.is_empty());
    let Some(mut objects) = answer.data.and_then(|data| data.repository) else {
        return Err(Failure::Unavailable);
    };
    // An error next to data (e.g. a field this server lacks) means the data cannot be trusted.
    if has_errors {
        return Err(Failure::Unavailable);
    }
    Ok((0..count)
        .map(|index| {
            let object = objects.remove(&format!("c{index}")).flatten()?;
            let Some(rollup) = object.rollup else {
                // No status and no check run on the commit.
                return Some((Vec::new(), Vec::new()));
            };
            if rollup.contexts.page_info.has_next_page {
                return None;
            }
            let mut statuses = Vec::new();
            let mut runs = Vec::new();
            for node in rollup.contexts.nodes.into_iter().flatten() {
                match node {
                    Node::StatusContext {
                        context,
                        state,
                        description,
                        target_url,
                        created_at,
                    } => statuses.push(CommitStatus {
                        state: state.to_ascii_lowercase(),
                        context,
                        description,
                        target_url,
                        created_at,
                        updated_at: None,
                    }),
                    Node::CheckRun {
                        name,
                        status,
                        conclusion,
                        title,
                        details_url,
                        url,
                        started_at,
                        completed_at,
                    } => runs.push(CheckRun {
                        name,
                        status: status.to_ascii_lowercase(),
                        conclusion: conclusion.map(|c| c.to_ascii_lowercase()),
                        started_at,
                        completed_at,
                        html_url: url,
                        details_url,
                        output: Some(CheckOutput { title }),
                    }),
                }
            }
            Some((statuses, runs))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollup_contexts_map_to_the_rest_states_and_a_long_rollup_goes_to_rest() {
        let answer: Answer = serde_json::from_value(serde_json::json!({"data": {"repository": {
            "c0": {"statusCheckRollup": {"contexts": {"pageInfo": {"hasNextPage": false}, "nodes": [
                {"__typename": "StatusContext", "context": "health", "state": "SUCCESS",
                 "description": "ok", "targetUrl": "https://ci/1", "createdAt": "2026-01-01T00:00:00Z"},
                {"__typename": "StatusContext", "context": "scan", "state": "EXPECTED",
                 "description": null, "targetUrl": null, "createdAt": "2026-01-01T00:00:00Z"},
                {"__typename": "CheckRun", "name": "build", "status": "COMPLETED",
                 "conclusion": "TIMED_OUT", "title": "Build", "detailsUrl": null,
                 "url": "https://github.com/o/r/runs/1", "startedAt": "2026-01-01T00:00:00Z",
                 "completedAt": "2026-01-01T00:01:00Z"},
                {"__typename": "CheckRun", "name": "lint", "status": "IN_PROGRESS",
                 "conclusion": null, "title": null, "detailsUrl": null, "url": null,
                 "startedAt": "2026-01-01T00:00:00Z", "completedAt": null}
            ]}}},
            "c1": {"statusCheckRollup": {"contexts": {"pageInfo": {"hasNextPage": true}, "nodes": []}}},
            "c2": {"statusCheckRollup": null}
        }}}))
        .unwrap();
        let mut read = read(answer, 3).unwrap().into_iter();
        let (statuses, runs) = read.next().unwrap().unwrap();
        let states: Vec<(String, crate::model::GateState)> =
            super::super::wire::reduce(statuses, runs)
                .into_iter()
                .map(|r| (r.name, r.state))
                .collect();
        use crate::model::GateState::{Failure, Pending, Success};
        assert_eq!(
            states,
            [
                ("build".to_owned(), Failure),
                ("health".to_owned(), Success),
                ("lint".to_owned(), Pending),
                ("scan".to_owned(), Pending),
            ]
        );
        assert!(
            read.next().unwrap().is_none(),
            "more than 100 contexts: REST"
        );
        assert_eq!(read.next().unwrap().unwrap().0.len(), 0);
    }

    #[test]
    fn an_answer_with_errors_means_graphql_is_unavailable() {
        let answer: Answer = serde_json::from_value(serde_json::json!({
            "data": {"repository": {"c0": null}},
            "errors": [{"message": "Field 'statusCheckRollup' doesn't exist on type 'Commit'"}]
        }))
        .unwrap();
        assert!(matches!(read(answer, 1), Err(Failure::Unavailable)));
    }

    #[test]
    fn the_endpoint_follows_the_rest_root() {
        assert_eq!(
            endpoint("https://api.github.com"),
            "https://api.github.com/graphql"
        );
        assert_eq!(
            endpoint("https://ghe.example.com/api/v3/"),
            "https://ghe.example.com/api/graphql"
        );
    }
}
