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
