//! The rule for an IAM endpoint URL, in one place for the configuration (`provider.endpoint`),
//! `KCFORM_ENDPOINT` and the client: `https://`, or plain `http://` only to a loopback address
//! (`localhost`, `127.0.0.0/8`, `[::1]`), where tokens and secrets never cross a network; no
//! credentials, query or fragment in it. Parsed with the `url` crate (WHATWG URLs).

use std::net::IpAddr;

/// Why a text is not a usable endpoint URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// Not `scheme://…` at all.
    #[error("is not a URL")]
    NotUrl,
    /// A scheme other than `https`/`http`.
    #[error("uses the scheme `{0}`; only `https` (or `http` to a loopback address) is allowed")]
    Scheme(String),
    /// Spaces or control characters.
    #[error("contains whitespace")]
    Whitespace,
    /// The URL does not parse (bad host, port…).
    #[error("is not a valid URL: {0}")]
    Malformed(String),
    /// `user:password@` in the URL.
    #[error("contains credentials")]
    Credentials,
    /// `?…` or `#…`.
    #[error("has a query or fragment; give the base URL only")]
    QueryOrFragment,
    /// Port 0.
    #[error("has an invalid port `0`")]
    PortZero,
    /// `http://` to a host that is not a loopback address.
    #[error("uses plain `http` to a host that is not a loopback address")]
    PlainHttp,
}

/// The endpoint `text` normalized (scheme and host lower-cased, default port and trailing `/`
/// dropped), or why it cannot be used.
pub fn parse(text: &str) -> Result<String, EndpointError> {
    let Some((scheme, _)) = text.split_once("://") else {
        return Err(EndpointError::NotUrl);
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err(EndpointError::Scheme(scheme));
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(EndpointError::Whitespace);
    }
    let url = url::Url::parse(text).map_err(|e| EndpointError::Malformed(e.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(EndpointError::Credentials);
    }
    if url.query().is_some() || url.fragment().is_some() || text.contains(['?', '#']) {
        return Err(EndpointError::QueryOrFragment);
    }
    if url.port() == Some(0) {
        return Err(EndpointError::PortZero);
    }
    if scheme == "http" && !is_loopback(&url) {
        return Err(EndpointError::PlainHttp);
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_and_loopback_http_are_normalized() {
        for (given, normal) in [
            ("https://iam.kakaocloud.com/", "https://iam.kakaocloud.com"),
            (
                "HTTPS://IAM.example.com:8443/base/",
                "https://iam.example.com:8443/base",
            ),
            ("https://iam.example.com:443", "https://iam.example.com"),
            ("http://localhost:8080", "http://localhost:8080"),
            ("http://LOCALHOST", "http://localhost"),
            ("http://127.1.2.3", "http://127.1.2.3"),
            ("http://[::1]:8080/", "http://[::1]:8080"),
        ] {
            assert_eq!(parse(given).as_deref(), Ok(normal), "{given}");
        }
    }

    #[test]
    fn everything_else_is_refused_with_its_reason() {
        for (bad, why) in [
            ("iam.kakaocloud.com", EndpointError::NotUrl),
            ("ftp://localhost", EndpointError::Scheme("ftp".into())),
            ("https://ho st", EndpointError::Whitespace),
            ("https://user:pw@host", EndpointError::Credentials),
            ("https://host?x=1", EndpointError::QueryOrFragment),
            ("https://host/#top", EndpointError::QueryOrFragment),
            ("https://host:0", EndpointError::PortZero),
            ("http://iam.kakaocloud.com", EndpointError::PlainHttp),
            ("http://10.0.0.1", EndpointError::PlainHttp),
            ("http://127.0.0.1.evil.com", EndpointError::PlainHttp),
            ("http://localhost.evil.com", EndpointError::PlainHttp),
            ("http://[::2]", EndpointError::PlainHttp),
        ] {
            assert_eq!(parse(bad), Err(why), "{bad}");
        }
        for malformed in [
            "https://",
            "https://:443",
            "https://host:99999",
            "https://host:abc",
            "https://[zz]",
        ] {
            assert!(
                matches!(parse(malformed), Err(EndpointError::Malformed(_))),
                "{malformed}: {:?}",
                parse(malformed)
            );
        }
    }
}
