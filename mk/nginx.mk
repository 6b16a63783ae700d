# Interop with a real peer: nginx with TLS and HTTP/2 (scripts/run_nginx_interop.sh).
.PHONY: test-nginx
TEST_TARGETS += test-nginx

$(BUILD)/c/nginx_interop: tests/c/nginx_interop.c include/httpring.h tests/c/check.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(C_LINK)

test-nginx: $(BUILD)/c/nginx_interop
	scripts/run_nginx_interop.sh $(BUILD)/c/nginx_interop
