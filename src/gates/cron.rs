//! Five-field cron expressions (`minute hour day-of-month month day-of-week`) as deployment windows
//! use them: which civil minutes match. Written here rather than taken from a crate because the
//! subset is small (numbers, names, `*`, ranges, steps, lists) and the crates on offer either
//! parse six or seven fields or bring their own clock.
//!
//! Meaning, as in Vixie cron and POSIX `crontab`: day-of-week `0` and `7` are Sunday; when both
//! day-of-month and day-of-week are restricted (neither starts with `*`), a day matches if either
//! matches. Month and day names (`JAN`, `MON`) are accepted, case-insensitive.

use jiff::civil::{Date, DateTime};

/// A parsed cron expression: one bit set per allowed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u32,
    days_of_month: u32,
    months: u16,
    /// Bit 0 = Sunday … bit 6 = Saturday.
    days_of_week: u8,
    dom_restricted: bool,
    dow_restricted: bool,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// The value the first name stands for (`jan` = 1, `sun` = 0).
    first_name: u32,
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
        first_name: 0,
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
        first_name: 0,
    },
    Field {
        name: "day of month",
        min: 1,
        max: 31,
        names: &[],
        first_name: 0,
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: &MONTHS,
        first_name: 1,
    },
    Field {
        name: "day of week",
        min: 0,
        max: 7,
        names: &DAYS,
        first_name: 0,
    },
];

impl Cron {
    /// Parses five whitespace-separated fields; the error names the field and says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(format!(
                "`{text}` has {} fields; a cron expression has 5: minute hour day-of-month month day-of-week",
                parts.len()
            ));
        }
        let mut bits = [0u64; 5];
        for ((part, field), slot) in parts.iter().zip(&FIELDS).zip(&mut bits) {
            *slot = parse_field(part, field)
                .map_err(|why| format!("the {} field `{part}` {why}", field.name))?;
        }
        // 7 is Sunday too.
        let dow = bits[4];
        let days_of_week = ((dow | (dow >> 7)) & 0x7f) as u8;
        Ok(Cron {
            minutes: bits[0],
            hours: bits[1] as u32,
            days_of_month: bits[2] as u32,
            months: bits[3] as u16,
            days_of_week,
            dom_restricted: !parts[2].starts_with('*'),
            dow_restricted: !parts[4].starts_with('*'),
        })
    }

    /// Whether the day `date` has any matching minute.
    pub fn matches_date(&self, date: Date) -> bool {
        if self.months & (1 << date.month()) == 0 {
            return false;
        }
        let dom = self.days_of_month & (1 << date.day()) != 0;
        let weekday = date.weekday().to_sunday_zero_offset();
        let dow = self.days_of_week & (1 << weekday) != 0;
        match (self.dom_restricted, self.dow_restricted) {
            (true, true) => dom || dow,
            (true, false) => dom,
            (false, true) => dow,
            (false, false) => true,
        }
    }

    /// The matching civil times of `date`, earliest first (empty when the day does not match).
    pub fn times_on(&self, date: Date) -> Vec<DateTime> {
        if !self.matches_date(date) {
            return Vec::new();
        }
        let mut times = Vec::new();
        for hour in 0..24i8 {
            if self.hours & (1 << hour) == 0 {
                continue;
            }
            for minute in 0..60i8 {
                if self.minutes & (1 << minute) != 0 {
                    times.push(date.at(hour, minute, 0, 0));
                }
            }
        }
        times
    }
}

/// A comma-separated list of `*`, `N`, `A-B`, each optionally `/STEP`.
fn parse_field(text: &str, field: &Field) -> Result<u64, String> {
    let mut bits = 0u64;
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => {
                let step: u32 =
                    step.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                        format!("has a step `{step}` that is not a positive number")
                    })?;
                (range, step)
            }
            None => (item, 1),
        };
        let (low, high) = if range == "*" {
            (field.min, field.max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, field)?, value(b, field)?)
        } else {
            let single = value(range, field)?;
            // `N/STEP` means from N to the end, as in Vixie cron.
            if item.contains('/') {
                (single, field.max)
            } else {
                (single, single)
            }
        };
        if low > high {
            return Err(format!("has a range `{range}` that runs backwards"));
        }
        let mut v = low;
        while v <= high {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

fn value(text: &str, field: &Field) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(index) = field.names.iter().position(|n| *n == lower) {
        return Ok(field.first_name + index as u32);
    }
    match text.parse::<u32>() {
        Ok(v) if (field.min..=field.max).contains(&v) && !text.starts_with('+') => Ok(v),
        Ok(_) => Err(format!("has `{text}` outside {}–{}", field.min, field.max)),
        Err(_) => Err(format!("has `{text}`, which is not a number")),
    }
}

/// Sunday-zero weekday of jiff's [`Weekday`], for tests.
#[cfg(test)]
fn sunday_zero(day: jiff::civil::Weekday) -> i8 {
    day.to_sunday_zero_offset()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn office_hours_match_weekdays_at_nine() {
        let cron = Cron::parse("0 9 * * 1-5").unwrap();
        // 2026-12-01 is a Tuesday.
        assert_eq!(sunday_zero(date(2026, 12, 1).weekday()), 2);
        assert_eq!(
            cron.times_on(date(2026, 12, 1)),
            [date(2026, 12, 1).at(9, 0, 0, 0)]
        );
        assert!(cron.times_on(date(2026, 12, 6)).is_empty(), "a Sunday");
    }

    #[test]
    fn names_steps_lists_and_sunday_as_seven() {
        let cron = Cron::parse("*/20 8,17 * DEC sun,7").unwrap();
        let times = cron.times_on(date(2026, 12, 6));
        assert_eq!(times.len(), 6);
        assert_eq!(times[1], date(2026, 12, 6).at(8, 20, 0, 0));
        assert!(cron.times_on(date(2026, 11, 29)).is_empty(), "November");
        let seven = Cron::parse("0 0 * * 7").unwrap();
        assert!(seven.matches_date(date(2026, 12, 6)));
        let from = Cron::parse("50/5 * * * *").unwrap();
        assert_eq!(from.times_on(date(2026, 1, 1)).len(), 2 * 24);
    }

    #[test]
    fn day_of_month_and_day_of_week_both_restricted_match_either() {
        let cron = Cron::parse("0 0 13 * 5").unwrap();
        assert!(cron.matches_date(date(2026, 12, 13)), "the 13th, a Sunday");
        assert!(cron.matches_date(date(2026, 12, 4)), "a Friday");
        assert!(!cron.matches_date(date(2026, 12, 5)));
        let dom_only = Cron::parse("0 0 20 12 *").unwrap();
        assert!(dom_only.matches_date(date(2026, 12, 20)));
        assert!(!dom_only.matches_date(date(2026, 12, 21)));
    }

    #[test]
    fn bad_expressions_say_which_field_is_wrong() {
        for (text, needle) in [
            ("0 9 * *", "has 4 fields"),
            ("60 9 * * *", "minute field `60` has `60` outside 0–59"),
            ("0 9-7 * * *", "runs backwards"),
            ("0 9 * * mon-fri/0", "step `0`"),
            ("0 9 32 * *", "day of month"),
            ("0 9 * foo *", "not a number"),
            ("0 9 * * -1", "not a number"),
        ] {
            let err = Cron::parse(text).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }
}
