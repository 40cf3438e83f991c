//! The `commit` gate (docs/gates.md): a minijinja expression over one hydrated commit's data —
//! the staging tip (`target: proposed`, the default) or the live tip (`target: active`); either way
//! it is a proposed gate, written on the staging tip (upstream's GitCommitStatus). True is
//! `success`, false `failure`, an evaluation error `failure` with the message. A compile error is
//! refused when the configuration is loaded.

use std::collections::BTreeMap;

use minijinja::Value;

use super::{GateResult, expr};
pub(crate) use crate::model::GateCommit;
use crate::model::{GateKey, GateState};

/// Which commit the rule judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitTarget {
    Proposed,
    Active,
}

impl CommitTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            CommitTarget::Proposed => "proposed",
            CommitTarget::Active => "active",
        }
    }
}

/// A checked `commit:` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitRule {
    pub target: CommitTarget,
    pub expression: String,
    pub description: Option<String>,
}

impl GateCommit {
    /// The `commit` variable.
    pub(crate) fn value(&self) -> Value {
        let trailers: BTreeMap<String, Value> = self
            .trailers
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.clone())))
            .collect();
        Value::from_pairs([
            ("sha", Value::from(self.sha.as_str())),
            ("shortSha", Value::from(self.sha.short())),
            ("subject", Value::from(self.subject.as_str())),
            ("body", Value::from(self.body.as_str())),
            ("author", Value::from(self.author.as_str())),
            ("authorName", Value::from(self.author_name.as_str())),
            ("committer", Value::from(self.committer.as_str())),
            ("committerName", Value::from(self.committer_name.as_str())),
            ("trailers", Value::from(trailers)),
        ])
    }
}

/// The rule's answer on `commit` (`None`: the commit was not read in this pass → pending).
pub(crate) fn evaluate(
    key: &GateKey,
    rule: &CommitRule,
    commit: Option<&GateCommit>,
) -> GateResult {
    let Some(commit) = commit else {
        return GateResult::new(
            key.clone(),
            GateState::Pending,
            format!(
                "the {} commit was not read in this pass",
                rule.target.as_str()
            ),
        );
    };
    let named = match &rule.description {
        Some(description) => description.clone(),
        None => format!("`{}`", rule.expression),
    };
    let short = commit.sha.short();
    let context = Value::from_pairs([("commit", commit.value())]);
    match expr::is_true(&rule.expression, context) {
        Ok(true) => GateResult::new(
            key.clone(),
            GateState::Success,
            format!("{short} passes {named}"),
        ),
        Ok(false) => GateResult::new(
            key.clone(),
            GateState::Failure,
            format!("{short} fails {named}"),
        ),
        Err(message) => GateResult::new(
            key.clone(),
            GateState::Failure,
            format!("the rule cannot be evaluated on {short}: {message}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Sha;

    fn commit(trailers: &[(&str, &str)]) -> GateCommit {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in trailers {
            map.entry((*k).to_owned())
                .or_default()
                .push((*v).to_owned());
        }
        GateCommit {
            sha: Sha::parse(&"ab".repeat(20)).unwrap(),
            subject: "Raise replicas".into(),
            body: "Because traffic".into(),
            author: "jane@acme.com".into(),
            author_name: "Jane".into(),
            committer: "bot@acme.com".into(),
            committer_name: "Bot".into(),
            trailers: map,
        }
    }

    fn rule(expression: &str) -> CommitRule {
        CommitRule {
            target: CommitTarget::Proposed,
            expression: expression.into(),
            description: None,
        }
    }

    fn key() -> GateKey {
        GateKey::parse("ticket-referenced").unwrap()
    }

    #[test]
    fn the_issue_example_reads_trailers_and_the_author() {
        let example =
            rule(r#"commit.trailers["Ticket"] is defined and commit.author.endswith("@acme.com")"#);
        let with = commit(&[("Ticket", "PAY-12")]);
        let got = evaluate(&key(), &example, Some(&with));
        assert_eq!(got.state, GateState::Success, "{got:?}");
        assert!(got.description.starts_with("ababab"), "{got:?}");
        let without = commit(&[("Signed-off-by", "Jane")]);
        let got = evaluate(&key(), &example, Some(&without));
        assert_eq!(got.state, GateState::Failure);
        assert!(
            got.description.contains("fails `commit.trailers"),
            "{got:?}"
        );
    }

    #[test]
    fn trailers_are_lists_in_message_order() {
        let two = commit(&[("Reviewed-by", "a"), ("Reviewed-by", "b")]);
        let rule = rule(
            r#"commit.trailers["Reviewed-by"] | length >= 2 and commit.trailers["Reviewed-by"][1] == "b""#,
        );
        assert_eq!(
            evaluate(&key(), &rule, Some(&two)).state,
            GateState::Success
        );
        assert_eq!(
            evaluate(&key(), &rule, Some(&commit(&[("Reviewed-by", "a")]))).state,
            GateState::Failure
        );
    }

    #[test]
    fn an_evaluation_error_is_failure_with_the_message_and_an_unread_commit_pending() {
        let bad = rule(r#"commit.trailers["Ticket"][0] == "x""#);
        let got = evaluate(&key(), &bad, Some(&commit(&[])));
        assert_eq!(got.state, GateState::Failure);
        assert!(
            got.description.contains("cannot be evaluated")
                && got.description.contains("undefined"),
            "{got:?}"
        );
        let mut described = rule("commit.subject.startswith('Revert')");
        described.description = Some("only reverts during the freeze".into());
        let got = evaluate(&key(), &described, Some(&commit(&[])));
        assert_eq!(
            got.description,
            "abababa fails only reverts during the freeze"
        );
        let got = evaluate(&key(), &described, None);
        assert_eq!(got.state, GateState::Pending);
        assert_eq!(
            got.description,
            "the proposed commit was not read in this pass"
        );
    }
}
