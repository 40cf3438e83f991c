//! The forge's HTTP/1.1 server: one thread per connection for as long as the client keeps it
//! open, request bodies by `Content-Length` or `Transfer-Encoding: chunked`, answers with a
//! `Content-Length`. Enough for ureq, libgit2 and the git CLI (curl) on 127.0.0.1 (RFC 9112).
//!
//! Its own rather than tiny_http's: tiny_http 0.12 runs each keep-alive connection on a thread of
//! a pool, and when two connections arrive together while one thread is idle, the second is
//! queued behind connections that stay open (`TaskPool::spawn` counts the woken thread as still
//! idle) until one closes; a client reading several strategies at once (`promoter --jobs`) then
//! waited 30 s for its timeout now and then (docs/performance.md, "Concurrency across
//! strategies"). A thread per connection has no queue.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A request line longer than this, a header line, or more headers than [`MAX_HEADERS`] end the
/// connection with 400: the sandbox's clients never send such.
const MAX_LINE: usize = 64 * 1024;
const MAX_HEADERS: usize = 200;

/// One request as the forge's router reads it.
#[derive(Debug)]
pub(crate) struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Names lower-cased, in the order sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The client asked to close the connection after the answer: `Connection: close`, or
    /// HTTP/1.0 without `keep-alive` (RFC 9112 §9.3).
    pub close: bool,
}

/// The answer to one request.
pub(crate) struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

pub(crate) type Handler = Arc<dyn Fn(Request) -> Response + Send + Sync>;

/// Accepts connections until `stop` is set (and one more connection wakes the loop up).
pub(crate) fn serve(listener: &TcpListener, stop: &AtomicBool, handler: &Handler) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let handler = Arc::clone(handler);
        std::thread::spawn(move || {
            // A client that went away mid-request is nothing to report.
            let _ = connection(stream, &handler);
        });
    }
}

/// Answers the requests of one connection in order until the client closes it or asks to.
fn connection(stream: TcpStream, handler: &Handler) -> io::Result<()> {
    // Answers are written in one piece; no delayed ACK stall between requests.
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    loop {
        let request = match read_request(&mut reader, &mut writer) {
            Ok(Some(request)) => request,
            Ok(None) => return Ok(()),
            Err(error) if error.kind() == io::ErrorKind::InvalidData => {
                // 400 for every malformed request (RFC 9110 §15.5.1); telling them apart by the
                // error's text would be guesswork.
                let answer = Response {
                    status: 400,
                    headers: vec![("content-type".into(), "text/plain".into())],
                    body: format!("{error}\n").into_bytes(),
                };
                return write_response(&mut writer, &answer, false, true);
            }
            Err(error) => return Err(error),
        };
        let close = request.close;
        let head = request.method == "HEAD";
        let answer = handler(request);
        write_response(&mut writer, &answer, head, close)?;
        if close {
            return Ok(());
        }
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

fn bad(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.into())
}

/// One line without its CRLF; `None` at end of stream before any byte.
fn read_line(reader: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut line = Vec::new();
    let read = reader
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut line)?;
    if read == 0 {
        return Ok(None);
    }
    if line.len() > MAX_LINE {
        return Err(bad("line too long"));
    }
    if line.last() != Some(&b'\n') {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed mid-line",
        ));
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    String::from_utf8(line)
        .map(Some)
        .map_err(|_| bad("not UTF-8"))
}

fn read_request(reader: &mut impl BufRead, writer: &mut impl Write) -> io::Result<Option<Request>> {
    // Empty lines before a request line are allowed (RFC 9112 §2.2).
    let line = loop {
        match read_line(reader)? {
            None => return Ok(None),
            Some(line) if line.is_empty() => continue,
            Some(line) => break line,
        }
    };
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad(format!("malformed request line {line:?}")));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(bad(format!("unsupported version {version:?}")));
    }
    let mut headers: Vec<(String, String)> = Vec::new();
    loop {
        let line = read_line(reader)?.ok_or_else(|| bad("connection closed in the headers"))?;
        if line.is_empty() {
            break;
        }
        if headers.len() > MAX_HEADERS {
            return Err(bad("too many headers"));
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| bad(format!("malformed header line {line:?}")))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    if header(&headers, "expect").is_some_and(|e| e.eq_ignore_ascii_case("100-continue")) {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        writer.flush()?;
    }
    let chunked = header(&headers, "transfer-encoding")
        .is_some_and(|value| value.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        read_chunked(reader)?
    } else {
        let length = match header(&headers, "content-length") {
            Some(value) => value
                .parse::<usize>()
                .map_err(|_| bad(format!("bad Content-Length {value:?}")))?,
            None => 0,
        };
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        body
    };
    let connection = header(&headers, "connection")
        .unwrap_or("")
        .to_ascii_lowercase();
    let close = connection.contains("close")
        || (version == "HTTP/1.0" && !connection.contains("keep-alive"));
    Ok(Some(Request {
        method: method.to_ascii_uppercase(),
        target: target.to_owned(),
        headers,
        body,
        close,
    }))
}

/// A chunked body (RFC 9112 §7.1): hex sizes (extensions ignored), data, trailers dropped.
fn read_chunked(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader)?.ok_or_else(|| bad("connection closed in a chunk"))?;
        let size = line.split(';').next().unwrap_or("").trim();
        let size =
            usize::from_str_radix(size, 16).map_err(|_| bad(format!("bad chunk size {line:?}")))?;
        if size == 0 {
            // Trailers, up to the empty line.
            while !read_line(reader)?
                .ok_or_else(|| bad("connection closed in the trailers"))?
                .is_empty()
            {}
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        if !read_line(reader)?.is_some_and(|line| line.is_empty()) {
            return Err(bad("a chunk not followed by CRLF"));
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        412 => "Precondition Failed",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn write_response(
    writer: &mut impl Write,
    answer: &Response,
    head: bool,
    close: bool,
) -> io::Result<()> {
    let mut out = format!("HTTP/1.1 {} {}\r\n", answer.status, reason(answer.status));
    let framing = ["content-length", "transfer-encoding", "connection"];
    for (name, value) in &answer.headers {
        if framing.iter().any(|f| name.eq_ignore_ascii_case(f)) {
            continue;
        }
        // A header value from a fault or a route never carries a line break into the answer.
        if value.contains(['\r', '\n']) || name.contains(['\r', '\n', ':']) {
            continue;
        }
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    // 1xx, 204 and 304 answers have no body and no length (RFC 9110 §8.6).
    let bodiless = answer.status < 200 || answer.status == 204 || answer.status == 304;
    if !bodiless {
        out.push_str(&format!("content-length: {}\r\n", answer.body.len()));
    }
    if close {
        out.push_str("connection: close\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if !head && !bodiless {
        bytes.extend_from_slice(&answer.body);
    }
    writer.write_all(&bytes)?;
    writer.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> (Option<Request>, Vec<u8>) {
        let mut reader = io::Cursor::new(raw.as_bytes().to_vec());
        let mut written = Vec::new();
        let request = read_request(&mut reader, &mut written).unwrap();
        (request, written)
    }

    #[test]
    fn a_request_with_a_length_is_read_whole_and_the_next_one_follows() {
        let raw = "POST /a?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\n\r\n";
        let mut reader = io::Cursor::new(raw.as_bytes().to_vec());
        let first = read_request(&mut reader, &mut Vec::new()).unwrap().unwrap();
        assert_eq!(
            (first.method.as_str(), first.target.as_str()),
            ("POST", "/a?x=1")
        );
        assert_eq!(first.body, b"hello");
        assert_eq!(header(&first.headers, "host"), Some("h"));
        assert!(!first.close);
        let second = read_request(&mut reader, &mut Vec::new()).unwrap().unwrap();
        assert_eq!(second.target, "/b");
        assert!(
            read_request(&mut reader, &mut Vec::new())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_chunked_body_is_joined_and_expect_100_continue_is_answered_first() {
        let raw = "POST /git-receive-pack HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n4;ext=1\r\nwiki\r\n5\r\npedia\r\n0\r\nTrailer: x\r\n\r\n";
        let (request, written) = parse(raw);
        assert_eq!(request.unwrap().body, b"wikipedia");
        assert_eq!(written, b"HTTP/1.1 100 Continue\r\n\r\n");
    }

    #[test]
    fn close_is_asked_by_header_or_by_http_1_0() {
        for (raw, close) in [
            ("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", true),
            ("GET / HTTP/1.0\r\n\r\n", true),
            ("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", false),
            ("GET / HTTP/1.1\r\n\r\n", false),
        ] {
            assert_eq!(parse(raw).0.unwrap().close, close, "{raw:?}");
        }
    }

    #[test]
    fn garbage_is_refused_as_invalid_data() {
        for raw in [
            "NOT A REQUEST LINE AT ALL\r\n\r\n",
            "GET / SPDY/3\r\n\r\n",
            "GET / HTTP/1.1\r\nno colon here\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: lots\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        ] {
            let mut reader = io::Cursor::new(raw.as_bytes().to_vec());
            let error = read_request(&mut reader, &mut Vec::new()).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{raw:?}: {error}");
        }
    }

    #[test]
    fn answers_carry_their_length_and_say_close_only_when_closing() {
        let answer = Response {
            status: 404,
            headers: vec![
                ("content-type".into(), "text/plain".into()),
                ("content-length".into(), "999".into()),
                ("x-evil".into(), "a\r\nset-cookie: b".into()),
            ],
            body: b"nope".to_vec(),
        };
        let mut out = Vec::new();
        write_response(&mut out, &answer, false, true).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ncontent-length: 4\r\nconnection: close\r\n\r\nnope"
        );
        let mut out = Vec::new();
        let not_modified = Response {
            status: 304,
            headers: vec![("etag".into(), "\"e\"".into())],
            body: b"ignored".to_vec(),
        };
        write_response(&mut out, &not_modified, false, false).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 304 Not Modified\r\netag: \"e\"\r\n\r\n"
        );
    }
}
