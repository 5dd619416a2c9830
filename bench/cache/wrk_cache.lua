-- wrk script for the cache benchmark: POST chat completions of about
-- $BODY_SIZE bytes (default 1024) that differ only by a question number:
--   MODE=same     always question 1 (one key)
--   MODE=fill     questions $START+1, $START+2, ... (modulo $KEYS; use -t1)
--   MODE=random   a question drawn at random in 1 .. $KEYS
-- COUNT=1 also counts the X-LLM-Cache values of the answers (slower).
-- Prints one parseable line:
--   RESULT requests= rps= p50_us= p99_us= mean_us= errors= hit= miss= other=

local mode = os.getenv("MODE") or "same"
local nkeys = tonumber(os.getenv("KEYS") or "1")
local size = tonumber(os.getenv("BODY_SIZE") or "1024")
local count = os.getenv("COUNT") == "1"
local start = tonumber(os.getenv("START") or "0")

-- SHORT=1: a short question instead ("What is the capital of country
-- number N?"), VARIANT=1 the same in lower case without "?": a semantic
-- near-duplicate, not an exact match
local short = os.getenv("SHORT") == "1"
local variant = os.getenv("VARIANT") == "1"

local head = '{"model":"gpt-4o-mini","temperature":0.7,"max_tokens":512,' ..
    '"messages":[{"role":"system","content":"You are a helpful assistant."},' ..
    '{"role":"user","content":"'
local tail = '"}]}'

local words = { "the", "gateway", "answers", "repeated", "questions", "from",
    "shared", "memory", "without", "a", "hop", "to", "the", "provider,",
    "caf\\u00e9", "na\\u00efve", "\\\"quoted\\\"", "line\\nbreak" }

local filler = {}
local seed, len = 1, #head + #tail + 16

while len < size do
    seed = (seed * 1103515245 + 12345) % 2147483648
    local w = words[math.floor(seed / 256) % #words + 1]
    filler[#filler + 1] = w
    len = len + #w + 1
end

filler = table.concat(filler, " ")

local n = 0
local threads = {}
hit, miss, other = 0, 0, 0

function setup(thread)
    threads[#threads + 1] = thread
end

function init(args)
    math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
end

function request()
    local q
    if mode == "fill" then
        q = (start + n) % nkeys + 1
        n = n + 1
    elseif mode == "random" then
        q = math.random(nkeys)
    else
        q = 1
    end

    if short then
        local text = "What is the capital of country number " .. q .. "?"
        if variant then
            text = "what is the capital of country number " .. q
        end
        return wrk.format("POST", nil, { ["Content-Type"] = "application/json" },
                          head .. text .. tail)
    end

    return wrk.format("POST", nil, { ["Content-Type"] = "application/json" },
                      head .. filler .. " question #" .. q .. tail)
end

if count then
    function response(status, headers, body)
        local c = headers["X-LLM-Cache"] or headers["x-llm-cache"]
        if c == "HIT" then
            hit = hit + 1
        elseif c == "MISS" then
            miss = miss + 1
        else
            other = other + 1
        end
    end
end

function done(summary, latency, requests)
    local h, m, o = 0, 0, 0
    for _, t in ipairs(threads) do
        h = h + (t:get("hit") or 0)
        m = m + (t:get("miss") or 0)
        o = o + (t:get("other") or 0)
    end
    local e = summary.errors
    io.write(string.format("RESULT requests=%d rps=%.1f p50_us=%d p99_us=%d mean_us=%.1f errors=%d hit=%d miss=%d other=%d\n",
        summary.requests, summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(99), latency.mean,
        e.connect + e.read + e.write + e.status + e.timeout, h, m, o))
end
