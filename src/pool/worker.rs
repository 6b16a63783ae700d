//! Request tasks that outlive their request.
//!
//! A request's task runs it to completion; if that leaves an HTTP/1.1 connection fit for
//! another request, the task parks with it in the pool instead of ending. The dispatcher
//! hands the next request for that origin straight to a parked task (its mailbox) together
//! with the connection, so a keep-alive request costs no task spawn, no task allocation and
//! no pool round trip. A parked task's connection stays an ordinary idle connection: a task
//! that takes it from the pool, the idle sweep, or closing the pool dismisses the worker.
//!
//! A worker runs many requests over its life, so cancel cannot abort its task (a late abort
//! would hit whichever request it runs next). Cancel names the request instead: the worker
//! checks, whenever it is polled, whether the request it runs is the one named.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use crate::request::{Exchange, Handle, Request, TaskStop};
use crate::transport::Conn;

/// One request for a worker: the connection comes along when a parked worker gets it.
pub(crate) struct Job {
    pub(crate) ex: Arc<Exchange>,
    pub(crate) req: Box<Request>,
    pub(crate) conn: Option<Conn>,
}

#[derive(Default)]
struct Slot {
    job: Option<Job>,
    dismissed: bool,
    waker: Option<Waker>,
}

/// How the dispatcher and cancel reach one worker.
#[derive(Default)]
pub(crate) struct Mailbox {
    slot: Mutex<Slot>,
    /// The handle whose request should stop (0: none).
    stop: AtomicU64,
}

impl Mailbox {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wake(slot: &Slot) {
        if let Some(w) = &slot.waker {
            w.wake_by_ref();
        }
    }

    /// Hands a job to the worker (which was taken off the pool's idle list).
    pub(crate) fn give(&self, job: Job) {
        let mut slot = self.lock();
        slot.job = Some(job);
        Self::wake(&slot);
    }

    /// Tells a parked worker to end; a job already handed over is still run.
    pub(crate) fn dismiss(&self) {
        let mut slot = self.lock();
        slot.dismissed = true;
        Self::wake(&slot);
    }

    /// Asks the worker to drop request `h` if it is still running it. Called under the
    /// exchange's lock, so it cannot land after the worker's `forget_stop` for `h`.
    pub(crate) fn stop(&self, h: Handle) {
        self.stop.store(h.0, Ordering::SeqCst);
        Self::wake(&self.lock());
    }

    /// Clears a stop for `h` that came after `h` finished: handle ids recur (after 2^24
    /// reuses of one slot), and a stale stop must not hit a later request.
    pub(crate) fn forget_stop(&self, h: Handle) {
        let _ = self
            .stop
            .compare_exchange(h.0, 0, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// The next job, or None once dismissed.
    pub(crate) async fn next(&self) -> Option<Job> {
        std::future::poll_fn(|_| {
            let mut slot = self.lock();
            match slot.job.take() {
                Some(job) => Poll::Ready(Some(job)),
                None if slot.dismissed => Poll::Ready(None),
                None => Poll::Pending,
            }
        })
        .await
    }

    /// Runs `fut` for request `h`; None if cancel named `h` first. A plain function
    /// returning a future (not an `async fn`): an `async fn` would hold `fut` twice, as its
    /// argument and as its pinned local, doubling the task's size.
    pub(crate) fn stoppable<F: Future>(&self, h: Handle, fut: F) -> Stoppable<'_, F> {
        Stoppable {
            mailbox: self,
            h,
            fut,
        }
    }

    /// Remembers the worker task's waker (a task's waker stays valid for its whole life).
    /// Awaited first thing by the worker task, before anything can wake it.
    pub(crate) async fn start(&self) {
        std::future::poll_fn(|cx| {
            self.lock().waker = Some(cx.waker().clone());
            Poll::Ready(())
        })
        .await
    }
}

pin_project_lite::pin_project! {
    /// See [`Mailbox::stoppable`].
    pub(crate) struct Stoppable<'a, F> {
        mailbox: &'a Mailbox,
        h: Handle,
        #[pin]
        fut: F,
    }
}

impl<F: Future> Future for Stoppable<'_, F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if this.mailbox.stop.load(Ordering::SeqCst) == this.h.0 {
            return Poll::Ready(None);
        }
        this.fut.poll(cx).map(Some)
    }
}

impl TaskStop for Mailbox {
    fn stop(&self, h: Handle) {
        Mailbox::stop(self, h)
    }

    fn forget_stop(&self, h: Handle) {
        Mailbox::forget_stop(self, h)
    }
}
