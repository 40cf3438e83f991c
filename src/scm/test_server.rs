//! Test harness only: a real HTTP server on 127.0.0.1 that answers from a script (a queue of canned
//! responses) and records every request it receives. It knows nothing about any SCM; tests script
//! the answers they need. Not a mock of GitHub: the client under test speaks real HTTP to it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// One canned answer.
#[derive(Debug, Clone)]
pub(crate) struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Wait this long before answering (to provoke client timeouts).
    pub delay: Duration,
}

impl Canned {
    pub(crate) fn json(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub(crate) fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub(crate) fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// What the server received.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub method: String,
    /// Path and query, as sent.
    pub url: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("request body is JSON")
    }
}

#[derive(Debug)]
pub(crate) struct ScriptedServer {
    pub base_url: String,
    script: Arc<Mutex<VecDeque<Canned>>>,
    recorded: Arc<Mutex<Vec<Recorded>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ScriptedServer {
    /// Starts on 127.0.0.1:0 and answers `script` in order; past its end, answers 599 so an
    /// unexpected request fails the test visibly.
    pub(crate) fn start(script: Vec<Canned>) -> Self {
        let server = tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = server.server_addr().to_ip().expect("ip listener").port();
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (script, recorded, stop) = (script.clone(), recorded.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let Ok(Some(mut request)) = server.recv_timeout(Duration::from_millis(20))
                    else {
                        continue;
                    };
                    let mut body = String::new();
                    let _ = request.as_reader().read_to_string(&mut body);
                    recorded.lock().expect("lock").push(Recorded {
                        method: request.method().as_str().to_owned(),
                        url: request.url().to_owned(),
                        headers: request
                            .headers()
                            .iter()
                            .map(|h| {
                                (
                                    h.field.as_str().as_str().to_ascii_lowercase(),
                                    h.value.as_str().to_owned(),
                                )
                            })
                            .collect(),
                        body,
                    });
                    let canned = script.lock().expect("lock").pop_front().unwrap_or_else(|| {
                        Canned::json(599, r#"{"message":"no scripted answer"}"#)
                    });
                    // The delay ends early when the server is dropped: a test that gave up waiting
                    // (a client timeout) does not then wait for the rest of it.
                    let until = std::time::Instant::now() + canned.delay;
                    while !stop.load(Ordering::SeqCst) {
                        let left = until.saturating_duration_since(std::time::Instant::now());
                        if left.is_zero() {
                            break;
                        }
                        std::thread::sleep(left.min(Duration::from_millis(20)));
                    }
                    let mut response = tiny_http::Response::from_string(canned.body)
                        .with_status_code(canned.status);
                    for (name, value) in canned.headers {
                        let header =
                            tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
                                .expect("valid header");
                        response.add_header(header);
                    }
                    let _ = request.respond(response);
                }
            })
        };
        Self {
            base_url: format!("http://127.0.0.1:{port}"),
            script,
            recorded,
            stop,
            thread: Some(thread),
        }
    }

    /// Appends answers to the script.
    pub(crate) fn push(&self, canned: Canned) {
        self.script.lock().expect("lock").push_back(canned);
    }

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.recorded.lock().expect("lock").clone()
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
