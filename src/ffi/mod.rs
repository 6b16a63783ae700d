//! The C ABI. Every `extern "C"` function, raw pointer and `unsafe` block lives under here.
//!
//! Each function is a small translator: check arguments (NULL, lengths, handles), convert
//! pointers with the helpers in `ptr`, call the safe engine, turn the result into an
//! `httpring_code`. Every body runs inside `guard`, so a panic becomes
//! `HTTPRING_ERR_INTERNAL` instead of unwinding into C.

#![allow(non_camel_case_types)]
// The crate denies `unsafe`; this module is the one place it is allowed.
#![allow(unsafe_code)]

mod auth;
mod client;
mod code;
mod config;
mod content;
mod cookies;
mod handle;
mod limits;
mod multipart;
mod objects;
mod ptr;
mod redirect;
mod registry;
mod request;
mod response;
mod retry;
mod sized;
mod stream;
mod upload;
mod version;

pub use auth::*;
pub use client::*;
pub use code::*;
pub use config::*;
pub use content::*;
pub use cookies::*;
pub use handle::*;
pub use limits::*;
pub use multipart::*;
pub use redirect::*;
pub use request::*;
pub use response::*;
pub use retry::*;
pub use stream::*;
pub use upload::*;
pub use version::*;
