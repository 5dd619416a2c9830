-- wrk script of bench/features.sh: POST the JSON body in $BODY_FILE, in
-- which each text @UNIQ@ is replaced per request by a tag of two words of
-- 8 lower-case letters (FE_UNIQUE=messages: one in every message), with
-- "Authorization: Bearer sk-bench" (the cache's default scope), an X-Key
-- header drawn at random among $KEYS keys
-- (default 1000) for the budget, and Content-Type.  Prints one parseable
-- line (as wrk_post.lua).
--
--   UNIQUE=1 (default)  every body differs: the tag is $RUN (a number, one
--                       per wrk run) and a counter of this run's requests,
--                       both spelled in letters, so no two requests of the
--                       benchmark are the same (use -t1: one counter)
--   UNIQUE=0            the same tag every time (cache hits)
--
-- The work per request is the same in both modes: the tag is built and the
-- request formatted every time.  Letters only: no redaction type matches a
-- tag (digits could look like a phone or card number).
--
--   FE_WRK_RATE=N       paced (bench/features.sh's FE_RATE): N requests a
--                       second in all, whatever the server's speed, while
--                       the connections suffice (see delay() below).
--                       Unset: closed loop, each connection sends its next
--                       request as soon as the answer is in (no delay()
--                       is defined, wrk behaves exactly as without it)
--
--   BODY_FILE=body.json RUN=7 wrk -t1 -c16 -d1s -s bench/wrk_features.lua URL
--   FE_WRK_RATE=6000 BODY_FILE=body.json RUN=7 wrk -t1 -c16 -d3s -s ... URL

local f = assert(io.open(assert(os.getenv("BODY_FILE"), "BODY_FILE not set"), "rb"))
local body = f:read("*a")
f:close()

-- the body cut at every @UNIQ@ (FE_UNIQUE=messages: one in each message)
local parts = {}
local from = 1
while true do
    local at = body:find("@UNIQ@", from, true)
    if not at then
        break
    end
    parts[#parts + 1] = body:sub(from, at - 1)
    from = at + 6
end
assert(#parts > 0, "no @UNIQ@ in the body")
parts[#parts + 1] = body:sub(from)

local unique = os.getenv("UNIQUE") ~= "0"
local nkeys = tonumber(os.getenv("KEYS") or "1000")

-- N in 8 letters, base 26
local function letters(n)
    local t = {}
    for i = 8, 1, -1 do
        t[i] = string.char(97 + n % 26)
        n = math.floor(n / 26)
    end
    return table.concat(t)
end

local run = letters(tonumber(os.getenv("RUN") or "0"))
local n = 0
local keys = {}
local hdrs = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer sk-bench",
}

function init(args)
    math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
    for i = 1, nkeys do
        keys[i] = string.format("key-%04d", i)
    end
end

function request()
    local tag
    n = n + 1
    if unique then
        tag = run .. " " .. letters(n)
    else
        tag = run .. " " .. letters(0)
    end
    hdrs["X-Key"] = keys[math.random(nkeys)]
    return wrk.format("POST", nil, hdrs, table.concat(parts, tag))
end

-- Pacing: one schedule of send times for the whole run, a slot every
-- 1/N s (microseconds, CLOCK_MONOTONIC through LuaJIT's ffi: wrk's Lua has
-- no clock finer than os.time's second).  wrk calls delay() when a
-- connection is ready to send (connected, or its answer read); the
-- connection takes the next free slot and waits until it (wrk's timers
-- count whole milliseconds: the wait is rounded to the nearest ms, so the
-- requests due in the same ms leave together, but the slots themselves do
-- not drift and the average rate is exact).  A connection that comes back
-- after its slot sends at once (catching up); slots more than
-- FE_WRK_SLACK_MS (10) in the past are dropped, so a server that cannot
-- keep up, or a stall of the machine longer than that, shows as a lower
-- achieved rate instead of a burst.  With C connections the schedule holds
-- while answers take less than C slots (16 connections at 6000/s: 2.7 ms).
local rate = tonumber(os.getenv("FE_WRK_RATE") or "")
if rate and rate > 0 then
    local ffi = require("ffi")
    ffi.cdef[[
        typedef struct { long tv_sec; long tv_nsec; } fe_wrk_timespec;
        int clock_gettime(int clk_id, fe_wrk_timespec *tp);
    ]]
    local ts = ffi.new("fe_wrk_timespec")
    local CLOCK_MONOTONIC = 1
    local function now_us()
        ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
        return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
    end
    local interval = 1e6 / rate
    local slack = tonumber(os.getenv("FE_WRK_SLACK_MS") or "10") * 1000
    local slot

    function delay()
        local now = now_us()
        if not slot or slot < now - slack then
            slot = now
        end
        local wait = slot - now
        slot = slot + interval
        if wait <= 0 then
            return 0
        end
        return math.floor(wait / 1000 + 0.5)
    end
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("RESULT requests=%d rps=%.1f p50_us=%d p99_us=%d mean_us=%.1f errors=%d\n",
        summary.requests, summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(99), latency.mean,
        e.connect + e.read + e.write + e.status + e.timeout))
end
