"""The ctypes declarations in httpring._ffi must match include/httpring.h exactly: every
function (name, return type, argument count and types), every struct field, every enum
value. The header is generated from the Rust sources, so this is what stops drift."""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
from ctypes import POINTER, c_bool, c_char, c_char_p, c_int, c_int64, c_size_t, c_uint16
from ctypes import c_uint32, c_uint64, c_void_p

import pytest

from httpring import _ffi

REPO = os.path.join(os.path.dirname(__file__), "..", "..", "..")
HEADER = os.environ.get("HTTPRING_HEADER") or os.path.join(REPO, "include", "httpring.h")
RUST_FFI = os.path.join(REPO, "src", "ffi")

pytestmark = pytest.mark.skipif(
    not os.path.exists(HEADER), reason="include/httpring.h not found (not run from the repo)"
)

# C type (normalised: no `struct`, single spaces, `*` attached) -> the ctypes type _ffi uses.
ARG_TYPES = {
    "httpring_client *": _ffi.client_p,
    "const httpring_client *": _ffi.client_p,
    "httpring_config *": _ffi.config_p,
    "const httpring_config *": _ffi.config_p,
    "httpring_request *": _ffi.request_p,
    "httpring_multipart *": _ffi.multipart_p,
    "const httpring_multipart *": _ffi.multipart_p,
    "httpring_decoder *": _ffi.decoder_p,
    "httpring_decoder **": POINTER(_ffi.decoder_p),
    "httpring_code": c_uint32,
    "httpring_handle": c_uint64,
    "httpring_handle *": POINTER(c_uint64),
    "const httpring_handle *": POINTER(c_uint64),
    "httpring_state *": POINTER(c_uint32),
    "httpring_completion *": POINTER(_ffi.httpring_completion),
    "const httpring_header *": POINTER(_ffi.httpring_header),
    "httpring_response *": POINTER(_ffi.httpring_response),
    "httpring_result *": POINTER(_ffi.httpring_result),
    "httpring_piece *": POINTER(_ffi.httpring_piece),
    "httpring_stats *": POINTER(_ffi.httpring_stats),
    "httpring_info *": POINTER(_ffi.httpring_info),
    "httpring_chunk *": POINTER(_ffi.httpring_chunk),
    "const uint16_t *": POINTER(c_uint16),
    "char[48]": c_char * 48,
    "char[16]": c_char * 16,
    "const httpring_request_spec *": POINTER(_ffi.httpring_request_spec),
    "httpring_code *": POINTER(c_uint32),
    "httpring_completion_cb": _ffi.httpring_completion_cb,
    "httpring_body_cb": _ffi.httpring_body_cb,
    "const char *": c_char_p,
    "char *": POINTER(c_char),
    "const uint8_t *": c_char_p,
    "const uint8_t **": POINTER(c_void_p),
    "uint8_t *": c_void_p,
    "httpring_event": c_uint32,
    "void *": c_void_p,
    "size_t": c_size_t,
    "size_t *": POINTER(c_size_t),
    "uint64_t": c_uint64,
    "uint64_t *": POINTER(c_uint64),
    "int64_t": c_int64,
    "uint32_t": c_uint32,
    "uint32_t *": POINTER(c_uint32),
    "uint16_t": c_uint16,
    "uint16_t *": POINTER(c_uint16),
    "int": c_int,
    "bool": c_bool,
    "void": None,
}

# Struct fields: same table, except borrowed output pointers are read as addresses.
FIELD_OVERRIDES = {
    ("httpring_response", "body"): c_void_p,
    ("httpring_response", "url"): c_void_p,
    ("httpring_response", "version"): c_uint32,
    ("httpring_result", "body"): c_void_p,
    ("httpring_result", "url"): c_void_p,
    ("httpring_result", "version"): c_uint32,
    ("httpring_result", "headers"): c_void_p,
    ("httpring_result", "reason"): c_void_p,
    ("httpring_result", "body_pieces"): c_void_p,
    ("httpring_piece", "data"): c_void_p,
    ("httpring_chunk", "data"): c_void_p,
}


def _header_text() -> str:
    with open(HEADER, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return re.sub(r"^\s*#[^\n]*", " ", text, flags=re.M)


def _norm(ctype: str) -> str:
    t = re.sub(r"\bstruct\s+", "", ctype)
    t = re.sub(r"\s*\*\s*", "*", t.strip())
    t = re.sub(r"\s+", " ", t)
    t = re.sub(r"([^\s*])\*", r"\1 *", t, count=1)
    return t


def _split_decl(decl: str):
    """'const char *name' -> ('const char *', 'name'); 'char name[48]' -> ('char[48]', 'name')."""
    arr = re.match(r"^(.*?)(\w+)\s*\[(\d+)\]\s*$", decl.strip(), re.S)
    if arr:
        return f"{_norm(arr.group(1))}[{arr.group(3)}]", arr.group(2)
    m = re.match(r"^(.*?)(\w+)\s*$", decl.strip(), re.S)
    assert m, decl
    return _norm(m.group(1)), m.group(2)


def parse_functions():
    text = _header_text()
    body = text.split('extern "C" {', 1)[1]
    funcs = {}
    for m in re.finditer(r"([^;{}()#]+?)\b(httpring_\w+)\s*\(([^)]*)\)\s*;", body, re.S):
        ret = _norm(m.group(1))
        params = m.group(3).strip()
        args = [] if params in ("", "void") else [_split_decl(p)[0] for p in params.split(",")]
        funcs[m.group(2)] = (ret, args)
    return funcs


def parse_structs():
    text = _header_text()
    structs = {}
    for m in re.finditer(r"typedef struct (httpring_\w+) \{(.*?)\}", text, re.S):
        fields = [_split_decl(f) for f in m.group(2).split(";") if f.strip()]
        structs[m.group(1)] = [(name, ctype) for ctype, name in fields]
    return structs


def parse_enums():
    text = _header_text()
    values = {}
    for m in re.finditer(r"\b(HTTPRING_[A-Z0-9_]+)\s*=\s*(\d+)", text):
        values[m.group(1)] = int(m.group(2))
    return values


def test_header_parses():
    funcs = parse_functions()
    assert len(funcs) >= 45
    assert funcs["httpring_client_send"][1][0] == "const httpring_client *"


def test_every_header_function_is_declared_and_nothing_else():
    funcs = parse_functions()
    assert sorted(funcs) == sorted(_ffi.SIGNATURES)


@pytest.mark.parametrize("name", sorted(parse_functions()) if os.path.exists(HEADER) else [])
def test_function_signature(name):
    ret, args = parse_functions()[name]
    restype, argtypes = _ffi.SIGNATURES[name]
    assert ret in ARG_TYPES, f"{name}: add return type {ret!r} to the table"
    assert restype is ARG_TYPES[ret], f"{name}: returns {ret}"
    assert len(argtypes) == len(args), f"{name}: {len(args)} arguments in the header"
    for i, (c, py) in enumerate(zip(args, argtypes)):
        assert c in ARG_TYPES, f"{name} arg {i}: add {c!r} to the table"
        assert py is ARG_TYPES[c], f"{name} arg {i}: header says {c}, _ffi has {py}"


def test_structs_match():
    structs = parse_structs()
    assert sorted(structs) == sorted(cls.__name__ for cls in _ffi.STRUCTS)
    for sname, fields in structs.items():
        cls = getattr(_ffi, sname)
        assert [f[0] for f in cls._fields_] == [f[0] for f in fields], sname
        for (fname, ctype), (_, pytype) in zip(fields, cls._fields_):
            want = FIELD_OVERRIDES.get((sname, fname), ARG_TYPES.get(ctype))
            assert pytype is want, f"{sname}.{fname}: header {ctype}, _ffi {pytype}"


def parse_rust_enums():
    """`HTTPRING_X = N` in src/ffi/*.rs: enums cbindgen leaves out of the header because no
    signature names them (the setters take a plain uint32_t)."""
    values = {}
    if os.path.isdir(RUST_FFI):
        for name in sorted(os.listdir(RUST_FFI)):
            if name.endswith(".rs"):
                with open(os.path.join(RUST_FFI, name), encoding="utf-8") as f:
                    for m in re.finditer(r"^\s*(HTTPRING_[A-Z0-9_]+)\s*=\s*(\d+)\s*,", f.read(), re.M):
                        values[m.group(1)] = int(m.group(2))
    return values


def test_enum_values_match():
    values = parse_enums()
    assert len(values) >= 30
    for name, value in values.items():
        assert getattr(_ffi, name) == value, name
    declared = {n for n in dir(_ffi) if re.match(r"HTTPRING_[A-Z0-9_]+$", n)}
    missing_from_header = declared - set(values) - set(parse_defines())
    if missing_from_header:
        rust = parse_rust_enums()
        for name in sorted(missing_from_header):
            assert name in rust, f"_ffi.{name} is in neither the header nor src/ffi"
            assert getattr(_ffi, name) == rust[name], name
    assert set(values) <= declared


def parse_code_enum():
    """The `enum httpring_code` block of the header, in order: [(name, value)]."""
    text = _header_text()
    m = re.search(r"enum httpring_code\b[^{]*\{(.*?)\}", text, re.S)
    assert m, "enum httpring_code not found"
    return [(n, int(v)) for n, v in re.findall(r"\b(HTTPRING_[A-Z0-9_]+)\s*=\s*(\d+)", m.group(1))]


def test_code_enum_matches_constants_and_library():
    """Every httpring_code of the header is an _ffi constant of the same value; the codes
    are 0..N without gaps; the library names each one as the header does, and nothing past
    them (so the header and the library the tests run on agree)."""
    codes = parse_code_enum()
    assert [v for _, v in codes] == list(range(len(codes)))
    assert codes[0] == ("HTTPRING_OK", 0)
    for name, value in codes:
        assert getattr(_ffi, name, None) == value, name
        assert _ffi.error_name(value) == name
    assert _ffi.error_name(len(codes)) == "HTTPRING_UNKNOWN"
    declared = {n for n in dir(_ffi) if re.match(r"HTTPRING_(OK|PENDING|ERR_[A-Z0-9_]+)$", n)}
    assert declared == {n for n, _ in codes}


def test_callback_typedef_matches():
    text = _header_text()
    m = re.search(r"typedef void \(\*httpring_completion_cb\)\(([^)]*)\);", text)
    assert m
    args = [_split_decl(p)[0] for p in m.group(1).split(",")]
    assert args == ["void *", "const httpring_completion *"]
    cb = _ffi.httpring_completion_cb
    assert cb._restype_ is None
    assert cb._argtypes_ == (c_void_p, POINTER(_ffi.httpring_completion))


def test_library_exports_every_declared_function():
    lib = _ffi.load()
    for name in _ffi.SIGNATURES:
        fn = getattr(lib, name)
        assert fn.argtypes == _ffi.SIGNATURES[name][1]


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler to measure the layout")
def test_struct_layout_matches_c(tmp_path):
    structs = parse_structs()
    lines = ['#include <stdio.h>', '#include <stddef.h>', '#include "httpring.h"', "int main(void) {"]
    for sname, fields in structs.items():
        lines.append(f'printf("{sname} %zu\\n", sizeof(struct {sname}));')
        for fname, _ in fields:
            lines.append(f'printf("{sname}.{fname} %zu\\n", offsetof(struct {sname}, {fname}));')
    lines.append("return 0; }")
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines))
    exe = tmp_path / "layout"
    subprocess.run(
        ["cc", "-I", os.path.dirname(HEADER), "-o", str(exe), str(src)], check=True
    )
    out = dict(
        line.rsplit(" ", 1) for line in subprocess.run(
            [str(exe)], check=True, capture_output=True, text=True
        ).stdout.splitlines()
    )
    for sname, fields in structs.items():
        cls = getattr(_ffi, sname)
        assert int(out[sname]) == ctypes.sizeof(cls), sname
        for fname, _ in fields:
            assert int(out[f"{sname}.{fname}"]) == getattr(cls, fname).offset, f"{sname}.{fname}"


def parse_defines():
    """The header's numeric `#define HTTPRING_X value` lines (versions, feature bits)."""
    with open(HEADER, encoding="utf-8") as f:
        text = f.read()
    return {
        m.group(1): int(m.group(2), 0)
        for m in re.finditer(r"^#define (HTTPRING_\w+) (0x[0-9a-fA-F]+|\d+)\s*$", text, re.M)
    }


def test_version_and_feature_defines_match():
    """#define HTTPRING_VERSION_* / HTTPRING_FEATURE_* of the header, in _ffi and in the
    loaded library (httpring_version_num, httpring_features)."""
    defines = parse_defines()
    assert {"HTTPRING_VERSION_NUM", "HTTPRING_FEATURE_TLS", "HTTPRING_FEATURE_HTTP2"} <= set(defines)
    for name, value in defines.items():
        assert getattr(_ffi, name) == value, name
    lib = _ffi.load()
    assert lib.httpring_version_num() == _ffi.HTTPRING_VERSION_NUM
    features = lib.httpring_features()
    assert features & _ffi.HTTPRING_FEATURE_TLS and features & _ffi.HTTPRING_FEATURE_HTTP2


def test_struct_helpers_set_struct_size():
    for cls in _ffi.STRUCTS:
        if cls in (_ffi.httpring_header, _ffi.httpring_piece):
            assert "struct_size" not in dict(cls._fields_)  # frozen: never grows
            continue
        assert cls._fields_[0] == ("struct_size", c_uint32)
        assert _ffi.new(cls).struct_size == ctypes.sizeof(cls)
        arr = _ffi.new_array(cls, 3)
        assert arr[0].struct_size == ctypes.sizeof(cls) and arr[1].struct_size == 0
