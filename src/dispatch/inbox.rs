//! Submissions on their way from caller threads to the runtime.
//!
//! A caller registers the request's handle, then pushes the request here; a dispatcher task
//! on the runtime moves everything queued into tasks. Only the push that finds the dispatcher
//! idle wakes it, so a batch of submissions (`Client::submit_many`, or several submits while
//! the runtime is busy) costs the I/O thread one wake-up, not one per request.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use tokio::sync::Notify;

use super::exec;
use super::shared::Shared;
use crate::pool::{Job, Mailbox};
use crate::request::{Exchange, Request};

#[derive(Default)]
pub struct Inbox {
    queue: Mutex<Vec<(Arc<Exchange>, Box<Request>)>>,
    /// The dispatcher has been woken and has not yet taken the queue.
    scheduled: AtomicBool,
    wake: Notify,
}

impl Inbox {
    /// Queues requests; wakes the dispatcher if the runtime is `driven` (some thread runs
    /// it). If none does, no wake-up is spent: the next thread to take the runtime calls
    /// `kick` first. (A caller about to wait for its request saves a syscall this way.)
    pub fn push(
        &self,
        items: impl IntoIterator<Item = (Arc<Exchange>, Box<Request>)>,
        driven: impl FnOnce() -> bool,
    ) {
        self.queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(items);
        // The queue's lock orders this check against a thread that takes the runtime and
        // then kicks: either it sees our requests, or we see it inside.
        if driven() && !self.scheduled.swap(true, Ordering::SeqCst) {
            self.wake.notify_one();
        }
    }

    /// Wakes the dispatcher if requests wait. Run by a thread that has just taken the
    /// runtime, on it, so the wake-up is a local schedule, not a syscall.
    pub fn kick(&self) {
        let waiting = !self
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty();
        if waiting && !self.scheduled.swap(true, Ordering::SeqCst) {
            self.wake.notify_one();
        }
    }

    /// The dispatcher: hands each queued request to a worker parked with an idle
    /// connection to its origin, or spawns a task for it; skips requests that were
    /// cancelled or freed before they got here.
    pub async fn dispatch(self: Arc<Self>, shared: Weak<Shared>) {
        let mut batch = Vec::new();
        loop {
            self.wake.notified().await;
            loop {
                self.scheduled.store(false, Ordering::SeqCst);
                std::mem::swap(
                    &mut batch,
                    &mut *self.queue.lock().unwrap_or_else(|p| p.into_inner()),
                );
                if batch.is_empty() {
                    break;
                }
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                // One clock read for the batch, for the pool's idle expiry.
                let now = Instant::now();
                for (ex, req) in batch.drain(..) {
                    if ex.is_complete() {
                        continue;
                    }
                    let key = exec::pool_key(&req);
                    match key.as_ref().and_then(|k| shared.pool().take_parked(k, now)) {
                        Some((worker, conn)) => {
                            if ex.attach_task(&worker) {
                                let conn = Some(conn);
                                worker.give(Job { ex, req, conn });
                            } else {
                                // Cancelled meanwhile: the connection and its worker go back.
                                let key = key.expect("a parked connection has a key");
                                if !shared.pool().put(key, conn, worker.clone(), now) {
                                    worker.dismiss();
                                }
                            }
                        }
                        None => {
                            let worker = Arc::new(Mailbox::default());
                            if ex.attach_task(&worker) {
                                let job = Job {
                                    ex,
                                    req,
                                    conn: None,
                                };
                                tokio::spawn(exec::run(shared.clone(), worker, job));
                            }
                        }
                    }
                }
            }
        }
    }
}
