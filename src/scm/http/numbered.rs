//! Page-number pagination (Gitea/Forgejo `page` + `limit`, answered with `X-Total-Count` and
//! `Link`): the client asks for page 1, 2, … itself instead of following the `Link` URL, and stops
//! on what the server says is the total. Owns no provider knowledge beyond the parameter name.
//!
//! Why not follow `Link` as [`HttpClient::get_pages`] does: Gitea builds its `Link` URLs from the
//! instance's configured `ROOT_URL` (`setting.AppURL`), which behind a proxy or with a stale
//! setting names another host than the API URL promoter was given — and the token never goes to
//! another host. `page` and `limit` are documented query parameters of every Gitea list endpoint
//! (swagger `#/parameters`), so building page URLs is safe.

use serde::de::DeserializeOwned;

use super::{HttpClient, HttpError, MAX_PAGES, Method, Retry, decode, next_link};

impl HttpClient {
    /// GET `path` (whose query sets the page size, e.g. `limit=50`) with `page=1`, `page=2`, …
    /// until every item was seen, decoding each page as a JSON array.
    ///
    /// When to stop, per page: `X-Total-Count` when the server sends it (Gitea `SetTotalCountHeader`
    /// on every list endpoint) — items seen reach the total; else a `Link` header without
    /// `rel="next"`; else a page shorter than `page_size`. An empty page always stops. A server whose
    /// maximum page size is below `page_size` (Gitea `MAX_RESPONSE_ITEMS`) is still read whole, since
    /// the total, not the page length, decides.
    pub(crate) fn get_numbered_pages<T: DeserializeOwned>(
        &self,
        path: &str,
        page_size: usize,
        mut each: impl FnMut(Vec<T>),
    ) -> Result<(), HttpError> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut seen = 0usize;
        for page in 1..=MAX_PAGES {
            let url = format!("{}{path}{separator}page={page}", self.base);
            let answer = self.send_url(Method::Get, &url, None, Retry::Idempotent)?;
            let items: Vec<T> = decode(Method::Get, &self.shown_path(&url), &answer.body)?;
            let count = items.len();
            seen += count;
            each(items);
            let total = answer
                .header("x-total-count")
                .and_then(|t| t.trim().parse::<usize>().ok());
            let more = match (total, answer.header("link")) {
                _ if count == 0 => false,
                (Some(total), _) => seen < total,
                (None, Some(link)) => next_link(link).is_some(),
                (None, None) => count >= page_size,
            };
            if !more {
                return Ok(());
            }
        }
        Err(HttpError::Decode {
            method: Method::Get,
            path: self.shown_path(&format!("{}{path}", self.base)),
            detail: format!("more than {MAX_PAGES} pages"),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Secret;
    use crate::scm::http::tests::{FakeClock, test_options};
    use crate::scm::http::{Auth, HttpClient};
    use crate::scm::test_server::{Canned, ScriptedServer};

    fn client(server: &ScriptedServer) -> HttpClient {
        HttpClient::new(
            &server.base_url,
            Some(Auth::token(Secret::new("t0k3n"))),
            test_options(FakeClock::new()),
        )
        .unwrap()
    }

    fn items(range: std::ops::Range<u32>) -> String {
        serde_json::to_string(&range.collect::<Vec<u32>>()).unwrap()
    }

    fn read(server: &ScriptedServer) -> (Vec<u32>, Vec<String>) {
        let mut all = Vec::new();
        client(server)
            .get_numbered_pages("/list?limit=3", 3, |page: Vec<u32>| all.extend(page))
            .unwrap();
        let urls = server.requests().into_iter().map(|r| r.url).collect();
        (all, urls)
    }

    #[test]
    fn the_total_count_decides_even_when_the_server_caps_the_page_size_lower() {
        // Asked for 3, the server gives 2 per page (its maximum) and says 5 in all.
        let server = ScriptedServer::start(vec![
            Canned::json(200, items(0..2)).header("X-Total-Count", "5"),
            Canned::json(200, items(2..4)).header("X-Total-Count", "5"),
            Canned::json(200, items(4..5)).header("X-Total-Count", "5"),
        ]);
        let (all, urls) = read(&server);
        assert_eq!(all, [0, 1, 2, 3, 4]);
        assert_eq!(
            urls,
            [
                "/list?limit=3&page=1",
                "/list?limit=3&page=2",
                "/list?limit=3&page=3"
            ]
        );
    }

    #[test]
    fn a_link_to_another_host_is_never_followed_the_page_number_is_asked_instead() {
        let server = ScriptedServer::start(vec![
            Canned::json(200, items(0..3)).header(
                "Link",
                "<https://elsewhere.example/list?page=2>; rel=\"next\"",
            ),
            Canned::json(200, items(3..4)),
        ]);
        let (all, urls) = read(&server);
        assert_eq!(all, [0, 1, 2, 3]);
        assert_eq!(urls, ["/list?limit=3&page=1", "/list?limit=3&page=2"]);
    }

    #[test]
    fn without_headers_a_short_page_is_the_last() {
        let server = ScriptedServer::start(vec![
            Canned::json(200, items(0..3)),
            Canned::json(200, items(3..5)),
        ]);
        let (all, urls) = read(&server);
        assert_eq!(all, [0, 1, 2, 3, 4]);
        assert_eq!(urls.len(), 2);
    }

    #[test]
    fn an_empty_page_stops_even_when_the_total_promised_more() {
        let server = ScriptedServer::start(vec![
            Canned::json(200, items(0..3)).header("X-Total-Count", "9"),
            Canned::json(200, "[]").header("X-Total-Count", "9"),
        ]);
        let (all, urls) = read(&server);
        assert_eq!(all, [0, 1, 2]);
        assert_eq!(urls.len(), 2);
    }
}
