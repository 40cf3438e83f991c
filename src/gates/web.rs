//! The `webRequest` gate (docs/gates.md): one HTTP request about the judged commit, its answer
//! judged by the `success` (and optional `failure`) expressions over `response.status`,
//! `response.text` and `response.json`. Observe calls [`ask`]; the planner only sees the
//! [`GateResult`].
//!
//! An answer that is not success is `pending` unless `failure` holds: an endpoint that has not
//! finished yet must not fail a promotion. Anything that keeps the question from being answered —
//! a timeout, a refused connection, a missing secret, an expression error — is `pending` with the
//! reason; the next pass asks again. Secrets come only from the variables `headersFromEnv` names;
//! they are registered for redaction before the request is sent, and every description is
//! redacted, so a server echoing a header shows `***`.

use std::time::Duration;

use minijinja::Value;

use super::{GateResult, expr};
use crate::ci_env::Env;
use crate::config::WebRequest;
use crate::model::{BranchName, GateKey, GateState, Secret, Sha};
use crate::tls::Trust;

/// At most this much of an answer is read; a longer answer leaves the gate pending, saying so.
pub(crate) const MAX_ANSWER_BYTES: u64 = 1 << 20;

/// The commit and environment a request is about: its template variables.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WebTarget<'a> {
    pub sha: &'a Sha,
    pub branch: &'a BranchName,
    pub staging_branch: &'a BranchName,
    pub strategy: &'a str,
}

impl WebTarget<'_> {
    fn context(&self, key: &GateKey) -> Value {
        Value::from_pairs([
            (
                "commit",
                Value::from_pairs([
                    ("sha", Value::from(self.sha.as_str())),
                    ("shortSha", Value::from(self.sha.short())),
                ]),
            ),
            (
                "environment",
                Value::from_pairs([
                    ("branch", Value::from(self.branch.as_str())),
                    ("stagingBranch", Value::from(self.staging_branch.as_str())),
                ]),
            ),
            (
                "strategy",
                Value::from_pairs([("name", Value::from(self.strategy))]),
            ),
            (
                "gate",
                Value::from_pairs([("key", Value::from(key.as_str()))]),
            ),
        ])
    }
}

/// A request ready to send.
struct Prepared {
    url: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
}

/// Asks the endpoint and judges its answer.
pub(crate) fn ask(
    key: &GateKey,
    request: &WebRequest,
    target: &WebTarget<'_>,
    env: Env<'_>,
    trust: &Trust,
) -> GateResult {
    let pending = |why: String| GateResult::new(key.clone(), GateState::Pending, redacted(&why));
    let prepared = match prepare(key, request, target, env) {
        Ok(prepared) => prepared,
        Err(why) => return pending(why),
    };
    let answer = match send(request, &prepared, trust) {
        Ok(answer) => answer,
        Err(why) => {
            let mut result = pending(why);
            result.target_url = Some(redacted(&prepared.url));
            return result;
        }
    };
    let mut result = judge(key, request, &answer);
    result.target_url = Some(redacted(&prepared.url));
    result
}

fn redacted(text: &str) -> String {
    crate::redact::text(text).into_owned()
}

fn prepare(
    key: &GateKey,
    request: &WebRequest,
    target: &WebTarget<'_>,
    env: Env<'_>,
) -> Result<Prepared, String> {
    let context = target.context(key);
    let render = |what: &str, source: &str| {
        expr::render(source, context.clone()).map_err(|e| format!("rendering {what}: {e}"))
    };
    let url = render("the URL", &request.url)?;
    let mut headers = Vec::new();
    for (name, source) in &request.headers {
        headers.push((name.clone(), render(&format!("header `{name}`"), source)?));
    }
    for (name, variable) in &request.headers_from_env {
        let value = env(variable)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| format!("`{variable}` is not set (header `{name}` reads it)"))?;
        // Registered for redaction before it leaves the process.
        let secret = Secret::new(value.trim());
        headers.push((name.clone(), secret.expose().to_owned()));
    }
    let body = match &request.body {
        Some(source) => Some(render("the body", source)?),
        None => None,
    };
    Ok(Prepared { url, headers, body })
}

/// What came back.
#[derive(Debug)]
struct Answer {
    status: u16,
    text: String,
}

fn send(request: &WebRequest, prepared: &Prepared, trust: &Trust) -> Result<Answer, String> {
    let origin = origin(&prepared.url);
    let tls = trust.tls_config_for(&prepared.url)?;
    let config = ureq::Agent::config_builder()
        // Every status is an answer for the expressions to judge (ureq 3 docs,
        // `http_status_as_error`).
        .http_status_as_error(false)
        .user_agent(format!("promoter/{}", env!("CARGO_PKG_VERSION")))
        .timeout_global(Some(request.timeout))
        .tls_config(tls)
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let response = match request.method {
        "POST" | "PUT" => {
            let mut builder = if request.method == "POST" {
                agent.post(&prepared.url)
            } else {
                agent.put(&prepared.url)
            };
            for (name, value) in &prepared.headers {
                builder = builder.header(name, value);
            }
            builder.send(prepared.body.clone().unwrap_or_default())
        }
        _ => {
            let mut builder = agent.get(&prepared.url);
            for (name, value) in &prepared.headers {
                builder = builder.header(name, value);
            }
            builder.call()
        }
    };
    let failed = |error: ureq::Error| failure_text(&error, &origin, request.timeout);
    let mut response = response.map_err(failed)?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER_BYTES)
        .lossy_utf8(true)
        .read_to_string()
        .map_err(failed)?;
    Ok(Answer { status, text })
}

fn failure_text(error: &ureq::Error, origin: &str, timeout: Duration) -> String {
    match error {
        ureq::Error::Timeout(_) => format!(
            "no answer from {origin} within {}",
            crate::config::format_duration(timeout)
        ),
        ureq::Error::BodyExceedsLimit(_) => {
            format!("the answer from {origin} is longer than 1 MB")
        }
        other => format!("asking {origin}: {other}"),
    }
}

/// `scheme://host[:port]` of a URL, for messages (no path or query: they may carry ids).
fn origin(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after_scheme + i);
    url[..end].to_owned()
}

fn judge(key: &GateKey, request: &WebRequest, answer: &Answer) -> GateResult {
    let mut response = vec![
        ("status", Value::from(answer.status)),
        ("text", Value::from(answer.text.as_str())),
    ];
    // Not JSON: `response.json` is undefined, so an expression using it says so.
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(&answer.text) {
        response.push(("json", expr::from_json(&json)));
    }
    let context = Value::from_pairs([("response", Value::from_pairs(response))]);
    let status = answer.status;
    let result =
        |state: GateState, why: String| GateResult::new(key.clone(), state, redacted(&why));
    match expr::is_true(&request.success, context.clone()) {
        Ok(true) => {
            return result(
                GateState::Success,
                format!("HTTP {status}: `success` holds"),
            );
        }
        Ok(false) => {}
        Err(message) => {
            return result(
                GateState::Pending,
                format!("HTTP {status}: `success` cannot be evaluated: {message}"),
            );
        }
    }
    match request
        .failure
        .as_deref()
        .map(|f| expr::is_true(f, context))
    {
        Some(Ok(true)) => result(
            GateState::Failure,
            format!("HTTP {status}: `failure` holds"),
        ),
        Some(Err(message)) => result(
            GateState::Pending,
            format!("HTTP {status}: `failure` cannot be evaluated: {message}"),
        ),
        Some(Ok(false)) | None => result(
            GateState::Pending,
            format!("HTTP {status}: waiting for `success` to hold"),
        ),
    }
}

#[cfg(test)]
#[path = "web_tests.rs"]
mod tests;
