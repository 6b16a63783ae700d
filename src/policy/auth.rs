//! Credentials a request carries by itself: user info in its URL becomes HTTP Basic auth
//! (as curl and httpx do), percent-decoded, unless the request sets `Authorization`.

use base64::Engine as _;
use http::header::HeaderValue;
use http::Uri;
use percent_encoding::percent_decode_str;

/// `Basic base64(user:password)` for the URL's user info, or None when it has none.
pub(crate) fn basic_from_userinfo(uri: &Uri) -> Option<HeaderValue> {
    let authority = uri.authority()?.as_str();
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    Some(basic(
        &percent_decode_str(user).collect::<Vec<u8>>(),
        &percent_decode_str(password).collect::<Vec<u8>>(),
    ))
}

/// An `Authorization: Basic` value (RFC 7617) for these credentials.
pub(crate) fn basic(user: &[u8], password: &[u8]) -> HeaderValue {
    let mut pair = Vec::with_capacity(user.len() + 1 + password.len());
    pair.extend_from_slice(user);
    pair.push(b':');
    pair.extend_from_slice(password);
    let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
    let mut value =
        HeaderValue::from_str(&format!("Basic {encoded}")).expect("base64 is a valid header");
    value.set_sensitive(true);
    value
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
