//! Builds the httpring Zig module over the prebuilt C library, its tests and the examples.
//!
//!   zig build test      unit tests, and integration tests against $HTTPRING_TEST_URL
//!   zig build demo      examples/zig/async_demo.zig (args after --: URLs)
//!   zig build crawler   examples/zig/crawler.zig (args after --: start URL)
//!   zig build sse       examples/zig/sse.zig (args after --: URL [MAX_EVENTS])
//!   zig build upload    examples/zig/upload.zig (args after --: [URL [FILE | ROWS]])
//!   zig build readme -Dreadme-example=FILE   a README's program (scripts/check_readme_examples.py)
//!
//! -Dlib-dir=DIR holds libhttpring.so/.a (default ../../target/release, from `make build`);
//! -Dinclude-dir=DIR holds httpring.h (default ../../include). Relative paths are taken
//! from this directory. -Dstatic=true links libhttpring.a instead of the shared library.
const std = @import("std");

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{});
    const lib_dir = dirOption(b, "lib-dir", "Directory with libhttpring.so and libhttpring.a", "../../target/release");
    const include_dir = dirOption(b, "include-dir", "Directory with httpring.h", "../../include");
    const static = b.option(bool, "static", "Link libhttpring.a instead of libhttpring.so") orelse false;

    // Zig has no @cImport: the header becomes a Zig module here.
    const translate = b.addTranslateC(.{
        .root_source_file = include_dir.path(b, "httpring.h"),
        .target = target,
        .optimize = optimize,
    });
    const c_module = translate.createModule();

    const httpring = b.addModule("httpring", .{
        .root_source_file = b.path("src/httpring.zig"),
        .target = target,
        .optimize = optimize,
        .link_libc = true,
        .imports = &.{.{ .name = "httpring_c", .module = c_module }},
    });
    httpring.addLibraryPath(lib_dir);
    if (static) {
        httpring.linkSystemLibrary("httpring", .{ .use_pkg_config = .no, .preferred_link_mode = .static, .search_strategy = .no_fallback });
        // What Rust's std and tokio need from the system besides libc.
        for ([_][]const u8{ "m", "pthread", "dl", "unwind" }) |name| {
            httpring.linkSystemLibrary(name, .{ .use_pkg_config = .no });
        }
    } else {
        httpring.linkSystemLibrary("httpring", .{ .use_pkg_config = .no });
        // Programs run from the build tree find the library without LD_LIBRARY_PATH.
        httpring.addRPath(lib_dir);
    }

    const test_step = b.step("test", "Run the unit and integration tests (integration needs HTTPRING_TEST_URL)");
    const unit_tests = b.addTest(.{ .name = "unit", .root_module = httpring });
    const run_unit = b.addRunArtifact(unit_tests);
    run_unit.has_side_effects = true; // always run, so every test is counted in the summary
    test_step.dependOn(&run_unit.step);

    const integration_tests = b.addTest(.{
        .name = "integration",
        .root_module = b.createModule(.{
            .root_source_file = b.path("tests/integration.zig"),
            .target = target,
            .optimize = optimize,
            .imports = &.{.{ .name = "httpring", .module = httpring }},
        }),
    });
    const run_integration = b.addRunArtifact(integration_tests);
    // The server URL comes from the environment: never reuse a cached pass.
    run_integration.has_side_effects = true;
    test_step.dependOn(&run_integration.step);

    addExample(b, test_step, httpring, target, optimize, "demo", "async_demo", "Fetch 4 URLs at once (args: URLs; default: the test server)");
    addExample(b, test_step, httpring, target, optimize, "crawler", "crawler", "Crawl the test site in parallel, then sequentially (args: start URL)");
    addExample(b, test_step, httpring, target, optimize, "upload", "upload", "Upload generated rows through the body writer, or a file (args: [URL [FILE | ROWS]]; default: the test server)");
    addExample(b, test_step, httpring, target, optimize, "sse", "sse", "Print server-sent events as they arrive (args: URL [MAX_EVENTS]; default: the test server)");

    // A program from a README (scripts/check_readme_examples.py writes it out): `zig build
    // readme -Dreadme-example=FILE` builds and runs it, `readme-build` only builds it.
    if (b.option([]const u8, "readme-example", "A README's Zig program to build (zig build readme / readme-build)")) |file| {
        const exe = b.addExecutable(.{
            .name = "readme-example",
            .root_module = b.createModule(.{
                .root_source_file = b.graph.cwdRelativePath(file),
                .target = target,
                .optimize = optimize,
                .imports = &.{.{ .name = "httpring", .module = httpring }},
            }),
        });
        b.step("readme-build", "Build -Dreadme-example").dependOn(&exe.step);
        const run = b.addRunArtifact(exe);
        run.has_side_effects = true;
        b.step("readme", "Build and run -Dreadme-example").dependOn(&run.step);
    }
}

fn addExample(
    b: *std.Build,
    test_step: *std.Build.Step,
    httpring: *std.Build.Module,
    target: std.Build.ResolvedTarget,
    optimize: std.builtin.OptimizeMode,
    step_name: []const u8,
    file: []const u8,
    description: []const u8,
) void {
    const exe = b.addExecutable(.{
        .name = file,
        .root_module = b.createModule(.{
            .root_source_file = b.path(b.fmt("../../examples/zig/{s}.zig", .{file})),
            .target = target,
            .optimize = optimize,
            .imports = &.{.{ .name = "httpring", .module = httpring }},
        }),
    });
    b.installArtifact(exe);
    // The examples' own tests (and so their compilation) are part of `zig build test`.
    const run_tests = b.addRunArtifact(b.addTest(.{ .name = file, .root_module = exe.root_module }));
    run_tests.has_side_effects = true;
    test_step.dependOn(&run_tests.step);
    const run = b.addRunArtifact(exe);
    run.addPassthruArgs();
    b.step(step_name, description).dependOn(&run.step);
}

/// A directory option: absolute as given, relative to this build.zig's directory otherwise.
fn dirOption(b: *std.Build, name: []const u8, description: []const u8, default: []const u8) std.Build.LazyPath {
    const value = b.option([]const u8, name, description) orelse default;
    // Absolute, so that the rpath baked into test and example binaries works from anywhere.
    const root = b.root.root_dir.path orelse ".";
    return b.graph.cwdRelativePath(b.pathResolve(&.{ root, b.root.sub_path, value }));
}
