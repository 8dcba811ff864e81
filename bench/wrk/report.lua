-- Shared by every scenario: wrk's summary and latency distribution as one JSON line.
-- bench/run.py reads the line that starts with BENCH_JSON.
local report = {}

-- Per-thread counters a scenario keeps in its own globals (read back through thread:get).
local function sum_of(threads, name)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + (thread:get(name) or 0)
  end
  return total
end

function report.done(threads, summary, latency)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,' ..
    '"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f},' ..
    '"latency_us":{"p50":%.0f,"p90":%.0f,"p99":%.0f,"max":%.0f,"mean":%.1f},' ..
    '"unexpected":%.0f,"starved":%.0f}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    sum_of(threads, "unexpected"), sum_of(threads, "starved")))
end

-- Remember each thread in the setup environment so done() can read its counters.
function report.track(threads)
  return function(thread)
    table.insert(threads, thread)
    thread:set("thread_number", #threads)
  end
end

return report
