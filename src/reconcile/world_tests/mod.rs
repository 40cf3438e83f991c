//! An in-memory world (branches, notes, PRs, statuses) to drive whole passes: observe with
//! `needs_scm`, then the real `apply` (its re-plan loop, its recording of effects), with the world
//! as its SCM and its git. Only for these reconcile tests; integration tests use real repositories
//! and the sandbox forge.

mod computed;
mod effects;
mod notes;
mod scenarios;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use time::OffsetDateTime;
use time::macros::datetime;

use crate::config::{
    Config, Environment, Gate, Provider, PullRequestTemplates, Repository, ScmConfig, Strategy,
};
use crate::model::{BranchName, GateKey, GateState, HydratorMetadata, PrNumber, Sha};
use crate::reconcile::apply::{EnvironmentOutcome, StepResult, apply_strategy_watched};
use crate::reconcile::pacing::{WriteLimits, WritePacer};
use crate::reconcile::plan::{Action, EnvironmentPlan, plan_environment};
use crate::reconcile::{
    EnvironmentObservation, GitFacts, PrLookup, ScmFacts, StrategyObservation, needs_scm,
};
use crate::scm::{PullRequest, StatusReport};
use effects::Effects;

pub(super) const T0: OffsetDateTime = datetime!(2026-03-01 09:00:00 UTC);

/// One environment in the config: branch name, active gates, proposed gates.
#[derive(Clone, Default)]
pub(super) struct EnvSpec {
    pub name: &'static str,
    pub active: Vec<Gate>,
    pub proposed: Vec<Gate>,
    pub manual: bool,
}

pub(super) fn env(name: &'static str) -> EnvSpec {
    EnvSpec {
        name,
        ..EnvSpec::default()
    }
}

impl EnvSpec {
    pub(super) fn active(mut self, key: &str) -> Self {
        self.active.push(gate(key, None));
        self
    }
    pub(super) fn soak(mut self, key: &str, secs: u64) -> Self {
        self.active.push(gate(key, Some(Duration::from_secs(secs))));
        self
    }
    pub(super) fn proposed(mut self, key: &str) -> Self {
        self.proposed.push(gate(key, None));
        self
    }
    pub(super) fn manual(mut self) -> Self {
        self.manual = true;
        self
    }
}

fn gate(key: &str, soak: Option<Duration>) -> Gate {
    Gate {
        key: GateKey::parse(key).unwrap(),
        soak_time: soak,
        computed: None,
    }
}

pub(super) fn branch(name: &str) -> BranchName {
    BranchName::parse(name).unwrap()
}

pub(super) fn config(envs: &[EnvSpec]) -> Config {
    Config {
        path: PathBuf::from("promotion.yaml"),
        scm: ScmConfig {
            provider: Provider::Github,
            api_url: "https://api.github.com".into(),
            token_env: "GITHUB_TOKEN".into(),
            username_env: None,
            github_app: None,
            ca_file: None,
        },
        repository: Repository {
            owner: "acme".into(),
            name: "deploy".into(),
            clone_url: "https://github.com/acme/deploy.git".into(),
            web_url: "https://github.com/acme/deploy".into(),
        },
        pull_request: PullRequestTemplates::default(),
        strategies: vec![Strategy {
            name: "guestbook".into(),
            active_path: None,
            environments: envs
                .iter()
                .map(|e| Environment {
                    branch: branch(&format!("environment/{}", e.name)),
                    staging_branch: branch(&format!("environment/{}-next", e.name)),
                    auto_merge: !e.manual,
                    active_gates: e.active.clone(),
                    proposed_gates: e.proposed.clone(),
                })
                .collect(),
        }],
        dashboard: None,
        gates: Vec::new(),
    }
}

/// A dry SHA named by a letter: `dry('b')` = `bbbb…`.
pub(super) fn dry(c: char) -> Sha {
    Sha::parse(&c.to_string().repeat(40)).unwrap()
}

pub(super) fn metadata(c: char) -> HydratorMetadata {
    HydratorMetadata {
        dry_sha: dry(c),
        repo_url: "https://github.com/acme/app.git".into(),
        author: "Jane Doe <jane@example.com>".into(),
        date: Some(T0),
        subject: format!("Change {c}"),
        body: String::new(),
        references: vec![],
    }
}

#[derive(Clone)]
struct Commit {
    dry: Option<HydratorMetadata>,
    committed_at: OffsetDateTime,
}

#[derive(Clone)]
struct Branches {
    live: Sha,
    staging: Sha,
    conflict: bool,
}

#[derive(Clone, Debug)]
pub(super) struct FakePr {
    pub number: PrNumber,
    pub head: BranchName,
    pub base: BranchName,
    pub title: String,
    pub body: String,
    pub open: bool,
    pub merged: bool,
    /// Label names a person put on the PR.
    pub labels: Vec<String>,
}

/// The world: git branches and notes, SCM PRs and statuses, and a log of every SCM call.
pub(super) struct World {
    pub config: Config,
    pub now: OffsetDateTime,
    commits: BTreeMap<Sha, Commit>,
    notes: BTreeMap<Sha, Sha>,
    branches: Vec<Branches>,
    pub statuses: BTreeMap<Sha, Vec<StatusReport>>,
    pub prs: Vec<FakePr>,
    pub calls: Vec<String>,
    /// Merge requests with the head SHA they carried.
    pub merges: Vec<(PrNumber, Sha, String)>,
    /// The branches apply read again from git, in order.
    pub refreshes: Vec<BranchName>,
    next_commit: u64,
}

impl World {
    /// Every environment starts with the same commit on live and staging, dry `a`, live since T0.
    pub(super) fn new(envs: &[EnvSpec]) -> Self {
        let config = config(envs);
        let mut world = World {
            config,
            now: T0,
            commits: BTreeMap::new(),
            notes: BTreeMap::new(),
            branches: Vec::new(),
            statuses: BTreeMap::new(),
            prs: Vec::new(),
            calls: Vec::new(),
            merges: Vec::new(),
            refreshes: Vec::new(),
            next_commit: 0,
        };
        for _ in envs {
            let sha = world.commit(Some(metadata('a')));
            world.branches.push(Branches {
                live: sha.clone(),
                staging: sha,
                conflict: false,
            });
        }
        world
    }

    fn commit(&mut self, dry: Option<HydratorMetadata>) -> Sha {
        self.next_commit += 1;
        let sha = Sha::parse(&format!("{:07x}{}", self.next_commit, "0".repeat(33))).unwrap();
        self.commits.insert(
            sha.clone(),
            Commit {
                dry,
                committed_at: self.now,
            },
        );
        sha
    }

    pub(super) fn index(&self, name: &str) -> usize {
        self.config.strategies[0]
            .environments
            .iter()
            .position(|e| e.branch.as_str() == format!("environment/{name}"))
            .unwrap()
    }

    /// The hydrator pushes a new commit for dry `c` (with a note) to the staging branch.
    pub(super) fn hydrate(&mut self, name: &str, c: char) {
        let i = self.index(name);
        let sha = self.commit(Some(metadata(c)));
        self.notes.insert(sha.clone(), dry(c));
        self.branches[i].staging = sha;
    }

    /// The hydrator processed dry `c` for this environment and the output did not change.
    pub(super) fn note_only(&mut self, name: &str, c: char) {
        let i = self.index(name);
        let tip = self.branches[i].staging.clone();
        self.notes.insert(tip, dry(c));
    }

    /// Someone pushed to the live branch so that merging staging conflicts.
    pub(super) fn conflict(&mut self, name: &str) {
        let i = self.index(name);
        let dry = self.commits[&self.branches[i].live].dry.clone();
        self.branches[i].live = self.commit(dry);
        self.branches[i].conflict = true;
    }

    pub(super) fn live_tip(&self, name: &str) -> Sha {
        self.branches[self.index(name)].live.clone()
    }

    pub(super) fn staging_tip(&self, name: &str) -> Sha {
        self.branches[self.index(name)].staging.clone()
    }

    pub(super) fn live_dry(&self, name: &str) -> Option<Sha> {
        let tip = self.live_tip(name);
        self.commits[&tip].dry.as_ref().map(|m| m.dry_sha.clone())
    }

    /// A CI system or Argo CD reports on a commit.
    pub(super) fn report(&mut self, sha: &Sha, name: &str, state: GateState) {
        let reports = self.statuses.entry(sha.clone()).or_default();
        reports.retain(|r| r.name != name);
        reports.push(StatusReport {
            name: name.into(),
            state,
            description: format!("{name} is {}", state.as_str()),
            target_url: None,
            description_fixed: false,
        });
    }

    /// Marks the report `name` on `sha` as one whose description the SCM cannot change in place
    /// (GitLab's pending statuses).
    pub(super) fn fix_description(&mut self, sha: &Sha, name: &str) {
        for report in self.statuses.entry(sha.clone()).or_default() {
            if report.name == name {
                report.description_fixed = true;
            }
        }
    }

    pub(super) fn status(&self, sha: &Sha, name: &str) -> Option<StatusReport> {
        self.statuses
            .get(sha)
            .and_then(|r| r.iter().find(|r| r.name == name).cloned())
    }

    pub(super) fn open_pr(&self, name: &str) -> Option<FakePr> {
        let i = self.index(name);
        let env = &self.config.strategies[0].environments[i];
        self.prs
            .iter()
            .find(|p| p.open && p.head == env.staging_branch && p.base == env.branch)
            .cloned()
    }

    /// A person merges the open PR of an environment in the SCM UI.
    pub(super) fn merge_by_hand(&mut self, name: &str) {
        let number = self.open_pr(name).unwrap().number;
        self.merge(number);
    }

    fn merge(&mut self, number: PrNumber) -> Sha {
        let pr = self.prs.iter_mut().find(|p| p.number == number).unwrap();
        pr.open = false;
        pr.merged = true;
        let base = pr.base.clone();
        let i = self.config.strategies[0]
            .environments
            .iter()
            .position(|e| e.branch == base)
            .unwrap();
        let dry = self.commits[&self.branches[i].staging].dry.clone();
        let sha = self.commit(dry);
        self.branches[i].live = sha.clone();
        sha
    }

    fn pr_view(&self, pr: &FakePr) -> PullRequest {
        let i = self.config.strategies[0]
            .environments
            .iter()
            .position(|e| e.branch == pr.base)
            .unwrap();
        PullRequest {
            number: pr.number,
            url: format!("https://github.com/acme/deploy/pull/{}", pr.number.0),
            title: pr.title.clone(),
            body: pr.body.clone(),
            head_sha: self.branches[i].staging.clone(),
            head_branch: pr.head.clone(),
            base_branch: pr.base.clone(),
            labels: pr.labels.clone(),
        }
    }

    /// What git shows of environment `i`.
    fn git_facts(&self, i: usize) -> GitFacts {
        let b = &self.branches[i];
        GitFacts {
            live_tip: b.live.clone(),
            staging_tip: b.staging.clone(),
            live_dry: self.commits[&b.live].dry.clone(),
            staging_dry: self.commits[&b.staging].dry.clone(),
            note_dry_sha: self.notes.get(&b.staging).cloned(),
            live_committed_at: self.commits[&b.live].committed_at,
            conflict: b.conflict,
        }
    }

    /// The environment whose live or staging branch is `branch`, with the branch's tip.
    fn branch_tip(&self, branch: &BranchName) -> Option<(usize, Sha)> {
        self.config.strategies[0]
            .environments
            .iter()
            .zip(&self.branches)
            .enumerate()
            .find_map(|(i, (env, tips))| {
                if env.branch == *branch {
                    Some((i, tips.live.clone()))
                } else if env.staging_branch == *branch {
                    Some((i, tips.staging.clone()))
                } else {
                    None
                }
            })
    }

    /// Observe: git facts for all, then only the SCM reads `needs_scm` asks for (each logged).
    pub(super) fn observe(&mut self) -> StrategyObservation {
        let mut observed = StrategyObservation {
            strategy: 0,
            environments: (0..self.branches.len())
                .map(|i| EnvironmentObservation {
                    git: Some(self.git_facts(i)),
                    scm: ScmFacts::default(),
                    computed: Default::default(),
                    error: None,
                })
                .collect(),
        };
        let needs = needs_scm(&self.config.strategies[0], &observed);
        for (i, need) in needs.iter().enumerate() {
            let env = self.config.strategies[0].environments[i].clone();
            let git = observed.environments[i].git.clone().unwrap();
            let scm = &mut observed.environments[i].scm;
            if need.pull_request {
                self.calls.push(format!("find-pr {}", env.branch));
                scm.pull_request =
                    match self.open_pr(env.branch.as_str().trim_start_matches("environment/")) {
                        Some(pr) => PrLookup::Open(self.pr_view(&pr)),
                        None => PrLookup::NoneOpen,
                    };
            }
            if need.staging_statuses {
                self.calls.push(format!("statuses {}", env.staging_branch));
                scm.staging_statuses = Some(
                    self.statuses
                        .get(&git.staging_tip)
                        .cloned()
                        .unwrap_or_default(),
                );
            }
            if need.live_statuses {
                self.calls.push(format!("statuses {}", env.branch));
                scm.live_statuses = Some(
                    self.statuses
                        .get(&git.live_tip)
                        .cloned()
                        .unwrap_or_default(),
                );
            }
        }
        observed
    }

    /// One pass: observe, then the real `apply` with this world as its SCM and git. Returns the
    /// final plan of every environment.
    pub(super) fn pass(&mut self) -> Vec<EnvironmentPlan> {
        self.pass_with(&mut WritePacer::unlimited())
            .into_iter()
            .map(|outcome| outcome.plan)
            .collect()
    }

    /// [`World::pass`] with every write admitted by `writes`; the outcome of every environment.
    pub(super) fn pass_with(&mut self, writes: &mut WritePacer) -> Vec<EnvironmentOutcome> {
        let mut observed = self.observe();
        let config = self.config.clone();
        let now = self.now;
        let world = std::sync::Mutex::new(self);
        let (scm, mut git) = (Effects(&world), Effects(&world));
        let outcomes = apply_strategy_watched(
            &config,
            &mut observed,
            &mut git,
            &scm,
            &|| now,
            writes,
            &mut |_| {},
        );
        for outcome in &outcomes {
            for done in &outcome.done {
                assert!(
                    !matches!(done.result, StepResult::Failed { .. }),
                    "a write failed in the world: {done:#?}"
                );
            }
        }
        outcomes
    }

    /// Runs a pass and asserts the world is then stable: planning again over it writes nothing.
    pub(super) fn pass_then_stable(&mut self) -> Vec<EnvironmentPlan> {
        let plans = self.pass();
        self.assert_stable();
        plans
    }

    /// Idempotency: observing again and planning every environment yields no write step.
    pub(super) fn assert_stable(&mut self) {
        let calls = self.calls.len();
        let observed = self.observe();
        for e in 0..observed.environments.len() {
            let plan = plan_environment(&self.config, &observed, e, self.now);
            assert!(
                !plan.has_writes(),
                "second pass writes for env {e}: {:#?}",
                plan.steps
            );
        }
        self.calls.truncate(calls);
    }

    /// The calls logged since `mark`, then forgets them.
    pub(super) fn take_calls(&mut self) -> Vec<String> {
        std::mem::take(&mut self.calls)
    }
}

/// Short names of the actions, for compact assertions.
pub(super) fn kinds(plan: &EnvironmentPlan) -> Vec<&'static str> {
    plan.steps
        .iter()
        .map(|s| match s.action {
            Action::PushOursMerge { .. } => "push-ours",
            Action::WriteStatus { .. } => "write-status",
            Action::CreatePr { .. } => "create-pr",
            Action::UpdatePr { .. } => "update-pr",
            Action::Merge { .. } => "merge",
            Action::Note { .. } => "note",
        })
        .collect()
}
