//! The apply step: executes the planner's steps, environment after environment, and folds every
//! successful write back into the observation so the planner can be asked again (the re-plan loop
//! documented in `plan.rs`). It makes no promotion decision of its own: what to write comes from
//! the plan; here only the SCM's and git's answers are recorded and reported.
//!
//! One environment's failure stops that environment only; the others are still applied (docs/design.md §3
//! step 5). A PR create the SCM refuses because the staging branch is already in the live branch
//! (another runner promoted it) is answered like a merge: the live branch is read again and the
//! environment planned with the new facts (docs/design.md §3), when git confirms the refusal.
//!
//! Every write step is first admitted by the pass's [`WritePacer`] (docs/design.md §3, "Write
//! budget"): once it refuses, the environment's remaining writes, and every later environment's,
//! are reported as deferred to the next pass.
//!
//! Git is reached only through [`GitWrites`] and the SCM through [`Scm`], so the in-memory world
//! of the reconcile tests runs this very loop.

use anyhow::{Context, Result};
use serde::Serialize;
use time::OffsetDateTime;

use crate::config::Config;
use crate::git::{BranchMoved, OursMerge};
use crate::reconcile::git_writes::GitWrites;
use crate::reconcile::pacing::WritePacer;
use crate::reconcile::plan::{Action, EnvironmentPlan, Phase, Step, plan_environment};
use crate::reconcile::{EnvironmentObservation, StrategyObservation};
use crate::scm::{HeadInBase, MergeOutcome, Scm};

/// How often one environment may be planned again in one pass after a step that wants it
/// ([`Step::replans`]): the documented bound of the re-plan loop (`plan.rs`, docs/planner.md).
/// Two re-plans cover the longest chain: create the PR, re-plan and merge it, re-plan and write
/// the soak status on the new live tip (a merged environment has nothing left to promote, so that
/// last plan never wants another).
const MAX_REPLANS: usize = 2;

/// What happened to one environment in this pass.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct EnvironmentOutcome {
    /// The last plan made for the environment; its summary is what reports show.
    pub plan: EnvironmentPlan,
    /// Every write attempted, in order, with its result.
    pub done: Vec<StepOutcome>,
    /// The writes the plan still wanted when the pass's write budget ran out: left for the next
    /// pass, which plans them again from what it reads.
    pub deferred: Vec<Step>,
}

impl EnvironmentOutcome {}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct StepOutcome {
    pub step: Step,
    pub result: StepResult,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "camelCase")]
pub(crate) enum StepResult {
    Done {
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// The staging branch moved after it was read (merge guard or push refused): nothing was
    /// written; the next pass works on the new head.
    HeadMoved {
        detail: String,
    },
    /// Nothing to write after all: the SCM's answer showed the write was already made by someone
    /// else (another runner promoted the environment). The environment is planned again with the
    /// facts re-read.
    NotNeeded {
        detail: String,
    },
    /// The SCM refused the merge (branch protection, reviews, merge commits disabled).
    Blocked {
        reason: String,
    },
    Failed {
        error: String,
    },
}

/// What [`apply_strategy_watched`] tells its watcher, as it happens. Only for people watching:
/// nothing here feeds back into the plan.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ApplyEvent<'a> {
    /// A write is about to be attempted.
    Starting {
        plan: &'a EnvironmentPlan,
        step: &'a Step,
    },
    /// A write was attempted.
    Finished {
        plan: &'a EnvironmentPlan,
        outcome: &'a StepOutcome,
    },
    /// The environment is done for this pass.
    Done(&'a EnvironmentOutcome),
}

/// Applies the plan of every environment of one observed strategy, in order, with every write
/// admitted by `writes`, telling `on_event` before and after every write and when each
/// environment is done.
pub(crate) fn apply_strategy_watched(
    config: &Config,
    observed: &mut StrategyObservation,
    git: &mut dyn GitWrites,
    scm: &dyn Scm,
    now: &dyn Fn() -> OffsetDateTime,
    writes: &mut WritePacer,
    on_event: &mut dyn FnMut(ApplyEvent<'_>),
) -> Vec<EnvironmentOutcome> {
    (0..observed.environments.len())
        .map(|env| {
            let outcome = apply_environment(config, observed, env, git, scm, now, writes, on_event);
            on_event(ApplyEvent::Done(&outcome));
            outcome
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn apply_environment(
    config: &Config,
    observed: &mut StrategyObservation,
    env: usize,
    git: &mut dyn GitWrites,
    scm: &dyn Scm,
    now: &dyn Fn() -> OffsetDateTime,
    writes: &mut WritePacer,
    on_event: &mut dyn FnMut(ApplyEvent<'_>),
) -> EnvironmentOutcome {
    let mut plan = plan_environment(config, observed, env, now());
    let target = Target {
        config,
        strategy: observed.strategy,
        env,
    };
    let mut done = Vec::new();
    let mut replans = 0;
    loop {
        let mut replan = false;
        let wanted: Vec<&Step> = plan.steps.iter().filter(|s| s.action.is_write()).collect();
        for (index, step) in wanted.iter().copied().enumerate() {
            if let Err(deferred) = writes.admit() {
                let left = wanted[index..].iter().map(|&s| s.clone()).collect();
                plan.summary.reason = format!(
                    "{}; deferred to the next pass: {deferred}",
                    plan.summary.reason
                );
                return EnvironmentOutcome {
                    plan,
                    done,
                    deferred: left,
                };
            }
            on_event(ApplyEvent::Starting { plan: &plan, step });
            let result = execute(
                &step.action,
                &mut observed.environments[env],
                git,
                scm,
                now,
                &plan,
                &target,
            );
            let outcome = StepOutcome {
                step: step.clone(),
                result,
            };
            on_event(ApplyEvent::Finished {
                plan: &plan,
                outcome: &outcome,
            });
            let stop = !matches!(
                outcome.result,
                StepResult::Done { .. } | StepResult::NotNeeded { .. }
            );
            replan |= step.replans() && !stop;
            done.push(outcome);
            if stop {
                let last = done.last().expect("just pushed");
                override_summary(&mut plan, &last.result);
                return EnvironmentOutcome {
                    plan,
                    done,
                    deferred: Vec::new(),
                };
            }
        }
        if !replan || replans == MAX_REPLANS {
            break;
        }
        replans += 1;
        plan = plan_environment(config, observed, env, now());
    }
    EnvironmentOutcome {
        plan,
        done,
        deferred: Vec::new(),
    }
}

/// Reports an answer that ended the environment's pass early: the plan's summary was written
/// before the SCM or git answered.
fn override_summary(plan: &mut EnvironmentPlan, result: &StepResult) {
    let summary = &mut plan.summary;
    match result {
        StepResult::Done { .. } | StepResult::NotNeeded { .. } => {}
        StepResult::HeadMoved { detail } => {
            summary.phase = Phase::Pending;
            summary.reason = detail.clone();
        }
        StepResult::Blocked { reason } => {
            summary.phase = Phase::Blocked;
            summary.reason = format!("the SCM refused the merge: {reason}");
        }
        StepResult::Failed { error } => {
            summary.phase = Phase::Failure;
            summary.reason = error.clone();
        }
    }
}

/// Which environment of the config a step is for.
struct Target<'c> {
    config: &'c Config,
    strategy: usize,
    env: usize,
}

fn execute(
    action: &Action,
    obs: &mut EnvironmentObservation,
    git: &mut dyn GitWrites,
    scm: &dyn Scm,
    now: &dyn Fn() -> OffsetDateTime,
    plan: &EnvironmentPlan,
    target: &Target<'_>,
) -> StepResult {
    match try_execute(action, obs, git, scm, now, plan, target) {
        Ok(result) => result,
        Err(error) => {
            // A refused push of the ours-merge is not a failure: the hydrator moved the branch,
            // and the next pass looks at the new tip.
            if let Some(moved) = error.downcast_ref::<BranchMoved>() {
                return StepResult::HeadMoved {
                    detail: moved.to_string(),
                };
            }
            StepResult::Failed {
                error: crate::reconcile::error_text(&error),
            }
        }
    }
}

fn try_execute(
    action: &Action,
    obs: &mut EnvironmentObservation,
    git: &mut dyn GitWrites,
    scm: &dyn Scm,
    now: &dyn Fn() -> OffsetDateTime,
    plan: &EnvironmentPlan,
    target: &Target<'_>,
) -> Result<StepResult> {
    let done = |detail: Option<String>| Ok(StepResult::Done { detail });
    match action {
        Action::Note { .. } => done(None),
        Action::WriteStatus { .. } => {
            let (sha, write) = action.status_write().expect("a WriteStatus action");
            scm.write_status(&sha, &write)?;
            obs.record_status(&sha, &write);
            done(None)
        }
        Action::CreatePr { .. } => {
            let new = action.new_pull_request().expect("a CreatePr action");
            let pr = match scm.create_pull_request(&new) {
                Ok(pr) => pr,
                Err(error) if error.downcast_ref::<HeadInBase>().is_some() => {
                    return reread_after_head_in_base(error, obs, git, target);
                }
                Err(error) => return Err(error),
            };
            let detail = format!("{} {}", pr.number, pr.url);
            obs.record_pull_request(pr);
            done(Some(detail))
        }
        Action::UpdatePr {
            number,
            title,
            body,
        } => {
            let pr = scm.update_pull_request(*number, title, body)?;
            obs.record_pull_request(pr);
            done(None)
        }
        Action::Merge {
            number,
            head_sha,
            title,
            message,
            reread_live_tip,
        } => match scm.merge_pull_request(*number, head_sha, title, message)? {
            MergeOutcome::Merged { merge_sha } => {
                let (merge_sha, merged_at) = match merge_sha {
                    Some(sha) if !reread_live_tip => (sha, now()),
                    _ => {
                        let tip = git
                            .refresh(&plan.branch)
                            .with_context(|| format!("re-reading {} after the merge", plan.branch))?
                            .with_context(|| {
                                format!("{} disappeared after the merge", plan.branch)
                            })?;
                        let at = git.committer_time(&tip)?;
                        (tip, at)
                    }
                };
                let detail = merge_sha.short().to_owned();
                obs.record_merge(merge_sha, merged_at);
                done(Some(detail))
            }
            // GitHub 409 / GitLab 409 / Gitea 409: the head is no longer the SHA we read gates on.
            MergeOutcome::HeadMoved => Ok(StepResult::HeadMoved {
                detail: format!(
                    "{} moved after its gates were read; the next pass looks at the new head",
                    plan.staging_branch
                ),
            }),
            MergeOutcome::Blocked { reason } => Ok(StepResult::Blocked { reason }),
        },
        Action::PushOursMerge {
            live_branch,
            staging_branch,
            live_tip,
            staging_tip,
            active_path,
            ..
        } => {
            let merge = OursMerge {
                live: live_branch,
                live_tip,
                staging: staging_branch,
                staging_tip,
                active_path: active_path.as_deref(),
            };
            let commit = git.ours_merge(&merge, now()).with_context(|| {
                format!("building the ours-merge of {live_branch} into {staging_branch}")
            })?;
            git.push_branch(&commit, staging_branch, staging_tip)?;
            let detail = commit.short().to_owned();
            obs.record_ours_merge(commit);
            done(Some(detail))
        }
    }
}

/// The SCM refused to open the PR because the staging branch is already in the live branch:
/// another run promoted the environment after this one observed it. The live branch is read again
/// and the environment's git facts replace the observed ones, so the re-plan reports it as it is
/// now. Only when git confirms there is nothing left to promote; otherwise git and the SCM
/// disagree and the SCM's refusal is the error.
fn reread_after_head_in_base(
    refusal: anyhow::Error,
    obs: &mut EnvironmentObservation,
    git: &mut dyn GitWrites,
    target: &Target<'_>,
) -> Result<StepResult> {
    let environment = &target.config.strategies[target.strategy].environments[target.env];
    let live = &environment.branch;
    git.refresh(live)
        .with_context(|| format!("re-reading {live} after the SCM refused the pull request"))?;
    let facts = git.environment_facts(target.config, target.strategy, target.env)?;
    if facts.has_something_to_promote() {
        return Err(refusal);
    }
    let detail = format!(
        "{live} already contains {}: another run promoted it",
        environment.staging_branch
    );
    obs.record_promoted_elsewhere(facts);
    Ok(StepResult::NotNeeded { detail })
}
