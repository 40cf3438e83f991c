//! Pull request text (docs/design.md §5): the title and description templates (minijinja, with
//! `trim_blocks` and `lstrip_blocks` on, undefined variables are errors), their defaults, the
//! check `promoter validate` runs, and the merge commit message with its trailer block (§3).
//!
//! Variables: `strategy.name`, `environment.branch`, `environment.stagingBranch`,
//! `active.dry` / `proposed.dry` (`sha`, `shortSha`, `subject`, `body`, `author`, `date`,
//! `references`, and `url`, a link to the DRY commit), `active.hydratedSha`,
//! `proposed.hydratedSha`, `repository.webUrl`; beyond docs/design.md §5: `compareUrl` (live dry → proposed
//! dry; empty before the first promotion) and `gates` (this environment's proposed gates with
//! `key`, `state`, `description`, `computed`). Unknown values are empty strings, never undefined, so a
//! template that passes [`check_templates`] renders for every environment.
//!
//! Values promoter does not control — DRY commit `subject`, `body`, `author`, `repoUrl`, the
//! references' fields, gate descriptions — are escaped where they are printed, the rest of the
//! template (the user's own text) is kept as written: in the description every such value is shown
//! literally in Markdown ([`untrusted::markdown`]: no HTML, no links or images, no `@mentions`, no
//! quick actions), in the title it is kept on the line ([`untrusted::one_line`]). SHAs, URLs
//! promoter builds, branch names, gate keys and states are marked safe and printed as they are;
//! `{{ value | safe }}` opts a value out of escaping.
//!
//! The rendered text is what the SCM will show: secrets redacted ([`crate::redact`]) and cut to the
//! provider's limits ([`crate::scm::ProviderInfo::text_limits`]) with a marker, so the planner compares like with
//! like and an unchanged world plans no update. The merge message is built from that text plus the
//! trailers, whose values are single-line.
//!
//! Not here: deciding whether to create or update a PR (that is `plan`).

use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, UndefinedBehavior, Value};
use time::OffsetDateTime;

use crate::gates::expr::describe;
use crate::untrusted;

use crate::config::{Config, Environment as EnvConfig, Provider, PullRequestTemplates, Strategy};
use crate::gates::{GateResult, rfc3339};
use crate::model::{BranchName, HydratorMetadata, ReferenceCommit, Sha};
use crate::reconcile::GitFacts;
use crate::scm::PullRequest;

/// docs/design.md §5's default title.
pub(crate) const DEFAULT_TITLE: &str =
    "Promote {{ proposed.dry.shortSha }} to `{{ environment.branch }}`";

/// docs/design.md §5's default description: what is promoted, by whom, what changed, what it waits for.
pub(crate) const DEFAULT_DESCRIPTION: &str = "\
Promotes [`{{ proposed.dry.shortSha }}`]({{ proposed.dry.url }}) to `{{ environment.branch }}`\
{% if proposed.dry.subject %}: **{{ proposed.dry.subject }}**{% endif %}


{% if proposed.dry.author %}
Author: {{ proposed.dry.author }}

{% endif %}
{% if compareUrl %}
Changes: [{{ active.dry.shortSha }}...{{ proposed.dry.shortSha }}]({{ compareUrl }})
{% else %}
First promotion to `{{ environment.branch }}`.
{% endif %}
{% if proposed.dry.body %}

{{ proposed.dry.body }}
{% endif %}
{% if proposed.dry.references %}

References:
{% for ref in proposed.dry.references %}
- {{ ref.shortSha }}{% if ref.subject %} {{ ref.subject }}{% endif %}{% if ref.author %} ({{ ref.author }}){% endif %}

{% endfor %}
{% endif %}

{% if gates %}
{% if gates | selectattr('computed') | list %}
| Gate | State | Why |
| --- | --- | --- |
{% for gate in gates %}
| `{{ gate.key }}` | {{ gate.state }} | {% if gate.computed %}{{ gate.description | replace('\\n', ' ') }}{% else %}-{% endif %} |
{% endfor %}
{% else %}
| Gate | State |
| --- | --- |
{% for gate in gates %}
| `{{ gate.key }}` | {{ gate.state }} |
{% endfor %}
{% endif %}
{% else %}
No gates: this promotion merges as soon as the PR is open.
{% endif %}
";

/// Ends a description that was cut to the provider's limit.
pub(crate) const BODY_CUT_MARKER: &str = "\n\n… (truncated by promoter)";
/// Ends a title that was cut to the provider's limit.
pub(crate) const TITLE_CUT_MARKER: &str = "…";

/// How values from outside are escaped in a template's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escaping {
    /// PR titles: plain text on one line (SCMs render no Markdown there beyond code spans).
    Title,
    /// PR descriptions: Markdown.
    Markdown,
}

/// The rendered title and description of a promotion PR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PrText {
    pub title: String,
    pub body: String,
}

/// Which template a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub(crate) enum TemplateField {
    Title,
    Description,
}

impl TemplateField {
    /// The config key path (`pullRequest.title`).
    pub(crate) fn key_path(self) -> &'static str {
        match self {
            TemplateField::Title => "pullRequest.title",
            TemplateField::Description => "pullRequest.description",
        }
    }
}

/// A template that does not compile or does not render with the documented variables.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct TemplateProblem {
    pub field: TemplateField,
    /// Line inside the template, 1-based, when minijinja knows it.
    pub line: Option<usize>,
    pub message: String,
}

/// For `promoter validate`: renders both templates against a sample environment with every
/// variable, so syntax errors and unknown variables are configuration errors, not run failures.
pub(crate) fn check_templates(templates: &PullRequestTemplates) -> Vec<TemplateProblem> {
    let context = sample_context();
    let mut problems = Vec::new();
    for (field, source, escaping) in [
        (
            TemplateField::Title,
            templates.title.as_deref(),
            Escaping::Title,
        ),
        (
            TemplateField::Description,
            templates.description.as_deref(),
            Escaping::Markdown,
        ),
    ] {
        let Some(source) = source else { continue };
        if let Err(err) = render(source, context.clone(), escaping) {
            problems.push(TemplateProblem {
                field,
                line: err.line(),
                message: describe(&err),
            });
        }
    }
    problems
}

/// What one environment's PR text is rendered from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextInput<'a> {
    pub config: &'a Config,
    pub strategy: &'a Strategy,
    pub environment: &'a EnvConfig,
    pub git: &'a GitFacts,
    /// The environment's proposed gates as planned (incl. `promoter-previous-environment`).
    pub gates: &'a [GateResult],
}

/// Renders the PR title (one line) and description (trailing whitespace trimmed), redacted and
/// cut to the provider's limits: exactly what the SCM will show.
pub(crate) fn render_pull_request(input: &TextInput<'_>) -> Result<PrText, String> {
    let context = context(input);
    let templates = &input.config.pull_request;
    let title_source = templates.title.as_deref().unwrap_or(DEFAULT_TITLE);
    let body_source = templates
        .description
        .as_deref()
        .unwrap_or(DEFAULT_DESCRIPTION);
    let title = render(title_source, context.clone(), Escaping::Title)
        .map_err(|e| format!("rendering pullRequest.title: {}", describe(&e)))?;
    let body = render(body_source, context, Escaping::Markdown)
        .map_err(|e| format!("rendering pullRequest.description: {}", describe(&e)))?;
    let limits = input.config.scm.provider.info().text_limits;
    let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
    let title = fit(&crate::redact::text(&title), limits.title, TITLE_CUT_MARKER);
    let body = normalize_body(&body);
    let body = fit(&crate::redact::text(&body), limits.body, BODY_CUT_MARKER);
    Ok(PrText { title, body })
}

/// `text` if it has at most `max` characters, else cut on a character boundary so that with
/// `marker` it has at most `max`. Trailing whitespace before the marker is dropped, so a cut text
/// is still what [`normalize_body`] makes of it.
pub(crate) fn fit(text: &str, max: usize, marker: &str) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let keep = max.saturating_sub(marker.chars().count());
    let end = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
    let mut cut = text[..end].trim_end().to_owned();
    cut.push_str(marker);
    cut
}

/// Text as SCMs store it: `\r\n` → `\n`, trailing whitespace per line and at the end removed.
/// Compare through this so an SCM's normalisation does not cause an update every pass.
pub(crate) fn normalize_body(text: &str) -> String {
    text.replace("\r\n", "\n")
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim_end()
        .to_owned()
}

/// The merge commit body that follows the title: description, blank line, trailer block (docs/design.md
/// §3; upstream trailer names, keys sorted). The full commit message is `title`, blank line, this.
pub(crate) fn merge_message(
    description: &str,
    git: &GitFacts,
    pr: &PullRequest,
    gates: &[GateResult],
) -> String {
    let mut trailers: Vec<(String, String)> = vec![
        ("Pull-request-id".into(), pr.number.0.to_string()),
        // The URL comes from the SCM; a trailer value must stay on its line to parse.
        (
            "Pull-request-url".into(),
            untrusted::one_line(&pr.url).replace(' ', "%20"),
        ),
        ("Sha-hydrated-active".into(), git.live_tip.to_string()),
        ("Sha-hydrated-proposed".into(), git.staging_tip.to_string()),
    ];
    // Before the first promotion there is no live dry SHA; the trailer is left out, not empty.
    if let Some(live) = git.live_dry_sha() {
        trailers.push(("Sha-dry-active".into(), live.to_string()));
    }
    if let Some(proposed) = git.staging_dry_sha() {
        trailers.push(("Sha-dry-proposed".into(), proposed.to_string()));
    }
    for gate in gates {
        trailers.push((
            format!("Commit-status-proposed-{}-phase", gate.key),
            gate.state.as_str().to_owned(),
        ));
    }
    trailers.sort();
    let block: Vec<String> = trailers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    let description = normalize_body(description);
    let message = if description.is_empty() {
        block.join("\n")
    } else {
        format!("{description}\n\n{}", block.join("\n"))
    };
    crate::redact::text(&message).into_owned()
}

/// Template instructions one render may run: a loop inside a loop in a config template would
/// otherwise hang `validate` and every pass. The default description of a commit with 5,000
/// references and 200 gates renders within it (tested).
const TEMPLATE_FUEL: u64 = 1_000_000;

fn render(source: &str, context: Value, escaping: Escaping) -> Result<String, minijinja::Error> {
    let mut env = Environment::new();
    env.set_fuel(Some(TEMPLATE_FUEL));
    // Every `{{ … }}` goes through here; strings not marked safe come from outside (module doc).
    env.set_formatter(move |out, state, value| {
        if value.is_safe() || value.is_undefined() || value.is_none() {
            return minijinja::escape_formatter(out, state, value);
        }
        // Anything else printed whole (a string, or a list such as `references` shown as is) may
        // hold outside text. Redacted before escaping: an escape inside a token would hide it from
        // the redaction.
        let text = value.to_string();
        let text = crate::redact::text(&text);
        let shown = match escaping {
            // Line breaks are whitespace, folded by the caller; other hazards are escaped.
            Escaping::Title => {
                untrusted::one_line(&text.replace(['\n', '\r', '\t'], " ")).into_owned()
            }
            Escaping::Markdown => untrusted::markdown(&text),
        };
        out.write_str(&shown).map_err(minijinja::Error::from)
    });
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_syntax(
        SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .expect("the default delimiters are valid"),
    );
    env.render_str(source, context)
}

fn context(input: &TextInput<'_>) -> Value {
    let repo = &input.config.repository;
    let provider = input.config.scm.provider;
    let git = input.git;
    let compare = match (git.live_dry_sha(), git.staging_dry_sha()) {
        (Some(from), Some(to)) => compare_url(provider, &repo.web_url, from, to),
        _ => String::new(),
    };
    build_context(ContextParts {
        strategy: &input.strategy.name,
        branch: &input.environment.branch,
        staging_branch: &input.environment.staging_branch,
        web_url: &repo.web_url,
        provider,
        active: git.live_dry.as_ref(),
        proposed: git.staging_dry.as_ref(),
        active_hydrated: &git.live_tip,
        proposed_hydrated: &git.staging_tip,
        compare_url: &compare,
        gates: input.gates,
    })
}

struct ContextParts<'a> {
    strategy: &'a str,
    branch: &'a BranchName,
    staging_branch: &'a BranchName,
    web_url: &'a str,
    provider: Provider,
    active: Option<&'a HydratorMetadata>,
    proposed: Option<&'a HydratorMetadata>,
    active_hydrated: &'a Sha,
    proposed_hydrated: &'a Sha,
    compare_url: &'a str,
    gates: &'a [GateResult],
}

fn build_context(p: ContextParts<'_>) -> Value {
    let gates: Vec<Value> = p
        .gates
        .iter()
        .map(|g| {
            Value::from_pairs([
                ("key", safe(g.key.as_str())),
                ("state", safe(g.state.as_str())),
                ("description", Value::from(g.description.as_str())),
                // Computed gates' reasons go into the PR body; others' would rewrite it on
                // every report a CI system posts.
                ("computed", Value::from(g.kind.is_some())),
            ])
        })
        .collect();
    Value::from_pairs([
        ("strategy", Value::from_pairs([("name", safe(p.strategy))])),
        (
            "environment",
            Value::from_pairs([
                ("branch", safe(p.branch.as_str())),
                ("stagingBranch", safe(p.staging_branch.as_str())),
            ]),
        ),
        (
            "active",
            Value::from_pairs([
                ("dry", dry_value(p.active, p.provider, p.web_url)),
                ("hydratedSha", safe(p.active_hydrated.as_str())),
            ]),
        ),
        (
            "proposed",
            Value::from_pairs([
                ("dry", dry_value(p.proposed, p.provider, p.web_url)),
                ("hydratedSha", safe(p.proposed_hydrated.as_str())),
            ]),
        ),
        (
            "repository",
            Value::from_pairs([("webUrl", safe(p.web_url))]),
        ),
        ("compareUrl", safe(p.compare_url)),
        ("gates", Value::from(gates)),
    ])
}

fn dry_value(meta: Option<&HydratorMetadata>, provider: Provider, web_url: &str) -> Value {
    let Some(meta) = meta else {
        return commit_value("", "", "", None, "", "", Vec::new(), "");
    };
    let references = meta.references.iter().map(reference_value).collect();
    commit_value(
        meta.dry_sha.as_str(),
        &meta.subject,
        &meta.body,
        meta.date,
        &meta.author,
        &commit_url(provider, web_url, &meta.dry_sha),
        references,
        &meta.repo_url,
    )
}

fn reference_value(r: &ReferenceCommit) -> Value {
    commit_value(
        r.sha.as_ref().map(Sha::as_str).unwrap_or_default(),
        &r.subject,
        &r.body,
        r.date,
        &r.author,
        "",
        Vec::new(),
        &r.repo_url,
    )
}

#[allow(clippy::too_many_arguments)]
fn commit_value(
    sha: &str,
    subject: &str,
    body: &str,
    date: Option<OffsetDateTime>,
    author: &str,
    url: &str,
    references: Vec<Value>,
    repo_url: &str,
) -> Value {
    let short: String = sha.chars().take(7).collect();
    Value::from_pairs([
        ("sha", safe(sha)),
        ("shortSha", safe(&short)),
        ("subject", Value::from(subject)),
        ("body", Value::from(body.trim_end())),
        ("author", Value::from(author)),
        ("date", safe(&date.map(rfc3339).unwrap_or_default())),
        ("url", safe(url)),
        ("repoUrl", Value::from(repo_url)),
        ("references", Value::from(references)),
    ])
}

/// A value promoter vouches for (validated SHAs and names, URLs it built): printed as it is.
fn safe(text: &str) -> Value {
    Value::from_safe_string(text.to_owned())
}

/// A commit's page, in the provider's shape ([`crate::scm::registry::WebUrls`]).
pub(crate) fn commit_url(provider: Provider, web_url: &str, sha: &Sha) -> String {
    (provider.info().web.commit)(web_url, sha)
}

/// The compare page between two commits (changes on `to` since the merge base), in the
/// provider's shape.
pub(crate) fn compare_url(provider: Provider, web_url: &str, from: &Sha, to: &Sha) -> String {
    (provider.info().web.compare)(web_url, from, to)
}

/// Every variable, filled, for [`check_templates`].
fn sample_context() -> Value {
    let sha = |c: char| Sha::parse(&c.to_string().repeat(40)).expect("40 hex digits");
    let branch = |b: &str| BranchName::parse(b).expect("a valid sample branch");
    let meta = |c: char| HydratorMetadata {
        dry_sha: sha(c),
        repo_url: "https://example.com/acme/app.git".into(),
        author: "Jane Doe <jane@example.com>".into(),
        date: None,
        subject: "Change the replica count".into(),
        body: "Body".into(),
        references: vec![ReferenceCommit {
            sha: Some(sha('c')),
            repo_url: "https://example.com/acme/app.git".into(),
            author: "Jane Doe <jane@example.com>".into(),
            date: None,
            subject: "Release 1.2.3".into(),
            body: String::new(),
        }],
    };
    let (active, proposed) = (meta('a'), meta('b'));
    let gates = [GateResult::new(
        crate::model::GateKey::previous_environment(),
        crate::model::GateState::Pending,
        "Waiting for `environment/dev` to be promoted",
    )];
    build_context(ContextParts {
        strategy: "sample",
        branch: &branch("environment/prod"),
        staging_branch: &branch("environment/prod-next"),
        web_url: "https://example.com/acme/deploy",
        provider: Provider::Github,
        active: Some(&active),
        proposed: Some(&proposed),
        active_hydrated: &sha('d'),
        proposed_hydrated: &sha('e'),
        compare_url: "https://example.com/acme/deploy/compare/a...b",
        gates: &gates,
    })
}

#[cfg(test)]
#[path = "text_tests.rs"]
mod tests;
