-- OTUServer bench: GET PREFIX .. i for i = 1 .. COUNT in turn (the SQLite read scenario),
-- so the run reads every seeded row instead of one row. wrk.py sets PREFIX and COUNT
-- above this file; each wrk thread keeps its own counter.

local i = 0

request = function()
  i = i % COUNT + 1
  return wrk.format(nil, PREFIX .. i)
end
