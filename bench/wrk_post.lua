-- wrk script: POST the JSON body in $BODY_FILE, print one parseable line.
--   BODY_FILE=body.json wrk -t1 -c16 -d5s -s bench/wrk_post.lua URL

local f = assert(io.open(assert(os.getenv("BODY_FILE"), "BODY_FILE not set"), "rb"))

wrk.method = "POST"
wrk.body = f:read("*a")
wrk.headers["Content-Type"] = "application/json"
f:close()

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("RESULT requests=%d rps=%.1f p50_us=%d p99_us=%d mean_us=%.1f errors=%d\n",
        summary.requests, summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(99), latency.mean,
        e.connect + e.read + e.write + e.status + e.timeout))
end
