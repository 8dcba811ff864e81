-- Token introspection (RFC 7662) by a resource server of one pre-minted user access token.
-- BENCH_BASIC_AUTH is the resource server's Authorization header, BENCH_ACCESS_TOKEN the token.
local report = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "report.lua")

wrk.method = "POST"
wrk.path = "/introspect"
wrk.headers["Authorization"] = os.getenv("BENCH_BASIC_AUTH")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "token=" .. os.getenv("BENCH_ACCESS_TOKEN") .. "&token_type_hint=access_token"

local threads = {}
setup = report.track(threads)

function done(summary, latency, requests)
  report.done(threads, summary, latency)
end
