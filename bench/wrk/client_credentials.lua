-- The client credentials grant (RFC 6749 section 4.4), client_secret_basic.
-- BENCH_BASIC_AUTH holds the whole Authorization header value.
local report = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "report.lua")

wrk.method = "POST"
wrk.path = "/token"
wrk.headers["Authorization"] = os.getenv("BENCH_BASIC_AUTH")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "grant_type=client_credentials"

local threads = {}
setup = report.track(threads)

function done(summary, latency, requests)
  report.done(threads, summary, latency)
end
