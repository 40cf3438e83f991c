//! The planner: a pure function of (config, observation, now) that says, per environment in order,
//! which writes to make and why, and what to report. No I/O, no clock, no environment variables.
//!
//! # The re-plan loop (the contract with `apply`)
//!
//! Planning an environment depends on the environments before it, and a merge changes them. So
//! `apply` plans lazily, one environment at a time, in config order:
//!
//! ```text
//! for env in 0..n:
//!     plan = plan_environment(config, &strategy_obs, env, now)
//!     loop:
//!         for step in plan.steps that write:         // in order; notes are only reported
//!             run it; on failure: report, stop this environment, go to the next one
//!             record its effect in strategy_obs.environments[env]:
//!                 WriteStatus → record_status(sha, &step.status_write())
//!                 CreatePr / UpdatePr → record_pull_request(pr from the SCM's answer)
//!                 Merge (merged) → record_merge(new live tip, its committer time or now)
//!                       (HeadMoved / Blocked → report, stop this environment)
//!                 PushOursMerge → record_ours_merge(new staging tip)
//!         if no step in plan wants a re-plan (Step::replans), or MAX_REPLANS (2) re-plans
//!         were made already: break
//!         plan = plan_environment(config, &strategy_obs, env, now)
//!     report the last plan's summary
//! ```
//!
//! [`Action::CreatePr`] wants a re-plan: the merge message carries the PR number and URL, which
//! exist only once the PR does, so a PR is created and merged in the same pass by planning again
//! with the created PR recorded. [`Action::Merge`] wants a re-plan so the reported summary is the
//! post-merge one, and because the next environment is planned from the recorded post-merge
//! state, one pass advances as far as the facts allow. After [`Action::PushOursMerge`] nothing else
//! happens for that environment in this pass. Recording writes makes a re-plan idempotent: it
//! never repeats a write already made. So an environment is planned at most three times in a
//! pass (`apply::MAX_REPLANS` = 2 re-plans): create the PR; merge it; write the soak status on the
//! new live tip. A merged environment has nothing left to promote, so its plan wants no re-plan.
//!
//! `--dry-run` and `status` plan each environment once with [`plan_environment`] from the
//! observation as it is; environments after one that would merge are planned from the pre-merge
//! state there.

use serde::Serialize;
use time::OffsetDateTime;

use crate::config::{Config, Environment as EnvConfig, Strategy};
use crate::gates::previous::{self, EarlierEnvironment};
use crate::gates::{self, GateResult, cut_description, evaluate_active, evaluate_proposed};
use crate::model::{BranchName, GateState, Sha};
use crate::reconcile::text::{self, TextInput, normalize_body};
use crate::reconcile::{
    EnvironmentObservation, GitFacts, PrLookup, StrategyObservation, strategy_config,
};
use crate::scm::StatusReport;

pub(crate) use crate::reconcile::steps::{Action, Phase, PrRef, Step, Summary};

/// What to do for one environment and how to report it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct EnvironmentPlan {
    pub strategy: usize,
    pub environment: usize,
    pub branch: BranchName,
    pub staging_branch: BranchName,
    /// Writes, in the order to make them.
    pub steps: Vec<Step>,
    pub summary: Summary,
}

impl EnvironmentPlan {
    /// Whether any step writes (notes do not).
    #[cfg(test)]
    pub(crate) fn has_writes(&self) -> bool {
        self.steps.iter().any(|s| s.action.is_write())
    }
}

/// Plans environment `env` of one strategy from the current observation (see the module doc for
/// the re-plan loop).
pub(crate) fn plan_environment(
    config: &Config,
    observed: &StrategyObservation,
    env: usize,
    now: OffsetDateTime,
) -> EnvironmentPlan {
    let strategy = strategy_config(config, observed)
        .expect("the observation's strategy index and environment count come from the config");
    let env_config = &strategy.environments[env];
    let obs = &observed.environments[env];
    let mut plan = EnvironmentPlan {
        strategy: observed.strategy,
        environment: env,
        branch: env_config.branch.clone(),
        staging_branch: env_config.staging_branch.clone(),
        steps: Vec::new(),
        summary: failure_summary(String::new()),
    };
    let Some(git) = &obs.git else {
        plan.summary = failure_summary(
            obs.error
                .clone()
                .unwrap_or_else(|| "the environment was not observed".into()),
        );
        return plan;
    };
    let active_gates = active_gates(env_config, git, obs, now);
    let mut summary = Summary {
        phase: Phase::Pending,
        reason: String::new(),
        live_dry: git.live_dry_sha().cloned(),
        proposed_dry: git.staging_dry_sha().cloned(),
        live_tip: Some(git.live_tip.clone()),
        staging_tip: Some(git.staging_tip.clone()),
        pull_request: obs.scm.pull_request.open().map(|pr| PrRef {
            number: pr.number,
            url: pr.url.clone(),
        }),
        proposed_gates: Vec::new(),
        active_gates: active_gates.clone(),
    };
    if let Some(error) = &obs.error {
        summary.phase = Phase::Failure;
        summary.reason = error.clone();
        plan.summary = summary;
        return plan;
    }
    if git.staging_dry.is_none() && git.staging_tip != git.live_tip {
        summary.phase = Phase::Failure;
        summary.reason = missing_metadata(env_config, git);
        plan.summary = summary;
        return plan;
    }
    if git.conflict && git.has_something_to_promote() {
        plan.steps.push(Step {
            action: Action::PushOursMerge {
                live_branch: env_config.branch.clone(),
                staging_branch: env_config.staging_branch.clone(),
                live_tip: git.live_tip.clone(),
                staging_tip: git.staging_tip.clone(),
                active_path: strategy.active_path.clone(),
                message: format!(
                    "Merge {} into {} (ours)",
                    env_config.branch, env_config.staging_branch
                ),
            },
            reason: format!(
                "merging `{}` into `{}` would conflict; the hydrator's output wins",
                env_config.staging_branch, env_config.branch
            ),
        });
        summary.reason = format!(
            "resolving a conflict with `{}`; gates are read again next pass",
            env_config.branch
        );
        plan.summary = summary;
        return plan;
    }
    // Built-in active gates are written on the live tip so people see them, when a later
    // environment needed them and their reports were read (never blind: that would not be idempotent).
    if let Some(reports) = &obs.scm.live_statuses {
        for (gate, result) in env_config.active_gates.iter().zip(&active_gates) {
            if gates::is_written(gate, false, &obs.computed) {
                push_status_if_changed(&mut plan.steps, &git.live_tip, reports, result, "live");
            }
        }
    }
    if !git.has_something_to_promote() {
        summary.phase = Phase::Promoted;
        summary.reason = match git.live_dry_sha() {
            Some(sha) => format!("{} is live", sha.short()),
            None => "nothing to promote".into(),
        };
        if let Some(pr) = obs.scm.pull_request.open() {
            let text = format!("{} is open with nothing to promote; left alone", pr.number);
            plan.steps.push(Step {
                action: Action::Note { text: text.clone() },
                reason: "a person may be using it".into(),
            });
            summary.reason = format!("{}; {text}", summary.reason);
        }
        plan.summary = summary;
        return plan;
    }
    plan_promotion(
        config, strategy, observed, env, git, now, &mut plan, summary,
    );
    plan
}

/// The environment has something to promote and no conflict: previous-environment status, PR,
/// merge.
#[allow(clippy::too_many_arguments)]
fn plan_promotion(
    config: &Config,
    strategy: &Strategy,
    observed: &StrategyObservation,
    env: usize,
    git: &GitFacts,
    now: OffsetDateTime,
    plan: &mut EnvironmentPlan,
    mut summary: Summary,
) {
    let env_config = &strategy.environments[env];
    let obs = &observed.environments[env];
    let staging_reports = obs.scm.staging_statuses.as_deref();
    // Each proposed gate, and whether promoter writes it on the staging tip: the
    // previous-environment gate and computed gates whose inputs were read (docs/design.md §4.4).
    let mut judged: Vec<(GateResult, bool)> = Vec::new();
    if env > 0 {
        let target = git
            .effective_dry_sha()
            .expect("something to promote implies staging metadata");
        let earlier = earlier_environments(strategy, observed, env, now);
        judged.push((previous::evaluate(&earlier, target), true));
    }
    for gate in &env_config.proposed_gates {
        let result = evaluate_proposed(
            gate,
            &env_config.branch,
            staging_reports,
            &obs.computed,
            now,
        );
        judged.push((result, gates::is_written(gate, true, &obs.computed)));
    }
    if let Some(reports) = staging_reports {
        for (result, _) in judged.iter().filter(|(_, written)| *written) {
            push_status_if_changed(
                &mut plan.steps,
                &git.staging_tip,
                reports,
                result,
                "staging",
            );
        }
    }
    let proposed: Vec<GateResult> = judged.into_iter().map(|(result, _)| result).collect();
    summary.proposed_gates = proposed.clone();

    let text = match text::render_pull_request(&TextInput {
        config,
        strategy,
        environment: env_config,
        git,
        gates: &proposed,
    }) {
        Ok(text) => text,
        Err(message) => {
            summary.phase = Phase::Failure;
            summary.reason = message;
            plan.summary = summary;
            return;
        }
    };
    let short = git
        .staging_dry_sha()
        .map(Sha::short)
        .unwrap_or_default()
        .to_owned();
    let failed = proposed.iter().find(|g| g.state == GateState::Failure);
    let waiting = proposed.iter().find(|g| g.state != GateState::Success);
    summary.phase = if failed.is_some() {
        Phase::Blocked
    } else {
        Phase::Pending
    };
    summary.reason = match waiting {
        Some(g) => format!("`{}`: {}", g.key, g.description),
        None => "every gate passed".into(),
    };

    let pr = match &obs.scm.pull_request {
        PrLookup::NotRead => {
            summary.reason = "the promotion PR was not looked up in this pass".into();
            plan.summary = summary;
            return;
        }
        PrLookup::NoneOpen => {
            plan.steps.push(Step {
                action: Action::CreatePr {
                    head: env_config.staging_branch.clone(),
                    base: env_config.branch.clone(),
                    title: text.title,
                    body: text.body,
                },
                reason: format!(
                    "{short} is ready in `{}` and no PR is open",
                    env_config.staging_branch
                ),
            });
            plan.summary = summary;
            return;
        }
        PrLookup::Open(pr) => pr,
    };
    if pr.title != text.title || normalize_body(&pr.body) != text.body {
        let what = match (
            pr.title != text.title,
            normalize_body(&pr.body) != text.body,
        ) {
            (true, true) => "title and description",
            (true, false) => "title",
            _ => "description",
        };
        plan.steps.push(Step {
            action: Action::UpdatePr {
                number: pr.number,
                title: text.title.clone(),
                body: text.body.clone(),
            },
            reason: format!("the {what} changed"),
        });
    }
    // A person holds the promotion with a label (docs/gates.md "Holding a promotion"): the PR
    // text and statuses stay up to date, only the merge waits; removing the label resumes.
    let hold = config.pull_request.hold_label();
    if pr
        .labels
        .iter()
        .any(|label| label.eq_ignore_ascii_case(hold))
    {
        summary.reason = format!(
            "held: {} has the `{hold}` label; remove it to resume",
            pr.number
        );
        plan.summary = summary;
        return;
    }
    if waiting.is_some() {
        plan.summary = summary;
        return;
    }
    if staging_reports.is_none() {
        summary.reason = "the proposed gates were not read in this pass".into();
    } else if !env_config.auto_merge {
        summary.reason = format!(
            "every gate passed; waiting for a person to merge {}",
            pr.number
        );
    } else if pr.head_sha != git.staging_tip {
        summary.reason = format!(
            "waiting for the SCM to show {} as the head of {}",
            git.staging_tip.short(),
            pr.number
        );
    } else {
        summary.reason = format!("every gate passed; ready to merge {}", pr.number);
        plan.steps.push(Step {
            action: Action::Merge {
                number: pr.number,
                head_sha: git.staging_tip.clone(),
                title: text.title.clone(),
                message: text::merge_message(&text.body, git, pr, &proposed),
                reread_live_tip: env_config
                    .active_gates
                    .iter()
                    .any(|gate| gate.soak_time.is_some()),
            },
            reason: format!(
                "every proposed gate is success on {}",
                git.staging_tip.short()
            ),
        });
    }
    plan.summary = summary;
}

/// What the previous-environment rule sees of environments `0..env`.
fn earlier_environments<'a>(
    strategy: &'a Strategy,
    observed: &StrategyObservation,
    env: usize,
    now: OffsetDateTime,
) -> Vec<EarlierEnvironment<'a>> {
    strategy.environments[..env]
        .iter()
        .zip(&observed.environments)
        .map(|(cfg, obs)| EarlierEnvironment {
            branch: &cfg.branch,
            dry: obs.git.as_ref().map(GitFacts::dry_state),
            active_gates: match &obs.git {
                Some(git) => active_gates(cfg, git, obs, now),
                None => cfg
                    .active_gates
                    .iter()
                    .map(|g| gates::not_read(&g.key))
                    .collect(),
            },
        })
        .collect()
}

fn active_gates(
    env: &EnvConfig,
    git: &GitFacts,
    obs: &EnvironmentObservation,
    now: OffsetDateTime,
) -> Vec<GateResult> {
    env.active_gates
        .iter()
        .map(|g| {
            evaluate_active(
                g,
                &env.branch,
                git.live_committed_at,
                obs.scm.live_statuses.as_deref(),
                &obs.computed,
                now,
            )
        })
        .collect()
}

/// Plans a status write unless the SCM already shows this state and description under the exact
/// name (docs/design.md §4.2; the target URL alone is not a reason to write: GitLab drops such updates), or
/// this state with a description the SCM cannot change in place (GitLab's pending statuses): a
/// write there would change nothing and be planned again every pass.
fn push_status_if_changed(
    steps: &mut Vec<Step>,
    sha: &Sha,
    reports: &[StatusReport],
    result: &GateResult,
    tip: &str,
) {
    // As the SCM will show it: redacted (`crate::redact`), then cut.
    let description = cut_description(&crate::redact::text(&result.description));
    let context = result.key.as_str();
    let current = reports.iter().find(|r| r.name == context);
    if current.is_some_and(|r| {
        r.state == result.state && (r.description == description || r.description_fixed)
    }) {
        return;
    }
    let reason = match current {
        None => format!(
            "`{context}` is not reported on the {tip} tip {} yet",
            sha.short()
        ),
        Some(r) if r.state == result.state => {
            format!(
                "`{context}` on the {tip} tip {} has a new description",
                sha.short()
            )
        }
        Some(r) => format!(
            "`{context}` on the {tip} tip {} is {}, should be {}",
            sha.short(),
            r.state.as_str(),
            result.state.as_str()
        ),
    };
    steps.push(Step {
        action: Action::WriteStatus {
            sha: sha.clone(),
            context: context.to_owned(),
            state: result.state,
            description,
            target_url: result.target_url.clone(),
        },
        reason,
    });
}

fn missing_metadata(env: &EnvConfig, git: &GitFacts) -> String {
    let mut message = format!(
        "no hydrator.metadata with a drySha on `{}` ({}): the hydrator must write it in every commit",
        env.staging_branch,
        git.staging_tip.short()
    );
    if let Some(note) = &git.note_dry_sha {
        message.push_str(&format!(
            "; a note says the hydrator processed {}, so it probably wrote the file in the wrong place",
            note.short()
        ));
    }
    message
}

fn failure_summary(reason: String) -> Summary {
    Summary {
        phase: Phase::Failure,
        reason,
        live_dry: None,
        proposed_dry: None,
        live_tip: None,
        staging_tip: None,
        pull_request: None,
        proposed_gates: Vec::new(),
        active_gates: Vec::new(),
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
