//! httpring: an asynchronous HTTP client for programs in other languages.
//!
//! The engine (everything outside `ffi`) is safe Rust: a [`Client`] owns a background tokio
//! runtime, requests become [`Handle`]s in a generation-checked table, and completions reach
//! the caller by polling, blocking waits, a drainable queue behind an eventfd, or a callback.
//! `ffi` is the C ABI over it and the only place with `unsafe`.

mod client;
mod completion;
mod config;
mod error;
mod exchange;
mod exec;
mod handle;
mod pool;
mod request;
mod response;
mod runtime;

pub mod ffi;

pub use client::Client;
pub use completion::Callback;
pub use config::{millis, Config};
pub use error::{Error, ErrorKind, Result};
pub use exchange::{Completion, Exchange, State};
pub use handle::Handle;
pub use request::{Request, TimeoutOverrides};
pub use response::Response;
