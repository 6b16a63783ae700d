"""``files=`` (with ``data=``) as in httpx, translated for the engine's multipart builder
(``httpring_multipart_*``): the engine chooses the boundary, encodes the body and sets
``Content-Type: multipart/form-data; boundary=...`` and the length. Here the httpx forms are
read into parts (names, bytes, file names, content types).

A request that Python code gets to see (``httpring.Request(..., files=...)``,
``build_request``, what event hooks and transports receive, ``Response.request``) holds the
form as the engine encoded it (``Form.encode`` through ``httpring_multipart_encoded``, with a
boundary of its own), so its ``content`` and ``Content-Type`` are what httpx would show."""

from __future__ import annotations

import ctypes
import io
import mimetypes
from pathlib import Path
from typing import Any, List, Mapping, Optional, Tuple

from . import _ffi
from ._exceptions import LocalProtocolError

#: One part: name, bytes, file name (None: none sent), content type (None: none for a
#: field, the engine's application/octet-stream for a file part).
Part = Tuple[bytes, bytes, Optional[bytes], Optional[bytes], bool]


class Form(bytes):
    """A multipart body waiting for the engine, carried where a request's body goes. Its
    own bytes are empty: the engine encodes the parts when the request is built, so a
    request holding a Form goes through ``httpring_request_new`` (``Engine.submit_request``),
    never the fast calls that take a body as bytes."""

    parts: List[Part]
    _encoded: Optional[Tuple[bytes, bytes]]

    def __new__(cls, parts: List[Part]) -> "Form":
        form = super().__new__(cls, b"")
        form.parts = parts
        form._encoded = None
        return form

    def encode(self) -> Tuple[bytes, bytes]:
        """(body, Content-Type value) as the engine encodes them
        (``httpring_multipart_encoded``), with a boundary of this form's own. Computed once
        per form."""
        if self._encoded is None:
            lib = _ffi.load()
            form = self._build(lib)
            try:
                body, blen = ctypes.c_void_p(), ctypes.c_size_t()
                ctype, clen = ctypes.c_void_p(), ctypes.c_size_t()
                code = lib.httpring_multipart_encoded(
                    form, ctypes.byref(body), ctypes.byref(blen), ctypes.byref(ctype), ctypes.byref(clen)
                )
                if code:
                    raise LocalProtocolError(f"the form could not be encoded (code {code})", code=int(code))
                self._encoded = (
                    ctypes.string_at(body.value or 0, blen.value) if blen.value else b"",
                    ctypes.string_at(ctype.value or 0, clen.value),
                )
            finally:
                lib.httpring_multipart_free(form)
        return self._encoded

    def _build(self, lib: Any) -> Any:
        """The engine's form with these parts (the caller frees it)."""
        form = lib.httpring_multipart_new()
        if not form:
            raise MemoryError("httpring_multipart_new failed")
        for name, data, filename, ctype, is_field in self.parts:
            if is_field:
                code = lib.httpring_multipart_add_field(form, name, data, len(data))
            else:
                code = lib.httpring_multipart_add_bytes(form, name, data, len(data), filename, ctype)
            if code:
                lib.httpring_multipart_free(form)
                raise LocalProtocolError(f"invalid form part {name!r} (code {code})", code=int(code))
        return form

    def attach(self, lib: Any, req: Any) -> int:
        """Builds the engine's form and sets it on ``req``; returns the first failing code."""
        try:
            form = self._build(lib)
        except LocalProtocolError as e:
            return int(e.code or _ffi.HTTPRING_ERR_INVALID_ARGUMENT)
        try:
            return int(lib.httpring_request_set_multipart(req, form))
        finally:
            lib.httpring_multipart_free(form)

    def __repr__(self) -> str:
        return f"<multipart form: {len(self.parts)} parts>"

    def __reduce__(self) -> Any:  # not pickled as an empty bytes
        return (Form, (self.parts,))


def with_encoded_form(pairs: Any, form: Form) -> Tuple[Any, bytes]:
    """A request's header pairs and body with ``form`` encoded in Python: its
    Content-Type replaces one given (as the engine's builder does)."""
    body, ctype = form.encode()
    kept = tuple(p for p in pairs or () if p[0].lower() != b"content-type")
    return kept + ((b"content-type", ctype),), body


def encode_multipart(data: Any, files: Any) -> Form:
    """httpx's ``data=`` (a mapping; a list value gives one field per item) and ``files=``
    (a mapping or a list of (name, file) pairs) as parts, data fields first."""
    parts: List[Part] = []
    if data:
        if not isinstance(data, Mapping):
            raise TypeError(
                f"data= with files= must be a mapping of field names to values, not {type(data).__name__}"
            )
        for name, value in data.items():
            values = value if isinstance(value, (list, tuple)) else [value]
            for v in values:
                parts.append((_c_text(name, "a form field name"), _field_value(v), None, None, True))
    items = files.items() if isinstance(files, Mapping) else files
    for item in items:
        try:
            name, value = item
        except (TypeError, ValueError):
            raise TypeError(f"files= items are (name, file) pairs, got {item!r}") from None
        parts.append(_file_part(name, value))
    return Form(parts)


def _c_text(value: Any, what: str) -> bytes:
    """A str the engine takes as a NUL-terminated UTF-8 string."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str, not {type(value).__name__}: {value!r}")
    b = value.encode("utf-8")
    if b"\0" in b:  # it would cut the C string short
        raise ValueError(f"{what} must not contain NUL: {value!r}")
    return b


def _field_value(value: Any) -> bytes:
    if value is None:
        return b""
    if value is True:
        return b"true"
    if value is False:
        return b"false"
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, (int, float)):
        return str(value).encode("ascii")
    raise TypeError(f"Invalid type for value. Expected primitive type, got {type(value)}: {value!r}")


def _file_part(name: Any, value: Any) -> Part:
    headers: Mapping[str, str] = {}
    ctype: Optional[str] = None
    if isinstance(value, tuple):
        if len(value) == 2:
            filename, content = value
        elif len(value) == 3:
            filename, content, ctype = value
        elif len(value) == 4:
            filename, content, ctype, headers = value
        else:
            raise TypeError(
                "a files= tuple is (filename, content), (filename, content, content_type) or "
                f"(filename, content, content_type, headers); got {len(value)} items"
            )
    else:
        filename = Path(str(getattr(value, "name", "upload"))).name
        content = value
    if ctype is None and filename:
        ctype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    for key, header_value in headers.items():
        if key.lower() != "content-type":
            raise NotImplementedError(
                f"a part's header {key!r}: the engine's multipart builder sends a part's name, "
                "file name and Content-Type only"
            )
        ctype = header_value  # as httpx: the header wins over the third item
    what = f"files[{name!r}]"
    if isinstance(ctype, str) and (not ctype or any(ord(c) < 0x20 or c == "\x7f" for c in ctype)):
        # As the engine's builder refuses it (the part's head would break).
        raise LocalProtocolError(
            f"{what}: a part's content type may not be empty or hold CR, LF or control bytes: {ctype!r}",
            code=_ffi.HTTPRING_ERR_INVALID_HEADER,
        )
    return (
        _c_text(name, "a form field name"),
        _read(content),
        _c_text(filename, f"{what} filename") if filename else None,
        _c_text(ctype, f"{what} content type") if ctype is not None else None,
        False,
    )


def _read(content: Any) -> bytes:
    """A file's bytes: bytes, str (UTF-8), or a binary file object read from the start."""
    if isinstance(content, (bytes, bytearray, memoryview)):
        return bytes(content)
    if isinstance(content, str):
        return content.encode("utf-8")
    if isinstance(content, io.StringIO):
        raise TypeError("Multipart file uploads require 'io.BytesIO', not 'io.StringIO'.")
    if isinstance(content, io.TextIOBase):
        raise TypeError("Multipart file uploads must be opened in binary mode, not text mode.")
    if not hasattr(content, "read"):
        raise TypeError(f"a file to upload is bytes, str or a binary file object, not {type(content).__name__}")
    if hasattr(content, "seek"):
        try:
            content.seek(0)
        except (io.UnsupportedOperation, OSError):
            pass
    data = content.read()
    if isinstance(data, str):
        return data.encode("utf-8")
    return bytes(data)
