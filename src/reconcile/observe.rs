//! The observe step: reads git facts for every environment of a strategy, then exactly the SCM
//! facts the planner needs ([`needs_scm`]). It writes nothing and decides nothing; an environment
//! that cannot be read gets an `error` and the others are still observed (docs/design.md §3 step 2).
//! [`Observing`] splits it so the SCM's reads may run on another thread than git's.

use anyhow::{Context, Result};

use crate::config::{Config, Environment, Strategy};
use crate::git::{GitCache, MetadataError};
use crate::model::{BranchName, HydratorMetadata, Sha};
use crate::reconcile::observe_gates::{GateIo, answer_facts, commit_facts};
use crate::reconcile::{
    EnvironmentObservation, GitFacts, PrLookup, ScmNeeds, StrategyObservation, needs_scm,
};
use crate::scm::{Scm, StatusReport};

/// How much of the SCM to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reads {
    /// Only what the plan needs ([`needs_scm`]): zero requests when everything is promoted.
    ForPlan,
    /// Also the active gates of every environment that has some, so `promoter status` can show
    /// each environment's health; it writes nothing, so the extra reads cost no decisions.
    ForStatus,
}

/// One strategy's observation in the making, in three steps so a pass can run the SCM's reads of
/// several strategies at once (docs/performance.md, "Concurrency across strategies"):
/// [`Observing::read_git`] and [`Observing::finish`] read the git cache, which only the pass's own
/// thread holds (a `git2::Repository` is not `Sync`); [`Observing::read_remote`] reads the SCM and
/// the external gates only, so it may run on another thread.
#[derive(Debug)]
pub(crate) struct Observing {
    observed: StrategyObservation,
    needs: Vec<ScmNeeds>,
}

impl Observing {
    /// The git facts of every environment of strategy `index`, and which SCM reads they call for.
    pub(crate) fn read_git(config: &Config, index: usize, git: &GitCache, reads: Reads) -> Self {
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
        let observed = StrategyObservation {
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
        Self { observed, needs }
    }

    /// The SCM's reads, then the answers of the web request and Argo CD gates of every
    /// environment whose reads succeeded (an environment whose reads failed is not judged).
    /// No git: this is the part a pass may run on another thread.
    pub(crate) fn read_remote(&mut self, config: &Config, scm: &dyn Scm, io: GateIo<'_>) {
        let strategy = &config.strategies[self.observed.strategy];
        let environments = &mut self.observed.environments;
        scm_facts(environments, strategy, &self.needs, scm);
        for ((env, &need), env_config) in environments
            .iter_mut()
            .zip(&self.needs)
            .zip(&strategy.environments)
        {
            if need.any() && env.error.is_none() {
                answer_facts(env, env_config, need, &strategy.name, io);
            }
        }
    }

    /// The commit data the commit rules judge, read from git for every environment whose SCM
    /// reads succeeded: the observation is complete.
    pub(crate) fn finish(mut self, config: &Config, git: &GitCache) -> StrategyObservation {
        let strategy = &config.strategies[self.observed.strategy];
        for ((env, &need), env_config) in self
            .observed
            .environments
            .iter_mut()
            .zip(&self.needs)
            .zip(&strategy.environments)
        {
            if !need.any() || env.error.is_some() {
                continue;
            }
            if let Err(error) = commit_facts(env, env_config, need, git) {
                env.error = Some(crate::reconcile::error_text(&error));
            }
        }
        self.observed
    }
}

/// The SCM reads of one strategy, batched (docs/performance.md, "Batched reads"): the open PRs of
/// every environment that needs one first — one listing of the repository's open PRs when two or
/// more need it, the single filtered lookup when one does —, then the gate reports of every SHA
/// that is needed, in one call the provider may answer with one query. An environment whose PR
/// could not be read gets the error and no gate read, as before batching.
fn scm_facts(
    environments: &mut [EnvironmentObservation],
    strategy: &Strategy,
    needs: &[ScmNeeds],
    scm: &dyn Scm,
) {
    let wants_pr: Vec<usize> = (0..environments.len())
        .filter(|&e| needs[e].pull_request && environments[e].git.is_some())
        .collect();
    let pairs: Vec<(BranchName, BranchName)> = wants_pr
        .iter()
        .map(|&e| {
            let env = &strategy.environments[e];
            (env.staging_branch.clone(), env.branch.clone())
        })
        .collect();
    let found = match pairs.as_slice() {
        [] => Vec::new(),
        // One environment: the filtered lookup is one request whatever the repository holds.
        [(head, base)] => vec![scm.find_open_pull_request(head, base)],
        _ => scm.find_open_pull_requests(&pairs),
    };
    for (&e, lookup) in wants_pr.iter().zip(found) {
        match lookup {
            Ok(Some(pr)) => environments[e].scm.pull_request = PrLookup::Open(pr),
            Ok(None) => environments[e].scm.pull_request = PrLookup::NoneOpen,
            Err(error) => environments[e].error = Some(crate::reconcile::error_text(&error)),
        }
    }

    // Which SHA each wanted report list is read on; a SHA wanted twice is read once.
    let mut shas: Vec<Sha> = Vec::new();
    let mut wanted: Vec<(usize, bool, usize)> = Vec::new();
    for (e, (env, need)) in environments.iter().zip(needs).enumerate() {
        let Some(git) = env.git.as_ref().filter(|_| env.error.is_none()) else {
            continue;
        };
        for (staging, needed, sha) in [
            (true, need.staging_statuses, &git.staging_tip),
            (false, need.live_statuses, &git.live_tip),
        ] {
            if !needed {
                continue;
            }
            let at = shas.iter().position(|s| s == sha).unwrap_or_else(|| {
                shas.push(sha.clone());
                shas.len() - 1
            });
            wanted.push((e, staging, at));
        }
    }
    if shas.is_empty() {
        return;
    }
    // A failed read is kept as its text (an error cannot be cloned) so every reader of the SHA
    // reports it; the text carries the hint line as `error_text` renders it.
    let read: Vec<Result<Vec<StatusReport>, String>> = scm
        .status_reports_of(&shas)
        .into_iter()
        .map(|result| result.map_err(|error| crate::reconcile::error_text(&error)))
        .collect();
    for (e, staging, at) in wanted {
        let env_config = &strategy.environments[e];
        let env = &mut environments[e];
        if env.error.is_some() {
            continue;
        }
        match (&read[at], staging) {
            (Ok(reports), true) => env.scm.staging_statuses = Some(reports.clone()),
            (Ok(reports), false) => env.scm.live_statuses = Some(reports.clone()),
            (Err(text), _) => {
                let branch = if staging {
                    &env_config.staging_branch
                } else {
                    &env_config.branch
                };
                env.error = Some(format!(
                    "reading gate results on {branch} ({}): {text}",
                    shas[at].short()
                ));
            }
        }
    }
}

/// The git facts of environment `env` of strategy `index` as the cache has them now: for apply,
/// after it re-read a live branch because the SCM's answer said it moved.
pub(crate) fn environment_git_facts(
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
