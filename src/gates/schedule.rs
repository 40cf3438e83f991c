//! The `schedule` gate (deployment windows, docs/gates.md): open or closed by the clock, so pure
//! given `now`. A window opens at every instant its cron expression names (read in its IANA time
//! zone) and stays open for its duration (exact time, so a window across a DST change is still
//! that many hours long).
//!
//! Semantics (upstream's ScheduledCommitStatus): exclusions win over allows; no allow window means
//! open unless excluded; with per-environment windows, environments not listed are open. The
//! description says which window decides and until when, with a fixed end time so it changes only
//! at window edges (the status is written only when it changes).
//!
//! A civil time that does not exist (a DST gap) opens at the first instant after the gap; one that
//! exists twice (a fold) opens at the first of the two (RFC 5545's "compatible" rule).

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use time::OffsetDateTime;

use super::GateResult;
use super::cron::Cron;
use crate::model::{BranchName, GateKey, GateState};

/// How far ahead the next opening is searched: a cron expression that names a date only in a leap
/// year still opens within it.
const SEARCH_DAYS: i32 = 5 * 366;

/// One window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub cron: Cron,
    /// As written, to name the window when it has no description.
    pub cron_text: String,
    pub duration: Duration,
    pub description: Option<String>,
    pub timezone: TimeZone,
    /// The IANA name, for descriptions.
    pub timezone_name: String,
}

/// Allow and exclude windows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Windows {
    pub allow: Vec<Window>,
    pub exclude: Vec<Window>,
}

/// A checked `schedule:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub global: Windows,
    /// `None`: the global windows apply to every environment. `Some`: to the listed ones, with
    /// their own added; others are open.
    pub environments: Option<BTreeMap<BranchName, Windows>>,
}

/// Resolves an IANA name from the compiled-in tz database.
pub(crate) fn time_zone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name).map_err(|_| {
        format!("`{name}` is not an IANA time zone name (such as `UTC` or `Europe/Berlin`)")
    })
}

impl Window {
    fn name(&self) -> String {
        match &self.description {
            Some(d) => format!("`{d}`"),
            None => format!("`{}`", self.cron_text),
        }
    }

    fn seconds(&self) -> i64 {
        i64::try_from(self.duration.as_secs()).unwrap_or(i64::MAX)
    }

    fn local_date(&self, at: i64) -> Option<Date> {
        let ts = Timestamp::from_second(at).ok()?;
        Some(ts.to_zoned_datetime(self.timezone.clone()).date())
    }

    /// The instants the window opens on `date`, earliest first.
    fn openings_on(&self, date: Date) -> Vec<i64> {
        self.cron
            .times_on(date)
            .into_iter()
            .filter_map(|civil| self.timezone.to_zoned_datetime(civil).ok())
            .map(|zoned| zoned.timestamp().as_second())
            .collect()
    }

    /// When the window is open at `now`, the instant it closes (from its latest opening).
    fn open_until(&self, now: i64) -> Option<i64> {
        let today = self.local_date(now)?;
        let earliest = self.local_date(now.saturating_sub(self.seconds()))?;
        let mut date = today;
        while date >= earliest.yesterday().ok()? {
            let latest = self.openings_on(date).into_iter().rev().find(|t| *t <= now);
            if let Some(start) = latest {
                let end = start.saturating_add(self.seconds());
                return (now < end).then_some(end);
            }
            date = date.yesterday().ok()?;
        }
        None
    }

    /// The next instant after `now` the window opens, within [`SEARCH_DAYS`].
    fn next_opening(&self, now: i64) -> Option<i64> {
        let mut date = self.local_date(now)?;
        for _ in 0..SEARCH_DAYS {
            if let Some(t) = self.openings_on(date).into_iter().find(|t| *t > now) {
                return Some(t);
            }
            date = date.tomorrow().ok()?;
        }
        None
    }

    /// `2026-12-01T17:00:00+01:00 (Europe/Berlin)`.
    fn show(&self, at: i64) -> String {
        let Ok(ts) = Timestamp::from_second(at) else {
            return at.to_string();
        };
        let zoned = ts.to_zoned_datetime(self.timezone.clone());
        format!(
            "{} ({})",
            zoned.strftime("%Y-%m-%dT%H:%M:%S%:z"),
            self.timezone_name
        )
    }
}

/// The schedule's answer for the environment `branch` at `now`.
pub(crate) fn evaluate(
    key: &GateKey,
    schedule: &Schedule,
    branch: &BranchName,
    now: OffsetDateTime,
) -> GateResult {
    let own = match &schedule.environments {
        None => None,
        Some(listed) => match listed.get(branch) {
            Some(own) => Some(own),
            None => {
                return GateResult::new(
                    key.clone(),
                    GateState::Success,
                    format!("open: `{branch}` has no deployment windows"),
                );
            }
        },
    };
    let allow: Vec<&Window> = schedule
        .global
        .allow
        .iter()
        .chain(own.iter().flat_map(|w| &w.allow))
        .collect();
    let exclude: Vec<&Window> = schedule
        .global
        .exclude
        .iter()
        .chain(own.iter().flat_map(|w| &w.exclude))
        .collect();
    let now = now.unix_timestamp();
    // Exclusions win: closed until the last current exclusion ends.
    let excluded = exclude
        .iter()
        .filter_map(|w| w.open_until(now).map(|end| (end, *w)))
        .max_by_key(|(end, _)| *end);
    if let Some((end, window)) = excluded {
        return GateResult::new(
            key.clone(),
            GateState::Pending,
            format!("closed by {} until {}", window.name(), window.show(end)),
        );
    }
    if allow.is_empty() {
        let next = exclude
            .iter()
            .filter_map(|w| w.next_opening(now).map(|t| (t, *w)))
            .min_by_key(|(t, _)| *t);
        return GateResult::new(
            key.clone(),
            GateState::Success,
            match next {
                Some((t, w)) => format!(
                    "open: no window excludes now; {} starts {}",
                    w.name(),
                    w.show(t)
                ),
                None => "open: no window excludes now".to_owned(),
            },
        );
    }
    let open = allow
        .iter()
        .filter_map(|w| w.open_until(now).map(|end| (end, *w)))
        .max_by_key(|(end, _)| *end);
    if let Some((end, window)) = open {
        return GateResult::new(
            key.clone(),
            GateState::Success,
            format!("open in {} until {}", window.name(), window.show(end)),
        );
    }
    let next = allow
        .iter()
        .filter_map(|w| w.next_opening(now).map(|t| (t, *w)))
        .min_by_key(|(t, _)| *t);
    GateResult::new(
        key.clone(),
        GateState::Pending,
        match next {
            Some((t, w)) => format!("closed until {} opens at {}", w.name(), w.show(t)),
            None => "closed: no allow window opens in the next 5 years".to_owned(),
        },
    )
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
