//! `promoter demo`: a complete promotion on this machine with no account and no network. It starts
//! the sandbox forge on 127.0.0.1 over a temporary repository with dev / staging / prod, plays the
//! hydrator and the health checks (Argo CD's part), and runs real reconcile passes — the same code
//! that talks to github.com — printing the environment table after each pass.
//!
//! Act 1: one DRY change travels dev → staging → prod as health turns green behind it; a commit
//! rule (a computed gate, docs/gates.md) checks each staging tip and is written as its status.
//! Act 2: a second change meets a failing health check on dev and stops there, showing why.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::cli::DemoArgs;
use crate::config::{self, Config};
use crate::model::GateState;
use crate::pass::{self, Mode, PassOptions, PassReport, Progress};
use crate::reconcile::plan::Phase;
use crate::report;
use sandbox::{CommitSpec, Hydration, Sandbox, Sha, Token};

const OWNER: &str = "acme";
const NAME: &str = "deploy";
const TOKEN: &str = "demo-token";
const ENVIRONMENTS: [&str; 3] = ["environment/dev", "environment/staging", "environment/prod"];
const HEALTH: &str = "argocd-health";
/// A gate promoter computes itself (docs/gates.md): a rule over each staging tip's commit.
const RULE: &str = "hydrated-commit";
/// A pass that has not finished the act by then means something is wrong; stop instead of looping.
const MAX_PASSES: usize = 8;

/// `println!` through [`crate::stdout::print`]: a reader that went away is not an error.
macro_rules! say {
    ($($arg:tt)*) => {
        crate::stdout::print(&format!("{}\n", format_args!($($arg)*)))
            .context("writing the demo to stdout")?
    };
}

pub(crate) fn run(args: &DemoArgs, progress: &mut dyn Progress) -> Result<()> {
    let temp;
    let root: PathBuf = match &args.keep {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            dir.clone()
        }
        None => {
            temp = tempfile::tempdir().context("creating a temporary directory")?;
            temp.path().to_owned()
        }
    };
    let sandbox = Sandbox::start(&root.join("forge"), &Token::new(TOKEN))?;
    seed(&sandbox)?;
    let config = demo_config(&sandbox, &root)?;
    let options = PassOptions {
        mode: Mode::Reconcile,
        strategy: None,
        shard: None,
        cache_dir: Some(root.join("cache")),
        max_wait: Duration::from_secs(10),
        log_requests: false,
        max_writes: None,
        jobs: crate::reconcile::ahead::DEFAULT_JOBS,
        clock: std::sync::Arc::new(crate::scm::http::SystemClock),
    };
    let env = |name: &str| (name == config::PROMOTER_TOKEN).then(|| TOKEN.to_owned());

    say!(
        "promoter demo: a sandbox forge at {} with {OWNER}/{NAME}",
        sandbox.base_url()
    );
    say!(
        "environments: {}; active gate `{HEALTH}` (played by the demo); proposed gate `{RULE}`, \
         a commit rule promoter computes itself",
        ENVIRONMENTS.join(" → ")
    );
    say!(
        "  (gates: - key: {RULE}, commit: {{expression: 'commit.subject.startswith(\"Hydrate \")'}})\n"
    );

    let first = dry_change(&sandbox, "Scale guestbook to 3 replicas", 3)?;
    hydrate_all(&sandbox, &first)?;
    say!(
        "== Act 1: DRY commit {} hydrated to every environment ==\n",
        first.short()
    );
    let mut promoted = false;
    for number in 1..=MAX_PASSES {
        let report = pass::run_pass(&config, &env, &options, progress)?;
        print_pass(number, &report)?;
        if crate::stdout::closed() {
            // Nobody reads the rest of the story.
            return Ok(());
        }
        if all_promoted(&report) {
            promoted = true;
            break;
        }
        report_health(&sandbox, GateState::Success)?;
    }
    if !promoted {
        bail!("the demo did not promote every environment within {MAX_PASSES} passes");
    }
    say!("The change is live everywhere.\n");

    let second = dry_change(&sandbox, "Switch guestbook to image v2", 3)?;
    hydrate_all(&sandbox, &second)?;
    say!(
        "== Act 2: DRY commit {} hydrated; dev's health check will fail ==\n",
        second.short()
    );
    let report = pass::run_pass(&config, &env, &options, progress)?;
    print_pass(1, &report)?;
    report_health(&sandbox, GateState::Failure)?;
    let report = pass::run_pass(&config, &env, &options, progress)?;
    print_pass(2, &report)?;
    say!(
        "staging waits: `{HEALTH}` failed on dev's live commit, so `promoter-previous-environment` stays pending \
         on staging's PR. Fix dev, report health, and the next pass continues."
    );
    if let Some(dir) = &args.keep {
        say!(
            "\nThe repositories are in {} (bare repo: forge/{OWNER}/{NAME}.git).",
            dir.display()
        );
    }
    Ok(())
}

fn print_pass(number: usize, report: &PassReport) -> Result<()> {
    say!("-- pass {number} --\n{}", report::text(report));
    Ok(())
}

fn all_promoted(report: &PassReport) -> bool {
    report
        .environments()
        .all(|e| e.summary.phase == Phase::Promoted)
}

/// One DRY commit on `main`, and live branches created from one initial hydrated commit.
fn seed(sandbox: &Sandbox) -> Result<()> {
    sandbox.create_repo(OWNER, NAME)?;
    sandbox.commit(
        OWNER,
        NAME,
        "main",
        &CommitSpec::new("Add guestbook").file("guestbook/values.yaml", "replicas: 1\n"),
    )?;
    sandbox.commit(
        OWNER,
        NAME,
        "environment/init",
        &CommitSpec::new("Initialise environments").file("README.md", "hydrated manifests\n"),
    )?;
    for env in ENVIRONMENTS {
        sandbox.create_branch(OWNER, NAME, env, "environment/init")?;
    }
    Ok(())
}

fn dry_change(sandbox: &Sandbox, subject: &str, replicas: u32) -> Result<Sha> {
    let values = format!("replicas: {replicas}\n# {subject}\n");
    sandbox.commit(
        OWNER,
        NAME,
        "main",
        &CommitSpec::new(subject).file("guestbook/values.yaml", &values),
    )
}

/// The hydrator: renders the DRY commit for each environment and pushes it to `<env>-next`.
fn hydrate_all(sandbox: &Sandbox, dry: &Sha) -> Result<()> {
    for env in ENVIRONMENTS {
        let manifest = format!(
            "# rendered from {dry} for {env}\nkind: Deployment\nmetadata:\n  name: guestbook\n"
        );
        sandbox.hydrate(
            OWNER,
            NAME,
            &Hydration::new(env, dry)
                .file("guestbook/deployment.yaml", &manifest)
                .subject("Hydrate guestbook"),
        )?;
    }
    Ok(())
}

/// The health check: reports `state` on every live tip that has no health report yet.
fn report_health(sandbox: &Sandbox, state: GateState) -> Result<()> {
    for env in ENVIRONMENTS {
        let Some(tip) = sandbox.branch_tip(OWNER, NAME, env)? else {
            continue;
        };
        if sandbox
            .statuses(OWNER, NAME, &tip)
            .iter()
            .any(|s| s.context == HEALTH)
        {
            continue;
        }
        let description = match state {
            GateState::Success => "Synced and Healthy",
            GateState::Failure => "Degraded: CrashLoopBackOff",
            GateState::Pending => "Progressing",
        };
        sandbox.set_status(OWNER, NAME, &tip, HEALTH, state.as_str(), description)?;
    }
    Ok(())
}

fn demo_config(sandbox: &Sandbox, root: &Path) -> Result<Config> {
    let text = format!(
        "scm:\n  provider: github\n  apiUrl: {api}\nrepository:\n  owner: {OWNER}\n  name: {NAME}\n  cloneUrl: {clone}\n\
         strategies:\n  - name: guestbook\n    activeCommitStatuses:\n      - key: {HEALTH}\n    proposedCommitStatuses:\n      - key: {RULE}\n    environments:\n{envs}\
         gates:\n  - key: {RULE}\n    commit:\n      expression: 'commit.subject.startswith(\"Hydrate \")'\n      description: a commit written by the hydrator\n",
        api = sandbox.api_url(),
        clone = sandbox.clone_url(OWNER, NAME),
        envs = ENVIRONMENTS
            .iter()
            .map(|e| format!("      - branch: {e}\n"))
            .collect::<String>(),
    );
    let path = root.join("promotion.yaml");
    std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
    config::parse(&text, &path, &|_| None).map_err(|errors| anyhow::anyhow!("{errors}"))
}
