//! How many writes a pass makes, and how fast: the write budget of one pass (`--max-writes`, or
//! the provider's default) and the per-minute pace of GitHub's secondary rate limit. Apply asks
//! [`WritePacer::admit`] before every write step (PR create, PR update, merge, status write,
//! ours-merge push) and the dashboard before its issue write; once the pacer says no, the pass
//! writes nothing more and reports the environments it left for the next pass (docs/design.md §3,
//! "Write budget"). Not an error: the next pass reads the world again and goes on.
//!
//! Not here: which writes a pass wants (the plan) or the HTTP client's handling of a rate-limit
//! answer (`scm::http`), which still applies when another client of the same token spent the limit.
//!
//! GitHub's hourly limit spans passes, so the times of the last hour's writes are kept in the cache
//! directory ([`WriteLog`]); passes that share a cache share the count.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::config::Provider;
use crate::scm::http::{Clock, WaitBudget};

/// GitHub's secondary limit on content-creating requests: "In general, no more than 80
/// content-generating requests per minute and no more than 500 content-generating requests per
/// hour are allowed. Some endpoints have lower content creation limits. Content creation limits
/// include actions taken on the GitHub web interface as well as via the REST API and GraphQL API."
/// https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits
pub(crate) const GITHUB_WRITES_PER_MINUTE: usize = 80;
/// The hourly half of the same sentence, counted over the passes that share a cache
/// ([`WriteLog`]).
pub(crate) const GITHUB_WRITES_PER_HOUR: usize = 500;

/// The window GitHub counts [`GITHUB_WRITES_PER_MINUTE`] in.
const MINUTE: Duration = Duration::from_secs(60);
/// The window of [`GITHUB_WRITES_PER_HOUR`].
const HOUR: Duration = Duration::from_secs(3600);

/// How many writes a pass may make, and how many in any one minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WriteLimits {
    /// Most writes in this pass; `None`: no budget.
    pub budget: Option<usize>,
    /// Most writes in any 60 seconds; `None`: not paced.
    pub per_minute: Option<usize>,
    /// Most writes in any hour, this pass's and the logged ones of earlier passes; `None`: no
    /// such limit.
    pub per_hour: Option<usize>,
    /// Whether `budget` is `--max-writes` (else the provider's default).
    pub from_flag: bool,
}

impl WriteLimits {
    /// No budget, no pace (a pass of the in-memory world tests).
    #[cfg(test)]
    pub(crate) const UNLIMITED: WriteLimits = WriteLimits {
        budget: None,
        per_minute: None,
        per_hour: None,
        from_flag: false,
    };

    /// The limits of a pass on `provider`, with `--max-writes` when given.
    ///
    /// GitHub: a budget of [`GITHUB_WRITES_PER_MINUTE`] (what fits GitHub's per-minute limit, so
    /// a pass never waits on it) and that pace, so a larger `--max-writes` waits rather than
    /// being refused. GitLab, Gitea and Forgejo document no limit on content creation of their
    /// own (GitLab.com limits all authenticated API requests per minute, and answers 429 with
    /// `Retry-After`, which the HTTP client honours): no default budget and no pace; `--max-writes`
    /// still sets a budget.
    pub(crate) fn for_provider(provider: Provider, max_writes: Option<usize>) -> WriteLimits {
        let github = provider == Provider::Github;
        let per_minute = github.then_some(GITHUB_WRITES_PER_MINUTE);
        WriteLimits {
            budget: max_writes.or(per_minute),
            per_minute,
            per_hour: github.then_some(GITHUB_WRITES_PER_HOUR),
            from_flag: max_writes.is_some(),
        }
    }
}

/// Why a pass stopped writing. The environments it did not get to are reported with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub(crate) struct WritesDeferred {
    pub reason: String,
}

/// Counts a pass's writes against its [`WriteLimits`] and keeps them to the per-minute pace,
/// sleeping on the run's wait budget (`--max-wait`) when the pace asks for it.
#[derive(Debug)]
pub(crate) struct WritePacer {
    limits: WriteLimits,
    made: usize,
    /// When the writes of the last minute were admitted, oldest first.
    recent: VecDeque<SystemTime>,
    /// When the writes of the last hour were made, earlier passes' included, oldest first.
    hour: VecDeque<SystemTime>,
    clock: Arc<dyn Clock>,
    waits: Arc<WaitBudget>,
    stopped: Option<WritesDeferred>,
}

impl WritePacer {
    /// `clock` tells the time of writes; `waits` is the run's wait budget the pace sleeps on.
    pub(crate) fn new(limits: WriteLimits, clock: Arc<dyn Clock>, waits: Arc<WaitBudget>) -> Self {
        Self {
            limits,
            made: 0,
            recent: VecDeque::new(),
            hour: VecDeque::new(),
            clock,
            waits,
            stopped: None,
        }
    }

    /// Counts the earlier passes' writes of `log` in the hourly limit and in the minute's pace.
    pub(crate) fn with_log(mut self, log: &WriteLog) -> Self {
        let mut times = log.times.clone();
        times.sort();
        let now = self.clock.now();
        for at in times {
            let age = now.duration_since(at).unwrap_or(Duration::ZERO);
            if age < HOUR {
                self.hour.push_back(at);
            }
            if age < MINUTE {
                self.recent.push_back(at);
            }
        }
        self
    }

    /// The writes of the last hour, earlier passes' and this one's, for the next pass.
    pub(crate) fn log(&self) -> WriteLog {
        let now = self.clock.now();
        WriteLog {
            times: self
                .hour
                .iter()
                .copied()
                .filter(|at| now.duration_since(*at).unwrap_or(Duration::ZERO) < HOUR)
                .collect(),
        }
    }

    /// A pacer that admits every write at once.
    #[cfg(test)]
    pub(crate) fn unlimited() -> Self {
        let clock: Arc<dyn Clock> = Arc::new(crate::scm::http::SystemClock);
        let waits = WaitBudget::new(Duration::ZERO, clock.clone());
        Self::new(WriteLimits::UNLIMITED, clock, waits)
    }

    /// One write may be made now: `Ok` counts it (after waiting for the pace if needed). `Err`
    /// when the budget is spent, or the pace would wait past `--max-wait`; from then on every
    /// call answers the same, so a pass never writes after it deferred something.
    pub(crate) fn admit(&mut self) -> Result<(), WritesDeferred> {
        if let Some(stopped) = &self.stopped {
            return Err(stopped.clone());
        }
        if let Some(budget) = self.limits.budget
            && self.made >= budget
        {
            let source = if self.limits.from_flag {
                "`--max-writes`".to_owned()
            } else {
                format!("GitHub's {GITHUB_WRITES_PER_MINUTE} content-creating requests a minute")
            };
            return Err(self.stop(format!("the write budget of {budget} ({source}) is spent")));
        }
        if let Some(per_hour) = self.limits.per_hour {
            let now = self.clock.now();
            forget_older(&mut self.hour, now, HOUR);
            if self.hour.len() >= per_hour {
                let oldest = self.hour.iter().min().copied().unwrap_or(now);
                return Err(self.stop(format!(
                    "{per_hour} writes were made in the last hour (GitHub's limit of content-creating requests an hour, counted by the passes sharing this cache); writing goes on after {}",
                    crate::scm::http::rfc3339((oldest + HOUR).max(now))
                )));
            }
        }
        if let Some(per_minute) = self.limits.per_minute {
            forget_older(&mut self.recent, self.clock.now(), MINUTE);
            if self.recent.len() >= per_minute {
                let oldest = self.recent[self.recent.len() - per_minute];
                let free_at = oldest + MINUTE;
                let wait = free_at
                    .duration_since(self.clock.now())
                    .unwrap_or(Duration::ZERO);
                if !self.waits.wait(wait) {
                    return Err(self.stop(format!(
                        "{per_minute} writes were made in the last minute, and waiting {}s for the next would pass `--max-wait`",
                        wait.as_secs().max(1)
                    )));
                }
                forget_older(&mut self.recent, self.clock.now(), MINUTE);
            }
            self.recent.push_back(self.clock.now());
        }
        if self.limits.per_hour.is_some() {
            self.hour.push_back(self.clock.now());
        }
        self.made += 1;
        Ok(())
    }

    /// Whether a write was refused: the pass writes nothing more.
    pub(crate) fn stopped(&self) -> Option<&WritesDeferred> {
        self.stopped.as_ref()
    }

    /// What the report shows about the pass's writes.
    pub(crate) fn summary(&self) -> WriteSummary {
        WriteSummary {
            made: self.made,
            budget: self.limits.budget,
            per_minute: self.limits.per_minute,
            per_hour: self.limits.per_hour,
            stopped: self.stopped.as_ref().map(|s| s.reason.clone()),
        }
    }

    fn stop(&mut self, reason: String) -> WritesDeferred {
        let deferred = WritesDeferred { reason };
        self.stopped = Some(deferred.clone());
        deferred
    }
}

/// Drops from the front of `times` (oldest first) what is `window` old or older at `now`. A time
/// ahead of the clock (a clock set back) counts as recent: it frees nothing.
fn forget_older(times: &mut VecDeque<SystemTime>, now: SystemTime, window: Duration) {
    while let Some(&first) = times.front() {
        if now.duration_since(first).unwrap_or(Duration::ZERO) >= window {
            times.pop_front();
        } else {
            break;
        }
    }
}

/// The times of the writes of the last hour, kept between passes in the cache directory: one Unix
/// time in seconds a line. A line that does not read as one is left out; a file that cannot be
/// read is an empty log (a warning, by the caller).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct WriteLog {
    times: Vec<SystemTime>,
}

impl WriteLog {
    /// The file of the writes to the API at `api_url` in `cache_dir`, named like the git
    /// caches beside it (a slug and a hash of the URL, without credentials).
    pub(crate) fn path(cache_dir: &std::path::Path, api_url: &str) -> std::path::PathBuf {
        let name = crate::git::RemoteUrl::parse(api_url)
            .map(|url| url.cache_dir_name())
            .unwrap_or_else(|_| "api".to_owned());
        cache_dir.join(format!("writes-{name}.log"))
    }

    pub(crate) fn parse(text: &str) -> WriteLog {
        WriteLog {
            times: text
                .lines()
                .filter_map(|line| line.trim().parse::<u64>().ok())
                .map(|secs| SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
                .collect(),
        }
    }

    pub(crate) fn text(&self) -> String {
        self.times
            .iter()
            .map(|at| {
                let secs = at
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap_or(Duration::ZERO)
                    .as_secs();
                format!("{secs}\n")
            })
            .collect()
    }
}

/// The writes of a reconcile pass (`writes` in the JSON report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WriteSummary {
    /// Writes admitted (each one PR create, PR update, merge, status write, ours-merge push or
    /// dashboard issue write).
    pub made: usize,
    /// The pass's budget; `null`: none.
    pub budget: Option<usize>,
    /// The pace; `null`: not paced.
    pub per_minute: Option<usize>,
    /// The hourly limit over the passes sharing the cache; `null`: none.
    pub per_hour: Option<usize>,
    /// Why the pass stopped writing, when it did: its other writes are deferred to the next pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

impl fmt::Display for WriteSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.made == 1 { "" } else { "s" };
        write!(f, "{} write{plural} made", self.made)?;
        if let Some(budget) = self.budget {
            write!(f, ", budget {budget}")?;
        }
        if let Some(per_minute) = self.per_minute {
            write!(f, ", at most {per_minute} a minute")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// A clock whose sleep moves its time on, so the pace is tested without waiting.
    #[derive(Debug)]
    struct StepClock {
        now: Mutex<SystemTime>,
        slept: Mutex<Vec<Duration>>,
    }

    impl StepClock {
        fn new() -> Arc<Self> {
            Arc::new(Self {
                now: Mutex::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
                slept: Mutex::new(Vec::new()),
            })
        }
        fn advance(&self, by: Duration) {
            *self.now.lock().unwrap() += by;
        }
        fn slept(&self) -> Vec<Duration> {
            self.slept.lock().unwrap().clone()
        }
    }

    impl Clock for StepClock {
        fn now(&self) -> SystemTime {
            *self.now.lock().unwrap()
        }
        fn sleep(&self, duration: Duration) {
            self.advance(duration);
            self.slept.lock().unwrap().push(duration);
        }
    }

    fn pacer(limits: WriteLimits, clock: &Arc<StepClock>, max_wait: Duration) -> WritePacer {
        let clock: Arc<dyn Clock> = clock.clone();
        WritePacer::new(limits, clock.clone(), WaitBudget::new(max_wait, clock))
    }

    #[test]
    fn github_defaults_to_one_minute_of_writes_and_other_providers_to_none() {
        assert_eq!(
            WriteLimits::for_provider(Provider::Github, None),
            WriteLimits {
                budget: Some(80),
                per_minute: Some(80),
                per_hour: Some(500),
                from_flag: false
            }
        );
        for provider in [Provider::Gitlab, Provider::Gitea, Provider::Forgejo] {
            assert_eq!(
                WriteLimits::for_provider(provider, None),
                WriteLimits::UNLIMITED
            );
            assert_eq!(WriteLimits::for_provider(provider, Some(3)).budget, Some(3));
        }
        let flagged = WriteLimits::for_provider(Provider::Github, Some(200));
        assert_eq!((flagged.budget, flagged.per_minute), (Some(200), Some(80)));
    }

    #[test]
    fn a_spent_budget_refuses_every_later_write_and_says_why() {
        let clock = StepClock::new();
        let limits = WriteLimits::for_provider(Provider::Gitea, Some(2));
        let mut pacer = pacer(limits, &clock, Duration::ZERO);
        assert_eq!(pacer.admit(), Ok(()));
        assert_eq!(pacer.admit(), Ok(()));
        let refused = pacer.admit().unwrap_err();
        assert!(refused.reason.contains("`--max-writes`"), "{refused}");
        assert_eq!(pacer.admit(), Err(refused.clone()));
        assert_eq!(
            pacer.summary(),
            WriteSummary {
                made: 2,
                budget: Some(2),
                per_minute: None,
                per_hour: None,
                stopped: Some(refused.reason),
            }
        );
    }

    #[test]
    fn past_the_pace_a_write_waits_until_the_oldest_of_the_minute_is_a_minute_old() {
        let clock = StepClock::new();
        let limits = WriteLimits::for_provider(Provider::Github, Some(200));
        let mut pacer = pacer(limits, &clock, Duration::from_secs(120));
        for _ in 0..80 {
            assert_eq!(pacer.admit(), Ok(()));
            clock.advance(Duration::from_millis(250));
        }
        // 80 writes in 20 s: the 81st waits until the first is 60 s old.
        assert!(clock.slept().is_empty());
        assert_eq!(pacer.admit(), Ok(()));
        assert_eq!(clock.slept(), [Duration::from_secs(40)]);
        // The second write was admitted 250 ms after the first: the 82nd waits 250 ms more.
        assert_eq!(pacer.admit(), Ok(()));
        assert_eq!(
            clock.slept(),
            [Duration::from_secs(40), Duration::from_millis(250)]
        );
        assert_eq!(pacer.summary().made, 82);
    }

    #[test]
    fn a_pace_that_would_wait_past_max_wait_defers_instead() {
        let clock = StepClock::new();
        let limits = WriteLimits::for_provider(Provider::Github, Some(200));
        let mut pacer = pacer(limits, &clock, Duration::from_secs(10));
        for _ in 0..80 {
            assert_eq!(pacer.admit(), Ok(()));
        }
        let refused = pacer.admit().unwrap_err();
        assert!(refused.reason.contains("`--max-wait`"), "{refused}");
        assert!(clock.slept().is_empty());
        assert_eq!(pacer.summary().made, 80);
    }

    #[test]
    fn the_hour_counts_earlier_passes_writes_and_the_log_keeps_only_the_last_hour() {
        let clock = StepClock::new();
        let now = clock.now();
        let ago = |secs: u64| now - Duration::from_secs(secs);
        // 497 writes 30 minutes ago, one 2 hours ago (forgotten), two 10 s ago (in the minute).
        let mut times = vec![ago(1800); 497];
        times.extend([ago(7200), ago(10), ago(10)]);
        let log = WriteLog { times };
        let limits = WriteLimits::for_provider(Provider::Github, None);
        let mut pacer = pacer(limits, &clock, Duration::ZERO).with_log(&log);
        assert_eq!(pacer.admit(), Ok(()));
        let refused = pacer.admit().unwrap_err();
        assert!(
            refused
                .reason
                .starts_with("500 writes were made in the last hour"),
            "{refused}"
        );
        assert!(
            refused.reason.ends_with("after 2023-11-14T22:43:20Z"),
            "{refused}"
        );
        assert_eq!(pacer.summary().made, 1);
        let kept = pacer.log();
        assert_eq!(kept.times.len(), 500);
        assert_eq!(WriteLog::parse(&kept.text()), kept);
    }

    #[test]
    fn a_log_line_that_is_not_a_time_is_left_out() {
        let log = WriteLog::parse("1700000000\nnot a time\n\n1700000060\n");
        assert_eq!(log.text(), "1700000000\n1700000060\n");
        let path = WriteLog::path(std::path::Path::new("/c"), "https://api.github.com/");
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        assert!(name.starts_with("writes-api.github.com-"), "{name}");
        assert!(name.ends_with(".log"), "{name}");
    }

    #[test]
    fn writes_spread_over_more_than_a_minute_never_wait() {
        let clock = StepClock::new();
        let limits = WriteLimits::for_provider(Provider::Github, Some(500));
        let mut pacer = pacer(limits, &clock, Duration::ZERO);
        for _ in 0..300 {
            assert_eq!(pacer.admit(), Ok(()));
            clock.advance(Duration::from_millis(750));
        }
        assert!(clock.slept().is_empty());
    }
}
