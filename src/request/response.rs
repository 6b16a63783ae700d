//! A completed response, held by its handle until the handle is freed.
//!
//! Everything here is immutable once built, so borrowed pointers into it (body, header bytes,
//! URL) stay valid for as long as the handle lives.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::Version;

use super::stream::BodyStream;
use crate::transport::{last_write, ConnFacts};

/// A redirect that was followed: the response's status and the URL that gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hop {
    pub status: u16,
    pub url: Bytes,
}

/// Where a request's time went, phase by phase; the phases add up to `total`. For a
/// retried or redirected request they describe the last exchange, and `queued` holds all
/// the time before it.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timing {
    /// Submit until the (last) exchange began looking for a connection.
    pub queued: Duration,
    /// Waiting for a connection: the pool's queue, an HTTP/2 connection being opened by
    /// another request, or a parked connection becoming ready.
    pub pool: Duration,
    /// Opening a new connection: resolving, TCP connect (and proxy), TLS handshake; zero on
    /// a reused connection.
    pub dns: Duration,
    pub connect: Duration,
    pub tls: Duration,
    /// Writing the request; then waiting for the first byte of the response; then reading
    /// the rest of it.
    pub send: Duration,
    pub wait: Duration,
    pub receive: Duration,
    /// Submit to the last byte.
    pub total: Duration,
    /// The exchange ran on a connection that had carried a request before.
    pub reused: bool,
    /// The peer's address (the proxy's when going through one); None for Unix sockets.
    pub remote: Option<SocketAddr>,
    /// The TLS version as on the wire (0x0303: TLS 1.2, 0x0304: TLS 1.3), 0 without TLS.
    pub tls_version: u16,
    /// The protocol ALPN selected ("h2", "http/1.1"), if any.
    pub alpn: Option<&'static str>,
}

/// The instants of a response's exchange, turned into a [`Timing`] when asked.
#[derive(Debug)]
pub(crate) struct Stamps {
    /// Looking for a connection; having one; the response's first byte.
    pub(crate) look: Instant,
    pub(crate) ready: Instant,
    pub(crate) first: Instant,
    /// The connection's write clock when the response arrived (see `transport::last_write`).
    pub(crate) written: u64,
    pub(crate) reused: bool,
    pub(crate) facts: Arc<ConnFacts>,
}

impl Stamps {
    /// The phases, from the request's submit time and its total.
    pub(crate) fn timing(&self, started: Instant, total: Duration) -> Timing {
        let (look, ready, first) = (self.look, self.ready, self.first);
        let done = started + total;
        let facts = &self.facts;
        // The last write that took time, if it belongs to this exchange.
        let written = last_write(self.written).map_or(ready, |w| w.clamp(ready, first));
        let opening = ready.saturating_duration_since(look);
        let setup = facts.dns + facts.connect + facts.tls;
        // A reused connection was set up for an earlier request, and one another request
        // opened (HTTP/2) for that one: neither's setup is this exchange's.
        let (dns, connect, tls) = if self.reused || setup > opening {
            Default::default()
        } else {
            (facts.dns, facts.connect, facts.tls)
        };
        Timing {
            queued: look.saturating_duration_since(started),
            pool: opening - (dns + connect + tls),
            dns,
            connect,
            tls,
            send: written.saturating_duration_since(ready),
            wait: first.saturating_duration_since(written),
            receive: done.saturating_duration_since(first),
            total,
            reused: self.reused,
            remote: facts.remote,
            tls_version: facts.tls_version,
            alpn: facts.alpn,
        }
    }
}

/// The most pieces a buffered body is kept in (see [`Response::body_pieces`]); one that
/// comes in more is joined into one buffer as it is read.
pub(crate) const MAX_PIECES: usize = 16;

/// The pieces after the first of a body that came in several reads (at most
/// `MAX_PIECES - 1`, with `Config::body_pieces`), kept as read and joined only when one
/// buffer is asked for (`Response::body`): a binding that copies the body out anyway reads
/// the pieces (`Response::body_pieces`) and copies each byte once instead of twice.
#[derive(Debug)]
pub(crate) struct Rest {
    pieces: Vec<Bytes>,
    joined: OnceLock<Bytes>,
}

impl Rest {
    /// `pieces` boxed, or None when there are none.
    pub(crate) fn new(pieces: Vec<Bytes>) -> Option<Box<Rest>> {
        (!pieces.is_empty()).then(|| {
            Box::new(Rest {
                pieces,
                joined: OnceLock::new(),
            })
        })
    }
}

#[derive(Debug)]
pub struct Response {
    pub(crate) status: u16,
    pub(crate) version: Version,
    pub(crate) headers: HeaderMap,
    /// The body, or its first piece when it came in several (`rest`).
    pub(crate) body: Bytes,
    /// The rest of a body kept in the pieces it was read in (boxed: most bodies are one).
    rest: Option<Box<Rest>>,
    pub(crate) url: Bytes,
    pub(crate) elapsed: Duration,
    /// The redirects followed to get here, in order (empty when none were).
    pub(crate) hops: Vec<Hop>,
    /// When its exchange's steps happened (see `Exchange::timing`).
    pub(crate) stamps: Stamps,
    /// A streamed response's body, read through this instead of `body` (which is empty).
    pub(crate) stream: Option<Arc<BodyStream>>,
    /// The reason phrase the server sent, when not the standard one for the status (HTTP/1).
    pub(crate) reason: Option<Bytes>,
    /// Built on first use: headers in iteration order, for indexed access.
    list: OnceLock<Vec<(HeaderName, HeaderValue)>>,
    /// Built on first use: "name: value\r\n" lines, for bindings that parse in one call.
    block: OnceLock<Vec<u8>>,
}

impl Response {
    /// `body`: the body, or its first piece and the rest (`Rest::new`).
    pub(crate) fn new(
        status: u16,
        version: Version,
        headers: HeaderMap,
        (body, rest): (Bytes, Option<Box<Rest>>),
        url: Bytes,
        elapsed: Duration,
        stamps: Stamps,
    ) -> Self {
        Response {
            status,
            version,
            headers,
            body,
            rest,
            url,
            elapsed,
            hops: Vec::new(),
            stamps,
            stream: None,
            reason: None,
            list: OnceLock::new(),
            block: OnceLock::new(),
        }
    }

    /// The redirects followed before this response, first to last.
    pub fn redirects(&self) -> &[Hop] {
        &self.hops
    }

    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase: the server's own when it sent another than the standard one for
    /// the status (HTTP/1.x; HTTP/2 has none), else the standard one ("" for a code with
    /// none).
    pub fn reason(&self) -> &[u8] {
        match &self.reason {
            Some(r) => r,
            None => http::StatusCode::from_u16(self.status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("")
                .as_bytes(),
        }
    }

    /// The server's reason phrase, only when it is not the standard one.
    pub fn custom_reason(&self) -> Option<&[u8]> {
        self.reason.as_deref()
    }

    pub fn version(&self) -> Version {
        self.version
    }

    /// The body; empty for a streamed response (see [`Response::stream`]). A body that came
    /// in several pieces is joined into one buffer at the first call.
    pub fn body(&self) -> &[u8] {
        let Some(rest) = &self.rest else {
            return &self.body;
        };
        rest.joined.get_or_init(|| {
            let mut all = Vec::with_capacity(self.body_pieces().map(<[u8]>::len).sum());
            self.body_pieces().for_each(|p| all.extend_from_slice(p));
            all.into()
        })
    }

    /// The body as the pieces it was read in (at most 16, with `Config::body_pieces`),
    /// without joining them: for a caller that copies the body somewhere anyway. One piece
    /// without that setting, for a body that came in one read, a decoded body, and one
    /// that came in more than 16 (joined as it was read).
    pub fn body_pieces(&self) -> impl Iterator<Item = &[u8]> {
        let rest = self.rest.as_deref().map_or(&[][..], |r| &r.pieces);
        std::iter::once(&self.body[..]).chain(rest.iter().map(|b| &b[..]))
    }

    /// How many pieces [`Response::body_pieces`] gives.
    pub fn body_piece_count(&self) -> usize {
        1 + self.rest.as_ref().map_or(0, |r| r.pieces.len())
    }

    /// The body of a response to a request marked streaming, read as it arrives.
    pub fn stream(&self) -> Option<&Arc<BodyStream>> {
        self.stream.as_ref()
    }

    pub fn url(&self) -> &[u8] {
        &self.url
    }

    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// Number of header lines (a name with two values counts twice).
    pub fn header_count(&self) -> usize {
        self.headers.len()
    }

    /// The `index`th header line, in the order the map iterates: names in order of first
    /// appearance, the values of one name together and in the order received.
    pub fn header_at(&self, index: usize) -> Option<(&[u8], &[u8])> {
        let list = self.list.get_or_init(|| {
            self.headers
                .iter()
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect()
        });
        list.get(index)
            .map(|(n, v)| (n.as_str().as_bytes(), v.as_bytes()))
    }

    /// The `nth` value (0-based) of the header `name`, compared case-insensitively.
    pub fn header(&self, name: &[u8], nth: usize) -> Option<&[u8]> {
        let name = HeaderName::from_bytes(name).ok()?;
        self.headers
            .get_all(name)
            .iter()
            .nth(nth)
            .map(HeaderValue::as_bytes)
    }

    /// All headers as "name: value\r\n" lines (names lower-case).
    pub fn header_block(&self) -> &[u8] {
        self.block.get_or_init(|| header_lines(&self.headers))
    }
}

/// `headers` as "name: value\r\n" lines (names lower-case), in their order.
pub(crate) fn header_lines(headers: &HeaderMap) -> Vec<u8> {
    let mut out = Vec::with_capacity(headers.len() * 32);
    for (n, v) in headers {
        out.extend_from_slice(n.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}
