//! The web's rules a request follows between the wire and the caller: redirects, auth,
//! cookies, decompression, retries. It sits above `request` and `transport` and below
//! `dispatch`, which applies its decisions; settings live in `config`. Redirects, URL user
//! info as Basic auth and content decoding are here now; auth helpers, cookies (issue 17) and
//! retries (issue 19) come next.

pub(crate) mod auth;
pub(crate) mod decode;
pub(crate) mod redirect;
