-- The refresh token grant with rotation: every token is single use and each 200 answer
-- carries its successor.  Each wrk thread keeps its own queue: request() pops a token,
-- response() pushes the new one.  Anything but 200 (or a 200 without a new token) is
-- counted as "unexpected"; a run with any is invalid, since the queue only stays full
-- while every refresh succeeds.
--
-- BENCH_REFRESH_POOL: file with one refresh token per line, shared out round-robin over
-- BENCH_WRK_THREADS threads; BENCH_BASIC_AUTH: the relying party's Authorization header.
local report = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "report.lua")

local threads = {}
setup = report.track(threads)

local queue, head, tail = {}, 1, 0
local headers = {}
unexpected, starved = 0, 0

local function push(token)
  tail = tail + 1
  queue[tail] = token
end

local function pop()
  if head > tail then
    return nil
  end
  local token = queue[head]
  queue[head] = nil
  head = head + 1
  return token
end

function init(args)
  headers["Authorization"] = os.getenv("BENCH_BASIC_AUTH")
  headers["Content-Type"] = "application/x-www-form-urlencoded"
  local thread_count = tonumber(os.getenv("BENCH_WRK_THREADS"))
  local line_number = 0
  for line in io.lines(os.getenv("BENCH_REFRESH_POOL")) do
    if line_number % thread_count == thread_number - 1 then
      push(line)
    end
    line_number = line_number + 1
  end
end

function request()
  local token = pop()
  if token == nil then
    -- An empty queue means earlier refreshes failed; this request will fail too, visibly.
    starved = starved + 1
    token = "pool-exhausted"
  end
  return wrk.format("POST", "/token", headers, "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, response_headers, body)
  local successor = status == 200 and body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if successor then
    push(successor)
  else
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  report.done(threads, summary, latency)
end
