-- wrk script: print exact latency percentiles for bench/common.py to parse.
done = function(summary, latency, requests)
  io.write(string.format("statera-latency-us p50=%d p95=%d p99=%d\n", latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
