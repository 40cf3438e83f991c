//! When to wait and for how long: the clock promoter sleeps on (injectable, so tests never wait),
//! the reading of rate-limit answers, and jittered backoff. Pure decisions; the sending loop in
//! `http.rs` acts on them.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use ureq::http::HeaderMap;

/// The time source and the sleeping function of the HTTP client.
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> SystemTime;
    fn sleep(&self, duration: Duration);
}

/// The real clock: `SystemTime::now` and `thread::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// The time one run may spend waiting — rate limits and backoff of every SCM client and of git —
/// (`--max-wait`, docs/design.md §7: "No run waits more than `--max-wait` in total"). Shared
/// by reference.
#[derive(Debug)]
pub struct WaitBudget {
    max: Duration,
    spent: Mutex<Duration>,
    clock: Arc<dyn Clock>,
}

impl WaitBudget {
    pub fn new(max: Duration, clock: Arc<dyn Clock>) -> Arc<Self> {
        Arc::new(Self {
            max,
            spent: Mutex::new(Duration::ZERO),
            clock,
        })
    }

    /// Sleeps `wait` and counts it; `false` (and no sleep) when it would exceed the budget.
    pub fn wait(&self, wait: Duration) -> bool {
        {
            let mut spent = self.spent.lock().unwrap_or_else(|e| e.into_inner());
            if *spent + wait > self.max {
                return false;
            }
            *spent += wait;
        }
        self.clock.sleep(wait);
        true
    }
}

/// How a rate-limited answer asks to be treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    /// Wait this long, then send again.
    Wait(Duration),
    /// A secondary limit with no hint of when it ends.
    Secondary,
    /// Blocked until this time, which is too far away to wait for.
    Until(SystemTime),
}

/// The longest primary-limit reset promoter waits for instead of failing.
pub(crate) const RESET_WAIT_LIMIT: Duration = Duration::from_secs(60);
/// GitHub: a secondary limit without `retry-after` asks for at least one minute.
pub(crate) const SECONDARY_WAIT: Duration = Duration::from_secs(60);

/// Reads a non-2xx answer as a rate limit, or not.
///
/// GitHub docs, "Rate limits for the REST API" → "Exceeding the rate limit": a primary limit answers
/// 403 or 429 with `x-ratelimit-remaining: 0` (wait until `x-ratelimit-reset`, UTC epoch seconds);
/// a secondary limit answers 403 or 429 with a message saying so; "if the `retry-after` response
/// header is present, you should not retry until after that many seconds"; otherwise "wait for at
/// least one minute". GitLab ("Rate limits" docs) answers 429 with `Retry-After` and
/// `RateLimit-Reset`, read the same way.
pub(crate) fn rate_limit(
    status: u16,
    headers: &HeaderMap,
    message: &str,
    now: SystemTime,
) -> Option<Limit> {
    let retry_after = header(headers, "retry-after").and_then(|v| parse_retry_after(v, now));
    let remaining = header(headers, "x-ratelimit-remaining")
        .or_else(|| header(headers, "ratelimit-remaining"))
        .and_then(|v| v.trim().parse::<u64>().ok());
    let reset = header(headers, "x-ratelimit-reset")
        .or_else(|| header(headers, "ratelimit-reset"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|secs| SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
    let says_limit = message.to_ascii_lowercase().contains("rate limit");
    // A 403 is a permission answer unless it carries a rate-limit sign (GitHub uses 403 for both).
    let limited = status == 429
        || (status == 403 && (retry_after.is_some() || remaining == Some(0) || says_limit));
    if !limited {
        return None;
    }
    if let Some(wait) = retry_after {
        return Some(Limit::Wait(wait));
    }
    if remaining == Some(0)
        && let Some(reset) = reset
    {
        let wait = reset.duration_since(now).unwrap_or(Duration::ZERO);
        return Some(if wait <= RESET_WAIT_LIMIT {
            Limit::Wait(wait)
        } else {
            Limit::Until(reset)
        });
    }
    Some(Limit::Secondary)
}

/// `Retry-After` is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Exponential backoff with jitter: try `n` (1-based, the try that just failed) waits between half
/// and all of `base * 2^(n-1)`, capped at 60 s.
pub(crate) fn backoff(base: Duration, failed_try: u32) -> Duration {
    let full = base
        .saturating_mul(1 << failed_try.saturating_sub(1).min(16))
        .min(Duration::from_secs(60));
    let half = full / 2;
    let jitter_ms = fastrand::u64(0..=half.as_millis() as u64);
    half + Duration::from_millis(jitter_ms)
}

/// RFC 3339 in UTC, whole seconds: the form error messages show.
pub(crate) fn rfc3339(at: SystemTime) -> String {
    let at = time::OffsetDateTime::from(at);
    let at = at.replace_nanosecond(0).unwrap_or(at);
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| format!("{at}"))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().expect("header value"));
        }
        map
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn a_plain_403_is_not_a_rate_limit() {
        let limit = rate_limit(403, &headers(&[]), "Resource not accessible", at(0));
        assert_eq!(limit, None);
    }

    #[test]
    fn retry_after_wins_over_every_other_sign() {
        let h = headers(&[
            ("retry-after", "7"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1000"),
        ]);
        assert_eq!(
            rate_limit(429, &h, "", at(0)),
            Some(Limit::Wait(Duration::from_secs(7)))
        );
    }

    #[test]
    fn retry_after_may_be_an_http_date() {
        let h = headers(&[("retry-after", "Thu, 01 Jan 1970 00:01:40 GMT")]);
        assert_eq!(
            rate_limit(403, &h, "", at(90)),
            Some(Limit::Wait(Duration::from_secs(10)))
        );
    }

    #[test]
    fn a_near_reset_is_waited_for_and_a_far_one_is_not() {
        let h = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1030"),
        ]);
        assert_eq!(
            rate_limit(403, &h, "API rate limit exceeded", at(1000)),
            Some(Limit::Wait(Duration::from_secs(30)))
        );
        assert_eq!(
            rate_limit(403, &h, "API rate limit exceeded", at(900)),
            Some(Limit::Until(at(1030)))
        );
    }

    #[test]
    fn a_secondary_limit_message_without_headers_is_secondary() {
        let message = "You have exceeded a secondary rate limit. Please wait a few minutes.";
        assert_eq!(
            rate_limit(403, &headers(&[]), message, at(0)),
            Some(Limit::Secondary)
        );
    }

    #[test]
    fn backoff_stays_between_half_and_full_of_the_doubled_base() {
        for failed_try in 1..=3 {
            let full = Duration::from_millis(100) * (1 << (failed_try - 1));
            for _ in 0..50 {
                let wait = backoff(Duration::from_millis(100), failed_try);
                assert!(wait >= full / 2 && wait <= full, "{wait:?} vs {full:?}");
            }
        }
    }

    #[test]
    fn a_shared_budget_refuses_any_wait_past_its_total_without_sleeping() {
        let clock = crate::scm::http::tests::FakeClock::new();
        let budget = WaitBudget::new(Duration::from_secs(1), clock.clone());
        let other_user = budget.clone();
        assert!(budget.wait(Duration::from_millis(600)));
        assert!(!other_user.wait(Duration::from_millis(600)));
        assert!(other_user.wait(Duration::from_millis(400)));
        assert_eq!(
            clock.slept(),
            [Duration::from_millis(600), Duration::from_millis(400)]
        );
    }

    #[test]
    fn times_are_shown_in_rfc3339_utc() {
        assert_eq!(rfc3339(at(1_700_000_000)), "2023-11-14T22:13:20Z");
    }
}
