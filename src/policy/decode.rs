//! Content codings (RFC 9110 §8.4): decoding gzip, deflate, br and zstd response bodies as
//! they arrive, on the runtime.
//!
//! The decoders are the maintained reference crates: flate2 (on zlib-rs) for gzip and
//! deflate, brotli-decompressor, zstd. They are driven by pulling: the body's frames are
//! queued in a [`Feed`] the innermost decoder reads, and decoded bytes are read out of the
//! outermost a buffer at a time. So what one read yields is bounded whatever the input: a
//! buffered body stops at the size limit (a small body that inflates to gigabytes), and a
//! streamed one is decoded only as its reader makes room.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read};
use std::sync::{Arc, Mutex};

use bytes::{Buf, Bytes, BytesMut};
use http::header::{HeaderMap, CONTENT_ENCODING};

use crate::error::{Error, ErrorKind, Result};
use crate::request::Read as Got;

/// The `Accept-Encoding` sent when decompression is on.
pub(crate) const ACCEPT: &str = "gzip, deflate, br, zstd";

/// Most codings stacked on one body; more is refused (each stage holds its own buffers).
const MAX_STAGES: usize = 3;

/// zstd window limit, 2^23 = 8 MiB: RFC 9659 §3 caps HTTP's zstd window there, so a frame
/// asking for more is an attack on memory, not content.
const ZSTD_WINDOW_LOG_MAX: u32 = 23;

/// The most one read of decoded bytes yields (and the buffer between stacked stages).
const PIECE: usize = 32 * 1024;

thread_local! {
    /// Where a read lands before it is kept (decoders write into initialised memory):
    /// one per runtime thread, zeroed once, not once per body.
    static SCRATCH: std::cell::RefCell<Box<[u8]>> =
        std::cell::RefCell::new(vec![0u8; PIECE].into_boxed_slice());
}

/// Decodes one response body, fed frame by frame.
pub(crate) struct Decoder {
    /// The outermost stage: decoded bytes come out of it.
    reader: Box<dyn Read + Send>,
    /// The frames the innermost stage reads (shared with it).
    feed: Arc<Mutex<Feed>>,
    fed: bool,
    /// The outermost stage said the body ended.
    done: bool,
    /// Decoded so far, and the most allowed (`u64::MAX` for a streamed body).
    written: u64,
    max: u64,
    /// Decoded bytes not yet taken (`push`, `take`, `finish`).
    out: BytesMut,
}

impl Decoder {
    /// A decoder for the response's `Content-Encoding`, or `None` when there is nothing to
    /// decode: no header, only `identity`, or a coding this build does not know (the body
    /// is then delivered as received, with its header, as httpx and browsers do). `max` is
    /// the most the decoded body may be.
    pub(crate) fn for_response(headers: &HeaderMap, max: u64) -> Result<Option<Decoder>> {
        // One lookup for the usual answer (no coding); `get_all` costs more.
        if !headers.contains_key(CONTENT_ENCODING) {
            return Ok(None);
        }
        let mut codings: Vec<Coding> = Vec::new();
        for value in headers.get_all(CONTENT_ENCODING) {
            for token in value.as_bytes().split(|&b| b == b',') {
                let token = token.trim_ascii();
                if token.is_empty() || token.eq_ignore_ascii_case(b"identity") {
                    continue;
                }
                match Coding::parse(token) {
                    Some(c) => codings.push(c),
                    None => return Ok(None),
                }
            }
        }
        if codings.is_empty() {
            return Ok(None);
        }
        if codings.len() > MAX_STAGES {
            return Err(Error::new(
                ErrorKind::Decoding,
                format!(
                    "response has {} content codings; at most {MAX_STAGES} are decoded",
                    codings.len()
                ),
            ));
        }
        let feed = Arc::new(Mutex::new(Feed::default()));
        // The last coding listed was applied last, so it is undone first: nearest the feed.
        let mut input: Box<dyn BufRead + Send> = Box::new(FeedReader {
            feed: feed.clone(),
            current: Bytes::new(),
        });
        let mut stages = codings.iter().rev().peekable();
        let reader = loop {
            let Some(c) = stages.next() else {
                unreachable!("at least one coding")
            };
            let stage = c.stage(input)?;
            if stages.peek().is_none() {
                break stage;
            }
            input = Box::new(BufReader::with_capacity(PIECE, stage));
        };
        Ok(Some(Decoder {
            reader,
            feed,
            fed: false,
            done: false,
            written: 0,
            max,
            out: BytesMut::new(),
        }))
    }

    /// Decodes a buffered body's next frame: everything it yields waits in `take`/`finish`.
    pub(crate) fn push(&mut self, data: Bytes) -> Result<()> {
        self.feed(data);
        while self.read_some()? {}
        Ok(())
    }

    /// Queues a streamed body's next frame; `pull` decodes it.
    pub(crate) fn feed(&mut self, data: Bytes) {
        if !data.is_empty() {
            self.fed = true;
            lock(&self.feed).frames.push_back(data);
        }
    }

    /// The next decoded bytes of a streamed body (at most 32 KiB), or None when the frames
    /// fed so far yield no more (after `end`: when the body is over).
    pub(crate) fn pull(&mut self) -> Result<Option<Bytes>> {
        let had = self.out.len();
        self.read_some()?;
        Ok((self.out.len() > had).then(|| self.out.split().freeze()))
    }

    /// No more frames: `pull` then decodes the rest, up to the body's end.
    pub(crate) fn end(&mut self) {
        lock(&self.feed).ended = true;
    }

    /// What was decoded since the last take (the fuzz hook's; the engine reads buffered
    /// bodies whole with `finish`).
    #[cfg(feature = "fuzzing")]
    pub(crate) fn take(&mut self) -> Bytes {
        self.out.split().freeze()
    }

    /// The rest of the decoded body, once the whole encoded body was pushed. An empty body
    /// decodes to an empty body (servers send `Content-Encoding: gzip` on empty responses).
    pub(crate) fn finish(mut self) -> Result<Bytes> {
        self.end();
        while self.read_some()? {}
        Ok(self.out.split().freeze())
    }

    /// One read out of the outermost stage into `out`: true if it yielded bytes, false when
    /// it waits for more frames or the body is over. At the end, checks the body ended where
    /// its coding says it ends.
    fn read_some(&mut self) -> Result<bool> {
        if self.done {
            // The coding ended: any byte fed since follows its end.
            return match lock(&self.feed).has_data() {
                true => Err(data_after_end()),
                false => Ok(false),
            };
        }
        if !self.fed {
            self.done = lock(&self.feed).ended; // an empty body
            return Ok(false);
        }
        SCRATCH.with_borrow_mut(|scratch| self.read_into(scratch))
    }

    fn read_into(&mut self, scratch: &mut [u8]) -> Result<bool> {
        match self.reader.read(scratch) {
            Ok(0) => {
                self.done = true;
                // Bytes after the end are still fed (flate2, zstd leave them), or in the
                // stage's own buffer (brotli, which refuses them on the read after its end).
                let after = match self.reader.read(scratch) {
                    Err(e) => e.kind() != io::ErrorKind::WouldBlock,
                    Ok(n) => n > 0,
                };
                match after || lock(&self.feed).has_data() {
                    true => Err(data_after_end()),
                    false => Ok(false),
                }
            }
            Ok(n) => {
                self.written += n as u64;
                if self.written > self.max {
                    return Err(Error::new(
                        ErrorKind::BodyTooLarge,
                        format!(
                            "decoded response body exceeds the maximum of {} bytes",
                            self.max
                        ),
                    ));
                }
                self.out.extend_from_slice(&scratch[..n]);
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(decode_error(e)),
        }
    }
}

/// Decodes a body in a content coding that did not come through a request: one a caller
/// holds (a test's hand-made response, a mock transport's, a cache's), by the rules and
/// decoders the engine applies to responses. Write the encoded bytes, `end` after the last,
/// and read the decoded bytes as they come.
pub struct ContentDecoder {
    inner: Decoder,
    /// Decoded and not yet read.
    pending: Bytes,
    ended: bool,
    failed: Option<Error>,
}

impl ContentDecoder {
    /// A decoder for a `Content-Encoding` value (`"gzip"`, `"deflate, br"`: the codings in
    /// the order they were applied), or `None` when there is nothing to decode: the value is
    /// empty or `identity`, or names a coding this build does not know (such a body stays as
    /// it is, as a response's does). More than three codings, or a value with a control
    /// byte, is an error.
    pub fn new(content_encoding: &[u8]) -> Result<Option<ContentDecoder>> {
        let value = http::HeaderValue::from_bytes(content_encoding).map_err(|_| {
            Error::new(
                ErrorKind::InvalidHeader,
                "a Content-Encoding value cannot hold control bytes",
            )
        })?;
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_ENCODING, value);
        let inner = Decoder::for_response(&headers, u64::MAX)?;
        Ok(inner.map(|inner| ContentDecoder {
            inner,
            pending: Bytes::new(),
            ended: false,
            failed: None,
        }))
    }

    /// Queues the next encoded bytes (copied); `read` decodes them.
    pub fn write(&mut self, data: &[u8]) {
        self.inner.feed(Bytes::copy_from_slice(data));
    }

    /// Says the encoded body is over: `read` then decodes the rest, and fails if the body is
    /// cut short or has bytes after its end.
    pub fn end(&mut self) {
        self.ended = true;
        self.inner.end();
    }

    /// Decoded bytes into `buf`: `Data(n)`; `Pending` when the bytes written so far yield no
    /// more; `End` once the body, ended, is read. Corrupt data, a body cut short or bytes
    /// after its end are `Failed` (`ErrorKind::Decoding`), on this read and every later one.
    pub fn read(&mut self, buf: &mut [u8]) -> Got {
        if let Some(e) = &self.failed {
            return Got::Failed(e.clone());
        }
        if self.pending.is_empty() {
            match self.inner.pull() {
                Ok(Some(piece)) => self.pending = piece,
                Ok(None) if self.ended => return Got::End,
                Ok(None) => return Got::Pending,
                Err(e) => {
                    self.failed = Some(e.clone());
                    return Got::Failed(e);
                }
            }
        }
        let n = self.pending.len().min(buf.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.advance(n);
        Got::Data(n)
    }

    /// Decodes a whole body: `content_encoding`'s codings undone, or `data` as it is when
    /// there is nothing to decode.
    pub fn decode_all(content_encoding: &[u8], data: &[u8]) -> Result<Vec<u8>> {
        let Some(mut d) = ContentDecoder::new(content_encoding)? else {
            return Ok(data.to_vec());
        };
        d.inner.feed(Bytes::copy_from_slice(data));
        Ok(d.inner.finish()?.into())
    }
}

/// The encoded frames waiting for the innermost stage (the first one partly read, maybe).
#[derive(Default)]
struct Feed {
    frames: VecDeque<Bytes>,
    /// No frame will follow.
    ended: bool,
}

impl Feed {
    fn has_data(&self) -> bool {
        self.frames.iter().any(|f| !f.is_empty())
    }
}

fn lock(m: &Mutex<Feed>) -> std::sync::MutexGuard<'_, Feed> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The innermost stage's input: the fed frames, one at a time. Out of frames before the
/// body ended it says `WouldBlock`, which the decoders pass up with their state kept, so
/// the next frame resumes them. What it has not consumed stays in the feed, where the end
/// of a coding is checked for bytes after it.
struct FeedReader {
    feed: Arc<Mutex<Feed>>,
    /// The feed's first frame as it stands (a clone, sharing its memory).
    current: Bytes,
}

impl Read for FeedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_buffered(self, buf)
    }
}

/// `Read` for a `BufRead` over its own buffer: a copy out of `fill_buf`, then `consume`.
fn read_buffered(r: &mut impl BufRead, buf: &mut [u8]) -> io::Result<usize> {
    let have = r.fill_buf()?;
    let n = have.len().min(buf.len());
    buf[..n].copy_from_slice(&have[..n]);
    r.consume(n);
    Ok(n)
}

impl BufRead for FeedReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.current.is_empty() {
            let mut feed = lock(&self.feed);
            while feed.frames.front().is_some_and(Bytes::is_empty) {
                feed.frames.pop_front();
            }
            match feed.frames.front() {
                Some(frame) => self.current = frame.clone(),
                None if feed.ended => return Ok(&[]),
                None => return Err(io::ErrorKind::WouldBlock.into()),
            }
        }
        Ok(&self.current)
    }

    fn consume(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        self.current.advance(n);
        let mut feed = lock(&self.feed);
        if let Some(front) = feed.frames.front_mut() {
            front.advance(n);
            if front.is_empty() {
                feed.frames.pop_front();
            }
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Coding {
    Gzip,
    Deflate,
    Brotli,
    Zstd,
}

impl Coding {
    fn parse(token: &[u8]) -> Option<Coding> {
        let is = |name: &str| token.eq_ignore_ascii_case(name.as_bytes());
        if is("gzip") || is("x-gzip") {
            Some(Coding::Gzip)
        } else if is("deflate") {
            Some(Coding::Deflate)
        } else if is("br") {
            Some(Coding::Brotli)
        } else if is("zstd") {
            Some(Coding::Zstd)
        } else {
            None
        }
    }

    /// The stage that undoes this coding, reading `input`.
    fn stage(self, input: Box<dyn BufRead + Send>) -> Result<Box<dyn Read + Send>> {
        Ok(match self {
            // Multi-member: concatenated gzip files are one valid gzip body.
            Coding::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
            Coding::Deflate => Box::new(Deflate::Probe(Some(Probe {
                head: Vec::new(),
                input,
            }))),
            Coding::Brotli => Box::new(brotli_decompressor::Decompressor::new(input, PIECE)),
            Coding::Zstd => {
                let mut d =
                    zstd::stream::read::Decoder::with_buffer(input).map_err(decode_error)?;
                d.window_log_max(ZSTD_WINDOW_LOG_MAX)
                    .map_err(decode_error)?;
                Box::new(d)
            }
        })
    }
}

/// `deflate` is meant to be zlib-wrapped (RFC 9110 §8.4.1.2), but some servers send raw
/// deflate: the first two bytes tell which, as in curl, browsers and httpx.
enum Deflate {
    Probe(Option<Probe>),
    Zlib(flate2::bufread::ZlibDecoder<Probe>),
    Raw(flate2::bufread::DeflateDecoder<Probe>),
}

/// The input with its first bytes, read to tell the wrapping, put back in front.
struct Probe {
    head: Vec<u8>,
    input: Box<dyn BufRead + Send>,
}

impl Read for Probe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_buffered(self, buf)
    }
}

impl BufRead for Probe {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.head.is_empty() {
            self.input.fill_buf()
        } else {
            Ok(&self.head)
        }
    }

    fn consume(&mut self, n: usize) {
        if self.head.is_empty() {
            self.input.consume(n);
        } else {
            self.head.drain(..n);
        }
    }
}

impl Read for Deflate {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Deflate::Probe(probe) = self {
            let p = probe.as_mut().expect("a probe until it decides");
            while p.head.len() < 2 {
                let more = p.input.fill_buf()?; // WouldBlock: the head so far is kept
                if more.is_empty() {
                    break;
                }
                let n = more.len().min(2 - p.head.len());
                p.head.extend_from_slice(&more[..n]);
                p.input.consume(n);
            }
            let h = &p.head;
            let zlib = h.len() >= 2
                && h[0] & 0x0f == 8
                && h[0] >> 4 <= 7
                && (u16::from(h[0]) << 8 | u16::from(h[1])) % 31 == 0;
            let p = probe.take().expect("a probe until it decides");
            *self = if zlib {
                Deflate::Zlib(flate2::bufread::ZlibDecoder::new(p))
            } else {
                Deflate::Raw(flate2::bufread::DeflateDecoder::new(p))
            };
        }
        match self {
            Deflate::Zlib(d) => d.read(buf),
            Deflate::Raw(d) => d.read(buf),
            Deflate::Probe(_) => unreachable!("decided above"),
        }
    }
}

fn data_after_end() -> Error {
    Error::new(
        ErrorKind::Decoding,
        "could not decode the response body: data follows the end of the compressed stream",
    )
}

fn decode_error(e: io::Error) -> Error {
    Error::new(
        ErrorKind::Decoding,
        format!("could not decode the response body: {e}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use std::io::Write;

    const TEXT: &[u8] = b"The quick brown fox jumps over the lazy dog. ";

    fn text(n: usize) -> Vec<u8> {
        TEXT.iter().copied().cycle().take(n).collect()
    }

    fn headers(ce: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_ENCODING, HeaderValue::from_str(ce).unwrap());
        h
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn raw_deflate(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zstd_of(data: &[u8]) -> Vec<u8> {
        zstd::stream::encode_all(data, 3).unwrap()
    }

    /// Feeds `encoded` in pieces of `step` bytes.
    fn decode(ce: &str, encoded: &[u8], step: usize, max: u64) -> Result<Bytes> {
        let mut d = Decoder::for_response(&headers(ce), max)?.expect("a decoder");
        for piece in encoded.chunks(step) {
            d.push(Bytes::copy_from_slice(piece))?;
        }
        d.finish()
    }

    #[test]
    fn each_coding_round_trips_in_any_piece_size() {
        let body = text(200_000);
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("gzip", gzip(&body)),
            ("x-gzip", gzip(&body)),
            ("deflate", zlib(&body)),
            ("deflate", raw_deflate(&body)),
            ("zstd", zstd_of(&body)),
            ("br", brotli(&body)),
        ];
        for (ce, encoded) in cases {
            for step in [1, 7, 4096, encoded.len()] {
                let out = decode(ce, &encoded, step, 1 << 30).unwrap();
                assert_eq!(&out[..], &body[..], "{ce} in pieces of {step}");
            }
        }
    }

    fn brotli(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
            w.write_all(data).unwrap();
        }
        out
    }

    #[test]
    fn stacked_codings_are_undone_in_reverse_order() {
        let body = text(10_000);
        let encoded = zstd_of(&gzip(&body));
        let out = decode("gzip, zstd", &encoded, 1000, 1 << 20).unwrap();
        assert_eq!(&out[..], &body[..]);
        // The same through two header lines.
        let mut h = headers("gzip");
        h.append(CONTENT_ENCODING, HeaderValue::from_static("zstd"));
        let mut d = Decoder::for_response(&h, 1 << 20).unwrap().unwrap();
        d.push(Bytes::from(encoded)).unwrap();
        assert_eq!(&d.finish().unwrap()[..], &body[..]);
    }

    #[test]
    fn identity_absent_and_unknown_codings_decode_nothing() {
        assert!(Decoder::for_response(&HeaderMap::new(), 10)
            .unwrap()
            .is_none());
        assert!(Decoder::for_response(&headers("identity"), 10)
            .unwrap()
            .is_none());
        assert!(Decoder::for_response(&headers("gzip, compress"), 10)
            .unwrap()
            .is_none());
        let err = Decoder::for_response(&headers("gzip, gzip, gzip, gzip"), 10)
            .err()
            .unwrap();
        assert_eq!(err.kind(), ErrorKind::Decoding);
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        // 64 MiB of zeros gzip to ~64 KiB; with a 1 MiB limit the decoder must stop early.
        let zeros = vec![0u8; 64 << 20];
        let encoded = gzip(&zeros);
        assert!(encoded.len() < 100_000);
        let err = decode("gzip", &encoded, 16 * 1024, 1 << 20).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BodyTooLarge, "{err}");
        for (ce, encoded) in [("zstd", zstd_of(&zeros)), ("br", brotli(&zeros))] {
            let err = decode(ce, &encoded, 16 * 1024, 1 << 20).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BodyTooLarge, "{ce}: {err}");
        }
        // Exactly at the limit is allowed.
        let out = decode("gzip", &gzip(&zeros[..1 << 20]), 16 * 1024, 1 << 20).unwrap();
        assert_eq!(out.len(), 1 << 20);
    }

    #[test]
    fn corrupt_and_truncated_bodies_fail_with_decoding() {
        let encoded = gzip(&text(50_000));
        let err = decode("gzip", &encoded[..encoded.len() / 2], 512, 1 << 20).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decoding, "{err}");
        let mut bad = encoded.clone();
        bad[20] ^= 0xff;
        bad[21] ^= 0xff;
        let err = decode("gzip", &bad, 512, 1 << 20).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decoding, "{err}");
        let err = decode("zstd", b"not zstd at all", 4, 1 << 20).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decoding, "{err}");
        let br = brotli(&text(50_000));
        let err = decode("br", &br[..br.len() - 3], 100, 1 << 20).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decoding, "{err}");
        // Bytes after the end of a complete stream: said so (was "failed to write whole
        // buffer"). (gzip and zstd read them as the next member or frame, and say why that
        // is not one.)
        for (ce, mut encoded) in [("deflate", zlib(b"abc")), ("br", brotli(b"abc"))] {
            encoded.extend_from_slice(b"JUNK");
            let err = decode(ce, &encoded, 4096, 1 << 20).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Decoding, "{ce}: {err}");
            assert!(
                err.message().contains("follows the end"),
                "{ce}: {}",
                err.message()
            );
        }
    }

    #[test]
    fn an_empty_encoded_body_is_an_empty_body() {
        let d = Decoder::for_response(&headers("gzip"), 10)
            .unwrap()
            .unwrap();
        assert!(d.finish().unwrap().is_empty());
    }

    /// Feeds `encoded` to a streamed body's decoder in frames of `frame` bytes and pulls
    /// after each, as the pump does; returns the decoded body and the largest piece pulled.
    fn stream_decode(ce: &str, encoded: &[u8], frame: usize) -> Result<(Vec<u8>, usize)> {
        let mut d = Decoder::for_response(&headers(ce), u64::MAX)?.expect("a decoder");
        let (mut out, mut most) = (Vec::new(), 0);
        let mut pull = |d: &mut Decoder| -> Result<()> {
            while let Some(piece) = d.pull()? {
                most = most.max(piece.len());
                out.extend_from_slice(&piece);
            }
            Ok(())
        };
        for piece in encoded.chunks(frame) {
            d.feed(Bytes::copy_from_slice(piece));
            pull(&mut d)?;
        }
        d.end();
        pull(&mut d)?;
        Ok((out, most))
    }

    /// A streamed body comes out a piece of at most 32 KiB at a time, whatever it inflates
    /// to and however large its frames: zeros (each coding's best ratio) after
    /// incompressible bytes, fed whole.
    #[test]
    fn a_streamed_bomb_comes_out_a_bounded_piece_at_a_time() {
        let mut body: Vec<u8> = (0..1u32 << 18)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        body.resize(body.len() + (16 << 20), 0);
        for (ce, encoded) in [
            ("gzip", gzip(&body)),
            ("deflate", zlib(&body)),
            ("zstd", zstd_of(&body)),
            ("br", brotli(&body)),
            ("gzip, zstd", zstd_of(&gzip(&body))),
        ] {
            let (out, most) = stream_decode(ce, &encoded, encoded.len()).unwrap();
            assert!(out == body, "{ce}");
            assert!(most <= PIECE, "{ce}: a piece of {most} bytes");
        }
        let body = text(2_000_000);
        let (out, _) = stream_decode("br", &brotli(&body), 1000).unwrap();
        assert_eq!(out, body);
    }

    #[test]
    fn a_content_decoder_decodes_what_the_caller_writes() {
        let body = text(100_000);
        // Written in pieces, read into a small buffer: Pending until the end is said.
        let encoded = gzip(&zstd_of(&body));
        let mut d = ContentDecoder::new(b"zstd, gzip")
            .unwrap()
            .expect("a decoder");
        let mut out = Vec::new();
        let mut buf = [0u8; 1000];
        for piece in encoded.chunks(333) {
            d.write(piece);
            loop {
                match d.read(&mut buf) {
                    Got::Data(n) => out.extend_from_slice(&buf[..n]),
                    Got::Pending => break,
                    other => panic!("{other:?} before the end"),
                }
            }
        }
        d.end();
        loop {
            match d.read(&mut buf) {
                Got::Data(n) => out.extend_from_slice(&buf[..n]),
                Got::End => break,
                other => panic!("{other:?} after the end"),
            }
        }
        assert_eq!(out, body);
        assert_eq!(
            ContentDecoder::decode_all(b"br", &brotli(&body)).unwrap(),
            body
        );
        // Nothing to decode: no decoder, and decode_all gives the bytes back.
        for ce in [&b""[..], b"identity", b"compress", b" identity , "] {
            assert!(ContentDecoder::new(ce).unwrap().is_none(), "{ce:?}");
        }
        assert_eq!(
            ContentDecoder::decode_all(b"x-unknown", b"as is").unwrap(),
            b"as is"
        );
        // Refused: a control byte, too many codings.
        let e = ContentDecoder::new(b"gzip\r\nX: y").err().expect("refused");
        assert_eq!(e.kind(), ErrorKind::InvalidHeader);
        let e = ContentDecoder::new(b"gzip, gzip, gzip, gzip")
            .err()
            .expect("refused");
        assert_eq!(e.kind(), ErrorKind::Decoding);
        // Cut short, corrupt, or followed by bytes: Failed, and again on the next read.
        let whole = gzip(&body);
        let cases: [(&str, Vec<u8>, &str); 3] = [
            (
                "cut",
                whole[..whole.len() - 10].to_vec(),
                "could not decode",
            ),
            (
                "corrupt",
                b"\x1f\x8b\x08\x00 not gzip at all".to_vec(),
                "could not decode",
            ),
            (
                "trailing",
                [zlib(b"x"), b"junk".to_vec()].concat(),
                "follows the end",
            ),
        ];
        for (what, data, says) in cases {
            let ce: &[u8] = if what == "trailing" {
                b"deflate"
            } else {
                b"gzip"
            };
            let mut d = ContentDecoder::new(ce).unwrap().unwrap();
            d.write(&data);
            d.end();
            let failed = loop {
                match d.read(&mut buf) {
                    Got::Data(_) => continue,
                    Got::Failed(e) => break e,
                    other => panic!("{what}: {other:?}"),
                }
            };
            assert_eq!(failed.kind(), ErrorKind::Decoding, "{what}");
            assert!(
                failed.message().contains(says),
                "{what}: {}",
                failed.message()
            );
            assert_eq!(d.read(&mut buf), Got::Failed(failed), "{what}: again");
            let e = ContentDecoder::decode_all(ce, &data).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Decoding, "{what}: whole");
        }
        // An empty body in a coding decodes to nothing (servers send such bodies).
        let mut d = ContentDecoder::new(b"gzip").unwrap().unwrap();
        d.end();
        assert_eq!(d.read(&mut buf), Got::End);
    }
}
