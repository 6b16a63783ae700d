-- wrk reporter for the httpring benchmark: one key=value line like the other drivers.
-- wrk is time-based, so requests and wall_s come from its summary; the runner adds the
-- CPU (from wrk's rusage) and the derived rates.
local quantiles = {0, 1, 5, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100}

done = function(summary, latency, requests)
  local e = summary.errors
  local failed = e.connect + e.read + e.write + e.status + e.timeout
  local q = {}
  for i, p in ipairs(quantiles) do
    if p == 0 then q[i] = latency.min
    elseif p == 100 then q[i] = latency.max
    else q[i] = latency:percentile(p) end
  end
  io.write(string.format(
    "requests=%d failed=%d wall_s=%.4f bytes=%d p50_us=%d p95_us=%d p99_us=%d max_us=%d q_us=%s\n",
    summary.requests, failed, summary.duration / 1e6, summary.bytes,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    table.concat(q, ",")))
end
