//! The write timeout over HTTP/2. A server that stops granting flow-control window blocks no
//! socket write (h2 holds the body back and the socket stays idle), so the limit in `QuickAck`
//! never sees it. When a write timeout is set, an HTTP/2 request body is handed to hyper in
//! pieces ([`Paced`]), and the request's wait for its response head ([`Watch`]) fails with
//! `ErrorKind::WriteTimeout` once hyper has not come back for the next piece, and nothing was
//! read from the server, for the limit. Requests without a body, over HTTP/1.1, or on a client
//! without a write timeout never come here.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Frame, SizeHint};

use super::conn::Body;
use super::quickack::{epoch, Traffic};
use crate::error::{Error, ErrorKind};

/// The most hyper is given at a time: one DATA frame at h2's default frame size. hyper sends a
/// piece once the window has room for all it sent before and a byte of this one, and only
/// then (hyper 1.12: right after) asks for the next.
const PIECE: usize = 16 * 1024;

/// Since when hyper has owed the body a visit (ns since `epoch`): it took a piece and will come
/// back when the window allows; 0 while nothing is owed (the body's source has nothing yet,
/// or the body has ended).
#[derive(Default)]
struct Owed(AtomicU64);

impl Owed {
    fn set(&self, owed: bool) {
        let ns = if owed {
            epoch().elapsed().as_nanos().max(1) as u64
        } else {
            0
        };
        self.0.store(ns, Ordering::Relaxed);
    }
}

/// A request body handed to hyper in pieces of at most [`PIECE`] bytes. It says it has ended
/// only when asked once more after its last piece, which hyper does once that piece had room:
/// a window that stops anywhere leaves hyper owing a visit. A body in hand gives its last byte
/// as a piece of its own, so that room for it means room for everything before it; a streamed
/// body's last piece may wait for window unwatched (the read timeout still applies).
struct Paced {
    body: Body,
    /// The rest of a streamed body's frame that was larger than a piece.
    held: Bytes,
    ended: bool,
    owed: Arc<Owed>,
}

impl Paced {
    /// The next piece of `from` (the whole rest of a body in hand, or a streamed body's
    /// frame); what is left stays for the next poll.
    fn piece(&mut self, mut from: Bytes, whole: bool) -> Frame<Bytes> {
        let keep_last = whole && from.len() > 1;
        let piece = from.split_to(PIECE.min(from.len() - keep_last as usize));
        if whole {
            self.body = Body::Full(from);
        } else {
            self.held = from;
        }
        self.owed.set(true);
        Frame::data(piece)
    }
}

impl hyper::body::Body for Paced {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, Error>>> {
        let this = self.get_mut();
        if !this.held.is_empty() {
            let held = std::mem::take(&mut this.held);
            return Poll::Ready(Some(Ok(this.piece(held, false))));
        }
        let polled = match &mut this.body {
            Body::Full(b) if b.is_empty() => Poll::Ready(None),
            Body::Full(b) => {
                let whole = std::mem::take(b);
                return Poll::Ready(Some(Ok(this.piece(whole, true))));
            }
            Body::Stream(s) => s.as_mut().poll_frame(cx),
        };
        match polled {
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => Poll::Ready(Some(Ok(this.piece(data, false)))),
                Err(trailers) => {
                    this.ended = true;
                    this.owed.set(false);
                    Poll::Ready(Some(Ok(trailers)))
                }
            },
            other => {
                // The end, a failure, or the caller's source has nothing yet: not the
                // server's doing.
                this.ended = other.is_ready();
                this.owed.set(false);
                other
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended
    }

    fn size_hint(&self) -> SizeHint {
        super::conn::hint_with_held(self.body.size_hint(), self.held.len())
    }
}

/// What a request's wait for its response head watches of an HTTP/2 body's window (see
/// `pace`; held in `dispatch`'s `HeadWatch`).
pub(crate) struct Watch {
    owed: Arc<Owed>,
    /// The connection's traffic counter (`Conn::activity`): bytes from the server are not
    /// silence.
    traffic: Arc<Traffic>,
    limit: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
    /// The counter at the last check.
    seen: u64,
}

/// Makes `body` paced for an HTTP/2 connection with a write timeout of `limit` whose reads
/// `traffic` counts; None (and `body` untouched) for a body with nothing to send.
pub(crate) fn pace(body: &mut Body, limit: Duration, traffic: &Arc<Traffic>) -> Option<Watch> {
    if matches!(body, Body::Full(b) if b.is_empty()) {
        return None;
    }
    let owed = Arc::new(Owed::default());
    let inner = std::mem::replace(body, Body::Full(Bytes::new()));
    *body = Body::Stream(Box::pin(Paced {
        body: inner,
        held: Bytes::new(),
        ended: false,
        owed: owed.clone(),
    }));
    Some(Watch {
        owed,
        traffic: traffic.clone(),
        limit,
        timer: Box::pin(tokio::time::sleep(limit)),
        seen: traffic.moved.load(Ordering::Relaxed),
    })
}

impl Watch {
    /// Ready with `ErrorKind::WriteTimeout` once hyper has owed the body a visit, and nothing
    /// was read from the server, for the limit (noticed within one to two limits, as the read
    /// timeout is).
    pub(crate) fn poll_stalled(&mut self, cx: &mut Context<'_>) -> Poll<Error> {
        while self.timer.as_mut().poll(cx).is_ready() {
            let now = tokio::time::Instant::now();
            let reads = self.traffic.moved.load(Ordering::Relaxed);
            let owed = self.owed.0.load(Ordering::Relaxed);
            let next = if owed == 0 || reads != self.seen {
                self.seen = reads;
                now + self.limit
            } else {
                let since = epoch() + Duration::from_nanos(owed);
                if since + self.limit <= now {
                    return Poll::Ready(
                        Error::new(
                            ErrorKind::WriteTimeout,
                            format!(
                                "the server granted no HTTP/2 flow-control window for the \
                                 request body for {:?} (write timeout)",
                                self.limit
                            ),
                        )
                        .unanswered(),
                    );
                }
                since + self.limit
            };
            self.timer.as_mut().reset(next);
        }
        Poll::Pending
    }
}
