//! The `history`, `where` and `metrics` commands: load the configuration, sync the cache (git
//! only), read, print. Exit codes: docs/design.md §6 and, for `where`, docs/insight.md.

use anyhow::anyhow;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::history::Window;
use super::locate::DryQuery;
use super::{Report, Selection, Verdict, render};
use crate::ci_env::Env;
use crate::cli::{GitReadArgs, GlobalArgs, HistoryArgs, MetricsArgs, StatusFormat, WhereArgs};
use crate::config::{self, Config};
use crate::exit::{CommandError, CommandResult, Exit};
use crate::git::GitCache;
use crate::pass::{self, Mode, PassOptions};

pub(crate) fn history(args: &HistoryArgs, global: &GlobalArgs, env: Env<'_>) -> CommandResult {
    let now = OffsetDateTime::now_utc();
    let since = args
        .since
        .as_deref()
        .map(|text| parse_when(text, now, "--since"))
        .transpose()?;
    let (config, git, selection) = open(&args.read, global, env)?;
    let report = super::history(
        &config,
        &git,
        &selection,
        Window {
            since,
            ..Window::default()
        },
    );
    crate::print(&match args.read.output {
        StatusFormat::Text => render::history_text(&report),
        StatusFormat::Json => render::json(&report),
        StatusFormat::Markdown => render::history_markdown(&report),
    })?;
    Ok(read_exit(&report))
}

pub(crate) fn where_(args: &WhereArgs, global: &GlobalArgs, env: Env<'_>) -> CommandResult {
    let query = DryQuery::parse(&args.dry_sha).map_err(|why| CommandError::usage(anyhow!(why)))?;
    let (config, git, selection) = open(&args.read, global, env)?;
    let report = super::locate(&config, &git, &selection, &query);
    let shown = args.dry_sha.trim().to_ascii_lowercase();
    crate::print(&match args.read.output {
        StatusFormat::Text => render::where_text(&report, &shown),
        StatusFormat::Json => render::json(&report),
        StatusFormat::Markdown => render::where_markdown(&report, &shown),
    })?;
    if report.failed() {
        return Ok(Exit::Failure);
    }
    Ok(match super::verdict(&report) {
        Verdict::LiveEverywhere => Exit::Success,
        Verdict::OnItsWay => Exit::OnItsWay,
        Verdict::NotSeen => Exit::NotSeen,
    })
}

pub(crate) fn metrics(args: &MetricsArgs, global: &GlobalArgs, env: Env<'_>) -> CommandResult {
    let now = OffsetDateTime::now_utc();
    let until = args
        .until
        .as_deref()
        .map(|text| parse_when(text, now, "--until"))
        .transpose()?
        .unwrap_or(now);
    let since = parse_when(&args.since, until, "--since")?;
    if since >= until {
        return Err(CommandError::usage(anyhow!(
            "--since ({}) is not before --until ({})",
            args.since,
            args.until.as_deref().unwrap_or("now")
        )));
    }
    let (config, git, selection) = open(&args.read, global, env)?;
    let report = super::metrics(&config, &git, &selection, since, until);
    crate::print(&match args.read.output {
        StatusFormat::Text => render::metrics_text(&report, since, until),
        StatusFormat::Json => render::json(&serde_json::json!({
            "schemaVersion": report.schema_version,
            "repository": report.repository,
            "since": since.format(&Rfc3339).unwrap_or_default(),
            "until": until.format(&Rfc3339).unwrap_or_default(),
            "strategies": report.strategies,
        })),
        StatusFormat::Markdown => render::metrics_markdown(&report, since, until),
    })?;
    Ok(read_exit(&report))
}

fn read_exit<T>(report: &Report<T>) -> Exit {
    if report.failed() {
        Exit::Failure
    } else {
        Exit::Success
    }
}

/// The configuration, the synced cache and what to read. Unknown `--strategy` or
/// `--environment` are usage errors, found before any network.
fn open(
    args: &GitReadArgs,
    global: &GlobalArgs,
    env: Env<'_>,
) -> Result<(Config, GitCache, Selection), CommandError> {
    let config = config::load_from(args.config.config.as_deref(), env)?;
    let strategies = pass::select_strategies(&config, args.strategy.as_deref(), None)
        .map_err(CommandError::usage)?;
    let environment = match &args.environment {
        None => None,
        Some(name) => {
            let known = strategies
                .iter()
                .flat_map(|&i| config.strategies[i].environments.iter())
                .find(|e| e.branch.as_str() == name);
            match known {
                Some(e) => Some(e.branch.clone()),
                None => {
                    return Err(CommandError::usage(anyhow!(
                        "no environment with branch `{}` in {}",
                        name.escape_debug(),
                        config.path.display()
                    ))
                    .hint("name an environment's live branch, e.g. `environment/prod`"));
                }
            }
        }
    };
    let selection = Selection {
        strategies,
        environment,
    };
    let options = PassOptions {
        mode: Mode::Status,
        strategy: args.strategy.clone(),
        shard: None,
        cache_dir: args.cache_dir.clone(),
        max_wait: std::time::Duration::from_secs(120),
        log_requests: false,
        max_writes: None,
        // No pass: nothing is read ahead.
        jobs: 1,
        clock: std::sync::Arc::new(crate::scm::http::SystemClock),
    };
    let mut progress = crate::progress_for(global, env);
    let git = pass::open_git(
        &config,
        env,
        &options,
        &selection.strategies,
        progress.as_mut(),
    )?;
    progress.finish();
    Ok((config, git, selection))
}

/// `2026-11-01`, `2026-11-01T10:00:00Z`, or a duration back from `now` (`30d`, `12h`).
fn parse_when(text: &str, now: OffsetDateTime, flag: &str) -> Result<OffsetDateTime, CommandError> {
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(at);
    }
    // A bare date is its midnight in UTC.
    if text.len() == 10
        && let Ok(day) = OffsetDateTime::parse(&format!("{text}T00:00:00Z"), &Rfc3339)
    {
        return Ok(day);
    }
    if let Ok(back) = config::parse_duration(text) {
        let back = time::Duration::try_from(back).unwrap_or(time::Duration::MAX);
        return Ok(now.checked_sub(back).unwrap_or(OffsetDateTime::UNIX_EPOCH));
    }
    Err(CommandError::usage(anyhow!(
        "{flag} `{}` is not a date, a time or a duration",
        text.escape_debug()
    ))
    .hint("write a date (`2026-11-01`), an RFC 3339 time (`2026-11-01T09:00:00Z`) or a duration (`30d`, `12h`)"))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn a_window_edge_is_a_date_a_time_or_a_duration_back() {
        let now = datetime!(2026-12-01 12:00 UTC);
        assert_eq!(
            parse_when("2026-11-01", now, "--since").unwrap(),
            datetime!(2026-11-01 00:00 UTC)
        );
        assert_eq!(
            parse_when("2026-11-01T09:30:00+01:00", now, "--since").unwrap(),
            datetime!(2026-11-01 08:30 UTC)
        );
        assert_eq!(
            parse_when("30d", now, "--since").unwrap(),
            datetime!(2026-11-01 12:00 UTC)
        );
        assert!(parse_when("yesterday", now, "--since").is_err());
    }
}
