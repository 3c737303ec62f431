-- OTUServer bench: wrk's done() hook prints the run's numbers as one JSON line.
-- otuserver/bench/wrk.py appends this file to every script it hands to wrk and
-- finds the line by its prefix, so nothing depends on wrk's human-readable text.
-- Numbers are formatted with %.0f: wrk's latency.min is UINT64_MAX when no
-- request completed, which %d cannot format.

local PREFIX = "OTU_BENCH_RESULT "
local PERCENTILES = {50, 75, 90, 99, 99.9, 99.99}

local function percentiles(latency, empty)
  local parts = {}
  for _, p in ipairs(PERCENTILES) do
    local value = empty and 0 or latency:percentile(p)
    parts[#parts + 1] = string.format('"%s": %.0f', tostring(p), value)
  end
  return table.concat(parts, ", ")
end

done = function(summary, latency, requests)
  local e = summary.errors
  local empty = summary.requests == 0
  io.write(PREFIX, string.format(
    '{"requests": %.0f, "duration_us": %.0f, "bytes": %.0f, ' ..
    '"errors": {"connect": %.0f, "read": %.0f, "write": %.0f, "status": %.0f, "timeout": %.0f}, ' ..
    '"latency_us": {"min": %.0f, "max": %.0f, "mean": %.1f, "stdev": %.1f, "percentiles": {%s}}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    empty and 0 or latency.min, empty and 0 or latency.max,
    empty and 0 or latency.mean, empty and 0 or latency.stdev,
    percentiles(latency, empty)))
end
