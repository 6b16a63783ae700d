//! A breadth-first crawler of one site: first with many requests in flight, driven from a
//! poll() loop on the client's completion fd, then one request at a time. Prints both
//! times and the speedup.
//!
//!   zig build crawler -- START_URL [IN_FLIGHT] [MAX_PAGES]
//!   (in bindings/zig; default start: $HTTPRING_TEST_URL/site/0, 16 in flight, 500 pages)

const std = @import("std");
const httpring = @import("httpring");

const Crawl = struct {
    pages: usize = 0,
    failures: usize = 0,
    bytes: usize = 0,
    elapsed_ns: i96 = 0,
};

pub fn main(init: std.process.Init) !void {
    const arena = init.arena.allocator();
    const io = init.io;
    var stdout_buffer: [4096]u8 = undefined;
    var stdout_writer: std.Io.File.Writer = .init(.stdout(), io, &stdout_buffer);
    const out = &stdout_writer.interface;

    const args = try init.minimal.args.toSlice(arena);
    const start_url: []const u8 = if (args.len > 1) args[1] else blk: {
        const base = init.environ_map.get("HTTPRING_TEST_URL") orelse {
            std.debug.print("usage: crawler START_URL [IN_FLIGHT] [MAX_PAGES] (or set HTTPRING_TEST_URL)\n", .{});
            std.process.exit(2);
        };
        break :blk try std.fmt.allocPrint(arena, "{s}/site/0", .{base});
    };
    const in_flight = if (args.len > 2) try std.fmt.parseInt(usize, args[2], 10) else 16;
    const max_pages = if (args.len > 3) try std.fmt.parseInt(usize, args[3], 10) else 500;

    var client = try httpring.Client.init(.{ .timeout_ms = 30_000 });
    defer client.deinit();

    try out.print("crawling {s} (at most {d} pages)\n", .{ start_url, max_pages });
    try out.flush();
    // Start the runtime outside the timings, so neither crawl pays for it.
    var warm_up = try client.send(.{ .url = try arena.dupeSentinel(u8, start_url, 0) });
    _ = try warm_up.wait(30_000);
    warm_up.deinit();
    const parallel = try crawl(init.gpa, io, client, start_url, in_flight, max_pages);
    try report(out, "concurrently", in_flight, parallel);
    const sequential = try crawl(init.gpa, io, client, start_url, 1, max_pages);
    try report(out, "sequentially", 1, sequential);
    const speedup = @as(f64, @floatFromInt(sequential.elapsed_ns)) / @as(f64, @floatFromInt(@max(parallel.elapsed_ns, 1)));
    try out.print("speedup: {d:.1}x\n", .{speedup});
    try out.flush();
    if (parallel.pages != sequential.pages) {
        std.debug.print("the two crawls found different page counts\n", .{});
        std.process.exit(1);
    }
}

fn report(out: *std.Io.Writer, how: []const u8, in_flight: usize, result: Crawl) !void {
    try out.print("{s:<13} ({d:>3} in flight): {d} pages, {d} bytes, {d} failed, {d:.1} ms\n", .{
        how, in_flight, result.pages, result.bytes, result.failures, @as(f64, @floatFromInt(result.elapsed_ns)) / 1e6,
    });
    try out.flush();
}

/// Crawls breadth-first from `start_url` with up to `in_flight` requests at once. URLs are
/// numbered in discovery order; a request's user_data is its URL's number.
fn crawl(gpa: std.mem.Allocator, io: std.Io, client: httpring.Client, start_url: []const u8, in_flight: usize, max_pages: usize) !Crawl {
    var arena_state: std.heap.ArenaAllocator = .init(gpa);
    defer arena_state.deinit();
    const arena = arena_state.allocator();

    const origin = originOf(start_url);
    var urls: std.ArrayList([:0]const u8) = .empty; // every URL seen, in discovery order
    var seen: std.StringHashMapUnmanaged(void) = .empty;
    try urls.append(arena, try arena.dupeSentinel(u8, start_url, 0));
    try seen.put(arena, urls.items[0], {});

    var result: Crawl = .{};
    var next: usize = 0; // the first URL not yet requested: urls[next..] is the BFS queue
    var running: usize = 0;
    var batch: [64]httpring.Completion = undefined;
    var fds = [_]std.posix.pollfd{.{ .fd = client.fd(), .events = std.posix.POLL.IN, .revents = 0 }};
    const start = std.Io.Clock.Timestamp.now(io, .awake);

    while (next < urls.items.len or running > 0) {
        while (running < in_flight and next < urls.items.len) : (next += 1) {
            _ = try client.send(.{ .url = urls.items[next], .user_data = next });
            running += 1;
        }
        // The program's own event loop: sleep until completions are queued.
        _ = try std.posix.poll(&fds, -1);
        while (true) {
            const done = try client.drain(&batch);
            for (done) |completion| {
                running -= 1;
                var h = client.handle(completion.id);
                defer h.deinit();
                const r = h.response() catch {
                    result.failures += 1;
                    continue;
                };
                if (r.status != 200) {
                    result.failures += 1;
                    continue;
                }
                result.pages += 1;
                result.bytes += r.body.len;
                var links = LinkIterator{ .html = r.body };
                while (links.next()) |href| {
                    if (urls.items.len >= max_pages) break;
                    const url = resolve(arena, origin, href) catch continue orelse continue;
                    const entry = try seen.getOrPut(arena, url);
                    if (!entry.found_existing) try urls.append(arena, url);
                }
            }
            if (done.len < batch.len) break;
        }
    }
    result.elapsed_ns = start.untilNow(io).raw.nanoseconds;
    return result;
}

/// "http://host:port" of a URL.
fn originOf(url: []const u8) []const u8 {
    const scheme_end = (std.mem.indexOf(u8, url, "://") orelse return url) + 3;
    const path_start = std.mem.indexOfScalarPos(u8, url, scheme_end, '/') orelse url.len;
    return url[0..path_start];
}

/// The absolute URL of a link on the same origin, without its fragment; null for others.
fn resolve(arena: std.mem.Allocator, origin: []const u8, href: []const u8) !?[:0]const u8 {
    const link = href[0 .. std.mem.indexOfScalar(u8, href, '#') orelse href.len];
    if (std.mem.startsWith(u8, link, "/") and !std.mem.startsWith(u8, link, "//")) {
        return try std.fmt.allocPrintSentinel(arena, "{s}{s}", .{ origin, link }, 0);
    }
    if (std.mem.startsWith(u8, link, origin) and
        (link.len == origin.len or link[origin.len] == '/'))
    {
        return try arena.dupeSentinel(u8, link, 0);
    }
    return null;
}

/// The values of href="..." attributes, in order. Enough for the demo site; not an HTML parser.
const LinkIterator = struct {
    html: []const u8,
    pos: usize = 0,

    fn next(self: *LinkIterator) ?[]const u8 {
        const marker = "href=\"";
        const start = (std.mem.indexOfPos(u8, self.html, self.pos, marker) orelse return null) + marker.len;
        const end = std.mem.indexOfScalarPos(u8, self.html, start, '"') orelse return null;
        self.pos = end + 1;
        return self.html[start..end];
    }
};

test "links are resolved against the origin" {
    const arena = std.testing.allocator;
    const origin = originOf("http://127.0.0.1:8080/site/0");
    try std.testing.expectEqualStrings("http://127.0.0.1:8080", origin);
    const url = (try resolve(arena, origin, "/site/3#top")).?;
    defer arena.free(url);
    try std.testing.expectEqualStrings("http://127.0.0.1:8080/site/3", url);
    try std.testing.expect(try resolve(arena, origin, "http://elsewhere/") == null);
    try std.testing.expect(try resolve(arena, origin, "//elsewhere/x") == null);
    var it = LinkIterator{ .html = "<a href=\"/a\">a</a> <a href=\"/b\">" };
    try std.testing.expectEqualStrings("/a", it.next().?);
    try std.testing.expectEqualStrings("/b", it.next().?);
    try std.testing.expect(it.next() == null);
}
