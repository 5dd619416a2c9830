-- wrk script: POST the JSON body in $BODY_FILE with an X-Key header drawn
-- at random per request among $KEYS keys (default 1000) and a fixed
-- X-Team header; print one parseable line (as wrk_post.lua).
--   BODY_FILE=body.json KEYS=1000 wrk -t1 -c16 -d3s -s bench/wrk_keys.lua URL

local f = assert(io.open(assert(os.getenv("BODY_FILE"), "BODY_FILE not set"), "rb"))
local body = f:read("*a")
f:close()

local nkeys = tonumber(os.getenv("KEYS") or "1000")
local reqs = {}

function init(args)
    math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
    -- the requests, formatted once: one per key
    for i = 1, nkeys do
        reqs[i] = wrk.format("POST", nil, {
            ["Content-Type"] = "application/json",
            ["X-Key"] = string.format("key-%04d", i),
            ["X-Team"] = "team-bench",
        }, body)
    end
end

function request()
    return reqs[math.random(nkeys)]
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("RESULT requests=%d rps=%.1f p50_us=%d p99_us=%d mean_us=%.1f errors=%d\n",
        summary.requests, summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(99), latency.mean,
        e.connect + e.read + e.write + e.status + e.timeout))
end
