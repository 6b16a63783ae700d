//! One request's shared state: written once by whoever completes it, read by the caller.

use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Instant;

use super::handle::Handle;
use super::response::{Response, Timing};
use super::stream::BodyStream;
use super::upload::Upload;
use crate::error::{Error, ErrorKind, Result};

/// Where a request stands. Streaming will add a "data available" state between the two.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum State {
    Pending,
    Done,
    Failed,
}

const PENDING: u8 = 0;
const DONE: u8 = 1;
const FAILED: u8 = 2;

/// What an announcement is about.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The request completed: its whole response, or why it failed. Once per request
    /// unless `Head` comes instead.
    #[default]
    Done,
    /// A streamed request completed with its response head; its body is read from the
    /// response's stream (once per request, instead of `Done`).
    Head,
    /// A streamed body has something for a reader that found it empty: bytes, its end, or
    /// an error. Any number of times after `Head`.
    Body,
    /// A request body written through the handle has room again after a write found none.
    /// Any number of times before the request completes.
    Writable,
}

/// What a completed request reports in bulk (drain, callbacks).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    pub handle: Handle,
    pub user_data: u64,
    /// `None` for success (any HTTP status), else why it failed.
    pub error: Option<ErrorKind>,
    /// The HTTP status, 0 when the request failed.
    pub status: u16,
    pub event: Event,
}

pub struct Exchange {
    pub(crate) handle: Handle,
    pub(crate) user_data: u64,
    pub(crate) started: Instant,
    state: AtomicU8,
    /// Attempts made so far (more than one when retried).
    attempts: AtomicU32,
    /// Response body bytes received so far (before decoding), and the announced length
    /// (-1: unknown or no response head yet). Written by the request's task only.
    received: AtomicU64,
    content_length: AtomicI64,
    outcome: OnceLock<Result<Response>>,
    /// The worker running the request, so cancel can stop it; set before it gets the job.
    task: Mutex<Option<Weak<dyn TaskStop>>>,
    /// The request's streamed body, if it has one.
    upload: Option<Arc<Upload>>,
}

impl Exchange {
    pub(crate) fn new(handle: Handle, user_data: u64, upload: Option<Arc<Upload>>) -> Exchange {
        Exchange {
            handle,
            user_data,
            started: Instant::now(),
            state: AtomicU8::new(PENDING),
            attempts: AtomicU32::new(1),
            received: AtomicU64::new(0),
            content_length: AtomicI64::new(-1),
            outcome: OnceLock::new(),
            task: Mutex::new(None),
            upload,
        }
    }

    /// The request's streamed body, if it has one.
    pub fn upload(&self) -> Option<&Arc<Upload>> {
        self.upload.as_ref()
    }

    pub fn state(&self) -> State {
        match self.state.load(Ordering::SeqCst) {
            PENDING => State::Pending,
            DONE => State::Done,
            _ => State::Failed,
        }
    }

    /// Attempts made so far: 1, or more when the request was retried.
    pub fn attempts(&self) -> u32 {
        self.attempts.load(Ordering::Relaxed)
    }

    pub(crate) fn set_attempts(&self, n: u32) {
        self.attempts.store(n, Ordering::Relaxed);
    }

    /// Response body bytes received so far and the announced length (None: unknown), while
    /// the request runs and after. A retry or a redirect hop starts them again.
    pub fn progress(&self) -> (u64, Option<u64>) {
        let len = self.content_length.load(Ordering::Relaxed);
        (
            self.received.load(Ordering::Relaxed),
            u64::try_from(len).ok(),
        )
    }

    /// Where the time went: zero until a response was read to the end, and for a request
    /// that failed. For a streamed response, until its body ended: up to the head (no
    /// `receive` time) before.
    pub fn timing(&self) -> Timing {
        match self.outcome() {
            Some(Ok(r)) => {
                let total = match r.stream.as_ref().and_then(|s| s.ended()) {
                    Some(end) => end.saturating_duration_since(self.started),
                    None => r.elapsed,
                };
                r.stamps.timing(self.started, total)
            }
            _ => Timing::default(),
        }
    }

    /// A response head arrived: its body's announced length, and nothing received yet.
    pub(crate) fn start_body(&self, declared: Option<u64>) {
        self.received.store(0, Ordering::Relaxed);
        self.content_length.store(
            declared.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX)),
            Ordering::Relaxed,
        );
    }

    /// `n` more body bytes arrived (one writer: a load and a store, no atomic add).
    pub(crate) fn add_received(&self, n: usize) {
        let now = self.received.load(Ordering::Relaxed) + n as u64;
        self.received.store(now, Ordering::Relaxed);
    }

    pub fn is_complete(&self) -> bool {
        self.state.load(Ordering::SeqCst) != PENDING
    }

    /// The outcome, once recorded. It is readable from the completion callback, which runs
    /// just before the exchange reports itself complete.
    pub fn outcome(&self) -> Option<&Result<Response>> {
        self.outcome.get()
    }

    /// The body stream of a streamed response, once its head arrived.
    pub fn stream(&self) -> Option<&Arc<BodyStream>> {
        match self.outcome.get() {
            Some(Ok(r)) => r.stream.as_ref(),
            _ => None,
        }
    }

    /// The announcement that a streamed body has something for its reader.
    pub(crate) fn body_event(&self) -> Completion {
        Completion {
            handle: self.handle,
            user_data: self.user_data,
            error: None,
            status: match self.outcome.get() {
                Some(Ok(r)) => r.status,
                _ => 0,
            },
            event: Event::Body,
        }
    }

    /// The announcement that a pushed request body has room for more.
    pub(crate) fn writable_event(&self) -> Completion {
        Completion {
            event: Event::Writable,
            status: 0,
            ..self.body_event()
        }
    }

    /// The outcome, taken by its last owner when the request is freed.
    pub(crate) fn take_outcome(&mut self) -> Option<Result<Response>> {
        self.outcome.take()
    }

    pub fn user_data(&self) -> u64 {
        self.user_data
    }

    /// Records the outcome if none is recorded yet. Returns the completion record for the
    /// one caller that wins; every later attempt (a task finishing after a cancel) gets None.
    /// The exchange still reads as pending until `mark_complete`.
    pub(crate) fn record(&self, outcome: Result<Response>) -> Option<Completion> {
        let (error, status, event) = match &outcome {
            Ok(r) if r.stream.is_some() => (None, r.status, Event::Head),
            Ok(r) => (None, r.status, Event::Done),
            Err(e) => (Some(e.kind()), 0, Event::Done),
        };
        self.outcome.set(outcome).ok()?;
        // The request is over (a streamed response's body may still be read): its body's
        // source is not called again.
        if let (Some(up), false) = (&self.upload, event == Event::Head) {
            // Writes after it get the request's own error, or say it is over.
            up.close(match self.outcome.get() {
                Some(Err(e)) => e.clone(),
                _ => Error::new(
                    ErrorKind::Cancelled,
                    "the request has completed: its body is no longer sent",
                ),
            });
        }
        Some(Completion {
            handle: self.handle,
            user_data: self.user_data,
            error,
            status,
            event,
        })
    }

    pub(crate) fn mark_complete(&self, ok: bool) {
        self.state
            .store(if ok { DONE } else { FAILED }, Ordering::SeqCst);
    }

    /// Remembers the worker that is about to get the request; false (and nothing kept) if
    /// the exchange already completed (a cancel that raced the hand-over). Held weakly: a
    /// worker's mailbox may hold this exchange's job, and closing must not leave a cycle.
    pub(crate) fn attach_task<W: TaskStop + 'static>(&self, worker: &Arc<W>) -> bool {
        let mut slot = self.task.lock().unwrap_or_else(|p| p.into_inner());
        if self.is_complete() {
            return false;
        }
        let weak: Weak<W> = Arc::downgrade(worker);
        let weak: Weak<dyn TaskStop> = weak;
        *slot = Some(weak);
        true
    }

    /// Forgets the worker (the request has completed) without stopping it; clears a stop
    /// that came in the meantime, so it cannot hit the worker's next request.
    pub(crate) fn detach_task(&self) {
        let worker = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(w) = worker.and_then(|w| w.upgrade()) {
            w.forget_stop(self.handle);
        }
    }

    /// Stops the request's work, if it still runs. Dropping it closes its connection.
    pub(crate) fn abort_task(&self) {
        let slot = self.task.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = slot.as_ref().and_then(Weak::upgrade) {
            w.stop(self.handle);
        }
    }
}

/// The task running an exchange's request, as the exchange reaches it to stop it. A pool
/// worker (`pool::Mailbox`) implements it; the trait keeps this layer below the pool.
pub(crate) trait TaskStop: Send + Sync {
    /// Asks the task to stop the request with this handle, if that is what it runs.
    fn stop(&self, h: Handle);
    /// Withdraws a stop for this handle that came after its request completed.
    fn forget_stop(&self, h: Handle);
}
