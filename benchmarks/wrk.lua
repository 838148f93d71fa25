-- wrk script for benchmarks/run.py (read by wrk's LuaJIT; configured through the environment).
--
-- BENCH_MODE      "get" or "post"
-- BENCH_PATH      the path to GET, or for "post" the prefix the slot id and "/" are added to
-- BENCH_SESSIONS  file: "<session key> <csrf secret>" per line; empty: send no cookies
-- BENCH_SLOTS     file ("post"): one free slot id per line, each booked at most once
-- BENCH_THREADS   the -t given to wrk (requests are numbered across threads)
-- BENCH_OUT       file the summary is written to, as JSON
-- BENCH_AUTH      an Authorization header to send (the FHIR API's bearer token), or empty
--
-- Request k (counted across threads) uses session k mod #sessions and slot k: every POST
-- books a different slot, with the session's CSRF secret as cookie and as form token.

local mode = os.getenv("BENCH_MODE") or "get"
local path = os.getenv("BENCH_PATH") or "/"
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
local auth = os.getenv("BENCH_AUTH") or ""

local function read_lines(name)
  local rows = {}
  if name == nil or name == "" then
    return rows
  end
  for line in io.lines(name) do
    if #line > 0 then
      rows[#rows + 1] = line
    end
  end
  return rows
end

local sessions = {}
for _, line in ipairs(read_lines(os.getenv("BENCH_SESSIONS"))) do
  local key, csrf = line:match("^(%S+)%s+(%S+)$")
  sessions[#sessions + 1] = { key = key, csrf = csrf }
end
local slots = {}
if mode == "post" then
  slots = read_lines(os.getenv("BENCH_SLOTS"))
end

local threads = {}
local created = 0

function setup(thread)
  created = created + 1
  thread:set("tid", created)
  threads[#threads + 1] = thread
end

function init(args)
  sent = 0
  s2xx, s3xx, s4xx, s5xx, exhausted = 0, 0, 0, 0, 0
end

function request()
  sent = sent + 1
  local k = (sent - 1) * nthreads + tid -- 1, 2, 3, ... across the threads
  local headers = {}
  if auth ~= "" then
    headers["Authorization"] = auth
  end
  local session = nil
  if #sessions > 0 then
    session = sessions[(k - 1) % #sessions + 1]
    headers["Cookie"] = "sessionid=" .. session.key .. "; csrftoken=" .. session.csrf
  end
  if mode == "post" then
    local slot = slots[k]
    if slot == nil then
      -- Out of free slots: wrap round (these POSTs find the slot taken and are counted).
      exhausted = exhausted + 1
      slot = slots[(k - 1) % #slots + 1]
    end
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    local body = "csrfmiddlewaretoken=" .. session.csrf .. "&reason=Vondt+i+ryggen"
    return wrk.format("POST", path .. slot .. "/", headers, body)
  end
  return wrk.format("GET", path, headers)
end

function response(status, headers, body)
  if status < 300 then
    s2xx = s2xx + 1
  elseif status < 400 then
    s3xx = s3xx + 1
  elseif status < 500 then
    s4xx = s4xx + 1
  else
    s5xx = s5xx + 1
  end
end

function done(summary, latency, requests)
  local totals = { s2xx = 0, s3xx = 0, s4xx = 0, s5xx = 0, exhausted = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + (thread:get(name) or 0)
    end
  end
  local e = summary.errors
  local out = assert(io.open(os.getenv("BENCH_OUT"), "w"))
  out:write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, '
      .. '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, '
      .. '"p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d, '
      .. '"s2xx": %d, "s3xx": %d, "s4xx": %d, "s5xx": %d, "exhausted": %d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    totals.s2xx, totals.s3xx, totals.s4xx, totals.s5xx, totals.exhausted
  ))
  out:close()
end
