//! Insight from git alone: the promotion history of every environment (`history`), where one DRY
//! commit stands (`where`), and delivery figures (`metrics`). Everything here is read from the
//! cached repository after one sync: merge commits, their trailers, hydrator.metadata and notes.
//! No SCM request is made. Rendering is in `render`; the JSON shapes are in docs/output.md.

pub(crate) mod command;
pub(crate) mod history;
pub(crate) mod locate;
pub(crate) mod metrics;
pub(crate) mod render;

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;
use time::OffsetDateTime;

use crate::config::Config;
use crate::git::{GitCache, MetadataError};
use crate::model::{BranchName, Sha};
use history::{Promotion, Window};
use locate::{DryQuery, EnvironmentFacts, Presence};
use metrics::Figures;

/// The version of the JSON documents of `history`, `where` and `metrics`.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// Per strategy, per environment: `T`, or why it could not be read.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Report<T> {
    pub schema_version: u32,
    pub repository: String,
    pub strategies: Vec<StrategyInsight<T>>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct StrategyInsight<T> {
    pub name: String,
    pub environments: Vec<EnvironmentInsight<T>>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct EnvironmentInsight<T> {
    pub branch: BranchName,
    /// `None` when `error` says why it could not be read.
    #[serde(flatten)]
    pub value: Option<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl<T> Report<T> {
    pub(crate) fn environments(&self) -> impl Iterator<Item = &EnvironmentInsight<T>> {
        self.strategies.iter().flat_map(|s| s.environments.iter())
    }

    /// Some environment could not be read (exit code 1).
    pub(crate) fn failed(&self) -> bool {
        self.environments().any(|e| e.error.is_some())
    }
}

/// One environment's promotions, newest first.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Promotions {
    pub promotions: Vec<Promotion>,
}

/// Which environments to read.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selection {
    pub strategies: Vec<usize>,
    /// Only this live branch (`--environment`).
    pub environment: Option<BranchName>,
}

impl Selection {
    fn each<'c>(
        &'c self,
        config: &'c Config,
    ) -> impl Iterator<
        Item = (
            &'c crate::config::Strategy,
            Vec<&'c crate::config::Environment>,
        ),
    > + 'c {
        let strategies: Vec<_> = self
            .strategies
            .iter()
            .map(|&i| &config.strategies[i])
            .collect();
        strategies.into_iter().map(move |strategy| {
            let environments = strategy
                .environments
                .iter()
                .filter(|e| self.environment.as_ref().is_none_or(|b| *b == e.branch))
                .collect();
            (strategy, environments)
        })
    }
}

/// Reads every selected environment's promotions within `window`.
pub(crate) fn history(
    config: &Config,
    git: &GitCache,
    selection: &Selection,
    window: Window,
) -> Report<Promotions> {
    let sigil = config.scm.provider.pull_request_sigil();
    let strategies = selection
        .each(config)
        .map(|(strategy, environments)| StrategyInsight {
            name: strategy.name.clone(),
            environments: environments
                .into_iter()
                .map(|env| {
                    insight(
                        &env.branch,
                        history::promotions(
                            git,
                            &env.branch,
                            strategy.active_path.as_deref(),
                            sigil,
                            window,
                        )
                        .map(|promotions| Promotions { promotions }),
                    )
                })
                .collect(),
        })
        .collect();
    Report {
        schema_version: SCHEMA_VERSION,
        repository: config.repository.full_name(),
        strategies,
    }
}

/// Where `query` stands in every selected environment.
pub(crate) fn locate(
    config: &Config,
    git: &GitCache,
    selection: &Selection,
    query: &DryQuery,
) -> Report<Presence> {
    let sigil = config.scm.provider.pull_request_sigil();
    // Everything git knows, read once: the DRY commit's date may come from any environment.
    let mut read: Vec<(String, BranchName, Result<EnvironmentRead>)> = Vec::new();
    for (strategy, environments) in selection.each(config) {
        let active_path = strategy.active_path.as_deref();
        for env in environments {
            let facts =
                history::promotions(git, &env.branch, active_path, sigil, Window::default())
                    .and_then(|promotions| {
                        let staging = staging(git, &env.staging_branch, active_path)?;
                        Ok((promotions, staging))
                    });
            read.push((strategy.name.clone(), env.branch.clone(), facts));
        }
    }
    let dry_date = read
        .iter()
        .filter_map(|(_, _, facts)| facts.as_ref().ok())
        .flat_map(|(promotions, staging)| {
            let promoted = promotions
                .iter()
                .filter(|p| query.matches(&p.dry_sha))
                .filter_map(|p| p.dry_date);
            let staged = staging
                .metadata_dry
                .as_ref()
                .filter(|(sha, _)| query.matches(sha))
                .and_then(|(_, date)| *date);
            promoted.chain(staged)
        })
        .min();
    let mut strategies: Vec<StrategyInsight<Presence>> = Vec::new();
    for (strategy, branch, facts) in read {
        let located = facts.map(|(promotions, staging)| {
            let live_dry = promotions.first().map(|p| (p.dry_sha.clone(), p.dry_date));
            let facts = EnvironmentFacts {
                promotions: &promotions,
                live_since: promotions.first().map(|p| p.merged_at),
                live_dry,
                staging_dry: staging.metadata_dry.map(|(sha, _)| sha),
                staging_note: staging.note,
                staging_tip: staging.tip,
            };
            locate::presence(query, &facts, dry_date)
        });
        let environment = insight(&branch, located);
        match strategies.last_mut() {
            Some(last) if last.name == strategy => last.environments.push(environment),
            _ => strategies.push(StrategyInsight {
                name: strategy,
                environments: vec![environment],
            }),
        }
    }
    Report {
        schema_version: SCHEMA_VERSION,
        repository: config.repository.full_name(),
        strategies,
    }
}

/// How `where` ends, for scripts (docs/insight.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Live in every environment read.
    LiveEverywhere,
    /// Seen somewhere, not live everywhere yet.
    OnItsWay,
    /// No environment has seen it.
    NotSeen,
}

pub(crate) fn verdict(report: &Report<Presence>) -> Verdict {
    let presences: Vec<&Presence> = report
        .environments()
        .filter_map(|e| e.value.as_ref())
        .collect();
    if !presences.is_empty() && presences.iter().all(|p| p.is_live()) {
        Verdict::LiveEverywhere
    } else if presences.iter().any(|p| **p != Presence::NotSeen) {
        Verdict::OnItsWay
    } else {
        Verdict::NotSeen
    }
}

/// The figures of every selected environment over `since..until`; an environment's previous one
/// is the one before it in its strategy (read even when `--environment` leaves it out).
pub(crate) fn metrics(
    config: &Config,
    git: &GitCache,
    selection: &Selection,
    since: OffsetDateTime,
    until: OffsetDateTime,
) -> Report<Figures> {
    let sigil = config.scm.provider.pull_request_sigil();
    let mut strategies = Vec::new();
    for &index in &selection.strategies {
        let strategy = &config.strategies[index];
        let active_path = strategy.active_path.as_deref();
        // Each environment is read once, whole (not only the window): a DRY commit promoted here
        // in the window may have gone live in the previous environment before it. `figures`
        // keeps the window.
        let mut read: BTreeMap<usize, Result<Vec<Promotion>, String>> = BTreeMap::new();
        let mut promotions_of = |position: usize| {
            read.entry(position)
                .or_insert_with(|| {
                    history::promotions(
                        git,
                        &strategy.environments[position].branch,
                        active_path,
                        sigil,
                        Window::default(),
                    )
                    .map_err(|e| format!("{e:#}"))
                })
                .clone()
        };
        let mut environments = Vec::new();
        for (position, env) in strategy.environments.iter().enumerate() {
            if selection
                .environment
                .as_ref()
                .is_some_and(|b| *b != env.branch)
            {
                continue;
            }
            let mine = promotions_of(position);
            let previous = position.checked_sub(1).map(&mut promotions_of);
            let figures = mine.map(|mine| {
                let previous = previous.and_then(Result::ok);
                metrics::figures(&mine, previous.as_deref(), since, until)
            });
            environments.push(EnvironmentInsight {
                branch: env.branch.clone(),
                error: figures.as_ref().err().cloned(),
                value: figures.ok(),
            });
        }
        strategies.push(StrategyInsight {
            name: strategy.name.clone(),
            environments,
        });
    }
    Report {
        schema_version: SCHEMA_VERSION,
        repository: config.repository.full_name(),
        strategies,
    }
}

/// Times in the JSON documents: RFC 3339 in UTC, as in the pass report.
pub(crate) fn rfc3339<S: serde::Serializer>(at: &OffsetDateTime, to: S) -> Result<S::Ok, S::Error> {
    to.serialize_str(&crate::gates::rfc3339(*at))
}

pub(crate) fn rfc3339_option<S: serde::Serializer>(
    at: &Option<OffsetDateTime>,
    to: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => rfc3339(at, to),
        None => to.serialize_none(),
    }
}

fn insight<T>(branch: &BranchName, value: Result<T>) -> EnvironmentInsight<T> {
    match value {
        Ok(value) => EnvironmentInsight {
            branch: branch.clone(),
            value: Some(value),
            error: None,
        },
        Err(error) => EnvironmentInsight {
            branch: branch.clone(),
            value: None,
            error: Some(format!("{error:#}")),
        },
    }
}

/// One environment's promotions and staging tip, as `where` reads them.
type EnvironmentRead = (Vec<Promotion>, Staging);

/// The staging tip's DRY commits: hydrator.metadata's (with its date) and the note's.
struct Staging {
    tip: Option<Sha>,
    metadata_dry: Option<(Sha, Option<OffsetDateTime>)>,
    note: Option<Sha>,
}

fn staging(git: &GitCache, branch: &BranchName, active_path: Option<&str>) -> Result<Staging> {
    let Some(tip) = git.tip(branch) else {
        return Ok(Staging {
            tip: None,
            metadata_dry: None,
            note: None,
        });
    };
    let metadata_dry = match git.hydrator_metadata(&tip, active_path, branch) {
        Ok(metadata) => Some((metadata.dry_sha, metadata.date)),
        Err(MetadataError::Missing { .. } | MetadataError::Invalid { .. }) => None,
        Err(error) => return Err(error.into()),
    };
    let note = git.note(&tip)?.map(|note| note.dry_sha);
    Ok(Staging {
        tip: Some(tip),
        metadata_dry,
        note,
    })
}
