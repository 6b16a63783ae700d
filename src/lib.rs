//! httpring: an asynchronous HTTP client for programs in other languages.
//!
//! The engine (everything outside `ffi`) is safe Rust: a [`Client`] owns a background tokio
//! runtime, requests become [`Handle`]s in a generation-checked table, and completions reach
//! the caller by polling, blocking waits, a drainable queue behind an eventfd, or a callback.
//! `ffi` is the C ABI over it, and the only module allowed raw pointers and `unsafe`.
//! Its functions are callable from Rust too: those that take caller pointers (configs,
//! requests, buffers) are `unsafe fn`s with their contract under `# Safety`; the rest take
//! clients and handles as ids, which are looked up, never followed.

#![deny(unsafe_code)]

// The engine's layers (their one-way order is in docs/ARCHITECTURE.md and checked by
// scripts/check_layers.py).
mod client;
mod config;
mod dispatch;
mod error;
mod policy;
mod pool;
mod request;
mod transport;

pub mod ffi;

pub use client::{Client, Stats};
pub use config::{
    millis, Auth, Config, Http2Keepalive, HttpVersionPref, LowSpeed, Netrc, OriginPattern,
    RedirectPolicy, RedirectStop, RetryPolicy, RootStore, TcpKeepalive, TlsOptions,
};
pub use dispatch::Callback;
pub use error::{Error, ErrorKind, Result};
pub use policy::decode::ContentDecoder;
pub use policy::redirect::Redirect;
pub use request::{
    BodyStream, Chunk, Completion, Event, Exchange, Handle, Hop, Multipart, Pull, PullFn, Read,
    Request, Response, SpeedOverrides, State, TimeoutOverrides, Timing, Upload, UrlCache,
};

/// Validates a proxy URL the way a client will use it.
pub fn proxy_check(url: &str) -> Result<()> {
    transport::Proxy::parse(url).map(|_| ())
}

/// Hooks for the fuzz targets in fuzz/ (cargo feature `fuzzing`, off by default): not part of
/// the API, no stability promised.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    /// Decodes `chunks` as one body sent with `Content-Encoding: coding`, as the engine does
    /// (taking the output after each chunk), with the body-size limit `max`. Returns the
    /// decoded length; `Ok(None)` when the coding is not one the engine decodes.
    pub fn decode(coding: &[u8], chunks: &[&[u8]], max: u64) -> crate::Result<Option<u64>> {
        let mut headers = http::HeaderMap::new();
        let Ok(value) = http::HeaderValue::from_bytes(coding) else {
            return Ok(None);
        };
        headers.insert(http::header::CONTENT_ENCODING, value);
        let Some(mut d) = crate::policy::decode::Decoder::for_response(&headers, max)? else {
            return Ok(None);
        };
        let mut n = 0;
        for c in chunks {
            d.push(bytes::Bytes::copy_from_slice(c))?;
            n += d.take().len() as u64;
        }
        n += d.finish()?.len() as u64;
        Ok(Some(n))
    }
}
