//! Error answers in words: Keystone's error JSON (`{"error": {code, title, message}}`), and
//! everything else an endpoint may answer (an HTML page, Flask's `{"message"}` with `Allow`)
//! summarized on one line — status, title, route and a short excerpt, never a raw page — and
//! decoding problems without the positions and quoted values serde puts in them.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::wire;

use super::CloudError;

/// A decoding error as one short phrase: without serde's position (`at line 1 column 320`),
/// which says nothing to a user, and without the values it quotes, which could be anything
/// the server sent.
pub(super) fn serde_problem(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let text = match text.rfind(" at line ") {
        Some(at) => &text[..at],
        None => text.as_str(),
    };
    let mut out = String::with_capacity(text.len());
    let mut quoted = false;
    for c in text.chars() {
        if c == '"' {
            if !quoted {
                out.push_str("\"…");
            }
            quoted = !quoted;
        } else if !quoted {
            out.push(c);
        }
    }
    out
}

pub(super) fn api_error(
    method: &str,
    path: &str,
    status: StatusCode,
    headers: &HeaderMap,
    bytes: &[u8],
) -> CloudError {
    let (title, message) = match serde_json::from_slice::<wire::ErrorBody>(bytes) {
        Ok(body) => (
            one_line(&body.error.title, 100),
            one_line(&body.error.message, 1000),
        ),
        Err(_) => summarize_foreign(status, headers, bytes),
    };
    CloudError::Api {
        method: method.to_string(),
        path: path.to_string(),
        status: status.as_u16(),
        title,
        message,
    }
}

/// Whether an error answer is in Keystone's error format.
pub(super) fn is_keystone_error(bytes: &[u8]) -> bool {
    serde_json::from_slice::<wire::ErrorBody>(bytes).is_ok()
}

/// Longest excerpt of a non-Keystone error answer that an error message quotes.
const EXCERPT_CHARS: usize = 160;

/// The title and a one-line excerpt of an error answer that is not Keystone's error JSON:
/// Flask's `{"message": …}` (a `405`, with its `Allow` header), or an HTML or text page,
/// whose `<title>` is the title and whose text, tags stripped, gives the excerpt.
fn summarize_foreign(status: StatusCode, headers: &HeaderMap, bytes: &[u8]) -> (String, String) {
    let reason = status.canonical_reason().unwrap_or("Error").to_string();
    let allow = headers
        .get(reqwest::header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .map(|allowed| format!(" (allowed: {})", one_line(allowed, 100)))
        .unwrap_or_default();
    if let Ok(serde_json::Value::Object(object)) = serde_json::from_slice(bytes)
        && let Some(message) = object.get("message").and_then(|m| m.as_str())
    {
        return (
            reason,
            format!("{}{allow}", one_line(message, EXCERPT_CHARS)),
        );
    }
    let text = String::from_utf8_lossy(bytes);
    let page_title = element_text(&text, "title")
        .map(|t| one_line(&strip_tags(&t), 100))
        .unwrap_or_default();
    // `<title>404 Not Found</title>`: the status is shown already.
    let title = page_title
        .strip_prefix(status.as_str())
        .map_or(page_title.as_str(), str::trim)
        .to_string();
    let title = if title.is_empty() { reason } else { title };
    let mut body = text.to_string();
    for element in ["head", "title", "script", "style"] {
        body = remove_element(&body, element);
    }
    let mut excerpt = one_line(&strip_tags(&body), EXCERPT_CHARS);
    // The page's heading usually repeats its title.
    for heading in [&page_title, &title] {
        if let Some(rest) = excerpt.strip_prefix(heading.as_str())
            && !heading.is_empty()
        {
            excerpt = rest.trim_start().to_string();
        }
    }
    if excerpt.is_empty() {
        excerpt = "(no text)".to_string();
    }
    let kind = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| one_line(v, 60))
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "no Content-Type".to_string());
    (
        title,
        format!("{excerpt}{allow} [{kind} answer, not a Keystone error]"),
    )
}

/// The text inside the first `<name …>…</name>` of an HTML page (case-insensitive).
fn element_text(html: &str, name: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let open = lower.find(&format!("<{name}"))?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find(&format!("</{name}"))?;
    Some(html[start..end].to_string())
}

/// `html` without its `<name …>…</name>` elements.
fn remove_element(html: &str, name: &str) -> String {
    let mut out = html.to_string();
    loop {
        let lower = out.to_ascii_lowercase();
        let Some(open) = lower.find(&format!("<{name}")) else {
            return out;
        };
        let close = format!("</{name}");
        let end = match lower[open..].find(&close) {
            Some(at) => {
                let at = open + at;
                at + lower[at..].find('>').map_or(close.len(), |gt| gt + 1)
            }
            None => out.len(),
        };
        out.replace_range(open..end, " ");
    }
}

/// Text with every `<…>` tag replaced by a space and the common entities decoded.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match (in_tag, c) {
            (false, '<') => in_tag = true,
            (true, '>') => {
                in_tag = false;
                out.push(' ');
            }
            (false, c) => out.push(c),
            (true, _) => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// `text` on one line: runs of whitespace and control characters become one space, and more
/// than `limit` characters are cut with `…`.
fn one_line(text: &str, limit: usize) -> String {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect();
    let joined = words.join(" ");
    if joined.chars().count() <= limit {
        joined
    } else {
        let cut: String = joined.chars().take(limit).collect();
        format!("{}…", cut.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/testdata/keystone/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    fn message(status: u16, headers: &HeaderMap, file: &str, path: &str) -> String {
        let status = StatusCode::from_u16(status).unwrap();
        api_error("GET", path, status, headers, &fixture(file)).to_string()
    }

    #[test]
    fn keystone_errors_keep_their_title_and_message() {
        let json = headers(&[("content-type", "application/json")]);
        assert_eq!(
            message(404, &json, "error_404_unknown_credential.json", AUTH_PATH),
            "GET /identity/v3/auth/tokens: 404 Not Found: Could not find Application \
             Credential: 00000000000000000000000000000000."
        );
        assert_eq!(
            message(409, &json, "error_409_duplicate_name.json", "/x"),
            "GET /x: 409 Conflict: Conflict occurred attempting to store \
             application_credential - Duplicate entry found with name ci."
        );
    }

    const AUTH_PATH: &str = super::super::routes::AUTH_TOKENS;

    #[test]
    fn html_and_flask_errors_are_summarized_on_one_line() {
        let html = headers(&[("content-type", "text/html; charset=utf-8")]);
        let unknown = message(
            404,
            &html,
            "error_404_unknown_route.html",
            "/identity/v3/nonexistent",
        );
        assert_eq!(
            unknown,
            "GET /identity/v3/nonexistent: 404 Not Found: The requested URL was not found on \
             the server. If you entered the URL manually please check your spelling and try \
             again. [text/html answer, not a Keystone error]"
        );
        let too_large = message(413, &html, "error_413_too_large.html", "/k");
        assert_eq!(
            too_large,
            "GET /k: 413 Request Entity Too Large: Request is too large. Larger than \
             max_request_body_size (%s). [text/html answer, not a Keystone error]"
        );
        let flask = message(
            405,
            &headers(&[
                ("content-type", "application/json"),
                ("allow", "DELETE, GET, HEAD, OPTIONS"),
            ]),
            "error_405_method_not_allowed.json",
            "/k",
        );
        assert_eq!(
            flask,
            "GET /k: 405 Method Not Allowed: The method is not allowed for the requested URL. \
             (allowed: DELETE, GET, HEAD, OPTIONS)"
        );
        for text in [&unknown, &too_large, &flask] {
            assert!(!text.contains('<') && !text.contains('\n'), "{text}");
        }
    }

    #[test]
    fn long_or_tagless_pages_are_cut() {
        let page = format!(
            "<html><head><style>p {{}}</style></head><body>\n{}\n</body></html>",
            "word ".repeat(500)
        );
        let (title, excerpt) =
            summarize_foreign(StatusCode::BAD_GATEWAY, &HeaderMap::new(), page.as_bytes());
        assert_eq!(title, "Bad Gateway");
        assert!(excerpt.starts_with("word word"), "{excerpt}");
        assert!(excerpt.contains("… [no Content-Type answer"), "{excerpt}");
        assert!(excerpt.chars().count() < EXCERPT_CHARS + 60, "{excerpt}");
        let (_, empty) = summarize_foreign(StatusCode::BAD_GATEWAY, &HeaderMap::new(), b"");
        assert_eq!(
            empty,
            "(no text) [no Content-Type answer, not a Keystone error]"
        );
    }

    #[test]
    fn decoding_errors_lose_their_position_and_quoted_values() {
        let missing =
            serde_json::from_str::<wire::ProjectBody>(r#"{"project": {"id": "x"}}"#).unwrap_err();
        assert_eq!(serde_problem(&missing), "missing field `name`");
        let quoted = serde_json::from_str::<wire::ApplicationCredentialBody>(
            r#"{"application_credential": {"id": "k", "name": "n", "user_id": "u",
                    "unrestricted": "s3cr3t"}}"#,
        )
        .unwrap_err();
        let problem = serde_problem(&quoted);
        assert!(
            !problem.contains("s3cr3t") && !problem.contains("line"),
            "{problem}"
        );
        assert!(problem.starts_with("invalid type: string \"…"), "{problem}");
    }
}
