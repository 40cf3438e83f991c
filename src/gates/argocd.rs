//! The `argocd` gate (docs/gates.md): are the Argo CD applications that deploy an environment's
//! live branch synced to its live tip and healthy? One REST call per environment and pass:
//! `GET <server>/api/v1/applications?selector=<selector>` with `Authorization: Bearer <token>`
//! (<https://argo-cd.readthedocs.io/en/stable/developer-guide/api-docs/>, "Authorization").
//!
//! Rules (upstream's ArgoCDCommitStatus): `success` only when every application tracking the
//! branch is Synced to exactly the live tip and Healthy; `failure` only when every one is
//! Degraded; otherwise `pending` with counts. No application tracking the branch is pending too:
//! a selector that matches nothing must not let a promotion through.

use serde::Deserialize;

use super::GateResult;
use crate::ci_env::Env;
use crate::config::ArgocdGate;
use crate::model::{BranchName, GateKey, GateState, Secret, Sha};
use crate::tls::Trust;

/// The whole request's bound: the pass waits for it.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// An application list is read up to this size.
const MAX_ANSWER_BYTES: u64 = 32 << 20;

/// `v1alpha1.ApplicationList`: only what the gate reads. Every field may be absent (Argo CD
/// omits empty ones; `items` is `null` when nothing matches).
#[derive(Debug, Deserialize)]
struct ApplicationList {
    #[serde(default)]
    items: Option<Vec<Application>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Application {
    metadata: Metadata,
    spec: Spec,
    status: Status,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Metadata {
    name: String,
}

/// An application deploys a branch through `spec.source` (one source), `spec.sources` (multiple
/// sources, <https://argo-cd.readthedocs.io/en/stable/user-guide/multiple_sources/>) or the
/// source hydrator's `spec.sourceHydrator.syncSource.targetBranch`
/// (<https://argo-cd.readthedocs.io/en/stable/user-guide/source-hydrator/>).
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Spec {
    source: Option<Source>,
    sources: Vec<Source>,
    source_hydrator: Option<SourceHydrator>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Source {
    target_revision: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct SourceHydrator {
    sync_source: SyncSource,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct SyncSource {
    target_branch: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Status {
    sync: SyncStatus,
    health: HealthStatus,
}

/// `status.sync`: `status` is `Synced`, `OutOfSync` or `Unknown`; `revision` the commit synced
/// to (`revisions`, one per source, for multi-source applications).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SyncStatus {
    status: String,
    revision: String,
    revisions: Vec<String>,
}

/// `status.health.status`: `Healthy`, `Progressing`, `Degraded`, `Suspended`, `Missing` or
/// `Unknown` (<https://argo-cd.readthedocs.io/en/stable/operator-manual/health/>).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HealthStatus {
    status: String,
}

impl Application {
    fn tracks(&self, branch: &str) -> bool {
        let spec = &self.spec;
        spec.source
            .iter()
            .chain(&spec.sources)
            .any(|s| s.target_revision == branch)
            || spec
                .source_hydrator
                .as_ref()
                .is_some_and(|h| h.sync_source.target_branch == branch)
    }

    fn synced_to(&self, tip: &Sha) -> bool {
        let sync = &self.status.sync;
        sync.status == "Synced"
            && (sync.revision == tip.as_str() || sync.revisions.iter().any(|r| r == tip.as_str()))
    }

    fn healthy(&self) -> bool {
        self.status.health.status == "Healthy"
    }

    fn degraded(&self) -> bool {
        self.status.health.status == "Degraded"
    }
}

/// Asks Argo CD about the applications deploying `branch` and judges them on `live_tip`.
pub(crate) fn ask(
    key: &GateKey,
    gate: &ArgocdGate,
    branch: &BranchName,
    live_tip: &Sha,
    env: Env<'_>,
    trust: &Trust,
) -> GateResult {
    let pending = |why: String| {
        GateResult::new(
            key.clone(),
            GateState::Pending,
            crate::redact::text(&why).into_owned(),
        )
    };
    let Some(token) = env(&gate.token_env).filter(|t| !t.trim().is_empty()) else {
        return pending(format!("`{}` is not set: no Argo CD token", gate.token_env));
    };
    let token = Secret::new(token.trim());
    let applications = match list(gate, &token, trust) {
        Ok(applications) => applications,
        Err(why) => return pending(why),
    };
    judge(key, gate, branch, live_tip, &applications)
}

fn list(gate: &ArgocdGate, token: &Secret, trust: &Trust) -> Result<Vec<Application>, String> {
    let selector =
        percent_encoding::utf8_percent_encode(&gate.selector, percent_encoding::NON_ALPHANUMERIC);
    let url = format!("{}/api/v1/applications?selector={selector}", gate.server);
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .user_agent(format!("promoter/{}", env!("CARGO_PKG_VERSION")))
        .timeout_global(Some(TIMEOUT))
        .tls_config(trust.tls_config_for(&url)?)
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let server = &gate.server;
    let mut response = agent
        .get(&url)
        .header("Authorization", &format!("Bearer {}", token.expose()))
        .header("Accept", "application/json")
        .call()
        .map_err(|e| match e {
            ureq::Error::Timeout(_) => format!("no answer from Argo CD at {server} within 30s"),
            other => format!("asking Argo CD at {server}: {other}"),
        })?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER_BYTES)
        .read_to_string()
        .map_err(|e| format!("reading Argo CD's answer from {server}: {e}"))?;
    match status {
        200..=299 => {}
        // The API answers 401 to a bad or expired token, 403 without `applications, get`.
        401 | 403 => {
            return Err(format!(
                "Argo CD at {server} refused the token ({status}): it needs `applications, get` on the selected applications"
            ));
        }
        _ => return Err(format!("Argo CD at {server} answered {status}")),
    }
    let list: ApplicationList = serde_json::from_str(&text)
        .map_err(|e| format!("Argo CD at {server} sent no application list: {e}"))?;
    Ok(list.items.unwrap_or_default())
}

fn judge(
    key: &GateKey,
    gate: &ArgocdGate,
    branch: &BranchName,
    tip: &Sha,
    applications: &[Application],
) -> GateResult {
    let tracking: Vec<&Application> = applications
        .iter()
        .filter(|a| a.tracks(branch.as_str()))
        .collect();
    let result = |state, why: String| {
        GateResult::new(key.clone(), state, crate::redact::text(&why).into_owned())
    };
    let total = tracking.len();
    if total == 0 {
        return result(
            GateState::Pending,
            format!(
                "no Argo CD application selected by `{}` deploys `{branch}`",
                gate.selector
            ),
        );
    }
    let ready = tracking
        .iter()
        .filter(|a| a.synced_to(tip) && a.healthy())
        .count();
    let degraded = tracking.iter().filter(|a| a.degraded()).count();
    let short = tip.short();
    if ready == total {
        return result(
            GateState::Success,
            format!("{ready}/{total} healthy and synced to {short}"),
        );
    }
    if degraded == total {
        return result(GateState::Failure, format!("{degraded}/{total} degraded"));
    }
    let out_of_sync = tracking.iter().filter(|a| !a.synced_to(tip)).count();
    let first = tracking
        .iter()
        .find(|a| !(a.synced_to(tip) && a.healthy()))
        .expect("not every application is ready");
    let sync = if first.synced_to(tip) {
        format!("synced to {short}")
    } else if first.status.sync.revision.is_empty() {
        or_unknown(&first.status.sync.status).to_owned()
    } else {
        format!(
            "{} at {}",
            or_unknown(&first.status.sync.status),
            first
                .status
                .sync
                .revision
                .chars()
                .take(7)
                .collect::<String>()
        )
    };
    result(
        GateState::Pending,
        format!(
            "{ready}/{total} healthy and synced to {short} ({out_of_sync} not synced to it, {degraded} degraded); `{}` is {sync}, {}",
            crate::untrusted::one_line(&first.metadata.name),
            or_unknown(&first.status.health.status)
        ),
    )
}

fn or_unknown(text: &str) -> &str {
    if text.is_empty() { "Unknown" } else { text }
}

#[cfg(test)]
#[path = "argocd_tests.rs"]
mod tests;
