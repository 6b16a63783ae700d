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
    millis, Auth, Config, HttpVersionPref, RedirectPolicy, RetryPolicy, RootStore, TlsOptions,
};
pub use dispatch::Callback;
pub use error::{Error, ErrorKind, Result};
pub use request::{
    BodyStream, Completion, Event, Exchange, Handle, Hop, Multipart, Read, Request, Response,
    State, TimeoutOverrides, Timing, UrlCache,
};

/// Validates a proxy URL the way a client will use it.
pub fn proxy_check(url: &str) -> Result<()> {
    transport::Proxy::parse(url).map(|_| ())
}
