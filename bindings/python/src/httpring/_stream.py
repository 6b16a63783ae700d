"""Streamed response bodies: ``client.stream(...)`` and ``client.send(request, stream=True)``.

A streamed request is submitted with ``HTTPRING_SPEC_STREAM`` (a one-spec batch, or the
AsyncClient's batch), or built with ``httpring_request_set_stream`` when it has settings a
spec cannot carry: it completes as soon as
its response head arrives (``HTTPRING_EVENT_HEAD`` instead of ``HTTPRING_EVENT_DONE``).
Its handle then stays live, owned by the Response's body (``SyncBody`` or ``AsyncBody``),
which reads the body with ``httpring_handle_read_chunk`` as the caller iterates, and frees the
handle when the response is closed: after the end of the body (the connection goes back
to the pool) or before it (the engine stops the body and closes the connection, never
reused half-read; over HTTP/2 it resets the stream, and the shared connection stays). At most the engine's stream buffer (256 KiB) waits
unread; then the engine stops reading from the server, so a caller that does not read
holds the server back and memory stays flat.

Readiness is edge-triggered: once a read returns ``HTTPRING_PENDING``, the next data, the
end or an error is announced once, by an ``HTTPRING_EVENT_BODY`` completion on the
client's queue, and by waking ``httpring_handle_wait_body``.

- Sync: a reader that finds nothing blocks in ``httpring_handle_wait_body`` (GIL released,
  in slices of a quarter second so Ctrl-C is seen); the engine's read timeout ends a
  silence with ``ReadTimeout``. The BODY completions also land in the client's queue, where
  nothing asks for them (user_data 0: see ``Client._pump``); the reader has the queue
  swept now and then so that a stream that lasts for days does not grow it.
- Async: a reader that finds nothing awaits a future of its own, which the AsyncClient's
  dispatcher resolves when it drains the BODY completion for that handle (the client's one
  fd, on the event loop). No thread per stream, and the loop does not wait for the server
  (at most for a copy on another thread, see ``Body.close``). Under trio the
  future is a ``_trio.TrioFuture`` (the task parks until the dispatcher wakes it).

Each read takes what the engine buffered (up to 256 KiB) with
``httpring_handle_read_chunk``, which lends it without a copy, and copies it into a new
bytes object: one copy per piece. The read that takes a body's last bytes also learns that
the body ended, so reading a body to its end costs no call for the end. The lent bytes live
until the handle is freed: a copy holds ``Engine.lock``, which freeing the client takes and
a response's close takes too (see ``Body.close``).

Content codings are decoded by the engine as the body arrives: the bytes read are the
decoded body. ``iter_raw`` therefore yields the same bytes as ``iter_bytes`` (see the
README: the choice between raw and decoded is made after the request was sent, too late
for the engine's per-request decompression setting).
"""

from __future__ import annotations

import codecs
import ctypes
import struct
import threading
import time
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Callable, Iterable, Iterator, List, Optional

from . import _ffi
from ._exceptions import ClosedWhileReading, StreamClosed
from ._loops import running_asyncio_loop, running_loop

if TYPE_CHECKING:
    from ._async_client import _Dispatcher
    from ._models import Response
    from ._engine import Engine, Scratch
    from ._loops import Fut

_OK = _ffi.HTTPRING_OK
_PENDING = _ffi.HTTPRING_PENDING
_LAST = _ffi.HTTPRING_CHUNK_LAST
_ADDRESS_SPACE = _ffi.ADDRESS_SPACE
_WAIT_SLICE_MS = 250
#: A sync reader has the client's queue swept of its BODY completions every this many
#: waits (one per wait: a 200 MB download makes a few hundred, a stream of events one per
#: event).
SWEEP_EVERY = 256


#: httpring_chunk: struct_size, flags, data, len, received.
CHUNK_LAYOUT = struct.Struct("@IIPNQ")
assert CHUNK_LAYOUT.size == ctypes.sizeof(_ffi.httpring_chunk)


class ChunkOut:
    """Where ``httpring_handle_read_chunk`` says what it lent (one per thread or event
    loop, in its ``Scratch``), and a view to unpack it in one call."""

    __slots__ = ("struct", "view")

    def __init__(self) -> None:
        self.struct = _ffi.new(_ffi.httpring_chunk)
        self.view = memoryview(self.struct).cast("B")


#: How long a response's close waits for ``Engine.lock`` before it leaves the free to a
#: thread: a copy takes microseconds; a wait this long means the lock is this thread's own.
_CLOSE_WAIT_S = 0.05


def _free_later(engine: "Engine", h: int) -> None:
    """Frees handle ``h`` once ``Engine.lock`` is free, on a thread of its own (a closed
    client has freed it already)."""

    def free() -> None:
        with engine.lock:
            _free(engine, h)

    try:
        threading.Thread(target=free, name="httpring-free", daemon=True).start()
    except RuntimeError:  # no thread to be had (interpreter shutdown): the client frees it
        pass


def _free(engine: "Engine", h: int) -> None:
    if not engine.closed:
        engine.free(h)


class StreamContext:
    """What ``Client.stream`` returns: entering sends the request (``open_(args)``) and
    gives the Response once its head is in; leaving closes it. A class, not
    ``contextlib.contextmanager``: no generator to make and drive for every request."""

    __slots__ = ("_open", "_args", "_response")

    def __init__(self, open_: "Callable[[Any], Response]", args: Any) -> None:
        self._open = open_
        self._args = args
        self._response: "Optional[Response]" = None

    def __enter__(self) -> "Response":
        if self._response is not None:
            raise RuntimeError("this client.stream(...) block is already open")
        self._response = self._open(self._args)
        return self._response

    def __exit__(self, *exc: Any) -> None:
        r, self._response = self._response, None
        if r is not None:
            r.close()


class AsyncStreamContext:
    """``StreamContext`` for ``AsyncClient.stream`` (``async with``)."""

    __slots__ = ("_open", "_args", "_response")

    def __init__(self, open_: "Callable[[Any], Awaitable[Response]]", args: Any) -> None:
        self._open = open_
        self._args = args
        self._response: "Optional[Response]" = None

    async def __aenter__(self) -> "Response":
        if self._response is not None:
            raise RuntimeError("this client.stream(...) block is already open")
        self._response = await self._open(self._args)
        return self._response

    async def __aexit__(self, *exc: Any) -> None:
        r, self._response = self._response, None
        if r is not None and not r.is_closed:  # (read to the end, it closed itself)
            await r.aclose()


class Body:
    """A streamed response's body: the engine handle (owned: ``close()`` frees it, and the
    garbage collector as a last resort) and how far reading it went."""

    __slots__ = (
        "engine", "h", "method", "url", "consumed", "closed", "ended", "content_read", "head_time",
        "_received", "__weakref__",
    )

    #: An AsyncClient's body: read with the ``aiter_*`` methods.
    is_async = False

    def __init__(self, engine: "Engine", h: int, method: str, url: str) -> None:
        self.engine = engine
        self.h = h
        self.method = method
        self.url = url
        #: Iteration started (httpx's ``is_stream_consumed``).
        self.consumed = False
        #: The handle was freed (httpx's ``is_closed``).
        self.closed = False
        #: Every byte was read.
        self.ended = False
        #: The response's ``read()``/``aread()`` set its ``content``.
        self.content_read = False
        self.head_time = time.monotonic()
        self._received = 0

    def __del__(self) -> None:
        # Dropped without close(): the handle is freed here, when the last reference goes
        # (cheaper per response than a weakref.finalize; nothing else holds a body).
        if not getattr(self, "closed", True):
            self.closed = True
            try:
                _free(self.engine, self.h)
            except Exception:  # interpreter shutdown: the engine is going anyway
                pass

    def _info(self) -> Any:
        """An ``httpring_info`` to fill (overridden: a reusable one)."""
        return _ffi.new(_ffi.httpring_info)

    def received(self) -> int:
        """The body's bytes received so far, as sent (before content decoding): the
        engine's count while the handle lives, its last count once closed."""
        if not self.closed and not self.ended and not self.engine.closed:
            info = self._info()
            if self.engine._info(self.engine.ptr, self.h, info) == _OK:
                self._received = int(info.bytes_received)
        return self._received

    def close(self) -> int:
        """Frees the handle. Returns the µs since the head arrived the first time (the
        response adds them to ``elapsed``), 0 after."""
        if self.closed:
            return 0
        if not self.ended:  # (at the end, the last read brought the count)
            self.received()  # its last count, kept for num_bytes_downloaded
        self.closed = True
        engine = self.engine
        # Not while a read on another thread copies lent bytes (take): under Engine.lock.
        # A closed client freed the handle with itself.
        if not engine.closed:
            if engine.lock.acquire(timeout=_CLOSE_WAIT_S):
                try:
                    _free(engine, self.h)
                finally:
                    engine.lock.release()
            else:
                # Held by this very thread (a finalizer that closes a response, run by the
                # garbage collector inside a copy), or for long: freed on a thread of its own.
                _free_later(engine, self.h)
        return max(1, int((time.monotonic() - self.head_time) * 1e6))

    def take(self, out: ChunkOut) -> Optional[bytes]:
        """The body's next bytes: what the engine buffered, lent and copied out into a new
        bytes (never empty); b"" at the end (known without another engine call when the
        last bytes said so); None when nothing is there yet: the next data, end or error
        is announced. Raises the body's error, or StreamClosed once closed."""
        if self.closed:
            raise StreamClosed()
        if self.ended:
            return b""
        engine = self.engine
        if engine.closed:  # (its free may hold the lock for a while: no wait for it)
            raise self.error(_ffi.HTTPRING_ERR_CLIENT_CLOSED, self._scratch())
        # The lent bytes live until the handle is freed: a close on another thread (of the
        # response: close(); of the client) waits for the lock, so for the copy.
        with engine.lock:
            code = engine._read_chunk(engine.ptr, self.h, out.struct)
            if code == _OK:
                _, flags, data, n, received = CHUNK_LAYOUT.unpack_from(out.view)
                if flags & _LAST:
                    self.ended = True
                    self._received = received
                return _ADDRESS_SPACE[data : data + n].tobytes() if n else b""
        if code == _PENDING:
            return None
        raise self.error(code, self._scratch())

    def _scratch(self) -> "Scratch":
        raise NotImplementedError

    def error(self, code: int, s: "Scratch") -> Exception:
        """The exception a failed read raises: the request's error class for the engine's
        code (ReadTimeout, RemoteProtocolError, ReadError, DecodingError...) with its
        message, or StreamClosed if the response was closed meanwhile."""
        if self.closed:
            return StreamClosed()
        error = self.engine.error(self.h, code, self.method, s, self.url)
        if code == _ffi.HTTPRING_ERR_CLIENT_CLOSED:
            return ClosedWhileReading(
                "the client was closed while the response body was being read",
                code=code,
                request=getattr(error, "_request", None),
            )
        return error


class ContentDecoder:
    """The engine's decoder for a body's content codings (``httpring_decoder_*``), for a
    body that did not come through the engine: a Response built by hand, as a
    MockTransport's handler builds it. The engine's rules: gzip, deflate (zlib or raw), br,
    zstd, stacked up to three; a coding it does not know leaves the body as it is."""

    __slots__ = ("_lib", "_d", "_buf")

    def __init__(self, lib: Any, d: Any) -> None:
        self._lib = lib
        self._d = d
        self._buf = ctypes.create_string_buffer(64 * 1024)

    @staticmethod
    def of(encoding: str) -> "Optional[ContentDecoder]":
        """A decoder for a ``Content-Encoding`` value, or None when there is nothing to
        decode."""
        lib = _ffi.load()
        d = _ffi.decoder_p()
        try:
            value = encoding.encode("latin-1")
        except UnicodeEncodeError:
            return None  # not a coding the engine knows: the body stays as it is
        code = lib.httpring_decoder_new(value, ctypes.byref(d))
        if code:
            raise _decoding_error(lib, code)
        return ContentDecoder(lib, d) if d else None

    def write(self, data: bytes) -> bytes:
        """Decodes the next encoded bytes: what they yield (maybe nothing yet)."""
        if data:
            code = self._lib.httpring_decoder_write(self._d, data, len(data))
            if code:
                raise _decoding_error(self._lib, code)
        return self._read()

    def end(self) -> bytes:
        """The rest, once the encoded body is over (DecodingError if it was cut short or
        has bytes after its end); frees the engine's decoder."""
        try:
            self._lib.httpring_decoder_end(self._d)
            return self._read()
        finally:
            self.close()

    def _read(self) -> bytes:
        lib, d, buf = self._lib, self._d, self._buf
        n = ctypes.c_size_t()
        out: List[bytes] = []
        while True:
            code = lib.httpring_decoder_read(d, buf, len(buf), ctypes.byref(n))
            if code == _ffi.HTTPRING_PENDING or (code == 0 and n.value == 0):
                return b"".join(out)
            if code:
                raise _decoding_error(lib, code)
            out.append(buf.raw[: n.value])

    def close(self) -> None:
        d, self._d = self._d, None
        if d:
            self._lib.httpring_decoder_free(d)

    def __del__(self) -> None:
        self.close()


def _decoding_error(lib: Any, code: int) -> Exception:
    from ._exceptions import from_code

    return from_code(int(code), _ffi.last_error_message(lib))


def decode_content(encoding: str, data: bytes) -> bytes:
    """``data`` with the codings of the ``Content-Encoding`` value ``encoding`` undone by
    the engine (DecodingError for corrupt data), or as it is when there is nothing to
    decode."""
    d = ContentDecoder.of(encoding)
    if d is None:
        return data
    head = d.write(data)
    return head + d.end()


class IterBody:
    """The body of a Response built by hand from an iterator of bytes (httpx's stream: a
    MockTransport's streamed answer, server-sent events in a test): read once, as the
    iterator gives it, its content codings decoded by the engine as it goes."""

    __slots__ = ("it", "consumed", "closed", "ended", "content_read", "_received", "decoder")

    is_async = False

    def __init__(self, it: Any) -> None:
        self.it = it
        self.consumed = False
        self.closed = False
        self.ended = False
        self.content_read = False
        self._received = 0
        #: The decoder of the response's content codings, if it has any.
        self.decoder: Optional[ContentDecoder] = None

    def received(self) -> int:
        """The bytes the iterator gave so far."""
        return self._received

    def close(self) -> int:
        """Marks it closed (a generator is closed too); no time to add to ``elapsed``."""
        if not self.closed:
            self.closed = True
            close = getattr(self.it, "close", None)
            if close is not None and not self.is_async:
                close()
        return 0

    def take(self, chunk: Any) -> bytes:
        """A chunk the iterator gave, as bytes, counted."""
        if self.closed:
            raise StreamClosed()
        piece = _piece(chunk)
        self._received += len(piece)
        return piece

    def decoded(self, chunk: Any) -> bytes:
        """``take``, then decoded when the body has a content coding (maybe b"" yet)."""
        piece = self.take(chunk)
        return piece if self.decoder is None else self.decoder.write(piece)

    def rest(self) -> bytes:
        """At the end of the iterator: what the decoder still holds (b"" without one)."""
        self.ended = True
        return b"" if self.decoder is None else self.decoder.end()

    def pieces(self) -> Iterator[bytes]:
        for chunk in self.it:
            piece = self.decoded(chunk)
            if piece or self.decoder is None:
                yield piece
        rest = self.rest()
        if rest:
            yield rest


class AsyncIterBody(IterBody):
    """``IterBody`` of an async iterator: read with the ``aiter_*`` methods."""

    __slots__ = ()

    is_async = True

    async def apieces(self) -> AsyncIterator[bytes]:
        async for chunk in self.it:
            piece = self.decoded(chunk)
            if piece or self.decoder is None:
                yield piece
        rest = self.rest()
        if rest:
            yield rest


def _piece(chunk: Any) -> bytes:
    if isinstance(chunk, str):
        return chunk.encode("utf-8")
    if isinstance(chunk, (bytes, bytearray, memoryview)):
        return bytes(chunk)
    raise TypeError(f"a Response's stream gave {type(chunk).__name__}, not bytes")


class SyncBody(Body):
    """A Client's streamed body: read on the caller's thread, blocking in
    ``httpring_handle_wait_body`` while there is nothing to read."""

    __slots__ = ("scratch", "sweep")

    def __init__(
        self,
        engine: "Engine",
        h: int,
        method: str,
        url: str,
        scratch: "Callable[[], Scratch]",
        sweep: Callable[[], None],
    ) -> None:
        super().__init__(engine, h, method, url)
        #: The calling thread's Scratch (its read buffer): a body may be read from any
        #: thread, one at a time. Bound to the client, which it keeps alive.
        self.scratch = scratch
        #: Drains the client's queue (where this body's BODY completions go unasked).
        self.sweep = sweep

    def _info(self) -> Any:
        return self.scratch().info

    def _scratch(self) -> "Scratch":
        return self.scratch()

    def pieces(self) -> Iterator[bytes]:
        """The body as the engine hands it over (each piece at most 256 KiB, never empty);
        raises the request's error class if the body fails."""
        engine = self.engine
        wait = engine.lib.httpring_handle_wait_body
        ptr = engine.ptr
        h = self.h
        waits = 0
        while True:
            s = self.scratch()
            piece = self.take(s.chunk_out())
            if piece:
                yield piece
            elif piece is not None:
                return
            else:
                code = wait(ptr, h, _WAIT_SLICE_MS)
                while code == _PENDING:
                    code = wait(ptr, h, _WAIT_SLICE_MS)
                if code != _OK:  # the client was closed, or the handle freed meanwhile
                    raise self.error(code, s)
                waits += 1
                if waits % SWEEP_EVERY == 0:
                    self.sweep()


class AsyncBody(Body):
    """An AsyncClient's streamed body: read on the event loop, awaiting the dispatcher's
    word (``wake``) while there is nothing to read."""

    __slots__ = ("dispatcher", "uid", "waiter", "client")

    is_async = True

    def __init__(self, dispatcher: "_Dispatcher", h: int, uid: int, method: str, url: str) -> None:
        super().__init__(dispatcher.engine, h, method, url)
        self.dispatcher = dispatcher
        #: The request's user_data: the key of its BODY completions.
        self.uid = uid
        #: What the reader awaits after a read found nothing.
        self.waiter: "Optional[Fut]" = None
        #: The AsyncClient, kept alive while its response is (the dispatcher does not keep
        #: it, so that a forgotten client is closed when collected): set by the client.
        self.client: object = None

    def wake(self) -> None:
        """The dispatcher drained a BODY completion for this handle (or the body was
        closed): the reader reads again."""
        w = self.waiter
        if w is not None:
            self.waiter = None
            if not w.done():
                w.set_result(None)

    def fail(self, exc: BaseException) -> None:
        """The client was closed: the reader raises ``exc``."""
        w = self.waiter
        if w is not None:
            self.waiter = None
            if not w.done() and not w.get_loop().is_closed():
                w.set_exception(exc)

    def _info(self) -> Any:
        d = self.dispatcher
        # The loop's struct on the loop's thread (close); a fresh one elsewhere.
        return d.s.info if d.thread == threading.get_ident() else super()._info()

    def __del__(self) -> None:
        if getattr(self, "closed", True):
            return  # (the common case: closed when read to its end or left)
        try:
            self.dispatcher.streams.pop(self.uid, None)
        except Exception:  # interpreter shutdown
            pass
        super().__del__()

    def close(self) -> int:
        us = super().close()
        if us:
            self.dispatcher.streams.pop(self.uid, None)
            if self.waiter is not None:
                self.wake()
        return us

    def _scratch(self) -> "Scratch":
        return self.dispatcher.s

    def apieces(self) -> "AsyncPieces":
        """``SyncBody.pieces``, awaiting instead of blocking."""
        return AsyncPieces(self, None)

    async def await_data(self) -> None:
        """Awaits the dispatcher's word that the body has something (data, its end, an
        error) after a read found nothing."""
        d = self.dispatcher
        loop = running_asyncio_loop() or running_loop()
        if loop is not d.loop:
            if d.loop is None or self.engine.closed:  # the client was closed
                raise self.error(_ffi.HTTPRING_ERR_CLIENT_CLOSED, d.s)
            raise RuntimeError(
                "a streamed response of an AsyncClient is read on the event loop the "
                "client uses"
            )
        fut: Fut = loop.create_future()
        self.waiter = fut
        try:
            await fut
        finally:
            if self.waiter is fut:
                self.waiter = None


class AsyncPieces:
    """An AsyncBody's pieces for ``async for``: a class rather than an async generator,
    which asyncio registers in a weak set of the loop's when it starts and removes when
    it is collected (about as much again as reading the piece). ``response``: closed
    after the last piece (``aiter_raw``/``aiter_bytes``), or None."""

    __slots__ = ("body", "response", "stopped", "fresh", "running")

    def __init__(self, body: AsyncBody, response: "Optional[Response]") -> None:
        self.body = body
        self.response = response
        self.stopped = False
        #: A step awaits the body now (a second one raises, as an async generator's).
        self.running = False
        #: The response's iteration starts at the first piece asked for (as an async
        #: generator's body would: StreamConsumed and the like are raised then).
        self.fresh = response is not None

    def __aiter__(self) -> "AsyncPieces":
        return self

    async def __anext__(self) -> bytes:
        if self.stopped:
            raise StopAsyncIteration
        if self.running:
            raise RuntimeError("anext(): the body's iterator is already running")
        body = self.body
        try:
            if self.fresh:
                self.fresh = False
                self.response._start(True)  # type: ignore[union-attr]
            # (At the end already when the last bytes said so: no read, no call.)
            while not body.ended or body.closed:
                piece = body.take(body.dispatcher.s.chunk_out())
                if piece:
                    return piece
                if piece is not None:
                    break  # the end
                self.running = True
                try:
                    await body.await_data()
                finally:
                    self.running = False
            r = self.response
            self.response = None
            if r is not None:  # closed as aclose() closes it
                r._elapsed_us += body.close()
            raise StopAsyncIteration
        except BaseException:
            self.stopped = True  # as a generator that ended or raised: over
            raise

    async def aclose(self) -> None:
        """As an async generator's: ends the iteration here (the response stays open)."""
        self.stopped = True
        self.response = None

    def asend(self, value: Any) -> Awaitable[bytes]:
        """As an async generator's that ignores what is sent: the next piece."""
        return self.__anext__()

    async def athrow(self, typ: Any, val: Any = None, tb: Any = None) -> bytes:
        """As an async generator's that does not catch it: the exception is raised here
        and the iteration is over (the response stays open)."""
        if self.running:
            raise RuntimeError("athrow(): the body's iterator is already running")
        self.stopped = True
        self.response = None
        if isinstance(typ, BaseException):
            exc = typ
        elif isinstance(val, BaseException):
            exc = val
        else:
            exc = typ() if val is None else typ(val)
        raise exc.with_traceback(tb) if tb is not None else exc


# --- re-chunking and decoding (httpx's semantics) -------------------------------------------

def rechunk(pieces: Iterable[bytes], size: Optional[int]) -> Iterator[bytes]:
    """``pieces`` as they come (``size`` None or 0), or cut and joined into ``size``-byte
    chunks, the last one shorter."""
    if not size:
        yield from pieces
        return
    buf = bytearray()
    for piece in pieces:
        if not buf and len(piece) == size:
            yield piece
            continue
        buf += piece
        while len(buf) >= size:
            yield bytes(buf[:size])
            del buf[:size]  # amortised O(1): a bytearray moves its start
    if buf:
        yield bytes(buf)


async def arechunk(pieces: AsyncIterator[bytes], size: Optional[int]) -> AsyncIterator[bytes]:
    """``rechunk`` of an async iterator."""
    if not size:
        async for piece in pieces:
            yield piece
        return
    buf = bytearray()
    async for piece in pieces:
        if not buf and len(piece) == size:
            yield piece
            continue
        buf += piece
        while len(buf) >= size:
            yield bytes(buf[:size])
            del buf[:size]
    if buf:
        yield bytes(buf)


def rechunk_text(texts: Iterable[str], size: Optional[int]) -> Iterator[str]:
    """``rechunk`` for str: ``size``-character chunks."""
    if not size:
        for text in texts:
            if text:
                yield text
        return
    parts: List[str] = []
    have = 0
    for text in texts:
        parts.append(text)
        have += len(text)
        if have >= size:
            joined = "".join(parts)
            cut = len(joined) - len(joined) % size
            for i in range(0, cut, size):
                yield joined[i : i + size]
            rest = joined[cut:]
            parts = [rest] if rest else []
            have = len(rest)
    if have:
        yield "".join(parts)


async def arechunk_text(texts: AsyncIterator[str], size: Optional[int]) -> AsyncIterator[str]:
    """``rechunk_text`` of an async iterator."""
    parts: List[str] = []
    have = 0
    async for text in texts:
        if not size:
            if text:
                yield text
            continue
        parts.append(text)
        have += len(text)
        if have >= size:
            joined = "".join(parts)
            cut = len(joined) - len(joined) % size
            for i in range(0, cut, size):
                yield joined[i : i + size]
            rest = joined[cut:]
            parts = [rest] if rest else []
            have = len(rest)
    if have:
        yield "".join(parts)


def decode_text(chunks: Iterable[bytes], decoder: "TextDecoder") -> Iterator[str]:
    """``chunks`` decoded as they come, then what the decoder held back."""
    for chunk in chunks:
        yield decoder.decode(chunk)
    yield decoder.decode(b"", True)


async def adecode_text(chunks: AsyncIterator[bytes], decoder: "TextDecoder") -> AsyncIterator[str]:
    """``decode_text`` of an async iterator."""
    async for chunk in chunks:
        yield decoder.decode(chunk)
    yield decoder.decode(b"", True)


class TextDecoder:
    """Bytes to str as they arrive, with errors="replace". ``fallback``: the codec is the
    server's charset; if it fails even so (see ``Response.text``), the rest is decoded as
    UTF-8."""

    __slots__ = ("_decoder", "_fallback")

    def __init__(self, encoding: str, fallback: bool) -> None:
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        self._fallback = fallback

    def decode(self, data: bytes, final: bool = False) -> str:
        try:
            return self._decoder.decode(data, final)
        except UnicodeError:
            if not self._fallback:
                raise
            self._fallback = False
            self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            return self._decoder.decode(data, final)


_NEWLINES = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


class LineDecoder:
    """The lines ``str.splitlines()`` would give, from text arriving in pieces: a line is
    given once its end is seen. A "\\r" ending a piece waits for the next one (it may be the
    first half of "\\r\\n"). An unfinished line is kept as a list of pieces, so a long line
    costs no repeated copying."""

    __slots__ = ("_buffer", "_cr")

    def __init__(self) -> None:
        self._buffer: List[str] = []
        self._cr = False

    def decode(self, text: str) -> List[str]:
        if self._cr:
            text = "\r" + text
            self._cr = False
        if text.endswith("\r"):
            self._cr = True
            text = text[:-1]
        if not text:
            return []
        ended = text[-1] in _NEWLINES
        lines = text.splitlines()
        if len(lines) == 1 and not ended:
            self._buffer.append(lines[0])
            return []
        if self._buffer:
            lines[0] = "".join(self._buffer) + lines[0]
            self._buffer = []
        if not ended:
            self._buffer = [lines.pop()]
        return lines

    def flush(self) -> List[str]:
        if not self._buffer and not self._cr:
            return []
        line = "".join(self._buffer)
        self._buffer = []
        self._cr = False
        return [line]
