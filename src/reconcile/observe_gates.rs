//! Observe's part for computed gates (docs/design.md §4.4): the commit data commit rules judge and
//! the answers of web requests and Argo CD, read exactly where the SCM's reports are read (a
//! computed gate is needed where SCM gates are). Reads only; a failed external request is that
//! gate's answer (pending with the reason), not an environment error.

use std::sync::Arc;

use anyhow::Result;

use crate::ci_env::Env;
use crate::config::{ComputedGate, Environment, GateDefinition};
use crate::gates::argocd;
use crate::gates::commit_rule::CommitTarget;
use crate::gates::web::{self, WebTarget};
use crate::git::GitCache;
use crate::reconcile::{EnvironmentObservation, ScmNeeds};
use crate::tls::Trust;

/// What external gates need from the run: secrets come from the environment through `env` only,
/// and `https://` is checked against the run's trust store.
#[derive(Clone, Copy)]
pub(crate) struct GateIo<'a> {
    pub env: Env<'a>,
    pub trust: &'a Arc<Trust>,
}

impl std::fmt::Debug for GateIo<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GateIo")
    }
}

/// The definitions of the computed gates among `gates`.
fn definitions(gates: &[crate::config::Gate]) -> Vec<Arc<GateDefinition>> {
    gates.iter().filter_map(|g| g.computed.clone()).collect()
}

/// Fills `env.computed`'s commit data for the commit rules `need` says the plan reads: git only,
/// on the thread that holds the cache.
pub(crate) fn commit_facts(
    env: &mut EnvironmentObservation,
    env_config: &Environment,
    need: ScmNeeds,
    git: &GitCache,
) -> Result<()> {
    let Some(facts) = env.git.as_ref() else {
        return Ok(());
    };
    if !need.staging_statuses {
        return Ok(());
    }
    for definition in definitions(&env_config.proposed_gates) {
        if let ComputedGate::Commit(rule) = &definition.kind {
            let (slot, sha) = match rule.target {
                CommitTarget::Proposed => (&mut env.computed.staging_commit, &facts.staging_tip),
                CommitTarget::Active => (&mut env.computed.live_commit, &facts.live_tip),
            };
            if slot.is_none() {
                *slot = Some(git.gate_commit(sha)?);
            }
        }
    }
    Ok(())
}

/// Fills `env.computed`'s answers of the web request and Argo CD gates `need` says the plan
/// reads. No git: a pass may run it on another thread (`observe::Observing::read_remote`).
pub(crate) fn answer_facts(
    env: &mut EnvironmentObservation,
    env_config: &Environment,
    need: ScmNeeds,
    strategy: &str,
    io: GateIo<'_>,
) {
    let Some(facts) = env.git.as_ref() else {
        return;
    };
    let target = |sha| WebTarget {
        sha,
        branch: &env_config.branch,
        staging_branch: &env_config.staging_branch,
        strategy,
    };
    if need.staging_statuses {
        for definition in definitions(&env_config.proposed_gates) {
            if let ComputedGate::WebRequest(request) = &definition.kind {
                let answer = web::ask(
                    &definition.key,
                    request,
                    &target(&facts.staging_tip),
                    io.env,
                    io.trust,
                );
                env.computed
                    .proposed_answers
                    .insert(definition.key.clone(), answer);
            }
        }
    }
    if need.live_statuses {
        for definition in definitions(&env_config.active_gates) {
            let answer = match &definition.kind {
                ComputedGate::WebRequest(request) => web::ask(
                    &definition.key,
                    request,
                    &target(&facts.live_tip),
                    io.env,
                    io.trust,
                ),
                ComputedGate::Argocd(gate) => argocd::ask(
                    &definition.key,
                    gate,
                    &env_config.branch,
                    &facts.live_tip,
                    io.env,
                    io.trust,
                ),
                ComputedGate::Schedule(_) | ComputedGate::Commit(_) => continue,
            };
            env.computed
                .active_answers
                .insert(definition.key.clone(), answer);
        }
    }
}
