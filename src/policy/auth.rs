//! Credentials: user info in a URL becomes HTTP Basic auth (as curl and httpx do),
//! percent-decoded; a Digest challenge (RFC 7616) is answered through the `digest_auth` crate.

use std::borrow::Cow;

use http::header::{HeaderMap, HeaderValue, WWW_AUTHENTICATE};
use http::{Method, Uri};
use percent_encoding::percent_decode_str;

use crate::config::{basic_value, Auth, AuthScheme};
use crate::error::Result;
use crate::request::parse_method_url;

/// `Basic base64(user:password)` for the URL's user info, or None when it has none.
pub(crate) fn basic_from_userinfo(uri: &Uri) -> Option<HeaderValue> {
    let authority = uri.authority()?.as_str();
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    Some(basic_value(
        &percent_decode_str(user).collect::<Vec<u8>>(),
        &percent_decode_str(password).collect::<Vec<u8>>(),
    ))
}

/// Digest credentials a request answers a challenge with.
#[derive(Clone, Debug)]
pub(crate) struct DigestCreds {
    pub(crate) user: String,
    pub(crate) password: String,
}

/// The `Authorization` answering the first Digest challenge in a `401`'s `WWW-Authenticate`
/// headers, or None when there is none this client can answer (the 401 is then the result).
/// `stale_only`: only a challenge that calls the last nonce stale (RFC 7616 §3.3: the
/// credentials were right, the nonce had expired) is answered.
pub(crate) fn digest_answer(
    creds: &DigestCreds,
    method: &Method,
    uri: &Uri,
    body: &[u8],
    headers: &HeaderMap,
    stale_only: bool,
) -> Option<HeaderValue> {
    let target = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    for value in headers.get_all(WWW_AUTHENTICATE) {
        let Ok(text) = value.to_str() else { continue };
        let scheme = text.split_whitespace().next().unwrap_or("");
        if !scheme.eq_ignore_ascii_case("digest") {
            continue;
        }
        let Ok(mut prompt) = digest_auth::parse(text) else {
            continue;
        };
        if stale_only && !prompt.stale {
            continue;
        }
        let context = digest_auth::AuthContext::new_with_method(
            creds.user.as_str(),
            creds.password.as_str(),
            target,
            Some(body),
            digest_auth::HttpMethod(Cow::Borrowed(method.as_str())),
        );
        let Ok(answer) = prompt.respond(&context) else {
            continue;
        };
        let Ok(mut v) = HeaderValue::from_str(&answer.to_header_string()) else {
            continue;
        };
        v.set_sensitive(true);
        return Some(v);
    }
    None
}

/// Credentials applied by a caller that sends requests itself (around a transport of its
/// own), as the engine applies them.
impl Auth {
    /// The `Authorization` value sent with every request (Basic, Bearer); `None` for Digest,
    /// which sends nothing until challenged.
    pub fn header_value(&self) -> Option<&[u8]> {
        match &self.0 {
            AuthScheme::Header(v) => Some(v.as_bytes()),
            AuthScheme::Digest { .. } => None,
        }
    }

    /// The `Authorization` value answering `challenge` (a `401`'s `WWW-Authenticate` value)
    /// for a `method` request to `url` with `body`, or `None` when it is no Digest challenge
    /// these credentials can answer (or, with `stale_only`, one that does not call the last
    /// nonce stale: RFC 7616 §3.3), or the credentials are not Digest.
    pub fn answer(
        &self,
        method: &str,
        url: &str,
        body: &[u8],
        challenge: &[u8],
        stale_only: bool,
    ) -> Result<Option<Vec<u8>>> {
        let AuthScheme::Digest { user, password } = &self.0 else {
            return Ok(None);
        };
        let (method, uri) = parse_method_url(method, url)?;
        let Ok(value) = HeaderValue::from_bytes(challenge) else {
            return Ok(None);
        };
        let mut headers = HeaderMap::new();
        headers.insert(WWW_AUTHENTICATE, value);
        let creds = DigestCreds {
            user: user.clone(),
            password: password.clone(),
        };
        let answer = digest_answer(&creds, &method, &uri, body, &headers, stale_only);
        Ok(answer.map(|v| v.as_bytes().to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(url: &str) -> Option<String> {
        basic_from_userinfo(&url.parse().unwrap()).map(|v| v.to_str().unwrap().to_string())
    }

    #[test]
    fn user_info_becomes_basic_auth_percent_decoded() {
        // RFC 7617's example: Aladdin / open sesame.
        assert_eq!(
            of("http://Aladdin:open%20sesame@a/").as_deref(),
            Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
        );
        assert_eq!(of("http://u@a/").as_deref(), Some("Basic dTo="));
        assert_eq!(
            of("http://u%40x:p%3Aq@a:8080/").as_deref(),
            Some("Basic dUB4OnA6cQ==")
        );
        assert_eq!(of("http://a/x@y"), None);
        assert_eq!(of("http://a:80/"), None);
    }
}
