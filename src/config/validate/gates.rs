//! The top-level `gates:` list (docs/gates.md): keys (lowercase, digits, `-`, 1–63, unique, not
//! promoter's own), exactly one kind per entry, and each kind's values — cron expressions,
//! durations, IANA time zones, expressions and templates that compile, URLs, variable names.
//! Where a key is listed (proposed or active) is checked with the strategies (`strategy.rs`). Also
//! `pullRequest.holdLabel`, the label that holds a promotion PR.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use crate::config::raw_gates::{
    RawArgocd, RawCommitRule, RawCommitTarget, RawGateDefinition, RawMethod, RawSchedule,
    RawWebRequest, RawWindow, RawWindows,
};
use crate::config::{ArgocdGate, ComputedGate, GateDefinition, WebRequest};
use crate::gates::commit_rule::{CommitRule, CommitTarget};
use crate::gates::cron::Cron;
use crate::gates::expr;
use crate::gates::schedule::{Schedule, Window, Windows, time_zone};
use crate::model::{BranchName, GateKey, PREVIOUS_ENVIRONMENT};

use super::super::document::{child_path, item_path};
use super::{Checker, DURATION_HINT, check_env_name, parse_duration};

/// A web request may take at most this long: a pass waits for it.
const MAX_WEB_TIMEOUT: Duration = Duration::from_secs(60);
/// When `timeout` is not written.
const DEFAULT_WEB_TIMEOUT: Duration = Duration::from_secs(10);
/// The variable an `argocd` gate reads its token from when `tokenEnv` is not written (the name
/// the `argocd` CLI reads).
const DEFAULT_ARGOCD_TOKEN_ENV: &str = "ARGOCD_AUTH_TOKEN";

const KINDS: [&str; 4] = ["schedule", "commit", "webRequest", "argocd"];

impl Checker<'_> {
    /// Checks every entry; the valid ones are returned (in file order) and remembered for the
    /// strategies' gate lists.
    pub(super) fn gate_definitions(
        &mut self,
        raw: &[RawGateDefinition],
    ) -> Vec<Arc<GateDefinition>> {
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        let mut checked = Vec::new();
        for (index, entry) in raw.iter().enumerate() {
            let path = item_path("gates", index);
            let key = self.definition_key(&entry.key, &child_path(&path, "key"), &seen);
            if key.is_some() {
                seen.insert(&entry.key, index);
            }
            let kind = self.gate_kind(entry, &path);
            if let (Some(key), Some(kind)) = (key, kind) {
                let definition = Arc::new(GateDefinition { key, kind });
                self.definitions
                    .insert(definition.key.as_str().to_owned(), definition.clone());
                checked.push(definition);
            }
        }
        checked
    }

    fn definition_key(
        &mut self,
        key: &str,
        path: &str,
        seen: &BTreeMap<&str, usize>,
    ) -> Option<GateKey> {
        let shaped = !key.is_empty()
            && key.len() <= GateKey::MAX_LEN
            && key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !key.starts_with('-')
            && !key.ends_with('-');
        if !shaped {
            self.at_value(
                path,
                format!("`{key}` is not a valid computed gate key"),
            )
            .hint = Some("use 1 to 63 lowercase letters, digits and `-`, starting and ending with a letter or digit".into());
            return None;
        }
        if key == PREVIOUS_ENVIRONMENT {
            self.at_value(
                path,
                format!("`{PREVIOUS_ENVIRONMENT}` is written by promoter itself"),
            );
            return None;
        }
        if let Some(first) = seen.get(key) {
            self.at_value(
                path,
                format!("gate `{key}` is already defined at gates[{first}]"),
            )
            .hint = Some("keys in `gates:` must be unique".into());
            return None;
        }
        GateKey::parse(key).ok()
    }

    fn gate_kind(&mut self, entry: &RawGateDefinition, path: &str) -> Option<ComputedGate> {
        let written: Vec<&str> = [
            entry.schedule.is_some(),
            entry.commit.is_some(),
            entry.web_request.is_some(),
            entry.argocd.is_some(),
        ]
        .iter()
        .zip(KINDS)
        .filter_map(|(present, name)| present.then_some(name))
        .collect();
        if written.len() != 1 {
            let message = if written.is_empty() {
                "a gate needs one kind".to_owned()
            } else {
                let names: Vec<String> = written.iter().map(|k| format!("`{k}`")).collect();
                format!(
                    "a gate has exactly one kind; this one has {}",
                    names.join(" and ")
                )
            };
            let at = match written.get(1) {
                Some(second) => child_path(path, second),
                None => path.to_owned(),
            };
            let kinds: Vec<String> = KINDS.iter().map(|k| format!("`{k}`")).collect();
            self.at_value(&at, message).hint = Some(format!(
                "write one of {}; define another gate for another kind",
                kinds.join(", ")
            ));
            return None;
        }
        if let Some(raw) = &entry.schedule {
            return self
                .schedule(raw, &child_path(path, "schedule"))
                .map(ComputedGate::Schedule);
        }
        if let Some(raw) = &entry.commit {
            return self
                .commit_rule(raw, &child_path(path, "commit"))
                .map(ComputedGate::Commit);
        }
        if let Some(raw) = &entry.web_request {
            return self
                .web_request(raw, &child_path(path, "webRequest"))
                .map(ComputedGate::WebRequest);
        }
        let raw = entry.argocd.as_ref()?;
        self.argocd(raw, &child_path(path, "argocd"))
            .map(ComputedGate::Argocd)
    }

    fn schedule(&mut self, raw: &RawSchedule, path: &str) -> Option<Schedule> {
        let zone_name = raw.timezone.clone().unwrap_or_else(|| "UTC".to_owned());
        let zone = self.time_zone(&zone_name, &child_path(path, "timezone"));
        let global = self.windows(&raw.allow, &raw.exclude, path, zone.as_ref(), &zone_name);
        let mut ok = global.is_some();
        let environments = match &raw.environments {
            None => None,
            Some(listed) => {
                let mut own = BTreeMap::new();
                let environments_path = child_path(path, "environments");
                for (branch, windows) in listed {
                    let at = child_path(&environments_path, branch);
                    let parsed = BranchName::parse(branch);
                    let checked = self.environment_windows(windows, &at, zone.as_ref(), &zone_name);
                    match (parsed, checked) {
                        (Ok(branch), Some(windows)) => {
                            self.schedule_branches.push((branch.clone(), at));
                            own.insert(branch, windows);
                        }
                        (Err(reason), _) => {
                            self.at_key(&at, reason);
                            ok = false;
                        }
                        (_, None) => ok = false,
                    }
                }
                Some(own)
            }
        };
        zone?;
        ok.then(|| Schedule {
            global: global.expect("ok implies the global windows are valid"),
            environments,
        })
    }

    fn environment_windows(
        &mut self,
        raw: &RawWindows,
        path: &str,
        zone: Option<&jiff::tz::TimeZone>,
        zone_name: &str,
    ) -> Option<Windows> {
        self.windows(&raw.allow, &raw.exclude, path, zone, zone_name)
    }

    fn windows(
        &mut self,
        allow: &[RawWindow],
        exclude: &[RawWindow],
        path: &str,
        zone: Option<&jiff::tz::TimeZone>,
        zone_name: &str,
    ) -> Option<Windows> {
        let mut lists = [Some(Vec::new()), Some(Vec::new())];
        for (raw, (list, name)) in [allow, exclude]
            .iter()
            .zip(lists.iter_mut().zip(["allow", "exclude"]))
        {
            for (index, window) in raw.iter().enumerate() {
                let at = item_path(&child_path(path, name), index);
                let checked = self.window(window, &at, zone, zone_name);
                *list = list.take().zip(checked).map(|(mut all, one)| {
                    all.push(one);
                    all
                });
            }
        }
        let [allow, exclude] = lists;
        Some(Windows {
            allow: allow?,
            exclude: exclude?,
        })
    }

    fn window(
        &mut self,
        raw: &RawWindow,
        path: &str,
        zone: Option<&jiff::tz::TimeZone>,
        zone_name: &str,
    ) -> Option<Window> {
        let cron = match Cron::parse(&raw.cron) {
            Ok(cron) => Some(cron),
            Err(reason) => {
                self.at_value(&child_path(path, "cron"), reason).hint = Some(
                    "five fields: minute hour day-of-month month day-of-week, e.g. `0 9 * * 1-5`"
                        .into(),
                );
                None
            }
        };
        let duration = self.duration(&raw.duration, &child_path(path, "duration"));
        let (timezone, timezone_name) = match &raw.timezone {
            Some(name) => (
                self.time_zone(name, &child_path(path, "timezone")),
                name.clone(),
            ),
            None => (zone.cloned(), zone_name.to_owned()),
        };
        let description = raw
            .description
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_owned);
        Some(Window {
            cron: cron?,
            cron_text: raw.cron.split_whitespace().collect::<Vec<_>>().join(" "),
            duration: duration?,
            description,
            timezone: timezone?,
            timezone_name,
        })
    }

    fn time_zone(&mut self, name: &str, path: &str) -> Option<jiff::tz::TimeZone> {
        match time_zone(name) {
            Ok(zone) => Some(zone),
            Err(reason) => {
                self.at_value(path, reason).hint = Some(
                    "names are case-sensitive: `Europe/Berlin`, `America/New_York`, `UTC`".into(),
                );
                None
            }
        }
    }

    fn duration(&mut self, text: &str, path: &str) -> Option<Duration> {
        match parse_duration(text) {
            Ok(duration) => Some(duration),
            Err(reason) => {
                self.at_value(path, reason).hint = Some(DURATION_HINT.into());
                None
            }
        }
    }

    fn commit_rule(&mut self, raw: &RawCommitRule, path: &str) -> Option<CommitRule> {
        let expression = self.expression(&raw.expression, &child_path(path, "expression"))?;
        Some(CommitRule {
            target: match raw.target {
                Some(RawCommitTarget::Active) => CommitTarget::Active,
                Some(RawCommitTarget::Proposed) | None => CommitTarget::Proposed,
            },
            expression,
            description: raw
                .description
                .as_deref()
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(str::to_owned),
        })
    }

    /// An expression that compiles, as written.
    fn expression(&mut self, source: &str, path: &str) -> Option<String> {
        if source.trim().is_empty() {
            self.at_value(path, "the expression is empty");
            return None;
        }
        match expr::check_expression(source) {
            Ok(()) => Some(source.to_owned()),
            Err(message) => {
                self.at_value(path, format!("the expression does not compile: {message}"))
                    .hint = Some("a minijinja expression, e.g. `commit.subject.startswith(\"Release\")`; see docs/gates.md".into());
                None
            }
        }
    }

    fn template(&mut self, source: &str, path: &str) -> Option<String> {
        match expr::check_template(source) {
            Ok(()) => Some(source.to_owned()),
            Err(message) => {
                self.at_value(path, format!("the template does not compile: {message}"))
                    .hint =
                    Some("minijinja `{{ }}` syntax; see docs/gates.md for the variables".into());
                None
            }
        }
    }

    fn web_request(&mut self, raw: &RawWebRequest, path: &str) -> Option<WebRequest> {
        let url_path = child_path(path, "url");
        let mut url = self.template(&raw.url, &url_path);
        if url.is_some() && !(raw.url.starts_with("http://") || raw.url.starts_with("https://")) {
            self.at_value(&url_path, "the URL must start with `http://` or `https://`");
            url = None;
        }
        let mut ok = true;
        let mut headers = Vec::new();
        for (name, value) in &raw.headers {
            let at = child_path(&child_path(path, "headers"), name);
            ok &= self.header_name(name, &at);
            match self.template(value, &at) {
                Some(value) => headers.push((name.clone(), value)),
                None => ok = false,
            }
        }
        let mut headers_from_env = Vec::new();
        let mut names: BTreeSet<String> =
            raw.headers.keys().map(|n| n.to_ascii_lowercase()).collect();
        for (name, variable) in &raw.headers_from_env {
            let at = child_path(&child_path(path, "headersFromEnv"), name);
            ok &= self.header_name(name, &at);
            if !names.insert(name.to_ascii_lowercase()) {
                self.at_key(&at, format!("header `{name}` is also set under `headers`"));
                ok = false;
            }
            if let Err(reason) = check_env_name(variable) {
                self.at_value(&at, reason);
                ok = false;
            }
            headers_from_env.push((name.clone(), variable.clone()));
        }
        let body = match &raw.body {
            Some(body) => {
                let checked = self.template(body, &child_path(path, "body"));
                ok &= checked.is_some();
                checked
            }
            None => None,
        };
        let success = self.expression(&raw.success, &child_path(path, "success"));
        let failure = match &raw.failure {
            Some(source) => {
                let checked = self.expression(source, &child_path(path, "failure"));
                ok &= checked.is_some();
                checked
            }
            None => None,
        };
        let timeout_path = child_path(path, "timeout");
        let timeout = match &raw.timeout {
            None => Some(DEFAULT_WEB_TIMEOUT),
            Some(text) => match self.duration(text, &timeout_path) {
                Some(t) if t > MAX_WEB_TIMEOUT => {
                    self.at_value(
                        &timeout_path,
                        format!("`{text}` is longer than the 60s a web request may take"),
                    );
                    None
                }
                other => other,
            },
        };
        let method = match raw.method.unwrap_or(RawMethod::Get) {
            RawMethod::Get => "GET",
            RawMethod::Post => "POST",
            RawMethod::Put => "PUT",
        };
        if method == "GET" && raw.body.is_some() {
            self.at_value(&child_path(path, "body"), "a GET request has no body")
                .hint = Some("add `method: POST` (or PUT), or remove `body`".into());
            ok = false;
        }
        if !ok {
            return None;
        }
        Some(WebRequest {
            url: url?,
            method,
            headers,
            headers_from_env,
            body,
            success: success?,
            failure,
            timeout: timeout?,
        })
    }

    /// An HTTP header name: RFC 9110 token characters.
    fn header_name(&mut self, name: &str, path: &str) -> bool {
        let token = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !token {
            self.at_key(path, format!("`{name}` is not an HTTP header name"));
        }
        token
    }

    fn argocd(&mut self, raw: &RawArgocd, path: &str) -> Option<ArgocdGate> {
        let server = raw.server.trim_end_matches('/');
        let mut ok = true;
        if !(server.starts_with("http://") || server.starts_with("https://")) {
            self.at_value(
                &child_path(path, "server"),
                "the server must be an `http://` or `https://` URL",
            )
            .hint = Some("the Argo CD API's base, e.g. `https://argocd.acme.com`".into());
            ok = false;
        }
        let token_env = raw
            .token_env
            .clone()
            .unwrap_or_else(|| DEFAULT_ARGOCD_TOKEN_ENV.to_owned());
        if let Err(reason) = check_env_name(&token_env) {
            self.at_value(&child_path(path, "tokenEnv"), reason);
            ok = false;
        }
        if raw.selector.trim().is_empty() {
            self.at_value(&child_path(path, "selector"), "the selector is empty")
                .hint = Some("a label selector such as `team=payments`".into());
            ok = false;
        }
        ok.then(|| ArgocdGate {
            server: server.to_owned(),
            token_env,
            selector: raw.selector.trim().to_owned(),
        })
    }

    /// After the strategies: every branch a schedule lists is a live branch of the file (a typo
    /// would silently leave that environment open).
    pub(super) fn schedule_branches_exist(&mut self, live: &BTreeSet<String>) {
        let listed = std::mem::take(&mut self.schedule_branches);
        for (branch, path) in listed {
            if !live.contains(branch.as_str()) {
                self.at_key(
                    &path,
                    format!("`{branch}` is not the live branch of any environment"),
                )
                .hint = Some(
                    "list environments by their `branch`; an environment not listed is always open"
                        .into(),
                );
            }
        }
    }
}

/// The hold label is a gate of sorts: it stops the merge (docs/gates.md "Holding a promotion").
impl Checker<'_> {
    /// `pullRequest.holdLabel`: one line, 1 to 50 characters, as written without surrounding
    /// spaces (SCMs trim label names).
    pub(super) fn hold_label(&mut self, raw: Option<&str>) -> Option<String> {
        let label = raw?.trim();
        let path = "pullRequest.holdLabel";
        let max = crate::config::PullRequestTemplates::MAX_HOLD_LABEL_CHARS;
        if label.is_empty() || label.chars().any(char::is_control) {
            self.at_value(path, "the hold label must be one line of visible text")
                .hint = Some(format!(
                "remove `holdLabel` to use `{}`",
                crate::config::PullRequestTemplates::DEFAULT_HOLD_LABEL
            ));
            return None;
        }
        if label.chars().count() > max {
            self.at_value(
                path,
                format!("the hold label is longer than the {max} characters a label may have"),
            );
            return None;
        }
        Some(label.to_owned())
    }
}

#[cfg(test)]
#[path = "gates_tests.rs"]
mod tests;
