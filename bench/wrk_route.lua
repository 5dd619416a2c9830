-- wrk script: POST the JSON body in $BODY_FILE; print one parseable line
-- (as wrk_post.lua).  CLOSE=1 sends "Connection: close" (a new connection
-- per request; wrk's latency is then the time from writing the request to
-- the end of the response body).  DELAY_MS=N waits N ms before each request
-- on each connection (a paced load: about CONNS * 1000 / (N + latency)
-- requests a second).
--   BODY_FILE=body.json CLOSE=1 DELAY_MS=40 wrk -t1 -c8 -d3s -s bench/wrk_route.lua URL

local f = assert(io.open(assert(os.getenv("BODY_FILE"), "BODY_FILE not set"), "rb"))

wrk.method = "POST"
wrk.body = f:read("*a")
wrk.headers["Content-Type"] = "application/json"
if os.getenv("CLOSE") == "1" then
    wrk.headers["Connection"] = "close"
end
f:close()

local pause = tonumber(os.getenv("DELAY_MS") or "0")
if pause > 0 then
    function delay()
        return pause
    end
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("RESULT requests=%d rps=%.1f p50_us=%d p99_us=%d mean_us=%.1f errors=%d\n",
        summary.requests, summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(99), latency.mean,
        e.connect + e.read + e.write + e.status + e.timeout))
end
