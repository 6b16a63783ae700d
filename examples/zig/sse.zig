//! Prints the server-sent events (text/event-stream) of a URL as they arrive, each with the
//! time since the request was sent. The body is streamed (`Request.stream`) and read line by
//! line through `Handle.reader`, a `std.Io.Reader`.
//!
//!   zig build sse -- URL [MAX_EVENTS]
//!   (in bindings/zig; default: $HTTPRING_TEST_URL/events/5/200, until the stream ends)

const std = @import("std");
const httpring = @import("httpring");

pub fn main(init: std.process.Init) !void {
    const arena = init.arena.allocator();
    const io = init.io;
    var stdout_buffer: [4096]u8 = undefined;
    var stdout_writer: std.Io.File.Writer = .init(.stdout(), io, &stdout_buffer);
    const out = &stdout_writer.interface;

    const args = try init.minimal.args.toSlice(arena);
    const url: [:0]const u8 = if (args.len > 1) try arena.dupeSentinel(u8, args[1], 0) else blk: {
        const base = init.environ_map.get("HTTPRING_TEST_URL") orelse {
            std.debug.print("usage: sse URL [MAX_EVENTS] (or set HTTPRING_TEST_URL)\n", .{});
            std.process.exit(2);
        };
        break :blk try std.fmt.allocPrintSentinel(arena, "{s}/events/5/200", .{base}, 0);
    };
    const max_events: ?usize = if (args.len > 2) try std.fmt.parseInt(usize, args[2], 10) else null;

    // An event stream may stay quiet for long: no read timeout.
    var client = try httpring.Client.init(.{ .connect_timeout_ms = 10_000, .read_timeout_ms = 0 });
    defer client.deinit();

    const start = std.Io.Clock.Timestamp.now(io, .awake);
    var h = try client.send(.{
        .url = url,
        .headers = &.{
            .{ .name = "Accept", .value = "text/event-stream" },
            .{ .name = "Cache-Control", .value = "no-cache" },
        },
        .stream = true,
    });
    // Freeing the handle before the end (MAX_EVENTS) stops the stream and closes its connection.
    defer h.deinit();

    const head = h.waitResponse(null) catch |err| return fail(h, "request", err);
    try out.print("{s}: {d} {s}\n", .{ url, head.status, head.header("content-type") orelse "-" });
    try out.flush();
    if (head.status != 200) std.process.exit(1);

    var line_buffer: [64 << 10]u8 = undefined; // the longest line
    var body = h.reader(&line_buffer);
    var events: EventReader = .{ .in = &body.interface };
    defer events.deinit(init.gpa);
    var count: usize = 0;
    while (max_events == null or count < max_events.?) : (count += 1) {
        const event = events.next(init.gpa) catch |err| switch (err) {
            error.ReadFailed => return fail(h, "body", body.err.?),
            else => |e| return e,
        } orelse break;
        const ms = @as(f64, @floatFromInt(start.untilNow(io).raw.nanoseconds)) / 1e6;
        try out.print("+{d:.1} ms  {s}", .{ ms, event.type });
        if (event.id.len > 0) try out.print(" id={s}", .{event.id});
        try out.print(": {s}\n", .{event.data});
        try out.flush(); // each event as it comes
    }
    try out.print("{d} events{s}\n", .{ count, if (max_events != null and count == max_events.?) " (stopped)" else ", end of stream" });
    try out.flush();
}

fn fail(h: httpring.Handle, what: []const u8, err: anyerror) anyerror {
    var msg: [256]u8 = undefined;
    const text = h.errorMessage(&msg) catch "";
    std.debug.print("{s} failed: {s}: {s}\n", .{ what, @errorName(err), text });
    return err;
}

/// One dispatched event. Slices are valid until the next `EventReader.next`.
const Event = struct {
    /// The `event:` field, "message" when there was none.
    type: []const u8,
    /// The `data:` lines, joined with '\n'.
    data: []const u8,
    /// The last `id:` seen on the stream (it carries over to later events), or empty.
    id: []const u8,
};

/// The event-stream format of the HTML standard ("9.2 Server-sent events"), line by line from
/// a `std.Io.Reader`: `field: value` lines, `:` comments, a blank line dispatches. Lines end
/// with LF or CRLF (a lone CR is not treated as a line end here).
const EventReader = struct {
    in: *std.Io.Reader,
    data: std.ArrayList(u8) = .empty,
    type: std.ArrayList(u8) = .empty,
    id: std.ArrayList(u8) = .empty,

    fn deinit(self: *EventReader, gpa: std.mem.Allocator) void {
        self.data.deinit(gpa);
        self.type.deinit(gpa);
        self.id.deinit(gpa);
    }

    /// The next event, or null at the end of the stream (an event not ended by a blank
    /// line is dropped, as the standard says).
    fn next(self: *EventReader, gpa: std.mem.Allocator) !?Event {
        self.data.clearRetainingCapacity();
        self.type.clearRetainingCapacity();
        while (try self.in.takeDelimiter('\n')) |raw| {
            const line = if (std.mem.endsWith(u8, raw, "\r")) raw[0 .. raw.len - 1] else raw;
            if (line.len == 0) {
                // No data: nothing to dispatch; start over.
                if (self.data.items.len == 0) {
                    self.type.clearRetainingCapacity();
                    continue;
                }
                return .{
                    .type = if (self.type.items.len > 0) self.type.items else "message",
                    .data = self.data.items[0 .. self.data.items.len - 1], // without the last '\n'
                    .id = self.id.items,
                };
            }
            if (line[0] == ':') continue; // a comment (servers send them to keep a stream alive)
            const colon = std.mem.indexOfScalar(u8, line, ':');
            const name = line[0 .. colon orelse line.len];
            var value: []const u8 = if (colon) |i| line[i + 1 ..] else "";
            if (std.mem.startsWith(u8, value, " ")) value = value[1..];
            if (std.mem.eql(u8, name, "data")) {
                try self.data.appendSlice(gpa, value);
                try self.data.append(gpa, '\n');
            } else if (std.mem.eql(u8, name, "event")) {
                self.type.clearRetainingCapacity();
                try self.type.appendSlice(gpa, value);
            } else if (std.mem.eql(u8, name, "id")) {
                if (std.mem.indexOfScalar(u8, value, 0) == null) {
                    self.id.clearRetainingCapacity();
                    try self.id.appendSlice(gpa, value);
                }
            }
            // "retry" and unknown fields: ignored.
        }
        return null;
    }
};

test "event stream: fields, comments, multi-line data, CRLF, ids that carry over" {
    const gpa = std.testing.allocator;
    var in: std.Io.Reader = .fixed(": hello\n" ++
        "data: one\n\n" ++
        "event: update\r\nid: 7\r\ndata:two\r\ndata:  lines\r\n\r\n" ++
        "retry: 1000\n\n" ++ // no data: not dispatched
        "data\n\n" ++ // a field without a colon: empty data
        "data: cut off at the end\n");
    var events: EventReader = .{ .in = &in };
    defer events.deinit(gpa);

    const one = (try events.next(gpa)).?;
    try std.testing.expectEqualStrings("message", one.type);
    try std.testing.expectEqualStrings("one", one.data);
    try std.testing.expectEqualStrings("", one.id);

    const two = (try events.next(gpa)).?;
    try std.testing.expectEqualStrings("update", two.type);
    try std.testing.expectEqualStrings("two\n lines", two.data);
    try std.testing.expectEqualStrings("7", two.id);

    const empty = (try events.next(gpa)).?;
    try std.testing.expectEqualStrings("message", empty.type);
    try std.testing.expectEqualStrings("", empty.data);
    try std.testing.expectEqualStrings("7", empty.id);

    try std.testing.expect(try events.next(gpa) == null);
}
