//! One reconcile pass: observe (reads only) → plan (pure) → apply (writes only).
//!
//! This file owns the [`StrategyObservation`] the planner consumes, [`needs_scm`] (which SCM reads
//! the observe step must make) and the `record_*` methods that fold a successful write back into
//! the observation so the planner can be asked again (the re-plan loop, see [`plan`]). It does no
//! I/O.
//!
//! The observation of a strategy is built in two steps: git facts for every environment first, then
//! [`needs_scm`] says which SCM reads to make; everything not read stays `NotRead`/`None`, which the
//! planner treats as "unknown": pending gates, no status write, no PR step.

pub(crate) mod ahead;
pub(crate) mod apply;
pub(crate) mod git_writes;
pub(crate) mod observe;
pub(crate) mod observe_gates;
pub(crate) mod pacing;
pub(crate) mod plan;
pub(crate) mod steps;
pub(crate) mod text;

#[cfg(test)]
mod world_tests;

use time::OffsetDateTime;

use crate::config::{Config, Strategy};
use crate::gates::ComputedFacts;
use crate::gates::previous::DryState;
use crate::model::{HydratorMetadata, Sha};
use crate::scm::{PullRequest, StatusReport, StatusWrite};

/// One strategy's environments, aligned with `config.strategies[strategy].environments`.
#[derive(Debug, Clone)]
pub(crate) struct StrategyObservation {
    /// Index into `config.strategies` (`--strategy` may leave strategies out of a pass).
    pub strategy: usize,
    /// Same length and order as the strategy's environments in the config.
    pub environments: Vec<EnvironmentObservation>,
}

/// What is known about one environment.
#[derive(Debug, Clone, Default)]
pub(crate) struct EnvironmentObservation {
    /// `None` when git could not observe the environment (missing branch, unreadable or invalid
    /// metadata); `error` then says why.
    pub git: Option<GitFacts>,
    pub scm: ScmFacts,
    /// Inputs of computed gates (docs/design.md §4.4), read where the SCM facts are.
    pub computed: ComputedFacts,
    /// Why this environment could not be (fully) observed. Set → the environment is reported as
    /// `failure`, no step is planned for it, and later environments treat it as not promoted (when
    /// `git` is `None`) or use its git facts with unread gates pending (when only the SCM failed).
    pub error: Option<String>,
}

/// Facts from git for one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GitFacts {
    pub live_tip: Sha,
    pub staging_tip: Sha,
    /// `hydrator.metadata` on the live tip; `None` before the first promotion (not an error).
    pub live_dry: Option<HydratorMetadata>,
    /// `hydrator.metadata` on the staging tip. `None` is an error unless the staging tip equals
    /// the live tip; the planner reports it (docs/design.md §1: the hydrator writes it in every commit).
    pub staging_dry: Option<HydratorMetadata>,
    /// The drySha of the note in `refs/notes/hydrator.metadata` on the staging tip, if any.
    pub note_dry_sha: Option<Sha>,
    /// Committer time of the live tip: when the last promotion merged (soak gates count from it).
    pub live_committed_at: OffsetDateTime,
    /// Merging the staging tip into the live tip would conflict.
    pub conflict: bool,
}

impl GitFacts {
    pub(crate) fn live_dry_sha(&self) -> Option<&Sha> {
        self.live_dry.as_ref().map(|m| &m.dry_sha)
    }

    pub(crate) fn staging_dry_sha(&self) -> Option<&Sha> {
        self.staging_dry.as_ref().map(|m| &m.dry_sha)
    }

    /// The note's drySha if present, else the staging metadata's (docs/design.md §1).
    pub(crate) fn effective_dry_sha(&self) -> Option<&Sha> {
        self.note_dry_sha.as_ref().or(self.staging_dry_sha())
    }

    /// docs/design.md §3: something to promote when the staging dry SHA differs from the live one (dry
    /// SHAs, not trees). Without staging metadata there is nothing the planner can promote.
    pub(crate) fn has_something_to_promote(&self) -> bool {
        match self.staging_dry_sha() {
            Some(staging) => self.live_dry_sha() != Some(staging),
            None => false,
        }
    }

    /// The dry SHAs the previous-environment rule looks at.
    pub(crate) fn dry_state(&self) -> DryState {
        DryState {
            live: self.live_dry_sha().cloned(),
            staging: self.staging_dry_sha().cloned(),
            effective: self.effective_dry_sha().cloned(),
        }
    }
}

/// Facts from the SCM for one environment; each part only where observe read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ScmFacts {
    pub pull_request: PrLookup,
    /// Reports on the staging tip (`git.staging_tip`); `None` = not read.
    pub staging_statuses: Option<Vec<StatusReport>>,
    /// Reports on the live tip (`git.live_tip`); `None` = not read.
    pub live_statuses: Option<Vec<StatusReport>>,
}

/// The open promotion PR of an environment, if it was looked up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum PrLookup {
    #[default]
    NotRead,
    NoneOpen,
    Open(PullRequest),
}

impl PrLookup {
    pub(crate) fn open(&self) -> Option<&PullRequest> {
        match self {
            PrLookup::Open(pr) => Some(pr),
            PrLookup::NotRead | PrLookup::NoneOpen => None,
        }
    }
}

/// Which SCM reads observe must make for one environment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ScmNeeds {
    /// Find the open PR (head = staging branch, base = live branch).
    pub pull_request: bool,
    /// Read reports on the staging tip (proposed gates, our previous-environment status).
    pub staging_statuses: bool,
    /// Read reports on the live tip (active gates a later environment needs; soak statuses).
    pub live_statuses: bool,
}

impl ScmNeeds {
    pub(crate) fn any(self) -> bool {
        self.pull_request || self.staging_statuses || self.live_statuses
    }
}

/// docs/design.md §3 step 3: which SCM reads the plan needs, from the git facts alone (`scm` parts of the
/// observation are ignored). One entry per environment, aligned with the config.
///
/// - An environment with something to promote, no error and no conflict needs its PR and its staging
///   statuses. (A conflict plans only the ours-merge; the PR and gates are read next pass.)
/// - An environment's live statuses are needed when a later environment with something to promote
///   reaches it through the previous-environment rule (rule 2: it has the target live; rule 3: it
///   is a healthy no-op being passed through) and it has at least one active gate.
/// - Nothing else: a fully promoted strategy needs no SCM call at all.
pub(crate) fn needs_scm(strategy: &Strategy, observed: &StrategyObservation) -> Vec<ScmNeeds> {
    let envs = &observed.environments;
    let mut needs = vec![ScmNeeds::default(); envs.len()];
    for (index, env) in envs.iter().enumerate() {
        let Some(git) = env.git.as_ref().filter(|_| env.error.is_none()) else {
            continue;
        };
        if !git.has_something_to_promote() {
            continue;
        }
        if !git.conflict {
            needs[index].pull_request = true;
            needs[index].staging_statuses = true;
        }
        let Some(target) = git.effective_dry_sha() else {
            continue;
        };
        // Walk back the way `gates::previous::evaluate` does and mark whose health it reads.
        for p in (0..index).rev() {
            let Some(p_git) = envs[p].git.as_ref() else {
                break;
            };
            if p_git.effective_dry_sha() != Some(target) {
                break;
            }
            let has_gates = strategy
                .environments
                .get(p)
                .is_some_and(|e| !e.active_gates.is_empty());
            if p_git.live_dry_sha() == Some(target) {
                needs[p].live_statuses |= has_gates;
                break;
            }
            let no_op = p_git.staging_dry_sha() != Some(target);
            let nothing_pending = p_git.live_dry_sha() == p_git.staging_dry_sha();
            if !(no_op && nothing_pending) {
                break;
            }
            needs[p].live_statuses |= has_gates;
        }
    }
    needs
}

/// Effects of successful writes, folded into the observation so a re-plan sees them. Apply calls
/// these after each write succeeds; tests call them to simulate apply.
impl EnvironmentObservation {
    /// A commit status was written on `sha`: replaces the report of that name on the staging or
    /// live tip (whichever is `sha`) where reports were read.
    pub(crate) fn record_status(&mut self, sha: &Sha, write: &StatusWrite) {
        let Some(git) = &self.git else { return };
        let report = StatusReport {
            name: write.context.clone(),
            state: write.state,
            description: write.description.clone(),
            target_url: write.target_url.clone(),
            description_fixed: false,
        };
        let mut slots = Vec::new();
        if *sha == git.staging_tip {
            slots.push(&mut self.scm.staging_statuses);
        }
        if *sha == git.live_tip {
            slots.push(&mut self.scm.live_statuses);
        }
        for reports in slots.into_iter().flatten() {
            reports.retain(|r| r.name != report.name);
            reports.push(report.clone());
        }
    }

    /// A PR was created or updated: it is now the environment's open PR.
    pub(crate) fn record_pull_request(&mut self, pr: PullRequest) {
        self.scm.pull_request = PrLookup::Open(pr);
    }

    /// The promotion PR merged: the live tip is now `merge_sha`, committed at `merged_at` (the
    /// committer time read back from git, or the apply time when only the merge answer's SHA is
    /// known). Its tree carries the staging tip's metadata, so the live dry state becomes the staging
    /// one. The SCM created the new live tip a moment ago, so it carries no reports yet: recording
    /// an empty list is safe (it can only make SCM gates pending, never success) and lets the
    /// re-plan write built-in statuses such as soak on it in this pass.
    pub(crate) fn record_merge(&mut self, merge_sha: Sha, merged_at: OffsetDateTime) {
        if let Some(git) = &mut self.git {
            git.live_tip = merge_sha;
            git.live_dry = git.staging_dry.clone();
            git.live_committed_at = merged_at;
            git.conflict = false;
        }
        self.scm.pull_request = PrLookup::NoneOpen;
        self.scm.live_statuses = Some(Vec::new());
        self.computed.forget_live();
    }

    /// The SCM refused to open the PR because the staging branch is already in the live branch
    /// (another run promoted it), and `git` are the facts re-read after that answer. No PR is
    /// open; what was read on the old live tip no longer applies (not read = pending), and what
    /// was read on the staging tip only while it is the same tip.
    pub(crate) fn record_promoted_elsewhere(&mut self, git: GitFacts) {
        if self.git.as_ref().map(|old| &old.staging_tip) != Some(&git.staging_tip) {
            self.scm.staging_statuses = None;
            self.computed.forget_staging();
        }
        self.computed.forget_live();
        self.git = Some(git);
        self.scm.pull_request = PrLookup::NoneOpen;
        self.scm.live_statuses = None;
    }

    /// The ours-merge was pushed: the staging tip moved to `new_staging_tip` (same tree, same
    /// metadata), so nothing read on the old tip applies any more.
    pub(crate) fn record_ours_merge(&mut self, new_staging_tip: Sha) {
        if let Some(git) = &mut self.git {
            git.staging_tip = new_staging_tip;
            git.conflict = false;
        }
        self.scm.staging_statuses = None;
        self.computed.forget_staging();
    }
}

/// How an environment's error is reported: the whole context chain, then the SCM's hint when the
/// chain holds one (401 → the token, 404 → visibility or apiUrl), on a `hint:` line as git errors
/// carry theirs.
pub(crate) fn error_text(error: &anyhow::Error) -> String {
    match crate::scm::http::hint(error) {
        Some(hint) => format!("{error:#}\nhint: {hint}"),
        None => format!("{error:#}"),
    }
}

/// The `(index, config)` of a strategy observation, or `None` when the index is not in the config
/// (a coordinator bug; the planner reports it instead of panicking).
pub(crate) fn strategy_config<'c>(
    config: &'c Config,
    observed: &StrategyObservation,
) -> Option<&'c Strategy> {
    config
        .strategies
        .get(observed.strategy)
        .filter(|s| s.environments.len() == observed.environments.len())
}
