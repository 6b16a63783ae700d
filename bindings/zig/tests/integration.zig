//! Integration tests of the Zig binding against the project's test server, whose base URL
//! comes from HTTPRING_TEST_URL (scripts/with_server.sh sets it; `make test-zig` runs this).
//! Without it every test here is skipped.

const std = @import("std");
const httpring = @import("httpring");
const testing = std.testing;
const Client = httpring.Client;
const Completion = httpring.Completion;

fn baseUrl() ![]const u8 {
    const value = std.c.getenv("HTTPRING_TEST_URL") orelse return error.SkipZigTest;
    return std.mem.span(value);
}

/// `base ++ path`, formatted into `buf` and NUL-terminated for the C side.
fn url(buf: []u8, comptime path: []const u8, args: anytype) ![:0]const u8 {
    return std.mem.printSentinel(buf, "{s}" ++ path, .{try baseUrl()} ++ args, 0);
}

fn parseJson(body: []const u8) !std.json.Parsed(std.json.Value) {
    return std.json.parseFromSlice(std.json.Value, testing.allocator, body, .{});
}

fn field(value: std.json.Value, name: []const u8) []const u8 {
    return value.object.get(name).?.string;
}

test "GET: status, body, version, url, a header" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{});
    defer client.deinit();
    const target = try url(&buf, "/hello", .{});
    var h = try client.get(target);
    defer h.deinit();

    const r = try h.waitResponse(10_000);
    try testing.expectEqual(@as(u16, 200), r.status);
    try testing.expectEqualStrings("Hello, world!", r.body);
    try testing.expectEqual(httpring.HttpVersion.http1_1, r.version);
    try testing.expectEqualStrings(target, r.url);
    try testing.expectEqualStrings("text/plain", r.header("Content-Type").?);
    try testing.expect(r.elapsed_us > 0);
    try testing.expectEqual(httpring.State.done, try h.poll());
    try h.result();
    var msg: [64]u8 = undefined;
    try testing.expectEqualStrings("", try h.errorMessage(&msg));
}

test "POST JSON to /echo, and send() with method, headers, body, user_data" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{ .user_agent = "httpring-zig-test/1", .default_headers = &.{
        .{ .name = "X-Default", .value = "from-client" },
    } });
    defer client.deinit();

    const json = "{\"name\": \"zig\", \"n\": 7}";
    var h = try client.postJson(try url(&buf, "/echo", .{}), json);
    defer h.deinit();
    const r = try h.waitResponse(10_000);
    try testing.expectEqual(@as(u16, 200), r.status);
    const echo = try parseJson(r.body);
    defer echo.deinit();
    try testing.expectEqualStrings("POST", field(echo.value, "method"));
    try testing.expectEqualStrings("/echo", field(echo.value, "path"));
    try testing.expectEqualStrings(json, field(echo.value, "body"));
    const headers = echo.value.object.get("headers").?;
    try testing.expectEqualStrings("application/json", field(headers, "content-type"));
    try testing.expectEqualStrings("httpring-zig-test/1", field(headers, "user-agent"));
    try testing.expectEqualStrings("from-client", field(headers, "x-default"));

    var put = try client.send(.{
        .method = "PUT",
        .url = try url(&buf, "/echo?x=1", .{}),
        .headers = &.{
            .{ .name = "X-One", .value = "1" },
            .{ .name = "X-Two", .value = "a" },
            .{ .name = "x-two", .value = "b" },
            .{ .name = "X-Default", .value = "from-request" },
        },
        .body = "raw bytes",
        .user_data = 99,
    });
    defer put.deinit();
    const pr = try put.waitResponse(10_000);
    const e2 = try parseJson(pr.body);
    defer e2.deinit();
    try testing.expectEqualStrings("PUT", field(e2.value, "method"));
    try testing.expectEqualStrings("/echo?x=1", field(e2.value, "path"));
    try testing.expectEqualStrings("raw bytes", field(e2.value, "body"));
    const h2 = e2.value.object.get("headers").?;
    try testing.expectEqualStrings("1", field(h2, "x-one"));
    try testing.expectEqualStrings("a, b", field(h2, "x-two"));
    try testing.expectEqualStrings("from-request", field(h2, "x-default"));
    try testing.expectEqual(@as(u64, 99), try put.userData());
}

test "send() with more headers than the stack fast path, and per-request timeouts" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{});
    defer client.deinit();
    var names: [80][8]u8 = undefined;
    var headers: [80]httpring.Header = undefined;
    for (&headers, &names, 0..) |*h, *name, i| {
        h.* = .{ .name = try std.fmt.bufPrint(name, "x-h{d}", .{i}), .value = "v" };
    }
    var h = try client.send(.{ .url = try url(&buf, "/echo", .{}), .headers = &headers, .timeout_ms = 10_000 });
    defer h.deinit();
    const r = try h.waitResponse(10_000);
    const echo = try parseJson(r.body);
    defer echo.deinit();
    const got = echo.value.object.get("headers").?;
    try testing.expectEqualStrings("v", field(got, "x-h0"));
    try testing.expectEqualStrings("v", field(got, "x-h79"));
}

test "response headers: by name, nth value, iteration, raw block" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{});
    defer client.deinit();
    var h = try client.get(try url(&buf, "/headers", .{}));
    defer h.deinit();
    const r = try h.waitResponse(10_000);

    try testing.expectEqualStrings("a=1", r.header("set-cookie").?);
    try testing.expectEqualStrings("a=1", r.headerNth("Set-Cookie", 0).?);
    try testing.expectEqualStrings("b=2", r.headerNth("SET-COOKIE", 1).?);
    try testing.expect(r.headerNth("set-cookie", 2) == null);
    try testing.expectEqualStrings("Yes", r.header("X-Custom").?);
    try testing.expect(r.header("x-missing") == null);
    // A name longer than the stack buffer takes the iterating path.
    const long_name: [300]u8 = @splat('x');
    try testing.expect(r.header(&long_name) == null);

    var it = r.headerIterator();
    var count: usize = 0;
    var cookies: [2][]const u8 = undefined;
    var cookie_count: usize = 0;
    while (it.next()) |line| : (count += 1) {
        for (line.name) |ch| try testing.expect(!std.ascii.isUpper(ch));
        if (std.mem.eql(u8, line.name, "set-cookie")) {
            cookies[cookie_count] = line.value;
            cookie_count += 1;
        }
    }
    try testing.expectEqual(r.header_count, count);
    try testing.expectEqual(@as(usize, 2), cookie_count);
    try testing.expectEqualStrings("a=1", cookies[0]);
    try testing.expectEqualStrings("b=2", cookies[1]);

    const raw = r.rawHeaders();
    try testing.expect(std.mem.indexOf(u8, raw, "set-cookie: a=1\r\nset-cookie: b=2\r\n") != null);
    try testing.expect(std.mem.indexOf(u8, raw, "x-custom: Yes\r\n") != null);
}

test "low_speed: a trickling body fails as error.ReadTimeout before it ends" {
    var buf: [512]u8 = undefined;
    // /drip/40/50: a byte every 50 ms, 20 bytes/s; the limit asks for 100 over 300 ms.
    var client = try Client.init(.{ .low_speed = .{ .bytes_per_sec = 100, .time_ms = 300 } });
    defer client.deinit();
    var h = try client.get(try url(&buf, "/drip/40/50", .{}));
    defer h.deinit();
    try testing.expectError(error.ReadTimeout, h.waitResponse(10_000));
    var msg: [256]u8 = undefined;
    try testing.expect(std.mem.indexOf(u8, try h.errorMessage(&msg), "low-speed limit") != null);
}

test "max_recv_speed: 300,000 bytes at 1 MB/s take at least 0.3 s" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{ .max_recv_speed = 1_000_000 });
    defer client.deinit();
    const start = Io.Clock.Timestamp.now(io, .awake);
    var h = try client.get(try url(&buf, "/bytes/300000", .{}));
    defer h.deinit();
    const r = try h.waitResponse(10_000);
    const took = milliseconds(start);
    try testing.expectEqual(@as(usize, 300_000), r.body.len);
    try testing.expect(took >= 290 and took < 5_000);
}

test "max_send_speed: a 300,000-byte body at 1 MB/s arrives whole, after at least 0.25 s" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{ .max_send_speed = 1_000_000 });
    defer client.deinit();
    const total: u64 = 300_000;
    const body = try testing.allocator.alloc(u8, total);
    defer testing.allocator.free(body);
    for (body, 0..) |*b, i| b.* = byteAt(i);
    const start = Io.Clock.Timestamp.now(io, .awake);
    var h = try client.send(.{ .method = "POST", .url = try url(&buf, "/upload", .{}), .body = body });
    defer h.deinit();
    // 64 KiB pieces, each once the bytes before it are due: the last goes at ~0.26 s.
    try expectUploaded(h, total, Fnv.ofPattern(total), total);
    const took = milliseconds(start);
    try testing.expect(took >= 250 and took < 5_000);
}

test "speed limits set on one request override the client's" {
    var buf: [512]u8 = undefined;
    var buf2: [512]u8 = undefined;
    // An uncapped client: the request capped at 150 kB/s takes ~2 s, its sibling well
    // under one.
    var client = try Client.init(.{});
    defer client.deinit();
    const start = Io.Clock.Timestamp.now(io, .awake);
    var slow = try client.send(.{ .url = try url(&buf, "/bytes/300000", .{}), .max_recv_speed = 150_000 });
    defer slow.deinit();
    var fast = try client.send(.{ .url = try url(&buf2, "/bytes/300000", .{}) });
    defer fast.deinit();
    try testing.expectEqual(@as(usize, 300_000), (try fast.waitResponse(10_000)).body.len);
    const fast_took = milliseconds(start);
    try testing.expectEqual(@as(usize, 300_000), (try slow.waitResponse(10_000)).body.len);
    const slow_took = milliseconds(start);
    try testing.expect(slow_took >= 1_500 and fast_took < 1_000);
    // A request with a low-speed limit fails a trickle (/drip/40/50: 20 bytes/s).
    var limited = try client.send(.{
        .url = try url(&buf, "/drip/40/50", .{}),
        .low_speed = .{ .bytes_per_sec = 100, .time_ms = 300 },
    });
    defer limited.deinit();
    try testing.expectError(error.ReadTimeout, limited.waitResponse(10_000));
    // A client capped at 100 kB/s (3 s for 300,000 bytes): 0 lifts the caps for one
    // request, download and upload.
    var capped = try Client.init(.{ .max_recv_speed = 100_000, .max_send_speed = 100_000 });
    defer capped.deinit();
    const t0 = Io.Clock.Timestamp.now(io, .awake);
    var get = try capped.send(.{ .url = try url(&buf, "/bytes/300000", .{}), .max_recv_speed = 0 });
    defer get.deinit();
    try testing.expectEqual(@as(usize, 300_000), (try get.waitResponse(10_000)).body.len);
    const total: u64 = 300_000;
    const body = try testing.allocator.alloc(u8, total);
    defer testing.allocator.free(body);
    for (body, 0..) |*b, i| b.* = byteAt(i);
    var post = try capped.send(.{ .method = "POST", .url = try url(&buf2, "/upload", .{}), .body = body, .max_send_speed = 0 });
    defer post.deinit();
    try expectUploaded(post, total, Fnv.ofPattern(total), total);
    try testing.expect(milliseconds(t0) < 1_500);
}

test "a read timeout on /stall surfaces as error.ReadTimeout with a message" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{});
    defer client.deinit();
    var h = try client.send(.{ .url = try url(&buf, "/stall", .{}), .read_timeout_ms = 200 });
    defer h.deinit();

    try testing.expectEqual(httpring.State.failed, try h.wait(10_000));
    try testing.expectError(error.ReadTimeout, h.result());
    try testing.expectError(error.ReadTimeout, h.response());
    try testing.expectError(error.ReadTimeout, h.waitResponse(0));

    var msg: [256]u8 = undefined;
    const text = try h.errorMessage(&msg);
    try testing.expect(text.len > 0);
    var tiny: [4]u8 = undefined;
    try testing.expectEqualStrings(text[0..3], try h.errorMessage(&tiny));
    const full = try h.errorMessageAlloc(testing.allocator);
    defer testing.allocator.free(full);
    try testing.expectEqualStrings(text, full);

    // The same from the client's settings.
    var slow = try Client.init(.{ .read_timeout_ms = 150 });
    defer slow.deinit();
    var h2 = try slow.get(try url(&buf, "/stall", .{}));
    defer h2.deinit();
    try testing.expectError(error.ReadTimeout, h2.waitResponse(10_000));
}

test "cancel a pending request" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{});
    defer client.deinit();
    var h = try client.get(try url(&buf, "/stall", .{}));
    defer h.deinit();

    try testing.expectEqual(httpring.State.pending, try h.poll());
    try testing.expectEqual(httpring.State.pending, try h.wait(50));
    try testing.expectError(error.Pending, h.result());
    try testing.expectError(error.Pending, h.response());
    try h.cancel();
    try testing.expectEqual(httpring.State.failed, try h.wait(1000));
    try testing.expectError(error.Cancelled, h.result());
    try h.cancel(); // a finished request stays as it is
    try testing.expectError(error.Cancelled, h.result());

    // The client still works afterwards.
    var ok = try client.get(try url(&buf, "/hello", .{}));
    defer ok.deinit();
    try testing.expectEqual(@as(u16, 200), (try ok.waitResponse(10_000)).status);
}

test "waitAny returns the first to finish; waitAll joins; both time out" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{});
    defer client.deinit();
    var handles = [_]httpring.Handle{
        try client.get(try url(&buf, "/delay/600", .{})),
        try client.get(try url(&buf, "/delay/10", .{})),
        try client.get(try url(&buf, "/delay/400", .{})),
    };
    defer for (&handles) |*h| h.deinit();

    try testing.expectEqual(@as(?usize, 1), try client.waitAny(&handles, 10_000));
    try testing.expectEqual(httpring.State.pending, try handles[0].poll());
    try testing.expect(try client.waitAll(&handles, 10_000));
    for (handles) |h| try testing.expectEqual(httpring.State.done, try h.poll());
    // Finished handles: the lowest index wins.
    try testing.expectEqual(@as(?usize, 0), try client.waitAny(&handles, 0));

    var stalled = [_]httpring.Handle{
        try client.get(try url(&buf, "/stall", .{})),
        try client.get(try url(&buf, "/stall", .{})),
    };
    defer for (&stalled) |*h| h.deinit();
    try testing.expectEqual(@as(?usize, null), try client.waitAny(&stalled, 50));
    try testing.expect(!try client.waitAll(&stalled, 50));
    try stalled[1].cancel();
    try testing.expectEqual(@as(?usize, 1), try client.waitAny(&stalled, 1000));
}

test "completion fd loop: 1000 requests, each drained exactly once" {
    const total = 1000;
    const window = 200; // requests in flight at once
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{});
    defer client.deinit();

    var seen: [total]u8 = @splat(0);
    var submitted: usize = 0;
    var completed: usize = 0;
    var wakeups: usize = 0;
    var drained_batch: [64]Completion = undefined;

    var fds = [_]std.posix.pollfd{.{ .fd = client.fd(), .events = std.posix.POLL.IN, .revents = 0 }};
    try testing.expect(fds[0].fd >= 0);
    while (completed < total) {
        while (submitted < total and submitted - completed < window) : (submitted += 1) {
            _ = try client.send(.{ .url = try url(&buf, "/bytes/{d}", .{submitted % 100}), .user_data = submitted });
        }
        const ready = try std.posix.poll(&fds, 10_000);
        try testing.expect(ready == 1); // not a timeout
        try testing.expect(fds[0].revents & std.posix.POLL.IN != 0);
        wakeups += 1;
        while (true) {
            const done = try client.drain(&drained_batch);
            for (done) |completion| {
                const i = completion.user_data;
                try testing.expect(i < total);
                try testing.expectEqual(@as(u8, 0), seen[i]);
                seen[i] += 1;
                try completion.result();
                try testing.expectEqual(@as(u16, 200), completion.status);
                var h = client.handle(completion.id);
                try testing.expectEqual(i, try h.userData());
                const r = try h.response();
                try testing.expectEqual(@as(usize, i % 100), r.body.len);
                h.deinit();
                completed += 1;
            }
            if (done.len < drained_batch.len) break;
        }
    }
    for (seen) |n| try testing.expectEqual(@as(u8, 1), n);
    try testing.expectEqual(@as(usize, 0), try client.liveHandles());
    try testing.expectEqual(@as(usize, 0), (try client.drain(&drained_batch)).len);
    try testing.expect(!try client.waitReadable(0));
    // Completions are batched per runtime tick: far fewer wake-ups than requests.
    try testing.expect(wakeups < total);
    // A copy of a freed client has no fd to wait on: an error, not a wait that never ends.
    var gone = try Client.init(.{});
    const copy = gone;
    gone.deinit();
    try testing.expectError(error.ClientClosed, copy.waitReadable(null));
}

test "waitDrain loop without an fd: 500 requests, each handed over once, batches of 8+" {
    const total = 500;
    const window = 64;
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{});
    defer client.deinit();

    var seen: [total]u8 = @splat(0);
    var submitted: usize = 0;
    var completed: usize = 0;
    var batch: [64]Completion = undefined;
    while (completed < total) {
        while (submitted < total and submitted - completed < window) : (submitted += 1) {
            _ = try client.send(.{ .url = try url(&buf, "/hello", .{}), .user_data = submitted });
        }
        const want = @min(8, submitted - completed);
        const done = try client.waitDrain(&batch, want, 10_000);
        try testing.expect(done.len >= want); // not a timeout
        for (done) |completion| {
            const i = completion.user_data;
            try testing.expect(i < total);
            try testing.expectEqual(@as(u8, 0), seen[i]);
            seen[i] += 1;
            try completion.result();
            var h = client.handle(completion.id);
            try testing.expectEqualStrings("Hello, world!", (try h.response()).body);
            h.deinit();
            completed += 1;
        }
    }
    for (seen) |n| try testing.expectEqual(@as(u8, 1), n);
    try testing.expectEqual(@as(usize, 0), try client.liveHandles());
    // Nothing in flight: a short wait times out empty.
    try testing.expectEqual(@as(usize, 0), (try client.waitDrain(&batch, 1, 20)).len);
    try testing.expectError(error.InvalidArgument, client.waitDrain(batch[0..4], 5, 0));
}

test "invalid requests fail at submit with their own error and no handle" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{});
    defer client.deinit();
    try testing.expectError(error.InvalidUrl, client.get("not a url"));
    try testing.expectError(error.UnsupportedScheme, client.get("ftp://127.0.0.1/x"));
    try testing.expectError(error.InvalidUrl, client.get("http://127.0.0.1:99999/x"));
    var why: [256]u8 = undefined;
    try testing.expect(std.mem.indexOf(u8, httpring.lastErrorMessage(&why), "invalid port") != null);
    const target = try url(&buf, "/hello", .{});
    try testing.expectError(error.InvalidMethod, client.send(.{ .method = "BAD METHOD", .url = target }));
    try testing.expectError(error.InvalidHeader, client.send(.{ .url = target, .headers = &.{.{ .name = "bad name", .value = "x" }} }));
    try testing.expectError(error.InvalidHeader, client.send(.{ .url = target, .headers = &.{.{ .name = "x", .value = "a\r\nb" }} }));
    // The same through the step-by-step builder (a per-request timeout selects it).
    try testing.expectError(error.InvalidHeader, client.send(.{ .url = target, .timeout_ms = 1000, .headers = &.{.{ .name = "x", .value = "a\x00b" }} }));
    try testing.expectError(error.InvalidMethod, client.send(.{ .method = "", .url = target, .timeout_ms = 1000 }));
    try testing.expectEqual(@as(usize, 0), try client.liveHandles());
    try testing.expectError(error.InvalidArgument, Client.init(.{ .worker_threads = 0 }));
    try testing.expectError(error.InvalidArgument, Client.init(.{ .max_body_size = 0 }));
}

test "failures after submit: refused connection, body too large; 404 is a response" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{ .max_body_size = 50 });
    defer client.deinit();

    var refused = try client.get("http://127.0.0.1:1/");
    defer refused.deinit();
    try testing.expectError(error.ConnectRefused, refused.waitResponse(10_000));

    var big = try client.get(try url(&buf, "/bytes/100", .{}));
    defer big.deinit();
    try testing.expectError(error.BodyTooLarge, big.waitResponse(10_000));

    var missing = try client.get(try url(&buf, "/status/404", .{}));
    defer missing.deinit();
    const r = try missing.waitResponse(10_000);
    try testing.expectEqual(@as(u16, 404), r.status);
    try testing.expectEqualStrings("status 404", r.body);
    try testing.expectEqualStrings("Not Found", r.reason());

    // The server's own reason phrase.
    var fine = try client.get(try url(&buf, "/status/200?reason=Fine+thanks", .{}));
    defer fine.deinit();
    try testing.expectEqualStrings("Fine thanks", (try fine.waitResponse(10_000)).reason());
}

test "stale, foreign and closed handles are errors, never crashes" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{});
    var other = try Client.init(.{});
    defer other.deinit();

    var h = try client.get(try url(&buf, "/hello", .{}));
    const copy = h;
    _ = try h.wait(10_000);
    h.deinit();
    try testing.expectError(error.InvalidHandle, copy.poll());
    try testing.expectError(error.InvalidHandle, copy.response());

    var mine = try client.get(try url(&buf, "/hello", .{}));
    const foreign = other.handle(mine.id);
    try testing.expectError(error.ForeignHandle, foreign.poll());
    try testing.expectError(error.ForeignHandle, other.waitAny(&.{mine}, 0));

    client.deinit();
    try testing.expectError(error.ClientClosed, mine.poll());
}

test "a callback sees every completion" {
    const Counter = struct {
        n: std.atomic.Value(usize) = .init(0),
        fn onDone(self: *@This(), completion: Completion) void {
            if (completion.code == 0) _ = self.n.fetchAdd(1, .seq_cst);
        }
    };
    var counter: Counter = .{};
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{});
    defer client.deinit();
    try client.setCallback(&counter, Counter.onDone);

    var handles: [10]httpring.Handle = undefined;
    for (&handles) |*h| h.* = try client.get(try url(&buf, "/hello", .{}));
    defer for (&handles) |*h| h.deinit();
    try testing.expect(try client.waitAll(&handles, 10_000));
    var tries: usize = 0;
    while (counter.n.load(.seq_cst) < handles.len and tries < 1000) : (tries += 1) {
        try std.testing.io.sleep(.fromMilliseconds(1), .awake);
    }
    try testing.expectEqual(handles.len, counter.n.load(.seq_cst));
    try client.clearCallback();
}

// --- Client options, sendMany and stats ----------------------------------------------------
//
// Each option test would fail if the binding dropped the option: a made-up host name
// (under the reserved .test domain, which never resolves) only works through the option
// under test, or the option changes a counter or a version the test reads back.

const Io = std.Io;
const io = testing.io;

extern "c" fn setenv(name: [*:0]const u8, value: [*:0]const u8, overwrite: c_int) c_int;
extern "c" fn unsetenv(name: [*:0]const u8) c_int;
extern "c" fn getpid() c_int;

/// The test server's port (from HTTPRING_TEST_URL).
fn serverPort() !u16 {
    const base = try baseUrl();
    const colon = std.mem.lastIndexOfScalar(u8, base, ':') orelse return error.BadTestUrl;
    return std.fmt.parseInt(u16, base[colon + 1 ..], 10);
}

/// A small HTTP/1.1 server on a thread of the test, on 127.0.0.1 or a Unix socket. It
/// answers every request with its own request line as the body (what a proxy or a
/// Unix-socket server saw), and refuses CONNECT with 403, like a proxy that forbids tunnels.
const LineServer = struct {
    server: Io.net.Server,
    thread: std.Thread = undefined,
    port: u16 = 0,
    unix_path: ?[]const u8 = null,
    stop: std.atomic.Value(bool) = .init(false),
    connections: std.atomic.Value(usize) = .init(0),

    fn startTcp(self: *LineServer) !void {
        const addr: Io.net.IpAddress = .{ .ip4 = .loopback(0) };
        self.* = .{ .server = try addr.listen(io, .{ .reuse_address = true }) };
        self.port = self.server.socket.address.getPort();
        self.thread = try std.Thread.spawn(.{}, run, .{self});
    }

    fn startUnix(self: *LineServer, path: []const u8) !void {
        Io.Dir.deleteFileAbsolute(io, path) catch {};
        const addr = try Io.net.UnixAddress.init(path);
        self.* = .{ .server = try addr.listen(io, .{}), .unix_path = path };
        self.thread = try std.Thread.spawn(.{}, run, .{self});
    }

    fn deinit(self: *LineServer) void {
        self.stop.store(true, .seq_cst);
        // Wake the blocked accept with one last connection.
        if (self.unix_path) |path| {
            const addr = Io.net.UnixAddress.init(path) catch unreachable;
            if (addr.connect(io)) |s| s.close(io) else |_| {}
        } else {
            const addr: Io.net.IpAddress = .{ .ip4 = .loopback(self.port) };
            if (addr.connect(io, .{ .mode = .stream })) |s| s.close(io) else |_| {}
        }
        self.thread.join();
        self.server.deinit(io);
        if (self.unix_path) |path| Io.Dir.deleteFileAbsolute(io, path) catch {};
    }

    fn run(self: *LineServer) void {
        while (true) {
            const stream = self.server.accept(io) catch return;
            defer stream.close(io);
            if (self.stop.load(.seq_cst)) return;
            _ = self.connections.fetchAdd(1, .seq_cst);
            serve(stream) catch {};
        }
    }

    fn serve(stream: Io.net.Stream) !void {
        var buf: [8192]u8 = undefined;
        var n: usize = 0;
        while (std.mem.indexOf(u8, buf[0..n], "\r\n\r\n") == null) {
            if (n == buf.len) return error.HeadTooLarge;
            var vec = [_][]u8{buf[n..]};
            const got = try stream.read(io, &vec);
            if (got == 0) return;
            n += got;
        }
        const line = buf[0..std.mem.indexOf(u8, buf[0..n], "\r\n").?];
        var wbuf: [1024]u8 = undefined;
        var w = stream.writer(io, &wbuf);
        if (std.mem.startsWith(u8, line, "CONNECT ")) {
            try w.interface.writeAll("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        } else {
            try w.interface.print("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {d}\r\nConnection: close\r\n\r\n{s}", .{ line.len, line });
        }
        try w.interface.flush();
    }
};

fn getBody(client: Client, target: [:0]const u8, out: []u8) ![]const u8 {
    var h = try client.get(target);
    defer h.deinit();
    const r = try h.waitResponse(10_000);
    if (r.body.len > out.len) return error.NoSpaceLeft;
    @memcpy(out[0..r.body.len], r.body);
    return out[0..r.body.len];
}

fn expectGetError(client: Client, target: [:0]const u8, expected: httpring.Error) !void {
    var h = try client.get(target);
    defer h.deinit();
    try testing.expectError(expected, h.waitResponse(10_000));
}

test "resolve: a made-up host name reaches the test server without asking DNS" {
    var buf: [256]u8 = undefined;
    var body: [64]u8 = undefined;
    const port = try serverPort();
    var client = try Client.init(.{ .resolve = &.{
        .{ .host = "api.httpring.test", .port = port, .addr = "127.0.0.1" },
    } });
    defer client.deinit();
    const target = try std.fmt.bufPrintSentinel(&buf, "http://api.httpring.test:{d}/hello", .{port}, 0);
    try testing.expectEqualStrings("Hello, world!", try getBody(client, target, &body));
    try testing.expectEqual(@as(usize, 0), (try client.stats()).dns_lookups);
}

test "local_address: the server sees the chosen source; a bad one is refused; tcp_keepalive" {
    var buf: [256]u8 = undefined;
    var body: [64]u8 = undefined;
    const peer = try url(&buf, "/peer", .{});
    var plain = try Client.init(.{});
    defer plain.deinit();
    try testing.expectEqualStrings("127.0.0.1", try getBody(plain, peer, &body));
    var bound = try Client.init(.{ .local_address = "127.0.0.2", .tcp_keepalive = .{ .idle_ms = 30_000, .count = 3 } });
    defer bound.deinit();
    try testing.expectEqualStrings("127.0.0.2", try getBody(bound, peer, &body));
    try testing.expectError(error.InvalidArgument, Client.init(.{ .local_address = "eth0" }));
    try testing.expectError(error.InvalidArgument, Client.init(.{ .tcp_keepalive = .{ .idle_ms = 1_000, .count = 500 } }));
    // An IPv6 source cannot reach the IPv4 test server.
    var v6 = try Client.init(.{ .local_address = "::1" });
    defer v6.deinit();
    try expectGetError(v6, peer, error.Connect);
}

test "stats count connections, pooled connections and DNS lookups; dns_cache_ttl_ms" {
    var buf: [256]u8 = undefined;
    var body: [64]u8 = undefined;
    const port = try serverPort();

    // Keep-alive: three requests, one connection, which stays in the pool.
    var pooled = try Client.init(.{});
    defer pooled.deinit();
    for (0..3) |_| _ = try getBody(pooled, try url(&buf, "/hello", .{}), &body);
    var s = try pooled.stats();
    try testing.expectEqual(@as(usize, 1), s.connections_opened);
    try testing.expectEqual(@as(usize, 1), s.pooled_connections);
    try testing.expectEqual(@as(usize, 0), s.live_handles);
    var held = try pooled.get(try url(&buf, "/hello", .{}));
    try testing.expectEqual(@as(usize, 1), (try pooled.stats()).live_handles);
    held.deinit();

    // No reuse: a connection per request, each a DNS cache hit after the first ...
    const target = try std.fmt.bufPrintSentinel(&buf, "http://localhost:{d}/hello", .{port}, 0);
    var cached = try Client.init(.{ .pool_max_idle_per_host = 0 });
    defer cached.deinit();
    for (0..3) |_| try testing.expectEqualStrings("Hello, world!", try getBody(cached, target, &body));
    s = try cached.stats();
    try testing.expectEqual(@as(usize, 3), s.connections_opened);
    try testing.expectEqual(@as(usize, 0), s.pooled_connections);
    try testing.expectEqual(@as(usize, 1), s.dns_lookups);

    // ... and with the cache off, a lookup each time.
    var uncached = try Client.init(.{ .pool_max_idle_per_host = 0, .dns_cache_ttl_ms = 0 });
    defer uncached.deinit();
    for (0..3) |_| try testing.expectEqualStrings("Hello, world!", try getBody(uncached, target, &body));
    try testing.expectEqual(@as(usize, 3), (try uncached.stats()).dns_lookups);
}

test "h2c_prior_knowledge and http_version = http2_only speak HTTP/2 to the test server" {
    var buf: [512]u8 = undefined;
    const Case = struct { options: httpring.Options, version: httpring.HttpVersion };
    const cases = [_]Case{
        .{ .options = .{}, .version = .http1_1 },
        .{ .options = .{ .h2c_prior_knowledge = true }, .version = .http2 },
        // PINGs the test server answers leave the connection working.
        .{ .options = .{ .h2c_prior_knowledge = true, .http2_keepalive = .{ .interval_ms = 50, .while_idle = true } }, .version = .http2 },
        .{ .options = .{ .http_version = .http2_only }, .version = .http2 },
        .{ .options = .{ .http_version = .negotiate }, .version = .http1_1 },
    };
    for (cases) |case| {
        var client = try Client.init(case.options);
        defer client.deinit();
        var h = try client.get(try url(&buf, "/hello", .{}));
        defer h.deinit();
        const r = try h.waitResponse(10_000);
        try testing.expectEqualStrings("Hello, world!", r.body);
        try testing.expectEqual(case.version, r.version);
    }
}

test "proxy: requests go to the proxy; a refused CONNECT is error.Proxy; no_proxy bypasses it" {
    var proxy: LineServer = undefined;
    try proxy.startTcp();
    defer proxy.deinit();
    var buf: [256]u8 = undefined;
    var body: [256]u8 = undefined;
    const proxy_url = try std.fmt.bufPrintSentinel(&buf, "http://127.0.0.1:{d}", .{proxy.port}, 0);
    const port = try serverPort();

    var client = try Client.init(.{
        .proxy = proxy_url,
        .no_proxy = &.{"direct.httpring.test"},
        .resolve = &.{.{ .host = "direct.httpring.test", .port = port, .addr = "127.0.0.1" }},
    });
    defer client.deinit();
    try testing.expectEqualStrings(
        "GET http://proxied.httpring.test/some/path?q=1 HTTP/1.1",
        try getBody(client, "http://proxied.httpring.test/some/path?q=1", &body),
    );
    try testing.expectEqual(@as(usize, 1), proxy.connections.load(.seq_cst));
    try expectGetError(client, "https://secure.httpring.test/", error.Proxy);
    try testing.expectEqual(@as(usize, 2), proxy.connections.load(.seq_cst));

    var direct_buf: [256]u8 = undefined;
    const direct = try std.fmt.bufPrintSentinel(&direct_buf, "http://direct.httpring.test:{d}/hello", .{port}, 0);
    try testing.expectEqualStrings("Hello, world!", try getBody(client, direct, &body));
    try testing.expectEqual(@as(usize, 2), proxy.connections.load(.seq_cst));
}

test "use_env_proxy: http_proxy applies by default and not when turned off" {
    var proxy: LineServer = undefined;
    try proxy.startTcp();
    defer proxy.deinit();
    var buf: [256]u8 = undefined;
    var body: [256]u8 = undefined;
    const proxy_url = try std.fmt.bufPrintSentinel(&buf, "http://127.0.0.1:{d}", .{proxy.port}, 0);
    try testing.expectEqual(@as(c_int, 0), setenv("http_proxy", proxy_url.ptr, 1));
    defer _ = unsetenv("http_proxy");
    const port = try serverPort();
    var target_buf: [256]u8 = undefined;
    const target = try std.fmt.bufPrintSentinel(&target_buf, "http://env.httpring.test:{d}/hello", .{port}, 0);
    const resolve = [_]httpring.Resolve{.{ .host = "env.httpring.test", .addr = "127.0.0.1" }};

    var from_env = try Client.init(.{ .resolve = &resolve });
    defer from_env.deinit();
    var line_buf: [256]u8 = undefined;
    const line = try std.fmt.bufPrint(&line_buf, "GET {s} HTTP/1.1", .{target});
    try testing.expectEqualStrings(line, try getBody(from_env, target, &body));

    var no_env = try Client.init(.{ .resolve = &resolve, .use_env_proxy = false });
    defer no_env.deinit();
    try testing.expectEqualStrings("Hello, world!", try getBody(no_env, target, &body));
    try testing.expectEqual(@as(usize, 1), proxy.connections.load(.seq_cst));
}

test "unix_socket: requests go over the Unix socket, URL giving only Host and path" {
    var path_buf: [108]u8 = undefined;
    const path = try std.fmt.bufPrintSentinel(&path_buf, "/tmp/httpring-zig-{d}.sock", .{getpid()}, 0);
    var server: LineServer = undefined;
    try server.startUnix(path);
    defer server.deinit();
    var body: [256]u8 = undefined;

    var client = try Client.init(.{ .unix_socket = path });
    defer client.deinit();
    try testing.expectEqualStrings("GET /via/unix?x=1 HTTP/1.1", try getBody(client, "http://unix.httpring.test/via/unix?x=1", &body));
    try testing.expectEqual(@as(usize, 1), server.connections.load(.seq_cst));
}

/// The process's thread count, from /proc/self/status.
fn threadCount() !usize {
    var buf: [4096]u8 = undefined;
    const status = try Io.Dir.cwd().readFile(io, "/proc/self/status", &buf);
    const at = std.mem.indexOf(u8, status, "\nThreads:") orelse return error.NoThreadsLine;
    var it = std.mem.tokenizeAny(u8, status[at + "\nThreads:".len ..], " \t\n");
    return std.fmt.parseInt(usize, it.next().?, 10);
}

test "worker_threads: more workers, more runtime threads" {
    var buf: [512]u8 = undefined;
    var added: [2]usize = undefined;
    for ([_]u32{ 1, 3 }, &added) |workers, *out| {
        const before = try threadCount();
        var client = try Client.init(.{ .worker_threads = workers });
        defer client.deinit();
        var h = try client.get(try url(&buf, "/hello", .{})); // the runtime starts here
        defer h.deinit();
        _ = try h.waitResponse(10_000);
        out.* = try threadCount() - before;
    }
    try testing.expect(added[0] >= 1);
    try testing.expectEqual(added[0] + 2, added[1]);
}

/// Thread ids of this process, into `out`.
fn threadIds(out: []u32) ![]u32 {
    var dir = try Io.Dir.openDirAbsolute(io, "/proc/self/task", .{ .iterate = true });
    defer dir.close(io);
    var it = dir.iterate();
    var n: usize = 0;
    while (try it.next(io)) |entry| {
        if (n == out.len) return error.TooManyThreads;
        out[n] = try std.fmt.parseInt(u32, entry.name, 10);
        n += 1;
    }
    return out[0..n];
}

/// Context switches (voluntary and not) of the threads in `tids`.
fn contextSwitches(tids: []const u32) !usize {
    var total: usize = 0;
    for (tids) |tid| {
        var path_buf: [64]u8 = undefined;
        const path = try std.fmt.bufPrint(&path_buf, "/proc/self/task/{d}/status", .{tid});
        var buf: [4096]u8 = undefined;
        const status = Io.Dir.cwd().readFile(io, path, &buf) catch continue; // thread gone
        var lines = std.mem.tokenizeScalar(u8, status, '\n');
        while (lines.next()) |line| {
            if (std.mem.indexOf(u8, line, "ctxt_switches:") == null) continue;
            var words = std.mem.tokenizeAny(u8, line, " \t");
            _ = words.next();
            total += try std.fmt.parseInt(usize, words.next().?, 10);
        }
    }
    return total;
}

test "wait_drives_io: the waiting thread runs the I/O, so the runtime's threads sleep" {
    var buf: [512]u8 = undefined;
    const rounds = 20;
    var switches: [2]usize = undefined;
    for ([_]bool{ true, false }, &switches) |drives, *out| {
        var before_buf: [256]u32 = undefined;
        const before = try threadIds(&before_buf);
        var client = try Client.init(.{ .wait_drives_io = drives });
        defer client.deinit();
        var first = try client.get(try url(&buf, "/hello", .{}));
        _ = try first.waitResponse(10_000);
        first.deinit();
        // The client's threads: those that appeared with its first request.
        var now_buf: [256]u32 = undefined;
        var mine_buf: [256]u32 = undefined;
        var mine: usize = 0;
        for (try threadIds(&now_buf)) |tid| {
            if (std.mem.indexOfScalar(u32, before, tid) == null) {
                mine_buf[mine] = tid;
                mine += 1;
            }
        }
        const start = try contextSwitches(mine_buf[0..mine]);
        for (0..rounds) |_| {
            var h = try client.get(try url(&buf, "/hello", .{}));
            defer h.deinit();
            try testing.expectEqualStrings("Hello, world!", (try h.waitResponse(10_000)).body);
        }
        out.* = try contextSwitches(mine_buf[0..mine]) - start;
    }
    // Driving: the runtime's thread is not woken per request. Not driving: it is.
    try testing.expect(switches[0] < rounds / 2);
    try testing.expect(switches[1] >= rounds);
}

test "sendMany: one batch of many requests, per-request results, refusals in place" {
    var client = try Client.init(.{});
    defer client.deinit();
    const total = 150; // more than one chunk of max_batch
    var urls: [total][64:0]u8 = undefined;
    var requests: [total]httpring.Request = undefined;
    var many_names: [300][8]u8 = undefined;
    var many: [300]httpring.Header = undefined;
    for (&many, &many_names, 0..) |*h, *name, i| h.* = .{ .name = try std.fmt.bufPrint(name, "x-h{d}", .{i}), .value = "v" };
    for (&requests, &urls, 0..) |*req, *u, i| {
        req.* = .{ .url = try url(&u.*, "/bytes/{d}", .{i}), .user_data = 1000 + i };
    }
    requests[3] = .{ .method = "POST", .url = try url(&urls[3], "/echo", .{}), .headers = &.{.{ .name = "X-Batch", .value = "yes" }}, .body = "batched body", .user_data = 1003 };
    requests[5] = .{ .method = "BAD METHOD", .url = requests[5].url, .user_data = 1005 };
    requests[7] = .{ .url = try url(&urls[7], "/stall", .{}), .read_timeout_ms = 100, .user_data = 1007 };
    requests[9] = .{ .url = "ftp://127.0.0.1/x", .user_data = 1009 };
    // Three requests of 90 headers do not fit one chunk's 256 header slots: the chunk ends
    // early. One of 300 is sent on its own (the test server answers it 431: over its limit).
    for (20..23) |i| requests[i] = .{ .url = try url(&urls[i], "/echo", .{}), .headers = many[0..90], .user_data = 1000 + i };
    requests[100] = .{ .url = try url(&urls[100], "/echo", .{}), .headers = &many, .user_data = 1100 };

    var out: [total]httpring.SubmitError!httpring.Handle = undefined;
    try testing.expectEqual(@as(usize, total - 2), try client.sendMany(&requests, &out));
    try testing.expectError(error.InvalidMethod, out[5]);
    try testing.expectError(error.UnsupportedScheme, out[9]);
    for (&out, 0..) |*result, i| {
        var h = (result.*) catch continue;
        defer h.deinit();
        try testing.expectEqual(@as(u64, 1000 + i), try h.userData());
        switch (i) {
            3 => {
                const echo = try parseJson((try h.waitResponse(10_000)).body);
                defer echo.deinit();
                try testing.expectEqualStrings("POST", field(echo.value, "method"));
                try testing.expectEqualStrings("batched body", field(echo.value, "body"));
                try testing.expectEqualStrings("yes", field(echo.value.object.get("headers").?, "x-batch"));
            },
            7 => try testing.expectError(error.ReadTimeout, h.waitResponse(10_000)),
            20, 21, 22 => {
                const echo = try parseJson((try h.waitResponse(10_000)).body);
                defer echo.deinit();
                try testing.expectEqualStrings("v", field(echo.value.object.get("headers").?, "x-h89"));
            },
            100 => _ = try h.waitResponse(10_000), // a response, whatever its status
            else => try testing.expectEqual(i, (try h.waitResponse(10_000)).body.len),
        }
    }
    try testing.expectEqual(@as(usize, 0), try client.liveHandles());
    try testing.expectError(error.InvalidArgument, client.sendMany(&requests, out[0..1]));

    var closed = try Client.init(.{});
    const stale = closed;
    closed.deinit();
    try testing.expectEqual(@as(usize, 0), try stale.sendMany(requests[0..2], out[0..2]));
    try testing.expectError(error.ClientClosed, out[0]);
    try testing.expectError(error.ClientClosed, out[1]);
    try testing.expectError(error.ClientClosed, stale.stats());
}

/// A certificate authority, a server certificate for tls.httpring.test and 127.0.0.1, and a
/// client certificate, made by `openssl` in a fresh temporary directory (its path returned).
const make_certs =
    \\set -e
    \\d=$(mktemp -d /tmp/httpring-zig-tls.XXXXXX); cd "$d"
    \\key() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "$@" 2>/dev/null; }
    \\key -x509 -keyout ca.key -out ca.pem -days 2 -subj /CN=httpring-zig-test-ca \
    \\  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
    \\key -keyout server.key -out server.csr -subj /CN=tls.httpring.test
    \\printf 'subjectAltName=DNS:tls.httpring.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > server.ext
    \\openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext 2>/dev/null
    \\key -keyout client.key -out client.csr -subj /CN=httpring-zig-client
    \\printf 'extendedKeyUsage=clientAuth\n' > client.ext
    \\openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 -extfile client.ext 2>/dev/null
    \\openssl pkcs8 -topk8 -in client.key -out client-enc.key -v2 aes-256-cbc -passout pass:s3cret
    \\openssl x509 -in server.pem -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64 -w0 > pin.txt
    \\printf 'Hello over TLS' > hello.txt
    \\printf '%s' "$d"
;

/// `openssl s_server` serving the files of `dir` (-WWW) on 127.0.0.1:`port`.
fn startTlsServer(dir: []const u8, port: u16, extra: []const []const u8) !std.process.Child {
    var accept_buf: [32]u8 = undefined;
    var argv_buf: [16][]const u8 = undefined;
    const base = [_][]const u8{ "openssl", "s_server", "-quiet", "-WWW", "-cert", "server.pem", "-key", "server.key", "-accept", try std.fmt.bufPrint(&accept_buf, "127.0.0.1:{d}", .{port}) };
    @memcpy(argv_buf[0..base.len], &base);
    @memcpy(argv_buf[base.len..][0..extra.len], extra);
    var child = try std.process.spawn(io, .{
        .argv = argv_buf[0 .. base.len + extra.len],
        .cwd = .{ .path = dir },
        .stdin = .ignore,
        .stdout = .ignore,
        .stderr = .ignore,
    });
    errdefer child.kill(io);
    const addr: Io.net.IpAddress = .{ .ip4 = .loopback(port) };
    for (0..200) |_| {
        if (addr.connect(io, .{ .mode = .stream })) |s| {
            s.close(io);
            return child;
        } else |_| try io.sleep(.fromMilliseconds(25), .awake);
    }
    return error.TlsServerDidNotStart;
}

fn freePort() !u16 {
    const addr: Io.net.IpAddress = .{ .ip4 = .loopback(0) };
    var server = try addr.listen(io, .{});
    defer server.deinit(io);
    return server.socket.address.getPort();
}

test "TLS options: root store, CA file and PEM, danger_accept_invalid_certs, min TLS version, client certificates" {
    const made = std.process.run(testing.allocator, io, .{ .argv = &.{ "sh", "-c", make_certs } }) catch return error.SkipZigTest;
    defer testing.allocator.free(made.stdout);
    defer testing.allocator.free(made.stderr);
    if (!made.term.success() or made.stdout.len == 0) return error.SkipZigTest; // no openssl
    const dir = made.stdout;
    defer {
        const rm = std.process.run(testing.allocator, io, .{ .argv = &.{ "rm", "-rf", dir } }) catch null;
        if (rm) |r| {
            testing.allocator.free(r.stdout);
            testing.allocator.free(r.stderr);
        }
    }
    var path_bufs: [6][256]u8 = undefined;
    const ca_path = try std.fmt.bufPrintSentinel(&path_bufs[0], "{s}/ca.pem", .{dir}, 0);
    const cert_path = try std.fmt.bufPrintSentinel(&path_bufs[1], "{s}/client.pem", .{dir}, 0);
    const key_path = try std.fmt.bufPrintSentinel(&path_bufs[2], "{s}/client.key", .{dir}, 0);
    const enc_key_path = try std.fmt.bufPrintSentinel(&path_bufs[5], "{s}/client-enc.key", .{dir}, 0);
    var pin_path_buf: [256]u8 = undefined;
    var pin_raw: [128]u8 = undefined;
    var pin_buf: [160]u8 = undefined;
    const pin_b64 = try Io.Dir.cwd().readFile(io, try std.fmt.bufPrint(&pin_path_buf, "{s}/pin.txt", .{dir}), &pin_raw);
    const pin = try std.fmt.bufPrintSentinel(&pin_buf, "sha256//{s}", .{pin_b64}, 0);
    var pem_bufs: [4][8192]u8 = undefined;
    const enc_key_pem = try Io.Dir.cwd().readFile(io, enc_key_path, &pem_bufs[3]);
    const ca_pem = try Io.Dir.cwd().readFile(io, ca_path, &pem_bufs[0]);
    const cert_pem = try Io.Dir.cwd().readFile(io, cert_path, &pem_bufs[1]);
    const key_pem = try Io.Dir.cwd().readFile(io, key_path, &pem_bufs[2]);

    // The engine reads the system roots once per process, at its first https connection
    // with them (this test makes the process's first): they are then exactly our CA.
    try testing.expectEqual(@as(c_int, 0), setenv("SSL_CERT_FILE", ca_path.ptr, 1));
    defer _ = unsetenv("SSL_CERT_FILE");

    // A: TLS 1.2 only. B: requires a client certificate signed by the CA.
    const port_a = try freePort();
    var a = try startTlsServer(dir, port_a, &.{"-tls1_2"});
    defer a.kill(io);
    const port_b = try freePort();
    var b = try startTlsServer(dir, port_b, &.{ "-Verify", "1", "-CAfile", "ca.pem" });
    defer b.kill(io);
    const resolve = [_]httpring.Resolve{.{ .host = "tls.httpring.test", .addr = "127.0.0.1" }};
    const url_a = try std.fmt.bufPrintSentinel(&path_bufs[3], "https://tls.httpring.test:{d}/hello.txt", .{port_a}, 0);
    const url_b = try std.fmt.bufPrintSentinel(&path_bufs[4], "https://tls.httpring.test:{d}/hello.txt", .{port_b}, 0);
    var body: [64]u8 = undefined;

    const Case = struct { options: httpring.Options, expect: ?httpring.Error, target: [:0]const u8 };
    const cases = [_]Case{
        // The root store: system (our CA, through SSL_CERT_FILE) trusts it, the others do not.
        .{ .options = .{ .resolve = &resolve }, .expect = null, .target = url_a },
        .{ .options = .{ .resolve = &resolve, .root_store = .none }, .expect = error.TlsCertificate, .target = url_a },
        .{ .options = .{ .resolve = &resolve, .root_store = .bundled }, .expect = error.TlsCertificate, .target = url_a },
        // Only the CA given here.
        .{ .options = .{ .resolve = &resolve, .root_store = .none, .ca_file = ca_path }, .expect = null, .target = url_a },
        .{ .options = .{ .resolve = &resolve, .root_store = .none, .ca_pem = &.{ca_pem} }, .expect = null, .target = url_a },
        .{ .options = .{ .resolve = &resolve, .root_store = .none, .danger_accept_invalid_certs = true }, .expect = null, .target = url_a },
        // Public-key pinning: A's key, and another one.
        .{ .options = .{ .resolve = &resolve, .pinned_public_key = pin }, .expect = null, .target = url_a },
        .{ .options = .{ .resolve = &resolve, .pinned_public_key = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" }, .expect = error.TlsCertificate, .target = url_a },
        // A speaks only TLS 1.2.
        .{ .options = .{ .resolve = &resolve, .min_tls_version = .tls1_3 }, .expect = error.Tls, .target = url_a },
        .{ .options = .{ .resolve = &resolve, .min_tls_version = .tls1_2 }, .expect = null, .target = url_a },
        // B wants a client certificate.
        .{ .options = .{ .resolve = &resolve }, .expect = error.Tls, .target = url_b },
        .{ .options = .{ .resolve = &resolve, .client_cert_file = .{ .cert_path = cert_path, .key_path = key_path } }, .expect = null, .target = url_b },
        .{ .options = .{ .resolve = &resolve, .client_cert_pem = .{ .cert = cert_pem, .key = key_pem } }, .expect = null, .target = url_b },
        // An encrypted key (openssl pkcs8 -topk8) with its password.
        .{ .options = .{ .resolve = &resolve, .client_cert_file = .{ .cert_path = cert_path, .key_path = enc_key_path, .password = "s3cret" } }, .expect = null, .target = url_b },
        .{ .options = .{ .resolve = &resolve, .client_cert_pem = .{ .cert = cert_pem, .key = enc_key_pem, .password = "s3cret" } }, .expect = null, .target = url_b },
    };
    for (cases, 0..) |case, i| {
        errdefer std.debug.print("TLS case {d} failed\n", .{i});
        var client = try Client.init(case.options);
        defer client.deinit();
        if (case.expect) |err| {
            try expectGetError(client, case.target, err);
        } else {
            try testing.expectEqualStrings("Hello over TLS", try getBody(client, case.target, &body));
        }
    }
    // Bad TLS material is refused when the client is made.
    try testing.expectError(error.InvalidArgument, Client.init(.{ .ca_pem = &.{"not a certificate"} }));
    try testing.expectError(error.InvalidArgument, Client.init(.{ .client_cert_file = .{ .cert_path = cert_path, .key_path = enc_key_path, .password = "wrong" } }));
    try testing.expectError(error.InvalidArgument, Client.init(.{ .client_cert_file = .{ .cert_path = cert_path, .key_path = enc_key_path } }));
}

test "redirects: off by default; followed when on, with the final URL; limit and loop errors" {
    var buf: [512]u8 = undefined;
    var final: [512]u8 = undefined;
    {
        var client = try Client.init(.{});
        defer client.deinit();
        var h = try client.get(try url(&buf, "/redirect/2", .{}));
        defer h.deinit();
        const r = try h.waitResponse(10_000);
        try testing.expectEqual(@as(u16, 302), r.status);
    }
    var client = try Client.init(.{ .follow_redirects = true, .max_redirects = 3 });
    defer client.deinit();
    var ok = try client.get(try url(&buf, "/redirect/3", .{}));
    defer ok.deinit();
    const r = try ok.waitResponse(10_000);
    try testing.expectEqual(@as(u16, 200), r.status);
    try testing.expectEqualStrings("redirected", r.body);
    try testing.expectEqualStrings(try url(&final, "/redirect/0", .{}), r.url);

    var too_many = try client.get(try url(&buf, "/redirect/4", .{}));
    defer too_many.deinit();
    try testing.expectError(error.TooManyRedirects, too_many.waitResponse(10_000));

    var looping = try client.get(try url(&buf, "/loop", .{}));
    defer looping.deinit();
    try testing.expectError(error.TooManyRedirects, looping.waitResponse(10_000));
}

test "redirect stops: the hop into a kept origin is the answer; an earlier exception follows" {
    var buf: [512]u8 = undefined;
    var hop_buf: [512]u8 = undefined;
    var other: [128]u8 = undefined;
    const port = try serverPort();
    // "localhost" is another origin than 127.0.0.1 (the same server).
    const hop = try url(&hop_buf, "/redirect-to?status=307&url=http://localhost:{d}/echo", .{port});
    const kept = try std.mem.printSentinel(&other, "http://localhost:{d}", .{port}, 0);
    var client = try Client.init(.{ .follow_redirects = true, .redirect_stops = &.{.{ .pattern = kept }} });
    defer client.deinit();
    var h = try client.get(hop);
    defer h.deinit();
    try testing.expectEqual(@as(u16, 307), (try h.waitResponse(10_000)).status);
    var same = try client.get(try url(&buf, "/redirect/2", .{}));
    defer same.deinit();
    try testing.expectEqual(@as(u16, 200), (try same.waitResponse(10_000)).status);

    var other_client = try Client.init(.{ .follow_redirects = true, .redirect_stops = &.{
        .{ .pattern = "all://localhost", .stop = false },
        .{ .pattern = "all://" },
    } });
    defer other_client.deinit();
    var followed = try other_client.get(hop);
    defer followed.deinit();
    try testing.expectEqual(@as(u16, 200), (try followed.waitResponse(10_000)).status);
    var stopped = try other_client.get(try url(&buf, "/redirect/2", .{}));
    defer stopped.deinit();
    try testing.expectEqual(@as(u16, 302), (try stopped.waitResponse(10_000)).status);
    // A malformed pattern fails the client's creation.
    try testing.expectError(error.InvalidArgument, Client.init(.{ .redirect_stops = &.{.{ .pattern = "localhost" }} }));
}

test "content codings: each decoded by the engine; off gives raw bytes; corrupt data is Decoding" {
    var buf: [512]u8 = undefined;
    var plain: [20_000]u8 = undefined;
    var decoded: [20_000]u8 = undefined;
    var client = try Client.init(.{});
    defer client.deinit();
    const want = try getBody(client, try url(&buf, "/encoded/identity/20000", .{}), &plain);
    try testing.expectEqual(@as(usize, 20_000), want.len);
    inline for (.{ "gzip", "deflate", "br", "zstd" }) |coding| {
        const got = try getBody(client, try url(&buf, "/encoded/" ++ coding ++ "/20000", .{}), &decoded);
        try testing.expectEqualSlices(u8, want, got);
    }
    try expectGetError(client, try url(&buf, "/encoded/gzip?corrupt=1", .{}), error.Decoding);

    // Off for one request: the gzip bytes as sent.
    var h = try client.send(.{ .url = try url(&buf, "/encoded/gzip/20000", .{}), .decompress = false });
    defer h.deinit();
    const r = try h.waitResponse(10_000);
    try testing.expectEqualSlices(u8, &.{ 0x1f, 0x8b }, r.body[0..2]);
    try testing.expect(r.body.len < want.len);
}

test "a Decoder decodes coded bytes from elsewhere as responses are decoded" {
    var buf: [512]u8 = undefined;
    var plain: [20_000]u8 = undefined;
    var out: [32_000]u8 = undefined; // more than the body: a read always has room
    var client = try Client.init(.{});
    defer client.deinit();
    const want = try getBody(client, try url(&buf, "/encoded/identity/20000", .{}), &plain);
    inline for (.{ .{ "gzip", "gzip" }, .{ "br", "br" }, .{ "gzip-zstd", "gzip, zstd" } }) |case| {
        var h = try client.send(.{ .url = try url(&buf, "/encoded/" ++ case[0] ++ "/20000", .{}), .decompress = false });
        defer h.deinit();
        const coded = (try h.waitResponse(10_000)).body;
        var d = (try httpring.Decoder.init(case[1])).?;
        defer d.deinit();
        // Written in pieces of 100 bytes, read as it comes.
        var have: usize = 0;
        var off: usize = 0;
        while (off < coded.len) : (off += 100) {
            try d.write(coded[off..@min(off + 100, coded.len)]);
            while (try d.read(out[have..])) |n| {
                if (n == 0) break;
                have += n;
            }
        }
        try d.end();
        while (try d.read(out[have..])) |n| {
            if (n == 0) break;
            have += n;
        }
        try testing.expectEqualSlices(u8, want, out[0..have]);
    }
    try testing.expect((try httpring.Decoder.init("identity")) == null);
    try testing.expectError(error.Decoding, httpring.Decoder.init("gzip, br, zstd, gzip"));
    var cut = (try httpring.Decoder.init("gzip")).?;
    defer cut.deinit();
    try cut.write(&.{ 0x1f, 0x8b, 0x08, 0x00 });
    try cut.end();
    try testing.expectError(error.Decoding, cut.read(&out));
}

test "values for a caller that sends requests itself: the next redirect, Basic, Digest, .netrc" {
    const a = testing.allocator;
    var buf: [512]u8 = undefined;
    // Redirects, by the library's rules.
    const r = (try httpring.redirectNext(a, "POST", "http://a.test/x/y", 303, "../z#f", false)).?;
    defer a.free(r.url);
    try testing.expectEqualStrings("http://a.test/z#f", r.url);
    try testing.expect(r.to_get and !r.cross_origin and !r.other_host);
    const o = (try httpring.redirectNext(a, "PUT", "http://a.test/", 307, "https://b.test/", false)).?;
    defer a.free(o.url);
    try testing.expect(!o.to_get and o.cross_origin and o.other_host);
    try testing.expect((try httpring.redirectNext(a, "GET", "http://a.test/", 200, "/x", false)) == null);
    try testing.expect((try httpring.redirectNext(a, "GET", "http://a.test/", 302, null, false)) == null);
    try testing.expectError(error.InsecureRedirect, httpring.redirectNext(a, "GET", "https://a.test/", 302, "http://a.test/", false));
    // Basic: RFC 7617's example.
    const basic = try httpring.basicAuthValue(a, "Aladdin", "open sesame");
    defer a.free(basic);
    try testing.expectEqualStrings("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", basic);
    try testing.expectError(error.InvalidArgument, httpring.basicAuthValue(a, "a:b", "p"));
    // Digest: the test server's challenge, answered; the server checks the answer.
    var client = try Client.init(.{});
    defer client.deinit();
    const target = try url(&buf, "/digest-auth/auth/zig/pw/MD5", .{});
    var first = try client.get(target);
    defer first.deinit();
    const challenged = try first.waitResponse(10_000);
    try testing.expectEqual(@as(u16, 401), challenged.status);
    var challenge: [512]u8 = undefined;
    const ch = challenged.header("www-authenticate").?;
    @memcpy(challenge[0..ch.len], ch);
    challenge[ch.len] = 0;
    const answer = (try httpring.digestAnswer(a, "zig", "pw", "GET", target, "", challenge[0..ch.len :0], false)).?;
    defer a.free(answer);
    try testing.expect(std.mem.startsWith(u8, answer, "Digest "));
    var second = try client.send(.{ .url = target, .headers = &.{.{ .name = "Authorization", .value = answer }} });
    defer second.deinit();
    try testing.expectEqual(@as(u16, 200), (try second.waitResponse(10_000)).status);
    try testing.expect((try httpring.digestAnswer(a, "zig", "pw", "GET", target, "", "Basic realm=\"x\"", false)) == null);
    // .netrc: the host's entry, else the default; none without a file.
    const path = "/tmp/httpring-zig-netrc-value";
    try Io.Dir.cwd().writeFile(io, .{ .sub_path = path, .data = "machine a.test login alice password a1\ndefault login anon password x\n" });
    defer Io.Dir.deleteFileAbsolute(io, path) catch {};
    var with_netrc = try Client.init(.{ .netrc = path });
    defer with_netrc.deinit();
    const entry = (try with_netrc.netrcValue(a, "http://a.test/x")).?;
    defer a.free(entry);
    try testing.expectEqualStrings("Basic YWxpY2U6YTE=", entry);
    const default = (try with_netrc.netrcValue(a, "http://b.test/")).?;
    defer a.free(default);
    try testing.expectEqualStrings("Basic YW5vbjp4", default);
    try testing.expect((try client.netrcValue(a, "http://a.test/")) == null);
    try testing.expectError(error.InvalidUrl, client.netrcValue(a, "not a url"));
}

test "netrc: the entry for the host is sent; a missing file is refused" {
    var buf: [512]u8 = undefined;
    var body: [64]u8 = undefined;
    const path = "/tmp/httpring-zig-netrc";
    try Io.Dir.cwd().writeFile(io, .{ .sub_path = path, .data = "machine 127.0.0.1 login alice password a1\n" });
    defer Io.Dir.deleteFileAbsolute(io, path) catch {};
    var client = try Client.init(.{ .netrc = path });
    defer client.deinit();
    try testing.expectEqualStrings("authenticated", try getBody(client, try url(&buf, "/basic-auth/alice/a1", .{}), &body));
    try testing.expectError(error.InvalidArgument, Client.init(.{ .netrc = "/nonexistent/netrc" }));
}

test "auth: basic and bearer per client and request, digest answering the challenge" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{ .auth = .{ .basic = .{ .user = "u", .password = "p" } } });
    defer client.deinit();
    inline for (.{ .{ "/basic-auth/u/p", 200 }, .{ "/basic-auth/u/x", 401 } }) |case| {
        var h = try client.get(try url(&buf, case[0], .{}));
        defer h.deinit();
        try testing.expectEqual(@as(u16, case[1]), (try h.waitResponse(10_000)).status);
    }
    var digest = try client.send(.{
        .url = try url(&buf, "/digest-auth/auth/zig/pw/SHA-256", .{}),
        .auth = .{ .digest = .{ .user = "zig", .password = "pw" } },
    });
    defer digest.deinit();
    try testing.expectEqual(@as(u16, 200), (try digest.waitResponse(10_000)).status);
    var bearer = try client.send(.{ .url = try url(&buf, "/bearer/t0k", .{}), .auth = .{ .bearer = "t0k" } });
    defer bearer.deinit();
    try testing.expectEqual(@as(u16, 200), (try bearer.waitResponse(10_000)).status);
    try testing.expectError(error.InvalidHeader, client.send(.{ .url = try url(&buf, "/hello", .{}), .auth = .{ .bearer = "a\nb" } }));
}

test "default headers: the client lists what it sends with every request, in order" {
    var client = try Client.init(.{
        .user_agent = "zig-agent/1",
        .default_headers = &.{.{ .name = "X-Team", .value = "zig" }},
    });
    defer client.deinit();
    const lines = try client.defaultHeaders(testing.allocator);
    defer testing.allocator.free(lines);
    try testing.expectEqualStrings(
        "user-agent: zig-agent/1\r\nx-team: zig\r\naccept-encoding: gzip, deflate, br, zstd\r\n",
        lines,
    );
    // An allocator that cannot resize in place: the text is copied into an allocation of its
    // own length, which the caller frees as it is (testing.allocator checks the size).
    var no_resize = std.testing.FailingAllocator.init(testing.allocator, .{ .resize_fail_index = 0 });
    const copied = try client.defaultHeaders(no_resize.allocator());
    defer no_resize.allocator().free(copied);
    try testing.expectEqualStrings(lines, copied);
    // And one that then cannot allocate the copy: OutOfMemory, nothing leaked.
    var no_memory = std.testing.FailingAllocator.init(testing.allocator, .{ .fail_index = 1, .resize_fail_index = 0 });
    try testing.expectError(error.OutOfMemory, client.defaultHeaders(no_memory.allocator()));
}

test "max_response_headers: 150 header lines fail by default and are read with the limit raised" {
    var buf: [512]u8 = undefined;
    var body: [64]u8 = undefined;
    var client = try Client.init(.{});
    defer client.deinit();
    try expectGetError(client, try url(&buf, "/many-headers/150", .{}), error.Protocol);
    var raised = try Client.init(.{ .max_response_headers = 200 });
    defer raised.deinit();
    try testing.expectEqualStrings("many", try getBody(raised, try url(&buf, "/many-headers/150", .{}), &body));
}

test "cookie jar: set by one response, sent on the next; export and import; errors without a jar" {
    var buf: [512]u8 = undefined;
    var body: [512]u8 = undefined;
    var client = try Client.init(.{ .cookies = true });
    defer client.deinit();
    _ = try getBody(client, try url(&buf, "/cookies/set?zig=1", .{}), &body);
    try testing.expectEqualStrings("zig=1", try getBody(client, try url(&buf, "/cookies", .{}), &body));
    try client.cookieAdd(try url(&buf, "/", .{}), "extra=2; Max-Age=600");
    const text = try client.cookiesExport(testing.allocator);
    defer testing.allocator.free(text);
    try testing.expect(std.mem.indexOf(u8, text, "\tzig\t1\n") != null);

    var other = try Client.init(.{ .cookies = true });
    defer other.deinit();
    const z = try testing.allocator.dupeSentinel(u8, text, 0);
    defer testing.allocator.free(z);
    try testing.expectEqual(@as(usize, 2), try other.cookiesImport(z));
    try testing.expectEqualStrings("zig=1; extra=2", try getBody(other, try url(&buf, "/cookies", .{}), &body));
    try other.cookiesClear();
    try testing.expectEqualStrings("", try getBody(other, try url(&buf, "/cookies", .{}), &body));

    var plain = try Client.init(.{});
    defer plain.deinit();
    try testing.expectError(error.InvalidArgument, plain.cookiesClear());
}

test "multipart: fields and bytes parsed by the server's multipart parser" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{});
    defer client.deinit();
    var form = try httpring.Form.init();
    defer form.deinit();
    try form.addField("who", "zig");
    try form.addBytes("data", "\x00\r\n--x", "d.bin", "application/x-test");
    try testing.expectError(error.NotFound, form.addFile("f", "/no/such/file", null, null));
    var h = try client.send(.{ .method = "POST", .url = try url(&buf, "/multipart", .{}), .form = &form });
    defer h.deinit();
    const r = try h.waitResponse(10_000);
    try testing.expectEqual(@as(u16, 200), r.status);
    var lines = std.mem.splitScalar(u8, r.body, '\n');
    try testing.expect(std.mem.startsWith(u8, lines.next().?, "who|||3|"));
    try testing.expect(std.mem.startsWith(u8, lines.next().?, "data|d.bin|application/x-test|6|"));
}

test "limits: pool timeout under a connection cap, a request's own pool timeout, the in-flight cap" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{ .max_connections_per_host = 1, .pool_timeout_ms = 150 });
    defer client.deinit();
    var slow = try client.get(try url(&buf, "/delay/800", .{}));
    defer slow.deinit();
    try expectGetError(client, try url(&buf, "/hello", .{}), error.PoolTimeout);
    var patient = try client.send(.{ .url = try url(&buf, "/hello", .{}), .pool_timeout_ms = 10_000 });
    defer patient.deinit();
    try testing.expectEqual(@as(u16, 200), (try patient.waitResponse(10_000)).status);
    try testing.expectEqual(@as(u16, 200), (try slow.waitResponse(10_000)).status);

    var capped = try Client.init(.{ .max_in_flight = 1 });
    defer capped.deinit();
    var first = try capped.get(try url(&buf, "/delay/300", .{}));
    defer first.deinit();
    try testing.expectError(error.TooManyInFlight, capped.get(try url(&buf, "/hello", .{})));
    _ = try first.waitResponse(10_000);
    var again = try capped.get(try url(&buf, "/hello", .{}));
    defer again.deinit();
    try testing.expectEqual(@as(u16, 200), (try again.waitResponse(10_000)).status);
}

test "a request's own write timeout, through send and sendMany, on a client without one" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{});
    defer client.deinit();
    // More than loopback's socket buffers take while the server reads nothing for 3 s.
    const body = try testing.allocator.alloc(u8, 16 << 20);
    defer testing.allocator.free(body);
    @memset(body, 'x');
    const req: httpring.Request = .{
        .method = "POST",
        .url = try url(&buf, "/upload?hold_ms=3000", .{}),
        .body = body,
        .write_timeout_ms = 300,
    };
    const start = Io.Clock.Timestamp.now(io, .awake);
    var h = try client.send(req);
    defer h.deinit();
    try testing.expectError(error.WriteTimeout, h.waitResponse(10_000));
    var out: [1]httpring.SubmitError!httpring.Handle = undefined;
    try testing.expectEqual(@as(usize, 1), try client.sendMany(&.{req}, &out));
    var batched = try out[0];
    defer batched.deinit();
    try testing.expectError(error.WriteTimeout, batched.waitResponse(10_000));
    // Both ended by the 300 ms limits, not by the server's reading after 3 s.
    try testing.expect(milliseconds(start) < 2_800);
}

test "sendMany: a request with settings a batch entry cannot carry keeps them" {
    var buf: [512]u8 = undefined;
    var buf2: [512]u8 = undefined;
    var client = try Client.init(.{});
    defer client.deinit();
    const reqs = [_]httpring.Request{
        .{ .url = try url(&buf, "/basic-auth/u/p", .{}), .auth = .{ .basic = .{ .user = "u", .password = "p" } } },
        .{ .url = try url(&buf2, "/hello", .{}) },
    };
    var out: [2]httpring.SubmitError!httpring.Handle = undefined;
    try testing.expectEqual(@as(usize, 2), try client.sendMany(&reqs, &out));
    for (&out) |*o| {
        var h = try o.*;
        defer h.deinit();
        try testing.expectEqual(@as(u16, 200), (try h.waitResponse(10_000)).status);
    }
}

test "sendMany: a request's own retries and speed limits go in its batch entry" {
    var buf: [512]u8 = undefined;
    var buf2: [512]u8 = undefined;
    var client = try Client.init(.{ .retries = 3, .retry_backoff_ms = .{ .first = 5, .max = 50 } });
    defer client.deinit();
    const reqs = [_]httpring.Request{
        .{ .url = try url(&buf, "/flaky/zig-many-once/1", .{}), .retries = 0 },
        // 200 kB capped to 400 kB/s: about half a second.
        .{ .url = try url(&buf2, "/bytes/200000", .{}), .max_recv_speed = 400_000 },
    };
    var out: [2]httpring.SubmitError!httpring.Handle = undefined;
    const start = Io.Clock.Timestamp.now(io, .awake);
    try testing.expectEqual(@as(usize, 2), try client.sendMany(&reqs, &out));
    var once = try out[0];
    defer once.deinit();
    try testing.expectEqual(@as(u16, 503), (try once.waitResponse(10_000)).status);
    try testing.expectEqual(@as(u32, 1), (try once.info()).raw.attempts);
    var capped = try out[1];
    defer capped.deinit();
    try testing.expectEqual(@as(usize, 200_000), (try capped.waitResponse(10_000)).body.len);
    try testing.expect(milliseconds(start) >= 300);
}

test "retries and info: a flaky service retried to success; timing that adds up" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{ .retries = 3, .retry_backoff_ms = .{ .first = 5, .max = 50 } });
    defer client.deinit();
    var h = try client.get(try url(&buf, "/flaky/zig-get/2", .{}));
    defer h.deinit();
    try testing.expectEqual(@as(u16, 200), (try h.waitResponse(10_000)).status);
    const i = try h.info();
    try testing.expectEqual(@as(u32, 3), i.raw.attempts);
    const r = i.raw;
    const sum = r.queued_us + r.pool_us + r.dns_us + r.connect_us + r.tls_us + r.send_us + r.wait_us + r.receive_us;
    try testing.expect(sum <= r.total_us and r.total_us - sum <= 8);
    try testing.expect(std.mem.startsWith(u8, i.remoteAddr(), "127.0.0.1:"));
    try testing.expectEqualStrings("", i.alpn());
    try testing.expectEqual(@as(?u64, 2), i.contentLength());

    var once = try client.send(.{ .url = try url(&buf, "/flaky/zig-once/1", .{}), .retries = 0 });
    defer once.deinit();
    try testing.expectEqual(@as(u16, 503), (try once.waitResponse(10_000)).status);
    try testing.expectEqual(@as(u32, 1), (try once.info()).raw.attempts);
}

// --- Streamed bodies (Request.stream) ------------------------------------------------------

/// Checks `data` against the test server's /stream pattern ('a' + i % 26) from body offset
/// `at`.
fn checkPattern(data: []const u8, at: u64) !void {
    var want: u8 = 'a' + @as(u8, @intCast(at % 26));
    for (data, 0..) |byte, i| {
        if (byte != want) {
            std.debug.print("body byte {d} is {c}, not {c}\n", .{ at + i, byte, want });
            return error.TestUnexpectedResult;
        }
        want = if (want == 'z') 'a' else want + 1;
    }
}

fn milliseconds(start: Io.Clock.Timestamp) i64 {
    return start.untilNow(io).raw.toMilliseconds();
}

test "stream: 20 MB through BodyReader, every byte in order, after a head with an empty body" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{});
    defer client.deinit();
    const total = 20_000_000;
    var h = try client.send(.{ .url = try url(&buf, "/stream/{d}", .{total}), .stream = true });
    defer h.deinit();
    const head = try h.waitResponse(10_000);
    try testing.expectEqual(@as(u16, 200), head.status);
    try testing.expectEqualStrings("", head.body);
    try testing.expectEqualStrings("20000000", head.header("content-length").?);

    var body_buf: [64 << 10]u8 = undefined;
    var body = h.reader(&body_buf);
    var at: u64 = 0;
    while (true) {
        const data = body.interface.peekGreedy(1) catch |err| switch (err) {
            error.EndOfStream => break,
            error.ReadFailed => return body.err.?,
        };
        try checkPattern(data, at);
        at += data.len;
        body.interface.toss(data.len);
    }
    try testing.expectEqual(@as(u64, total), at);
    try testing.expect(body.err == null);
    // The end stays the end, for the reader and the handle.
    try testing.expectError(error.EndOfStream, body.interface.takeByte());
    try testing.expectEqual(@as(?usize, 0), try h.readAvailable(&buf));
    try testing.expectEqual(@as(usize, 0), try h.read(&buf));
}

test "stream: readChunk lends the body piece by piece, says when it ended, counts what was sent" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{});
    defer client.deinit();
    const total = 5_000_000;
    var h = try client.send(.{ .url = try url(&buf, "/stream/{d}", .{total}), .stream = true });
    defer h.deinit();
    _ = try h.waitResponse(10_000);
    var at: u64 = 0;
    var lasts: usize = 0;
    var received: u64 = 0;
    while (true) {
        const chunk = (try h.readChunk()) orelse {
            _ = try h.waitBody(10_000);
            continue;
        };
        try testing.expect(chunk.bytes.len <= 256 << 10);
        try checkPattern(chunk.bytes, at);
        at += chunk.bytes.len;
        received = chunk.received;
        if (chunk.last) {
            lasts += 1;
            break;
        }
        try testing.expect(chunk.bytes.len > 0);
    }
    try testing.expectEqual(@as(u64, total), at);
    try testing.expectEqual(@as(u64, total), received);
    try testing.expectEqual(@as(usize, 1), lasts);
    // After the end: an empty chunk, still the end.
    const after = (try h.readChunk()).?;
    try testing.expectEqual(@as(usize, 0), after.bytes.len);
    try testing.expect(after.last);
    // A request that was not streamed has its body in the response.
    var plain = try client.send(.{ .url = try url(&buf, "/hello", .{}) });
    defer plain.deinit();
    _ = try plain.waitResponse(10_000);
    try testing.expectError(error.InvalidArgument, plain.readChunk());
}

test "stream: allocRemaining, streamRemaining, discardRemaining; StreamTooLong past a limit" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{});
    defer client.deinit();
    const Case = struct { path: []const u8, buffer: usize };
    // An empty buffer: the std reader then streams straight into its writer.
    for ([_]Case{ .{ .path = "/stream/1000000/777", .buffer = 0 }, .{ .path = "/stream/1000000/100000", .buffer = 4096 } }) |case| {
        var h = try client.send(.{ .url = try url(&buf, "{s}", .{case.path}), .stream = true });
        defer h.deinit();
        var body_buf: [4096]u8 = undefined;
        var body = h.reader(body_buf[0..case.buffer]);
        const all = try body.interface.allocRemaining(testing.allocator, .limited(2_000_000));
        defer testing.allocator.free(all);
        try testing.expectEqual(@as(usize, 1_000_000), all.len);
        try checkPattern(all, 0);
    }

    var counted = try client.send(.{ .url = try url(&buf, "/stream/3000000", .{}), .stream = true });
    defer counted.deinit();
    var scratch: [8192]u8 = undefined;
    var sink: Io.Writer.Discarding = .init(&scratch);
    var counted_body = counted.reader(&.{});
    try testing.expectEqual(@as(usize, 3_000_000), try counted_body.interface.streamRemaining(&sink.writer));

    for ([_]usize{ 0, 100, 1 << 20 }) |buffer| {
        var dropped = try client.send(.{ .url = try url(&buf, "/stream/500000/3000", .{}), .stream = true });
        defer dropped.deinit();
        var body_buf: [1 << 20]u8 = undefined;
        var dropped_body = dropped.reader(body_buf[0..buffer]);
        try testing.expectEqual(@as(usize, 500_000), try dropped_body.interface.discardRemaining());
    }

    var long = try client.send(.{ .url = try url(&buf, "/stream/100000", .{}), .stream = true });
    defer long.deinit();
    var long_body = long.reader(&.{});
    try testing.expectError(error.StreamTooLong, long_body.interface.allocRemaining(testing.allocator, .limited(1000)));
}

test "stream: server-sent events read line by line with takeDelimiter, each as it is sent" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{});
    defer client.deinit();
    var h = try client.send(.{
        .url = try url(&buf, "/events/5/100", .{}),
        .headers = &.{.{ .name = "Accept", .value = "text/event-stream" }},
        .stream = true,
    });
    defer h.deinit();
    const head = try h.waitResponse(10_000);
    try testing.expectEqualStrings("text/event-stream", head.header("content-type").?);

    var line_buf: [256]u8 = undefined;
    var body = h.reader(&line_buf);
    var lags_us: [5]i64 = undefined;
    var events: usize = 0;
    var blank: usize = 0;
    while (body.interface.takeDelimiter('\n') catch |err| switch (err) {
        error.ReadFailed => return body.err.?,
        error.StreamTooLong => return err,
    }) |line| {
        const now_us = Io.Timestamp.now(io, .real).toMicroseconds();
        if (line.len == 0) {
            blank += 1; // the blank line that ends an event
            continue;
        }
        // "data: I T", T the send time in µs since the Unix epoch.
        try testing.expect(std.mem.startsWith(u8, line, "data: "));
        try testing.expect(events < lags_us.len);
        var words = std.mem.tokenizeScalar(u8, line["data: ".len..], ' ');
        try testing.expectEqual(events, try std.fmt.parseInt(usize, words.next().?, 10));
        lags_us[events] = now_us - try std.fmt.parseInt(i64, words.next().?, 10);
        events += 1;
    }
    try testing.expectEqual(@as(usize, 5), events);
    try testing.expectEqual(@as(usize, 5), blank);
    std.mem.sort(i64, &lags_us, {}, std.sort.asc(i64));
    errdefer std.debug.print("SSE lag (µs) sorted: {any}\n", .{lags_us});
    try testing.expect(lags_us[2] < 50_000); // the median
    try testing.expect(lags_us[0] > -50_000); // (the same clock on both ends)
}

test "stream: a body that stalls fails with error.ReadTimeout after its first 10 bytes" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{});
    defer client.deinit();
    // From before the request: the timeout runs from the body's last bytes, which come
    // after it (timed from the failing read, a slow first read would make it look early).
    const start = Io.Clock.Timestamp.now(io, .awake);
    var h = try client.send(.{ .url = try url(&buf, "/stall-body", .{}), .stream = true, .read_timeout_ms = 300 });
    defer h.deinit();
    const head = try h.waitResponse(10_000);
    try testing.expectEqualStrings("100", head.header("content-length").?);

    var body_buf: [64]u8 = undefined;
    var body = h.reader(&body_buf);
    try testing.expectEqualStrings("0123456789", try body.interface.take(10));
    try testing.expectEqual(@as(?usize, null), try h.readAvailable(&buf)); // nothing yet
    try testing.expect(!try h.waitBody(0));
    try testing.expectError(error.ReadFailed, body.interface.takeByte());
    const waited = milliseconds(start);
    try testing.expectEqual(@as(?httpring.ReadError, error.ReadTimeout), body.err);
    try testing.expect(waited >= 290 and waited < 5_000);

    // The failure stays, for the reader and the handle, and has a message.
    try testing.expectError(error.ReadFailed, body.interface.takeByte());
    try testing.expectError(error.ReadTimeout, h.readAvailable(&buf));
    try testing.expectError(error.ReadTimeout, h.read(&buf));
    try testing.expect(try h.waitBody(0));
    var msg: [256]u8 = undefined;
    try testing.expect((try h.errorMessage(&msg)).len > 0);
}

test "stream: deinit mid-body frees it; the client's live handles go to 0; client deinit mid-body" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{ .stream_buffer = 32 << 10 });
    defer client.deinit();
    var big = try client.send(.{ .url = try url(&buf, "/stream/1073741824", .{}), .stream = true });
    var stalled = try client.send(.{ .url = try url(&buf, "/stall-body", .{}), .stream = true });
    _ = try big.waitResponse(10_000);
    _ = try stalled.waitResponse(10_000);

    var body_buf: [16 << 10]u8 = undefined;
    var body = big.reader(&body_buf);
    try body.interface.discardAll(1 << 20); // 1 MiB in, 1023 to go
    try testing.expectEqual(@as(usize, 2), try client.liveHandles());
    const copy = big;
    big.deinit();
    try testing.expectError(error.InvalidHandle, copy.read(&buf));
    body.interface.tossBuffered();
    try testing.expectError(error.ReadFailed, body.interface.takeByte());
    try testing.expectEqual(@as(?httpring.ReadError, error.InvalidHandle), body.err);
    stalled.deinit();
    try testing.expectEqual(@as(usize, 0), try client.liveHandles());
    try testing.expectEqual(@as(usize, 0), (try client.stats()).live_handles);

    // The client goes on.
    var hello = try client.get(try url(&buf, "/hello", .{}));
    defer hello.deinit();
    try testing.expectEqualStrings("Hello, world!", (try hello.waitResponse(10_000)).body);

    // A client freed mid-body: its handles report ClientClosed.
    var other = try Client.init(.{});
    var mid = try other.send(.{ .url = try url(&buf, "/stream/1073741824", .{}), .stream = true });
    _ = try mid.waitResponse(10_000);
    try testing.expect(try mid.read(&buf) > 0);
    other.deinit();
    try testing.expectError(error.ClientClosed, mid.read(&buf));
}

test "stream: trailers after the body, over HTTP/1.1 (with TE: trailers) and HTTP/2" {
    var buf: [512]u8 = undefined;
    for ([_]httpring.Options{ .{}, .{ .h2c_prior_knowledge = true } }) |options| {
        var client = try Client.init(options);
        defer client.deinit();
        var h = try client.send(.{
            .url = try url(&buf, "/trailers", .{}),
            .headers = &.{.{ .name = "TE", .value = "trailers" }},
            .stream = true,
        });
        defer h.deinit();
        _ = try h.waitResponse(10_000);
        var body_buf: [64]u8 = undefined;
        var body = h.reader(&body_buf);
        const all = try body.interface.allocRemaining(testing.allocator, .limited(1024));
        defer testing.allocator.free(all);
        try testing.expectEqualStrings("abc", all);
        try testing.expectEqualStrings("42", h.trailer("x-checksum", 0).?);
        try testing.expectEqualStrings("42", h.trailer("X-Checksum", 0).?);
        try testing.expect(h.trailer("x-checksum", 1) == null);
        try testing.expect(h.trailer("x-missing", 0) == null);
        try testing.expect(h.trailer("", 0) == null);
        const long_name: [300]u8 = @splat('x');
        try testing.expect(h.trailer(&long_name, 0) == null);
    }

    // HTTP/1.1 without `TE: trailers`: the server leaves them out.
    var client = try Client.init(.{});
    defer client.deinit();
    var h = try client.send(.{ .url = try url(&buf, "/trailers", .{}), .stream = true });
    defer h.deinit();
    var body_buf: [64]u8 = undefined;
    var body = h.reader(&body_buf);
    try testing.expectEqualStrings("abc", try body.interface.take(3));
    try testing.expectError(error.EndOfStream, body.interface.takeByte());
    try testing.expect(h.trailer("x-checksum", 0) == null);
}

test "stream: an event loop reads until null and is woken by .body completions" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{ .stream_buffer = 16 << 10 });
    defer client.deinit();
    const total = 1_000_000;
    var h = try client.send(.{ .url = try url(&buf, "/stream/{d}/1000", .{total}), .stream = true, .user_data = 7 });
    defer h.deinit();
    var batch: [8]Completion = undefined;
    var heads: usize = 0;
    var bodies: usize = 0;
    var got: u64 = 0;
    var ended = false;
    var chunk: [4096]u8 = undefined;
    while (!ended) {
        const done = try client.waitDrain(&batch, 1, 10_000);
        try testing.expect(done.len > 0);
        for (done) |completion| {
            try testing.expectEqual(h.id, completion.id);
            try testing.expectEqual(@as(u64, 7), completion.user_data);
            try completion.result();
            switch (completion.event()) {
                .head => heads += 1,
                .body => bodies += 1,
                else => return error.TestUnexpectedResult,
            }
            // Edge-triggered: read until null, or the end.
            while (try h.readAvailable(&chunk)) |n| {
                if (n == 0) {
                    ended = true;
                    break;
                }
                try checkPattern(chunk[0..n], got);
                got += n;
            }
        }
    }
    try testing.expectEqual(@as(usize, 1), heads);
    try testing.expect(bodies >= 1);
    try testing.expectEqual(@as(u64, total), got);
}

test "stream: waits and errors: before the head, a failed request, a request not streamed" {
    var buf: [512]u8 = undefined;
    try testing.expectError(error.InvalidArgument, Client.init(.{ .stream_buffer = 0 }));
    var client = try Client.init(.{});
    defer client.deinit();

    // Before the head: nothing to read; waitBody's one timeout covers the head too.
    var slow = try client.send(.{ .url = try url(&buf, "/delay/300", .{}), .stream = true });
    defer slow.deinit();
    try testing.expectEqual(@as(?usize, null), try slow.readAvailable(&buf));
    const start = Io.Clock.Timestamp.now(io, .awake);
    try testing.expect(!try slow.waitBody(100));
    const waited = milliseconds(start);
    try testing.expect(waited >= 90 and waited < 1_000);
    try testing.expect(try slow.waitBody(10_000));
    var body = slow.reader(&.{});
    const all = try body.interface.allocRemaining(testing.allocator, .limited(1024));
    defer testing.allocator.free(all);
    try testing.expect(all.len > 0);

    // A request that fails before its head: the failure from every read.
    var refused = try client.send(.{ .url = "http://127.0.0.1:1/", .stream = true });
    defer refused.deinit();
    try testing.expectError(error.ConnectRefused, refused.waitBody(10_000));
    try testing.expectError(error.ConnectRefused, refused.readAvailable(&buf));
    try testing.expectError(error.ConnectRefused, refused.read(&buf));
    var refused_body = refused.reader(&buf);
    try testing.expectError(error.ReadFailed, refused_body.interface.takeByte());
    try testing.expectEqual(@as(?httpring.ReadError, error.ConnectRefused), refused_body.err);

    // Not streamed: the body is in the response, and reads are InvalidArgument.
    var whole = try client.get(try url(&buf, "/hello", .{}));
    defer whole.deinit();
    try testing.expectEqualStrings("Hello, world!", (try whole.waitResponse(10_000)).body);
    try testing.expectError(error.InvalidArgument, whole.readAvailable(&buf));
    try testing.expectError(error.InvalidArgument, whole.waitBody(0));
    try testing.expectError(error.InvalidArgument, whole.readAvailable(buf[0..0]));
}

// --- Streamed request bodies (Request.body_source) -----------------------------------------

/// Byte `i` of the upload tests' bodies (the Rust tests' pattern).
fn byteAt(i: u64) u8 {
    return @truncate((i *% 31) >> 3);
}

fn fillPattern(out: []u8, at: u64) void {
    for (out, 0..) |*b, i| b.* = byteAt(at + i);
}

/// FNV-1a 64, the test server's /upload hash.
const Fnv = struct {
    h: u64 = 0xcbf2_9ce4_8422_2325,

    fn update(self: *Fnv, data: []const u8) void {
        for (data) |b| self.h = (self.h ^ b) *% 0x100_0000_01b3;
    }

    fn hex(self: Fnv) [16]u8 {
        var out: [16]u8 = undefined;
        _ = std.fmt.bufPrint(&out, "{x:0>16}", .{self.h}) catch unreachable;
        return out;
    }

    fn ofPattern(total: u64) Fnv {
        var f: Fnv = .{};
        var i: u64 = 0;
        while (i < total) : (i += 1) f.update(&.{byteAt(i)});
        return f;
    }
};

/// The /upload answer.
const Upload = struct {
    received: u64,
    fnv: []const u8,
    chunked: bool,
    content_length: ?u64,
    version: []const u8,
    @"error": []const u8,
};

/// Waits for `h`'s response and checks that /upload received `total` bytes hashing to
/// `want`, framed as `length` says (null: chunked).
fn expectUploaded(h: httpring.Handle, total: u64, want: Fnv, length: ?u64) !void {
    const r = h.waitResponse(30_000) catch |err| {
        var msg: [256]u8 = undefined;
        std.debug.print("upload failed: {s}: {s}\n", .{ @errorName(err), h.errorMessage(&msg) catch "" });
        return err;
    };
    errdefer std.debug.print("/upload answered {d}: {s}\n", .{ r.status, r.body });
    try testing.expectEqual(@as(u16, 200), r.status);
    const parsed = try std.json.parseFromSlice(Upload, testing.allocator, r.body, .{});
    defer parsed.deinit();
    const up = parsed.value;
    try testing.expectEqualStrings("", up.@"error");
    try testing.expectEqual(total, up.received);
    try testing.expectEqualStrings(&want.hex(), up.fnv);
    try testing.expectEqual(length == null, up.chunked);
    try testing.expectEqual(length, up.content_length);
}

test "upload: 10 MB through BodyWriter, chunked and with a Content-Length, held back by a slow server" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{ .stream_buffer = 64 << 10 });
    defer client.deinit();
    const total: u64 = 10_000_000;
    const want = Fnv.ofPattern(total);
    for ([_]?u64{ null, total }) |length| {
        var h = try client.send(.{
            .method = "POST",
            .url = try url(&buf, "/upload?pause_ms=1", .{}),
            .body_source = .{ .writer = length },
        });
        defer h.deinit();
        // Without blocking, the library takes about its buffer's worth, then says "full".
        var piece: [10_000]u8 = undefined;
        var at: u64 = 0;
        while (true) {
            fillPattern(&piece, at);
            const n = try h.writeAvailable(&piece);
            if (n == 0) break;
            at += n;
            // Bounded: the library's buffer and what the kernel's socket buffers absorb
            // (on loopback up to a few MB), far from the whole body.
            try testing.expect(at < total / 2);
        }
        try testing.expect(at >= 16 << 10);
        // The rest through the writer, which blocks while the server is behind, in pieces
        // of odd sizes through a small buffer (and a few formatted bytes).
        var wbuf: [8 << 10]u8 = undefined;
        var body = h.bodyWriter(&wbuf);
        const w = &body.interface;
        const sizes = [_]usize{ 1, 100, 7_777, 31, 20_000, 4_096 };
        var k: usize = 0;
        while (at < total) : (k += 1) {
            const n: usize = @intCast(@min(total - at, sizes[k % sizes.len]));
            fillPattern(piece[0..@min(n, piece.len)], at);
            if (n <= piece.len) {
                w.writeAll(piece[0..n]) catch return body.err.?;
            } else {
                // Larger than the piece: byte by byte through the std writer's buffer.
                for (0..n) |i| w.writeByte(byteAt(at + i)) catch return body.err.?;
            }
            at += n;
        }
        try body.finish();
        try testing.expect(body.err == null);
        try expectUploaded(h, total, want, length);
        // Over: more bytes are refused.
        try testing.expect(std.meta.isError(h.writeAvailable("x")));
    }
}

test "upload: an event loop writes until 0 and is woken by .writable completions" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{ .stream_buffer = 16 << 10 });
    defer client.deinit();
    var h = try client.send(.{
        .method = "PUT",
        // The server reads nothing for its first second, so 8 MiB (more than a 4 MiB send
        // buffer and the stream's) must find no room: a slow server alone (pause_ms) let the
        // kernel's buffers absorb a whole 3 MB body once.
        .url = try url(&buf, "/upload?hold_ms=1000", .{}),
        .body_source = .{ .writer = null },
        .user_data = 9,
    });
    defer h.deinit();
    const total: u64 = 8 << 20;
    var piece: [64 << 10]u8 = undefined;
    var at: u64 = 0;
    var writable: usize = 0;
    var batch: [4]Completion = undefined;
    while (at < total) {
        // Edge-triggered: write until 0, then one .writable completion announces room.
        while (at < total) {
            const len: usize = @intCast(@min(total - at, piece.len));
            fillPattern(piece[0..len], at);
            const n = try h.writeAvailable(piece[0..len]);
            if (n == 0) break;
            at += n;
        }
        if (at == total) break;
        const done = try client.waitDrain(&batch, 1, 10_000);
        try testing.expectEqual(@as(usize, 1), done.len);
        try testing.expectEqual(h.id, done[0].id);
        try testing.expectEqual(@as(u64, 9), done[0].user_data);
        try testing.expectEqual(Completion.Event.writable, done[0].event());
        try done[0].result();
        writable += 1;
    }
    // How often depends on what the kernel's socket buffers absorb: at least once.
    try testing.expect(writable >= 1);
    try h.finishBody();
    try expectUploaded(h, total, Fnv.ofPattern(total), null);
}

test "upload: a file body by descriptor, to its end or a length; std.Io.Reader bodies, and a failing one" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{});
    defer client.deinit();
    var tmp = testing.tmpDir(.{});
    defer tmp.cleanup();
    const size = 500_000;
    const data = try testing.allocator.alloc(u8, size);
    defer testing.allocator.free(data);
    fillPattern(data, 0);
    try tmp.dir.writeFile(io, .{ .sub_path = "body.bin", .data = data });
    var whole: Fnv = .{};
    whole.update(data);
    var head: Fnv = .{};
    head.update(data[0..123_456]);

    for ([_]?u64{ null, 123_456 }) |length| {
        const file = try tmp.dir.openFile(io, "body.bin", .{});
        defer file.close(io);
        var h = try client.send(.{
            .method = "PUT",
            .url = try url(&buf, "/upload", .{}),
            .body_source = .fromFile(file, length),
        });
        defer h.deinit();
        if (length) |n| try expectUploaded(h, n, head, n) else try expectUploaded(h, size, whole, null);
    }

    // A file reader (from the file's current offset) with its length, and a reader over
    // memory without one.
    {
        const file = try tmp.dir.openFile(io, "body.bin", .{});
        defer file.close(io);
        var rbuf: [4096]u8 = undefined;
        var file_reader = file.reader(io, &rbuf);
        var h = try client.send(.{
            .method = "POST",
            .url = try url(&buf, "/upload", .{}),
            .body_source = .fromReader(&file_reader.interface, size),
        });
        defer h.deinit();
        try expectUploaded(h, size, whole, size);
    }
    {
        var memory: std.Io.Reader = .fixed(data);
        var h = try client.send(.{
            .method = "POST",
            .url = try url(&buf, "/upload", .{}),
            .body_source = .fromReader(&memory, null),
        });
        defer h.deinit();
        try expectUploaded(h, size, whole, null);
    }
    // A reader that fails: the request fails with error.BodySource.
    {
        var broken: std.Io.Reader = .failing;
        var h = try client.send(.{
            .method = "POST",
            .url = try url(&buf, "/upload", .{}),
            .body_source = .fromReader(&broken, null),
        });
        defer h.deinit();
        try testing.expectEqual(httpring.State.failed, try h.wait(10_000));
        try testing.expectError(error.BodySource, h.result());
    }
}

/// A pull source for `BodySource.fromCallback`: `total` bytes of the pattern in pieces of
/// at most `piece`; "pending" until `ready` (the test then resumes it), and it fails at
/// `fail_at` when set.
const PullSource = struct {
    total: u64,
    piece: usize = 10_000,
    fail_at: ?u64 = null,
    at: u64 = 0,
    ready: std.atomic.Value(bool) = .init(false),
    calls: std.atomic.Value(usize) = .init(0),

    fn pull(self: *PullSource, out: []u8) httpring.BodySource.PullError!usize {
        _ = self.calls.fetchAdd(1, .seq_cst);
        if (!self.ready.load(.seq_cst)) return error.Pending;
        if (self.fail_at) |f| if (self.at >= f) return error.Failed;
        const n: usize = @intCast(@min(self.total - self.at, @min(out.len, self.piece)));
        fillPattern(out[0..n], self.at);
        self.at += n;
        return n;
    }
};

test "upload: a pull callback, pending until resumed; a failing one is error.BodySource" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{});
    defer client.deinit();
    const total: u64 = 1_000_000;
    var source: PullSource = .{ .total = total };
    var h = try client.send(.{
        .method = "POST",
        .url = try url(&buf, "/upload", .{}),
        .body_source = .fromCallback(&source, PullSource.pull, null),
    });
    defer h.deinit();
    var tries: usize = 0;
    while (source.calls.load(.seq_cst) == 0 and tries < 10_000) : (tries += 1) {
        try io.sleep(.fromMilliseconds(1), .awake);
    }
    // Pending: nothing is sent until the source has something and says so.
    try io.sleep(.fromMilliseconds(50), .awake);
    try testing.expectEqual(httpring.State.pending, try h.poll());
    const asked = source.calls.load(.seq_cst);
    try testing.expect(asked >= 1);
    source.ready.store(true, .seq_cst);
    try h.resumeBody();
    try expectUploaded(h, total, Fnv.ofPattern(total), null);
    try testing.expect(source.calls.load(.seq_cst) > asked + 50); // asked piece by piece
    // Over: resuming is refused with the request's end.
    try testing.expect(std.meta.isError(h.resumeBody()));

    var failing: PullSource = .{ .total = total, .fail_at = 200_000, .ready = .init(true) };
    var bad = try client.send(.{
        .method = "POST",
        .url = try url(&buf, "/upload", .{}),
        .body_source = .fromCallback(&failing, PullSource.pull, null),
    });
    defer bad.deinit();
    try testing.expectEqual(httpring.State.failed, try bad.wait(10_000));
    try testing.expectError(error.BodySource, bad.result());
    try testing.expectError(error.BodySource, bad.waitResponse(0));
    var msg: [256]u8 = undefined;
    try testing.expect(std.mem.indexOf(u8, try bad.errorMessage(&msg), "callback") != null);
}

test "upload: past the declared length is InvalidArgument; finishing short is BodySource" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{});
    defer client.deinit();

    // 11 bytes into a body of 10: the writer's flush is refused whole, and nothing is taken.
    var h = try client.send(.{
        .method = "POST",
        .url = try url(&buf, "/upload", .{}),
        .body_source = .{ .writer = 10 },
    });
    defer h.deinit();
    var wbuf: [64]u8 = undefined;
    var body = h.bodyWriter(&wbuf);
    try body.interface.writeAll("0123456789x"); // buffered, not sent yet
    try testing.expectError(error.InvalidArgument, body.finish());
    try testing.expectEqual(@as(?httpring.WriteError, error.InvalidArgument), body.err);
    try testing.expectError(error.InvalidArgument, h.writeAvailable("0123456789x"));
    try h.writeAll("0123456789");
    try testing.expectError(error.InvalidArgument, h.write("x"));
    try h.finishBody();
    var ten: Fnv = .{};
    ten.update("0123456789");
    try expectUploaded(h, 10, ten, 10);

    // Finishing at 3 of 10 bytes fails the request.
    var short = try client.send(.{
        .method = "POST",
        .url = try url(&buf, "/upload", .{}),
        .body_source = .{ .writer = 10 },
    });
    defer short.deinit();
    var short_body = short.bodyWriter(&wbuf);
    try short_body.interface.writeAll("abc");
    try testing.expectError(error.BodySource, short_body.finish());
    try testing.expectEqual(httpring.State.failed, try short.wait(10_000));
    try testing.expectError(error.BodySource, short.result());
    var msg: [256]u8 = undefined;
    try testing.expect(std.mem.indexOf(u8, try short.errorMessage(&msg), "3 of its 10") != null);
    // The request is over: writes fail.
    try testing.expect(std.meta.isError(short.writeAvailable("x")));

    // A cancelled request: the blocked writer wakes up with error.Cancelled.
    var cancelled = try client.send(.{
        .method = "POST",
        .url = try url(&buf, "/upload?pause_ms=50", .{}),
        .body_source = .{ .writer = null },
    });
    defer cancelled.deinit();
    const Canceller = struct {
        fn run(handle: httpring.Handle) void {
            io.sleep(.fromMilliseconds(100), .awake) catch {};
            handle.cancel() catch {};
        }
    };
    const thread = try std.Thread.spawn(.{}, Canceller.run, .{cancelled});
    var big: [64 << 10]u8 = @splat('z');
    var cbody = cancelled.bodyWriter(&.{});
    const err = while (true) {
        cbody.interface.writeAll(&big) catch break cbody.err.?;
    };
    thread.join();
    try testing.expectEqual(error.Cancelled, err);
    try testing.expectError(error.Cancelled, cancelled.result());
}

test "upload: misuse: two bodies, a length past i64, writes to a request without a writer" {
    var buf: [512]u8 = undefined;
    var client = try Client.init(.{});
    defer client.deinit();
    const target = try url(&buf, "/upload", .{});
    try testing.expectError(error.InvalidArgument, client.send(.{ .method = "POST", .url = target, .body = "x", .body_source = .{ .writer = null } }));
    var form = try httpring.Form.init();
    defer form.deinit();
    try form.addField("a", "1");
    try testing.expectError(error.InvalidArgument, client.send(.{ .method = "POST", .url = target, .body = "x", .form = &form }));
    try testing.expectError(error.InvalidArgument, client.send(.{ .method = "POST", .url = target, .body_source = .{ .writer = std.math.maxInt(u64) } }));
    try testing.expectError(error.InvalidArgument, client.send(.{ .method = "POST", .url = target, .body_source = .{ .file = .{ .fd = -1 } } }));
    try testing.expectEqual(@as(usize, 0), try client.liveHandles());

    var plain = try client.send(.{ .method = "POST", .url = target, .body = "abc" });
    defer plain.deinit();
    try testing.expectError(error.InvalidArgument, plain.writeAvailable("x"));
    try testing.expectError(error.InvalidArgument, plain.waitWritable(0));
    try testing.expectError(error.InvalidArgument, plain.finishBody());
    var abc: Fnv = .{};
    abc.update("abc");
    try expectUploaded(plain, 3, abc, 3);

    // sendMany sends a request with a body source on its own, and it works.
    var out: [2]httpring.SubmitError!httpring.Handle = undefined;
    var hello_buf: [512]u8 = undefined;
    const requests = [_]httpring.Request{
        .{ .url = try url(&hello_buf, "/hello", .{}) },
        .{ .method = "POST", .url = target, .body_source = .{ .writer = 2 } },
    };
    try testing.expectEqual(@as(usize, 2), try client.sendMany(&requests, &out));
    var hello = try out[0];
    defer hello.deinit();
    var pushed = try out[1];
    defer pushed.deinit();
    try pushed.writeAll("hi");
    try pushed.finishBody();
    var hi: Fnv = .{};
    hi.update("hi");
    try expectUploaded(pushed, 2, hi, 2);
}
