"""Request bodies sent as they are produced: ``content=`` an iterator of bytes, an async
iterator (AsyncClient), or a file, through the engine's streamed request bodies.

``_prepare`` (and ``Request``) carry such a content as an ``Upload``: an empty bytes
subclass where the request's body goes, as a multipart ``Form`` is carried, so the request
takes the request builder's path (``Engine.submit_request``) and the fast paths never see
it. There it becomes one of:

- a binary regular file (``open(path, "rb")``): ``httpring_request_set_body_fd``, from the
  file's position to its end, read by the engine's thread: no Python per chunk;
- anything else: ``httpring_request_set_body_writer``. After submit the caller pulls the
  chunks and writes them (``httpring_handle_write``, which takes what fits in the
  engine's bounded buffer, ``Limits.stream_buffer``): ``Client`` waits for room in
  ``httpring_handle_wait_writable`` (GIL released; ``write_all`` below), ``AsyncClient``
  awaits the handle's ``HTTPRING_EVENT_WRITABLE`` completion (``_Dispatcher.upload``).
  Then ``httpring_handle_finish_body``.

The length is a ``Content-Length`` header given with the request (the engine holds the body
to it), else a file's size from its position (or a seekable file object's), else unknown:
chunked over HTTP/1.1, DATA frames over HTTP/2. The engine sends such a body once: it is
not retried, a 307/308 redirect is not followed (its response is the answer), a 301/302/303
that turns the request into a GET is followed. Once the request has its answer the writer
stops (a server may answer before reading the whole body).
"""

from __future__ import annotations

import ctypes
import io
import os
import stat
from ctypes import c_char_p, c_size_t, c_void_p
from typing import TYPE_CHECKING, Any, AsyncIterator, Iterator, Optional, Tuple

from . import _ffi
from ._exceptions import LocalProtocolError, StreamConsumed

if TYPE_CHECKING:
    from ._engine import Engine

#: Bytes read at once from a file object that goes through the writer (httpx's chunk size).
CHUNK_SIZE = 65536
#: How long ``Client`` blocks for room at once: a request that completes meanwhile (or
#: Ctrl-C) is seen within this.
WAIT_SLICE_MS = 250


class Upload(bytes):
    """A request body produced as it is sent (see the module): carried where a request's
    body goes. Its own bytes are empty."""

    #: The iterable, async iterable or file object given as ``content=``.
    source: Any
    #: Sent (or read) once already.
    consumed: bool
    #: Set by ``attach``: the chunks are written by the caller after submit (False: the
    #: engine reads a file descriptor).
    writer: bool
    #: Set by ``attach``: the body's length, -1 unknown.
    length: int

    def __new__(cls, source: Any) -> "Upload":
        self = super().__new__(cls)
        self.source = source
        self.consumed = False
        self.writer = True
        self.length = -1
        return self

    @property
    def is_async(self) -> bool:
        return hasattr(self.source, "__aiter__") or callable(getattr(self.source, "aread", None))

    def _take(self) -> None:
        """Marks the source used; a second use of a one-shot source (an iterator, a
        generator) raises StreamConsumed, as httpx's does."""
        if self.consumed and _one_shot(self.source):
            raise StreamConsumed()
        self.consumed = True

    # --- sent by the engine ---
    def attach(self, lib: Any, req: Any, pairs: Any) -> int:
        """Sets the request's body source (a file descriptor, else the writer); returns
        the first failing code."""
        self._take()
        length = declared_length(pairs)
        source = self.source
        if not self.is_async:
            f = _regular_file(source)
            if f is not None:
                fd, start, end = f
                self.writer = False
                # The engine reads from the descriptor's offset: put it where the file
                # object is (a buffered reader reads ahead). ``_regular_file`` left the
                # object at the end, where it is after the engine read it all.
                os.lseek(fd, start, os.SEEK_SET)
                self.length = end - start if length is None else length
                return int(lib.httpring_request_set_body_fd(req, fd, self.length))
            if length is None:
                length = _remaining(source)
        self.writer = True
        self.length = -1 if length is None else length
        return int(lib.httpring_request_set_body_writer(req, self.length))

    def chunks(self) -> Iterator[bytes]:
        """The chunks of a sync source, as bytes (empty ones left out)."""
        source = self.source
        read = getattr(source, "read", None)
        if callable(read):  # a file object: read in pieces, as httpx does
            while True:
                piece = read(CHUNK_SIZE)
                if not piece:
                    return
                yield _enc(piece)
        for piece in source:
            if piece:
                yield _enc(piece)

    async def achunks(self) -> AsyncIterator[bytes]:
        """The chunks of an async source (or a sync one), as bytes."""
        source = self.source
        aread = getattr(source, "aread", None)
        if callable(aread):
            while True:
                piece = await aread(CHUNK_SIZE)
                if not piece:
                    return
                yield _enc(piece)
        elif hasattr(source, "__aiter__"):
            async for piece in source:
                if piece:
                    yield _enc(piece)
        else:
            for chunk in self.chunks():
                yield chunk

    # --- read whole (a transport, send_many, the handle API) ---
    def read(self) -> bytes:
        if self.is_async:
            raise TypeError(
                "content= is an async iterator: only AsyncClient sends it (await "
                "request.aread() to read it)"
            )
        self._take()
        return b"".join(self.chunks())

    async def aread(self) -> bytes:
        self._take()
        return b"".join([chunk async for chunk in self.achunks()])

    def __repr__(self) -> str:
        return f"<Upload {type(self.source).__name__}>"


def _enc(piece: Any) -> bytes:
    if piece.__class__ is bytes:
        return piece
    if isinstance(piece, str):
        return piece.encode("utf-8")
    if isinstance(piece, (bytearray, memoryview)):
        return bytes(piece)
    raise TypeError(f"content= gave a {type(piece).__name__}, not bytes")


def _one_shot(source: Any) -> bool:
    """An iterator (iterating it again gives nothing) rather than a collection."""
    try:
        return iter(source) is source
    except TypeError:
        return True  # async iterators, objects with aread()


def is_streamed(content: Any) -> bool:
    """``content=`` that is sent as an ``Upload``: an iterator, an async iterator, a file
    object. Not bytes or str, nor a list or tuple of chunks (already in memory: joined, and
    sent with a Content-Length, which every server takes)."""
    return not isinstance(content, (str, bytes, bytearray, memoryview, list, tuple)) and (
        hasattr(content, "__iter__") or hasattr(content, "__aiter__") or hasattr(content, "read")
        or hasattr(content, "aread")
    )


def declared_length(pairs: Any) -> Optional[int]:
    """The ``Content-Length`` header among the request's pairs, or None."""
    for name, value in pairs or ():
        if name.lower() == b"content-length":
            try:
                n = int(value)
            except ValueError:
                n = -1
            if n < 0:
                raise LocalProtocolError(
                    f"invalid Content-Length header {value!r}", code=_ffi.HTTPRING_ERR_INVALID_ARGUMENT
                )
            return n
    return None


def _regular_file(source: Any) -> Optional[Tuple[int, int, int]]:
    """(fd, position, size) of a binary file object on a regular file, else None. Leaves
    the object at the end of the file (its buffer, if any, dropped)."""
    if not isinstance(source, io.IOBase) or isinstance(source, io.TextIOBase):
        return None
    try:
        fd = source.fileno()
        if not stat.S_ISREG(os.fstat(fd).st_mode) or not source.readable():
            return None
        start = source.tell()
        end = source.seek(0, os.SEEK_END)
    except (OSError, ValueError):  # io.UnsupportedOperation is both
        return None
    return fd, start, max(start, end)


def _remaining(source: Any) -> Optional[int]:
    """The bytes left in a seekable binary file object (BytesIO...), else None."""
    if not isinstance(source, io.IOBase) or isinstance(source, io.TextIOBase):
        return None
    try:
        if not source.seekable():
            return None
        start = source.tell()
        end = source.seek(0, os.SEEK_END)
        source.seek(start)
    except (OSError, ValueError):
        return None
    return max(0, end - start)


# --- the sync writer ---------------------------------------------------------------------

def address(data: bytes) -> int:
    """Where ``data``'s bytes are (it stays alive while they are written)."""
    return ctypes.cast(c_char_p(data), c_void_p).value or 0


def running(engine: "Engine", h: int) -> bool:
    """Whether request ``h`` is still pending (not answered, not failed, not freed)."""
    state = _ffi.httpring_state()
    if engine.closed or engine.lib.httpring_handle_poll(engine.ptr, h, state):
        return False
    return state.value == _ffi.HTTPRING_STATE_PENDING


def write_error(up: Upload, size: int) -> Exception:
    """A write refused while the request runs: more bytes than its Content-Length."""
    return LocalProtocolError(
        f"content= gave more bytes than the Content-Length of {up.length} "
        f"(at least {size} bytes)",
        code=_ffi.HTTPRING_ERR_INVALID_ARGUMENT,
    )


def write_all(engine: "Engine", h: int, up: Upload) -> None:
    """Writes ``up``'s chunks to request ``h``, waiting for room with the GIL released, then
    ends the body. Returns early once the request has its answer or failed (reading its
    result says which). Raises what the source raises, and for more bytes than a declared
    Content-Length; the caller then cancels the request."""
    lib = engine.lib
    write = lib.httpring_handle_write
    wait = lib.httpring_handle_wait_writable
    n = c_size_t()
    total = 0
    for chunk in up.chunks():
        size = len(chunk)
        off = 0
        while off < size:
            if engine.closed:
                return
            data = chunk if not off else c_char_p(address(chunk) + off)
            code = write(engine.ptr, h, data, size - off, n)
            if code == _ffi.HTTPRING_OK:
                off += n.value
                total += n.value
            elif code == _ffi.HTTPRING_PENDING:
                # Full: wait for room in slices, giving up once the request is answered
                # (a server may answer without reading the rest).
                while True:
                    if engine.closed:
                        return
                    code = wait(engine.ptr, h, WAIT_SLICE_MS)
                    if code == _ffi.HTTPRING_OK:
                        break
                    if code != _ffi.HTTPRING_PENDING or not running(engine, h):
                        return
            elif code == _ffi.HTTPRING_ERR_INVALID_ARGUMENT and running(engine, h):
                raise write_error(up, total + size - off)
            else:
                return  # the request ended: its result says how
    if not engine.closed:
        # An error here ends the request (a body short of its Content-Length fails it):
        # its result says how.
        lib.httpring_handle_finish_body(engine.ptr, h)
