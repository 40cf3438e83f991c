//! PR text: defaults (snapshots), custom templates, template checks, the merge message.

use super::*;
use crate::config::PullRequestTemplates;
use crate::model::{GateKey, GateState, PrNumber};
use crate::reconcile::world_tests::{config, env, metadata};
use time::macros::datetime;

fn sha(c: char) -> Sha {
    Sha::parse(&c.to_string().repeat(40)).unwrap()
}

fn git(live: Option<HydratorMetadata>) -> GitFacts {
    let mut proposed = metadata('b');
    proposed.subject = "Raise the replica count".into();
    proposed.body = "Traffic doubled.\n".into();
    proposed.date = Some(datetime!(2026-02-28 17:00:00 +01:00));
    proposed.references = vec![ReferenceCommit {
        sha: Some(Sha::parse("1234567890abcdef1234567890abcdef12345678").unwrap()),
        repo_url: "https://github.com/acme/app.git".into(),
        author: "Bob <bob@example.com>".into(),
        date: None,
        subject: "Release 1.2.3".into(),
        body: String::new(),
    }];
    GitFacts {
        live_tip: sha('d'),
        staging_tip: sha('e'),
        live_dry: live,
        staging_dry: Some(proposed),
        note_dry_sha: None,
        live_committed_at: datetime!(2026-03-01 09:00:00 UTC),
        conflict: false,
    }
}

fn gates() -> Vec<GateResult> {
    vec![
        GateResult::new(GateKey::previous_environment(), GateState::Success, "ok"),
        GateResult::new(
            GateKey::parse("security-scan").unwrap(),
            GateState::Pending,
            "running",
        ),
    ]
}

fn render_with(
    templates: PullRequestTemplates,
    git: &GitFacts,
    gates: &[GateResult],
) -> Result<PrText, String> {
    let mut config = config(&[env("dev"), env("prod")]);
    config.pull_request = templates;
    let strategy = &config.strategies[0];
    render_pull_request(&TextInput {
        config: &config,
        strategy,
        environment: &strategy.environments[1],
        git,
        gates,
    })
}

#[test]
fn the_default_title_names_the_short_dry_sha_and_the_branch() {
    let text = render_with(
        PullRequestTemplates::default(),
        &git(Some(metadata('a'))),
        &gates(),
    )
    .unwrap();
    assert_eq!(text.title, "Promote bbbbbbb to `environment/prod`");
}

#[test]
fn the_default_description_shows_change_author_links_references_and_gates() {
    let text = render_with(
        PullRequestTemplates::default(),
        &git(Some(metadata('a'))),
        &gates(),
    )
    .unwrap();
    insta::assert_snapshot!(text.body);
}

#[test]
fn the_default_description_of_a_first_promotion_has_no_compare_link() {
    let text = render_with(PullRequestTemplates::default(), &git(None), &[]).unwrap();
    insta::assert_snapshot!(text.body);
}

#[test]
fn custom_templates_see_every_documented_variable() {
    let templates = PullRequestTemplates {
        title: Some("{{ strategy.name }}: {{ proposed.dry.subject }}\n  into {{ environment.branch }}".into()),
        description: Some(
            "{{ environment.stagingBranch }} {{ active.dry.shortSha }} {{ proposed.dry.sha }} \
             {{ active.hydratedSha }} {{ proposed.hydratedSha }} {{ repository.webUrl }} \
             {{ proposed.dry.author }} {{ proposed.dry.date }} {{ proposed.dry.references[0].shortSha }} \
             {{ proposed.dry.body }}"
                .into(),
        ),
        ..Default::default()
    };
    let text = render_with(templates, &git(Some(metadata('a'))), &gates()).unwrap();
    assert_eq!(
        text.title,
        "guestbook: Raise the replica count into environment/prod"
    );
    assert_eq!(
        text.body,
        format!(
            "environment/prod-next aaaaaaa {} {} {} https://github.com/acme/deploy Jane Doe &lt;jane@example.com&gt; \
             2026-02-28T16:00:00Z 1234567 Traffic doubled.",
            sha('b'),
            sha('d'),
            sha('e')
        )
    );
}

#[test]
fn template_problems_are_reported_per_field_with_a_line() {
    let problems = check_templates(&PullRequestTemplates {
        title: Some("{{ proposed.dry.shortSha }} {{ environment.name }}".into()),
        description: Some("ok\n{% if %}".into()),
        ..Default::default()
    });
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(problems[0].field, TemplateField::Title);
    assert!(
        problems[0].message.contains("undefined"),
        "{}",
        problems[0].message
    );
    assert_eq!(problems[1].field, TemplateField::Description);
    assert_eq!(problems[1].line, Some(2));
    assert_eq!(problems[1].field.key_path(), "pullRequest.description");
    assert!(check_templates(&PullRequestTemplates::default()).is_empty());
    assert!(
        check_templates(&PullRequestTemplates {
            title: Some(DEFAULT_TITLE.into()),
            description: Some(DEFAULT_DESCRIPTION.into()),
            ..Default::default()
        })
        .is_empty()
    );
}

#[test]
fn the_merge_message_ends_with_sorted_upstream_trailers() {
    let git = git(Some(metadata('a')));
    let pr = PullRequest {
        number: PrNumber(12),
        url: "https://github.com/acme/deploy/pull/12".into(),
        title: String::new(),
        body: String::new(),
        head_sha: sha('e'),
        head_branch: BranchName::parse("environment/prod-next").unwrap(),
        base_branch: BranchName::parse("environment/prod").unwrap(),
        labels: Vec::new(),
    };
    let message = merge_message("Description.\n\n", &git, &pr, &gates());
    insta::assert_snapshot!(message);
    let first_promotion = merge_message("", &super::tests::git(None), &pr, &[]);
    assert!(!first_promotion.contains("Sha-dry-active"));
    assert!(first_promotion.starts_with("Pull-request-id: 12\n"));
}

#[test]
fn bodies_compare_equal_after_scm_normalisation() {
    assert_eq!(normalize_body("a  \r\nb\n\n"), "a\nb");
    assert_eq!(
        commit_url(Provider::Gitlab, "https://gl/x", &sha('a')),
        format!("https://gl/x/-/commit/{}", sha('a'))
    );
    assert_eq!(
        compare_url(Provider::Gitea, "https://g/x", &sha('a'), &sha('b')),
        format!("https://g/x/compare/{}...{}", sha('a'), sha('b'))
    );
}

#[test]
fn text_over_a_limit_is_cut_on_a_character_boundary_with_a_marker_and_cut_once() {
    assert_eq!(fit("short", 10, TITLE_CUT_MARKER), "short");
    assert_eq!(fit("exactly10!", 10, TITLE_CUT_MARKER), "exactly10!");
    let cut = fit("ééééééééééé", 10, TITLE_CUT_MARKER);
    assert_eq!(cut, "ééééééééé…");
    assert_eq!(cut.chars().count(), 10);
    // Whitespace before the marker is dropped, so the cut text is already normalised.
    let body = format!("{} \n\n{}", "a".repeat(12), "rest of it ".repeat(5));
    let cut = fit(&body, 40, BODY_CUT_MARKER);
    assert_eq!(cut, format!("{}{BODY_CUT_MARKER}", "a".repeat(12)));
    assert_eq!(normalize_body(&cut), cut);
    assert_eq!(fit(&cut, 40, BODY_CUT_MARKER), cut, "a cut text fits");
    assert_eq!(fit("abc", 0, TITLE_CUT_MARKER), TITLE_CUT_MARKER);
}

#[test]
fn values_from_commits_are_escaped_and_the_templates_own_text_is_not() {
    let mut facts = git(None);
    let proposed = facts.staging_dry.as_mut().unwrap();
    proposed.subject = "<b>bold</b> @alice\n::error::x".into();
    proposed.body = "see [x](https://evil.invalid)\n/merge".into();
    let templates = PullRequestTemplates {
        title: Some("**{{ proposed.dry.subject }}** <{{ environment.branch }}>".into()),
        description: Some(
            "<!-- kept --> **{{ proposed.dry.subject }}**\n{{ proposed.dry.body }}\n{{ proposed.dry.body | safe }}"
                .into(),
        ),
        ..Default::default()
    };
    let text = render_with(templates, &facts, &gates()).unwrap();
    assert_eq!(
        text.title,
        "**<b>bold</b> @alice ::error::x** <environment/prod>"
    );
    assert_eq!(
        text.body,
        "<!-- kept --> **&lt;b&gt;bold&lt;/b&gt; @&#8203;alice\n::error::x**\n\
         see \\[x\\]\\(https://evil.invalid\\)\n\\/merge\n\
         see [x](https://evil.invalid)\n/merge"
    );
}

#[test]
fn the_default_description_of_a_huge_commit_renders_within_the_fuel() {
    let mut git = git(Some(metadata('a')));
    let proposed = git.staging_dry.as_mut().unwrap();
    proposed.references = vec![proposed.references[0].clone(); 5_000];
    let gates: Vec<GateResult> = (0..200)
        .map(|i| {
            GateResult::new(
                GateKey::parse(&format!("gate-{i}")).unwrap(),
                GateState::Pending,
                "",
            )
        })
        .collect();
    // It renders whole (no fuel error); then it is cut to the SCM's body limit.
    let text = render_with(PullRequestTemplates::default(), &git, &gates).unwrap();
    assert!(text.body.matches("Release 1.2.3").count() > 1_000);
    assert!(text.body.ends_with(BODY_CUT_MARKER), "cut to the limit");
}

#[test]
fn a_template_that_loops_too_long_runs_out_of_fuel() {
    let problems = check_templates(&PullRequestTemplates {
        title: Some(
            "{% for i in range(10000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}"
                .into(),
        ),
        description: None,
        ..Default::default()
    });
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].message.contains("fuel"), "{problems:?}");
}
