//! Issue 11, items 3, 5 and 7: what comes from outside (SCM answers, commits, hydrator.metadata)
//! is redacted and escaped wherever promoter writes text, and PR text is fitted to each SCM's
//! limits. Every pass runs as a GitHub Actions step, so the step summary, the step outputs and the
//! report file are checked along with stdout and stderr.

use std::path::PathBuf;

use base64::Engine as _;
use sandbox::Sha;
use sandbox::{Fault, Hydration};

use super::{Forge, NAME, OWNER, TOKEN, World, output};

/// Everything one pass wrote: stdout, stderr, report file, `$GITHUB_OUTPUT`, step summary.
struct Written {
    code: i32,
    texts: Vec<(&'static str, String)>,
}

impl Written {
    fn all(&self) -> String {
        self.texts
            .iter()
            .map(|(name, text)| format!("--- {name}\n{text}\n"))
            .collect()
    }
}

/// `reconcile` (plus `extra` arguments) as an Actions step: fresh output files every time.
fn step(world: &World, extra: &[&str]) -> Written {
    let dir = world.dir.path();
    let files: Vec<(&'static str, PathBuf)> = vec![
        ("report file", dir.join("report.json")),
        ("GITHUB_OUTPUT", dir.join("github-output")),
        ("GITHUB_STEP_SUMMARY", dir.join("step-summary.md")),
    ];
    for (_, path) in &files {
        let _ = std::fs::remove_file(path);
    }
    let mut args = vec!["reconcile"];
    args.extend_from_slice(extra);
    let assert = world
        .command(&args, TOKEN)
        .arg("--report-file")
        .arg(&files[0].1)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &files[1].1)
        .env("GITHUB_STEP_SUMMARY", &files[2].1)
        .assert();
    let (stdout, stderr) = output(&assert);
    let mut texts = vec![("stdout", stdout), ("stderr", stderr)];
    for (name, path) in files {
        texts.push((name, std::fs::read_to_string(path).unwrap_or_default()));
    }
    Written {
        code: assert.get_output().status.code().unwrap_or(-1),
        texts,
    }
}

/// The user name git sends with the token on this forge (`Provider::git_username`).
fn git_user(forge: Forge) -> &'static str {
    match forge {
        Forge::Github => "x-access-token",
        Forge::Gitlab => "oauth2",
        Forge::Gitea | Forge::Forgejo | Forge::AzureDevops => "promoter",
        Forge::Bitbucket => "x-token-auth",
        // Bearer over git: no user name.
        Forge::BitbucketServer => "",
    }
}

/// The forms of the token a server could echo: whole, the Basic credential git sent, a 20-character
/// prefix and a 9-character piece from the middle.
fn token_forms(forge: Forge) -> Vec<String> {
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{TOKEN}", git_user(forge)));
    vec![
        TOKEN.to_owned(),
        basic,
        TOKEN[..20].to_owned(),
        TOKEN[7..16].to_owned(),
    ]
}

fn assert_no_secret(forge: Forge, what: &str, text: &str) {
    for form in token_forms(forge) {
        assert!(!text.contains(&form), "{what} shows `{form}`:\n{text}");
    }
}

/// The hydrator pushes `dry` to environment `env` with `manifest` and what `with` adds.
fn hydrate(
    world: &World,
    env: usize,
    dry: &Sha,
    manifest: &str,
    with: impl FnOnce(Hydration) -> Hydration,
) {
    let hydration = Hydration::new(&world.envs[env], dry).file("manifest.yaml", manifest);
    world
        .sandbox
        .hydrate(OWNER, NAME, &with(hydration))
        .expect("hydrate");
}

fn no_gates(_: usize) -> String {
    String::new()
}

fn a_server_or_a_commit_echoing_the_token_in_any_form_leaks_it_nowhere(forge: Forge) {
    let mut world = World::new(forge, &["dev"]);
    let dry = world.dry_change("bump replicas");
    let forms = token_forms(forge);
    hydrate(&world, 0, &dry, "replicas: 2\n", |h| {
        h.subject(&format!("rotate {}", forms[2]))
            .body(&format!("old credential: Basic {}\n", forms[1]))
    });
    world.config(
        "    proposedCommitStatuses:\n      - key: scan\n",
        &no_gates,
    );
    let echo = format!(
        r#"{{"message":"Bad credentials: Basic {} (token {}, starts {}, has {})"}}"#,
        forms[1], forms[0], forms[2], forms[3]
    );
    world.sandbox.inject(
        Fault::new("POST", &forge.pulls_path())
            .status(403)
            .body(&echo),
    );

    let failed = step(&world, &[]);
    assert_eq!(failed.code, 1, "{}", failed.all());
    assert!(
        failed.all().contains("Bad credentials: Basic "),
        "{}",
        failed.all()
    );
    for (name, text) in &failed.texts {
        assert_no_secret(forge, name, text);
    }
    let json = step(&world, &["--output", "json"]);
    for (name, text) in &json.texts {
        assert_no_secret(forge, name, text);
    }

    // The text promoter writes to the SCM is redacted too, and a pass over it writes nothing.
    let pull = &world.open_pulls_of(0)[0];
    assert_no_secret(forge, "the PR title", &pull.title);
    assert_no_secret(forge, "the PR body", &pull.body);
    // Redacted before the Markdown escapes, which then show the mark literally.
    assert!(pull.body.contains(r"rotate \*\*\*"), "{}", pull.body);
    world.clear();
    world.reconcile().success();
    assert_eq!(world.writes(), Vec::<String>::new());
}

/// What a runner would take for a workflow command that promoter did not write itself.
fn foreign_commands(text: &str) -> Vec<String> {
    // The runner trims leading whitespace and splits lines on CR as well as LF.
    text.split(['\n', '\r'])
        .map(str::trim_start)
        .filter(|line| {
            let ours = [
                "::error title=promoter",
                "::warning title=promoter",
                "::group::",
                "::endgroup::",
            ]
            .iter()
            .any(|own| line.starts_with(own));
            (line.starts_with("::") && !ours) || line.contains("##[") || line.contains("##vso[")
        })
        .map(str::to_owned)
        .collect()
}

const HOSTILE: &str = "<img src=x onerror=alert(1)> ##[error]boom @octocat [click](https://evil.invalid) ![i](https://evil.invalid/i.png)\n::warning::subject\r::error::cr";

fn hostile_commit_text_and_dry_shas_become_neither_workflow_commands_nor_markup(forge: Forge) {
    let mut world = World::new(forge, &["dev", "staging"]);
    let dry = world.dry_change("change");
    // dev: a drySha that is not one, made of workflow commands.
    let metadata = serde_json::json!({
        "drySha": "zz\n::error::x\r::warning::y ##[error]z \u{202e}",
        "subject": "s",
    });
    hydrate(&world, 0, &dry, "a\n", |h| {
        h.raw_metadata(&metadata.to_string())
    });
    // staging: a real change whose subject and body are hostile.
    hydrate(&world, 1, &dry, "b\n", |h| {
        h.subject(HOSTILE).body(&format!("{HOSTILE}\n/merge\n"))
    });
    world.config("", &no_gates);

    for extra in [&[][..], &["--output", "json"][..], &["-v"][..]] {
        let written = step(&world, extra);
        assert_eq!(written.code, 1, "{}", written.all());
        assert!(
            written.all().contains("is not a commit SHA"),
            "{}",
            written.all()
        );
        for (name, text) in &written.texts {
            assert!(!text.contains("<img"), "{name}: {text}");
            assert_eq!(
                foreign_commands(text),
                Vec::<String>::new(),
                "{name} ({extra:?}):\n{text}"
            );
            assert!(!text.contains('\u{202e}'), "{name}: {text}");
        }
    }

    let pull = &world.open_pulls_of(1)[0];
    for raw in ["<img", "##[", "@octocat", "[click]", "![i]", "\n/merge"] {
        assert!(
            !pull.body.contains(raw),
            "`{raw}` in the PR body:\n{}",
            pull.body
        );
    }
    assert!(
        pull.body.contains("&lt;img src=x onerror=alert\\(1\\)&gt;"),
        "{}",
        pull.body
    );
    // The subject is shown as text (and on one line) in the merge commit and the title.
    world.clear();
    world.reconcile().code(1);
    assert_eq!(world.writes(), Vec::<String>::new(), "idempotent");
}

fn an_overlong_title_and_body_are_cut_to_the_scms_limits_and_still_promote(forge: Forge) {
    let (title_limit, body_limit) = match forge {
        Forge::Github => (256, 65_536),
        Forge::Gitlab => (255, 1_048_576),
        Forge::Gitea | Forge::Forgejo | Forge::Bitbucket => (255, 1_048_576),
        Forge::AzureDevops => (400, 4000),
        Forge::BitbucketServer => (255, 32_768),
    };
    let mut world = World::new(forge, &["dev"]);
    let dry = world.dry_change("big");
    // 70,000 characters of DRY commit body, over GitHub's 65,536.
    let body = "line of a very long commit body\n".repeat(2_188);
    assert!(body.len() > 70_000);
    hydrate(&world, 0, &dry, "big\n", |h| h.subject("big").body(&body));
    let config = world.config(
        "    proposedCommitStatuses:\n      - key: scan\n",
        &no_gates,
    );
    // A user template rendering a 451-character title (over Azure DevOps' 400 too).
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "strategies:\n",
        &format!(
            "pullRequest:\n  title: \"{{{{ proposed.dry.shortSha }}}} {}\"\nstrategies:\n",
            "t".repeat(443)
        ),
    );
    std::fs::write(&config, text).unwrap();

    let (stdout, stderr) = output(&world.reconcile().success());
    let pull = &world.open_pulls_of(0)[0];
    let title_chars = pull.title.chars().count();
    assert!(
        title_chars <= title_limit,
        "{title_chars}\n{stdout}{stderr}"
    );
    assert!(pull.title.ends_with('…'), "{}", pull.title);
    assert!(pull.body.chars().count() <= body_limit);
    if forge == Forge::Github {
        assert!(
            pull.body.ends_with("… (truncated by promoter)"),
            "{}",
            &pull.body[pull.body.len() - 100..]
        );
    }

    // Unchanged world: the cut text is what the SCM shows, so nothing is rewritten.
    world.clear();
    world.reconcile().success();
    assert_eq!(world.writes(), Vec::<String>::new());

    world.report(&world.staging_tip(0), "scan", "success");
    world.reconcile().success();
    assert_eq!(world.live_dry(0).as_deref(), Some(dry.as_str()));
}

per_forge!(
    a_server_or_a_commit_echoing_the_token_in_any_form_leaks_it_nowhere,
    hostile_commit_text_and_dry_shas_become_neither_workflow_commands_nor_markup,
    an_overlong_title_and_body_are_cut_to_the_scms_limits_and_still_promote,
);
