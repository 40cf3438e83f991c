//! Delivery figures from promotion records: deployment frequency, lead time for changes (DRY
//! commit → live) and the wait after the previous environment. Pure functions of the records and
//! the window; no git, no clock.

use serde::Serialize;
use time::OffsetDateTime;

use super::history::Promotion;

/// The figures of one environment over a window.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Figures {
    /// Promotions merged inside the window.
    pub promotions: usize,
    /// Promotions per day over the window (deployment frequency).
    pub per_day: f64,
    /// DRY commit date → merged, over the promotions whose DRY date is known, in seconds.
    pub lead_time: Spread,
    /// Live in the previous environment → live here, for the DRY commits promoted in both, in
    /// seconds. Empty for the first environment.
    pub after_previous: Spread,
}

/// Median and 90th percentile of a set of durations, in whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Spread {
    /// How many durations the figures are taken over.
    pub count: usize,
    pub median_seconds: Option<i64>,
    pub p90_seconds: Option<i64>,
}

impl Spread {
    /// The median (the mean of the two middle values for an even count, rounded down) and the
    /// 90th percentile by nearest rank (the smallest value with at least 90% of values at or
    /// below it). Negative durations (a DRY date after the merge: clock skew) are kept.
    pub(crate) fn of(mut seconds: Vec<i64>) -> Self {
        seconds.sort_unstable();
        let count = seconds.len();
        if count == 0 {
            return Self {
                count,
                median_seconds: None,
                p90_seconds: None,
            };
        }
        let median = if count % 2 == 1 {
            seconds[count / 2]
        } else {
            (seconds[count / 2 - 1] + seconds[count / 2]).div_euclid(2)
        };
        // Nearest rank: ceil(0.9 · n), 1-based.
        let rank = (count * 9).div_ceil(10);
        Self {
            count,
            median_seconds: Some(median),
            p90_seconds: Some(seconds[rank - 1]),
        }
    }
}

/// The figures of one environment. `promotions` are this environment's, `previous` the previous
/// environment's (any order, any time: a DRY commit may have gone live there before the window).
pub(crate) fn figures(
    promotions: &[Promotion],
    previous: Option<&[Promotion]>,
    since: OffsetDateTime,
    until: OffsetDateTime,
) -> Figures {
    let inside: Vec<&Promotion> = promotions
        .iter()
        .filter(|p| p.merged_at >= since && p.merged_at <= until)
        .collect();
    let days = (until - since).as_seconds_f64() / 86_400.0;
    let per_day = if days > 0.0 {
        inside.len() as f64 / days
    } else {
        0.0
    };
    let lead_time = Spread::of(
        inside
            .iter()
            .filter_map(|p| p.lead_time())
            .map(|d| d.whole_seconds())
            .collect(),
    );
    let after_previous = Spread::of(
        inside
            .iter()
            .filter_map(|p| {
                // The earliest promotion of the same DRY commit in the previous environment.
                let there = previous?
                    .iter()
                    .filter(|q| q.dry_sha == p.dry_sha)
                    .map(|q| q.merged_at)
                    .min()?;
                Some((p.merged_at - there).whole_seconds())
            })
            .collect(),
    );
    Figures {
        promotions: inside.len(),
        per_day,
        lead_time,
        after_previous,
    }
}

/// A duration for people: `45s`, `12m`, `3h 20m`, `2d 4h`.
pub(crate) fn human(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let s = seconds.unsigned_abs();
    let text = match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m", s / 60),
        3_600..86_400 => format!("{}h {}m", s / 3_600, s % 3_600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3_600),
    };
    format!("{sign}{text}")
}

#[cfg(test)]
mod tests {
    use time::Duration;
    use time::macros::datetime;

    use super::*;
    use crate::insight::history::MergeKind;
    use crate::model::Sha;

    fn sha(n: u8) -> Sha {
        Sha::parse(&format!("{n:02x}").repeat(20)).unwrap()
    }

    /// A promotion of DRY commit `dry` merged at `merged`, its DRY commit dated `dated`.
    fn promotion(dry: u8, dated: Option<OffsetDateTime>, merged: OffsetDateTime) -> Promotion {
        Promotion {
            dry_sha: sha(dry),
            dry_subject: format!("change {dry}"),
            dry_author: "A <a@example.com>".into(),
            dry_date: dated,
            hydrated_sha: sha(dry + 100),
            live_sha: sha(dry + 200),
            merged_at: merged,
            pull_request: None,
            pull_request_url: None,
            merge_kind: MergeKind::Trailers,
        }
    }

    #[test]
    fn median_and_p90_follow_their_definitions() {
        assert_eq!(Spread::of(vec![]).median_seconds, None);
        let one = Spread::of(vec![7]);
        assert_eq!((one.median_seconds, one.p90_seconds), (Some(7), Some(7)));
        // Even count: the mean of the two middle values.
        let four = Spread::of(vec![40, 10, 30, 20]);
        assert_eq!(
            (four.median_seconds, four.p90_seconds),
            (Some(25), Some(40))
        );
        // 1..=10: nearest rank of 90% is the 9th value.
        let ten = Spread::of((1..=10).collect());
        assert_eq!((ten.median_seconds, ten.p90_seconds), (Some(5), Some(9)));
        // 1..=20: the 18th value.
        let twenty = Spread::of((1..=20).collect());
        assert_eq!(
            (twenty.median_seconds, twenty.p90_seconds),
            (Some(10), Some(18))
        );
    }

    #[test]
    fn a_constructed_history_gives_its_known_figures() {
        // dev: four DRY commits, each written at 09:00 on days 1–4 and merged 1h, 2h, 3h and 10h
        // later; one more before the window and one with no DRY date.
        let day = |d: u8, h: u8| {
            datetime!(2026-11-01 00:00 UTC)
                + Duration::days(i64::from(d) - 1)
                + Duration::hours(i64::from(h))
        };
        let dev = vec![
            promotion(1, Some(day(1, 9)), day(1, 10)),
            promotion(2, Some(day(2, 9)), day(2, 11)),
            promotion(3, Some(day(3, 9)), day(3, 12)),
            promotion(4, Some(day(4, 9)), day(4, 19)),
            promotion(5, None, day(5, 9)),
            promotion(
                9,
                Some(datetime!(2026-10-01 00:00 UTC)),
                datetime!(2026-10-02 00:00 UTC),
            ),
        ];
        // prod: commits 1, 2 and 4 (3 was passed over), 1 day, 30 minutes and 2 hours after dev.
        let prod = vec![
            promotion(1, Some(day(1, 9)), day(2, 10)),
            promotion(2, Some(day(2, 9)), day(2, 11) + Duration::minutes(30)),
            promotion(4, Some(day(4, 9)), day(4, 21)),
        ];
        let since = datetime!(2026-11-01 00:00 UTC);
        let until = datetime!(2026-11-11 00:00 UTC);

        let dev_figures = figures(&dev, None, since, until);
        assert_eq!(dev_figures.promotions, 5);
        assert!((dev_figures.per_day - 0.5).abs() < 1e-9);
        // Lead times 1h, 2h, 3h, 10h (commit 5 has no date): median 2.5h, p90 = 4th of 4 = 10h.
        assert_eq!(dev_figures.lead_time.count, 4);
        assert_eq!(dev_figures.lead_time.median_seconds, Some(9_000));
        assert_eq!(dev_figures.lead_time.p90_seconds, Some(36_000));
        assert_eq!(dev_figures.after_previous.count, 0);

        let prod_figures = figures(&prod, Some(&dev), since, until);
        assert_eq!(prod_figures.promotions, 3);
        // Lead times 25h, 2.5h, 12h → median 12h, p90 25h.
        assert_eq!(prod_figures.lead_time.median_seconds, Some(12 * 3_600));
        assert_eq!(prod_figures.lead_time.p90_seconds, Some(25 * 3_600));
        // After dev: 24h, 30m, 2h → median 2h, p90 24h.
        assert_eq!(prod_figures.after_previous.count, 3);
        assert_eq!(prod_figures.after_previous.median_seconds, Some(7_200));
        assert_eq!(prod_figures.after_previous.p90_seconds, Some(86_400));
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human(45), "45s");
        assert_eq!(human(12 * 60 + 5), "12m");
        assert_eq!(human(3 * 3_600 + 20 * 60), "3h 20m");
        assert_eq!(human(2 * 86_400 + 4 * 3_600), "2d 4h");
        assert_eq!(human(-90), "-1m");
    }
}
