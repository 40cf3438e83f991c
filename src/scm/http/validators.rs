//! Conditional requests (docs/performance.md, "Free waiting"): the validators (`ETag`,
//! `Last-Modified`) and body of each GET answer, kept on disk in the cache directory so the next
//! pass can ask "changed since?" and get a `304 Not Modified` instead of the body. GitHub docs
//! "Best practices for using the REST API" → "Use conditional requests if appropriate"
//! (<https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#use-conditional-requests-if-appropriate>):
//! "Making a conditional request does not count against your primary rate limit if a 304 response
//! is returned and the request was made while correctly authorized with an Authorization header."
//! GitLab and Gitea send `ETag` too; a server that sends no validator is never asked
//! conditionally.
//!
//! One file per URL under `<cache dir>/http/`, named by a hash of the URL (the file also holds the
//! URL, so a hash collision is a miss, not a wrong answer). Written to a temporary file and
//! renamed, so a reader never sees half a file. Bounded: a body over [`MAX_BODY`] is not kept,
//! and once per run, past [`MAX_FILES`] files or [`MAX_BYTES`] in all, the oldest are removed down
//! to half of either. A file that cannot be read or parsed is
//! ignored (and replaced by the next answer) with a warning; it never stops a pass. Tokens are
//! never written: the key is the URL, which carries none.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::ThreadId;

use serde::{Deserialize, Serialize};

/// Bodies larger than this are not kept (a page of 100 PRs with long descriptions is well below).
pub(crate) const MAX_BODY: usize = 4 * 1024 * 1024;
/// Past this many files, the oldest (by modification time) are removed down to [`KEEP_FILES`].
pub(crate) const MAX_FILES: usize = 4096;
const KEEP_FILES: usize = MAX_FILES / 2;
/// Past this many bytes in all, the oldest are removed down to half of it.
pub(crate) const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// What one earlier answer left: its validators, the headers a caller reads (`link`) and the body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Cached {
    pub url: String,
    #[serde(default)]
    pub etag: Option<String>,
    #[serde(default)]
    pub last_modified: Option<String>,
    /// The `link` header (pagination), when the answer had one.
    #[serde(default)]
    pub link: Option<String>,
    pub body: String,
}

/// The validator store of one run, shared by the threads that read several strategies at once
/// (`reconcile::ahead`): each file is written whole under a name of its own and renamed, so two
/// threads keeping the same URL leave one whole answer, never a mix.
#[derive(Debug)]
pub struct Validators {
    dir: PathBuf,
    /// Each with the thread that met it, so each thread's warnings are shown with its reads.
    warnings: Mutex<Vec<(ThreadId, String)>>,
    pruned: Mutex<bool>,
    /// Numbers the temporary files of this run's writes.
    writes: AtomicU64,
}

impl Validators {
    /// The store in `dir` (created on the first write).
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            warnings: Mutex::new(Vec::new()),
            pruned: Mutex::new(false),
            writes: AtomicU64::new(0),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Damaged files met by this thread since its last call, as warnings to show.
    pub fn take_warnings(&self) -> Vec<String> {
        let me = std::thread::current().id();
        let mut all = lock(&self.warnings);
        let (mine, others) = std::mem::take(&mut *all)
            .into_iter()
            .partition(|(thread, _)| *thread == me);
        *all = others;
        mine.into_iter().map(|(_, warning)| warning).collect()
    }

    fn path_of(&self, url: &str) -> PathBuf {
        self.dir
            .join(format!("{:016x}.json", fnv1a(url.as_bytes())))
    }

    /// The earlier answer to GET `url`, if one was kept and is readable.
    pub fn get(&self, url: &str) -> Option<Cached> {
        let path = self.path_of(url);
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
            Err(error) => {
                self.warn(&path, &error.to_string());
                return None;
            }
        };
        match serde_json::from_slice::<Cached>(&text) {
            Ok(cached) if cached.url == url => Some(cached),
            // Another URL with the same hash: a miss.
            Ok(_) => None,
            Err(error) => {
                self.warn(&path, &error.to_string());
                None
            }
        }
    }

    /// Keeps `cached` (when it has a validator and a body of bounded size). Failing to write is
    /// not an error of the request: the next pass just asks unconditionally.
    pub fn put(&self, cached: &Cached) {
        if (cached.etag.is_none() && cached.last_modified.is_none()) || cached.body.len() > MAX_BODY
        {
            return;
        }
        if std::fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        self.prune_once();
        let path = self.path_of(&cached.url);
        // Unique to this process and write: another process or thread may keep the same URL.
        let temp = path.with_extension(format!(
            "tmp{}-{}",
            std::process::id(),
            self.writes.fetch_add(1, Ordering::Relaxed)
        ));
        let Ok(text) = serde_json::to_vec(cached) else {
            return;
        };
        if std::fs::write(&temp, text).is_err() || std::fs::rename(&temp, &path).is_err() {
            let _ = std::fs::remove_file(&temp);
        }
    }

    /// Once per run, before the first write: past [`MAX_FILES`] files, removes the oldest.
    fn prune_once(&self) {
        let mut pruned = lock(&self.pruned);
        if *pruned {
            return;
        }
        *pruned = true;
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut files: Vec<(std::time::SystemTime, u64, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let meta = entry.metadata().ok()?;
                Some((meta.modified().ok()?, meta.len(), entry.path()))
            })
            .collect();
        let mut bytes: u64 = files.iter().map(|(_, len, _)| len).sum();
        if files.len() <= MAX_FILES && bytes <= MAX_BYTES {
            return;
        }
        files.sort();
        let mut left = files.len();
        for (_, len, path) in &files {
            if left <= KEEP_FILES && bytes <= MAX_BYTES / 2 {
                break;
            }
            let _ = std::fs::remove_file(path);
            left -= 1;
            bytes = bytes.saturating_sub(*len);
        }
    }

    fn warn(&self, path: &Path, problem: &str) {
        lock(&self.warnings).push((
            std::thread::current().id(),
            format!(
                "ignoring the damaged conditional-request cache file {} ({}); the request is sent in full",
                path.display(),
                crate::untrusted::one_line(problem)
            ),
        ));
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// FNV-1a, 64 bits: stable across Rust releases, so file names survive an upgrade.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(url: &str) -> Cached {
        Cached {
            url: url.to_owned(),
            etag: Some("W/\"abc\"".to_owned()),
            last_modified: None,
            link: None,
            body: "[]".to_owned(),
        }
    }

    #[test]
    fn an_answer_is_kept_and_found_by_its_url_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Validators::new(dir.path().join("http"));
        store.put(&cached("http://x/a"));
        assert_eq!(store.get("http://x/a"), Some(cached("http://x/a")));
        assert_eq!(store.get("http://x/b"), None);
        let leftovers: Vec<_> = std::fs::read_dir(store.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|name| !name.ends_with(".json"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn an_answer_without_validators_or_too_big_is_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = Validators::new(dir.path().join("http"));
        let mut plain = cached("http://x/a");
        plain.etag = None;
        store.put(&plain);
        let mut big = cached("http://x/b");
        big.body = "x".repeat(MAX_BODY + 1);
        store.put(&big);
        assert_eq!(store.get("http://x/a"), None);
        assert_eq!(store.get("http://x/b"), None);
    }

    #[test]
    fn a_damaged_file_is_a_miss_with_a_warning_and_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let store = Validators::new(dir.path().join("http"));
        store.put(&cached("http://x/a"));
        std::fs::write(store.path_of("http://x/a"), b"{not json").unwrap();
        assert_eq!(store.get("http://x/a"), None);
        let warnings = store.take_warnings();
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("damaged"), "{warnings:?}");
        store.put(&cached("http://x/a"));
        assert_eq!(store.get("http://x/a"), Some(cached("http://x/a")));
    }

    #[test]
    fn each_thread_takes_the_warnings_it_met() {
        let dir = tempfile::tempdir().unwrap();
        let store = Validators::new(dir.path().join("http"));
        store.put(&cached("http://x/a"));
        std::fs::write(store.path_of("http://x/a"), b"{not json").unwrap();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                assert_eq!(store.get("http://x/a"), None);
                assert_eq!(store.take_warnings().len(), 1);
            });
            scope.spawn(|| assert_eq!(store.get("http://x/a"), None));
        });
        assert_eq!(store.get("http://x/a"), None);
        // The second thread's warning was never taken; this thread's own is there.
        assert_eq!(store.take_warnings().len(), 1);
        assert!(store.take_warnings().is_empty());
    }

    #[test]
    fn threads_keeping_the_same_url_leave_one_whole_answer() {
        let dir = tempfile::tempdir().unwrap();
        let store = Validators::new(dir.path().join("http"));
        let bodies: Vec<Cached> = (0..8)
            .map(|n| Cached {
                body: format!("[{}]", n.to_string().repeat(100_000)),
                ..cached("http://x/a")
            })
            .collect();
        std::thread::scope(|scope| {
            for body in &bodies {
                scope.spawn(|| {
                    for _ in 0..5 {
                        store.put(body);
                    }
                });
            }
        });
        let kept = store.get("http://x/a").expect("a whole answer");
        assert!(bodies.contains(&kept));
        assert!(store.take_warnings().is_empty());
        let files = std::fs::read_dir(store.dir()).unwrap().count();
        assert_eq!(files, 1, "temporary files left");
    }

    #[test]
    fn past_the_byte_limit_the_oldest_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let http = dir.path().join("http");
        std::fs::create_dir_all(&http).unwrap();
        let big = vec![b' '; usize::try_from(MAX_BYTES / 4).unwrap()];
        for n in 0..5 {
            std::fs::write(http.join(format!("{n}.json")), &big).unwrap();
        }
        let store = Validators::new(http.clone());
        store.put(&cached("http://x/a"));
        let bytes: u64 = std::fs::read_dir(&http)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        assert!(bytes <= MAX_BYTES / 2 + 1024, "{bytes} bytes left");
        assert!(store.get("http://x/a").is_some());
    }

    #[test]
    fn past_the_file_limit_the_oldest_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let http = dir.path().join("http");
        std::fs::create_dir_all(&http).unwrap();
        for n in 0..=MAX_FILES {
            std::fs::write(http.join(format!("{n}.json")), b"{}").unwrap();
        }
        let store = Validators::new(http.clone());
        store.put(&cached("http://x/a"));
        let count = std::fs::read_dir(&http).unwrap().count();
        assert!(count <= KEEP_FILES + 1, "{count} files left");
        assert!(store.get("http://x/a").is_some());
    }
}
