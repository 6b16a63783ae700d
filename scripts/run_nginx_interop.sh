#!/usr/bin/env bash
# Starts nginx (Debian's package) on 127.0.0.1 with a certificate from a CA made here, TLS
# and HTTP/2 on one port and plain HTTP on another, runs the interop test binary against it,
# and stops nginx. Fails if nginx or openssl is missing (.ci/run installs them).
#   scripts/run_nginx_interop.sh build/c/nginx_interop
set -euo pipefail
bin=$1
for tool in nginx openssl; do
  command -v $tool >/dev/null || { echo "$tool is not installed (apt-get install nginx-light openssl)" >&2; exit 1; }
done
dir=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=httpring interop CA" \
  -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$dir/leaf.key" -out "$dir/leaf.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$dir/san.ext"
openssl x509 -req -in "$dir/leaf.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
  -days 2 -extfile "$dir/san.ext" -out "$dir/leaf.pem" 2>/dev/null
head -c 1048576 /dev/urandom >"$dir/big.bin"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tls_port=$(free_port); http_port=$(free_port)
cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
daemon off;
user root;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  server {
    listen 127.0.0.1:$tls_port ssl http2;
    ssl_certificate $dir/leaf.pem;
    ssl_certificate_key $dir/leaf.key;
    location = /big.bin { root $dir; }
    location / { return 200 "hello from nginx\n"; }
  }
  server {
    listen 127.0.0.1:$http_port;
    location / { return 200 "hello from nginx\n"; }
  }
}
CONF
nginx -c "$dir/nginx.conf" -p "$dir" &
pid=$!
for _ in $(seq 1 100); do
  (exec 3<>/dev/tcp/127.0.0.1/$tls_port) 2>/dev/null && break
  kill -0 $pid 2>/dev/null || { cat "$dir/error.log" >&2; exit 1; }
  sleep 0.05
done
echo "nginx $(nginx -v 2>&1 | sed 's/.*\///') on 127.0.0.1:$tls_port (TLS, h2) and :$http_port"
NGINX_HTTPS_URL="https://127.0.0.1:$tls_port" NGINX_HTTP_URL="http://127.0.0.1:$http_port" \
  NGINX_CA_FILE="$dir/ca.pem" "$bin"
