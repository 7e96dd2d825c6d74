-- wrk script: the lines of a file GET in turn, the first again after the last; one wrk thread (-t1).
--
--   wrk -t1 -c32 -d9s --latency -s benchmarks/in_order.lua http://127.0.0.1:8000 -- PATHS
--
-- For a load where every request must be the first of its handle (resolve_remote's first resolutions
-- across nodes): the file holds each handle once, in a random order, and is longer than wrk gets through.
-- Each thread of wrk has its own counter, so more threads would repeat each other's lines.

local requests, count, at = {}, 0, 0

function init(args)
  for line in io.lines(args[1]) do
    count = count + 1
    requests[count] = wrk.format("GET", line, { ["Accept"] = "application/json" })
  end
end

function request()
  at = at % count + 1
  return requests[at]
end
