//! Content codings (RFC 9110 §8.4): decoding gzip, deflate, br and zstd response bodies as
//! they arrive, on the runtime, with the body-size limit applied to the decoded size so a
//! small body that inflates to gigabytes stops at the limit.
//!
//! The decoders are the maintained reference crates: flate2 (on zlib-rs) for gzip and
//! deflate, brotli-decompressor, zstd. Each writes into the next stage, the last into a
//! [`Sink`] that enforces the limit, so memory stays bounded whatever the input.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use http::header::{HeaderMap, CONTENT_ENCODING};

use crate::error::{Error, ErrorKind, Result};

/// The `Accept-Encoding` sent when decompression is on.
pub(crate) const ACCEPT: &str = "gzip, deflate, br, zstd";

/// Most codings stacked on one body; more is refused (each stage holds its own buffers).
const MAX_STAGES: usize = 3;

/// zstd window limit, 2^23 = 8 MiB: RFC 9659 §3 caps HTTP's zstd window there, so a frame
/// asking for more is an attack on memory, not content.
const ZSTD_WINDOW_LOG_MAX: u32 = 23;

/// A streamed body is decoded a slice of input at a time, the reader's room awaited between
/// slices, so a small body that inflates to gigabytes does not pile up ahead of the reader.
/// The first slice is this long (64 bytes of zstd or gzip yield at most about 2 MiB); a
/// slice that decodes to little doubles the next, up to `MAX_SLICE`; one that decodes to
/// more than `STEP` brings the next down to one byte.
const FIRST_SLICE: usize = 64;
const MAX_SLICE: usize = 64 * 1024;
const STEP: usize = 256 * 1024;
/// What one slice may decode to, beyond which the body is refused as a decompression bomb
/// (one byte of brotli may yield tens of MiB of zeros; real content is far below).
const MAX_AT_ONCE: usize = 64 << 20;

/// Decodes one response body, fed frame by frame.
pub(crate) struct Decoder {
    stage: Box<dyn Stage>,
    fed: bool,
    /// What the chain has decoded and nobody has taken yet (the sink writes here).
    out: Arc<Mutex<BytesMut>>,
    /// The next slice's length (`push_some`, streamed bodies).
    slice: usize,
}

impl Decoder {
    /// A decoder for the response's `Content-Encoding`, or `None` when there is nothing to
    /// decode: no header, only `identity`, or a coding this build does not know (the body
    /// is then delivered as received, with its header, as httpx and browsers do).
    pub(crate) fn for_response(headers: &HeaderMap, max: u64) -> Result<Option<Decoder>> {
        Decoder::build(headers, max, usize::MAX)
    }

    fn build(headers: &HeaderMap, max: u64, at_once: usize) -> Result<Option<Decoder>> {
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
        // The first coding listed was applied first, so it is undone last: nearest the sink.
        let out = Arc::new(Mutex::new(BytesMut::new()));
        let mut stage: Box<dyn Stage> = Box::new(Sink {
            out: out.clone(),
            written: 0,
            max,
            at_once,
        });
        for c in codings {
            stage = c.stage(stage)?;
        }
        Ok(Some(Decoder {
            stage,
            fed: false,
            out,
            slice: FIRST_SLICE,
        }))
    }

    /// A decoder for a streamed body, fed with `push_some`: no limit on the total, but one
    /// slice may not decode to more than `MAX_AT_ONCE`.
    pub(crate) fn for_stream(headers: &HeaderMap) -> Result<Option<Decoder>> {
        Decoder::build(headers, u64::MAX, MAX_AT_ONCE)
    }

    /// Decodes the next slice of `data`: up to the slice length, which adapts to how much
    /// the last slice yielded. Returns how many bytes of `data` it took; the output is
    /// then in `take`.
    pub(crate) fn push_some(&mut self, data: &[u8]) -> Result<usize> {
        let n = data.len().min(self.slice);
        self.push(&data[..n])?;
        let yielded = lock(&self.out).len();
        self.slice = if yielded > STEP {
            1
        } else if yielded < STEP / 4 {
            (self.slice * 2).min(MAX_SLICE)
        } else {
            self.slice
        };
        Ok(n)
    }

    /// Decodes the next piece of the body.
    pub(crate) fn push(&mut self, data: &[u8]) -> Result<()> {
        if !data.is_empty() {
            self.fed = true;
            self.stage.write_all(data).map_err(decode_error)?;
        }
        Ok(())
    }

    /// What was decoded since the last take (for a body delivered as it arrives).
    pub(crate) fn take(&mut self) -> Bytes {
        lock(&self.out).split().freeze()
    }

    /// The rest of the decoded body, once the whole encoded body was pushed. An empty body
    /// decodes to an empty body (servers send `Content-Encoding: gzip` on empty responses).
    pub(crate) fn finish(self) -> Result<Bytes> {
        if !self.fed {
            return Ok(Bytes::new());
        }
        self.stage.end().map_err(decode_error)?;
        Ok(lock(&self.out).split().freeze())
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

    fn stage(self, next: Box<dyn Stage>) -> Result<Box<dyn Stage>> {
        Ok(match self {
            // Multi-member: concatenated gzip files are one valid gzip body.
            Coding::Gzip => Box::new(flate2::write::MultiGzDecoder::new(next)),
            Coding::Deflate => Box::new(Deflate {
                head: Vec::new(),
                next: Some(next),
                inner: None,
            }),
            Coding::Brotli => Box::new(Brotli(brotli_decompressor::DecompressorWriter::new(
                next,
                32 * 1024,
            ))),
            Coding::Zstd => {
                let mut d = zstd::stream::write::Decoder::new(next).map_err(decode_error)?;
                d.window_log_max(ZSTD_WINDOW_LOG_MAX)
                    .map_err(decode_error)?;
                Box::new(d)
            }
        })
    }
}

/// A decoding stage: takes encoded bytes through `Write`, hands decoded ones to the next.
trait Stage: Write + Send {
    /// Checks the input ended where the coding says it ends and flushes what is left;
    /// returns the sink at the end of the chain.
    fn end(self: Box<Self>) -> io::Result<Sink>;
}

/// The end of the chain: the decoded body, refusing to grow past the limit. (The buffer is
/// shared with the `Decoder`, which takes from it while a streamed body is decoded.)
struct Sink {
    out: Arc<Mutex<BytesMut>>,
    written: u64,
    max: u64,
    /// The most that may wait untaken (a streamed body's slice: see `MAX_AT_ONCE`).
    at_once: usize,
}

fn lock(m: &Mutex<BytesMut>) -> std::sync::MutexGuard<'_, BytesMut> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The payload of the error [`Sink`] returns at the limit, told apart from decode errors.
#[derive(Debug)]
struct OverLimit(u64);

impl std::fmt::Display for OverLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "decoded response body exceeds the maximum of {} bytes",
            self.0
        )
    }
}

impl std::error::Error for OverLimit {}

/// The error [`Sink`] returns when a streamed body's slice decodes to more than
/// `MAX_AT_ONCE`.
#[derive(Debug)]
struct Burst;

impl std::fmt::Display for Burst {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a few bytes of the response body decoded to more than {} MiB at once: refused as a decompression bomb",
            MAX_AT_ONCE >> 20
        )
    }
}

impl std::error::Error for Burst {}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written + buf.len() as u64 > self.max {
            return Err(io::Error::other(OverLimit(self.max)));
        }
        let mut out = lock(&self.out);
        if out.len().saturating_add(buf.len()) > self.at_once {
            return Err(io::Error::other(Burst));
        }
        self.written += buf.len() as u64;
        out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Stage for Sink {
    fn end(self: Box<Self>) -> io::Result<Sink> {
        Ok(*self)
    }
}

impl Stage for flate2::write::MultiGzDecoder<Box<dyn Stage>> {
    fn end(self: Box<Self>) -> io::Result<Sink> {
        self.finish()?.end()
    }
}

impl Stage for zstd::stream::write::Decoder<'static, Box<dyn Stage>> {
    fn end(self: Box<Self>) -> io::Result<Sink> {
        self.finish()?.end()
    }
}

struct Brotli(brotli_decompressor::DecompressorWriter<Box<dyn Stage>>);

impl Write for Brotli {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl Stage for Brotli {
    fn end(mut self: Box<Self>) -> io::Result<Sink> {
        self.0.close()?;
        match self.0.into_inner() {
            Ok(next) => next.end(),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "brotli stream did not end",
            )),
        }
    }
}

/// `deflate` is meant to be zlib-wrapped (RFC 9110 §8.4.1.2), but some servers send raw
/// deflate: the first two bytes tell which, as in curl, browsers and httpx.
struct Deflate {
    head: Vec<u8>,
    next: Option<Box<dyn Stage>>,
    inner: Option<DeflateInner>,
}

enum DeflateInner {
    Zlib(flate2::write::ZlibDecoder<Box<dyn Stage>>),
    Raw(flate2::write::DeflateDecoder<Box<dyn Stage>>),
}

impl Deflate {
    fn start(&mut self) -> io::Result<()> {
        let Some(next) = self.next.take() else {
            return Ok(());
        };
        let zlib = self.head.len() >= 2
            && self.head[0] & 0x0f == 8
            && self.head[0] >> 4 <= 7
            && (u16::from(self.head[0]) << 8 | u16::from(self.head[1])) % 31 == 0;
        let mut inner = if zlib {
            DeflateInner::Zlib(flate2::write::ZlibDecoder::new(next))
        } else {
            DeflateInner::Raw(flate2::write::DeflateDecoder::new(next))
        };
        let head = std::mem::take(&mut self.head);
        match &mut inner {
            DeflateInner::Zlib(d) => d.write_all(&head)?,
            DeflateInner::Raw(d) => d.write_all(&head)?,
        }
        self.inner = Some(inner);
        Ok(())
    }
}

impl Write for Deflate {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.inner.is_none() {
            self.head.extend_from_slice(buf);
            if self.head.len() >= 2 {
                self.start()?;
            }
            return Ok(buf.len());
        }
        match self.inner.as_mut() {
            Some(DeflateInner::Zlib(d)) => d.write(buf),
            Some(DeflateInner::Raw(d)) => d.write(buf),
            None => unreachable!("started above"),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.inner.as_mut() {
            Some(DeflateInner::Zlib(d)) => d.flush(),
            Some(DeflateInner::Raw(d)) => d.flush(),
            None => Ok(()),
        }
    }
}

impl Stage for Deflate {
    fn end(mut self: Box<Self>) -> io::Result<Sink> {
        self.start()?;
        match self.inner.take() {
            Some(DeflateInner::Zlib(d)) => d.finish()?.end(),
            Some(DeflateInner::Raw(d)) => d.finish()?.end(),
            None => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "deflate stream did not start",
            )),
        }
    }
}

fn decode_error(e: io::Error) -> Error {
    if let Some(limit) = e.get_ref().and_then(|r| r.downcast_ref::<OverLimit>()) {
        return Error::new(ErrorKind::BodyTooLarge, limit.to_string());
    }
    if let Some(burst) = e.get_ref().and_then(|r| r.downcast_ref::<Burst>()) {
        return Error::new(ErrorKind::BodyTooLarge, burst.to_string());
    }
    // A decoder that reached its stream's end takes no more: the bytes left over follow it.
    if e.kind() == io::ErrorKind::WriteZero {
        return Error::new(
            ErrorKind::Decoding,
            "could not decode the response body: data follows the end of the compressed stream",
        );
    }
    Error::new(
        ErrorKind::Decoding,
        format!("could not decode the response body: {e}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

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
            d.push(piece)?;
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
        d.push(&encoded).unwrap();
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

    /// Feeds `encoded` to a streamed body's decoder slice by slice, as the pump does;
    /// returns the decoded body and the most one slice yielded.
    fn stream_decode(ce: &str, encoded: &[u8], frame: usize) -> Result<(Vec<u8>, usize)> {
        let mut d = Decoder::for_stream(&headers(ce))?.expect("a decoder");
        let (mut out, mut most) = (Vec::new(), 0);
        for piece in encoded.chunks(frame) {
            let mut rest = piece;
            while !rest.is_empty() {
                rest = &rest[d.push_some(rest)?..];
                let got = d.take();
                most = most.max(got.len());
                out.extend_from_slice(&got);
            }
        }
        out.extend_from_slice(&d.finish()?);
        Ok((out, most))
    }

    /// A streamed body that inflates a thousandfold (zeros, gzip's best ratio) comes out in
    /// slices of about a MiB at most, however large the frames: never the whole body at once.
    #[test]
    fn a_streamed_bomb_comes_out_a_bounded_slice_at_a_time() {
        let zeros = vec![0u8; 48 << 20];
        for (ce, encoded) in [("gzip", gzip(&zeros)), ("zstd", zstd_of(&zeros))] {
            let (out, most) = stream_decode(ce, &encoded, encoded.len()).unwrap();
            assert!(
                out.len() == zeros.len() && out.iter().all(|&b| b == 0),
                "{ce}"
            );
            assert!(
                most <= (2 << 20) + STEP,
                "{ce}: a slice yielded {most} bytes"
            );
        }
        // Brotli yields up to tens of megabytes a byte (a copy of 16 MiB takes a few
        // bits): a slice at a time still, below `MAX_AT_ONCE` and the whole.
        let zeros = vec![0u8; 200 << 20];
        let (out, most) = stream_decode("br", &brotli(&zeros), 1 << 20).unwrap();
        assert_eq!(out.len(), zeros.len());
        assert!(most < MAX_AT_ONCE, "br: a slice yielded {most} bytes");
        // Ordinary text keeps large slices (few steps), and decodes exactly.
        let body = text(2_000_000);
        let (out, _) = stream_decode("br", &brotli(&body), 16 * 1024).unwrap();
        assert_eq!(out, body);
    }

    /// A slice that yields more than a streamed decoder holds at once is refused as a bomb
    /// (here with a cap of 1 MiB, as `MAX_AT_ONCE` is for slices no real body reaches).
    #[test]
    fn a_streamed_slice_that_decodes_to_too_much_is_refused() {
        let encoded = gzip(&vec![0u8; 8 << 20]);
        let mut d = Decoder::build(&headers("gzip"), u64::MAX, 1 << 20)
            .unwrap()
            .unwrap();
        let err = d.push(&encoded).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BodyTooLarge);
        assert!(
            err.message().contains("decompression bomb"),
            "{}",
            err.message()
        );
    }
}
