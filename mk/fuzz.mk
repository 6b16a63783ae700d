# Fuzzing (issue 20): the cargo-fuzz targets in fuzz/fuzz_targets (a crate of its own, built
# with nightly; docs/RELIABILITY.md "Fuzzing" says what each covers).
#   make fuzz [FUZZ_SECONDS=30] [FUZZ_TARGETS="url decode"]   builds all, runs each N seconds
#   make fuzz-ci                                               the same, 10 s each
# A crash, panic, hang (-timeout) or memory blow-up (-rss_limit_mb) fails the target; the
# input is left in fuzz/artifacts/TARGET/ (reproduce: cd fuzz && cargo +nightly fuzz run
# TARGET artifacts/TARGET/crash-...). New corpus entries go to fuzz/corpus/TARGET/ (ignored
# by git; only the seed-* files are tracked). The nightly toolchain and cargo-fuzz are
# installed when missing.
FUZZ_SECONDS ?= 30
FUZZ_TARGETS ?= url header config_strings decode response c_api
FUZZ_CARGO   ?= cargo +nightly
FUZZ_FLAGS   ?= -timeout=20 -rss_limit_mb=2048 -print_final_stats=1

.PHONY: fuzz fuzz-ci fuzz-build fuzz-tool

fuzz-tool:
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@command -v cargo-fuzz >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked

fuzz-build: fuzz-tool
	cd fuzz && $(FUZZ_CARGO) fuzz build -O

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  echo "=== fuzz $$t: $(FUZZ_SECONDS) s"; \
	  (cd fuzz && $(FUZZ_CARGO) fuzz run -O $$t -- -max_total_time=$(FUZZ_SECONDS) $(FUZZ_FLAGS)) || \
	    { echo "fuzz: $$t failed: the input is in fuzz/artifacts/$$t/"; exit 1; }; \
	done; echo "fuzz: $(FUZZ_TARGETS): no crash in $(FUZZ_SECONDS) s each"

fuzz-ci:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10
