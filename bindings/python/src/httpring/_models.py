"""Headers, Request and Response, shaped like httpx's.

A Response owns plain Python copies of everything it needs (status, body, the raw header
block, URL, and with ``Client(timing=True)`` the raw ``httpring_info``): the engine handle
it came from is freed as soon as it is built. Headers are parsed from the raw block, and
the timing record from the raw info, only on first access.
"""

from __future__ import annotations

import codecs
import datetime
import json as _json
import re
import struct
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncIterator,
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    MutableMapping,
    Optional,
    Sequence,
    Tuple,
    Union,
    cast,
)
from urllib.parse import urlencode

from ._cookies import Cookies, _pair, _Target, parse_set_cookie
from ._status_codes import codes
from ._exceptions import HTTPStatusError, RequestNotRead, ResponseNotRead, StreamClosed, StreamConsumed
from ._multipart import Form, encode_multipart, with_encoded_form
from ._upload import Upload, _remaining, is_streamed
from ._stream import (
    AsyncBody,
    AsyncPieces,
    ContentDecoder,
    LineDecoder,
    TextDecoder,
    adecode_text,
    arechunk,
    arechunk_text,
    decode_content,
    decode_text,
    rechunk,
    rechunk_text,
)
from ._urls import URL
from ._urls import add_query as _add_query
from ._urls import encode as _encode_url
from ._urls import to_str as _to_url_str

if TYPE_CHECKING:
    from ._stream import Body, IterBody, SyncBody

HeaderTypes = Union["Headers", Mapping[str, str], Sequence[Tuple[str, str]], None]
QueryParamTypes = Union[Mapping[str, Any], Sequence[Tuple[str, Any]], str, bytes, None]


def _to_str(value: Any, what: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return value.decode("latin-1")
    raise TypeError(f"Header {what} must be str or bytes, not {type(value)!r}")


class Headers(MutableMapping[str, str]):
    """A case-insensitive multi-dict. ``h["set-cookie"]`` joins repeated values with ", ";
    ``h.get_list("set-cookie")`` returns them one by one; ``multi_items()`` lists every
    (name, value) line. Names of response headers are lower-case. As in httpx, ``len()``
    counts lines (a repeated name counts each time); ``keys()``, ``items()`` and iteration
    give each name once."""

    __slots__ = ("_list", "_encoding")

    def __init__(self, headers: HeaderTypes = None) -> None:
        # (lower-case name, name as given, value)
        self._list: List[Tuple[str, str, str]] = []
        # The codec that turns the str names and values back into their bytes (``raw``).
        self._encoding = "iso-8859-1"
        if headers is None:
            return
        if isinstance(headers, Headers):
            self._list = list(headers._list)
            self._encoding = headers._encoding
            return
        items = headers.items() if isinstance(headers, Mapping) else headers
        for name, value in items:
            name, value = _to_str(name, "name"), _to_str(value, "value")
            self._list.append((name.lower(), name, value))

    @classmethod
    def _from_raw(cls, raw: bytes) -> "Headers":
        """Parses the engine's "name: value\\r\\n" block (names already lower-case). As in
        httpx, the whole block is decoded as ascii, else utf-8, else iso-8859-1; each of
        these encodes the str back to exactly the bytes received (``raw``)."""
        h = cls.__new__(cls)
        for encoding in ("ascii", "utf-8", "iso-8859-1"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        h._encoding = encoding
        out = []
        for line in text.split("\r\n"):
            if line:
                name, _, value = line.partition(":")
                out.append((name, name, value.lstrip(" ")))
        h._list = out
        return h

    # --- multi-value access ---
    def get_list(self, key: str, split_commas: bool = False) -> List[str]:
        k = key.lower()
        values = [v for lk, _, v in self._list if lk == k]
        if not split_commas:
            return values
        return [part.strip() for v in values for part in v.split(",")]

    getlist = get_list

    def multi_items(self) -> List[Tuple[str, str]]:
        return [(lk, v) for lk, _, v in self._list]

    @property
    def encoding(self) -> str:
        """How a response's names and values were decoded: "ascii", "utf-8" or
        "iso-8859-1". Headers built from str say "iso-8859-1": ``raw`` encodes them so, or
        as UTF-8 where ISO-8859-1 cannot."""
        return self._encoding

    @property
    def raw(self) -> List[Tuple[bytes, bytes]]:
        """(name, value) as bytes: for a response, the bytes received."""
        return [(self._encode(n), self._encode(v)) for _, n, v in self._list]

    def _encode(self, text: str) -> bytes:
        try:
            return text.encode(self._encoding)
        except UnicodeEncodeError:  # a value added that the codec cannot express
            return text.encode("utf-8")

    def add(self, key: str, value: str) -> None:
        """Appends a value (httpring addition; httpx has no equivalent)."""
        self._list.append((key.lower(), key, value))

    # --- mapping protocol ---
    def __getitem__(self, key: str) -> str:
        k = key.lower()
        values = [v for lk, _, v in self._list if lk == k]
        if not values:
            raise KeyError(key)
        return values[0] if len(values) == 1 else ", ".join(values)

    def __setitem__(self, key: str, value: str) -> None:
        k = key.lower()
        self._list = [item for item in self._list if item[0] != k]
        self._list.append((k, key, value))

    def __delitem__(self, key: str) -> None:
        k = key.lower()
        kept = [item for item in self._list if item[0] != k]
        if len(kept) == len(self._list):
            raise KeyError(key)
        self._list = kept

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        k = key.lower()
        return any(lk == k for lk, _, _ in self._list)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def keys(self) -> Any:
        return {lk: None for lk, _, _ in self._list}.keys()

    def values(self) -> Any:
        return {k: self[k] for k in self.keys()}.values()

    def items(self) -> Any:
        return {k: self[k] for k in self.keys()}.items()

    def __len__(self) -> int:
        # As httpx: the number of lines (multi_items()), while keys() and iteration give
        # each name once.
        return len(self._list)

    def __eq__(self, other: object) -> bool:
        try:
            other_h = other if isinstance(other, Headers) else Headers(other)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
        return sorted(self.multi_items()) == sorted(other_h.multi_items())

    def copy(self) -> "Headers":
        return Headers(self)

    def __repr__(self) -> str:
        # As httpx: credentials masked, a dict unless a name repeats, and the encoding
        # shown when it is not ascii.
        items = [(lk, "[secure]" if lk in _SENSITIVE else v) for lk, _, v in self._list]
        as_dict = dict(items)
        shown: Any = as_dict if len(as_dict) == len(items) else items
        ascii_only = all(n.isascii() and v.isascii() for _, n, v in self._list)
        enc = "" if ascii_only else f", encoding={self._encoding!r}"
        return f"Headers({shown!r}{enc})"


#: Header values Headers' repr hides (httpx's list).
_SENSITIVE = frozenset(("authorization", "proxy-authorization"))


# --- request encoding --------------------------------------------------------------------

HeaderPairs = Optional[Tuple[Tuple[bytes, bytes], ...]]


def _enc(value: Union[str, bytes]) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def encode_headers(headers: HeaderTypes) -> HeaderPairs:
    """Headers as (name, value) byte pairs for the engine, or None when there are none."""
    if not headers:
        return None
    if isinstance(headers, Headers):
        items: Any = [(n, v) for _, n, v in headers._list]
    elif isinstance(headers, Mapping):
        items = headers.items()
    else:
        items = headers
    pairs = tuple((_header_bytes(n, "name"), _header_bytes(v, "value")) for n, v in items)
    return pairs or None


def _header_bytes(value: Any, what: str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    # Not bytes(value): bytes(3) is three NULs.
    raise TypeError(f"Header {what} must be str or bytes, not {type(value)!r}")


def has_header(pairs: HeaderPairs, lname: bytes) -> bool:
    return bool(pairs) and any(n.lower() == lname for n, _ in pairs)  # type: ignore[union-attr]


def encode_params(params: QueryParamTypes) -> str:
    if params is None:
        return ""
    if isinstance(params, bytes):
        return params.decode("ascii")
    if isinstance(params, str):
        return params
    items = params.items() if isinstance(params, Mapping) else params
    flat: List[Tuple[str, str]] = []
    for k, v in items:
        if isinstance(v, (list, tuple)):
            flat.extend((k, _param_str(x)) for x in v)
        else:
            flat.append((k, _param_str(v)))
    return urlencode(flat)


def _param_str(v: Any) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return ""
    return str(v)


def encode_body(
    content: Any = None, data: Any = None, json: Any = None, stream: bool = False
) -> Tuple[bytes, Optional[bytes]]:
    """(body, content-type to add or None) from httpx's content= / data= / json=.
    ``stream`` (a request's body): an iterator, async iterator or file given as content=
    becomes an ``Upload``, sent as it is read; else (a Response's) it is joined."""
    if content is not None:
        if isinstance(content, str):
            return content.encode("utf-8"), None
        if isinstance(content, (bytes, bytearray, memoryview)):
            return bytes(content), None
        if isinstance(content, Mapping) or not (
            hasattr(content, "__iter__") or hasattr(content, "__aiter__") or hasattr(content, "read")
        ):
            # As httpx (a dict would send its keys).
            raise TypeError(f"Unexpected type for 'content', {type(content)!r}")
        if stream and is_streamed(content):
            return Upload(content), None
        if hasattr(content, "__aiter__"):
            raise TypeError("content= is an async iterator: a Response takes bytes or an iterator of them")
        # An iterable of chunks (a Response's content): joined.
        return b"".join(_enc(c) for c in content), None
    if data is not None:
        if isinstance(data, (str, bytes, bytearray, memoryview)):
            return _enc(data) if isinstance(data, str) else bytes(data), None
        return encode_params(data).encode("ascii"), b"application/x-www-form-urlencoded"
    if json is not None:
        text = _json.dumps(json, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return text.encode("utf-8"), b"application/json"
    return b"", None


class Request:
    """A request, as httpx.Request: built by users (``Request("GET", url, headers=...,
    content=...)``) or by a client (``client.build_request(...)``), sent with
    ``client.send(request)``, handed to event hooks and transports, and found on
    ``Response.request``.

    ``headers`` are the client's default headers (for one a client built) merged with the
    request's own, led by the ``Host`` and ``Content-Length`` (or ``Transfer-Encoding``)
    httpx adds; the engine adds its own (User-Agent...) when it sends the request. Changes
    made to ``headers``, ``url`` or ``method`` (by a request hook, say) are what is
    sent."""

    __slots__ = (
        "_method", "_url", "_pairs", "_content", "_timeout", "_method_b", "_url_b", "extensions",
        "_defaults", "_headers", "_cross_origin", "_auto",
    )

    def __init__(
        self,
        method: Union[str, bytes],
        url: Any,
        *,
        params: QueryParamTypes = None,
        headers: HeaderTypes = None,
        cookies: Any = None,
        content: Any = None,
        data: Any = None,
        files: Any = None,
        json: Any = None,
        stream: Any = None,
        extensions: Optional[Dict[str, Any]] = None,
    ) -> None:
        if content is None and stream is not None:
            content = stream
        method_s = method.decode("ascii") if isinstance(method, bytes) else method
        self._method = method_s.upper()
        self._method_b = self._method.encode("ascii")
        url_s = _to_url_str(url)
        if params is not None:
            url_s = _add_query(url_s, encode_params(params))
        self._url: str = url_s
        self._url_b = _encode_url(url_s)
        pairs = encode_headers(headers)
        if files and content is None:
            # multipart/form-data, encoded here (see _multipart) with its Content-Type.
            pairs, body = with_encoded_form(pairs, encode_multipart(data, files))
        else:
            body, ctype = encode_body(content, data, json, True)
            if ctype is not None and not has_header(pairs, b"content-type"):
                pairs = (pairs or ()) + ((b"content-type", ctype),)
        if cookies is not None:
            target = _Target(url_s)
            chosen = {c.name: _pair(c) for c in Cookies(cookies)._all() if target.matches(c)}
            if chosen:
                pairs = (pairs or ()) + ((b"cookie", "; ".join(chosen.values()).encode("utf-8")),)
        self._pairs = pairs
        self._content = body
        # Its own timeouts and retry count (``_engine.PerRequest``), None for the client's.
        self._timeout: Optional[Tuple[Any, ...]] = None
        self.extensions: Dict[str, Any] = extensions if extensions is not None else {}
        self._defaults: Optional[_Defaults] = None
        self._headers: Optional[Headers] = None
        #: The automatic headers ``headers`` showed (lower-case name -> value).
        self._auto: Optional[Dict[str, str]] = None
        #: A redirect's next request to another origin (``Response.next_request``): sent
        #: without the client's credentials.
        self._cross_origin = False

    @property
    def method(self) -> str:
        return self._method

    @method.setter
    def method(self, value: str) -> None:
        method_b = value.upper().encode("ascii")
        self._method, self._method_b = method_b.decode("ascii"), method_b

    @property
    def url(self) -> URL:
        """The URL, as an ``httpring.URL`` (httpx.URL's interface); assigning a URL or a str
        changes what is sent."""
        return URL(self._url)

    @url.setter
    def url(self, value: Union[URL, str]) -> None:
        url_s = _to_url_str(value)
        self._url_b = _encode_url(url_s)
        self._url = url_s

    @property
    def headers(self) -> Headers:
        """The headers: the client's defaults (for a request a client built) merged with
        the request's own. A live object: what is changed in it is sent."""
        h = self._headers
        if h is None:
            h = Headers(self._defaults)
            own = Headers([(n.decode("latin-1"), v.decode("latin-1")) for n, v in self._pairs or ()])
            for name in own.keys():
                if name in h:
                    del h[name]
            h._list.extend(own._list)
            # httpx's automatic headers, first (what signing code and mock handlers read).
            auto = [(n.lower(), n, v) for n, v in self._auto_headers() if n.lower() not in h]
            if "content-length" in h or "transfer-encoding" in h:
                auto = [a for a in auto if a[0] == "host"]
            h._list[:0] = auto
            self._auto = {lk: v for lk, _, v in auto}
            self._headers = h
        return h

    @headers.setter
    def headers(self, value: HeaderTypes) -> None:
        self._headers = Headers(value)

    def _auto_headers(self) -> List[Tuple[str, str]]:
        """The Host and body-length headers httpx puts on a request: Host from the URL;
        Content-Length for a body (0 for POST, PUT and PATCH without one), or
        Transfer-Encoding: chunked for one sent as it is read, length unknown. The engine
        sends the same by itself: ``_wire_pairs`` leaves them out while they are as here."""
        auto = []
        # The authority as the engine sends it: as written (a default port kept), without
        # user info; a Unicode host in its ASCII form.
        authority = self._url.partition("://")[2]
        for end in "/?#":
            authority = authority.partition(end)[0]
        host = authority.rpartition("@")[2]
        if not host.isascii():
            host = URL(self._url).netloc.decode("ascii")
        if host:
            auto.append(("Host", host))
        body = self._content
        if body.__class__ is Upload:
            length: Optional[int] = body.length
            if body.length < 0 and not body.is_async:
                length = _remaining(body.source)  # a file's or BytesIO's: sent with its length
            if length is not None and length >= 0:
                auto.append(("Content-Length", str(length)))
            else:
                auto.append(("Transfer-Encoding", "chunked"))
        elif body or self._method in ("POST", "PUT", "PATCH"):
            auto.append(("Content-Length", str(len(body))))
        return auto

    def _wire_pairs(self) -> HeaderPairs:
        """The headers to hand to the engine: the request's own, or, once ``headers`` was
        read (and maybe changed), those of it that are not the client's defaults as they
        are (the engine adds those itself; a request's own header replaces a default)."""
        h = self._headers
        if h is None:
            return self._pairs
        # Exact bytes for the values the request came with (``headers`` decoded them).
        sent = {(n.decode("latin-1"), v.decode("latin-1")): (n, v) for n, v in self._pairs or ()}
        # Left out: the names whose values are those the engine client sends by itself (the
        # headers the client was created with; not later changes to client.headers, which
        # travel as the request's own).
        engine = self._defaults.engine if self._defaults is not None else None
        same = set()
        if engine:
            for name in {lk for lk, _, _ in h._list}:
                if h.get_list(name) == engine.get(name):
                    same.add(name)
        # The automatic headers as shown, unchanged (the URL or body may have changed since),
        # or as they would be now: the engine derives its own.
        for lk, v in (self._auto or {}).items():
            if h.get_list(lk) == [v]:
                same.add(lk)
        for n, v in self._auto_headers():
            lk = n.lower()
            if h.get_list(lk) == [v]:
                same.add(lk)
        if self._content.__class__ is Upload and h.get_list("transfer-encoding") == ["chunked"]:
            same.add("transfer-encoding")  # (its length may have become known since)
        pairs = tuple(
            sent.get((n, v)) or (_enc(n), _enc(v)) for lk, n, v in h._list if lk not in same
        )
        return pairs or None

    def _withheld(self) -> Optional[Tuple[bytes, ...]]:
        """The engine client's default headers this request leaves out (lower-case names):
        those missing from its headers as the client had them when it built the request
        (removed from ``client.headers``), or as ``headers`` was changed since. None for a
        Request no client built: the client's current choice applies."""
        d = self._defaults
        if d is None:
            return None
        h = self._headers
        if h is None:
            return d.removed
        return tuple(lk.encode("utf-8") for lk in d.engine or () if lk not in h)

    @property
    def content(self) -> bytes:
        """The body. One given as an iterator, an async iterator or a file is sent as it is
        read: RequestNotRead until ``read()``/``aread()`` (which read it whole, and then
        send that)."""
        content = self._content
        if content.__class__ is Upload:
            raise RequestNotRead()
        return content

    @content.setter
    def content(self, value: bytes) -> None:
        self._content = value

    @property
    def stream(self) -> Any:
        """The iterator, async iterator or file given as ``content=`` while it is unread,
        else the body (bytes)."""
        content = self._content
        return content.source if content.__class__ is Upload else content

    def read(self) -> bytes:
        content = self._content
        if content.__class__ is Upload:
            content = self._content = content.read()
        return content

    async def aread(self) -> bytes:
        content = self._content
        if content.__class__ is Upload:
            content = self._content = await content.aread()
        return content

    def __repr__(self) -> str:
        return f"<Request({self._method!r}, {str(self._url)!r})>"


def request_from(
    prep: Tuple[bytes, bytes, HeaderPairs, bytes, Optional[Tuple[Any, ...]]],
    method: str,
    url: str,
    defaults: Optional[Headers] = None,
) -> Request:
    """A Request of an encoded one (the engine's form), without encoding anything again.
    ``defaults`` are the client's headers (``client.headers``), copied: a request keeps
    those it was built with, as in httpx."""
    r = Request.__new__(Request)
    r._method = method
    r._url = url
    r._method_b, r._url_b, r._pairs, r._content, r._timeout = prep
    if r._content.__class__ is Form:
        # What the engine would encode, encoded here: a Request shows its body.
        r._pairs, r._content = with_encoded_form(r._pairs, r._content)
    r.extensions = {}
    r._defaults = (
        None if defaults is None
        else _Defaults(defaults, getattr(defaults, "engine", None), getattr(defaults, "removed", ()))
    )
    r._headers = None
    r._cross_origin = False
    r._auto = None
    return r


class _Defaults(Headers):
    """A copy of a client's headers for a request it built, with ``engine``: the values
    (by lower-case name) of those the engine client sends by itself, and ``removed``: the
    names of those the client had removed (lower-case bytes), which the request leaves out."""

    __slots__ = ("engine", "removed")

    def __init__(
        self,
        headers: HeaderTypes,
        engine: Optional[Dict[str, List[str]]],
        removed: Tuple[bytes, ...] = (),
    ) -> None:
        super().__init__(headers)
        self.engine = engine
        self.removed = removed


# --- response ----------------------------------------------------------------------------

def _text_codec(charset: str) -> Optional[str]:
    """The codec ``charset`` names if it decodes any bytes to text with errors="replace",
    else None: the server picks the charset, and base64, hex, rot13 (not text codecs), idna
    (strict errors only), punycode (ASCII only) or an unknown name must not make ``text``
    raise."""
    try:
        name = codecs.lookup(charset).name
        b"a\xff".decode(name, "replace")  # a text codec that takes any bytes
    except (LookupError, UnicodeError, ValueError):
        return None
    return name


def _parse_links(value: str) -> List[Dict[str, str]]:
    """``<url>; rel="next"; title=x, <url2>; ...`` as a list of dicts, read as httpx (and
    requests) read it: lenient, quotes and spaces stripped, a malformed parameter ending
    that link's parameters."""
    strip = " '\""
    value = value.strip(strip)
    links: List[Dict[str, str]] = []
    if not value:
        return links
    for item in re.split(", *<", value):
        url, _, params = item.partition(";")
        link = {"url": url.strip("<> '\"")}
        for param in params.split(";") if params else ():
            key, eq, val = param.partition("=")
            if not eq or "=" in val:
                break
            link[key.strip(strip)] = val.strip(strip)
        links.append(link)
    return links


_VERSIONS = {10: "HTTP/1.0", 11: "HTTP/1.1", 20: "HTTP/2", 30: "HTTP/3"}
REDIRECT_STATUSES = frozenset((301, 302, 303, 307, 308))

#: ``httpring_info`` read as raw bytes, struct_size skipped (checked against ctypes in
#: _engine): attempts, bytes_received, content_length, the nine phases (µs), tls_version,
#: reused, remote_addr, alpn.
INFO_LAYOUT = struct.Struct("@4xIQq9QH?48s16s")

#: The phases of the timing record, in ``httpring_info``'s order; they add up to "total".
TIMING_PHASES = ("queued", "pool", "dns", "connect", "tls", "send", "wait", "receive", "total")

_TLS_VERSIONS = {0x0301: "TLSv1", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2", 0x0304: "TLSv1.3"}


def info_attempts(raw: bytes) -> int:
    """The attempts counted in a raw ``httpring_info``."""
    attempts: int = INFO_LAYOUT.unpack_from(raw)[0]
    return attempts


def timing_record(raw: bytes) -> Dict[str, Any]:
    """``Response.extensions["timing"]`` from the raw ``httpring_info`` of its handle:
    seconds (floats) per phase, then what the engine knows of the exchange."""
    fields = INFO_LAYOUT.unpack_from(raw)
    attempts = fields[0]
    phases = fields[3:12]
    tls_version, reused, remote, alpn = fields[12:16]
    record: Dict[str, Any] = {name: us / 1e6 for name, us in zip(TIMING_PHASES, phases)}
    record["attempts"] = attempts
    record["reused"] = bool(reused)
    record["remote_address"] = remote.split(b"\0", 1)[0].decode("ascii", "replace")
    record["tls_version"] = (
        _TLS_VERSIONS.get(tls_version, f"0x{tls_version:04x}") if tls_version else None
    )
    alpn_s = alpn.split(b"\0", 1)[0].decode("ascii", "replace")
    record["alpn"] = alpn_s or None
    return record


class Response:
    """A response. Its body is in memory (``content``), unless it was streamed
    (``client.stream(...)``, ``send(..., stream=True)``): then the body is read with
    ``iter_bytes()``/``iter_text()``/``iter_lines()``/``iter_raw()`` (``aiter_*`` for an
    AsyncClient's) or ``read()``/``aread()``, and ``content`` raises ResponseNotRead until
    it was read."""

    __slots__ = (
        "status_code",
        "content",
        "_version",
        "_raw_headers",
        "_headers",
        "_url",
        "_elapsed_us",
        "_method",
        "_request",
        "_sent",
        "_history",
        "_extensions",
        "_encoding",
        "_cookies",
        "_info",
        "_stream",
        "_next_request",
        "_default_encoding",
        "_downloaded",
        "_reason",
    )

    status_code: int
    content: bytes
    _url: Union[str, bytes, URL]
    _history: Optional[List["Response"]]
    #: What the client sent, for ``request`` (set on demand): (prepared, default headers).
    _sent: Optional[Tuple[Any, Optional[Headers]]]
    #: The handle's raw ``httpring_info`` (set only when read: see ``extensions``).
    _info: Optional[bytes]
    #: A streamed response's body (``_StreamedResponse`` only; unset on the others).
    _stream: "Union[Body, IterBody]"
    #: The server's own reason phrase, set only when it is not the standard one.
    _reason: bytes
    #: ``next_request``, once known: unset on a response the engine read for a request
    #: that did not follow redirects (built on first access), None on the others.
    _next_request: Optional[Request]

    def __init__(
        self,
        status_code: int,
        *,
        headers: HeaderTypes = None,
        content: Any = None,
        text: Optional[str] = None,
        html: Optional[str] = None,
        json: Any = None,
        stream: Any = None,
        request: Optional[Request] = None,
        extensions: Optional[Dict[str, Any]] = None,
        history: Optional[List["Response"]] = None,
        url: Any = "",
        http_version: str = "HTTP/1.1",
        default_encoding: Union[str, Callable[[bytes], Optional[str]]] = "utf-8",
    ) -> None:
        """A response built by hand, as httpx.Response: for a MockTransport's handler, or a
        test. ``content`` (bytes, str or an iterable of bytes), ``text``, ``html`` or
        ``json`` is the body; Content-Type and Content-Length are added as httpx adds
        them. ``url`` and ``http_version`` are httpring's (httpx takes the URL from the
        request)."""
        self.status_code = status_code
        hs = Headers(headers)
        if content is None and stream is not None:
            content = stream
        ctype: Optional[str] = None
        streamed: Any = None
        if content is not None and not isinstance(content, (str, bytes, bytearray, memoryview)) and (
            hasattr(content, "__aiter__") or (hasattr(content, "__iter__") and not isinstance(content, Mapping))
        ):
            # An iterator (or async iterator) of bytes: a stream, read once, as httpx's:
            # ``content`` raises ResponseNotRead until read()/aread().
            from ._stream import AsyncIterBody, IterBody

            streamed = AsyncIterBody(content) if hasattr(content, "__aiter__") else IterBody(content)
            body = b""
            if "content-length" not in hs and "transfer-encoding" not in hs:
                hs["Transfer-Encoding"] = "chunked"
        elif content is not None:
            body, _ = encode_body(content=content)
        elif text is not None:
            body, ctype = text.encode("utf-8"), "text/plain; charset=utf-8"
        elif html is not None:
            body, ctype = html.encode("utf-8"), "text/html; charset=utf-8"
        elif json is not None:
            body, ctype_b = encode_body(json=json)
            ctype = ctype_b.decode() if ctype_b else None
        else:
            body = b""
        if body and "content-length" not in hs:
            hs["Content-Length"] = str(len(body))
        if ctype and "content-type" not in hs:
            hs["Content-Type"] = ctype
        codings = hs.get_list("content-encoding")
        if codings and (body or streamed is not None):
            # As httpx reads a hand-made response: its content codings undone (by the
            # engine's decoders; DecodingError now for corrupt data), headers as given.
            coding = ", ".join(codings)
            if streamed is not None:
                streamed.decoder = ContentDecoder.of(coding)
            else:
                body = decode_content(coding, body)
        self.content = body
        self._version = {v: k for k, v in _VERSIONS.items()}.get(http_version, 0)
        self._raw_headers = b""
        self._headers: Optional[Headers] = hs
        self._url = _to_url_str(url) if url else (request._url if request else "")
        self._elapsed_us = 0
        self._method = request.method if request else "GET"
        self._request = request
        self._sent = None
        self._history = list(history) if history is not None else None
        self._encoding: Optional[str] = None
        self._extensions: Dict[str, Any] = extensions if extensions is not None else {}
        self._next_request = None
        if default_encoding != "utf-8":
            self._default_encoding = default_encoding
        self._downloaded = 0  # as httpx: only bytes read from a stream count
        if streamed is not None:
            attach_body(self, streamed)

    # --- metadata ---
    @property
    def http_version(self) -> str:
        return _VERSIONS.get(self._version, "HTTP/1.1")

    @property
    def url(self) -> URL:
        url = self._url
        if url.__class__ is not URL:
            text = url.decode("utf-8", "replace") if isinstance(url, bytes) else _to_url_str(url)
            url = self._url = URL(text)
        assert isinstance(url, URL)
        return url

    @property
    def headers(self) -> Headers:
        h = self._headers
        if h is None:
            h = self._headers = Headers._from_raw(self._raw_headers)
        return h

    @property
    def elapsed(self) -> datetime.timedelta:
        """Time from submit to the last body byte (the engine's; ``total`` of the timing
        record), retries and redirects included. For a streamed response: to the head
        until the response is closed, then to the close (measured in Python from the head
        on), as httpx sets it when a streamed response is closed."""
        return datetime.timedelta(microseconds=self._elapsed_us)

    @property
    def request(self) -> Request:
        """The request that got this response: its method, URL and headers as the caller
        gave them (the last hop's method and URL after redirects)."""
        r = self._request
        if r is None:
            try:
                sent = self._sent
            except AttributeError:
                sent = None
            url = str(self.url)
            if sent is None:
                r = Request(self._method, url)
            else:
                prep, defaults = sent
                method = self._method
                body = prep[3] if method.encode("ascii") == prep[0] else b""
                r = request_from(
                    (method.encode("ascii"), _encode_url(url), prep[2], body, prep[4]), method, url, defaults
                )
            self._request = r
        return r

    @request.setter
    def request(self, value: Request) -> None:
        self._request = value
        if not self._url:
            self._url = value._url
        self._method = value.method

    @property
    def extensions(self) -> Dict[str, Any]:
        """httpx's mapping of extra information: ``"http_version"`` (``b"HTTP/1.1"``) and
        ``"reason_phrase"`` (bytes, as ``reason_phrase``), as httpx's, on a response the
        engine read. httpring's: ``"timing"``, for a response
        the engine read with ``Client(timing=True)`` (or through ``Handle.response()``): a
        dict of the phases in seconds ("queued", "pool", "dns", "connect", "tls", "send",
        "wait", "receive", which add up to "total" within a few µs, and "total", equal to
        ``elapsed``), "attempts", "reused" (the connection carried a request before),
        "remote_address" ("ip:port", "" for a Unix socket), "tls_version" ("TLSv1.3",
        or None) and "alpn" ("h2", "http/1.1", or None). For a retried or redirected
        request the phases describe the last exchange, and "queued" holds the time before
        it. Built on first access."""
        try:
            return self._extensions
        except AttributeError:
            reason = getattr(self, "_reason", None)
            if reason is None:
                reason = codes.get_reason_phrase(self.status_code).encode("ascii")
            e: Dict[str, Any] = {"http_version": self.http_version.encode("ascii"), "reason_phrase": reason}
            info = getattr(self, "_info", None)
            if info is not None:
                e["timing"] = timing_record(info)
            self._extensions = e
            return e

    @property
    def next_request(self) -> Optional[Request]:
        """For a redirect the client was asked not to follow (``follow_redirects=False``,
        the default), the Request it leads to, as httpx builds it: ``client.send(...)`` it
        to take the next hop. None otherwise (not a redirect; redirects followed; a
        response built by hand or by ``Handle.response()``). Sent to another origin, it
        carries none of the client's credentials. Built on first access; assignable."""
        try:
            return self._next_request
        except AttributeError:
            pass
        from ._redirects import next_request

        nxt = self._next_request = next_request(self)
        return nxt

    @next_request.setter
    def next_request(self, value: Optional[Request]) -> None:
        self._next_request = value

    @property
    def history(self) -> List["Response"]:
        """The redirect responses that led here, oldest first (empty if none)."""
        h = self._history
        if h is None:
            h = self._history = []
        return h

    @history.setter
    def history(self, value: List["Response"]) -> None:
        self._history = value

    @property
    def num_bytes_downloaded(self) -> int:
        """The body's bytes as received, before content decoding (httpx's): for a
        download's progress, against Content-Length. A streamed response's count grows
        as its body arrives."""
        try:
            return self._downloaded
        except AttributeError:  # not coded: what arrived is the body
            return len(self.content)

    @property
    def reason_phrase(self) -> str:
        """The server's own reason phrase when it sent another than the standard one
        (HTTP/1.x), else the standard one for the code ("" for a code with none)."""
        try:
            return self._reason.decode("ascii", errors="ignore")  # as httpx
        except AttributeError:
            return codes.get_reason_phrase(self.status_code)

    @property
    def cookies(self) -> Cookies:
        """The cookies this response set (its Set-Cookie headers; those a jar would refuse
        for its URL's host, and deletions, left out). Redirect hops' are not kept."""
        try:
            return self._cookies
        except AttributeError:
            pass
        c = Cookies()
        values = self.headers.get_list("set-cookie")
        if values:
            for cookie in parse_set_cookie(values, str(self.url)):
                c.jar.set_cookie(cookie)
        self._cookies: Cookies = c
        return c

    # --- status helpers ---
    @property
    def is_informational(self) -> bool:
        return 100 <= self.status_code < 200

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def is_redirect(self) -> bool:
        """Any 3xx status, as httpx's (304 too); ``has_redirect_location`` says whether it
        is one to follow."""
        return 300 <= self.status_code <= 399

    @property
    def has_redirect_location(self) -> bool:
        return self.status_code in REDIRECT_STATUSES and "location" in self.headers

    @property
    def is_client_error(self) -> bool:
        return 400 <= self.status_code < 500

    @property
    def is_server_error(self) -> bool:
        return 500 <= self.status_code < 600

    @property
    def is_error(self) -> bool:
        return 400 <= self.status_code < 600

    @property
    def links(self) -> Dict[Optional[str], Dict[str, str]]:
        """The ``Link`` header's links (RFC 8288), keyed by ``rel`` (else by URL), each a
        dict with ``url`` and its parameters: as httpx (``r.links["next"]["url"]`` for
        paginated APIs)."""
        value = self.headers.get("link")
        if value is None:
            return {}
        return {(link.get("rel") or link.get("url")): link for link in _parse_links(value)}

    def raise_for_status(self) -> "Response":
        """Raises HTTPStatusError unless the status is 2xx; returns the response."""
        url = self._url
        if not (str(url) if url.__class__ is URL else url):  # built by hand, with no request
            raise RuntimeError(
                "Cannot call `raise_for_status` as the request instance has not been set on this response."
            )
        code = self.status_code
        if 200 <= code < 300:
            return self
        kind = {1: "Informational response", 3: "Redirect response", 4: "Client error", 5: "Server error"}.get(
            code // 100, "Invalid status code"
        )
        message = f"{kind} '{code} {self.reason_phrase}' for url '{self.url}'"
        if self.has_redirect_location:
            message += f"\nRedirect location: '{self.headers['location']}'"
        message += f"\nFor more information check: https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/{code}"
        raise HTTPStatusError(message, request=self.request, response=self)

    # --- body ---
    @property
    def charset_encoding(self) -> Optional[str]:
        """The charset Content-Type names, lower-cased, as httpx gives it (whether or not
        Python has a codec of that name: ``encoding`` says which is used)."""
        ctype = self.headers.get("content-type")
        if not ctype:
            return None
        for param in ctype.split(";")[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "charset":
                return value.strip().strip("'\"").lower() or None
        return None

    @property
    def default_encoding(self) -> Union[str, Callable[[bytes], Optional[str]]]:
        """The encoding ``text`` uses when Content-Type names no charset (or an unknown
        one): a codec name, or a function of the body returning one (charset detection,
        e.g. ``lambda b: chardet.detect(b)["encoding"]``), as httpx's. From the client's
        ``default_encoding``; utf-8 unless set."""
        try:
            return self._default_encoding
        except AttributeError:  # unset on most responses: no cost for the default
            return "utf-8"

    @default_encoding.setter
    def default_encoding(self, value: Union[str, Callable[[bytes], Optional[str]]]) -> None:
        self._default_encoding = value

    @property
    def encoding(self) -> str:
        """The charset from Content-Type if it names a text codec, else the
        ``default_encoding`` (utf-8 unless the client or constructor set another; a
        function of the body is called once the body is read). Assignable, as in httpx."""
        if self._encoding is None:
            encoding = self.charset_encoding
            if encoding is not None and _text_codec(encoding) is None:
                encoding = None  # not a text codec Python has: the default, as httpx
            if encoding is None:
                default = self.default_encoding
                if isinstance(default, str):
                    encoding = default
                elif not self._unread():
                    encoding = default(self.content)
            self._encoding = encoding or "utf-8"
        return self._encoding

    @encoding.setter
    def encoding(self, value: str) -> None:
        self._encoding = value

    def _unread(self) -> bool:
        """The body was not read into ``content`` (only a streamed response's can be)."""
        return False

    @property
    def text(self) -> str:
        encoding = self.encoding
        try:
            return self.content.decode(encoding, errors="replace")
        except UnicodeError:
            if encoding != self.charset_encoding:
                raise  # assigned by the caller: theirs to fix
            # The server's charset failed even with errors="replace" (_text_codec let it by).
            return self.content.decode("utf-8", errors="replace")

    def json(self, **kwargs: Any) -> Any:
        return _json.loads(self.content, **kwargs)

    # --- the body as httpx streams it. Here the body is in memory already; a streamed
    # response (``_StreamedResponse``) reads it as it arrives. ---
    @property
    def is_stream_consumed(self) -> bool:
        """Whether the body was iterated (or read): always, for a response that was not
        streamed, as in httpx."""
        return True

    @property
    def is_closed(self) -> bool:
        """Whether the response is closed (its engine handle freed): always, for a response
        that was not streamed (the handle was freed when it was built)."""
        return True

    def read(self) -> bytes:
        """The body (``content``)."""
        return self.content

    async def aread(self) -> bytes:
        return self.content

    def iter_raw(self, chunk_size: Optional[int] = None) -> Iterator[bytes]:
        """The body of a streamed response as received; for the others, StreamConsumed (the
        body was read), as httpx raises."""
        raise StreamConsumed()
        yield b""  # pragma: no cover - a generator, as the streamed one

    def iter_bytes(self, chunk_size: Optional[int] = None) -> Iterator[bytes]:
        """The body, whole or in ``chunk_size``-byte chunks."""
        body = self.content
        if not chunk_size:
            if body:
                yield body
            return
        for i in range(0, len(body), chunk_size):
            yield body[i : i + chunk_size]

    def iter_text(self, chunk_size: Optional[int] = None) -> Iterator[str]:
        """``text``, whole or in ``chunk_size``-character chunks."""
        yield from rechunk_text((self.text,), chunk_size)

    def iter_lines(self) -> Iterator[str]:
        """``text.splitlines()``."""
        yield from self.text.splitlines()

    async def aiter_raw(self, chunk_size: Optional[int] = None) -> AsyncIterator[bytes]:
        raise StreamConsumed()
        yield b""  # pragma: no cover - an async generator, as the streamed one

    async def aiter_bytes(self, chunk_size: Optional[int] = None) -> AsyncIterator[bytes]:
        for chunk in self.iter_bytes(chunk_size):
            yield chunk

    async def aiter_text(self, chunk_size: Optional[int] = None) -> AsyncIterator[str]:
        for text in self.iter_text(chunk_size):
            yield text

    async def aiter_lines(self) -> AsyncIterator[str]:
        for line in self.iter_lines():
            yield line

    def close(self) -> None:
        """Nothing to release: the engine handle was freed when the response was built."""

    async def aclose(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"<Response [{self.status_code} {self.reason_phrase}]>"


class _StreamedResponse(Response):
    """A streamed response (``client.stream(...)``, ``send(..., stream=True)``): a Response
    whose body is read as it arrives, through ``_stream`` (which owns the engine handle).
    ``content`` is unset until ``read()``/``aread()`` sets it, and reading it before raises
    ResponseNotRead. A subclass (``attach_body`` swaps the class of the Response built
    from the head; no slot of its own), so that the hook this takes costs the responses
    that are not streamed nothing: a class with ``__getattr__`` makes every attribute read
    on its instances slower."""

    __slots__ = ()

    if not TYPE_CHECKING:  # hidden from type checkers: no attribute is unknown to them

        def __getattr__(self, name: str) -> Any:
            # Called only for a slot never set.
            if name == "content":
                raise ResponseNotRead()
            raise AttributeError(f"'Response' object has no attribute '{name}'")

    def _unread(self) -> bool:
        """The body was not read into ``content`` (a flag: testing the slot raises)."""
        return not self._stream.content_read

    @property
    def is_stream_consumed(self) -> bool:
        """Whether the body was iterated (or read): it can be iterated once."""
        return self._stream.consumed

    @property
    def num_bytes_downloaded(self) -> int:
        """The body's bytes received so far, before content decoding (the engine reads
        ahead of the caller, up to its stream buffer)."""
        return self._stream.received()

    @property
    def is_closed(self) -> bool:
        """Whether the response is closed: closed (``close()``, leaving
        ``client.stream(...)``) or read to its end."""
        return self._stream.closed

    def _start(self, asynchronous: bool) -> Any:
        """The body, for its one iteration."""
        body = self._stream
        if body.is_async != asynchronous:
            raise RuntimeError(
                "Attempted to call an async iterator on a sync stream." if asynchronous
                else "Attempted to call a sync iterator on an async stream."
            )
        if body.consumed:
            raise StreamConsumed()
        if body.closed:
            raise StreamClosed()
        body.consumed = True
        return body

    def read(self) -> bytes:
        """Reads the rest of the body and keeps it as ``content``."""
        if self._unread():
            self.content = b"".join(self.iter_bytes())
            self._stream.content_read = True
        return self.content

    async def aread(self) -> bytes:
        """``read()`` for an AsyncClient's streamed response."""
        if self._unread():
            self.content = b"".join([chunk async for chunk in self.aiter_bytes()])
            self._stream.content_read = True
        return self.content

    def iter_raw(self, chunk_size: Optional[int] = None) -> Iterator[bytes]:
        """The body as it arrives (or in ``chunk_size``-byte chunks), then closes the
        response. The engine decodes content codings as the body arrives, so these are the
        decoded bytes ``iter_bytes`` gives too (httpx: the bytes as received). Raises
        StreamConsumed on a second iteration."""
        body = cast("SyncBody", self._start(False))
        pieces = body.pieces()
        yield from (rechunk(pieces, chunk_size) if chunk_size else pieces)
        self.close()

    def iter_bytes(self, chunk_size: Optional[int] = None) -> Iterator[bytes]:
        """The (decoded) body as it arrives, or in ``chunk_size``-byte chunks. (A plain
        function returning the generator, not a generator of its own: one layer less for
        every piece.)"""
        return (self.iter_raw if self._unread() else super().iter_bytes)(chunk_size)

    def _text_decoder(self) -> TextDecoder:
        encoding = self.encoding
        return TextDecoder(encoding, encoding == self.charset_encoding)

    def iter_text(self, chunk_size: Optional[int] = None) -> Iterator[str]:
        """The body decoded as ``text`` decodes it, as it arrives, or in
        ``chunk_size``-character chunks."""
        if self._unread():
            yield from rechunk_text(decode_text(self.iter_bytes(), self._text_decoder()), chunk_size)
        else:
            yield from super().iter_text(chunk_size)

    def iter_lines(self) -> Iterator[str]:
        """The body's lines (as ``text.splitlines()`` gives them), each as soon as its end
        arrived."""
        if not self._unread():
            yield from super().iter_lines()
            return
        lines = LineDecoder()
        for text in self.iter_text():
            yield from lines.decode(text)
        yield from lines.flush()

    def aiter_raw(self, chunk_size: Optional[int] = None) -> AsyncIterator[bytes]:
        """``iter_raw`` for an AsyncClient's streamed response. (Without ``chunk_size``, the
        body's own iterator, which closes the response after the last piece.)"""
        body = self._stream
        if chunk_size or body.__class__ is not AsyncBody:
            return self._aiter_raw(chunk_size)
        return AsyncPieces(body, self)

    async def _aiter_raw(self, chunk_size: Optional[int]) -> AsyncIterator[bytes]:
        body = cast("AsyncBody", self._start(True))
        pieces = body.apieces()
        async for chunk in (arechunk(pieces, chunk_size) if chunk_size else pieces):
            yield chunk
        await self.aclose()

    def aiter_bytes(self, chunk_size: Optional[int] = None) -> AsyncIterator[bytes]:
        """``iter_bytes`` for an AsyncClient's streamed response (the same plain function)."""
        body = self._stream
        if chunk_size is None and body.__class__ is AsyncBody and not body.content_read:
            return AsyncPieces(body, self)  # aiter_raw(), without the calls on the way
        return (self.aiter_raw if self._unread() else super().aiter_bytes)(chunk_size)

    async def aiter_text(self, chunk_size: Optional[int] = None) -> AsyncIterator[str]:
        """``iter_text`` for an AsyncClient's streamed response."""
        if self._unread():
            texts = arechunk_text(adecode_text(self.aiter_bytes(), self._text_decoder()), chunk_size)
        else:
            texts = super().aiter_text(chunk_size)
        async for text in texts:
            yield text

    async def aiter_lines(self) -> AsyncIterator[str]:
        """``iter_lines`` for an AsyncClient's streamed response."""
        if not self._unread():
            async for line in super().aiter_lines():
                yield line
            return
        lines = LineDecoder()
        async for text in self.aiter_text():
            for line in lines.decode(text):
                yield line
        for line in lines.flush():
            yield line

    def close(self) -> None:
        """Closes the response: frees its engine handle, which stops a body still arriving
        and closes its connection (over HTTP/2: resets its stream). A body read to its end
        has returned its connection to the pool already. Leaving ``client.stream(...)``
        does it."""
        body = self._stream
        if body.is_async:
            raise RuntimeError("Attempted to call a sync close on an async stream.")
        self._elapsed_us += body.close()

    async def aclose(self) -> None:
        """``close()`` for an AsyncClient's streamed response."""
        body = self._stream
        if not body.is_async:
            raise RuntimeError("Attempted to call an async close on a sync stream.")
        self._elapsed_us += body.close()


def attach_body(r: Response, body: "Union[Body, IterBody]") -> None:
    """Makes ``r`` (built from a streamed request's head, with an empty body) a streamed
    response: ``content`` unset until read, the body read through ``body``."""
    del r.content
    r._stream = body
    r.__class__ = _StreamedResponse


def new_response(
    status: int,
    content: bytes,
    version: int,
    raw_headers: bytes,
    url: bytes,
    elapsed_us: int,
    method: str,
) -> Response:
    """The engine's fast constructor: no parsing, no validation. (``Engine.read_many``
    has it inlined: a change here goes there too.)"""
    r = Response.__new__(Response)
    r.status_code = status
    r.content = content
    r._version = version
    r._raw_headers = raw_headers
    r._headers = None
    r._url = url
    r._elapsed_us = elapsed_us
    r._method = method
    r._request = None
    r._history = None
    r._encoding = None
    return r
