//! The engine's integration tests, one binary: each module is one area (the file names say
//! which), all against in-process servers on 127.0.0.1. One binary rather than one per file:
//! each test binary of the release profile (thin LTO, one codegen unit) took ~75 s to build
//! on the 2-core CI machine, nineteen of them ~12 minutes, twice per CI run (the patched and
//! the stock hyper). `cargo test --release --test it errors::` runs one module.
//! tests/fork.rs stays its own binary: no other test thread may be mid-call when it forks.

#[path = "../common/mod.rs"]
mod common;

mod auth;
mod completion;
mod cookies;
mod decode;
mod driving;
mod errors;
mod faults_h2;
mod keepalive;
mod limits;
mod multipart;
mod redirects;
mod requests;
mod retries;
mod stream;
mod timing;
mod transport;
mod upload;
mod workers;
