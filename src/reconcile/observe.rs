//! The observe step: reads git facts for every environment of a strategy, then exactly the SCM
//! facts the planner needs ([`needs_scm`]). It writes nothing and decides nothing; an environment
//! that cannot be read gets an `error` and the others are still observed (docs/design.md §3 step 2).

use anyhow::{Context, Result};

use crate::config::{Config, Environment, Strategy};
use crate::git::{GitCache, MetadataError};
use crate::model::{HydratorMetadata, Sha};
use crate::reconcile::observe_gates::{GateIo, computed_facts};
use crate::reconcile::{
    EnvironmentObservation, GitFacts, PrLookup, StrategyObservation, needs_scm,
};
use crate::scm::Scm;

/// How much of the SCM to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    /// Only what the plan needs ([`needs_scm`]): zero requests when everything is promoted.
    ForPlan,
    /// Also the active gates of every environment that has some, so `promoter status` can show
    /// each environment's health; it writes nothing, so the extra reads cost no decisions.
    ForStatus,
}

/// Observes strategy `index` of `config` from the synced cache and the SCM.
pub fn observe_strategy(
    config: &Config,
    index: usize,
    git: &GitCache,
    scm: &dyn Scm,
    reads: Reads,
    io: GateIo<'_>,
) -> StrategyObservation {
    let strategy = &config.strategies[index];
    let environments = strategy
        .environments
        .iter()
        .map(|env| match git_facts(strategy, env, git) {
            Ok(facts) => EnvironmentObservation {
                git: Some(facts),
                ..EnvironmentObservation::default()
            },
            Err(error) => EnvironmentObservation {
                error: Some(crate::reconcile::error_text(&error)),
                ..EnvironmentObservation::default()
            },
        })
        .collect();
    let mut observed = StrategyObservation {
        strategy: index,
        environments,
    };
    let mut needs = needs_scm(strategy, &observed);
    if reads == Reads::ForStatus {
        for (need, (env, obs)) in needs
            .iter_mut()
            .zip(strategy.environments.iter().zip(&observed.environments))
        {
            need.live_statuses |= !env.active_gates.is_empty() && obs.git.is_some();
        }
    }
    for ((env, need), env_config) in observed
        .environments
        .iter_mut()
        .zip(needs)
        .zip(&strategy.environments)
    {
        if !need.any() {
            continue;
        }
        if let Err(error) = scm_facts(env, env_config, need, scm)
            .and_then(|()| computed_facts(env, env_config, need, git, &strategy.name, io))
        {
            env.error = Some(crate::reconcile::error_text(&error));
        }
    }
    observed
}

fn scm_facts(
    env: &mut EnvironmentObservation,
    env_config: &Environment,
    need: crate::reconcile::ScmNeeds,
    scm: &dyn Scm,
) -> Result<()> {
    let git = env
        .git
        .clone()
        .expect("needs_scm asks only for environments with git facts");
    if need.pull_request {
        let (head, base) = (&env_config.staging_branch, &env_config.branch);
        env.scm.pull_request = match scm.find_open_pull_request(head, base)? {
            Some(pr) => PrLookup::Open(pr),
            None => PrLookup::NoneOpen,
        };
    }
    if need.staging_statuses {
        env.scm.staging_statuses = Some(read_reports(
            scm,
            &git.staging_tip,
            &env_config.staging_branch,
        )?);
    }
    if need.live_statuses {
        env.scm.live_statuses = Some(read_reports(scm, &git.live_tip, &env_config.branch)?);
    }
    Ok(())
}

fn read_reports(
    scm: &dyn Scm,
    sha: &Sha,
    branch: &crate::model::BranchName,
) -> Result<Vec<crate::scm::StatusReport>> {
    scm.status_reports(sha)
        .with_context(|| format!("reading gate results on {branch} ({})", sha.short()))
}

/// The git facts of environment `env` of strategy `index` as the cache has them now: for apply,
/// after it re-read a live branch because the SCM's answer said it moved.
pub fn environment_git_facts(
    config: &Config,
    index: usize,
    env: usize,
    git: &GitCache,
) -> Result<GitFacts> {
    let strategy = &config.strategies[index];
    git_facts(strategy, &strategy.environments[env], git)
}

/// Live and staging tips, both metadata files, the note, the live commit time and the conflict
/// check of one environment.
fn git_facts(strategy: &Strategy, env: &Environment, git: &GitCache) -> Result<GitFacts> {
    let live_tip = git.live_tip(&env.branch)?;
    let staging_tip = git.staging_tip(&env.staging_branch)?;
    let active_path = strategy.active_path.as_deref();
    let live_dry = match git.hydrator_metadata(&live_tip, active_path, &env.branch) {
        Ok(meta) => Some(meta),
        // A live branch that was never promoted has no metadata yet: nothing is live.
        Err(MetadataError::Missing { .. }) => None,
        Err(error) => return Err(error.into()),
    };
    let staging_dry = staging_metadata(git, &staging_tip, active_path, env, &live_tip)?;
    let note_dry_sha = git
        .note(&staging_tip)
        .with_context(|| {
            format!(
                "reading the note on {} ({})",
                env.staging_branch,
                staging_tip.short()
            )
        })?
        .map(|note| note.dry_sha);
    let live_committed_at = git.committer_time(&live_tip)?;
    let conflict = live_tip != staging_tip
        && git
            .would_conflict(&live_tip, &staging_tip)
            .with_context(|| {
                format!(
                    "checking whether {} merges cleanly into {}",
                    env.staging_branch, env.branch
                )
            })?;
    Ok(GitFacts {
        live_tip,
        staging_tip,
        live_dry,
        staging_dry,
        note_dry_sha,
        live_committed_at,
        conflict,
    })
}

/// The staging tip must carry metadata (the hydrator writes it in every commit, docs/design.md §1), except
/// when the staging branch has not moved away from live.
fn staging_metadata(
    git: &GitCache,
    staging_tip: &Sha,
    active_path: Option<&str>,
    env: &Environment,
    live_tip: &Sha,
) -> Result<Option<HydratorMetadata>> {
    match git.hydrator_metadata(staging_tip, active_path, &env.staging_branch) {
        Ok(meta) => Ok(Some(meta)),
        Err(MetadataError::Missing { .. }) if staging_tip == live_tip => Ok(None),
        Err(error) => Err(error.into()),
    }
}
