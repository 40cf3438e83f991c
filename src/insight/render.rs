//! Text, JSON and Markdown of the insight reports. Subjects, authors and PR references come from
//! commits and hydrator.metadata: untrusted, so every such value is made one inert line (text) or
//! an inert table cell (Markdown) before it is shown.

use std::fmt::Write as _;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::locate::Presence;
use super::metrics::{Figures, Spread, human};
use super::{Promotions, Report};
use crate::untrusted;

/// One JSON document, pretty-printed, ending with a newline.
pub(crate) fn json<T: serde::Serialize>(report: &T) -> String {
    let mut text = untrusted::json_document(report, true);
    text.push('\n');
    text
}

pub(crate) fn history_text(report: &Report<Promotions>) -> String {
    let mut out = String::new();
    for strategy in &report.strategies {
        let _ = writeln!(out, "{}", strategy.name);
        for env in &strategy.environments {
            let _ = writeln!(out, "  {}", env.branch);
            if let Some(error) = &env.error {
                let _ = writeln!(out, "    error: {}", one_line(error));
            }
            let Some(history) = &env.value else { continue };
            if history.promotions.is_empty() {
                let _ = writeln!(out, "    no promotion in this window");
            }
            for p in &history.promotions {
                let _ = writeln!(
                    out,
                    "    {}  {}  {:7}  {:>8}  {}",
                    minute(p.merged_at),
                    p.dry_sha.short(),
                    p.pull_request
                        .as_deref()
                        .map_or_else(|| "-".into(), one_line),
                    p.lead_time()
                        .map_or_else(|| "-".into(), |d| human(d.whole_seconds())),
                    one_line(&p.dry_subject),
                );
            }
        }
    }
    untrusted::for_log(&out)
}

pub(crate) fn history_markdown(report: &Report<Promotions>) -> String {
    let mut out = String::new();
    for strategy in &report.strategies {
        let _ = writeln!(out, "### {}\n", cell(&strategy.name));
        for env in &strategy.environments {
            let _ = writeln!(out, "#### `{}`\n", env.branch);
            if let Some(error) = &env.error {
                let _ = writeln!(out, "error: {}\n", cell(error));
            }
            let Some(history) = &env.value else { continue };
            let _ = writeln!(
                out,
                "| merged | DRY commit | subject | PR | lead time |\n|---|---|---|---|---|"
            );
            for p in &history.promotions {
                let pr = match (&p.pull_request, &p.pull_request_url) {
                    (Some(id), Some(url))
                        if url.starts_with("https://") || url.starts_with("http://") =>
                    {
                        format!("[{}](<{}>)", cell(id), url.replace(['<', '>', ' '], ""))
                    }
                    (Some(id), _) => cell(id),
                    (None, _) => "-".into(),
                };
                let _ = writeln!(
                    out,
                    "| {} | `{}` | {} | {} | {} |",
                    minute(p.merged_at),
                    p.dry_sha.short(),
                    cell(&p.dry_subject),
                    pr,
                    p.lead_time()
                        .map_or_else(|| "-".into(), |d| human(d.whole_seconds())),
                );
            }
            out.push('\n');
        }
    }
    crate::redact::text(&out).into_owned()
}

pub(crate) fn where_text(report: &Report<Presence>, query: &str) -> String {
    let mut out = format!("{query}\n");
    for strategy in &report.strategies {
        let _ = writeln!(out, "{}", strategy.name);
        let width = branch_width(strategy);
        for env in &strategy.environments {
            let line = match (&env.value, &env.error) {
                (Some(presence), _) => presence_line(presence),
                (None, Some(error)) => format!("error: {}", one_line(error)),
                (None, None) => "-".into(),
            };
            let _ = writeln!(out, "  {:width$}  {line}", env.branch.as_str());
        }
    }
    untrusted::for_log(&out)
}

pub(crate) fn where_markdown(report: &Report<Presence>, query: &str) -> String {
    let mut out = format!(
        "`{}`\n\n| strategy | environment | where |\n|---|---|---|\n",
        cell(query)
    );
    for strategy in &report.strategies {
        for env in &strategy.environments {
            let line = match (&env.value, &env.error) {
                (Some(presence), _) => presence_line(presence),
                (None, Some(error)) => format!("error: {error}"),
                (None, None) => "-".into(),
            };
            let _ = writeln!(
                out,
                "| {} | `{}` | {} |",
                cell(&strategy.name),
                env.branch,
                cell(&line)
            );
        }
    }
    crate::redact::text(&out).into_owned()
}

fn presence_line(presence: &Presence) -> String {
    match presence {
        Presence::Live {
            since,
            pull_request,
            superseded_by,
            ..
        } => {
            let mut line = match since {
                Some(since) => format!("live since {}", minute(*since)),
                None => "live (promoted before the history read)".to_owned(),
            };
            if let Some(pr) = pull_request {
                let _ = write!(line, " ({})", one_line(pr));
            }
            if let Some(newer) = superseded_by {
                let _ = write!(line, ", now under {}", newer.short());
            }
            line
        }
        Presence::LiveNoOp { since } => match since {
            Some(since) => format!("live since {} (no-op hydration)", minute(*since)),
            None => "live (no-op hydration)".to_owned(),
        },
        Presence::PassedOver { live_dry } => format!(
            "live inside {} (a newer DRY commit; never promoted on its own)",
            live_dry.short()
        ),
        Presence::Staged { staging_tip } => {
            format!("on its way: staged at {}, not merged", staging_tip.short())
        }
        Presence::NotSeen => "not seen".to_owned(),
    }
}

pub(crate) fn metrics_text(
    report: &Report<Figures>,
    since: OffsetDateTime,
    until: OffsetDateTime,
) -> String {
    let mut out = format!("from {} to {}\n", minute(since), minute(until));
    for strategy in &report.strategies {
        let _ = writeln!(out, "{}", strategy.name);
        let width = branch_width(strategy);
        for env in &strategy.environments {
            let line = match (&env.value, &env.error) {
                (Some(f), _) => format!(
                    "{:>3} promotions  {:>5.2}/day  lead time {}  after previous {}",
                    f.promotions,
                    f.per_day,
                    spread(&f.lead_time),
                    spread(&f.after_previous)
                ),
                (None, Some(error)) => format!("error: {}", one_line(error)),
                (None, None) => "-".into(),
            };
            let _ = writeln!(out, "  {:width$}  {line}", env.branch.as_str());
        }
    }
    untrusted::for_log(&out)
}

pub(crate) fn metrics_markdown(
    report: &Report<Figures>,
    since: OffsetDateTime,
    until: OffsetDateTime,
) -> String {
    let mut out = format!(
        "From {} to {}.\n\n| strategy | environment | promotions | per day | lead time median | lead time p90 | after previous median | after previous p90 |\n|---|---|---|---|---|---|---|---|\n",
        minute(since),
        minute(until)
    );
    for strategy in &report.strategies {
        for env in &strategy.environments {
            let Some(f) = &env.value else {
                let _ = writeln!(
                    out,
                    "| {} | `{}` | error: {} | | | | | |",
                    cell(&strategy.name),
                    env.branch,
                    cell(env.error.as_deref().unwrap_or("-"))
                );
                continue;
            };
            let figure = |s: Option<i64>| s.map_or_else(|| "-".into(), human);
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {:.2} | {} | {} | {} | {} |",
                cell(&strategy.name),
                env.branch,
                f.promotions,
                f.per_day,
                figure(f.lead_time.median_seconds),
                figure(f.lead_time.p90_seconds),
                figure(f.after_previous.median_seconds),
                figure(f.after_previous.p90_seconds),
            );
        }
    }
    crate::redact::text(&out).into_owned()
}

/// The width of the widest branch name of `strategy`, to align its lines.
fn branch_width<T>(strategy: &super::StrategyInsight<T>) -> usize {
    strategy
        .environments
        .iter()
        .map(|e| e.branch.as_str().len())
        .max()
        .unwrap_or(0)
}

fn spread(s: &Spread) -> String {
    match (s.median_seconds, s.p90_seconds) {
        (Some(median), Some(p90)) => format!("median {} p90 {}", human(median), human(p90)),
        _ => "-".into(),
    }
}

/// `2026-11-02 10:00Z`: minutes are enough to read a history.
fn minute(at: OffsetDateTime) -> String {
    let text = at.format(&Rfc3339).unwrap_or_default();
    // 2026-11-02T10:00:00Z → 2026-11-02 10:00Z
    match (text.get(..10), text.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time}Z"),
        _ => text,
    }
}

/// Untrusted text on one line of a text report.
fn one_line(text: &str) -> String {
    untrusted::one_line(text).into_owned()
}

/// Untrusted text in a Markdown table cell: shown as written, nothing in it acts.
fn cell(text: &str) -> String {
    untrusted::markdown(text).replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrusted_text_in_a_history_cannot_start_a_line_or_act_in_markdown() {
        let hostile =
            "fix\n::error::pwned\r##[warning]x \u{202e}gnp.exe <img src=x onerror=alert(1)> @team";
        let line = one_line(hostile);
        assert!(!line.contains('\n') && !line.contains('\r') && !line.contains('\u{202e}'));
        let markdown = cell(hostile);
        for active in ["<img", "\n", "@team"] {
            assert!(!markdown.contains(active), "{active} in {markdown}");
        }
    }
}
