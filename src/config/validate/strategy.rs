//! The `strategies` section: names, activePath, environments, live and staging branches (unique,
//! valid names per `branch.rs`, no file/folder clash), gates and soak times.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::{BranchName, GateKey, PREVIOUS_ENVIRONMENT};

use super::super::document::{child_path, item_path};
use super::super::raw::{RawActiveGate, RawEnvironment, RawProposedGate, RawStrategy};
use super::super::visible::shown;
use super::super::{Environment, Gate, GateDefinition, Strategy};
use super::{Checker, DURATION_HINT, branch, parse_duration};

/// Where a branch is used in the file, for duplicate messages.
struct BranchUse {
    path: String,
    role: &'static str,
    strategy: usize,
}

impl Checker<'_> {
    pub(super) fn strategies(&mut self, raw: &[RawStrategy]) -> Option<Vec<Strategy>> {
        if raw.is_empty() {
            self.at_value("strategies", "at least one strategy is required")
                .hint = Some("add a strategy with a `name` and its `environments`".into());
            return None;
        }
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        let mut branches: BTreeMap<String, Vec<BranchUse>> = BTreeMap::new();
        let mut strategies = Some(Vec::new());
        for (index, strategy) in raw.iter().enumerate() {
            let path = item_path("strategies", index);
            let name = strategy.name.trim();
            if name.is_empty() {
                self.at_value(&child_path(&path, "name"), "the strategy name is empty");
            } else if let Some(first) = names.get(name) {
                self.at_value(
                    &child_path(&path, "name"),
                    format!("strategy name `{name}` is already used by strategies[{first}]"),
                )
                .hint = Some("strategy names must be unique in the file".into());
            } else {
                names.insert(name, index);
            }
            let checked = self.strategy(strategy, &path, index, &mut branches);
            strategies = strategies.zip(checked).map(|(mut all, one)| {
                all.push(one);
                all
            });
        }
        self.branch_conflicts(&branches);
        strategies
    }

    fn strategy(
        &mut self,
        raw: &RawStrategy,
        path: &str,
        index: usize,
        branches: &mut BTreeMap<String, Vec<BranchUse>>,
    ) -> Option<Strategy> {
        let active_path =
            self.active_path(raw.active_path.as_deref(), &child_path(path, "activePath"));
        let active = self.active_gates(
            &raw.active_commit_statuses,
            &child_path(path, "activeCommitStatuses"),
        );
        let proposed = self.proposed_gates(
            &raw.proposed_commit_statuses,
            &child_path(path, "proposedCommitStatuses"),
        );
        let environments_path = child_path(path, "environments");
        if raw.environments.is_empty() {
            self.at_value(&environments_path, "at least one environment is required")
                .hint =
                Some("list the environments in promotion order, each with its `branch`".into());
        }
        let mut environments = Some(Vec::new());
        for (position, environment) in raw.environments.iter().enumerate() {
            let env_path = item_path(&environments_path, position);
            let checked = self.environment(
                environment,
                &env_path,
                active_path.as_ref().and_then(Option::as_deref),
                active.as_deref().unwrap_or_default(),
                proposed.as_deref().unwrap_or_default(),
            );
            if let Some(environment) = &checked {
                let live_clash = self.note_branch(
                    branches,
                    &environment.branch,
                    child_path(&env_path, "branch"),
                    "live",
                    index,
                );
                let written = raw.environments[position].staging_branch.is_some();
                // A staging branch derived from a clashing live branch clashes too: say it once.
                if written || !live_clash {
                    let staging_path =
                        child_path(&env_path, if written { "stagingBranch" } else { "branch" });
                    self.note_branch(
                        branches,
                        &environment.staging_branch,
                        staging_path,
                        "staging",
                        index,
                    );
                }
            }
            environments = environments.zip(checked).map(|(mut all, one)| {
                all.push(one);
                all
            });
        }
        if raw.environments.is_empty() {
            return None;
        }
        Some(Strategy {
            name: raw.name.trim().to_owned(),
            active_path: active_path?,
            environments: environments?,
        })
    }

    /// `Some(None)` when absent or empty; `None` when invalid.
    fn active_path(&mut self, raw: Option<&str>, path: &str) -> Option<Option<String>> {
        let Some(text) = raw.filter(|t| !t.is_empty()) else {
            return Some(None);
        };
        let problem = if text.starts_with('/') || text.ends_with('/') {
            Some("cannot start or end with `/`")
        } else if text
            .split('/')
            .any(|part| part == ".." || part == "." || part.is_empty())
        {
            Some("cannot contain `.`, `..` or empty components")
        } else if text.contains(char::is_whitespace) || text.contains('\\') {
            Some("cannot contain spaces or `\\`")
        } else {
            None
        };
        match problem {
            None => Some(Some(text.to_owned())),
            Some(message) => {
                self.at_value(path, format!("activePath `{text}` {message}"))
                    .hint =
                    Some("a path relative to the repository root, e.g. `apps/guestbook`".into());
                None
            }
        }
    }

    fn environment(
        &mut self,
        raw: &RawEnvironment,
        path: &str,
        active_path: Option<&str>,
        strategy_active: &[Gate],
        strategy_proposed: &[Gate],
    ) -> Option<Environment> {
        let branch_path = child_path(path, "branch");
        let branch = self.branch(&raw.branch, &branch_path);
        let staging_branch = match (&raw.staging_branch, &branch) {
            (Some(text), _) => {
                let staging_path = child_path(path, "stagingBranch");
                match self.branch(text, &staging_path) {
                    Some(staging) if Some(&staging) == branch.as_ref() => {
                        self.at_value(&staging_path, "the staging branch cannot be the live branch")
                            .hint = Some("the hydrator pushes to the staging branch; promoter merges it into `branch`".into());
                        None
                    }
                    staging => staging,
                }
            }
            (None, Some(branch)) => {
                let derived = match active_path {
                    Some(active_path) => format!("{branch}-next/{active_path}"),
                    None => format!("{branch}-next"),
                };
                match branch::parse(&derived) {
                    Ok(staging) => Some(staging),
                    Err(refusal) => {
                        self.at_value(
                            &branch_path,
                            format!(
                                "the derived staging branch `{}` is not a valid branch name: {}",
                                shown(&clipped_name(&derived)),
                                refusal.reason
                            ),
                        )
                        .hint = Some("set `stagingBranch` for this environment".into());
                        None
                    }
                }
            }
            (None, None) => None,
        };
        let active = self.active_gates(
            &raw.active_commit_statuses,
            &child_path(path, "activeCommitStatuses"),
        );
        let proposed = self.proposed_gates(
            &raw.proposed_commit_statuses,
            &child_path(path, "proposedCommitStatuses"),
        );
        Some(Environment {
            branch: branch?,
            staging_branch: staging_branch?,
            auto_merge: raw.auto_merge.unwrap_or(true),
            active_gates: merge_gates(strategy_active, &active?),
            proposed_gates: merge_gates(strategy_proposed, &proposed?),
        })
    }

    /// A live or staging branch as written at `path`, checked by `branch.rs`.
    fn branch(&mut self, written: &str, path: &str) -> Option<BranchName> {
        match branch::parse(written) {
            Ok(branch) => Some(branch),
            Err(refusal) => {
                let message = format!(
                    "`{}` is not a valid branch name: {}",
                    shown(&clipped_name(written)),
                    refusal.reason
                );
                self.at_value(path, message).hint = refusal.hint;
                None
            }
        }
    }

    fn active_gates(&mut self, raw: &[RawActiveGate], path: &str) -> Option<Vec<Gate>> {
        let entries: Vec<(&str, Option<&str>)> = raw
            .iter()
            .map(|gate| (gate.key.as_str(), gate.soak_time.as_deref()))
            .collect();
        self.gates(&entries, path, false)
    }

    fn proposed_gates(&mut self, raw: &[RawProposedGate], path: &str) -> Option<Vec<Gate>> {
        let entries: Vec<(&str, Option<&str>)> =
            raw.iter().map(|gate| (gate.key.as_str(), None)).collect();
        self.gates(&entries, path, true)
    }

    /// A key naming a `gates:` entry is computed; its kind must fit the list it is in, and it
    /// takes no `soakTime`.
    fn computed(
        &mut self,
        key: &str,
        soak: bool,
        proposed: bool,
        gate_path: &str,
    ) -> Option<Option<Arc<GateDefinition>>> {
        let Some(definition) = self.definitions.get(key).cloned() else {
            return Some(None);
        };
        let kind = definition.kind.name();
        if soak {
            self.at_value(
                &child_path(gate_path, "soakTime"),
                format!("`{key}` is a gate of kind `{kind}` from `gates:`; it takes no `soakTime`"),
            )
            .hint = Some("use another key for a soak timer".into());
            return None;
        }
        if !definition.kind.allowed_as(proposed) {
            let (here, there) = if proposed {
                ("proposedCommitStatuses", "activeCommitStatuses")
            } else {
                ("activeCommitStatuses", "proposedCommitStatuses")
            };
            self.at_value(
                &child_path(gate_path, "key"),
                format!(
                    "`{key}` is a gate of kind `{kind}`, which cannot be listed under `{here}`"
                ),
            )
            .hint = Some(format!("move it to `{there}` (docs/gates.md)"));
            return None;
        }
        Some(Some(definition))
    }

    fn gates(
        &mut self,
        entries: &[(&str, Option<&str>)],
        path: &str,
        proposed: bool,
    ) -> Option<Vec<Gate>> {
        let mut gates = Some(Vec::new());
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (index, (key, soak)) in entries.iter().enumerate() {
            let gate_path = item_path(path, index);
            let key_path = child_path(&gate_path, "key");
            let key = match GateKey::parse(key) {
                Ok(_) if *key == PREVIOUS_ENVIRONMENT => {
                    self.at_value(
                        &key_path,
                        format!("`{PREVIOUS_ENVIRONMENT}` is written by promoter itself"),
                    )
                    .hint = Some(
                        "it is added to every environment after the first; remove it here".into(),
                    );
                    None
                }
                Ok(_) if seen.contains_key(key) => {
                    let first = seen[key];
                    self.at_value(
                        &key_path,
                        format!("gate `{key}` is already listed at {path}[{first}]"),
                    );
                    None
                }
                Ok(parsed) => {
                    seen.insert(key, index);
                    Some(parsed)
                }
                Err(reason) => {
                    self.at_value(&key_path, reason);
                    None
                }
            };
            let soak_time = match soak {
                None => Some(None),
                Some(text) => match parse_duration(text) {
                    Ok(duration) => Some(Some(duration)),
                    Err(reason) => {
                        self.at_value(&child_path(&gate_path, "soakTime"), reason)
                            .hint = Some(DURATION_HINT.into());
                        None
                    }
                },
            };
            let computed = self.computed(entries[index].0, soak.is_some(), proposed, &gate_path);
            let gate = key
                .zip(soak_time)
                .zip(computed)
                .map(|((key, soak_time), computed)| Gate {
                    key,
                    soak_time,
                    computed,
                });
            gates = gates.zip(gate).map(|(mut all, one)| {
                all.push(one);
                all
            });
        }
        gates
    }

    fn note_branch(
        &mut self,
        branches: &mut BTreeMap<String, Vec<BranchUse>>,
        branch: &BranchName,
        path: String,
        role: &'static str,
        strategy: usize,
    ) -> bool {
        let uses = branches.entry(branch.as_str().to_owned()).or_default();
        // A live branch shared by several strategies is monorepo mode; anything else used twice is
        // two environments fighting over one branch.
        let clash = uses.iter().find(|other| {
            other.strategy == strategy || role == "staging" || other.role == "staging"
        });
        if let Some(other) = clash {
            let message = format!(
                "branch `{branch}` is used as a {role} branch here and as the {} branch at {}",
                other.role,
                other
                    .path
                    .rsplit_once('.')
                    .map_or(other.path.as_str(), |(env, _)| env)
            );
            let problem = self.at_value(&path, message);
            problem.hint = Some(if role == "staging" && path.ends_with(".branch") {
                "the staging branch is `<branch>-next`; set `stagingBranch` to choose another"
                    .into()
            } else {
                "every environment needs its own live and staging branch".into()
            });
        }
        let clashed = clash.is_some();
        uses.push(BranchUse {
            path,
            role,
            strategy,
        });
        clashed
    }

    /// git cannot hold both `a` and `a/b` as branches (one would be a folder of the other). Each
    /// longer branch is reported once, against its shortest clashing prefix: reporting every pair
    /// would grow with the square of the branches.
    fn branch_conflicts(&mut self, branches: &BTreeMap<String, Vec<BranchUse>>) {
        for (longer, longer_uses) in branches {
            let shorter = longer
                .match_indices('/')
                .map(|(slash, _)| &longer[..slash])
                .find_map(|prefix| branches.get_key_value(prefix));
            let (Some((name, uses)), Some(long_use)) = (shorter, longer_uses.first()) else {
                continue;
            };
            let Some(short_use) = uses.first() else {
                continue;
            };
            let message = format!(
                "branch `{longer}` cannot exist next to branch `{name}` (used at {}): git stores `{name}` as a file, not a folder",
                short_use.path
            );
            let path = long_use.path.clone();
            self.at_value(&path, message).hint = Some(
                "in monorepo mode every strategy on a shared live branch needs an `activePath`"
                    .into(),
            );
        }
    }
}

/// A branch name as a message shows it: without surrounding ASCII spaces, and cut after 100
/// characters (a name that long is refused for its length anyway).
fn clipped_name(written: &str) -> String {
    let name = written.trim_matches(|c: char| c.is_ascii_whitespace());
    match name.char_indices().nth(100) {
        Some((cut, _)) => format!("{}…", &name[..cut]),
        None => name.to_owned(),
    }
}

/// Strategy-level gates, then the environment's own; an environment entry with the same key
/// replaces the strategy's (so an environment can set its own `soakTime`).
fn merge_gates(strategy: &[Gate], own: &[Gate]) -> Vec<Gate> {
    let mut merged = strategy.to_vec();
    for gate in own {
        match merged.iter_mut().find(|existing| existing.key == gate.key) {
            Some(existing) => *existing = gate.clone(),
            None => merged.push(gate.clone()),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::super::tests::{problems, with_strategies};
    use crate::config::parse;

    fn strategies(text: &str) -> Vec<crate::config::Strategy> {
        parse(&with_strategies(text), Path::new("promotion.yaml"), &|_| {
            None
        })
        .unwrap()
        .strategies
    }

    #[test]
    fn staging_branches_are_derived_from_the_branch_and_active_path() {
        let found = strategies(
            "  - name: flat\n    environments:\n      - branch: env/dev\n      - branch: env/prod\n        stagingBranch: hydrated/prod\n\
             \x20 - name: mono\n    activePath: apps/web\n    environments:\n      - branch: env/qa\n",
        );
        let staging: Vec<&str> = found
            .iter()
            .flat_map(|s| s.environments.iter().map(|e| e.staging_branch.as_str()))
            .collect();
        assert_eq!(
            staging,
            ["env/dev-next", "hydrated/prod", "env/qa-next/apps/web"]
        );
        assert_eq!(found[1].active_path.as_deref(), Some("apps/web"));
    }

    #[test]
    fn an_empty_active_path_is_no_monorepo_mode() {
        let found = strategies(
            "  - name: app\n    activePath: \"\"\n    environments:\n      - branch: env/dev\n",
        );
        assert_eq!(found[0].active_path, None);
        assert_eq!(
            found[0].environments[0].staging_branch.as_str(),
            "env/dev-next"
        );
    }

    #[test]
    fn gates_merge_strategy_first_and_an_environment_entry_replaces_the_same_key() {
        let found = strategies(
            "  - name: app\n    activeCommitStatuses:\n      - key: health\n      - key: soak\n        soakTime: 1h\n\
             \x20   proposedCommitStatuses:\n      - key: scan\n    environments:\n      - branch: env/dev\n\
             \x20     - branch: env/prod\n        autoMerge: false\n        activeCommitStatuses:\n          - key: soak\n            soakTime: 1d\n\
             \x20         - key: smoke\n        proposedCommitStatuses:\n          - key: scan\n          - key: review\n",
        );
        let prod = &found[0].environments[1];
        let active: Vec<(&str, Option<u64>)> = prod
            .active_gates
            .iter()
            .map(|g| (g.key.as_str(), g.soak_time.map(|d| d.as_secs())))
            .collect();
        assert_eq!(
            active,
            [("health", None), ("soak", Some(86_400)), ("smoke", None)]
        );
        let proposed: Vec<&str> = prod.proposed_gates.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(proposed, ["scan", "review"]);
        assert!(!prod.auto_merge);
        assert!(found[0].environments[0].auto_merge);
        assert_eq!(
            found[0].environments[0].active_gates[1].soak_time,
            Some(Duration::from_secs(3_600))
        );
    }

    #[test]
    fn branch_and_gate_rules_are_each_reported() {
        let text = with_strategies(
            "  - name: app\n    activePath: apps/../x\n    proposedCommitStatuses:\n      - key: scan\n      - key: scan\n\
             \x20   environments:\n      - branch: env/dev\n        stagingBranch: env/dev\n      - branch: env/prod-next\n\
             \x20     - branch: env/prod\n  - name: \" \"\n    environments: []\n",
        );
        assert_eq!(
            problems(&text),
            [
                "8:17 strategies[0].activePath: activePath `apps/../x` cannot contain `.`, `..` or empty components",
                "11:14 strategies[0].proposedCommitStatuses[1].key: gate `scan` is already listed at strategies[0].proposedCommitStatuses[0]",
                "14:24 strategies[0].environments[0].stagingBranch: the staging branch cannot be the live branch",
                "16:17 strategies[0].environments[2].branch: branch `env/prod-next` is used as a staging branch here and as the live branch at strategies[0].environments[1]",
                "17:11 strategies[1].name: the strategy name is empty",
                "18:19 strategies[1].environments: at least one environment is required",
            ]
        );
    }

    #[test]
    fn strategies_may_share_live_branches_but_not_staging_branches() {
        let shared_live = "  - name: a\n    activePath: apps/a\n    environments:\n      - branch: env/dev\n\
                           \x20 - name: b\n    activePath: apps/b\n    environments:\n      - branch: env/dev\n";
        assert_eq!(
            problems(&with_strategies(shared_live)),
            Vec::<String>::new()
        );
        let shared_staging = "  - name: a\n    environments:\n      - branch: env/dev\n\
                              \x20 - name: b\n    environments:\n      - branch: env/qa\n        stagingBranch: env/dev-next\n";
        assert_eq!(
            problems(&with_strategies(shared_staging)),
            [
                "13:24 strategies[1].environments[0].stagingBranch: branch `env/dev-next` is used as a staging branch here and as the staging branch at strategies[0].environments[0]"
            ]
        );
    }

    #[test]
    fn at_least_one_strategy_is_required() {
        assert_eq!(
            problems(&with_strategies("  []\n")),
            ["7:3 strategies: at least one strategy is required"]
        );
    }
}
