//! Fetches several URLs at once and prints each result as it arrives, then the wall time
//! against the sum of the single request times.
//!
//!   zig build demo -- URL...      (in bindings/zig; default: 4 URLs of $HTTPRING_TEST_URL)

const std = @import("std");
const httpring = @import("httpring");

const default_paths = [_][]const u8{ "/delay/300", "/delay/200", "/json", "/bytes/4096" };

pub fn main(init: std.process.Init) !void {
    const arena = init.arena.allocator();
    const io = init.io;
    var stdout_buffer: [4096]u8 = undefined;
    var stdout_writer: std.Io.File.Writer = .init(.stdout(), io, &stdout_buffer);
    const out = &stdout_writer.interface;

    const args = try init.minimal.args.toSlice(arena);
    var urls: std.ArrayList([:0]const u8) = .empty;
    if (args.len > 1) {
        for (args[1..]) |arg| try urls.append(arena, try arena.dupeSentinel(u8, arg, 0));
    } else {
        const base = init.environ_map.get("HTTPRING_TEST_URL") orelse {
            std.debug.print("usage: async_demo URL... (or set HTTPRING_TEST_URL)\n", .{});
            std.process.exit(2);
        };
        for (default_paths) |path| try urls.append(arena, try std.fmt.allocPrintSentinel(arena, "{s}{s}", .{ base, path }, 0));
    }

    var client = try httpring.Client.init(.{ .timeout_ms = 30_000 });
    defer client.deinit();

    const start = std.Io.Clock.Timestamp.now(io, .awake);
    // Every request is in flight before the first answer is read.
    const handles = try arena.alloc(httpring.Handle, urls.items.len);
    for (urls.items, handles, 0..) |url, *h, i| {
        h.* = try client.send(.{ .url = url, .user_data = i });
    }
    defer for (handles) |*h| h.deinit();

    // Print in completion order: waitAny over the ones not yet reported.
    var pending = try arena.dupe(httpring.Handle, handles);
    var sum_us: u64 = 0;
    try out.print("fetching {d} URLs at once with httpring {s}\n", .{ urls.items.len, httpring.version() });
    try out.flush();
    while (pending.len > 0) {
        const index = (try client.waitAny(pending, null)).?;
        const h = pending[index];
        const url = urls.items[try h.userData()];
        if (h.response()) |r| {
            sum_us += r.elapsed_us;
            try out.print("  {d} {s:<40} {d:>7} bytes  {d:>7.1} ms  {s}\n", .{
                r.status, url, r.body.len, @as(f64, @floatFromInt(r.elapsed_us)) / 1000.0, r.header("content-type") orelse "-",
            });
        } else |err| {
            var msg: [256]u8 = undefined;
            try out.print("  ERR {s:<40} {s}: {s}\n", .{ url, httpring.errorName(err), try h.errorMessage(&msg) });
        }
        try out.flush();
        pending[index] = pending[pending.len - 1];
        pending = pending[0 .. pending.len - 1];
    }
    const wall_ms = @as(f64, @floatFromInt(start.untilNow(io).raw.nanoseconds)) / 1e6;
    try out.print("{d} requests in {d:.1} ms wall time; one after another they took {d:.1} ms\n", .{
        urls.items.len, wall_ms, @as(f64, @floatFromInt(sum_us)) / 1000.0,
    });
    try out.flush();
}
