//! `promoter gate set|get` (docs/gates.md "Reporting from any CI job"): the commit status API for
//! jobs that should not know the SCM — an end-to-end test job, an Argo CD PostSync hook, a manual
//! approval. The commit is an environment's live tip (staging tip with `--proposed`), read with
//! one ref listing and no fetch, or a SHA; the status goes through the configured provider's
//! `Scm::write_status`, so the same job works on GitHub, GitLab, Gitea and Forgejo.
//!
//! Exit codes (docs/design.md §6): 0 written or read — whatever the state; 1 the SCM or git
//! failed (a missing branch, a refused token); 2 a bad key, state, SHA, URL or environment.

use anyhow::{Context, anyhow};

use crate::ci_env::Env;
use crate::cli::{GateGetArgs, GateSetArgs, GateStateArg, GateTarget, GlobalArgs, OutputFormat};
use crate::config::{self, Config};
use crate::exit::{CommandError, CommandResult, Exit};
use crate::gates::{GateKind, GateResult, cut_description, evaluate_named};
use crate::model::{BranchName, GateKey, GateState, PREVIOUS_ENVIRONMENT, Sha};
use crate::pass::{self, Mode, PassOptions};
use crate::scm::{Scm, StatusWrite};

pub(crate) fn set(args: &GateSetArgs, global: &GlobalArgs, env: Env<'_>) -> CommandResult {
    let config = config::load_from(args.target.config.config.as_deref(), env)?;
    let key = settable_key(&config, &args.key)?;
    if let Some(url) = &args.url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        return Err(CommandError::usage(anyhow!(
            "--url `{}` is not an http(s) URL",
            url.escape_debug()
        )));
    }
    let state = match args.state {
        GateStateArg::Success => GateState::Success,
        GateStateArg::Pending => GateState::Pending,
        GateStateArg::Failure => GateState::Failure,
    };
    let target = resolve(&config, &args.target, global, env)?;
    let description = args
        .description
        .clone()
        .unwrap_or_else(|| format!("{key} is {}", state.as_str()));
    let write = StatusWrite {
        context: key.to_string(),
        state,
        description: cut_description(&crate::redact::text(&description)),
        target_url: args.url.clone(),
    };
    target
        .scm
        .write_status(&target.sha, &write)
        .with_context(|| {
            format!(
                "writing `{key}` = {} on {} ({})",
                state.as_str(),
                target.place,
                target.sha.short()
            )
        })
        .map_err(|e| CommandError::failure(anyhow!("{}", crate::reconcile::error_text(&e))))?;
    crate::print(&format!(
        "{key} {} on {} ({})\n",
        state.as_str(),
        target.place,
        target.sha
    ))?;
    Ok(Exit::Success)
}

pub(crate) fn get(args: &GateGetArgs, global: &GlobalArgs, env: Env<'_>) -> CommandResult {
    let config = config::load_from(args.target.config.config.as_deref(), env)?;
    let key = GateKey::parse(&args.key).map_err(|e| CommandError::usage(anyhow!(e)))?;
    let target = resolve(&config, &args.target, global, env)?;
    let reports = target
        .scm
        .status_reports(&target.sha)
        .with_context(|| {
            format!(
                "reading the statuses of {} ({})",
                target.place,
                target.sha.short()
            )
        })
        .map_err(|e| CommandError::failure(anyhow!("{}", crate::reconcile::error_text(&e))))?;
    let result = evaluate_named(&key, target.scope.as_ref(), &reports);
    crate::print(&match args.output {
        OutputFormat::Text => text(&result, &target),
        OutputFormat::Json => json(&result, &target),
    })?;
    Ok(Exit::Success)
}

fn text(result: &GateResult, target: &Target) -> String {
    let mut out = format!(
        "{} {} on {} ({}): {}\n",
        result.key,
        result.state.as_str(),
        target.place,
        target.sha.short(),
        result.description
    );
    if let Some(url) = &result.target_url {
        out.push_str(&format!("  {url}\n"));
    }
    crate::untrusted::for_log(&out)
}

fn json(result: &GateResult, target: &Target) -> String {
    let value = serde_json::json!({
        "key": result.key,
        "state": result.state.as_str(),
        "description": result.description,
        "targetUrl": result.target_url,
        "sha": target.sha.as_str(),
        "on": target.place,
    });
    let mut text = serde_json::to_string_pretty(&value).expect("a JSON value serialises");
    text.push('\n');
    crate::redact::text(&text).into_owned()
}

/// A key a job may set: a valid gate key that promoter does not write itself.
fn settable_key(config: &Config, key: &str) -> Result<GateKey, CommandError> {
    let key = GateKey::parse(key).map_err(|e| CommandError::usage(anyhow!(e)))?;
    let built_in = config
        .strategies
        .iter()
        .flat_map(|s| &s.environments)
        .flat_map(|e| e.active_gates.iter().chain(&e.proposed_gates))
        .any(|g| g.key == key && GateKind::of(g).is_built_in())
        || config.gates.iter().any(|d| d.key == key);
    if key.as_str() == PREVIOUS_ENVIRONMENT || built_in {
        return Err(CommandError::usage(anyhow!(
            "`{key}` is computed by promoter, which writes it every pass"
        ))
        .hint("set a gate your job decides: a key listed in promotion.yaml that is not in `gates:` and has no `soakTime`"));
    }
    Ok(key)
}

/// The commit a command is about, the SCM to ask, and how to name it.
struct Target {
    scm: Box<dyn Scm>,
    sha: Sha,
    /// `environment/dev`, `environment/dev-next` or `commit`.
    place: String,
    /// The live branch whose `key/<branch>` statuses count too.
    scope: Option<BranchName>,
}

fn resolve(
    config: &Config,
    args: &GateTarget,
    global: &GlobalArgs,
    env: Env<'_>,
) -> Result<Target, CommandError> {
    let options = PassOptions {
        mode: Mode::Status,
        strategy: None,
        shard: None,
        cache_dir: args.cache_dir.clone(),
        max_wait: std::time::Duration::from_secs(120),
        log_requests: global.verbose > 0 && !global.quiet,
        max_writes: None,
        // No pass: nothing is read ahead.
        jobs: 1,
        clock: std::sync::Arc::new(crate::scm::http::SystemClock),
    };
    if let Some(text) = &args.sha {
        let sha = Sha::parse(text).map_err(|e| {
            CommandError::usage(anyhow!("--sha: {e}")).hint("give the full 40-character SHA")
        })?;
        let mut progress = crate::progress_for(global, env);
        let (scm, _) = pass::connect(config, env, &options, progress.as_mut())?;
        return Ok(Target {
            place: "commit".to_owned(),
            scm,
            sha,
            scope: None,
        });
    }
    let name = args.environment.as_deref().unwrap_or_default();
    let strategies = pass::select_strategies(config, args.strategy.as_deref(), None)
        .map_err(CommandError::usage)?;
    let matching: Vec<(&str, &crate::config::Environment)> = strategies
        .iter()
        .map(|&i| &config.strategies[i])
        .flat_map(|s| s.environments.iter().map(move |e| (s.name.as_str(), e)))
        .filter(|(_, e)| e.branch.as_str() == name)
        .collect();
    let Some(&(_, environment)) = matching.first() else {
        return Err(CommandError::usage(anyhow!(
            "no environment with branch `{}` in {}",
            name.escape_debug(),
            config.path.display()
        ))
        .hint("name an environment's live branch, e.g. `environment/prod`"));
    };
    // Monorepo mode: strategies sharing a live branch each have their own staging branch.
    if args.proposed && matching.len() > 1 {
        let names: Vec<String> = matching.iter().map(|(s, _)| format!("`{s}`")).collect();
        return Err(CommandError::usage(anyhow!(
            "`{name}` is the live branch of several strategies ({}), each with its own staging branch",
            names.join(", ")
        ))
        .hint("add `--strategy NAME`"));
    }
    let branch = if args.proposed {
        &environment.staging_branch
    } else {
        &environment.branch
    };
    let mut progress = crate::progress_for(global, env);
    let (scm, mut git) = pass::connect(config, env, &options, progress.as_mut())?;
    let sha = git
        .remote_tip(branch)
        .with_context(|| format!("reading where `{branch}` is"))?
        .ok_or_else(|| {
            let error = CommandError::failure(anyhow!(
                "branch `{branch}` does not exist in {}",
                config.repository.full_name()
            ));
            if args.proposed {
                error.hint("the hydrator has not pushed the staging branch yet")
            } else {
                error.hint("the live branch must exist before a status can be written on it")
            }
        })?;
    Ok(Target {
        scm,
        sha,
        place: branch.to_string(),
        scope: Some(environment.branch.clone()),
    })
}
