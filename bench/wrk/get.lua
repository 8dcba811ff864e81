-- Discovery and JWKS: a plain GET of the path in the URL wrk is given.
-- No response() hook: wrk then skips body parsing, so the load generator stays cheap;
-- wrk's own status counter (codes above 399) catches failures, and run.py checks one
-- answer for 200 before the run.
local report = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "report.lua")

local threads = {}
setup = report.track(threads)

function done(summary, latency, requests)
  report.done(threads, summary, latency)
end
