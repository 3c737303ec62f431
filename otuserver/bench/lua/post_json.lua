-- OTUServer bench: every request is a POST of one JSON body (the write scenario).
-- wrk.py sets BODY above this file. Setting wrk.method/body/headers (rather than a
-- request() function) lets wrk build the request once, and keeps any -H headers.

wrk.method = "POST"
wrk.body = BODY
wrk.headers["Content-Type"] = "application/json"
