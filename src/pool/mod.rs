//! Connections kept for reuse: the per-origin pool (`pool`), the caps on open connections
//! with their queue (`limit`), and the request tasks that park
//! with an idle HTTP/1.1 connection to run the origin's next request (`worker`). Depends on
//! `transport` (connections) and `request` (what a worker runs).

mod limit;
#[allow(clippy::module_inception)]
mod pool;
mod worker;

pub(crate) use limit::{Grant, Limiter, Returned};
pub(crate) use pool::{Gate, Pool, PoolLimits};
pub(crate) use worker::{Job, Mailbox};
