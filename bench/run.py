#!/usr/bin/env python3
"""httpring benchmark runner (stdlib only): `make bench` / `make bench-quick`.

Starts nginx (one worker, pinned to the first core) and the project's test server, pins
every client to the second core, runs each scenario for each client several times, and
writes results.md (a table per scenario), latency.svg and raw.json.

    python3 bench/run.py [--quick] [--reps N] [--only SCENARIO,...] [--clients NAME,...]
                         [--install | --no-install] [--out DIR] [--lib-dir DIR]

Scenarios and clients are data (SCENARIOS and PEERS below): add one by adding an entry.
Every client is a program that prints a line of key=value pairs (bench/c/*.c,
bench/python/*.py, wrk with bench/wrk/report.lua) or whose output a parser reads (h2load,
oha). The process's CPU time and peak RSS come from wait4(2) on the client (the same numbers
/usr/bin/time prints); drivers that time only their measured part report their own CPU.

Exit status: non-zero only when an httpring client fails (a peer that is missing, cannot
be installed or fails is reported and skipped).
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import html
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PY = sys.executable

# ------------------------------------------------------------------------------------
# Scenarios
# ------------------------------------------------------------------------------------


@dataclass
class Scenario:
    id: str
    title: str
    mode: str  # the drivers' mode argument
    server: str  # nginx | nginx-tls | testserver | nginx-many
    path: str
    inflight: int
    requests: Dict[str, int]  # per profile (full, quick), before a client's scale
    duration: Dict[str, float]  # for time-based tools (wrk)
    metric: str  # headline key
    metric_label: str
    better: str  # higher | lower
    columns: List[tuple]  # extra (key, label, format) columns, medians
    fixed_count: bool = False  # every client does the same work (no per-client scale)
    timeout: Dict[str, float] = field(default_factory=lambda: {"full": 120, "quick": 30})
    httpring_may_be_unsupported: bool = False
    note: str = ""
    env: Dict[str, str] = field(default_factory=dict)  # added to every client's environment
    body_bytes: int = 0  # when set, a client whose bodies are not this size (not decoded) fails
    baseline: str = ""  # a scenario id: the table also shows each client's metric there and the ratio to it
    baseline_label: str = ""  # what the baseline is called in those columns
    clients: Sequence[str] = ()  # when set, only these clients run it


SCENARIOS: List[Scenario] = [
    Scenario(
        "throughput", "1. Throughput: keep-alive HTTP/1.1, 64 in flight, 13-byte responses",
        "throughput", "nginx", "/hello", 64,
        {"full": 200_000, "quick": 20_000}, {"full": 4, "quick": 1},
        "req_per_s", "req/s", "higher",
        [("cpu_us_per_req", "CPU µs/req", "{:.1f}"), ("completions_per_wakeup", "compl./wake-up", "{:.0f}"),
         ("conns", "conns", "{:.0f}")],
        note="nginx `return 200 \"Hello, world!\"`. The pool is warmed first (one round of 64) "
             "except for wrk (time-based) and h2load/oha (connection setup included, negligible at this count).",
    ),
    Scenario(
        "throughput-capped", "1b. Throughput under connection caps: 1 with 64 per origin and 64 in all",
        "throughput", "nginx", "/hello", 64,
        {"full": 200_000, "quick": 20_000}, {"full": 4, "quick": 1},
        "req_per_s", "req/s", "higher",
        [("cpu_us_per_req", "CPU µs/req", "{:.1f}"), ("conns", "conns", "{:.0f}")],
        env={"HTTPRING_BENCH_MAX_CONNS_PER_HOST": "64", "HTTPRING_BENCH_MAX_CONNS": "64"},
        baseline="throughput", baseline_label="uncapped (1)", clients=("httpring-c", "httpring-py-async"),
        note="Scenario 1 with both connection caps of issue 19 at the number in flight "
             "(httpring_config_set_max_connections_per_host and _max_connections; Python "
             "`Limits(max_connections=64, max_connections_per_host=64)`): what the limiter costs when it "
             "never has to queue. `× uncapped` is the client's req/s here over its own in scenario 1, "
             "the two alternating repetition by repetition (target: ≥ 0.97× for the C driver). "
             "Python's scenario 1 already runs under its default total cap of 100.",
    ),
    Scenario(
        "latency", "2. Latency: one connection, sequential requests",
        "latency", "nginx", "/hello", 1,
        {"full": 20_000, "quick": 2_000}, {"full": 4, "quick": 1},
        "p50_us", "p50 µs", "lower",
        [("p95_us", "p95 µs", "{:.0f}"), ("p99_us", "p99 µs", "{:.0f}"), ("max_us", "max µs", "{:.0f}"),
         ("cpu_us_per_req", "CPU µs/req", "{:.1f}")],
        note="Round trip as the caller sees it: submit to body in hand, one request at a time after 100 warm-up requests.",
    ),
    Scenario(
        "bulk-64k", "3a. Bulk: 64 KiB responses, 16 in flight",
        "bulk", "nginx", "/files/64k.bin", 16,
        {"full": 20_000, "quick": 2_000}, {"full": 4, "quick": 1},
        "mb_per_s", "MB/s", "higher",
        [("cpu_ms_per_mb", "CPU ms/MB", "{:.2f}"), ("req_per_s", "req/s", "{:.0f}")],
        note="nginx static file with sendfile. MB = 10^6 bytes of body (wrk counts header bytes too, +0.4%).",
    ),
    Scenario(
        "bulk-1m", "3b. Bulk: 1 MiB responses, 16 in flight",
        "bulk", "nginx", "/files/1m.bin", 16,
        {"full": 2_000, "quick": 200}, {"full": 4, "quick": 1},
        "mb_per_s", "MB/s", "higher",
        [("cpu_ms_per_mb", "CPU ms/MB", "{:.2f}"), ("req_per_s", "req/s", "{:.0f}")],
    ),
    Scenario(
        "stream-1m", "3c. Streamed: 1 MiB responses, 16 in flight",
        "stream", "nginx", "/files/1m.bin", 16,
        {"full": 2_000, "quick": 200}, {"full": 4, "quick": 1},
        "mb_per_s", "MB/s", "higher",
        [("cpu_ms_per_mb", "CPU ms/MB", "{:.2f}"), ("req_per_s", "req/s", "{:.0f}"),
         ("body_events_per_req", "BODY events/req", "{:.1f}")],
        httpring_may_be_unsupported=True, body_bytes=1 << 20, baseline="bulk-1m", baseline_label="buffered (3b)",
        clients=("httpring-c", "httpring-c-wait", "httpring-py-async"),
        note="3b's requests with the body streamed (issue 18): the C driver submits each request with "
             "httpring_request_set_stream, so it completes at its head (HTTPRING_EVENT_HEAD); the same "
             "poll/drain loop (or wait_drain loop) then reads the body with httpring_handle_read into one "
             "256 KiB buffer until HTTPRING_PENDING, again after each HTTPRING_EVENT_BODY completion, and "
             "frees the request and submits the next one when its body ends (one by one, with the request "
             "builder). The pool is warmed with buffered requests. Bytes count when a body has "
             "ended whole (1 MiB, else the run is marked failed). The Python row reads "
             "`async with client.stream(...)` + `aiter_bytes()`. `× buffered` is the client's MB/s here over "
             "its own MB/s in 3b, measured in the same run: when both run, they alternate repetition by "
             "repetition (issue 18's target: ≥ 0.9× for the C driver). "
             "Only httpring streams here; a library or binding without streamed bodies is reported "
             "as not supported.",
    ),
    Scenario(
        "gzip", "3d. Gzip: 64 KiB of text compressed by nginx, 16 in flight",
        "bulk", "nginx", "/gzip/64k.txt", 16,
        {"full": 10_000, "quick": 1_000}, {"full": 4, "quick": 1},
        "mb_per_s", "MB/s", "higher",
        [("cpu_ms_per_mb", "CPU ms/MB", "{:.2f}"), ("req_per_s", "req/s", "{:.0f}")],
        env={"BENCH_ACCEPT_ENCODING": "gzip"}, body_bytes=65536,
        note="nginx `gzip on` (level 1, compressed per request: ~24 KiB on the wire) for clients that "
             "ask for gzip and decode it: MB/s and CPU ms/MB count decoded bytes, so CPU per MB includes "
             "inflating. httpring asks by default; libcurl and pycurl get CURLOPT_ACCEPT_ENCODING "
             "(BENCH_ACCEPT_ENCODING); aiohttp and httpx decode by default. A client whose bodies are "
             "not 65,536 bytes did not decode and is marked failed. wrk, h2load and oha do not decode.",
    ),
    Scenario(
        "bulk-64k-64", "3e. Bulk: 64 KiB responses, 64 in flight",
        "bulk", "nginx", "/files/64k.bin", 64,
        {"full": 20_000, "quick": 2_000}, {"full": 4, "quick": 1},
        "mb_per_s", "MB/s", "higher",
        [("cpu_ms_per_mb", "CPU ms/MB", "{:.2f}"), ("req_per_s", "req/s", "{:.0f}")],
        clients=("httpring-c", "curl-multi", "httpring-py-async", "httpring-py-batch", "pycurl", "pyreqwest",
                 "aiohttp"),
        note="3a with 64 requests in flight: issue 18's Python target is stated for 64 (\"the Python "
             "AsyncClient's bulk scenario (64 KiB bodies, 64 in flight) at >= 1.0x pycurl's MB/s with CPU "
             "per MB no higher\"), 3a keeps the 16 it always had. The C and Python clients only.",
    ),
    Scenario(
        "stream-64k-64", "3f. Streamed: 64 KiB responses, 64 in flight",
        "stream", "nginx", "/files/64k.bin", 64,
        {"full": 20_000, "quick": 2_000}, {"full": 4, "quick": 1},
        "mb_per_s", "MB/s", "higher",
        [("cpu_ms_per_mb", "CPU ms/MB", "{:.2f}"), ("req_per_s", "req/s", "{:.0f}"),
         ("body_events_per_req", "BODY events/req", "{:.1f}")],
        httpring_may_be_unsupported=True, body_bytes=65536, baseline="bulk-64k-64",
        baseline_label="buffered (3e)", clients=("httpring-c", "httpring-py-async", "pycurl"),
        note="3e's requests with the body streamed: what a streamed response costs per request (its "
             "head, its reads, its close), which 3c's 1 MiB bodies hide. The Python row reads "
             "`async with client.stream(...)` + `aiter_bytes()`; pycurl reads every body through its "
             "write callback (a sink that counts the pieces and keeps none), here as in 3e.",
    ),
    Scenario(
        "h2", "4. HTTP/2 over TLS: 64 concurrent streams on one connection",
        "h2", "nginx-tls", "/hello", 64,
        {"full": 100_000, "quick": 10_000}, {"full": 4, "quick": 1},
        "req_per_s", "req/s", "higher",
        [("cpu_us_per_req", "CPU µs/req", "{:.1f}")],
        httpring_may_be_unsupported=True,
        note="nginx `listen ... ssl http2` (TLS 1.3, ALPN h2) with a certificate from a throwaway CA that openssl "
             "makes for the run: peers skip verification, the httpring C driver trusts the CA "
             "(httpring_config_set_ca_file, when the library has it). The connection is warmed with one request.",
    ),
    Scenario(
        "fanout", "5. Fan-out: {n:,} requests in flight, the server delays each by 100 ms",
        "fanout", "testserver", "/delay/100?close=1", 10_000,
        {"full": 10_000, "quick": 2_000}, {"full": 0, "quick": 0},
        "wall_s", "wall s", "lower",
        [("rss_mb", "peak RSS MB", "{:.1f}"), ("kib_per_req", "RSS KiB/in-flight", "{:.1f}"),
         ("cpu_us_per_req", "CPU µs/req", "{:.0f}"), ("listen_drops", "SYNs dropped", "{:.0f}")],
        fixed_count=True,
        note="The project's test server (`testserver --threads 1 --backlog 16384`, pinned like nginx) at "
             "/delay/100?close=1: stock nginx cannot delay. Every request is submitted at once on a cold pool, so "
             "each needs its own connection; ideal wall time ≈ 0.1 s. The server answers with `Connection: close` "
             "and closes first, so the 10,000 TIME_WAIT sockets of a run stay on the server's side: left on the "
             "client's side they slowed the next client's connect() (port search) by half, so whoever ran later "
             "lost (the same client measured 0.83 s first, 1.34 s after others). Peak RSS is the client process's ru_maxrss "
             "(what `/usr/bin/time -f %M` prints), including the interpreter for Python clients. "
             "`SYNs dropped` is the kernel's ListenDrops delta: the test server listens with a backlog "
             "of 16,384 (capped by net.core.somaxconn), yet a client that opens connections faster "
             "than one server thread accepts them can still lose SYNs and waits ≈ 1 s for the retransmission — that, not the client, is then most "
             "of its wall time.",
    ),
    Scenario(
        "manyhosts", "6. Many hosts: 1,000 origins, 64 in flight, {n:,} requests visiting each origin in turn",
        "manyhosts", "nginx-many", "/hello", 64,
        {"full": 3_000, "quick": 1_000}, {"full": 0, "quick": 0},
        "req_per_s", "req/s", "higher",
        [("cpu_us_per_req", "CPU µs/req", "{:.1f}"), ("conns", "conns opened", "{:.0f}")],
        fixed_count=True,
        note="nginx listens on 20 loopback addresses (127.0.0.1–127.0.0.20) × 50 ports = 1,000 distinct "
             "origins (scheme, host, port), all in one worker. The URL list visits every origin once per "
             "round (1,000 requests a round, consecutive requests on different origins), so a client reuses "
             "a connection only if its pool keeps one idle per origin across a round. No DNS is involved "
             "(IP literals): this measures pool behaviour, not a DNS cache. `conns opened` is nginx's "
             "stub_status `accepts` delta (1,000 is the minimum).",
    ),
]

# ------------------------------------------------------------------------------------
# Clients ("peers"). httpring's own clients are peers too, marked httpring=True.
# ------------------------------------------------------------------------------------


@dataclass
class Peer:
    name: str
    label: str
    modes: Sequence[str]
    build_cmd: Callable[["Ctx", Scenario, str, int, int], List[str]]
    parser: str = "kv"  # kv | h2load | oha
    available: Callable[["Ctx"], Optional[str]] = lambda ctx: None  # None = ok, else why not
    httpring: bool = False
    scale: Dict[str, float] = field(default_factory=dict)  # scenario mode -> fraction of requests
    skip: Dict[str, str] = field(default_factory=dict)  # scenario id -> why it is not run
    notes: str = ""


def driver(prefix: Callable[["Ctx"], List[str]]):
    """The uniform driver command line: PROG MODE URL|@FILE [inflight] [requests]."""

    def build(ctx: "Ctx", sc: Scenario, target: str, inflight: int, n: int) -> List[str]:
        if sc.mode == "latency":
            return prefix(ctx) + ["latency", target, str(n)]
        return prefix(ctx) + [sc.mode, target, str(inflight), str(n)]

    return build


def py_driver(script: str):
    return driver(lambda ctx: [PY, str(BENCH / "python" / script)])


def wrk_cmd(ctx: "Ctx", sc: Scenario, target: str, inflight: int, n: int) -> List[str]:
    dur = max(1, int(round(sc.duration[ctx.profile])))
    c = 1 if sc.mode == "latency" else inflight
    return [ctx.tools["wrk"], "-t1", f"-c{c}", f"-d{dur}s", "--timeout", "10s",
            "-s", str(BENCH / "wrk" / "report.lua"), target]


def h2load_cmd(ctx: "Ctx", sc: Scenario, target: str, inflight: int, n: int) -> List[str]:
    base = [ctx.tools["h2load"], "-t1", "-n", str(n)]
    if sc.mode == "h2":  # one connection, `inflight` streams
        return base + ["-c1", f"-m{inflight}", target]
    return base + ["--h1", f"-c{inflight}", "-m1", target]


def oha_cmd(ctx: "Ctx", sc: Scenario, target: str, inflight: int, n: int) -> List[str]:
    base = [ctx.tools["oha"], "--no-tui", "--output-format", "json", "--worker-threads", "1", "-n", str(n)]
    if sc.mode == "latency":
        return base + ["-c1", target]
    if sc.mode == "h2":
        return base + ["--http2", "--insecure", "-c1", "-p", str(inflight), target]
    if sc.mode == "manyhosts":
        return base + [f"-c{inflight}", "--urls-from-file", target[1:]]
    return base + [f"-c{inflight}", target]


def need_tool(name: str):
    return lambda ctx: None if ctx.tools.get(name) else f"`{name}` not found"


def need_module(mod: str):
    return lambda ctx: ctx.modules.get(mod)


def need_binding(ctx: "Ctx") -> Optional[str]:
    return ctx.modules.get("httpring")


def need_file(key: str):
    return lambda ctx: None if key in ctx.built else ctx.build_errors.get(key, f"{key} not built")


ALL = ("throughput", "latency", "bulk", "h2", "fanout", "manyhosts")
CONCURRENT = ("throughput", "bulk", "h2", "fanout", "manyhosts")

PEERS: List[Peer] = [
    Peer("httpring-c", "httpring C driver", ALL + ("stream",), driver(lambda ctx: [str(ctx.built["bench"])]),
         available=need_file("bench"), httpring=True,
         notes="bench/c/bench.c: poll(2) on httpring_client_fd, drain in batches of 256, resubmit per completion; "
               "latency via httpring_handle_wait; streamed: HEAD and BODY completions through the same loop, "
               "httpring_handle_read until HTTPRING_PENDING."),
    Peer("httpring-c-wait", "httpring C driver, wait_drain", CONCURRENT + ("stream",),
         driver(lambda ctx: ["env", "HTTPRING_BENCH_LOOP=wait", str(ctx.built["bench"])]),
         available=need_file("bench"), httpring=True,
         notes="the same driver blocking in httpring_client_wait_drain (min = half the in-flight window) "
               "instead of poll(2): the calling thread runs the I/O itself, so the whole run stays on one "
               "thread, and one call hands over at least half the window."),
    Peer("wrk", "wrk", ("throughput", "latency", "bulk"), wrk_cmd, available=need_tool("wrk"),
         skip={"gzip": "does not decode"},
         notes="-t1, time-based; latency from its own histogram."),
    Peer("h2load", "h2load", ("throughput", "bulk", "h2", "fanout"), h2load_cmd, parser="h2load",
         skip={"gzip": "does not decode"},
         available=need_tool("h2load"), notes="-t1; --h1 for HTTP/1.1 (one request per connection at a time)."),
    Peer("oha", "oha", ALL, oha_cmd, parser="oha", available=need_tool("oha"),
         skip={"gzip": "does not decode", "manyhosts": "with --urls-from-file oha sends every origin's requests over its 64 connections "
                            "(nginx counted 64 connections for 1,000 origins): not a many-hosts client"},
         notes="tokio + hyper load generator (cargo install oha --version 1.16.0), `--worker-threads 1` like "
               "wrk's and h2load's -t1."),
    Peer("curl-multi", "libcurl multi (C)", ALL, driver(lambda ctx: [str(ctx.built["curl_multi"])]),
         available=need_file("curl_multi"), notes="bench/c/curl_multi.c: curl_multi_perform/poll, one thread."),
    Peer("httpring-py-async", "httpring Python AsyncClient", ALL + ("stream",), py_driver("hr_async.py"),
         available=need_binding, httpring=True,
         notes="bench/python/hr_async.py: `await client.get(url)` from one worker coroutine per request in flight, each fetching the next URL when its last is done (the same harness "
               "as aiohttp, httpx and pyreqwest); latency: sequential awaits; streamed: "
               "`async with client.stream(\"GET\", url)` + `aiter_bytes()`.",
         scale={"throughput": 0.25, "latency": 0.25, "bulk": 0.5, "stream": 0.5, "h2": 0.25}),
    Peer("httpring-py-batch", "httpring Python send_many", CONCURRENT, py_driver("hr_batch.py"),
         available=need_binding, httpring=True,
         notes="bench/python/hr_batch.py: `Client.send_many(urls)` with 64 URLs a call, one call after another "
               "(fan-out: one call with every URL).",
         scale={"throughput": 0.25, "bulk": 0.5, "h2": 0.25}),
    Peer("httpring-py-sync", "httpring Python Client (sync)", ("latency",), py_driver("hr_sync.py"),
         available=need_binding, httpring=True, scale={"latency": 0.25},
         notes="bench/python/hr_sync.py: `client.get(url)` in a loop."),
    Peer("pycurl", "pycurl CurlMulti", ALL + ("stream",), py_driver("pycurl_drv.py"), available=need_module("pycurl"),
         notes="bench/python/pycurl_drv.py: CurlMulti perform/info_read/select loop, 64 easy handles re-added "
               "with the next URL; latency: one Curl handle, perform() in a loop. select() is limited to "
               "FD_SETSIZE (1,024) descriptors, which slows its fan-out loop. Bodies always go through its "
               "write callback (a sink that counts them), so its bulk and streamed runs are the same loop.",
         scale={"throughput": 0.25, "latency": 0.25, "bulk": 0.5, "stream": 0.5, "h2": 0.25}),
    Peer("pyreqwest", "pyreqwest", ALL, py_driver("pyreqwest_drv.py"), available=need_module("pyreqwest"),
         notes="bench/python/pyreqwest_drv.py: async Client, one worker coroutine per request in flight, each fetching the next URL when its last is done, its default "
               "current-thread runtime; latency: SyncClient.",
         scale={"throughput": 0.1, "latency": 0.25, "bulk": 0.5, "h2": 0.1}),
    Peer("aiohttp", "aiohttp", ("throughput", "latency", "bulk", "fanout", "manyhosts"), py_driver("aiohttp_drv.py"),
         notes="bench/python/aiohttp_drv.py: one ClientSession, TCPConnector(limit=0), one worker coroutine per request in flight, each fetching the next URL when its last is done, "
               "asyncio's default loop (no uvloop); HTTP/1.1 only.",
         available=need_module("aiohttp"), scale={"throughput": 0.05, "latency": 0.1, "bulk": 0.25}),
    Peer("httpx", "httpx", ALL, py_driver("httpx_drv.py"), available=need_module("httpx"),
         notes="bench/python/httpx_drv.py: AsyncClient with a pool sized to the in-flight count, "
               "one worker coroutine per request in flight, each fetching the next URL when its last is done; HTTP/2 with the h2 package; latency: httpx.Client.",
         scale={"throughput": 0.01, "latency": 0.05, "bulk": 0.02, "h2": 0.01},
         skip={"fanout": "httpx's pool is far too slow at this size (500 in flight took 9 s in a trial run)"}),
]

# Targets from issues 7, 18 and 19: (scenario, client, metric, relation, other client or constant or
# (scenario, client) measured in the same run, factor)
TARGETS = [
    ("throughput", "httpring-c", "req_per_s", ">=", "wrk", 0.8),
    ("throughput", "httpring-c", "cpu_us_per_req", "<=", "wrk", 1.5),
    ("throughput", "httpring-c", "req_per_s", ">=", "oha", 1.0),
    ("throughput", "httpring-py-async", "req_per_s", ">=", "pyreqwest", 1.5),
    ("throughput", "httpring-py-async", "req_per_s", ">=", "aiohttp", 2.5),
    ("throughput", "httpring-py-batch", "req_per_s", ">=", "pycurl", 1.0),
    ("latency", "httpring-py-sync", "p50_us", "<=", "pycurl", 1.0),
    ("latency", "httpring-c", "p50_us", "<=", "wrk", 1.3),
    ("h2", "httpring-c", "req_per_s", ">=", "h2load", 0.7),
    ("fanout", "httpring-c", "wall_s", "<", 1.0, 1.0),
    ("fanout", "httpring-c", "kib_per_req", "<", 16.0, 1.0),
    ("stream-1m", "httpring-c", "mb_per_s", ">=", ("bulk-1m", "httpring-c"), 0.9),  # issue 18
    ("throughput-capped", "httpring-c", "req_per_s", ">=", ("throughput", "httpring-c"), 0.97),  # issue 19
    ("bulk-64k", "httpring-py-async", "mb_per_s", ">=", "pycurl", 1.0),  # issue 18: bodies reach Python fast
    ("bulk-64k", "httpring-py-async", "cpu_ms_per_mb", "<=", "pycurl", 1.0),  # issue 18
    ("bulk-64k-64", "httpring-py-async", "mb_per_s", ">=", "pycurl", 1.0),  # issue 18, as its text says (64 in flight)
    ("bulk-64k-64", "httpring-py-async", "cpu_ms_per_mb", "<=", "pycurl", 1.0),  # issue 18
]

# What the full run installs (the quick run installs nothing but nginx, if it is missing).
APT = {"nginx": "nginx-light", "wrk": "wrk", "h2load": "nghttp2-client", "openssl": "openssl"}
APT_DEV = ["libcurl4-openssl-dev", "libssl-dev", "pkg-config"]
PIP = {"pycurl": "pycurl", "aiohttp": "aiohttp", "httpx": "httpx", "h2": "h2", "pyreqwest": "pyreqwest"}
OHA_VERSION = "1.16.0"

# ------------------------------------------------------------------------------------
# Process handling
# ------------------------------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def log(msg: str) -> None:
    print(msg, flush=True)


def child_setup(core: Optional[int], nofile: bool = True) -> Callable[[], None]:
    """preexec_fn: die with the runner, pin to `core`, raise the descriptor limit."""

    def setup() -> None:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if core is not None:
            os.sched_setaffinity(0, {core})
        if nofile:
            import resource

            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            want = max(hard, 65536)
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            except (ValueError, OSError):
                resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    return setup


class Servers:
    """Background servers, killed (whole process group) on exit, signal or crash."""

    def __init__(self) -> None:
        self.procs: List[subprocess.Popen] = []

    def start(self, argv: List[str], core: Optional[int], log_path: Path, **kw) -> subprocess.Popen:
        out = open(log_path, "wb")
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True, preexec_fn=child_setup(core), **kw)
        out.close()
        self.procs.append(p)
        return p

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.time() + 5
        for p in self.procs:
            try:
                p.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        self.procs.clear()


@dataclass
class RunResult:
    status: str  # ok | failed | unsupported | missing | timeout | crashed | parse-error
    rc: Optional[int]
    elapsed: float
    utime: float
    stime: float
    maxrss_kb: int
    stdout: str
    stderr: str


def run_client(argv: List[str], core: Optional[int], timeout: float, env: Dict[str, str],
               workdir: Path) -> RunResult:
    """Runs one client pinned to `core`; CPU and peak RSS come from wait4(2)."""
    out_path, err_path = workdir / "client.out", workdir / "client.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.perf_counter()
        try:
            p = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env,
                                 start_new_session=True, preexec_fn=child_setup(core))
        except OSError as e:
            return RunResult("missing", None, 0, 0, 0, 0, "", str(e))
        timed_out = threading.Event()

        def expire() -> None:
            timed_out.set()
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, expire)
        timer.start()
        try:
            while True:
                try:
                    _, status, ru = os.wait4(p.pid, 0)
                    break
                except InterruptedError:
                    continue
        finally:
            timer.cancel()
        elapsed = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        try:  # anything the client left behind in its group
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    stdout = out_path.read_text(errors="replace")
    stderr = err_path.read_text(errors="replace")
    rc = p.returncode
    if timed_out.is_set():
        st = "timeout"
    elif rc == 0:
        st = "ok"
    elif rc == 3:
        st = "unsupported"
    elif rc == 4:
        st = "missing"
    elif rc == 1:
        st = "failed"
    else:
        st = "crashed"
    return RunResult(st, rc, elapsed, ru.ru_utime, ru.ru_stime, ru.ru_maxrss, stdout, stderr)


# ------------------------------------------------------------------------------------
# Output parsers: each returns a dict of metrics (requests, wall_s, failed, ...).
# ------------------------------------------------------------------------------------


def parse_kv(text: str) -> Dict[str, object]:
    lines = [ln for ln in text.splitlines() if "=" in ln and re.match(r"^\w+=", ln)]
    if not lines:
        raise ValueError("no key=value line")
    d: Dict[str, object] = {}
    for tok in lines[-1].split():
        k, _, v = tok.partition("=")
        if k == "q_us":
            d[k] = [float(x) for x in v.split(",")]
            continue
        try:
            d[k] = float(v)
        except ValueError:
            d[k] = v
    return d


def parse_h2load(text: str) -> Dict[str, object]:
    m = re.search(r"finished in ([\d.]+)(m?s)", text)
    r = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                  r"(\d+) errored, (\d+) timeout", text)
    s = re.search(r"status codes: (\d+) 2xx", text)
    if not m or not r:
        raise ValueError("h2load output not understood")
    wall = float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)
    total, done, ok = int(r.group(1)), int(r.group(3)), int(r.group(4))
    d: Dict[str, object] = {"requests": done, "wall_s": wall,
                            "failed": total - ok + (ok - int(s.group(1)) if s else 0)}
    t = re.search(r"traffic: .*\((\d+)\) data", text)
    if t:
        d["bytes"] = int(t.group(1))
    return d


def parse_oha(text: str) -> Dict[str, object]:
    j = json.loads(text[text.index("{"):])
    s = j["summary"]
    codes = j.get("statusCodeDistribution", {})
    ok = int(codes.get("200", 0))
    total = sum(int(v) for v in codes.values()) + sum(int(v) for v in j.get("errorDistribution", {}).values())
    d: Dict[str, object] = {"requests": ok, "wall_s": s["total"], "failed": total - ok,
                            "bytes": s.get("totalData") or 0}
    lp = j.get("latencyPercentiles") or {}
    q = {"p10": 10, "p25": 25, "p50": 50, "p75": 75, "p90": 90, "p95": 95, "p99": 99, "p99.9": 99.9,
         "p99.99": 99.99}
    qd = {q[k]: v * 1e6 for k, v in lp.items() if k in q and v is not None}
    if s.get("fastest") is not None:
        qd[0] = s["fastest"] * 1e6
    if s.get("slowest") is not None:
        qd[100] = s["slowest"] * 1e6
    if qd:
        d["q_map"] = {str(k): v for k, v in sorted(qd.items())}
        for p, key in ((50, "p50_us"), (95, "p95_us"), (99, "p99_us"), (100, "max_us")):
            if p in qd:
                d[key] = qd[p]
    return d


PARSERS = {"kv": parse_kv, "h2load": parse_h2load, "oha": parse_oha}
QUANTILES = (0, 1, 5, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100)

# ------------------------------------------------------------------------------------
# The run
# ------------------------------------------------------------------------------------


class Ctx:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.profile = "quick" if args.quick else "full"
        self.tmp = Path(tempfile.mkdtemp(prefix="httpring-bench-"))
        self.servers = Servers()
        self.tools: Dict[str, Optional[str]] = {}
        self.modules: Dict[str, Optional[str]] = {}
        self.built: Dict[str, Path] = {}
        self.build_errors: Dict[str, str] = {}
        self.urls: Dict[str, str] = {}  # server kind -> base URL or @file
        self.status_url: Optional[str] = None
        self.notes: List[str] = []
        cores = sorted(os.sched_getaffinity(0))
        self.server_core = cores[0]
        self.client_core = cores[1] if len(cores) > 1 else cores[0]
        if len(cores) < 2:
            self.notes.append("Only one core is available: server and client share it.")
        self.lib_dir = Path(args.lib_dir).resolve()
        self.env = dict(os.environ)
        self.env["HTTPRING_LIB"] = str(self.lib_dir / "libhttpring.so")
        pypath = [p for p in (args.python_path or "").split(os.pathsep) if p]
        if (ROOT / "bindings" / "python" / "src").is_dir():
            pypath.append(str(ROOT / "bindings" / "python" / "src"))
        if pypath:
            self.env["PYTHONPATH"] = os.pathsep.join(pypath + [self.env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)


def sh(argv: List[str], timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout, **kw)


def which(name: str) -> Optional[str]:
    found = shutil.which(name)
    if not found and name == "oha":
        cand = Path.home() / ".cargo" / "bin" / "oha"
        found = str(cand) if cand.exists() else None
    if not found and name == "nginx" and Path("/usr/sbin/nginx").exists():
        found = "/usr/sbin/nginx"
    return found


def dpkg_installed(pkg: str) -> bool:
    try:
        r = sh(["dpkg-query", "-W", "-f=${Status}", pkg], timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "install ok installed" in r.stdout


def probe_modules(ctx: Ctx, mods: List[str]) -> None:
    code = (
        "import importlib, sys\n"
        "for m in sys.argv[1:]:\n"
        "    try:\n"
        "        importlib.import_module(m); print(m, 'OK')\n"
        "    except Exception as e:\n"
        "        print(m, 'ERR', type(e).__name__, str(e).splitlines()[0] if str(e) else '')\n"
    )
    r = sh([PY, "-c", code] + mods, timeout=120, env=ctx.env)
    for line in r.stdout.splitlines():
        parts = line.split(" ", 2)
        if len(parts) >= 2 and parts[0] in mods:
            ctx.modules[parts[0]] = None if parts[1] == "OK" else f"`import {parts[0]}` failed: {parts[2] if len(parts) > 2 else ''}"
    for m in mods:
        ctx.modules.setdefault(m, f"`import {m}` failed")
    if ctx.modules.get("httpring"):
        ctx.modules["httpring"] = ("the Python binding is not importable (not merged yet?): " + ctx.modules["httpring"])


def install(ctx: Ctx) -> None:
    """Installs the peers. Full run: apt, pip and (once) oha. Quick: only nginx if missing."""
    is_root = os.geteuid() == 0
    apt = shutil.which("apt-get")
    missing_apt = [pkg for tool, pkg in APT.items() if not which(tool)]
    if ctx.args.quick:
        missing_apt = [p for p in missing_apt if p == "nginx-light"]
    else:
        missing_apt += [p for p in APT_DEV if not dpkg_installed(p)]
    if missing_apt:
        if not (is_root and apt):
            log(f"install: cannot apt-get install {' '.join(missing_apt)} (not root or no apt-get); skipping")
        else:
            log(f"install: apt-get install {' '.join(missing_apt)}")
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            try:
                sh(["apt-get", "update", "-qq"], timeout=300, env=env)
                r = sh(["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + missing_apt, timeout=600, env=env)
                if r.returncode != 0:  # one bad name must not sink the others
                    for pkg in missing_apt:
                        sh(["apt-get", "install", "-y", "-qq", "--no-install-recommends", pkg], timeout=300, env=env)
            except subprocess.TimeoutExpired:
                log("install: apt-get timed out")
            # Debian starts the packaged nginx on install; it is not ours to use.
            if "nginx-light" in missing_apt:
                for argv in (["systemctl", "disable", "--now", "nginx"], ["service", "nginx", "stop"]):
                    if shutil.which(argv[0]):
                        try:
                            sh(argv, timeout=60)
                        except subprocess.TimeoutExpired:
                            pass
    if ctx.args.quick:
        return
    probe_modules(ctx, list(PIP))
    missing_pip = [PIP[m] for m in PIP if ctx.modules.get(m)]
    if missing_pip:
        log(f"install: pip install {' '.join(missing_pip)}")
        for pkg in missing_pip:  # one at a time: a package that fails to build skips only itself
            try:
                r = sh([PY, "-m", "pip", "install", "-q", pkg], timeout=600)
                if r.returncode != 0:
                    log(f"install: pip install {pkg} failed:\n{r.stdout[-600:]}")
            except subprocess.TimeoutExpired:
                log(f"install: pip install {pkg} timed out")
    if not which("oha"):
        if shutil.which("cargo"):
            log(f"install: cargo install oha --version {OHA_VERSION} --locked (one time, 10+ minutes on 2 cores)")
            try:
                r = sh(["cargo", "install", "oha", "--version", OHA_VERSION, "--locked"], timeout=3600)
                if r.returncode != 0:
                    log(f"install: cargo install oha failed:\n{r.stdout[-800:]}")
            except subprocess.TimeoutExpired:
                log("install: cargo install oha timed out")
        else:
            log("install: no cargo, so no oha")


def build_drivers(ctx: Ctx) -> None:
    out = ROOT / "build" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    cc = os.environ.get("CC", "cc")
    flags = ["-O2", "-g", "-Wall", "-Wextra", "-Werror", "-std=c11", "-D_POSIX_C_SOURCE=200809L"]
    lib = str(ctx.lib_dir)
    jobs = {
        "bench": [cc] + flags + ["-o", str(out / "bench"), str(BENCH / "c" / "bench.c"), f"-I{ROOT / 'include'}",
                                 f"-L{lib}", f"-Wl,-rpath,{lib}", "-lhttpring", "-lpthread"],
    }
    curl_flags = ["-lcurl"]
    if shutil.which("pkg-config"):
        r = sh(["pkg-config", "--cflags", "--libs", "libcurl"], timeout=20)
        if r.returncode == 0:
            curl_flags = r.stdout.split()
    jobs["curl_multi"] = [cc] + flags + ["-o", str(out / "curl_multi"), str(BENCH / "c" / "curl_multi.c")] + curl_flags
    for name, argv in jobs.items():
        try:
            r = sh(argv, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as e:
            ctx.build_errors[name] = f"could not compile bench/c/{name}.c: {e}"
            continue
        if r.returncode == 0:
            ctx.built[name] = out / name
        else:
            first = r.stdout.strip().splitlines()[:1]
            ctx.build_errors[name] = f"could not compile bench/c/{name}.c ({first[0] if first else 'error'})"
            log(f"build: {name} failed:\n{r.stdout[-1500:]}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_range(addrs: List[str], count: int) -> int:
    """A base port such that base..base+count-1 are free on every address."""
    for _ in range(50):
        base = random.randrange(20000, 32000 - count)
        socks = []
        try:
            for a in addrs:
                for p in range(base, base + count):
                    s = socket.socket()
                    socks.append(s)
                    s.bind((a, p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port range")


def wait_http(url: str, timeout: float = 15, context=None) -> None:
    deadline = time.time() + timeout
    last: Optional[BaseException] = None
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as r:
                if r.status == 200:
                    return
        except Exception as e:  # noqa: BLE001 - not up yet
            last = e
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up: {last}")


def make_cert(openssl: str, d: Path) -> tuple:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it (rustls/webpki
    refuses a self-signed CA certificate used as the server's own)."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    (d / "leaf.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                                "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n")
    steps = [
        [openssl, "req", "-x509"] + ec + ["-days", "2", "-subj", "/CN=httpring bench CA",
                                          "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem")],
        [openssl, "req"] + ec + ["-subj", "/CN=127.0.0.1", "-keyout", str(d / "key.pem"), "-out", str(d / "leaf.csr")],
        [openssl, "x509", "-req", "-in", str(d / "leaf.csr"), "-CA", str(d / "ca.pem"), "-CAkey", str(d / "ca.key"),
         "-CAcreateserial", "-days", "2", "-extfile", str(d / "leaf.ext"), "-out", str(d / "cert.pem")],
    ]
    for argv in steps:
        r = sh(argv, timeout=60, cwd=str(d))
        if r.returncode != 0:
            return False, r.stdout.strip()
    return True, ""


def start_nginx(ctx: Ctx) -> None:
    nginx = None if ctx.args.no_nginx else which("nginx")
    if not nginx:
        ctx.notes.append("nginx is not installed: throughput, latency and bulk ran against the project's test "
                         "server instead; HTTP/2 and many-hosts were skipped.")
        return
    d = ctx.tmp / "nginx"
    www = d / "www" / "files"
    www.mkdir(parents=True)
    for p in (ctx.tmp, d, d / "www", www):  # nginx's worker runs unprivileged (nobody/www-data)
        p.chmod(0o755)
    (www / "64k.bin").write_bytes(bytes((ord("a") + i % 26) for i in range(65536)))
    (www / "1m.bin").write_bytes(bytes((ord("a") + i % 26) for i in range(1 << 20)))
    for f in www.iterdir():
        f.chmod(0o644)
    # Text for the gzip scenario: numbered lines (compresses ~2.7x at level 1, like real text).
    gz = d / "www" / "gzip"
    gz.mkdir()
    gz.chmod(0o755)
    lines, i = [], 0
    while sum(map(len, lines)) < 65536:
        lines.append(f"{i:06d} The quick brown fox jumps over the lazy dog; {i * 7919 % 100003}\n")
        i += 1
    (gz / "64k.txt").write_bytes("".join(lines).encode()[:65536])
    (gz / "64k.txt").chmod(0o644)
    v = sh([nginx, "-V"], timeout=20).stdout
    temp = "\n".join(f"    {k}_temp_path {d}/{k}_temp;" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
                     if f"--http-{k.replace('_', '-')}-temp-path" in v)
    port, tls_port = free_port(), free_port()
    while tls_port == port:
        tls_port = free_port()
    addrs = [f"127.0.0.{i}" for i in range(1, 21)]
    base = port_range(addrs, 50)
    many = "\n".join(f"        listen {a}:{p};" for a in addrs for p in range(base, base + 50))
    tls = ""
    openssl = which("openssl")
    if openssl:
        ok, err = make_cert(openssl, d)
        if ok:
            tls = f"""
    server {{
        listen 127.0.0.1:{tls_port} ssl http2 backlog=4096;
        ssl_certificate {d}/cert.pem;
        ssl_certificate_key {d}/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        location = /hello {{ return 200 "Hello, world!"; }}
        location /files/ {{ root {d}/www; }}
    }}"""
        else:
            ctx.notes.append(f"openssl could not make a certificate: HTTP/2 skipped ({err[:200]})")
    else:
        ctx.notes.append("openssl is not installed: HTTP/2 over TLS skipped.")
    conf = f"""# Generated by bench/run.py for one benchmark run.
worker_processes 1;
worker_rlimit_nofile 65536;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{
    worker_connections 30000;
    multi_accept on;
}}
http {{
    access_log off;
    default_type text/plain;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
{temp}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location = /hello {{ return 200 "Hello, world!"; }}
        location /files/ {{ root {d}/www; }}
        location /gzip/ {{ root {d}/www; gzip on; gzip_types text/plain; gzip_min_length 0;
                           gzip_comp_level 1; gzip_http_version 1.0; }}
        location = /nginx_status {{ stub_status; }}
    }}{tls}
    server {{
{many}
        location / {{ return 200 "Hello, world!"; }}
    }}
}}
"""
    (d / "nginx.conf").write_text(conf)
    ctx.servers.start([nginx, "-p", str(d), "-c", str(d / "nginx.conf"), "-e", str(d / "error.log")],
                      ctx.server_core, d / "stdout.log")
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_http(base_url + "/hello")
    except RuntimeError as e:
        log_text = (d / "error.log").read_text(errors="replace")[-1000:] if (d / "error.log").exists() else ""
        raise RuntimeError(f"nginx did not start: {e}\n{log_text}") from None
    ctx.urls["nginx"] = base_url
    ctx.status_url = base_url + "/nginx_status"
    if tls:
        ctx.urls["nginx-tls"] = f"https://127.0.0.1:{tls_port}"
        ctx.env["SSL_CERT_FILE"] = str(d / "ca.pem")
        ctx.env["HTTPRING_BENCH_CA"] = str(d / "ca.pem")
    urls = ctx.tmp / "manyhosts.txt"
    rounds = max(1, SCENARIO_BY_ID["manyhosts"].requests[ctx.profile] // 1000)
    with open(urls, "w") as f:
        for _ in range(rounds):
            for p in range(base, base + 50):
                for a in addrs:
                    f.write(f"http://{a}:{p}/hello\n")
    wait_http(f"http://127.0.0.20:{base + 49}/hello")
    ctx.urls["nginx-many"] = "@" + str(urls)
    ctx.server_info = {"nginx": sh([nginx, "-v"], timeout=20).stdout.strip(), "nginx_port": port,
                       "tls_port": tls_port if tls else None, "manyhosts": f"127.0.0.1-20 × ports {base}-{base + 49}"}


def start_testserver(ctx: Ctx) -> None:
    ts = Path(ctx.args.testserver)
    if not ts.exists():
        raise RuntimeError(f"{ts} not found: run `make build` first")
    log_path = ctx.tmp / "testserver.log"
    # A deep accept queue (capped by net.core.somaxconn), so the fan-out measures the client
    # rather than SYNs dropped by one server thread accepting 10,000 connections.
    p = ctx.servers.start([str(ts), "--threads", "1", "--backlog", "16384"], ctx.server_core, log_path)
    deadline = time.time() + 15
    while time.time() < deadline:
        m = re.search(r"LISTENING (\d+)", log_path.read_text(errors="replace"))
        if m:
            ctx.urls["testserver"] = f"http://127.0.0.1:{m.group(1)}"
            wait_http(ctx.urls["testserver"] + "/hello")
            if "nginx" not in ctx.urls:  # fallback server for the HTTP/1.1 scenarios
                ctx.urls["nginx"] = ctx.urls["testserver"]
                ctx.fallback = True
            return
        if p.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError("the test server did not start: " + log_path.read_text(errors="replace")[-500:])


def listen_drops() -> Optional[int]:
    """The kernel's count of connection attempts dropped at a full listen queue (all
    sockets): a client that connects faster than the server accepts waits for a SYN
    retransmission (1 s), which shows in the fan-out wall time."""
    try:
        lines = open("/proc/net/netstat").read().splitlines()
    except OSError:
        return None
    for names, values in zip(lines[::2], lines[1::2]):
        if names.startswith("TcpExt:"):
            d = dict(zip(names.split()[1:], values.split()[1:]))
            return int(d.get("ListenDrops", 0))
    return None


def accepts(ctx: Ctx) -> Optional[int]:
    if not ctx.status_url:
        return None
    try:
        with urllib.request.urlopen(ctx.status_url, timeout=5) as r:
            text = r.read().decode()
        return int(text.splitlines()[2].split()[0])
    except Exception:  # noqa: BLE001
        return None


SCENARIO_BY_ID = {s.id: s for s in SCENARIOS}


def target_for(ctx: Ctx, sc: Scenario) -> Optional[str]:
    base = ctx.urls.get(sc.server)
    if base is None:
        return None
    if base.startswith("@"):
        return base
    path = sc.path
    if getattr(ctx, "fallback", False) and sc.server == "nginx":
        path = {"/files/64k.bin": "/bytes/65536", "/files/1m.bin": "/bytes/1048576"}.get(path, path)
    return base + path


def title(ctx: Ctx, sc: Scenario) -> str:
    return sc.title.format(n=sc.requests[ctx.profile])


def count_for(ctx: Ctx, sc: Scenario, peer: Peer) -> int:
    n = sc.requests[ctx.profile]
    if sc.fixed_count:
        return n
    n = int(n * peer.scale.get(sc.mode, 1.0))
    return max(n, sc.inflight * 4, 100)


def derive(sc: Scenario, m: Dict[str, object], r: RunResult) -> Dict[str, object]:
    """Fills the metrics a tool does not print from its rusage and output."""
    n = float(m.get("requests") or 0)
    wall = float(m.get("wall_s") or 0)
    proc_cpu = r.utime + r.stime
    m["proc_cpu_s"] = proc_cpu
    m["proc_maxrss_kb"] = r.maxrss_kb
    if n and wall and "req_per_s" not in m:
        m["req_per_s"] = n / wall
    if "cpu_us_per_req" in m:
        m["cpu_src"] = "window"
    elif n:
        m["cpu_us_per_req"] = proc_cpu * 1e6 / n
        m["cpu_src"] = "process"
    if sc.mode in ("bulk", "stream") and m.get("bytes") and wall:
        b = float(m["bytes"])  # type: ignore[arg-type]
        m.setdefault("mb_per_s", b / wall / 1e6)
        if "cpu_ms_per_mb" not in m:
            m["cpu_ms_per_mb"] = proc_cpu * 1e3 / (b / 1e6)
    if sc.mode == "fanout":
        m["rss_mb"] = r.maxrss_kb / 1024
        m["kib_per_req"] = r.maxrss_kb / max(1.0, n)
    if "q_us" in m and "q_map" not in m:
        m["q_map"] = {str(q): v for q, v in zip(QUANTILES, m["q_us"])}  # type: ignore[arg-type]
    return m


def run_all(ctx: Ctx) -> List[Dict[str, object]]:
    runs: List[Dict[str, object]] = []
    reps = ctx.args.reps or (1 if ctx.args.quick else 3)
    scenarios = [s for s in SCENARIOS if not ctx.args.only or s.id in ctx.args.only.split(",")]
    peers = [p for p in PEERS if not ctx.args.clients or p.name in ctx.args.clients.split(",")]
    ctx.skipped: Dict[str, str] = {}
    for p in peers:
        why = p.available(ctx)
        if why:
            ctx.skipped[p.name] = why
            log(f"skip {p.name}: {why}")
    workdir = ctx.tmp / "client"
    workdir.mkdir()
    # A scenario compared with a baseline scenario (Scenario.baseline) runs interleaved with it,
    # repetition by repetition, so a drift of the machine does not land on one side of the ratio.
    groups: List[List[Scenario]] = []
    for sc in scenarios:
        g = next((g for g in groups if any(x.id == sc.baseline for x in g)), None)
        if g is not None:
            g.append(sc)
        else:
            groups.append([sc])
    for group in groups:
        live = []
        for sc in group:
            target = target_for(ctx, sc)
            if target is None:
                log(f"\n== {title(ctx, sc)}")
                log(f"   skipped: no server for {sc.server}")
                continue
            live.append((sc, target))
        # Repetitions outermost: a slow drift of the machine spreads over every client.
        for rep in range(reps):
            for sc, target in live:
                if len(live) > 1 and reps > 1:
                    log(f"\n== {title(ctx, sc)} (repetition {rep + 1} of {reps}, alternating with "
                        f"{', '.join(x.id for x, _ in live if x is not sc)})")
                elif rep == 0:
                    log(f"\n== {title(ctx, sc)}")
                for peer in peers:
                    if peer.name in ctx.skipped or sc.mode not in peer.modes or sc.id in peer.skip:
                        continue
                    if sc.clients and peer.name not in sc.clients:
                        continue
                    n = count_for(ctx, sc, peer)
                    inflight = n if sc.mode == "fanout" else sc.inflight
                    argv = peer.build_cmd(ctx, sc, target, inflight, n)
                    a0 = accepts(ctx) if sc.server.startswith("nginx") else None
                    d0 = listen_drops()
                    env = {**ctx.env, **sc.env} if sc.env else ctx.env
                    r = run_client(argv, ctx.client_core, sc.timeout[ctx.profile], env, workdir)
                    d1 = listen_drops()
                    a1 = accepts(ctx) if a0 is not None else None
                    rec: Dict[str, object] = {
                        "scenario": sc.id, "client": peer.name, "rep": rep + 1, "argv": argv,
                        "status": r.status, "rc": r.rc, "elapsed_s": round(r.elapsed, 4),
                        "utime_s": r.utime, "stime_s": r.stime, "maxrss_kb": r.maxrss_kb,
                        "stdout": r.stdout[-2000:], "stderr": r.stderr[-2000:],
                    }
                    metrics: Dict[str, object] = {}
                    if r.status in ("ok", "failed"):
                        try:
                            metrics = derive(sc, PARSERS[peer.parser](r.stdout), r)
                            if a0 is not None and a1 is not None:
                                metrics["conns"] = a1 - a0 - 1  # minus our own status request
                            if d0 is not None and d1 is not None:
                                metrics["listen_drops"] = d1 - d0
                            if r.status == "ok" and float(metrics.get("failed") or 0) > 0:
                                rec["status"] = "failed"
                            done = float(metrics.get("requests") or 0) - float(metrics.get("failed") or 0)
                            if sc.body_bytes and done > 0 and metrics.get("bytes") is not None:
                                per = float(metrics["bytes"]) / done  # type: ignore[arg-type]
                                if abs(per - sc.body_bytes) > 1:
                                    rec["status"] = "failed"
                                    why = ": not decoded" if "BENCH_ACCEPT_ENCODING" in sc.env else ""
                                    rec["parse_error"] = f"bodies of {per:.0f} bytes, not {sc.body_bytes}{why}"
                        except (ValueError, KeyError, IndexError) as e:
                            if r.status == "ok":  # a failed run may stop before its report line
                                rec["status"] = "parse-error"
                            rec["parse_error"] = str(e)
                    rec["metrics"] = metrics
                    runs.append(rec)
                    log(progress_line(sc, peer, rep, reps, rec))
    return runs


def progress_line(sc: Scenario, peer: Peer, rep: int, reps: int, rec: Dict[str, object]) -> str:
    m = rec["metrics"]
    head = f"   {peer.name:<18} {rep + 1}/{reps} "
    if rec["status"] != "ok":
        why = (str(rec["stderr"]).strip().splitlines() or [""])[-1][:160]
        return head + f"{rec['status'].upper()} (rc={rec['rc']}) {why}"
    v = m.get(sc.metric)  # type: ignore[union-attr]
    if not isinstance(v, float):
        return head + f"no {sc.metric} in the output"
    extra = " ".join(f"{k}={m[k]:.1f}" for k, _, _ in sc.columns if isinstance(m.get(k), float))  # type: ignore
    return head + f"{sc.metric}={v:.1f} {extra}  ({rec['elapsed_s']:.1f} s)"


# ------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------


def machine_info() -> Dict[str, object]:
    model = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        mem = open("/proc/meminfo").readline().split(":", 1)[1].strip()
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
            "os": platform.platform(), "memory": mem, "python": platform.python_version(),
            "hostname": socket.gethostname(), "loadavg_at_start": os.getloadavg()}


def versions(ctx: Ctx) -> Dict[str, str]:
    v: Dict[str, str] = {}
    for tool, args in (("wrk", ["-v"]), ("h2load", ["--version"]), ("oha", ["--version"]), ("nginx", ["-v"])):
        path = which(tool)
        if path:
            try:
                out = sh([path] + args, timeout=20).stdout
                m = re.search(r"(\d+\.\d+(?:\.\d+)?)", out)
                v[tool] = m.group(1) if m else "?"
            except (OSError, subprocess.TimeoutExpired):
                pass
    code = ("import importlib.metadata as m\n"
            "for p in ('pycurl','aiohttp','httpx','h2','pyreqwest','httpring'):\n"
            "    try: print(p, m.version(p))\n"
            "    except Exception: pass\n")
    try:
        for line in sh([PY, "-c", code], timeout=60, env=ctx.env).stdout.splitlines():
            k, _, val = line.partition(" ")
            v[k] = val
    except subprocess.TimeoutExpired:
        pass
    try:
        lib = ctypes.CDLL(str(ctx.lib_dir / "libhttpring.so"))
        lib.httpring_version.restype = ctypes.c_char_p
        v["libhttpring"] = lib.httpring_version().decode()
    except OSError:
        pass
    return v


def summarize(runs: List[Dict[str, object]]) -> Dict[tuple, Dict[str, object]]:
    """Per (scenario, client): median/min/max of every numeric metric over the ok runs."""
    out: Dict[tuple, Dict[str, object]] = {}
    by: Dict[tuple, List[Dict[str, object]]] = {}
    for r in runs:
        by.setdefault((r["scenario"], r["client"]), []).append(r)
    for key, rs in by.items():
        ok = [r for r in rs if r["status"] == "ok"]
        s: Dict[str, object] = {"runs": len(rs), "ok": len(ok), "statuses": [r["status"] for r in rs]}
        if ok:
            keys = {k for r in ok for k, v in r["metrics"].items() if isinstance(v, (int, float))}  # type: ignore
            for k in keys:
                vals = [float(r["metrics"][k]) for r in ok if isinstance(r["metrics"].get(k), (int, float))]  # type: ignore
                s[k] = {"median": statistics.median(vals), "min": min(vals), "max": max(vals)}
            srcs = {r["metrics"].get("cpu_src") for r in ok}  # type: ignore
            s["cpu_src"] = "process" if "process" in srcs else "window"
        else:
            s["why"] = (str(rs[-1]["stderr"]).strip().splitlines() or [rs[-1]["status"]])[-1][:200]
        out[key] = s
    return out


def fmt(v: Optional[float], f: str = "{:.0f}") -> str:
    if v is None:
        return "—"
    if f == "{:.0f}" and abs(v) >= 1000:
        return f"{v:,.0f}"
    return f.format(v)


def metric_fmt(sc: Scenario) -> str:
    return "{:.3f}" if sc.metric == "wall_s" else ("{:.1f}" if sc.metric == "mb_per_s" else "{:.0f}")


def write_report(ctx: Ctx, runs: List[Dict[str, object]], meta: Dict[str, object], out: Path) -> None:
    summ = summarize(runs)
    labels = {p.name: p.label for p in PEERS}
    lines = [
        "# httpring benchmark results",
        "",
        f"- Date: {meta['date']}",
        f"- Machine: {meta['machine']['nproc']} cores, {meta['machine']['cpu_model']}, "
        f"Linux {meta['machine']['kernel']}, {meta['machine']['memory']} RAM; "
        f"load average at start {', '.join(f'{x:.2f}' for x in meta['machine']['loadavg_at_start'])}",
        f"- Command: `{meta['command']}` ({meta['profile']}: {meta['reps']} repetition(s) per client; "
        f"took {meta['elapsed_s'] / 60:.1f} min)",
        f"- Servers pinned to core {ctx.server_core} (nginx: one worker; the test server: one thread), "
        f"every client pinned to core {ctx.client_core}.",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()),
        "",
        "Each cell is the median over the repetitions, with min–max. CPU is user+sys time of the client "
        "process divided by the requests (or MB): measured by the driver around its timed part "
        "(getrusage), or, marked †, for the whole process from wait4(2) (wrk, h2load, oha: their "
        "start-up is negligible). `× httpring` is the client's median over httpring C driver's "
        "(for req/s and MB/s higher is better, for latency and wall time lower is better).",
        "",
    ]
    for note in ctx.notes:
        lines.append(f"> {note}")
    if ctx.notes:
        lines.append("")
    for sc in SCENARIOS:
        rows = [(p, summ.get((sc.id, p.name))) for p in PEERS]
        rows = [(p, s) for p, s in rows if s is not None]
        if not rows:
            continue
        lines += [f"## {title(ctx, sc)}", ""]
        if sc.note:
            lines += [sc.note, ""]
        base = summ.get((sc.id, "httpring-c"), {}).get(sc.metric)
        base_med = base["median"] if isinstance(base, dict) else None
        bl = sc.baseline_label or sc.baseline
        extra_hdr = [f"{bl} {sc.metric_label}", f"× {bl.split(' (')[0]}"] if sc.baseline else []
        hdr = (["client", f"{sc.metric_label} (median)", "min–max"] + [c[1] for c in sc.columns] + extra_hdr
               + ["× httpring C"])
        lines.append("| " + " | ".join(hdr) + " |")
        lines.append("|" + "|".join(["---"] + ["---:"] * (len(hdr) - 1)) + "|")
        mf = metric_fmt(sc)
        footnotes = []
        for p, s in rows:
            name = labels[p.name] + (" **(httpring)**" if p.httpring else "")
            if not s.get("ok"):
                st = set(s["statuses"])  # type: ignore[arg-type]
                why = "not supported yet" if st == {"unsupported"} else "/".join(sorted(st))
                footnotes.append(f"- {labels[p.name]}: {why}: `{str(s.get('why', '')).replace('`', '')}`")
                lines.append(f"| {name} | {why} |" + " |" * (len(hdr) - 2))
                continue
            m = s.get(sc.metric)
            cells = [name, fmt(m["median"], mf) if m else "—",
                     f"{fmt(m['min'], mf)}–{fmt(m['max'], mf)}" if m else "—"]
            for key, _label, f in sc.columns:
                v = s.get(key)
                c = fmt(v["median"], f) if isinstance(v, dict) else "—"
                if key.startswith("cpu_") and isinstance(v, dict) and s.get("cpu_src") == "process":
                    c += " †"
                cells.append(c)
            if sc.baseline:  # this client's own result in the baseline scenario, same run
                b = summ.get((sc.baseline, p.name), {}).get(sc.metric)
                cells.append(fmt(b["median"], mf) if isinstance(b, dict) else "—")
                cells.append(f"{m['median'] / b['median']:.2f}×" if (m and isinstance(b, dict) and b["median"])
                             else "—")
            ratio = (m["median"] / base_med) if (m and base_med) else None
            cells.append(f"{ratio:.2f}×" if ratio is not None else "—")
            if s["ok"] < s["runs"]:
                cells[0] += f" ({s['runs'] - s['ok']} of {s['runs']} runs failed)"
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        if footnotes:
            lines += footnotes + [""]
    # Targets
    tl = ["## Targets from issues 7, 18 and 19 (this run)", "", "| target | measured | met |", "|---|---|---|"]
    for scid, client, key, rel, other, factor in TARGETS:
        a = summ.get((scid, client), {}).get(key)
        if not isinstance(a, dict):
            oname = f"{other[1]} ({other[0]})" if isinstance(other, tuple) else other
            tl.append(f"| {client} {key} ({scid}) {rel} {factor}× {oname} | no result | — |")
            continue
        if isinstance(other, tuple):  # another scenario's result, same run
            oscid, oclient = other
            b = summ.get((oscid, oclient), {}).get(key)
            desc = f"{client} {key} ({scid}) {rel} {factor}× {oclient} ({oscid})"
            if not isinstance(b, dict):
                tl.append(f"| {desc} | {oscid}: no result | — |")
                continue
            bound = b["median"] * factor
            got = f"{a['median']:.1f} vs {b['median']:.1f}: {a['median'] / b['median']:.2f}×"
        elif isinstance(other, str):
            b = summ.get((scid, other), {}).get(key)
            if not isinstance(b, dict):
                tl.append(f"| {client} {key} ({scid}) {rel} {factor}× {other} | {other}: no result | — |")
                continue
            bound = b["median"] * factor
            desc = f"{client} {key} ({scid}) {rel} {factor}× {other}"
            got = f"{a['median']:.1f} vs {other} {b['median']:.1f}: {a['median'] / b['median']:.2f}×"
        else:
            bound = float(other)
            desc = f"{client} {key} ({scid}) {rel} {bound:g}"
            got = f"{a['median']:.2f}"
        ok = {">=": a["median"] >= bound, "<=": a["median"] <= bound, "<": a["median"] < bound}[rel]
        tl.append(f"| {desc} | {got} | {'yes' if ok else '**no**'} |")
    lines += tl + [""]
    if ctx.skipped:
        lines += ["## Clients not measured", ""]
        for name, why in ctx.skipped.items():
            lines.append(f"- {labels.get(name, name)}: {why}")
        lines.append("")
    skips = [(p, sid, why) for p in PEERS for sid, why in p.skip.items() if p.name not in ctx.skipped]
    if skips:
        lines += ["Left out on purpose:", ""]
        lines += [f"- {p.label} in {sid}: {why}" for p, sid, why in skips]
        lines.append("")
    lines += ["## Clients", ""]
    lines += [f"- **{p.label}** (`{p.name}`): {p.notes}" for p in PEERS]
    lines += ["", "Latency distributions: [latency.svg](latency.svg). Every run: [raw.json](raw.json).", ""]
    (out / "results.md").write_text("\n".join(lines))
    (out / "latency.svg").write_text(latency_svg(runs, labels, meta))


def latency_svg(runs: List[Dict[str, object]], labels: Dict[str, str], meta: Dict[str, object]) -> str:
    """Latency by percentile, one line per client (the repetition with the median p50).
    x: percentile on a 'nines' scale (-log10(1 - q)); y: latency, log scale."""
    import math

    series = []
    by: Dict[str, List[Dict[str, object]]] = {}
    for r in runs:
        if r["scenario"] == "latency" and r["status"] == "ok" and r["metrics"].get("q_map"):  # type: ignore
            by.setdefault(str(r["client"]), []).append(r)
    for p in PEERS:
        rs = by.get(p.name)
        if not rs:
            continue
        rs.sort(key=lambda r: r["metrics"]["p50_us"])  # type: ignore
        rep = rs[len(rs) // 2]
        pts = sorted((float(q), float(v)) for q, v in rep["metrics"]["q_map"].items())  # type: ignore
        series.append((p, pts))
    W, H, L, R, T, B = 1040, 540, 70, 330, 50, 60
    pw, ph = W - L - R, H - T - B
    xmax = 4.6

    def xq(q: float) -> float:
        x = xmax if q >= 100 else min(4.0, -math.log10(1 - q / 100))
        return L + pw * x / xmax

    vals = [v for _, pts in series for _, v in pts if v > 0] or [1, 1000]
    lo = 10 ** math.floor(math.log10(max(1.0, min(vals))))
    hi = 10 ** math.ceil(math.log10(max(vals) * 1.05))

    def yv(v: float) -> float:
        v = max(v, lo)
        return T + ph * (1 - (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)))

    colors = ["#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
              "#bcbd22", "#17becf", "#000000", "#aec7e8"]
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
         'font-family="sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{L}" y="22" font-size="15" font-weight="bold">Sequential latency by percentile '
         f'(one connection, 13-byte responses)</text>',
         f'<text x="{L}" y="40" fill="#555">{html.escape(str(meta["date"]))} · '
         f'{html.escape(str(meta["machine"]["cpu_model"]))} · median repetition per client</text>']
    d = lo
    while d <= hi * 1.0001:
        for mult in (1, 2, 5):
            v = d * mult
            if lo <= v <= hi:
                y = yv(v)
                o.append(f'<line x1="{L}" x2="{L + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>')
                o.append(f'<text x="{L - 6}" y="{y + 4:.1f}" text-anchor="end">{v:g}</text>')
        d *= 10
    for q, lab in ((0, "min"), (50, "p50"), (90, "p90"), (99, "p99"), (99.9, "p99.9"), (99.99, "p99.99"),
                   (100, "max")):
        x = xq(q)
        o.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{T}" y2="{T + ph}" stroke="#e5e5e5"/>')
        o.append(f'<text x="{x:.1f}" y="{T + ph + 18}" text-anchor="middle">{lab}</text>')
    o.append(f'<rect x="{L}" y="{T}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>')
    o.append(f'<text x="{L + pw / 2}" y="{H - 12}" text-anchor="middle">percentile</text>')
    o.append(f'<text transform="translate(18,{T + ph / 2}) rotate(-90)" text-anchor="middle">'
             'latency, µs (log scale)</text>')
    for i, (p, pts) in enumerate(series):
        c = colors[i % len(colors)]
        width = 3 if p.httpring else 1.6
        path = " ".join(f"{xq(q):.1f},{yv(v):.1f}" for q, v in pts)
        o.append(f'<polyline points="{path}" fill="none" stroke="{c}" stroke-width="{width}"/>')
        for q, v in pts:
            o.append(f'<circle cx="{xq(q):.1f}" cy="{yv(v):.1f}" r="2.2" fill="{c}"/>')
        ly = T + 14 + i * 20
        p50 = dict(pts).get(50.0)
        o.append(f'<line x1="{L + pw + 14}" x2="{L + pw + 38}" y1="{ly - 4}" y2="{ly - 4}" stroke="{c}" '
                 f'stroke-width="{width}"/>')
        o.append(f'<text x="{L + pw + 44}" y="{ly}">{html.escape(labels[p.name])}'
                 f'{f" (p50 {p50:.0f})" if p50 else ""}</text>')
    if not series:
        o.append(f'<text x="{L + 20}" y="{T + 30}">no latency results</text>')
    o.append("</svg>")
    return "\n".join(o) + "\n"


# ------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="one repetition, small counts, no slow installs")
    ap.add_argument("--reps", type=int, default=0, help="repetitions per client (default 3; quick 1)")
    ap.add_argument("--only", default="", help="comma list of scenario ids: " + ",".join(s.id for s in SCENARIOS))
    ap.add_argument("--clients", default="", help="comma list of clients: " + ",".join(p.name for p in PEERS))
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--install", dest="install", action="store_true", default=None, help="install missing peers")
    g.add_argument("--no-install", dest="install", action="store_false")
    ap.add_argument("--out", default="", help="report directory (default bench/results; quick: build/bench-quick)")
    ap.add_argument("--lib-dir", default=os.environ.get("HTTPRING_LIB_DIR", str(ROOT / "target" / "release")))
    ap.add_argument("--testserver", default="")
    ap.add_argument("--no-nginx", action="store_true",
                    help="use the test server for the HTTP/1.1 scenarios (as when nginx cannot be installed)")
    ap.add_argument("--python-path", default=os.environ.get("HTTPRING_PYTHONPATH", ""),
                    help="extra PYTHONPATH for the httpring binding (default: bindings/python/src if present)")
    ap.add_argument("--from-raw", default="", metavar="RAW_JSON",
                    help="only rewrite results.md and latency.svg (in --out) from an earlier raw.json")
    args = ap.parse_args()
    if args.from_raw:
        import types

        data = json.loads(Path(args.from_raw).read_text())
        meta = data["meta"]
        out = Path(args.out or Path(args.from_raw).parent)
        out.mkdir(parents=True, exist_ok=True)
        view = types.SimpleNamespace(server_core=meta["server_core"], client_core=meta["client_core"],
                                     notes=meta["notes"], skipped=meta["skipped"], profile=meta["profile"])
        write_report(view, data["runs"], meta, out)  # type: ignore[arg-type]
        log(f"wrote {out}/results.md, latency.svg")
        return 0
    args.testserver = args.testserver or str(Path(args.lib_dir) / "examples" / "testserver")
    out = Path(args.out or (ROOT / "build" / "bench-quick" if args.quick else BENCH / "results"))
    if args.install is None:
        args.install = True
    t_start = time.time()
    ctx = Ctx(args)
    ctx.fallback = False

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        os.sched_setaffinity(0, {ctx.server_core})  # keep the runner off the client's core
    except OSError:
        pass
    try:
        if not (ctx.lib_dir / "libhttpring.so").exists():
            log(f"error: {ctx.lib_dir / 'libhttpring.so'} not found: run `make build` first")
            return 1
        if args.install:
            install(ctx)
        for t in ("wrk", "h2load", "oha", "nginx", "openssl"):
            ctx.tools[t] = which(t)
        probe_modules(ctx, ["httpring"] + [m for m in PIP])
        build_drivers(ctx)
        ctx.server_info = {}
        start_nginx(ctx)
        start_testserver(ctx)
        runs = run_all(ctx)
    finally:
        ctx.servers.stop()
    elapsed = time.time() - t_start
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_info(), "profile": ctx.profile, "reps": args.reps or (1 if args.quick else 3),
        "command": "make bench-quick" if args.quick else "make bench", "elapsed_s": elapsed,
        "versions": versions(ctx), "servers": ctx.server_info, "server_core": ctx.server_core,
        "client_core": ctx.client_core, "notes": ctx.notes, "skipped": getattr(ctx, "skipped", {}),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "raw.json").write_text(json.dumps({"meta": meta, "runs": runs}, indent=1, default=str) + "\n")
    write_report(ctx, runs, meta, out)
    shutil.rmtree(ctx.tmp, ignore_errors=True)
    log(f"\nwrote {out}/results.md, latency.svg, raw.json in {elapsed:.0f} s")
    bad = []
    for r in runs:
        peer = next(p for p in PEERS if p.name == r["client"])
        sc = SCENARIO_BY_ID[str(r["scenario"])]
        if not peer.httpring or r["status"] == "ok":
            continue
        if r["status"] == "unsupported" and sc.httpring_may_be_unsupported:
            continue
        bad.append(f"{r['client']} in {r['scenario']} (rep {r['rep']}): {r['status']}")
    if "httpring-c" in getattr(ctx, "skipped", {}):
        bad.append("httpring-c: " + ctx.skipped["httpring-c"])
    if bad:
        log("httpring failed:\n  " + "\n  ".join(bad))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
