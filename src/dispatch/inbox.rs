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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::Config;
    use crate::dispatch::Hub;
    use crate::request::{Handle, Table};
    use crate::transport::test_support::Silent;
    use crate::transport::Connector;

    fn item(user_data: u64) -> (Arc<Exchange>, Box<Request>) {
        let mut req = Request::get(b"http://127.0.0.1:9/");
        req.set_user_data(user_data);
        (
            Arc::new(Exchange::new(Handle(user_data), user_data, None)),
            Box::new(req),
        )
    }

    fn queued(inbox: &Inbox) -> Vec<u64> {
        inbox
            .queue
            .lock()
            .unwrap()
            .iter()
            .map(|(ex, _)| ex.user_data())
            .collect()
    }

    /// Whether the dispatcher's wake-up is pending (consumes it).
    async fn woken(inbox: &Inbox) -> bool {
        tokio::time::timeout(Duration::ZERO, inbox.wake.notified())
            .await
            .is_ok()
    }

    /// Lets the spawned tasks of this single-threaded runtime run until they wait.
    async fn settle() {
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn push_queues_in_order_and_wakes_only_a_driven_runtime() {
        let inbox = Inbox::default();
        inbox.push([item(1), item(2)], || false);
        assert_eq!(queued(&inbox), [1, 2]);
        assert!(!inbox.scheduled.load(Ordering::SeqCst));
        assert!(
            !woken(&inbox).await,
            "nobody runs the runtime: no wake-up spent"
        );

        inbox.push([item(3)], || true);
        assert_eq!(queued(&inbox), [1, 2, 3], "first in, first out");
        assert!(inbox.scheduled.load(Ordering::SeqCst));
        assert!(woken(&inbox).await);

        // The dispatcher was woken and has not taken the queue yet: no second wake-up.
        inbox.push([item(4)], || true);
        assert!(!woken(&inbox).await);
        assert_eq!(queued(&inbox), [1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn kick_wakes_only_when_requests_wait() {
        let inbox = Inbox::default();
        inbox.kick();
        assert!(!inbox.scheduled.load(Ordering::SeqCst));
        assert!(
            !woken(&inbox).await,
            "an empty inbox is not worth a wake-up"
        );

        inbox.push([item(1)], || false);
        inbox.kick();
        assert!(inbox.scheduled.load(Ordering::SeqCst));
        assert!(woken(&inbox).await);
        inbox.kick();
        assert!(!woken(&inbox).await, "already scheduled");
        assert_eq!(queued(&inbox), [1], "kick moves nothing itself");
    }

    fn shared() -> Arc<Shared> {
        let config = Config {
            use_env_proxy: false,
            ..Config::default()
        };
        let connector = Connector::new(&config).unwrap();
        Arc::new(Shared::new(
            config,
            Table::new(1),
            Arc::new(Hub::new().unwrap()),
            connector,
        ))
    }

    /// A request to `server` registered with `shared`, as `Client::submit` does it.
    fn submit(shared: &Shared, server: &Silent, user_data: u64) -> (Arc<Exchange>, Box<Request>) {
        let mut req = Request::get(format!("http://{}/", server.addr).as_bytes());
        req.set_user_data(user_data);
        let (_, ex, req) = shared.register(req.validated().unwrap()).unwrap();
        (ex, req)
    }

    /// The job handed to `worker`, if any.
    async fn job_of(worker: &Mailbox) -> Option<u64> {
        let job = tokio::time::timeout(Duration::from_millis(20), worker.next())
            .await
            .ok()??;
        assert!(
            job.conn.is_some(),
            "a parked worker gets its connection along"
        );
        Some(job.ex.user_data())
    }

    #[tokio::test]
    async fn the_dispatcher_hands_requests_to_parked_workers_in_order() {
        let server = Silent::start().await;
        let shared = shared();
        let now = Instant::now();
        let workers: Vec<Arc<Mailbox>> = (0..4).map(|_| Arc::default()).collect();
        for w in &workers {
            assert!(shared
                .pool()
                .put(server.key(), server.conn().await, w.clone(), now));
        }
        let inbox = shared.inbox().clone();
        let dispatcher = tokio::spawn(inbox.clone().dispatch(Arc::downgrade(&shared)));

        let items: Vec<_> = (1..=4).map(|i| submit(&shared, &server, i)).collect();
        // Cancelled before the dispatcher got to it: skipped.
        shared.cancel(&items[1].0, "cancelled in the test");
        inbox.push(items, || false);
        settle().await;
        assert_eq!(queued(&inbox), [1, 2, 3, 4], "not kicked: still waiting");

        inbox.kick();
        settle().await;
        assert!(queued(&inbox).is_empty());
        assert!(!inbox.scheduled.load(Ordering::SeqCst));
        // In submit order, each to the most recently parked worker; 2 took none.
        let mut got = Vec::new();
        for w in workers.iter().rev() {
            got.push(job_of(w).await);
        }
        assert_eq!(got, [Some(1), Some(3), Some(4), None]);
        assert_eq!(
            shared.pool().idle_count(),
            1,
            "the spare worker stays parked"
        );
        assert_eq!(server.accepted(), 4, "no new connection was opened");

        // A second round: the dispatcher, idle again, is woken by a driven push.
        inbox.push([submit(&shared, &server, 5)], || true);
        settle().await;
        assert!(queued(&inbox).is_empty());
        assert_eq!(job_of(&workers[0]).await, Some(5));
        dispatcher.abort();
    }

    #[tokio::test]
    async fn without_a_parked_worker_the_dispatcher_starts_a_task() {
        let server = Silent::start().await;
        let shared = shared();
        let inbox = shared.inbox().clone();
        let dispatcher = tokio::spawn(inbox.clone().dispatch(Arc::downgrade(&shared)));
        let (ex, req) = submit(&shared, &server, 1);
        inbox.push([(ex.clone(), req)], || true);
        // The new task opens a connection to the origin.
        let started = Instant::now();
        while server.accepted() == 0 {
            assert!(
                started.elapsed() < Duration::from_millis(200),
                "no connection"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(queued(&inbox).is_empty());
        assert!(!ex.is_complete(), "the silent server has not answered");
        dispatcher.abort();
    }

    #[tokio::test]
    async fn the_dispatcher_ends_when_the_client_is_gone() {
        let inbox = Arc::new(Inbox::default());
        let dispatcher = tokio::spawn(inbox.clone().dispatch(Weak::new()));
        inbox.push([item(1)], || true);
        tokio::time::timeout(Duration::from_millis(200), dispatcher)
            .await
            .expect("the dispatcher returned")
            .unwrap();
    }
}
