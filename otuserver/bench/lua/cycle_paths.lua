-- OTUServer bench: GET PREFIX .. i for i = 1 .. COUNT in turn (the SQLite read scenario),
-- so the run reads every seeded row instead of one row. wrk.py sets PREFIX and COUNT
-- above this file; each wrk thread keeps its own counter.
--
-- Each thread formats its COUNT requests once, in init(), and request() hands them
-- out in turn. Formatting one per request (wrk.format in request()) sent the same
-- bytes but cost wrk about 11.7k instructions a request instead of 5.3k (callgrind;
-- a request wrk builds once itself costs 4.6k): CPU a load generator takes from
-- the server it measures when both share a small machine.

local requests = {}
local i = 0

init = function(args)
  for k = 1, COUNT do
    requests[k] = wrk.format(nil, PREFIX .. k)
  end
end

request = function()
  i = i % COUNT + 1
  return requests[i]
end
