//! Running one request on the runtime: connect or reuse, send, read the body, complete.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use crate::transport::Body;
use bytes::{Bytes, BytesMut};
use http::header::{
    HeaderMap, HeaderValue, ACCEPT_ENCODING, AUTHORIZATION, CONNECTION, CONTENT_LENGTH, COOKIE,
    HOST, LOCATION, RETRY_AFTER, TRANSFER_ENCODING,
};
use http::uri::PathAndQuery;
use http::{Method, Uri};
use hyper::body::Body as _;
use hyper::body::Incoming;

use super::shared::Shared;
use crate::config::{AuthScheme, RedirectPolicy, RetryPolicy};
use crate::error::{Error, ErrorKind, Result};
use crate::policy::auth::DigestCreds;
use crate::policy::cookies::Jar;
use crate::policy::decode::{self, Decoder};
use crate::policy::retry::{self, Attempt};
use crate::policy::{auth, redirect};
use crate::pool::{Gate, Grant, Job, Limiter, Mailbox, Returned};
use crate::request::{
    with_fragment, BodyStream, Exchange, Hop, Request, Response, Rest, SpeedOverrides, Speeds,
    Stamps, Upload, UploadBody, MAX_PIECES,
};
use crate::transport::{
    blame_write_timeout, map_hyper, pace, watch_handed, Conn, Hold, Phase, PoolKey, Streams,
    Traffic,
};

use super::speed::{
    measure, read_timeout_error, slow_head_error, throttle, BodyTimer, HeadSpeed, HeadWatch,
};

/// The limits in force for one request, after per-request overrides.
struct Limits {
    connect: Option<Duration>,
    total: Option<Duration>,
    read: Option<Duration>,
    /// Longest wait in the queue of the connection caps.
    pool: Option<Duration>,
    write: Option<Duration>,
    max_body: u64,
    speed: Option<crate::config::LowSpeed>,
    /// The receive-rate cap, bytes per second.
    rate: Option<u64>,
}

/// A request task: runs its request and completes its exchange exactly once (if the task
/// is dropped (client closed) or panics, the guard completes it instead). While its HTTP/1.1
/// connection stays fit for reuse, the task parks with it in the pool and runs the next
/// request the dispatcher hands it (see `worker`).
pub(crate) async fn run(shared: Arc<Shared>, mailbox: Arc<Mailbox>, first: Job) {
    mailbox.start().await;
    let mut job = first;
    loop {
        let Job { ex, req, conn } = job;
        let guard = CompleteOnDrop {
            shared: &shared,
            ex: &ex,
        };
        let mut kept = Kept::default();
        let handle = ex.handle;
        let outcome = mailbox
            .stoppable(handle, execute(&shared, req, &ex, conn, &mut kept))
            .await;
        let Some(outcome) = outcome else {
            // Cancelled (already completed as such); its connection is dropped with it.
            drop(guard);
            ex.detach_task();
            return;
        };
        std::mem::forget(guard);
        shared.complete(&ex, outcome, true);
        ex.detach_task();
        if let Some(tail) = kept.tail.take() {
            // A streamed response's reader now has the head (unless a cancel completed the
            // request first: then the exchange has no stream and the tail is dropped): the
            // body follows at the reader's pace. (Boxed: streaming is the exception.)
            if ex.stream().is_some() {
                kept.conn = Box::pin(pump(&shared, &ex, tail)).await;
            }
        }
        drop(ex);
        let Some((key, conn, done)) = kept.conn else {
            return;
        };
        if !shared.pool().put(key, conn, mailbox.clone(), done) {
            return;
        }
        match mailbox.next().await {
            Some(next) => job = next,
            None => return,
        }
    }
}

/// The pool key a request's URL maps to; None without a host.
pub(crate) fn pool_key(req: &Request) -> Option<PoolKey> {
    pool_key_of(&req.uri)
}

fn pool_key_of(uri: &Uri) -> Option<PoolKey> {
    Some(PoolKey {
        https: uri.scheme() == Some(&http::uri::Scheme::HTTPS),
        authority: uri.authority()?.clone(),
    })
}

/// What an exchange leaves behind for the task: an HTTP/1.1 connection fit for the next
/// request (with the time it became free), and for a streamed response its unread body.
#[derive(Default)]
struct Kept {
    conn: Option<(PoolKey, Conn, Instant)>,
    /// Boxed: streaming is the exception, and this travels through every request's future.
    tail: Option<Box<Tail>>,
}

struct CompleteOnDrop<'a> {
    shared: &'a Shared,
    ex: &'a Exchange,
}

impl Drop for CompleteOnDrop<'_> {
    fn drop(&mut self) {
        let err = if std::thread::panicking() {
            Error::new(
                ErrorKind::Internal,
                "request task panicked (a bug in httpring)",
            )
        } else {
            Error::new(ErrorKind::Cancelled, "request cancelled")
        };
        self.shared.complete(self.ex, Err(err), true);
    }
}

/// Runs one request on `conn` (handed over with the request at the given time) or a pooled
/// or new connection; leaves an HTTP/1.1 connection that can take another request in `kept`,
/// with the time the request completed.
async fn execute(
    shared: &Shared,
    req: Box<Request>,
    ex: &Exchange,
    conn: Option<Conn>,
    kept: &mut Kept,
) -> Result<Response> {
    let started = ex.started;
    let cfg = &shared.config();
    let o = req.timeouts;
    let speeds = Speeds::of(req.speeds.as_deref(), cfg);
    let limits = Limits {
        connect: o.connect.unwrap_or(cfg.connect_timeout),
        total: o.total.unwrap_or(cfg.timeout),
        read: o.read.unwrap_or(cfg.read_timeout),
        pool: o.pool.unwrap_or(cfg.pool_timeout),
        write: o.write.unwrap_or(cfg.write_timeout),
        max_body: cfg.max_body_size,
        speed: speeds.low_speed,
        rate: speeds.max_recv,
    };
    match limits.total {
        Some(total) => {
            let deadline = tokio::time::Instant::from_std(started) + total;
            // Boxed: no total timeout is the default, and this branch would otherwise add a
            // timer entry to every request's future.
            let limited = Box::pin(tokio::time::timeout_at(
                deadline,
                send(shared, req, &limits, ex, conn, kept),
            ));
            match limited.await {
                Ok(r) => r,
                Err(_) => Err(Error::new(
                    ErrorKind::Timeout,
                    format!("request did not complete within the total timeout of {total:?}"),
                )),
            }
        }
        None => send(shared, req, &limits, ex, conn, kept).await,
    }
}

async fn send(
    shared: &Shared,
    mut req: Box<Request>,
    limits: &Limits,
    ex: &Exchange,
    given: Option<Conn>,
    kept: &mut Kept,
) -> Result<Response> {
    let key = pool_key(&req).ok_or_else(|| Error::new(ErrorKind::InvalidUrl, "URL has no host"))?;
    let client = shared.config().redirects;
    let policy = RedirectPolicy {
        follow: req.follow_redirects.unwrap_or(client.follow),
        max: req.max_redirects.unwrap_or(client.max),
        ..client
    };
    let retries = req.retries.unwrap_or(shared.config().retry.max_retries);
    let mut parts = Parts::new(shared, &mut req);
    shared.keep_request_box(req);
    if retries > 0 {
        // Boxed: retries are off by default.
        return Box::pin(retrying(
            shared, parts, key, policy, retries, limits, ex, given, kept,
        ))
        .await;
    }
    if policy.follow {
        // Boxed: a request that follows no redirects keeps its task's future small.
        return Box::pin(follow(shared, parts, key, policy, limits, ex, given, kept)).await;
    }
    if parts.digest.is_some() {
        // Boxed: the plain path below stays one future, without the retry's state.
        return Box::pin(send_authed(
            shared, &mut parts, key, limits, ex, given, kept,
        ))
        .await;
    }
    send_parts(shared, &parts, key, limits, ex, given, kept).await
}

/// Runs the request (with its redirects and Digest answer) until an attempt ends in a way
/// the retry policy does not retry, or the next wait would pass the total timeout; records
/// the attempts in the exchange.
#[allow(clippy::too_many_arguments)]
async fn retrying(
    shared: &Shared,
    parts: Parts<'_>,
    key: PoolKey,
    policy: RedirectPolicy,
    retries: u32,
    limits: &Limits,
    ex: &Exchange,
    mut given: Option<Conn>,
    kept: &mut Kept,
) -> Result<Response> {
    let retry = RetryPolicy {
        max_retries: retries,
        ..shared.config().retry.clone()
    };
    let deadline = limits.total.map(|t| ex.started + t);
    let idempotent = parts.idempotent();
    let mut done = 0;
    loop {
        let mut attempt = parts.clone();
        let out = if policy.follow {
            Box::pin(follow(
                shared,
                attempt,
                key.clone(),
                policy,
                limits,
                ex,
                given.take(),
                kept,
            ))
            .await
        } else {
            send_authed(
                shared,
                &mut attempt,
                key.clone(),
                limits,
                ex,
                given.take(),
                kept,
            )
            .await
        };
        let wait = match &out {
            Ok(r) => retry::next_wait(
                &retry,
                done,
                idempotent,
                Attempt::Status(r.status, r.headers.get(RETRY_AFTER)),
            ),
            Err(e) => retry::next_wait(&retry, done, idempotent, Attempt::Failed(e)),
        };
        let Some(wait) = wait.filter(|_| parts.can_resend()) else {
            return out;
        };
        if deadline.is_some_and(|d| Instant::now() + wait >= d) {
            return out;
        }
        drop(out);
        // A streamed answer not taken: its connection closes.
        kept.tail = None;
        // Under connection caps, the connection is not held through the wait: a request
        // queued for its origin takes it (we open or find another after the wait).
        if let Some(limiter) = shared.pool().limiter() {
            if let Some((k, mut conn, t)) = kept.conn.take() {
                conn.reused = true;
                if let Returned::Keep(conn) = limiter.hand_over(&k, conn) {
                    kept.conn = Some((k, conn, t));
                }
            }
        }
        tokio::time::sleep(wait).await;
        done += 1;
        ex.set_attempts(done + 1);
        given = kept_for(kept, &key);
    }
}

/// Sends a request and each request its redirects ask for, until a response that is the
/// answer (see `policy::redirect`). A connection left fit for reuse by one hop carries the
/// next when it goes to the same origin.
#[allow(clippy::too_many_arguments)]
async fn follow(
    shared: &Shared,
    mut parts: Parts<'_>,
    mut key: PoolKey,
    policy: RedirectPolicy,
    limits: &Limits,
    ex: &Exchange,
    mut given: Option<Conn>,
    kept: &mut Kept,
) -> Result<Response> {
    let mut hops: Vec<Hop> = Vec::new();
    loop {
        let mut resp = send_authed(shared, &mut parts, key, limits, ex, given.take(), kept).await?;
        let next = policy.next(
            &parts.method,
            &parts.uri,
            resp.status,
            resp.headers.get(LOCATION),
            hops.len(),
        )?;
        // A streamed body that has gone cannot go to the next hop unless the hop drops it;
        // a hop into an origin the caller keeps for itself is the caller's.
        let stops = &shared.config().redirect_stops;
        let Some(next) = next.filter(|n| {
            (n.to_get || parts.can_resend())
                && (stops.is_empty() || !redirect::stops_at(stops, &n.uri))
        }) else {
            resp.hops = hops;
            return Ok(resp);
        };
        hops.push(Hop {
            status: resp.status,
            url: with_fragment(&parts.url, parts.fragment.as_deref()),
        });
        redirect::rewrite_headers(&mut parts.headers, &next);
        if next.to_get {
            parts.method = Method::GET;
            parts.body = Bytes::new();
            if let Some(up) = parts.upload.take() {
                up.close(Error::new(ErrorKind::Cancelled, "redirected to a GET"));
            }
        }
        parts.no_default_credentials |= next.cross_origin;
        parts.no_default_host |= next.other_host;
        if next.cross_origin {
            parts.digest = None;
        }
        // User info in the Location is meant for the next hop: it wins.
        if let Some(v) = auth::basic_from_userinfo(&next.uri) {
            parts.headers.insert(AUTHORIZATION, v);
        } else if parts.netrc && next.cross_origin && !parts.headers.contains_key(AUTHORIZATION) {
            // A new host gets its own .netrc entry, never the last one's (as curl, requests).
            let netrc = shared.config().netrc.as_deref();
            if let Some(v) = netrc.and_then(|n| n.for_uri(&next.uri)) {
                parts.headers.insert(AUTHORIZATION, v.clone());
            }
        }
        parts.uri = next.uri;
        parts.url = next.url;
        if next.fragment.is_some() {
            parts.fragment = next.fragment;
        }
        key = pool_key_of(&parts.uri)
            .ok_or_else(|| Error::new(ErrorKind::InvalidUrl, "redirect URL has no host"))?;
        given = kept_for(kept, &key);
    }
}

/// [`send_parts`], answering a Digest challenge once (twice for a stale nonce) when the
/// request has Digest credentials (reached only by such requests and by redirect chains,
/// both boxed).
async fn send_authed(
    shared: &Shared,
    parts: &mut Parts<'_>,
    key: PoolKey,
    limits: &Limits,
    ex: &Exchange,
    given: Option<Conn>,
    kept: &mut Kept,
) -> Result<Response> {
    let mut resp = send_parts(shared, parts, key, limits, ex, given, kept).await?;
    // One answer to a challenge, and one more if the server then calls that answer's nonce
    // stale (as curl does); a second plain 401 is the result (wrong credentials).
    for stale_only in [false, true] {
        if resp.status != 401 {
            return Ok(resp);
        }
        let Some(creds) = parts.digest.as_ref().filter(|_| parts.can_resend()) else {
            return Ok(resp);
        };
        let Some(answer) = auth::digest_answer(
            creds,
            &parts.method,
            &parts.uri,
            &parts.body,
            &resp.headers,
            stale_only,
        ) else {
            return Ok(resp);
        };
        parts.headers.insert(AUTHORIZATION, answer);
        let key = pool_key_of(&parts.uri)
            .ok_or_else(|| Error::new(ErrorKind::InvalidUrl, "URL has no host"))?;
        let given = kept_for(kept, &key);
        resp = send_parts(shared, parts, key, limits, ex, given, kept).await?;
    }
    Ok(resp)
}

/// The connection the last exchange left fit for reuse, if it goes to `key` (else dropped).
fn kept_for(kept: &mut Kept, key: &PoolKey) -> Option<Conn> {
    match kept.conn.take() {
        Some((k, conn, _)) if k == *key => Some(conn),
        _ => None,
    }
}

/// One request and its response on a handed-over, pooled or new connection.
async fn send_parts(
    shared: &Shared,
    parts: &Parts<'_>,
    key: PoolKey,
    limits: &Limits,
    ex: &Exchange,
    mut given: Option<Conn>,
    kept: &mut Kept,
) -> Result<Response> {
    // The unread body of an earlier answer (a redirect, a challenge) is not wanted: its
    // connection closes now, before this exchange looks for one.
    kept.tail = None;
    let url = with_fragment(&parts.url, parts.fragment.as_deref());
    let mut retried = false;
    let mut refusals = 0;
    let (conn, resp, conn_start, conn_ready) = loop {
        let conn_start = Instant::now();
        let handed = match given.take() {
            Some(mut c) => c.ready().await.then_some(c),
            None => None,
        };
        let (mut conn, conn_ready) = match handed {
            Some(mut handed) => {
                // Handed over by the last exchange (a redirect hop, a Digest answer, a
                // retry), which marked it fresh for the stale-connection rule: it is reused.
                handed.reused = true;
                (handed, conn_start)
            }
            None => (obtain(shared, &key, limits).await?, Instant::now()),
        };
        // What watches the body while the head is awaited: its HTTP/2 window for the write
        // timeout, its speed for the low-speed limit (boxed: the request's future stays as
        // small as without them).
        let mut watch = None;
        let mut wire = parts.build(&conn, limits.write, &mut watch)?;
        if !conn.is_h2() {
            if let Some(t) = &conn.activity {
                t.set_write_limit(limits.write);
            }
        }
        // A request without a body under the low-speed limit: the server's silence before the
        // head is a speed of 0, so the limit's time bounds that wait too (as curl's
        // LOW_SPEED_TIME does). With a body, its check (`SendCheck`) does so once the body was
        // handed over.
        let slow_head = limits
            .speed
            .filter(|s| limits.read.is_none_or(|r| s.time < r))
            .filter(|_| watch.as_ref().is_none_or(|w| w.sending.is_none()));
        let head_limit = slow_head.map_or(limits.read, |s| Some(s.time));
        // Its speed too, not only its silence: a head trickled under the limit fails. HTTP/1.1
        // only: an HTTP/2 head comes in one HEADERS frame, and the connection's bytes are
        // every stream's (its silence rule is the stream's own: `H2Wait`).
        if let (Some(s), Some(t), false) = (limits.speed, conn.activity.as_deref(), conn.is_h2()) {
            if watch.as_ref().is_none_or(|w| w.sending.is_none()) {
                let moved = t.moved.load(Ordering::Relaxed);
                watch.get_or_insert_with(Default::default).speed = Some(HeadSpeed::new(s, moved));
            }
        }
        // Over HTTP/2 the connection's reads are every stream's: a body still being sent is
        // told apart by when hyper lets go of it.
        let handed_body =
            (head_limit.is_some() && conn.streams().is_some() && !wire.body().is_end_stream())
                .then(|| watch_handed(wire.body_mut()));
        let mut timer = conn.read_timer.take();
        let sending = conn.send(wire);
        let idle = conn.activity.as_deref().map(|t| Idle {
            moved: &t.moved,
            seen: t.moved.load(Ordering::Relaxed),
            h2: conn.streams().map(|streams| {
                let mut h2 = H2Wait {
                    written: streams.writes(),
                    streams,
                    handed: handed_body.as_deref(),
                    busy: false,
                };
                h2.busy = h2.busy_now();
                h2
            }),
        });
        let sent = within_reusing(
            &mut timer,
            head_limit,
            idle,
            watch.as_deref_mut(),
            sending,
            || {
                match slow_head {
                    Some(s) => slow_head_error(s.time),
                    None => read_timeout_error(limits.read, "waiting for the response head"),
                }
                .unanswered()
            },
        )
        .await?;
        // HTTP/2 connections are shared by concurrent requests: each keeps its own timer.
        if !conn.is_h2() {
            conn.read_timer = timer;
        }
        match sent {
            Ok(resp) => break (conn, resp, conn_start, conn_ready),
            Err(e) => {
                // A pooled connection the server had closed: either hyper saw it before
                // writing (the request comes back unsent), or the server reset it without
                // answering. Either way the request goes once more on a new connection,
                // the second case only for idempotent methods (RFC 9110 §9.2.2), as curl
                // and browsers do.
                let unsent = e.message().is_some();
                let err = e.into_error();
                if let Some(e) = parts.upload.as_ref().and_then(|up| up.failure()) {
                    return Err(e);
                }
                let again = parts.can_resend();
                if again && conn.reused && !retried && (unsent || parts.idempotent() && stale(&err))
                {
                    retried = true;
                    continue;
                }
                // An HTTP/2 stream the server refused, or one above the last stream its
                // GOAWAY covers, was never processed (RFC 9113 §8.7): any method goes again
                // (a refusal's usual cause, a burst sent before the server's stream limit was
                // known, is queued properly the second time; after a GOAWAY the connection
                // takes no new streams, so the request goes on another).
                if unprocessed(&err) {
                    if again && refusals < MAX_REFUSALS {
                        refusals += 1;
                        continue;
                    }
                    let why = if again {
                        format!("sent {} times", MAX_REFUSALS + 1)
                    } else {
                        "its body was streamed".to_string()
                    };
                    let what = format!(
                        "the server did not process the request (HTTP/2) and it was not sent \
                         again ({why})"
                    );
                    return Err(map_hyper(err, &what).unanswered());
                }
                // A head that did not parse was sent fine: say what failed.
                if err.is_parse() || err.is_parse_status() {
                    return Err(map_hyper(err, "reading the response head"));
                }
                // A connection closed before any answer: the request may well have gone.
                let phase = match err.is_incomplete_message() {
                    true => "waiting for the response head",
                    false => "sending the request",
                };
                let err = map_hyper(err, phase).unanswered();
                return Err(blame_write_timeout(&conn, err));
            }
        }
    };

    let first_byte = Instant::now();
    // The socket's write clock now: later writes (another HTTP/2 stream's) are not ours.
    let written = conn
        .facts()
        .written
        .as_deref()
        .map_or(0, |w| w.load(std::sync::atomic::Ordering::Relaxed));
    let (mut head, body) = resp.into_parts();
    let reason = head
        .extensions
        .remove::<hyper::ext::ReasonPhrase>()
        .map(|r| Bytes::copy_from_slice(r.as_bytes()));
    // The length that will come: none for a response that has no body (to HEAD, or 204 or
    // 304: their Content-Length describes another response, and over HTTP/2 hyper reports it
    // as this body's size), else Content-Length as hyper validated it.
    let bodiless = parts.method == Method::HEAD
        || matches!(head.status.as_u16(), 204 | 304)
        || body.is_end_stream();
    let declared = if bodiless {
        Some(0)
    } else {
        body.size_hint().exact()
    };
    // A transfer coding never asked for (see `unasked_transfer_coding`): only a body of
    // unknown length can have one, so the usual Content-Length body pays no lookup.
    if declared.is_none() && head.headers.contains_key(TRANSFER_ENCODING) {
        if let Some(coding) = unasked_transfer_coding(&head.headers) {
            return Err(Error::new(
                ErrorKind::Protocol,
                format!(
                    "the response uses the transfer coding {coding:?}, which was not asked for \
                     (no TE header is sent: only chunked is understood)"
                ),
            ));
        }
    }
    // A streamed body is not held whole: the size limit is for buffered ones.
    let max_body = if parts.stream {
        u64::MAX
    } else {
        limits.max_body
    };
    if declared.is_some_and(|n| n > max_body) {
        return Err(too_large(max_body));
    }
    if let Some(jar) = shared.jar() {
        jar.store_from(&parts.uri, &head.headers);
    }
    let decoder = if parts.decompress && !bodiless {
        Decoder::for_response(&head.headers, max_body)?
    } else {
        None
    };
    ex.start_body(declared);
    let close = head
        .headers
        .get(CONNECTION)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
    let stamps = |conn: &Conn| Stamps {
        look: conn_start,
        ready: conn_ready,
        first: first_byte,
        written,
        reused: conn.reused,
        facts: conn.facts().clone(),
    };
    if parts.stream {
        // Complete with the head; the task reads the body into the stream afterwards.
        let stream = Arc::new(BodyStream::new(shared.config().stream_buffer));
        let mut resp = Response::new(
            head.status.as_u16(),
            head.version,
            head.headers,
            (Bytes::new(), None),
            url,
            first_byte.saturating_duration_since(ex.started),
            stamps(&conn),
        );
        resp.stream = Some(stream.clone());
        resp.reason = reason;
        kept.tail = Some(Box::new(Tail {
            body,
            decoder,
            stream,
            read: limits.read,
            speed: limits.speed,
            rate: limits.rate,
            conn,
            key,
            close,
        }));
        return Ok(resp);
    }
    let keep = if shared.config().body_pieces {
        MAX_PIECES
    } else {
        1
    };
    let body = read_body(
        body,
        declared,
        limits,
        keep,
        decoder,
        ex,
        conn.activity.as_deref(),
    )
    .await
    .map_err(|e| blame_write_timeout(&conn, e))?;
    let done = Instant::now();
    let stamps = stamps(&conn);
    keep_or_release(shared, &mut kept.conn, key, conn, close, done);
    let mut resp = Response::new(
        head.status.as_u16(),
        head.version,
        head.headers,
        body,
        url,
        done.saturating_duration_since(ex.started),
        stamps,
    );
    resp.reason = reason;
    Ok(resp)
}

/// A connection whose response was read to the end: an HTTP/1.1 one the server keeps open is
/// returned for the next request; any other is let go, and under a total connection cap an
/// unused HTTP/2 one may be closed to make room for a waiter of another origin.
/// (Written in place and inlined: a `Conn` is large, and this runs for every request.)
#[inline(always)]
fn keep_or_release(
    shared: &Shared,
    kept: &mut Option<(PoolKey, Conn, Instant)>,
    key: PoolKey,
    mut conn: Conn,
    close: bool,
    done: Instant,
) {
    if !close && !conn.is_h2() {
        if let Some(t) = &conn.activity {
            t.done();
        }
        conn.reused = false;
        *kept = Some((key, conn, done));
        return;
    }
    if let Some(limiter) = shared.pool().limiter() {
        drop(conn);
        if let Some(waiting) = limiter.first_held_by_total() {
            shared.pool().evict_idle_except(&waiting);
        }
    }
}

/// The unread body of a streamed response and the connection it arrives on.
struct Tail {
    body: Incoming,
    decoder: Option<Decoder>,
    stream: Arc<BodyStream>,
    /// The read (idle) timeout between frames, counted only while the stream has room.
    read: Option<Duration>,
    /// The low-speed limit, counted the same way.
    speed: Option<crate::config::LowSpeed>,
    /// The receive-rate cap.
    rate: Option<u64>,
    conn: Conn,
    key: PoolKey,
    /// The server said `Connection: close`.
    close: bool,
}

/// What the body pump waits for next.
enum Step {
    Frame(Option<std::result::Result<hyper::body::Frame<Bytes>, hyper::Error>>),
    Gone,
    Silent,
}

/// Reads a streamed body into its stream as the reader makes room, announcing data to a
/// reader that found the stream empty; returns the connection when the body ended and it is
/// fit for reuse. A reader that goes away (cancel, free) stops it, and its connection closes.
async fn pump(shared: &Shared, ex: &Exchange, tail: Box<Tail>) -> Option<(PoolKey, Conn, Instant)> {
    let Tail {
        mut body,
        mut decoder,
        stream,
        read,
        speed,
        rate,
        conn,
        key,
        close,
    } = *tail;
    let mut timer = BodyTimer::new(read, speed, rate);
    // If the task is dropped (the client closes), the reader learns it.
    struct Abandoned<'a>(&'a BodyStream, bool);
    impl Drop for Abandoned<'_> {
        fn drop(&mut self) {
            if self.1 {
                self.0.finish(Err(Error::closed()), None);
            }
        }
    }
    let mut guard = Abandoned(&stream, true);
    let announce = |tell: bool| {
        if tell {
            shared.announce(ex, true);
        }
    };
    let end = loop {
        // Room first: while the reader lags, the server is held back, not timed.
        if !std::future::poll_fn(|cx| stream.poll_wanted(cx, true)).await {
            guard.1 = false;
            return None;
        }
        timer.arm();
        let mut told = false;
        let step = std::future::poll_fn(|cx| {
            if let Poll::Ready(f) = Pin::new(&mut body).poll_frame(cx) {
                return Poll::Ready(Step::Frame(f));
            }
            if let (false, Some(t)) = (told, conn.activity.as_deref()) {
                t.waiting(); // see read_body; once per wait
                told = true;
            }
            if stream.poll_wanted(cx, false).is_ready() {
                return Poll::Ready(Step::Gone);
            }
            timer.poll_deadline(cx).map(|()| Step::Silent)
        })
        .await;
        let frame = match step {
            Step::Gone => {
                guard.1 = false;
                return None;
            }
            Step::Silent => match timer.fired("reading the response body") {
                Ok(()) => continue, // enough in that low-speed window: the next one
                Err(e) => break Err(e),
            },
            Step::Frame(None) => break Ok(None),
            Step::Frame(Some(Err(e))) => {
                let err = map_hyper(e, "reading the response body");
                break Err(blame_write_timeout(&conn, err));
            }
            Step::Frame(Some(Ok(f))) => f,
        };
        let frame = match frame.into_data() {
            Ok(data) => data,
            Err(frame) => match frame.into_trailers() {
                Ok(t) => break Ok(Some(t)),
                Err(_) => continue,
            },
        };
        ex.add_received(frame.len());
        let pause = match timer.arrived(frame.len()) {
            Ok(pause) => pause,
            Err(e) => break Err(e),
        };
        if let Some(d) = decoder.as_mut() {
            // Decoded a piece at a time, with room awaited before each: a few bytes may
            // decode to gigabytes, which must wait for the reader like the server's bytes.
            d.feed(frame);
            match drain_decoded(d, &stream, &announce).await {
                Some(Ok(())) => {}
                Some(Err(e)) => break Err(e),
                None => {
                    guard.1 = false;
                    return None;
                }
            }
        } else {
            announce(stream.push(frame));
        }
        if let Some(until) = pause {
            // The receive-rate cap: not read until then; a reader that goes away ends it.
            timer.pause(until);
            let gone = std::future::poll_fn(|cx| {
                if stream.poll_wanted(cx, false).is_ready() {
                    return Poll::Ready(true);
                }
                timer.poll_deadline(cx).map(|()| false)
            })
            .await;
            if gone {
                guard.1 = false;
                return None;
            }
        }
    };
    guard.1 = false;
    let end = match end {
        Ok(trailers) => {
            let rest = match decoder.as_mut() {
                Some(d) => {
                    d.end();
                    match drain_decoded(d, &stream, &announce).await {
                        Some(rest) => rest,
                        None => return None, // the reader went away
                    }
                }
                None => Ok(()),
            };
            match rest {
                Ok(()) => {
                    announce(stream.finish(Ok(()), trailers));
                    let mut kept = None;
                    keep_or_release(shared, &mut kept, key, conn, close, Instant::now());
                    return kept;
                }
                Err(e) => e,
            }
        }
        Err(e) => e,
    };
    announce(stream.finish(Err(end), None));
    drop(conn);
    None
}

/// A transfer coding other than chunked in the response's `Transfer-Encoding`: the client
/// sends no `TE`, so a server may use no other (RFC 9110 §10.1.4), and hyper would hand its
/// body over still coded (`gzip, chunked`) or read to close (`gzip`).
fn unasked_transfer_coding(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(TRANSFER_ENCODING)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .find(|t| !t.is_empty() && !t.eq_ignore_ascii_case(b"chunked"))
        .map(|t| String::from_utf8_lossy(t).into_owned())
}

/// Moves what a streamed body's decoder yields from the frames fed so far into its stream,
/// a piece at a time, each once the stream has room. None when the reader went away.
async fn drain_decoded(
    d: &mut Decoder,
    stream: &BodyStream,
    announce: &impl Fn(bool),
) -> Option<Result<()>> {
    loop {
        if !std::future::poll_fn(|cx| stream.poll_wanted(cx, true)).await {
            return None;
        }
        match d.pull() {
            Ok(Some(piece)) => announce(stream.push(piece)),
            Ok(None) => return Some(Ok(())),
            Err(e) => return Some(Err(e)),
        }
    }
}

/// The request's pieces, kept so it can be rebuilt for a retry or for another protocol.
#[derive(Clone)]
struct Parts<'a> {
    method: Method,
    uri: Uri,
    /// The URL text `uri` was parsed from (and shares memory with).
    url: Bytes,
    /// The fragment the response's URL shows (never sent; boxed: nearly always None).
    #[allow(clippy::box_collection)]
    fragment: Option<Box<String>>,
    /// The request's own headers (usually none); the client's defaults join them per send.
    headers: HeaderMap,
    /// Leave out the client's default credentials (a redirect left their origin).
    no_default_credentials: bool,
    /// Leave out a default `Host` (a redirect left its host).
    no_default_host: bool,
    /// The client's .netrc applies to this request (and gives each redirect hop's host its
    /// own entry).
    netrc: bool,
    /// Decode the response's content coding.
    decompress: bool,
    /// Credentials to answer a Digest challenge with (boxed: a pointer in every request's
    /// future instead of two strings).
    digest: Option<Box<DigestCreds>>,
    /// Leave out the `Accept-Encoding` default (this request turned decoding off).
    no_accept_encoding: bool,
    /// Client default headers this request leaves out (a pointer, not a 24-byte `Vec`: it
    /// is in every request's future and nearly always None).
    #[allow(clippy::box_collection)]
    withheld: Option<Box<Vec<http::HeaderName>>>,
    shared: &'a Shared,
    body: Bytes,
    /// A streamed body instead of `body`: sent once.
    upload: Option<Arc<Upload>>,
    /// Complete with the head; the body goes to a stream.
    stream: bool,
    /// The request's own speed limits (boxed, as in `Request`): the send-rate cap is read
    /// per send.
    speeds: Option<Box<SpeedOverrides>>,
}

impl<'a> Parts<'a> {
    /// Takes the request's pieces (leaving it empty); adds Content-Length for bodies.
    fn new(shared: &'a Shared, req: &mut Request) -> Parts<'a> {
        let method = std::mem::take(&mut req.method);
        let uri = std::mem::take(&mut req.uri);
        let url = std::mem::take(&mut req.url);
        let fragment = req.fragment.take();
        let mut headers = std::mem::take(&mut req.headers);
        let body = std::mem::take(&mut req.body);
        let upload = req.upload.take();
        let client_decompress = shared.config().decompress;
        let decompress = req.decompress.unwrap_or(client_decompress);
        if decompress && !client_decompress && !headers.contains_key(ACCEPT_ENCODING) {
            headers.insert(ACCEPT_ENCODING, HeaderValue::from_static(decode::ACCEPT));
        }
        // Credentials, the first of: the request's Authorization header, its auth, user
        // info in its URL (Basic), the client's auth. Byte and None tests first: nearly no
        // request has any.
        let userinfo = uri
            .authority()
            .is_some_and(|a| a.as_str().as_bytes().contains(&b'@'));
        let (client_auth, netrc) = match req.no_client_auth {
            false => (&shared.config().auth, shared.config().netrc.as_deref()),
            true => (&None, None),
        };
        let mut digest = None;
        if (req.auth.is_some() || userinfo || client_auth.is_some() || netrc.is_some())
            && !headers.contains_key(AUTHORIZATION)
        {
            let scheme = match req.auth.take() {
                Some(a) => Some(a.0),
                None if userinfo => auth::basic_from_userinfo(&uri).map(AuthScheme::Header),
                None => match client_auth {
                    Some(a) => Some(a.0.clone()),
                    // Last: the .netrc entry for this host, if any.
                    None => netrc
                        .and_then(|n| n.for_uri(&uri))
                        .map(|v| AuthScheme::Header(v.clone())),
                },
            };
            match scheme {
                Some(AuthScheme::Header(v)) => {
                    headers.insert(AUTHORIZATION, v);
                }
                Some(AuthScheme::Digest { user, password }) => {
                    digest = Some(Box::new(DigestCreds { user, password }))
                }
                None => {}
            }
        }
        // Any method with a body says so: hyper takes a GET, HEAD or CONNECT without a
        // length header as bodiless and would drop a streamed body's bytes.
        let wants_length = !body.is_empty()
            || upload.is_some()
            || matches!(method, Method::POST | Method::PUT | Method::PATCH);
        if wants_length && !headers.contains_key(CONTENT_LENGTH) {
            match &upload {
                None => {
                    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
                }
                // Unknown: chunked (HTTP/1.1) or DATA frames to the end (HTTP/2).
                Some(up) => {
                    if let Some(len) = up.length() {
                        headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
                    }
                }
            }
        }
        Parts {
            method,
            uri,
            url,
            fragment,
            headers,
            no_default_credentials: false,
            no_default_host: false,
            netrc: netrc.is_some(),
            decompress,
            digest,
            no_accept_encoding: client_decompress && !decompress,
            withheld: req.withheld.take(),
            shared,
            body,
            upload,
            stream: req.stream,
            speeds: req.speeds.take(),
        }
    }

    fn idempotent(&self) -> bool {
        self.method.is_idempotent()
    }

    /// Whether the body can go again (a streamed one only if it was never started).
    fn can_resend(&self) -> bool {
        self.upload.as_ref().is_none_or(|up| up.can_resend())
    }

    /// The wire request for `conn`: the request's headers, then the client's defaults it
    /// does not override. HTTP/1.1 gets an origin-form target (absolute-form through an
    /// HTTP proxy) and a Host header; HTTP/2 gets the absolute URI, from which hyper
    /// derives `:scheme` and `:authority`. Over HTTP/2 with a write timeout (the request's,
    /// else the client's), the body's window is watched through `watch`
    /// (`transport::window`); with a low-speed limit, its speed.
    fn build(
        &self,
        conn: &Conn,
        write_timeout: Option<Duration>,
        watch: &mut Option<Box<HeadWatch>>,
    ) -> Result<http::Request<Body>> {
        // hyper parses the response's headers into this map once the head is written, and
        // freed responses hand their maps back: usually no allocation here. The defaults'
        // values share memory.
        let mut headers = if self.headers.is_empty() {
            self.shared.spare_map()
        } else {
            self.headers.clone()
        };
        for (name, value) in &self.shared.config().default_headers {
            let withheld = (self.no_default_credentials
                && redirect::CREDENTIAL_HEADERS.contains(name))
                || (self.no_default_host && name == HOST)
                || (self.no_accept_encoding && name == ACCEPT_ENCODING)
                || self.withheld.as_ref().is_some_and(|w| w.contains(name));
            if !withheld && !self.headers.contains_key(name) {
                headers.append(name.clone(), value.clone());
            }
        }
        if let Some(jar) = self.shared.jar() {
            self.add_jar_cookies(jar, &mut headers);
        }
        let uri = if conn.is_h2() {
            self.uri.clone()
        } else {
            if let http::header::Entry::Vacant(slot) = headers.entry(HOST) {
                slot.insert(self.host()?);
            }
            // A streamed body of unknown length is chunked, whatever the method (hyper
            // chunks one only for methods that usually carry a body).
            if self.upload.as_ref().is_some_and(|up| up.length().is_none())
                && !headers.contains_key(CONTENT_LENGTH)
                && !headers.contains_key(TRANSFER_ENCODING)
            {
                headers.insert(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
            }
            if conn.absolute_form {
                // Through an HTTP proxy without a tunnel: its credentials go on every request.
                if let Some(v) = &conn.proxy_auth {
                    if let http::header::Entry::Vacant(slot) =
                        headers.entry(http::header::PROXY_AUTHORIZATION)
                    {
                        slot.insert((**v).clone());
                    }
                }
                self.uri.clone()
            } else {
                Uri::from(
                    self.uri
                        .path_and_query()
                        .cloned()
                        .unwrap_or_else(|| PathAndQuery::from_static("/")),
                )
            }
        };
        let mut body = match &self.upload {
            None => Body::Full(self.body.clone()),
            Some(up) => {
                if !up.can_resend() {
                    return Err(up.failure().unwrap_or_else(|| {
                        Error::new(
                            ErrorKind::BodySource,
                            "a streamed request body cannot be sent twice",
                        )
                    }));
                }
                Body::Stream(Box::pin(UploadBody::new(up.clone(), conn.activity.clone())))
            }
        };
        let speeds = Speeds::of(self.speeds.as_deref(), self.shared.config());
        if let Some(rate) = speeds.max_send {
            throttle(&mut body, rate, conn.activity.clone());
        }
        // Measured outside the cap: the cap's pauses are the source having nothing.
        if let Some(limit) = speeds.low_speed {
            if let Some(check) = measure(&mut body, limit, conn.activity.clone(), !conn.is_h2()) {
                watch.get_or_insert_with(Default::default).sending = Some(check);
            }
        }
        // One branch unless the client has a write timeout.
        if let (Some(limit), Some(reads)) = (write_timeout, &conn.activity) {
            if conn.is_h2() {
                if let Some(w) = pace(&mut body, limit, reads) {
                    watch.get_or_insert_with(Default::default).window = Some(w);
                }
            }
        }
        let mut out = http::Request::new(body);
        *out.method_mut() = self.method.clone();
        *out.uri_mut() = uri;
        *out.headers_mut() = headers;
        Ok(out)
    }
}

/// Times one request is sent again after HTTP/2 said the server did not process it.
const MAX_REFUSALS: u32 = 3;

/// Whether HTTP/2 says the server never processed the request's stream: it refused it
/// (RST_STREAM with REFUSED_STREAM), or its GOAWAY came with a lower last stream id (h2 fails
/// those streams, and streams opened after it, with the GOAWAY as a remote error; a stream the
/// GOAWAY covers fails only when the connection does, with an I/O error), whatever its code.
fn unprocessed(e: &hyper::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(h2) = s.downcast_ref::<h2::Error>() {
            return h2.reason() == Some(h2::Reason::REFUSED_STREAM)
                || h2.is_go_away() && h2.is_remote();
        }
        source = s.source();
    }
    false
}

/// A failure that means the server closed or reset a reused connection before answering.
fn stale(e: &hyper::Error) -> bool {
    if e.is_incomplete_message() {
        return true;
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            return matches!(
                io.kind(),
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof
            );
        }
        source = s.source();
    }
    false
}

impl Parts<'_> {
    /// Adds the jar's cookies for this URL, after the request's own `Cookie` if it has one.
    fn add_jar_cookies(&self, jar: &Jar, headers: &mut HeaderMap) {
        let Some(found) = jar.header_for(&self.uri) else {
            return;
        };
        match headers.entry(COOKIE) {
            http::header::Entry::Vacant(slot) => {
                slot.insert(found);
            }
            http::header::Entry::Occupied(mut own) => {
                let mut both = own.get().as_bytes().to_vec();
                both.extend_from_slice(b"; ");
                both.extend_from_slice(found.as_bytes());
                if let Ok(mut v) = HeaderValue::from_bytes(&both) {
                    v.set_sensitive(true);
                    own.insert(v);
                }
            }
        }
    }

    /// The Host header: the URL's authority without user info, sharing the URL's bytes.
    fn host(&self) -> Result<HeaderValue> {
        let authority = self.uri.authority().map(|a| a.as_str()).unwrap_or("");
        // Byte search: `rsplit('@')` cost ~200 instructions a request here.
        let host = match authority.bytes().rposition(|b| b == b'@') {
            Some(at) => &authority[at + 1..],
            None => authority,
        };
        let bad = || Error::new(ErrorKind::InvalidUrl, "URL host is not a valid Host header");
        let (start, end) = (
            self.url.as_ptr() as usize,
            self.url.as_ptr() as usize + self.url.len(),
        );
        let at = host.as_ptr() as usize;
        let shared = if start <= at && at + host.len() <= end {
            HeaderValue::from_maybe_shared(self.url.slice_ref(host.as_bytes()))
        } else {
            HeaderValue::from_str(host)
        };
        shared.map_err(|_| bad())
    }
}

/// A usable connection to `key`: a shared HTTP/2 one, an idle HTTP/1.1 one, or a new one.
/// Only one request at a time opens a connection to an origin that may speak HTTP/2.
async fn obtain(shared: &Shared, key: &PoolKey, limits: &Limits) -> Result<Conn> {
    loop {
        while let Some(mut conn) = shared.pool().take(key) {
            if conn.ready().await {
                return Ok(conn);
            }
        }

        let gate = if shared.connector().may_share(key) {
            shared.pool().gate(key)
        } else {
            None
        };
        let _lead = match gate {
            Some(Gate::Wait(done)) => {
                // Bounded like a wait in the caps' queue: the leader may itself be queued.
                let _ = within(limits.pool, done.acquire(), || {
                    pool_timeout_error(key, limits)
                })
                .await?;
                continue;
            }
            Some(Gate::Lead(guard)) => Some(guard),
            None => None,
        };
        let permit = match shared.pool().limiter() {
            None => None,
            // Boxed: only clients with connection caps wait here.
            Some(limiter) => match Box::pin(room(shared, limiter, key, limits)).await? {
                Grant::Connect(p) => Some(p),
                Grant::Conn(mut conn) => {
                    if conn.ready().await {
                        return Ok(conn);
                    }
                    continue;
                }
            },
        };
        // Boxed: connecting (DNS, proxy, TLS) is a large state machine that most requests,
        // which reuse a connection, never enter; inline it would make every request's
        // future (and the copies tokio makes of it) several times bigger.
        let (connector, limit) = (shared.connector(), limits.connect);
        let hold = permit.map(|p| Box::new(p) as Hold);
        let connect = Box::pin(async move {
            // How far it got, for the message of a timeout.
            let phase = AtomicU8::new(Phase::Dns as u8);
            within(limit, connector.connect(key, hold, &phase), || {
                Error::new(
                    ErrorKind::ConnectTimeout,
                    format!(
                        "could not connect to {} within the connect timeout of {:?}: {}",
                        key.authority,
                        limit.unwrap_or_default(),
                        Phase::describe(phase.load(Ordering::Relaxed), key.https)
                    ),
                )
            })
            .await
        });
        let conn = connect.await??;
        if conn.is_h2() {
            return Ok(shared.pool().share(key.clone(), conn));
        }
        if _lead.is_some() {
            shared.pool().note_http1(key);
        }
        return Ok(conn);
    }
}

/// Room for a connection to `key` under the caps: a permit to open one, or a connection a
/// finished request handed over, waiting in the queue for at most the pool timeout.
async fn room(
    shared: &Shared,
    limiter: &Arc<Limiter>,
    key: &PoolKey,
    limits: &Limits,
) -> Result<Grant> {
    let mut rx = match limiter.acquire(key) {
        Ok(permit) => return Ok(Grant::Connect(permit)),
        Err(rx) => rx,
    };
    // A connection parked between our look at the pool and our place in the queue (its
    // request found no waiter yet): take it, leaving the queue (a grant already sent to
    // us goes back when the receiver is dropped).
    if let Some(conn) = shared.pool().take(key) {
        drop(rx);
        return Ok(Grant::Conn(conn));
    }
    // Held back by the total cap while other origins keep connections idle: close the
    // longest-idle one; its place goes to the queue (to this request if it is first).
    if limiter.total_is_full(key) {
        shared.pool().evict_idle_except(key);
    }
    let waited = within(limits.pool, &mut rx, || pool_timeout_error(key, limits)).await?;
    waited.map_err(|_| Error::new(ErrorKind::Internal, "the connection queue dropped a waiter"))
}

fn pool_timeout_error(key: &PoolKey, limits: &Limits) -> Error {
    Error::new(
        ErrorKind::PoolTimeout,
        format!(
            "no connection to {} became free within the pool timeout of {:?}",
            key.authority,
            limits.pool.unwrap_or_default()
        ),
    )
}

/// Reads the whole body, enforcing the size limit and the read (idle) timeout between frames;
/// through `decoder` when the body has a content coding to undo. A body that comes in at
/// most `keep` pieces is kept as they came (the first, and the others in a `Rest`); one
/// in more is joined.
async fn read_body(
    mut body: Incoming,
    declared: Option<u64>,
    limits: &Limits,
    keep: usize,
    mut decoder: Option<Decoder>,
    ex: &Exchange,
    traffic: Option<&Traffic>,
) -> Result<(Bytes, Option<Box<Rest>>)> {
    // The pieces as read, up to `keep` (see `Response::body_pieces`); then joined in `buf`.
    let mut first: Option<Bytes> = None;
    let mut rest: Vec<Bytes> = Vec::new();
    let mut buf = BytesMut::new();
    let mut total: u64 = 0;
    // The timer is armed only when a frame is not already buffered: a small body that
    // arrived with the head costs no timer at all.
    let mut timer = BodyTimer::new(limits.read, limits.speed, limits.rate);
    loop {
        let ready = std::future::poll_fn(|cx| match Pin::new(&mut body).poll_frame(cx) {
            Poll::Ready(f) => Poll::Ready(Some(f)),
            Poll::Pending => Poll::Ready(None),
        })
        .await;
        if ready.is_none() {
            // More is to come: the socket's ACKs should not wait for a next request.
            if let Some(t) = traffic {
                t.waiting();
            }
        }
        let frame = match ready {
            Some(f) => f,
            None => {
                timer.arm();
                let next = std::future::poll_fn(|cx| match Pin::new(&mut body).poll_frame(cx) {
                    Poll::Ready(f) => Poll::Ready(Some(f)),
                    Poll::Pending => timer.poll_deadline(cx).map(|()| None),
                })
                .await;
                match next {
                    Some(f) => f,
                    None => {
                        timer.fired("reading the response body")?;
                        continue; // enough in that low-speed window: the next one
                    }
                }
            }
        };
        let Some(frame) = frame else { break };
        let frame = frame.map_err(|e| map_hyper(e, "reading the response body"))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if let Some(until) = timer.arrived(data.len())? {
            // The receive-rate cap: the body is not read until then.
            timer.pause(until);
            std::future::poll_fn(|cx| timer.poll_deadline(cx)).await;
        }
        total += data.len() as u64;
        ex.add_received(data.len());
        if total > limits.max_body {
            return Err(too_large(limits.max_body));
        }
        if let Some(d) = decoder.as_mut() {
            d.push(data)?;
            continue;
        }
        if data.is_empty() {
            continue;
        }
        if !buf.is_empty() {
            buf.extend_from_slice(&data);
        } else if first.is_none() {
            first = Some(data);
        } else if rest.len() + 1 < keep {
            if rest.is_empty() {
                first = first.map(own_if_small);
            }
            rest.push(own_if_small(data));
        } else {
            let hint = declared.unwrap_or(0).min(limits.max_body) as usize;
            buf.reserve(hint.max(total as usize));
            for piece in first.take().into_iter().chain(rest.drain(..)) {
                buf.extend_from_slice(&piece);
            }
            buf.extend_from_slice(&data);
        }
    }
    if let Some(d) = decoder {
        return Ok((d.finish()?, None));
    }
    Ok(if buf.is_empty() {
        (first.unwrap_or_default(), Rest::new(rest))
    } else {
        (buf.freeze(), None)
    })
}

/// A piece of a body to keep (`read_body`): a slice of hyper's read buffer keeps the whole
/// buffer alive (8 KiB to ~400 KiB), so a small piece is copied out instead (cheap: it was
/// just read) and a dripped body cannot hold a buffer per byte.
fn own_if_small(piece: Bytes) -> Bytes {
    const SMALL: usize = 16 << 10;
    if piece.len() < SMALL {
        Bytes::copy_from_slice(&piece)
    } else {
        piece
    }
}

/// Like [`within`], with a timer kept by the caller for its next use (see `Conn::read_timer`),
/// and the limit on silence rather than on the whole wait when the connection counts its
/// reads (`activity`): the timer looks at them (`look_every`), a look that finds bytes came
/// in counts as life, so a head trickled in byte by byte is not cut off by the read timeout
/// (the low-speed limit looks at its speed: `HeadSpeed` in `watch`), and a server silent
/// since fails 1 to 1.25 limits after its last byte (over HTTP/2 one to two limits, see
/// [`H2Wait`]). With `watch`, the request body is watched too
/// (`HeadWatch`). A plain function returning a named future: an `async fn` would hold `fut`
/// twice (argument and pinned local), and `fut` holds the request.
fn within_reusing<'a, F: Future, E: FnOnce() -> Error>(
    timer: &'a mut Option<Pin<Box<tokio::time::Sleep>>>,
    limit: Option<Duration>,
    idle: Option<Idle<'a>>,
    watch: Option<&'a mut HeadWatch>,
    fut: F,
    on_timeout: E,
) -> Within<'a, F, E> {
    let timer = limit.map(|d| {
        let now = tokio::time::Instant::now();
        let deadline = now + look_every(d, idle.as_ref());
        let sleep = match timer {
            // The timer of an earlier request on this connection is left to fire at its
            // earlier deadline (then `Within` moves it on): re-arming it for every request
            // cost ~160 instructions. One that would fire too late is moved now.
            Some(t) => {
                if t.deadline() > deadline {
                    t.as_mut().reset(deadline);
                }
                t
            }
            None => timer.insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        (sleep, deadline, d, now)
    });
    Within {
        fut,
        timer,
        idle,
        watch,
        on_timeout: Some(on_timeout),
    }
}

pin_project_lite::pin_project! {
    /// See [`within_reusing`].
    struct Within<'a, F, E> {
        #[pin]
        fut: F,
        // The timer and the deadline it stands for (the timer may be set earlier), the
        // limit, and when the connection was last seen alive.
        timer: Option<(
            &'a mut Pin<Box<tokio::time::Sleep>>,
            tokio::time::Instant,
            Duration,
            tokio::time::Instant,
        )>,
        // The connection's traffic counter (`Traffic::moved`), as a sign of life.
        idle: Option<Idle<'a>>,
        // The request body, watched (`HeadWatch`).
        watch: Option<&'a mut HeadWatch>,
        on_timeout: Option<E>,
    }
}

impl<F: Future, E: FnOnce() -> Error> Future for Within<'_, F, E> {
    type Output = Result<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(out) = this.fut.poll(cx) {
            return Poll::Ready(Ok(out));
        }
        if let Some(watch) = this.watch {
            if let Poll::Ready(stalled) = watch.poll(cx) {
                return Poll::Ready(Err(stalled));
            }
        }
        let expired = match this.timer {
            Some((t, deadline, limit, alive)) => loop {
                if t.as_mut().poll(cx).is_pending() {
                    break false;
                }
                // Fired: at the deadline, or at an earlier one it still had.
                if t.deadline() < *deadline {
                    t.as_mut().reset(*deadline);
                    continue;
                }
                // A look: bytes since the last one say the connection is alive...
                let now = tokio::time::Instant::now();
                if this.idle.as_mut().is_some_and(Idle::stirred) {
                    // ...unless too few came for the low-speed limit (`HeadSpeed`).
                    if let (Some(idle), Some(Some(speed))) = (
                        this.idle.as_ref(),
                        this.watch.as_mut().map(|w| w.speed.as_mut()),
                    ) {
                        if let Some(e) = speed.check(idle.seen, now) {
                            return Poll::Ready(Err(e.unanswered()));
                        }
                    }
                    *alive = now;
                }
                // Silent for the limit since then: expired. Else the next look.
                let due = *alive + *limit;
                if now >= due {
                    break true;
                }
                *deadline = due.min(now + look_every(*limit, this.idle.as_ref()));
                t.as_mut().reset(*deadline);
            },
            None => false,
        };
        match this.on_timeout.take() {
            Some(on_timeout) if expired => Poll::Ready(Err(on_timeout())),
            kept => {
                *this.on_timeout = kept;
                Poll::Pending
            }
        }
    }
}

/// How often `Within` looks at the connection's traffic. Over HTTP/1.1 a quarter of the
/// limit: the head then times out between 1 and 1.25 limits after the last byte (looking
/// once a limit, a byte just after a look left the head up to two limits). HTTP/2 looks
/// once a limit (see `H2Wait`, whose grace is counted in looks); without traffic to watch,
/// the limit is a plain deadline.
fn look_every(limit: Duration, idle: Option<&Idle<'_>>) -> Duration {
    match idle {
        Some(i) if i.h2.is_none() => limit / 4,
        _ => limit,
    }
}

/// The connection's traffic as a sign of life while a response head is awaited (see
/// [`within_reusing`]).
struct Idle<'a> {
    /// `Traffic::moved`: bytes read and written.
    moved: &'a AtomicU64,
    /// `moved` when the deadline was last set.
    seen: u64,
    h2: Option<H2Wait<'a>>,
}

/// Over HTTP/2 the reads are every stream's, so they say nothing of this stream once it is
/// open and its body sent: a stream held silent beside a download, or beside a steady run of
/// other requests, must still time out. They count while the request may be waiting for a
/// stream (the connection is full, and each stream that ends lets the next in), while hyper
/// still takes its body, and while the socket takes large writes (the rest of a body h2
/// holds), and at the look after those end (the server may still be reading what the socket
/// took: its window updates are reads). A held head then fails one to three limits after
/// the last of them.
struct H2Wait<'a> {
    streams: Streams<'a>,
    /// Set once hyper let go of the body (`watch_handed`); None without a body.
    handed: Option<&'a AtomicBool>,
    /// Waiting or sending at the last look, or writing since the one before.
    busy: bool,
    /// `Streams::writes` at the last look.
    written: u64,
}

impl H2Wait<'_> {
    fn busy_now(&self) -> bool {
        self.handed.is_some_and(|h| !h.load(Ordering::Acquire)) || self.streams.full()
    }

    /// Whether the request may still be waiting or sending, or the socket took more of a
    /// large body since the last look, or either held at the look before.
    fn alive(&mut self) -> bool {
        let written = self.streams.writes();
        let wrote = std::mem::replace(&mut self.written, written) != written;
        let busy = wrote || self.busy_now();
        std::mem::replace(&mut self.busy, busy) || busy
    }
}

impl Idle<'_> {
    /// Whether the connection showed life since the last look (the deadline then moves on).
    fn stirred(&mut self) -> bool {
        let now = self.moved.load(Ordering::Relaxed);
        if now == self.seen {
            return false;
        }
        self.seen = now;
        self.h2.as_mut().is_none_or(H2Wait::alive)
    }
}

/// Runs `fut` under an optional time limit; `on_timeout` builds the error.
async fn within<F: Future>(
    limit: Option<Duration>,
    fut: F,
    on_timeout: impl FnOnce() -> Error,
) -> Result<F::Output> {
    match limit {
        Some(d) => tokio::time::timeout(d, fut).await.map_err(|_| on_timeout()),
        None => Ok(fut.await),
    }
}

fn too_large(max: u64) -> Error {
    Error::new(
        ErrorKind::BodyTooLarge,
        format!("response body exceeds the maximum of {max} bytes"),
    )
}
