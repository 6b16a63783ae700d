# Benchmarks (issue 7): bench/run.py does the work; bench/README.md describes it.
#   make bench        installs the peers it lacks (apt, pip, oha once via cargo), 3 repetitions,
#                     writes bench/results/{results.md,latency.svg,raw.json}
#   make bench-quick  1 repetition, small counts, installs nothing slow, skips missing peers;
#                     writes build/bench-quick/; fails only if httpring fails (CI runs it)
# BENCH_FLAGS passes options on, e.g. BENCH_FLAGS="--only throughput,latency --reps 5".
# BENCH_DEPS is what is built first (`build`); empty to use an existing LIB_DIR as it is.
BENCH_FLAGS ?=
BENCH_DEPS  ?= build
BENCH_RUN    = $(PYTHON) bench/run.py --lib-dir $(LIB_DIR) --testserver $(TESTSERVER)

bench: $(BENCH_DEPS)
	$(BENCH_RUN) $(BENCH_FLAGS)

bench-quick: $(BENCH_DEPS)
	$(BENCH_RUN) --quick $(BENCH_FLAGS)
