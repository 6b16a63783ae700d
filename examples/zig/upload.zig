//! Uploads a request body as it is produced, without holding it in memory: generated CSV
//! rows written through `Handle.bodyWriter` (a `std.Io.Writer`; chunked, as the length is
//! not known beforehand), or a file read by the library from its descriptor (with its
//! `Content-Length`). Prints the response and the throughput.
//!
//!   zig build upload -- [URL [FILE | ROWS]]
//!   (in bindings/zig; default: $HTTPRING_TEST_URL/upload and 200000 generated rows)

const std = @import("std");
const httpring = @import("httpring");

pub fn main(init: std.process.Init) !void {
    const arena = init.arena.allocator();
    const io = init.io;
    const args = try init.minimal.args.toSlice(arena);
    const url: [:0]const u8 = if (args.len > 1) try arena.dupeSentinel(u8, args[1], 0) else blk: {
        const base = init.environ_map.get("HTTPRING_TEST_URL") orelse {
            std.debug.print("usage: upload URL [FILE | ROWS] (or set HTTPRING_TEST_URL)\n", .{});
            std.process.exit(2);
        };
        break :blk try std.fmt.allocPrintSentinel(arena, "{s}/upload", .{base}, 0);
    };
    // A number is a row count; anything else a file to send.
    const what: []const u8 = if (args.len > 2) args[2] else "200000";
    const rows: ?u64 = std.fmt.parseInt(u64, what, 10) catch null;

    var client = try httpring.Client.init(.{ .connect_timeout_ms = 10_000, .read_timeout_ms = 30_000 });
    defer client.deinit();
    const start = std.Io.Clock.Timestamp.now(io, .awake);
    var sent: u64 = 0;

    var h = if (rows) |count| blk: {
        var pushed = try client.send(.{
            .method = "POST",
            .url = url,
            .headers = &.{.{ .name = "Content-Type", .value = "text/csv" }},
            .body_source = .{ .writer = null },
        });
        errdefer pushed.deinit();
        // The writer blocks whenever the connection is behind: memory stays at the two
        // buffers (this one and the library's), whatever the count.
        var buffer: [16 << 10]u8 = undefined;
        var body = pushed.bodyWriter(&buffer);
        sent = writeRows(&body.interface, count) catch |err| switch (err) {
            error.WriteFailed => return fail(pushed, "body", body.err.?),
        };
        body.finish() catch |err| return fail(pushed, "body", err);
        break :blk pushed;
    } else blk: {
        const file = try std.Io.Dir.cwd().openFile(io, what, .{});
        // The library reads the descriptor until the request completes: close it after.
        defer file.close(io);
        sent = try file.length(io);
        const from_file = try client.send(.{
            .method = "PUT",
            .url = url,
            .headers = &.{.{ .name = "Content-Type", .value = "application/octet-stream" }},
            .body_source = .fromFile(file, sent),
        });
        _ = from_file.wait(null) catch {};
        break :blk from_file;
    };
    defer h.deinit();

    const r = h.waitResponse(null) catch |err| return fail(h, "request", err);
    const seconds = @as(f64, @floatFromInt(start.untilNow(io).raw.nanoseconds)) / 1e9;
    const mb = @as(f64, @floatFromInt(sent)) / 1e6;
    std.debug.print("{s}: {d} after sending {d} bytes in {d:.3} s ({d:.1} MB/s)\n{s}\n", .{
        url, r.status, sent, seconds, mb / seconds, r.body,
    });
    if (r.status >= 400) std.process.exit(1);
}

fn fail(h: httpring.Handle, what: []const u8, err: anyerror) anyerror {
    var msg: [256]u8 = undefined;
    const text = h.errorMessage(&msg) catch "";
    std.debug.print("{s} failed: {s}: {s}\n", .{ what, @errorName(err), text });
    return err;
}

/// A CSV header and `count` rows of made-up readings; returns the bytes written.
fn writeRows(w: *std.Io.Writer, count: u64) std.Io.Writer.Error!u64 {
    const header = "id,sensor,reading\n";
    try w.writeAll(header);
    var total: u64 = header.len;
    const row = "{d},s{d},{d}.{d:0>2}\n";
    for (0..count) |i| {
        const args = .{ i, i % 16, (i * 7919) % 1000, i % 100 };
        total += std.fmt.count(row, args);
        try w.print(row, args);
    }
    return total;
}

test "rows: a header, then one line per row" {
    var out: [256]u8 = undefined;
    var w: std.Io.Writer = .fixed(&out);
    const n = try writeRows(&w, 3);
    try std.testing.expectEqualStrings(
        \\id,sensor,reading
        \\0,s0,0.00
        \\1,s1,919.01
        \\2,s2,838.02
        \\
    , w.buffered());
    try std.testing.expectEqual(@as(u64, w.end), n);
}
