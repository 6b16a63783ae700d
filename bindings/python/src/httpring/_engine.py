"""One engine client (``httpring_client*``) and the few calls every request makes on it.

Ownership rule: an engine handle belongs to exactly one Python owner at a time (a pending
entry of the async client, a sync call frame, or a ``Handle`` object); the owner frees it
exactly once, right after the response or error has been copied out. Freeing the client
releases whatever is left, so a closed client never needs its handles freed one by one.

Redirects are followed by the engine (``follow_redirects``/``max_redirects`` are fixed in the
client's config); a request whose own settings differ (``Overrides``: another redirect
setting, per-request ``auth=``, client default headers to leave out) goes through the
request builder instead of the fast calls, and its hops are read back with
``httpring_response_redirect*`` (``attach_history``).

Per request the hot path makes a share of one ``httpring_handles_read_pieces`` (every
completed handle of a batch read in one call; a blocking request's alone), plus a share of
one ``httpring_client_send_many`` (the async client's batches, see ``SpecBatch``) or one
``httpring_client_send`` (a blocking request); then three copies (body, URL, header block)
and a share of one batched ``httpring_handles_free``. The client keeps bodies in the pieces
they were read in (``httpring_config_set_body_pieces``), so a body that came in several
reads is copied from each straight into its bytes (``body_at``), never joined first.
"""

from __future__ import annotations

import ctypes
import os
import struct
import threading
import weakref
from ctypes import c_size_t, c_uint16, c_uint32, c_uint64, c_void_p, create_string_buffer
from typing import TYPE_CHECKING, Any, Dict, List, NamedTuple, Optional, Sequence, Set, Tuple

from . import _ffi
from ._ffi import last_error_message
from ._config import Limits, Retry, Timeout, Transport, build_config, retry_count
from ._exceptions import ClientClosed, HTTPError, from_code
from ._models import INFO_LAYOUT, HeaderPairs, Request, Response, info_attempts, new_response
from ._multipart import Form
from ._stream import ChunkOut
from ._redirects import redirect_method
from ._upload import Upload

if TYPE_CHECKING:
    from concurrent.futures import Future

    from ._auth import Auth, _Credentials

# The structs read as raw bytes, struct_size skipped (4x: the library writes back ours).
# httpring_completion (version 2): handle, user_data, code, status (+2 bytes of padding),
# event (HTTPRING_EVENT_*, +4 bytes of padding).
COMPLETION_LAYOUT = struct.Struct("@4xQQIH2xI4x")
# httpring_result (version 6): code, httpring_response's fields, headers, headers_len,
# bytes_received, reason, reason_len, body_pieces, body_piece_count.
RESULT_LAYOUT = struct.Struct("@4xIHIPNNPNQPNQPNPN")
#: Room for this many pieces per result: the engine keeps a body in at most 16 (MAX_PIECES
#: in src/request/response.rs); with less room a body comes joined, never wrong.
PIECES_PER_RESULT = 16
PIECE_SIZE = ctypes.sizeof(_ffi.httpring_piece)
assert RESULT_LAYOUT.size == ctypes.sizeof(_ffi.httpring_result)
assert COMPLETION_LAYOUT.size == ctypes.sizeof(_ffi.httpring_completion)
# httpring_info (_models.INFO_LAYOUT): the struct module adds no trailing padding.
assert INFO_LAYOUT.size <= ctypes.sizeof(_ffi.httpring_info) < INFO_LAYOUT.size + 8

_Header = _ffi.httpring_header

_ADDRESS_SPACE = _ffi.ADDRESS_SPACE


def string_at(ptr: int, size: int) -> bytes:
    """The ``size`` bytes at ``ptr`` (engine-owned memory still alive) as a new bytes."""
    return _ADDRESS_SPACE[ptr : ptr + size].tobytes()


def body_at(s: "Scratch", body_p: int, body_len: int, pieces_p: int, count: int) -> bytes:
    """A result's body as a new bytes: one copy of ``body_len`` bytes at ``body_p``, or,
    for a body the engine holds in pieces (``body_p`` NULL), one copy of each piece, listed
    in ``s``'s piece array at ``pieces_p``, straight into the new bytes (``b"".join`` takes
    the memoryviews as they are)."""
    address = _ADDRESS_SPACE
    if body_p or not pieces_p:
        return address[body_p : body_p + body_len].tobytes()
    i = (pieces_p - s.pieces_base) // PIECE_SIZE * 2
    words = iter(s.pieces_words[i : i + 2 * count])
    return b"".join([address[p : p + n] for p, n in zip(words, words)])

# --- batches: httpring_client_send_many --------------------------------------------------

# struct_size (set in every spec, though only the first one's is read), then the fields.
SPEC_LAYOUT = struct.Struct("@I4xPPPNPNQqqqqqqqqqqQ")
HEADER_LAYOUT = struct.Struct("@PNPN")
FLAGS_LAYOUT = struct.Struct("@Q")
FLAGS_OFFSET = _ffi.httpring_request_spec.flags.offset
assert SPEC_LAYOUT.size == ctypes.sizeof(_ffi.httpring_request_spec)
assert HEADER_LAYOUT.size == ctypes.sizeof(_ffi.httpring_header)


def _bytes_data_offset() -> int:
    """Where a bytes object's data starts, relative to id(): lets a spec be filled with
    struct.pack_into (addresses as ints) instead of ctypes field assignments, which cost
    several times more. CPython only (id() is the address); checked against ctypes on a
    few objects, else 0, which selects the slower ctypes path."""
    try:
        offset = bytes.__basicsize__ - 1
        for probe in (b"", b"x", b"GET", b"http://example.com/" * 3, bytes(1000)):
            if ctypes.cast(ctypes.c_char_p(probe), c_void_p).value != id(probe) + offset:
                return 0
        return offset
    except Exception:  # pragma: no cover - not CPython
        return 0


BYTES_DATA = _bytes_data_offset()


class SpecBatch:
    """Reusable arrays for ``httpring_client_send_many``: specs, header entries, handles and
    codes, grown as needed and never shrunk. Not thread-safe: one per thread (sync) or per
    event loop (async). The caller keeps every bytes object of the batch alive until
    ``send`` returns (the engine copies them during the call)."""

    __slots__ = (
        "cap", "specs", "specs_p", "handles", "codes", "hcap", "hbuf", "hbase", "_send_many",
    )

    def __init__(self, engine: "Engine", cap: int = 64) -> None:
        self._send_many = engine.lib.httpring_client_send_many
        self.cap = 0
        self.hcap = 0
        self._grow(cap)
        self._grow_headers(64)

    def _grow(self, cap: int) -> None:
        self.cap = cap
        self.specs = (ctypes.c_char * (SPEC_LAYOUT.size * cap))()
        self.specs_p = ctypes.cast(self.specs, ctypes.POINTER(_ffi.httpring_request_spec))
        self.handles = (c_uint64 * cap)()
        self.codes = (c_uint32 * cap)()

    def _grow_headers(self, cap: int) -> None:
        self.hcap = cap
        self.hbuf = (ctypes.c_char * (HEADER_LAYOUT.size * cap))()
        self.hbase = ctypes.addressof(self.hbuf)

    def send(
        self, ptr: Any, preps: Sequence[Prepared], uids: Sequence[int], streams: Optional[Set[int]] = None
    ) -> int:
        """Submits ``preps[i]`` with user_data ``uids[i]``; returns the overall code.
        ``self.handles[:n]`` and ``self.codes[:n]`` then hold each request's result.
        ``streams``: the uids whose responses are streamed (``HTTPRING_SPEC_STREAM``)."""
        n = len(preps)
        if n > self.cap:
            self._grow(max(n, 2 * self.cap))
        if BYTES_DATA:
            self._fill(preps, uids, streams)
            specs: Any = self.specs_p
        else:  # not CPython: ctypes objects, which keep their bytes alive
            specs = _spec_array(preps, uids, streams)
        codes = self.codes
        ctypes.memset(codes, 0, n * ctypes.sizeof(c_uint32))
        code: int = self._send_many(ptr, specs, n, self.handles, codes)
        if code and not any(codes[:n]):
            # The call itself failed (a closed client): nothing was filled in, every
            # request was refused with its code, and the handles are not this batch's.
            for i in range(n):
                codes[i] = code
                self.handles[i] = 0
        return code

    def _fill(self, preps: Sequence[Prepared], uids: Sequence[int], streams: Optional[Set[int]]) -> None:
        pack_spec = SPEC_LAYOUT.pack_into
        pack_header = HEADER_LAYOUT.pack_into
        specs = self.specs
        hbuf = self.hbuf
        hbase = self.hbase
        size = SPEC_LAYOUT.size
        hsize = HEADER_LAYOUT.size
        o = BYTES_DATA
        off = 0
        hoff = 0
        for (method_b, url_b, pairs, body, tmo), uid in zip(preps, uids):
            if pairs:
                nh = len(pairs)
                if hoff + nh * hsize > len(hbuf):
                    # Grow and start over: earlier specs point into the old array.
                    self._grow_headers(2 * (self.hcap + nh))
                    return self._fill(preps, uids, streams)
                h_addr = hbase + hoff
                for name, value in pairs:
                    pack_header(hbuf, hoff, id(name) + o, len(name), id(value) + o, len(value))
                    hoff += hsize
            else:
                nh = h_addr = 0
            if tmo is None:
                pack_spec(specs, off, size, id(method_b) + o, id(url_b) + o, h_addr, nh, id(body) + o, len(body), uid, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0)
            else:
                pack_spec(specs, off, size, id(method_b) + o, id(url_b) + o, h_addr, nh, id(body) + o, len(body), uid, *spec_settings(tmo), 0)
            off += size
        if streams:
            # Flags set afterwards: a batch without streams pays nothing per request.
            for i, uid in enumerate(uids):
                if uid in streams:
                    FLAGS_LAYOUT.pack_into(specs, i * size + FLAGS_OFFSET, _ffi.HTTPRING_SPEC_STREAM)
        return None


def _spec_array(preps: Sequence[Prepared], uids: Sequence[int], streams: Optional[Set[int]]) -> Any:
    """The portable way to build the specs (ctypes objects, which keep their bytes alive)."""
    specs = []
    for (method_b, url_b, pairs, body, tmo), uid in zip(preps, uids):
        t = CLIENT_SPEC if tmo is None else spec_settings(tmo)
        headers = header_array(pairs) if pairs else None
        flags = _ffi.HTTPRING_SPEC_STREAM if streams and uid in streams else 0
        specs.append((SPEC_LAYOUT.size, method_b, url_b, headers, len(pairs or ()), body, len(body), uid) + t + (flags,))
    return (_ffi.httpring_request_spec * len(specs))(*specs)  # type: ignore[misc]


#: A request's own speed limits: the receive- and send-rate caps in bytes/s and the
#: low-speed limit as (bytes/s, ms); each -1 for the client's, 0 for none.
Speeds = Tuple[int, int, int, int]

#: A request's own settings: timeouts (connect, read, total, pool) in ms (0: no limit)
#: and a retry count, each -1 for the client's; its speed limits (``Speeds``) or None; its
#: write timeout in ms (-1: the client's).
PerRequest = Tuple[int, int, int, int, int, Optional[Speeds], int]

#: A request as the engine takes it: method, URL, header pairs, body, and its own settings
#: (``PerRequest``) or None for the client's. A body that is not exactly ``bytes`` is a
#: multipart ``Form`` or an ``Upload`` (sent as it is read, see ``_upload``): only the
#: request builder takes one, so that request (``built_only``) goes through
#: ``submit_request``, never into a ``SpecBatch``.
Prepared = Tuple[bytes, bytes, HeaderPairs, bytes, Optional[PerRequest]]

#: ``PerRequest`` with every setting the client's.
CLIENT_SETTINGS: PerRequest = (-1, -1, -1, -1, -1, None, -1)


def built_only(prep: Prepared) -> bool:
    """Whether only the request builder can take ``prep`` (see ``Prepared``)."""
    return prep[3].__class__ is not bytes


#: The spec fields after ``user_data`` for a request with the client's settings: timeouts
#: (total, connect, read, pool, write), retries, rate caps, low-speed limit (version 4).
CLIENT_SPEC = (-1,) * 10
_NO_SPEEDS = (-1, -1, -1, -1)


_I64_MAX = (1 << 63) - 1


def spec_settings(tmo: PerRequest) -> Tuple[int, ...]:
    """``CLIENT_SPEC`` for a request with settings of its own (each field an int64: a larger
    value, a limit no request reaches, is the largest)."""
    speeds = tmo[5] or _NO_SPEEDS
    return tuple(min(v, _I64_MAX) for v in (tmo[2], tmo[0], tmo[1], tmo[3], tmo[6], tmo[4]) + speeds)


def with_retries(prep: Prepared, retries: Optional[int]) -> Prepared:
    """``prep`` with a retry count of its own (``retries=`` of a request; None: as it is)."""
    if retries is None:
        return prep
    tmo = prep[4] or CLIENT_SETTINGS
    return (prep[0], prep[1], prep[2], prep[3], tmo[:4] + (retry_count(retries, "retries"),) + tmo[5:])


#: The keys of ``Request.extensions`` (and of ``extensions=``) httpring reads: a request's
#: own speed limits, as the client's keyword arguments of the same names take them.
SPEED_KEYS = ("max_recv_speed", "max_send_speed", "low_speed_limit")


def with_speeds(prep: Prepared, extensions: Optional[Dict[str, Any]]) -> Prepared:
    """``prep`` with the speed limits among ``extensions`` (``SPEED_KEYS``; as curl sets
    them per transfer): ``max_recv_speed`` and ``max_send_speed`` in bytes per second,
    ``low_speed_limit`` as (bytes_per_second, seconds). A key left out is the client's;
    0 or None lifts the client's limit for this request."""
    if not extensions or not any(k in extensions for k in SPEED_KEYS):
        return prep
    from ._config import _low_speed, _rate

    def off(value: Any) -> bool:  # None or 0: no limit for this request
        return value is None or (value.__class__ is int and value == 0)

    speeds: List[int] = []
    for key in ("max_recv_speed", "max_send_speed"):
        if key not in extensions:
            speeds.append(-1)
        else:
            value = extensions[key]
            speeds.append(0 if off(value) else _rate(key, value) or 0)
    if "low_speed_limit" in extensions:
        low = extensions["low_speed_limit"]
        speeds.extend((0, 0) if off(low) else _low_speed(low) or (0, 0))
    else:
        speeds.extend((-1, -1))
    tmo = prep[4] or CLIENT_SETTINGS
    return (prep[0], prep[1], prep[2], prep[3], tmo[:5] + ((speeds[0], speeds[1], speeds[2], speeds[3]),) + tmo[6:])


class Overrides(NamedTuple):
    """A request's settings that the fast calls (``httpring_client_send``, the spec batches)
    cannot carry: such a request is built with ``httpring_request_new`` instead."""

    #: Follow redirects (``httpring_request_set_follow_redirects``).
    follow: bool
    #: The most redirects followed (``httpring_request_set_max_redirects``).
    max_redirects: int
    #: Credentials for this request (``httpring_request_set_*_auth``), or None.
    auth: Optional["_Credentials"]
    #: Leave out the client's credentials (``httpring_request_set_no_auth``: ``auth=None``).
    no_auth: bool = False
    #: The client's default headers to leave out, by lower-case name
    #: (``httpring_request_remove_default_header``): removed from ``client.headers``, or
    #: dropped from a redirect's next request.
    withhold: Tuple[bytes, ...] = ()
    #: A custom auth flow (``Auth.auth_flow``, a function) the client runs around the send;
    #: never reaches the engine (``_send_hooked``).
    flow: Optional["Auth"] = None


class Stats(NamedTuple):
    """An engine client's counters (``client.stats()``)."""

    #: Handles not yet freed (0 whenever no request is in flight).
    live_handles: int
    #: Idle HTTP/1.1 connections plus shared HTTP/2 connections in the pool.
    pooled_connections: int
    #: Connections opened since the client was created.
    connections_opened: int
    #: Calls to the system resolver (DNS cache misses).
    dns_lookups: int


#: Every engine client created (weakly): tests check none leaks handles.
ALL_ENGINES: "weakref.WeakSet[Engine]" = weakref.WeakSet()
#: When a list, close() appends the number of handles live at close (a test hook).
CLOSE_LOG: Optional[List[int]] = None


class Scratch:
    """Out-parameters reused across calls. One per thread (sync) or per loop (async):
    ctypes writes into them while the GIL is released."""

    __slots__ = (
        "handle", "data", "length", "state", "msg", "batch", "info", "_chunk",
        "results_cap", "results", "results_p", "results_view", "ids",
        "pieces", "pieces_p", "pieces_cap", "pieces_base", "pieces_words",
    )

    def __init__(self) -> None:
        #: Made on first use (a per-request timeout, a send_many).
        self.batch: Optional[SpecBatch] = None
        #: Made on first use (a streamed body read on this thread or loop).
        self._chunk: Optional[ChunkOut] = None
        self.handle = c_uint64()
        self.data = c_void_p()
        self.length = c_size_t()
        self.state = c_uint32()
        self.msg = create_string_buffer(512)
        self.info = _ffi.new(_ffi.httpring_info)
        #: ``read_many``'s arrays (handles in, results out), grown as needed.
        self.results_cap = 0

    def results_for(self, n: int) -> None:
        """Makes ``results``/``ids`` hold at least ``n`` entries."""
        cap = max(64, n, 2 * self.results_cap)
        size = RESULT_LAYOUT.size
        self.results = (ctypes.c_char * (size * cap))()
        struct.pack_into("@I", self.results, 0, size)  # struct_size of element 0: the stride
        self.results_p = ctypes.cast(self.results, ctypes.POINTER(_ffi.httpring_result))
        self.results_view = memoryview(self.results).cast("B")
        self.ids = (c_uint64 * cap)()
        self.results_cap = cap
        # Where bodies held in pieces list them (httpring_handles_read_pieces), read as
        # (pointer, length) words.
        self.pieces_cap = cap * PIECES_PER_RESULT
        self.pieces = (_ffi.httpring_piece * self.pieces_cap)()
        self.pieces_p = ctypes.cast(self.pieces, ctypes.POINTER(_ffi.httpring_piece))
        self.pieces_base = ctypes.addressof(self.pieces)
        self.pieces_words = memoryview(self.pieces).cast("B").cast("N")  # type: ignore[call-overload]

    def chunk_out(self) -> ChunkOut:
        """Where streamed bodies' reads are told what they got on this thread (or loop)."""
        out = self._chunk
        if out is None:
            out = self._chunk = ChunkOut()
        return out


def header_array(pairs: Sequence[Tuple[bytes, bytes]]) -> Any:
    return (_Header * len(pairs))(*[(n, len(n), v, len(v)) for n, v in pairs])  # type: ignore[misc]


class Engine:
    """Owns one ``httpring_client*``; closed exactly once."""

    def __init__(
        self,
        *,
        timeout: Timeout,
        limits: Limits,
        headers: HeaderPairs,
        max_body_size: Optional[int],
        worker_threads: int,
        transport: Optional[Transport] = None,
        follow_redirects: bool = False,
        max_redirects: Optional[int] = None,
        auth: Optional["Auth"] = None,
        cookie_jar: bool = False,
        retries: Optional[Retry] = None,
        timing: bool = False,
        redirect_stops: Sequence[Tuple[bytes, bool]] = (),
    ) -> None:
        lib = _ffi.load()
        self.lib = lib
        cfg = build_config(
            lib,
            timeout=timeout,
            limits=limits,
            headers=headers or (),
            max_body_size=max_body_size,
            worker_threads=worker_threads,
            transport=transport,
            follow_redirects=follow_redirects,
            max_redirects=max_redirects,
            auth=auth,
            cookie_jar=cookie_jar,
            retries=retries,
            redirect_stops=redirect_stops,
        )
        self.cookie_jar = cookie_jar
        #: Read every response's ``httpring_info`` before its handle is freed (one more
        #: foreign call per response), for ``Response.extensions["timing"]``.
        self.timing = timing
        #: The client's ``default_encoding`` when not utf-8, given to every response.
        self.default_encoding: Any = None
        #: The jar's content when the client was closed (Netscape text), for reading after.
        self.final_cookies = ""
        #: The client's redirect setting, fixed in its config: when on, every response is
        #: asked for the hops followed (``attach_history``).
        self.redirects = follow_redirects
        try:
            ptr = lib.httpring_client_new(cfg)
        finally:
            lib.httpring_config_free(cfg)
        if not ptr:
            raise OSError("httpring_client_new failed (out of eventfds or memory)")
        self.ptr = ptr
        self.closed = False
        #: Inherited through fork(): the engine's threads did not come along.
        self.forked = False
        ALL_ENGINES.add(self)
        #: Live handles seen when the client was closed (tests check it is 0).
        self.live_at_close: Optional[int] = None
        #: Requests cancelled through httpring_handle_cancel while still pending.
        self.cancelled = 0
        #: Held while response memory is copied out (``read``, ``read_many``, a streamed
        #: body's lent bytes in ``_stream.Body.take``), while the client is freed and while
        #: a streamed response frees its handle (``Body.close``): a close on another thread
        #: cannot free memory between the call that returns its addresses and the copies.
        self.lock = threading.Lock()
        #: Makes closing happen once; never held while waiting for the engine.
        self._close_lock = threading.Lock()
        #: Set when the client is closed; done once the engine client has been freed.
        self.freed: "Optional[Future[None]]" = None
        # Bound C functions cached as attributes: one lookup per call, not two.
        self._send = lib.httpring_client_send
        self._free = lib.httpring_handle_free
        self._free_many = lib.httpring_handles_free
        self._read_many = lib.httpring_handles_read_pieces
        self._info = lib.httpring_handle_info
        self._read_chunk = lib.httpring_handle_read_chunk

    # --- lifecycle ---
    def check_open(self) -> None:
        if self.forked:
            raise ClientClosed(
                "this client was created before os.fork(): its engine threads do not exist "
                "in the child process. Create a new client after forking.",
                code=_ffi.HTTPRING_ERR_CLIENT_CLOSED,
            )
        if self.closed:
            raise ClientClosed(
                "Cannot send a request, as the client has been closed.",
                code=_ffi.HTTPRING_ERR_CLIENT_CLOSED,
            )

    def live_handles(self) -> int:
        self.check_open()
        n = c_size_t()
        code = self.lib.httpring_client_live_handles(self.ptr, n)
        if code:
            raise from_code(code)
        return int(n.value)

    def stats(self) -> "Stats":
        self.check_open()
        out = _ffi.new(_ffi.httpring_stats)
        code = self.lib.httpring_client_stats(self.ptr, out)
        if code:
            raise from_code(code)
        return Stats(out.live_handles, out.pooled_connections, out.connections_opened, out.dns_lookups)

    def close(self) -> None:
        """Frees the engine client: pending requests end as cancelled, threads are joined.
        Blocks up to the engine's shutdown grace (2 s) when a name lookup is in progress."""
        if self.begin_close():
            self._free_client()

    def close_soon(self, inline: bool = True) -> None:
        """``close()`` for finalizers and event loops: marks the client closed at once, and
        frees it right here only if ``inline`` and no thread holds ``lock`` (the garbage
        collector may run a finalizer on a thread inside ``read``); else on a thread of its
        own. ``freed`` says when it is done."""
        if not self.begin_close():
            return
        if inline and self.lock.acquire(blocking=False):
            try:
                self._free_locked()
            finally:
                self.lock.release()
            return
        try:
            threading.Thread(target=self._free_client, name="httpring-close").start()
        except RuntimeError:  # no thread to be had: free here after all
            self._free_client()

    def begin_close(self) -> bool:
        """Marks the client closed: new calls raise ClientClosed. True for the one caller
        that must then free it."""
        from concurrent.futures import Future

        with self._close_lock:
            if self.closed:
                return False
            n = c_size_t()
            if self.lib.httpring_client_live_handles(self.ptr, n) == _ffi.HTTPRING_OK:
                self.live_at_close = n.value
                if CLOSE_LOG is not None:
                    CLOSE_LOG.append(n.value)
            if self.cookie_jar and not self.forked:
                try:
                    self.final_cookies = self._cookies_export()
                except Exception:  # closing must not fail over a snapshot
                    pass
            self.freed = Future()
            self.closed = True
            return True

    def _free_client(self) -> None:
        with self.lock:
            self._free_locked()

    def _free_locked(self) -> None:
        try:
            self.lib.httpring_client_free(self.ptr)
        finally:
            if self.freed is not None:
                self.freed.set_result(None)

    def default_headers(self) -> List[Tuple[str, str]]:
        """What the engine client sends with every request (the headers it was given, its
        User-Agent and Accept-Encoding), in order: (name, value), names lower-case."""
        lib = self.lib
        n = c_size_t()
        code = lib.httpring_client_default_headers(self.ptr, None, 0, n)
        if code:
            raise from_code(code)
        buf = create_string_buffer(n.value + 1)
        code = lib.httpring_client_default_headers(self.ptr, buf, n.value + 1, n)
        if code:
            raise from_code(code)
        out = []
        for line in buf.raw[: n.value].split(b"\r\n"):
            name, sep, value = line.partition(b": ")
            if sep:
                out.append((name.decode("latin-1"), value.decode("latin-1")))
        return out

    # --- cookie jar (httpring_client_cookie*) ---
    def _cookies_export(self) -> str:
        lib = self.lib
        n = c_size_t()
        code = lib.httpring_client_cookies_export(self.ptr, None, 0, n)
        while not code:
            buf = create_string_buffer(n.value + 1)
            code = lib.httpring_client_cookies_export(self.ptr, buf, n.value + 1, n)
            if not code and n.value < len(buf):  # else it grew meanwhile: again
                return buf.raw[: n.value].decode("utf-8", "replace")
        raise from_code(code)

    def cookies_export(self) -> str:
        """The jar as Netscape cookie-file text (after close: as it was then)."""
        with self.lock:
            if self.closed:
                return self.final_cookies
            self.check_open()
            return self._cookies_export()

    def netrc_value(self, url: str) -> Optional[str]:
        """The ``Authorization`` value the client's ``.netrc`` gives a request to ``url``
        (``httpring_client_netrc_value``), or None."""
        lib = self.lib
        url_b = url.encode("utf-8")
        n = c_size_t()
        buf = create_string_buffer(256)
        with self.lock:
            self.check_open()
            code = lib.httpring_client_netrc_value(self.ptr, url_b, buf, len(buf), n)
            if not code and n.value >= len(buf):
                buf = create_string_buffer(n.value + 1)
                code = lib.httpring_client_netrc_value(self.ptr, url_b, buf, len(buf), n)
        if code:
            raise from_code(code)
        return buf.raw[: n.value].decode("latin-1") if n.value else None

    def cookie_add(self, url: bytes, line: bytes, name: str = "", domain: str = "", expired: bool = False) -> None:
        """``Set-Cookie: line`` as if from ``url``; ValueError if the jar refuses it.
        ``expired``: the line deletes a cookie, and the jar refusing it (no such cookie)
        is fine."""
        with self.lock:
            self.check_open()
            code = self.lib.httpring_client_cookie_add(self.ptr, url, line)
            why = last_error_message(self.lib) if code == _ffi.HTTPRING_ERR_INVALID_ARGUMENT else ""
        if code == _ffi.HTTPRING_ERR_INVALID_ARGUMENT:
            if expired:
                return
            # The engine's reason: a public suffix, a Secure or prefixed cookie's terms, a
            # name or value a Set-Cookie cannot carry, a size or count cap.
            raise ValueError(f"the cookie jar refused cookie {name!r} for domain {domain!r}: {why}")
        if code:
            raise from_code(code, context=f"cookie {name!r} for domain {domain!r}")

    def cookies_clear(self) -> None:
        with self.lock:
            self.check_open()
            code = self.lib.httpring_client_cookies_clear(self.ptr)
        if code:
            raise from_code(code)

    def cookies_save(self, path: Any) -> None:
        with self.lock:
            self.check_open()
            code = self.lib.httpring_client_cookies_save(self.ptr, os.fsencode(path))
        if code == _ffi.HTTPRING_ERR_IO:
            raise OSError(f"cannot write cookie file {os.fsdecode(path)!r}")
        if code:
            raise from_code(code, context=f"saving cookies to {os.fsdecode(path)!r}")

    def cookies_load(self, path: Any) -> int:
        n = c_size_t()
        with self.lock:
            self.check_open()
            code = self.lib.httpring_client_cookies_load(self.ptr, os.fsencode(path), n)
        if code == _ffi.HTTPRING_ERR_NOT_FOUND:
            raise FileNotFoundError(f"cannot read cookie file {os.fsdecode(path)!r}")
        if code:
            raise from_code(code, context=f"loading cookies from {os.fsdecode(path)!r}")
        return int(n.value)

    def fileno(self) -> int:
        self.check_open()
        fd: int = self.lib.httpring_client_fd(self.ptr)
        if fd < 0:
            raise ClientClosed("the client has been closed", code=_ffi.HTTPRING_ERR_CLIENT_CLOSED)
        return fd

    # --- submit ---
    def submit(self, prep: Prepared, user_data: int, s: Scratch, url: str = "", stream: bool = False) -> int:
        """Starts a request; returns its handle. Invalid input raises here, no handle made.
        ``stream``: its response is streamed."""
        method_b, url_b, pairs, body, tmo = prep
        if body.__class__ is not bytes:  # built_only
            return self.submit_request(prep, user_data, s, url, None, stream)
        if stream:
            code = self._submit_built(prep, user_data, s, {user_data})
        elif tmo is None:
            if pairs:
                code = self._send(
                    self.ptr, method_b, url_b, header_array(pairs), len(pairs),
                    body, len(body), user_data, s.handle,
                )
            else:
                code = self._send(
                    self.ptr, method_b, url_b, None, 0, body, len(body), user_data, s.handle
                )
        else:
            code = self._submit_built(prep, user_data, s)
        if code:
            raise self.submit_error(code, prep, url)
        return int(s.handle.value)

    def _submit_built(self, prep: Prepared, user_data: int, s: Scratch, streams: Optional[Set[int]] = None) -> int:
        """Per-request timeouts or a streamed response: a batch of one (the spec has the
        timeout fields and the flags)."""
        batch = s.batch
        if batch is None:
            batch = s.batch = SpecBatch(self, 1)
        code = batch.send(self.ptr, (prep,), (user_data,), streams)
        s.handle.value = batch.handles[0]
        return code

    def submit_request(
        self,
        prep: Prepared,
        user_data: int,
        s: Scratch,
        url: str,
        ov: Optional[Overrides],
        stream: bool = False,
    ) -> int:
        """``submit`` through the request builder, with the settings of ``ov`` (None: the
        client's), and a multipart body (``_multipart.Form``) if the body is one. Returns
        the handle; a refused setting or request raises here, no handle made. ``stream``:
        the request completes with its head (``HTTPRING_EVENT_HEAD``) and its body is read
        with ``httpring_handle_read_chunk`` (see ``_stream``)."""
        lib = self.lib
        method_b, url_b, pairs, body, tmo = prep
        req = lib.httpring_request_new(method_b, url_b)
        if not req:
            raise MemoryError("httpring_request_new failed")
        try:
            code = 0
            add = lib.httpring_request_add_header_bytes
            for name, value in pairs or ():
                code = code or add(req, name, len(name), value, len(value))
            if isinstance(body, Form):
                code = code or body.attach(lib, req)
            elif body.__class__ is Upload:
                code = code or body.attach(lib, req, pairs)
            elif body:
                code = code or lib.httpring_request_set_body(req, body, len(body))
            if tmo is not None:
                connect, read, total, pool, retries, speeds, write = tmo
                if connect >= 0:
                    code = code or lib.httpring_request_set_connect_timeout_ms(req, connect)
                if read >= 0:
                    code = code or lib.httpring_request_set_read_timeout_ms(req, read)
                if total >= 0:
                    code = code or lib.httpring_request_set_timeout_ms(req, total)
                if pool >= 0:
                    code = code or lib.httpring_request_set_pool_timeout_ms(req, pool)
                if write >= 0:
                    code = code or lib.httpring_request_set_write_timeout_ms(req, write)
                if retries >= 0:
                    code = code or lib.httpring_request_set_retries(req, retries)
                if speeds is not None:
                    recv, send, low_rate, low_ms = speeds
                    if recv >= 0:
                        code = code or lib.httpring_request_set_max_recv_speed(req, recv)
                    if send >= 0:
                        code = code or lib.httpring_request_set_max_send_speed(req, send)
                    if low_rate >= 0:
                        code = code or lib.httpring_request_set_low_speed(req, low_rate, low_ms)
            code = code or lib.httpring_request_set_user_data(req, user_data)
            if stream:
                code = code or lib.httpring_request_set_stream(req, True)
            if ov is not None:
                code = code or lib.httpring_request_set_follow_redirects(req, ov.follow)
                code = code or lib.httpring_request_set_max_redirects(req, ov.max_redirects)
                if ov.no_auth:
                    code = code or lib.httpring_request_set_no_auth(req)
                for name in ov.withhold:
                    code = code or lib.httpring_request_remove_default_header(req, name)
            if code:
                raise self.submit_error(code, prep, url)
            if ov is not None and ov.auth is not None:
                ov.auth.check(ov.auth._set(lib, req, True))
        except BaseException:
            lib.httpring_request_free(req)
            raise
        code = lib.httpring_client_submit(self.ptr, req, s.handle)  # consumes req
        if code:
            raise self.submit_error(code, prep, url)
        return int(s.handle.value)

    def submit_error(self, code: int, prep: Prepared, url: str = "", why: bool = True) -> Exception:
        """The exception for a request the engine refused with ``code``; ``why``: the
        thread's last error message is this request's (false after a batch refused more
        than one: it is the last one's)."""
        if code == _ffi.HTTPRING_ERR_CLIENT_CLOSED:
            self.check_open()
        method = prep[0].decode("ascii", "replace")
        url = url or prep[1].decode("utf-8", "replace")
        message = last_error_message(self.lib) if why else ""
        if message == _ffi.error_name(code):  # says no more than the code
            message = ""
        return from_code(code, message, request=Request(method, url), context=f"{method} {url}")

    # --- results ---
    def read(self, h: int, method: str, s: Scratch, url: str = "", history: bool = False) -> Any:
        """The Response of a completed handle, or the exception it failed with (returned,
        not raised). Copies everything out; the caller frees the handle next. ``history``:
        the request may have followed redirects (read them into ``Response.history``).
        One ``httpring_handles_read_pieces`` call, as for a batch (``read_many``)."""
        if not s.results_cap:
            s.results_for(1)
        ids = s.ids
        ids[0] = h
        ptr = self.ptr
        with self.lock:  # see Engine.lock: no free between the addresses and the copies
            code = self._read_many(ptr, ids, 1, s.results_p, s.pieces_p, s.pieces_cap)
            if code:
                raise from_code(code)
            code, status, version, body_p, body_len, _, url_p, url_len, elapsed, raw_p, raw_len, received, reason_p, reason_len, pieces_p, count = (
                RESULT_LAYOUT.unpack_from(s.results_view)
            )
            if code:
                return self.error(h, code, method, s, url)
            address = _ADDRESS_SPACE
            r = new_response(
                status,
                body_at(s, body_p, body_len, pieces_p, count),
                version,
                address[raw_p : raw_p + raw_len].tobytes(),
                address[url_p : url_p + url_len].tobytes(),
                elapsed,
                method,
            )
            if received != body_len:  # a coded body (num_bytes_downloaded)
                r._downloaded = received
            if reason_p:  # the server's own reason phrase (not the standard one)
                r._reason = address[reason_p : reason_p + reason_len].tobytes()
            if self.timing:
                r._info = self.info(h, s.info)
            if history:
                self.attach_history(h, r, s)
            if self.default_encoding is not None:
                r._default_encoding = self.default_encoding
            return r

    def read_many(
        self, hs: Sequence[int], requests: Sequence[Tuple[str, str]], s: Scratch, history: bool = False
    ) -> List[Any]:
        """``read`` for several completed handles in one engine call: one Response or
        exception per handle, in order. ``requests`` gives each one's (method, url)."""
        n = len(hs)
        if n == 0:
            return []
        if n > s.results_cap:
            s.results_for(n)
        ids = s.ids
        ids[:n] = hs  # type: ignore[call-overload]  # (typeshed wants a list of c_uint64 | int)
        address = _ADDRESS_SPACE
        results: List[Any] = []
        timing = self.timing
        new = Response.__new__
        with self.lock:  # see Engine.lock: no free between the addresses and the copies
            code = self._read_many(self.ptr, ids, n, s.results_p, s.pieces_p, s.pieces_cap)
            if code:
                raise from_code(code)
            rows = list(RESULT_LAYOUT.iter_unpack(s.results_view[: n * RESULT_LAYOUT.size]))
            # Newest first: the bodies read last are the ones still in this core's cache.
            # A batch can hold more body bytes than the cache (64 KiB bodies come in
            # batches of ~30); copied oldest first, each copy would evict the next ones
            # before their turn, and every body would be read from memory.
            for row, h, (method, url) in zip(reversed(rows), reversed(hs), reversed(requests)):
                code, status, version, body_p, body_len, _, url_p, url_len, elapsed, raw_p, raw_len, received, reason_p, reason_len, pieces_p, count = row
                if code:
                    results.append(self.error(h, code, method, s, url))
                    continue
                # new_response, inlined (the per-response path).
                r = new(Response)
                r.status_code = status
                r.content = (
                    address[body_p : body_p + body_len].tobytes()
                    if body_p or not pieces_p
                    else body_at(s, body_p, body_len, pieces_p, count)
                )
                r._version = version
                r._raw_headers = address[raw_p : raw_p + raw_len].tobytes()
                r._headers = None
                r._url = address[url_p : url_p + url_len].tobytes()
                r._elapsed_us = elapsed
                r._method = method
                r._request = None
                r._history = None
                r._encoding = None
                if received != body_len:  # a coded body (num_bytes_downloaded)
                    r._downloaded = received
                if reason_p:  # the server's own reason phrase (not the standard one)
                    r._reason = address[reason_p : reason_p + reason_len].tobytes()
                if timing:
                    r._info = self.info(h, s.info)
                if history:
                    self.attach_history(h, r, s)
                results.append(r)
        if self.default_encoding is not None:
            for r in results:
                if r.__class__ is Response:
                    r._default_encoding = self.default_encoding
        results.reverse()  # back in the order of hs
        return results

    def attach_history(self, h: int, r: Response, s: Scratch) -> None:
        """Sets ``r.history`` from the redirects the engine followed for handle ``h`` (still
        live): one Response per hop with its status, URL and method. The engine keeps no
        hop's headers or body: a hop carries only ``location``, the URL followed next."""
        lib = self.lib
        n = s.length
        if lib.httpring_response_redirect_count(self.ptr, h, n) or not n.value:
            return
        status = c_uint16()
        url_p = s.data
        hops = []
        for i in range(n.value):
            if lib.httpring_response_redirect(self.ptr, h, i, status, url_p, n):
                return
            hops.append((status.value, string_at(url_p.value or 0, n.value)))
        method = r._method
        history: List[Response] = []
        for i, (code, url) in enumerate(hops):
            target = hops[i + 1][1] if i + 1 < len(hops) else r._url
            assert isinstance(target, bytes)
            hop = new_response(code, b"", r._version, b"location: " + target + b"\r\n", url, 0, method)
            hop._history = history[:]
            history.append(hop)
            method = redirect_method(method, code, url.decode("utf-8", "replace"), target)
        r._method = method  # the request that got this response
        r._history = history

    def error(self, h: int, code: int, method: str, s: Scratch, url: str = "") -> Exception:
        if code == _ffi.HTTPRING_ERR_CLIENT_CLOSED and self.closed:
            return ClientClosed(
                "the client was closed while the request was pending",
                code=code,
                request=Request(method, url) if url else None,
            )
        message = self.message(h, s)
        request = Request(method, url) if url else None
        error = from_code(code, message, request=request, context=f"{method} {url}" if url else "")
        if isinstance(error, HTTPError):
            info = self.info(h, s.info)
            if info is not None:
                error.attempts = info_attempts(info)
        return error

    def info(self, h: int, out: Any) -> Optional[bytes]:
        """Handle ``h``'s ``httpring_info`` (attempts, progress, timing) as raw bytes
        (``_models.INFO_LAYOUT``), or None if the engine has none for it. ``out``: an
        ``httpring_info`` the call may write (``Scratch.info``)."""
        if self._info(self.ptr, h, out):
            return None
        return bytes(out)

    def message(self, h: int, s: Scratch) -> str:
        buf = s.msg
        n = s.length
        if self.lib.httpring_handle_error_message(self.ptr, h, buf, len(buf), n):
            return ""
        if n.value >= len(buf):
            buf = create_string_buffer(n.value + 1)
            self.lib.httpring_handle_error_message(self.ptr, h, buf, len(buf), n)
        return buf.value.decode("utf-8", "replace")

    def free(self, h: int) -> None:
        self._free(self.ptr, h)

    def free_many(self, handles: List[int]) -> None:
        n = len(handles)
        if n == 1:
            self._free(self.ptr, handles[0])
        elif n:
            self._free_many(self.ptr, (c_uint64 * n)(*handles), n)

    def cancel(self, h: int) -> None:
        """Cancels a pending request (its connection is closed, not reused)."""
        lib = self.lib
        if lib.httpring_handle_cancel(self.ptr, h) == _ffi.HTTPRING_OK:
            if lib.httpring_handle_error(self.ptr, h) == _ffi.HTTPRING_ERR_CANCELLED:
                self.cancelled += 1


def _after_fork_in_child() -> None:
    """A forked child inherits engine clients whose runtime threads stayed in the parent:
    a request would never complete and freeing would join threads that do not exist. Mark
    them closed so the child never calls the engine with them (their memory is left)."""
    for engine in list(ALL_ENGINES):
        # Threads of the parent may have held them at fork(): they would never be released.
        engine.lock = threading.Lock()
        engine._close_lock = threading.Lock()
        if not engine.closed:
            engine.forked = True
            engine.closed = True
        if engine.freed is not None and not engine.freed.done():
            # Being freed by a parent's thread, which the child does not have.
            from concurrent.futures import Future

            engine.freed = Future()
            engine.freed.set_result(None)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def prepare_timeout(timeout: Any, client: Timeout) -> Optional[PerRequest]:
    """A request's ``timeout=`` for a client whose timeout is ``client`` (see ``Prepared``:
    the retry count is the client's)."""
    from ._config import USE_CLIENT_DEFAULT, to_timeout

    if timeout is USE_CLIENT_DEFAULT:
        return None
    connect, read, total, pool, write = to_timeout(timeout).for_request(client)
    return (connect, read, total, pool, -1, None, write)


def response_or_raise(result: Any) -> Response:
    if isinstance(result, Response):
        return result
    raise result
