//! The web's rules a request follows between the wire and the caller: redirects, auth,
//! cookies, decompression, retries. It sits above `request` and `transport` and below
//! `dispatch`, which applies its decisions; settings live in `config`.

pub(crate) mod auth;
pub(crate) mod cookies;
pub(crate) mod decode;
pub(crate) mod redirect;
pub mod retry;
