//! The client: the engine's public face for Rust callers and for the C layer, on top of
//! the layers below (docs/ARCHITECTURE.md draws them).

use std::collections::HashSet;
use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::dispatch::{Callback, Hub, Runtime, Shared};
use crate::error::{Error, ErrorKind, Result};
use crate::request::{
    BodyStream, Chunk, Completion, Exchange, Handle, Read, Request, State, Table, UrlCache,
};
use crate::transport::Connector;

/// Requests `Client::submit_each` queues at a time.
const CHUNK: usize = 32;

/// Registered requests on their way to the inbox. Dropped early (a panic in the caller's
/// iterator or callback), it still queues them: registered requests must run to complete.
struct Queued<'a> {
    client: &'a Client,
    queued: [Option<(Arc<Exchange>, Box<Request>)>; CHUNK],
    len: usize,
}

impl Queued<'_> {
    fn queue(&mut self) {
        if self.len > 0 {
            let c = self.client;
            c.shared.inbox().push(
                self.queued[..self.len].iter_mut().filter_map(Option::take),
                || c.is_driven(),
            );
            self.len = 0;
        }
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.queue();
    }
}

/// A snapshot of a client's counters.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    pub live_handles: usize,
    /// Idle HTTP/1.1 connections plus shared HTTP/2 connections in the pool.
    pub idle_connections: usize,
    /// Connections opened since the client was created.
    pub connections_opened: usize,
    /// Calls to the system resolver (DNS cache misses).
    pub dns_lookups: usize,
}

pub struct Client {
    shared: Arc<Shared>,
    runtime: OnceLock<Runtime>,
    start_lock: Mutex<()>,
    /// Submit holds it shared while it registers and spawns; close holds it exclusively
    /// to flip `closed`, so no request slips in behind the close.
    gate: RwLock<()>,
    closed: AtomicBool,
}

/// Tags of live clients: a new client takes one no live client holds, so a handle shown to
/// the wrong client is always recognised as foreign. Tag 0 is never issued.
static LIVE_TAGS: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
static NEXT_TAG: AtomicU16 = AtomicU16::new(1);

fn take_tag() -> Result<u16> {
    let mut live = LIVE_TAGS.lock().unwrap_or_else(|p| p.into_inner());
    let live = live.get_or_insert_with(HashSet::new);
    for _ in 0..=u16::MAX as usize {
        let tag = NEXT_TAG.fetch_add(1, Ordering::Relaxed);
        if tag != 0 && live.insert(tag) {
            return Ok(tag);
        }
    }
    Err(Error::new(
        ErrorKind::InvalidArgument,
        "too many live clients (65,535)",
    ))
}

/// Holds the live-tag lock (across a fork(), so no child inherits it held by a thread that
/// does not exist there).
pub(crate) fn hold_tags() -> std::sync::MutexGuard<'static, Option<HashSet<u16>>> {
    LIVE_TAGS.lock().unwrap_or_else(|p| p.into_inner())
}

fn release_tag(tag: u16) {
    if let Some(live) = LIVE_TAGS.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
        live.remove(&tag);
    }
}

impl Client {
    pub fn new(config: Config) -> Result<Client> {
        let hub = Arc::new(Hub::new()?);
        let tag = take_tag()?;
        let connector = Connector::new(&config).inspect_err(|_| release_tag(tag))?;
        Ok(Client {
            shared: Arc::new(Shared::new(config, Table::new(tag), hub, connector)),
            runtime: OnceLock::new(),
            start_lock: Mutex::new(()),
            gate: RwLock::new(()),
            closed: AtomicBool::new(false),
        })
    }

    /// Parses request URLs for this client, remembering the last one.
    pub fn url_cache(&self) -> &UrlCache {
        self.shared.url_cache()
    }

    pub fn config(&self) -> &Config {
        self.shared.config()
    }

    /// The headers sent with every request (the config's defaults, the User-Agent, and
    /// `Accept-Encoding` while decompression is on), one `name: value\r\n` line each, in
    /// the order they are sent.
    pub fn default_header_block(&self) -> Vec<u8> {
        crate::request::header_lines(&self.config().default_headers)
    }

    /// The runtime, started on first use.
    fn runtime(&self) -> Result<&Runtime> {
        if let Some(rt) = self.runtime.get() {
            return Ok(rt);
        }
        let _g = self.start_lock.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(rt) = self.runtime.get() {
            return Ok(rt);
        }
        let inbox = self.shared.inbox().clone();
        let rt = Runtime::start(
            self.shared.config().worker_threads,
            self.shared.hub().clone(),
            Arc::new(move || inbox.kick()),
        )?;
        rt.spawn(
            self.shared
                .inbox()
                .clone()
                .dispatch(Arc::downgrade(&self.shared)),
        );
        if let Some(idle) = self.shared.config().pool_idle_timeout {
            let shared = Arc::downgrade(&self.shared);
            let every = (idle / 2).max(Duration::from_secs(1));
            rt.spawn(async move {
                let mut tick = tokio::time::interval(every);
                loop {
                    tick.tick().await;
                    match shared.upgrade() {
                        Some(s) => s.pool().sweep(),
                        None => break,
                    }
                }
            });
        }
        let _ = self.runtime.set(rt);
        Ok(self.runtime.get().expect("just set"))
    }

    /// Starts a request; it runs on the background runtime until it completes.
    pub fn submit(&self, req: Request) -> Result<Handle> {
        let _open = self.gate.read().unwrap_or_else(|p| p.into_inner());
        let (handle, ex, req) = self.register(req)?;
        self.shared
            .inbox()
            .push(std::iter::once((ex, req)), || self.is_driven());
        Ok(handle)
    }

    /// Starts several requests with a single wake-up of the runtime (or one per chunk of 32,
    /// if the runtime takes a chunk before the next is queued). Returns one result per
    /// request, in order: a handle, or why that request was refused.
    pub fn submit_many(&self, reqs: impl IntoIterator<Item = Request>) -> Vec<Result<Handle>> {
        let mut out = Vec::new();
        self.submit_each(reqs.into_iter().map(|r| ((), r)), |(), r| out.push(r));
        out
    }

    /// As `submit_many`, reporting each request's result to `on_result` with the key it came
    /// with, an accepted request once it is queued. Nothing is allocated per batch: requests
    /// reach the inbox in chunks from the stack (a batch-sized vector, a kilobyte or more, is
    /// an allocation that makes malloc consolidate its small-chunk bins). `on_result` runs
    /// while the client is held open: it must not close the client.
    pub fn submit_each<K>(
        &self,
        reqs: impl IntoIterator<Item = (K, Request)>,
        mut on_result: impl FnMut(K, Result<Handle>),
    ) {
        let _open = self.gate.read().unwrap_or_else(|p| p.into_inner());
        let mut chunk = Queued {
            client: self,
            queued: Default::default(),
            len: 0,
        };
        // The handles of the queued chunk, reported once it is in the inbox.
        let mut keys: [Option<(K, Handle)>; CHUNK] = Default::default();
        fn report<K>(
            keys: &mut [Option<(K, Handle)>],
            on_result: &mut impl FnMut(K, Result<Handle>),
        ) {
            for (key, h) in keys.iter_mut().filter_map(Option::take) {
                on_result(key, Ok(h));
            }
        }
        for (key, req) in reqs {
            match self.register(req) {
                Ok((h, ex, req)) => {
                    chunk.queued[chunk.len] = Some((ex, req));
                    keys[chunk.len] = Some((key, h));
                    chunk.len += 1;
                    if chunk.len == CHUNK {
                        chunk.queue();
                        report(&mut keys, &mut on_result);
                    }
                }
                Err(e) => on_result(key, Err(e)),
            }
        }
        chunk.queue();
        report(&mut keys, &mut on_result);
    }

    /// Validates a request and gives it a handle; the caller holds the gate open.
    /// The request is boxed from here on: it moves through the inbox into the request's
    /// task as one pointer rather than a few hundred bytes at every step.
    fn register(&self, req: Request) -> Result<(Handle, Arc<Exchange>, Box<Request>)> {
        let req = req.validated()?;
        if self.closed.load(Ordering::SeqCst) {
            return Err(Error::closed());
        }
        self.runtime()?;
        let registered = self.shared.register(req)?;
        if let Some(up) = registered.1.upload() {
            // Weak: the exchange holds the upload, and the client's table the exchange.
            let shared = Arc::downgrade(&self.shared);
            let ex = Arc::downgrade(&registered.1);
            up.bind(
                self.shared.config().stream_buffer,
                Box::new(move || {
                    if let (Some(s), Some(e)) = (shared.upgrade(), ex.upgrade()) {
                        s.announce_writable(&e, true);
                    }
                }),
            );
        }
        Ok(registered)
    }

    fn is_driven(&self) -> bool {
        self.runtime.get().is_none_or(Runtime::is_driven)
    }

    pub fn exchange(&self, h: Handle) -> Result<Arc<Exchange>> {
        self.shared.table().get(h)
    }

    pub fn poll(&self, h: Handle) -> Result<State> {
        Ok(self.exchange(h)?.state())
    }

    /// Waits up to `timeout` (None: forever) for the request to complete.
    pub fn wait(&self, h: Handle, timeout: Option<Duration>) -> Result<State> {
        let ex = self.exchange(h)?;
        let deadline = timeout.map(|t| Instant::now() + t);
        self.block(deadline, || ex.is_complete());
        Ok(ex.state())
    }

    /// Waits until any of `handles` completes; returns the index of the first complete one
    /// (lowest index if several), or None on timeout.
    pub fn wait_any(&self, handles: &[Handle], timeout: Option<Duration>) -> Result<Option<usize>> {
        let exs = self.exchanges(handles)?;
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut found = None;
        self.block(deadline, || {
            found = exs.iter().position(|e| e.is_complete());
            found.is_some()
        });
        Ok(found)
    }

    /// Waits until all of `handles` complete; returns false on timeout.
    pub fn wait_all(&self, handles: &[Handle], timeout: Option<Duration>) -> Result<bool> {
        let exs = self.exchanges(handles)?;
        let deadline = timeout.map(|t| Instant::now() + t);
        Ok(self.block(deadline, || exs.iter().all(|e| e.is_complete())))
    }

    /// Blocks until `done()` or the deadline. With `wait_drives_io`, the waiting thread
    /// runs the runtime itself (no thread switch per round trip) when it can; otherwise it
    /// sleeps until the runtime's thread signals a completion. A client with a completion
    /// callback never lends the runtime out: its callbacks stay on the runtime's thread.
    fn block(&self, deadline: Option<Instant>, mut done: impl FnMut() -> bool) -> bool {
        if done() {
            return true;
        }
        let hub = self.shared.hub();
        if self.shared.config().wait_drives_io && !self.is_closed() && !hub.has_callback() {
            if let Some(rt) = self.runtime.get() {
                if let Some(r) = rt.drive(hub.wait_driving(deadline, &mut done)) {
                    return r;
                }
            }
        }
        hub.wait_until(deadline, done)
    }

    fn exchanges(&self, handles: &[Handle]) -> Result<Vec<Arc<Exchange>>> {
        if handles.is_empty() {
            return Err(Error::new(ErrorKind::InvalidArgument, "no handles given"));
        }
        handles.iter().map(|&h| self.exchange(h)).collect()
    }

    /// Aborts a pending request: it completes as cancelled and its connection is closed.
    /// Cancelling a completed request does nothing.
    pub fn cancel(&self, h: Handle) -> Result<()> {
        let ex = self.exchange(h)?;
        self.shared.cancel(&ex, "request cancelled by the caller");
        if let Some(up) = ex.upload() {
            if up.close(Error::new(
                ErrorKind::Cancelled,
                "request cancelled by the caller",
            )) {
                self.shared.announce_writable(&ex, false);
            }
        }
        // A streamed body stops (its connection closes if it was still arriving); a reader
        // waiting for an announcement gets one.
        if let Some(s) = ex.stream() {
            if s.close(Error::new(
                ErrorKind::Cancelled,
                "body cancelled by the caller",
            )) {
                self.shared.announce(&ex, false);
            }
        }
        Ok(())
    }

    /// Releases a handle. A pending request is cancelled first; a streamed body still
    /// arriving stops, and its connection closes.
    pub fn free(&self, h: Handle) -> Result<()> {
        let ex = self.shared.table().remove(h)?;
        if !ex.is_complete() {
            self.shared.cancel(&ex, "request freed while pending");
        }
        if let Some(s) = ex.stream() {
            s.close(Error::new(ErrorKind::Cancelled, "handle freed"));
        }
        if let Some(up) = ex.upload() {
            up.close(Error::new(ErrorKind::Cancelled, "handle freed"));
        }
        self.shared.recycle(ex);
        Ok(())
    }

    /// Reads a streamed response's body into `buf` (see [`BodyStream::read`]).
    pub fn read(&self, h: Handle, buf: &mut [u8]) -> Result<Read> {
        Ok(self.body_stream(h)?.read(buf))
    }

    /// Takes a streamed response's buffered body bytes without copying them (see
    /// [`BodyStream::read_chunk`]).
    pub fn read_chunk(&self, h: Handle) -> Result<Chunk> {
        Ok(self.body_stream(h)?.read_chunk())
    }

    /// [`BodyStream::lend`], with the body bytes received so far (as sent, before content
    /// decoding: [`Exchange::progress`]), read after the chunk was taken.
    pub(crate) fn lend(&self, h: Handle) -> Result<(Chunk, u64)> {
        let ex = self.exchange(h)?;
        let chunk = Self::stream_of(&ex)?.lend();
        Ok((chunk, ex.progress().0))
    }

    /// Blocks until reading the streamed body would not return `Read::Pending`, or the
    /// timeout passes (None: forever); true if readable. Waits for the head first if it has
    /// not arrived. A reader that blocks here is not also sent `Event::Body` announcements.
    pub fn wait_body(&self, h: Handle, timeout: Option<Duration>) -> Result<bool> {
        let deadline = timeout.map(|t| Instant::now() + t);
        // Before the head, the wait covers it too.
        if self.wait(h, timeout)? == State::Pending {
            return Ok(false);
        }
        Ok(self.body_stream(h)?.wait(deadline))
    }

    /// The body stream of a handle whose streamed request completed with its head.
    pub fn body_stream(&self, h: Handle) -> Result<Arc<BodyStream>> {
        let ex = self.exchange(h)?;
        Self::stream_of(&ex).cloned()
    }

    fn stream_of(ex: &Exchange) -> Result<&Arc<BodyStream>> {
        if let Some(s) = ex.stream() {
            return Ok(s);
        }
        Err(match ex.outcome() {
            None => Error::new(ErrorKind::Pending, "the response head has not arrived yet"),
            Some(Err(e)) => e.clone(),
            Some(Ok(_)) => Error::new(
                ErrorKind::InvalidArgument,
                "the request was not marked streaming: its body is in the response",
            ),
        })
    }

    /// The streamed body of a request submitted with one (see [`Upload`](crate::Upload)).
    pub fn upload(&self, h: Handle) -> Result<Arc<crate::Upload>> {
        match self.exchange(h)?.upload() {
            Some(up) => Ok(up.clone()),
            None => Err(Error::new(
                ErrorKind::InvalidArgument,
                "the request was not submitted with a streamed body",
            )),
        }
    }

    /// Moves up to `max` completions (of handles not yet freed) into `out`.
    pub fn drain(&self, out: &mut Vec<Completion>, max: usize) {
        self.shared.hub().drain(out, max, self.shared.table());
    }

    /// Waits up to `timeout` (None: forever) until at least `min` completions (1 ..= `max`)
    /// are in hand, draining up to `max` into `out` as they come. On timeout `out` holds
    /// what came (maybe nothing). The wait drives the runtime like `wait` does. Asking for
    /// several (as io_uring's `min_complete` does) lets one wake-up carry a whole batch.
    pub fn wait_drain(
        &self,
        out: &mut Vec<Completion>,
        max: usize,
        min: usize,
        timeout: Option<Duration>,
    ) {
        let deadline = timeout.map(|t| Instant::now() + t);
        let hub = self.shared.hub();
        let min = min.clamp(1, max.max(1));
        let start = out.len();
        loop {
            self.drain(out, start + max);
            let have = out.len() - start;
            // A closed client completes nothing more: hand over what there is.
            if have >= min || max == 0 || self.is_closed() {
                return;
            }
            let need = min - have;
            if !self.block(deadline, || hub.queued() >= need || self.is_closed()) {
                self.drain(out, start + max);
                return;
            }
        }
    }

    /// A file descriptor readable while completions wait to be drained.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.shared.hub().fd()
    }

    /// Runs `cb` for every completion, on the thread that completes the request.
    pub fn set_callback(&self, cb: Option<Callback>) {
        self.shared.hub().set_callback(cb);
    }

    pub fn live_handles(&self) -> usize {
        self.shared.table().live()
    }

    fn jar(&self) -> Result<&crate::policy::cookies::Jar> {
        self.shared.jar().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidArgument,
                "this client has no cookie jar (Config::cookies)",
            )
        })
    }

    /// Adds a cookie to the jar as if `url` had sent `set_cookie` (a `Set-Cookie` value).
    pub fn cookie_add(&self, url: &str, set_cookie: &str) -> Result<()> {
        self.jar()?.add(url, set_cookie)
    }

    /// The `Authorization` value the client's `.netrc` ([`Config::netrc`]) gives a request
    /// to `url`: the entry for its host, else the file's `default`; None without a file or
    /// an entry. For a caller that sends a request itself (around a transport of its own),
    /// by the rules the engine applies to the requests it sends.
    pub fn netrc_value(&self, url: &str) -> Result<Option<http::HeaderValue>> {
        let (uri, _) = crate::request::parse_url(url.as_bytes())?;
        Ok(self
            .config()
            .netrc
            .as_deref()
            .and_then(|n| n.for_uri(&uri).cloned()))
    }

    /// Empties the jar.
    pub fn cookies_clear(&self) -> Result<()> {
        self.jar()?.clear();
        Ok(())
    }

    /// The jar's unexpired cookies in the Netscape cookie-file format (curl's `-c`).
    pub fn cookies_netscape(&self) -> Result<String> {
        Ok(self.jar()?.to_netscape())
    }

    /// Adds the cookies of a Netscape cookie file's text (curl's `-b`); returns how many.
    pub fn cookies_load_netscape(&self, text: &str) -> Result<usize> {
        self.jar()?.load_netscape(text)
    }

    /// Counters for tests and monitoring.
    pub fn stats(&self) -> Stats {
        Stats {
            live_handles: self.shared.table().live(),
            idle_connections: self.shared.pool().idle_count(),
            connections_opened: self.shared.connector().opened(),
            dns_lookups: self.shared.connector().resolver.lookups(),
        }
    }

    /// Cancels everything in flight, stops the runtime and closes every connection.
    /// Handles stay readable (as cancelled) until freed. Idempotent.
    pub fn close(&self) {
        {
            let _g = self.gate.write().unwrap_or_else(|p| p.into_inner());
            if self.closed.swap(true, Ordering::SeqCst) {
                return;
            }
        }
        for ex in self.shared.table().all() {
            self.shared.cancel(&ex, "cancelled: the client was closed");
        }
        // A wait_drain for more completions than were in flight would otherwise wait on.
        self.shared.hub().wake_waiters();
        if let Some(rt) = self.runtime.get() {
            rt.shutdown();
        }
        self.shared.hub().clear_wakers();
        self.shared.pool().clear();
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.close();
        release_tag(self.shared.table().tag());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_freed_exchange_serves_the_next_request_and_a_held_one_does_not() {
        let c = Client::new(Config::default()).unwrap();
        // Port 1 on loopback refuses at once: the request completes without a server.
        let url = b"http://127.0.0.1:1/";
        let a = c.submit(Request::new(b"GET", url)).unwrap();
        assert_eq!(
            c.wait(a, Some(Duration::from_secs(10))).unwrap(),
            State::Failed
        );
        let first = Arc::as_ptr(&c.exchange(a).unwrap());
        c.free(a).unwrap();
        assert_eq!(c.shared.spare_counts().0, 1);

        let b = c.submit(Request::new(b"GET", url)).unwrap();
        let held = c.exchange(b).unwrap();
        assert_eq!(Arc::as_ptr(&held), first, "the freed exchange is reused");
        assert_eq!(held.handle, b);
        c.wait(b, Some(Duration::from_secs(10))).unwrap();
        // Someone still holds it: freeing the handle must not recycle it.
        c.free(b).unwrap();
        assert!((c.shared.spare_counts().0 == 0));
        assert!(held.is_complete());
        drop(held);
        c.close();
    }

    #[test]
    fn a_sent_requests_box_carries_the_next_request_whole() {
        let c = Client::new(Config::default()).unwrap();
        // Refused at once on loopback: each request fails naming its own port.
        let wait_failed = |h| {
            assert_eq!(
                c.wait(h, Some(Duration::from_secs(10))).unwrap(),
                State::Failed
            );
            match c.exchange(h).unwrap().outcome() {
                Some(Err(e)) => e.to_string(),
                other => panic!("expected a failure, got {other:?}"),
            }
        };
        let mut a = Request::new(b"GET", b"http://127.0.0.1:1/a");
        a.user_data = 7;
        let a = c.submit(a).unwrap();
        assert!(wait_failed(a).contains("127.0.0.1:1"));
        assert_eq!(c.shared.spare_counts().1, 1, "the box was kept");

        let mut b = Request::new(b"POST", b"http://127.0.0.1:2/b");
        b.user_data = 9;
        let b = c.submit(b).unwrap();
        let message = wait_failed(b);
        assert!(message.contains("127.0.0.1:2"), "{message}");
        assert_eq!(c.exchange(b).unwrap().user_data(), 9);
        assert_eq!(c.shared.spare_counts().1, 1, "reused and kept again");
        c.close();
    }
}
