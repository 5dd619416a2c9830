// Memory per open stream: hold N streams open through one nginx and read
// its worker's memory before and while they are open.
//
//   node bench/hold_streams.mjs --url URL --warm URL --body FILE --pid WORKER_PID \
//        [--n 1000] [--min-events 3] [--timeout 20]
//
// 1. warm-up: 20 short streams on --warm (first-use allocations happen here)
// 2. baseline: VmRSS (/proc/PID/status) and Pss (/proc/PID/smaps_rollup),
//    median of 3 samples
// 3. opens N streams on --url (fresh connections, 100 at a time), waits
//    until every one has received --min-events events, samples again
//    (median of 5, 300 ms apart) while all N are still open
// 4. closes them all and prints one JSON line with the figures in kB.

import http from 'node:http';
import fs from 'node:fs';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) {
    args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}

const n = parseInt(args.n || '1000', 10);
const minEvents = parseInt(args['min-events'] || '3', 10);
const timeout = parseFloat(args.timeout || '20') * 1000;
const pid = args.pid;
const body = fs.readFileSync(args.body);
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function memory() {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (text, key) => parseInt(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)[1], 10);
    return { rss: kb(status, 'VmRSS'), pss: kb(rollup, 'Pss') };
}

async function sample(count, interval) {
    const s = [];
    for (let i = 0; i < count; i++) {
        if (i) await sleep(interval);
        s.push(memory());
    }
    const med = (k) => s.map((x) => x[k]).sort((a, b) => a - b)[Math.floor(s.length / 2)];
    return { rss: med('rss'), pss: med('pss') };
}

function open(url, onEvent) {
    const st = { events: 0, ended: false, error: null, req: null };
    st.req = http.request(url, {
        method: 'POST', agent,
        headers: { 'Content-Type': 'application/json', 'Content-Length': body.length },
    }, (res) => {
        st.status = res.statusCode;
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
            buf += chunk;
            let i;
            while ((i = buf.indexOf('\n\n')) >= 0) {
                buf = buf.slice(i + 2);
                st.events++;
                onEvent(st);
            }
        });
        res.on('end', () => { st.ended = true; });
        res.on('error', (e) => { st.error = e.message; });
    });
    st.req.on('error', (e) => { st.error = st.error || e.message; });
    st.req.end(body);
    return st;
}

// 1. warm-up
await Promise.all(Array.from({ length: 20 }, () => new Promise((resolve) => {
    const st = open(args.warm, () => {});
    st.req.on('close', resolve);
})));
await sleep(300);

// 2. baseline
const base = await sample(3, 200);

// 3. N streams
let ready = 0, wake = null;
const streams = [];
const onEvent = (st) => {
    if (st.events === minEvents) {
        ready++;
        if (ready === n && wake) wake();
    }
};
const t0 = Date.now();
for (let i = 0; i < n; i += 100) {
    for (let j = i; j < Math.min(n, i + 100); j++) streams.push(open(args.url, onEvent));
    await sleep(20);
}
if (ready < n) {
    await Promise.race([new Promise((r) => { wake = r; }), sleep(timeout)]);
}
const openMs = Date.now() - t0;
const during = await sample(5, 300);
const stillOpen = streams.filter((s) => !s.ended && !s.error).length;
const errors = streams.filter((s) => s.error).map((s) => s.error);

// 4. close
for (const s of streams) s.req.destroy();

console.log(JSON.stringify({
    n, ready, still_open: stillOpen, errors: errors.length, first_error: errors[0] || null,
    open_ms: openMs,
    base_rss_kb: base.rss, base_pss_kb: base.pss,
    open_rss_kb: during.rss, open_pss_kb: during.pss,
    rss_per_stream_kb: (during.rss - base.rss) / n,
    pss_per_stream_kb: (during.pss - base.pss) / n,
}));
process.exit(ready === n && stillOpen === n ? 0 : 1);
