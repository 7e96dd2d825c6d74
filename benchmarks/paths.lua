-- wrk script: requests picked uniformly from a file (one a line), optionally at a fixed rate.
--
--   wrk -t1 -c32 -d9s --latency -s benchmarks/paths.lua http://127.0.0.1:8000 -- PATHS SEED [RATE]
--
-- A line is a path to GET, or `POST PATH BODY` (a JSON body, e.g. a POST /api/resolve batch).
-- The skew of the workload is in the file (benchmarks/workload.py samples it); a uniform pick keeps it.
-- RATE: requests a second each wrk thread offers. Through wrk's delay() hook, every request of every
-- connection waits for the next slot of a fixed schedule, one slot every 1000 / RATE ms.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } paths_timespec;
int clock_gettime(int clock, paths_timespec *now);
]])
local CLOCK_MONOTONIC = 1
local clock = ffi.new("paths_timespec")

local requests, count = {}, 0
local interval, next_slot = nil, 0

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local function scheduled_delay()
  -- Slots on an absolute schedule keep the offered rate exact on average although wrk waits whole
  -- milliseconds, and whatever latency the answers have. A request that finds its slot past (every
  -- connection was waiting on the server) goes at once and takes no slots it missed: no catch-up bursts.
  local now = now_ms()
  local slot = math.max(next_slot, now)
  next_slot = slot + interval
  local wait = slot - now
  local whole = math.floor(wait)
  if math.random() < wait - whole then -- round up or down at random, so the average wait is exact
    return whole + 1
  end
  return whole
end

function init(args)
  for line in io.lines(args[1]) do
    count = count + 1
    -- Formatted once here rather than per request: wrk's thread shares the CPU with the server.
    local path, body = line:match("^POST (%S+) (.*)$")
    if path then
      local headers = { ["Accept"] = "application/json", ["Content-Type"] = "application/json" }
      requests[count] = wrk.format("POST", path, headers, body)
    else
      requests[count] = wrk.format("GET", line, { ["Accept"] = "application/json" })
    end
  end
  math.randomseed(tonumber(args[2]))
  local rate = tonumber(args[3])
  if rate then
    interval = 1000 / rate
    -- wrk looks for `delay` after init has run, and only then waits before requests.
    delay = scheduled_delay
  end
end

function request()
  return requests[math.random(count)]
end
