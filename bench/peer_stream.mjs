// Streaming latency client for bench/peer.sh: plain nginx, the gateway and
// a peer gateway, measured alternately (the rotation of the three changes
// every round), on the same timed SSE upstream.
//
//   node bench/peer_stream.mjs --targets FILE --body FILE [--rounds 6]
//        [--concurrency 5] [--events 20] [--samples 100] [--summary FILE]
//
// FILE is a JSON array, plain first:
//   [{ "name": "plain", "url": URL, "url1": URL, "headers": {...},
//      "cpu": PID }, ...]
// url: the 20-event stream; url1: a one-event stream (for the single
// stream TTFT); headers: sent with every request (headers1, if given,
// instead with url1); cpu: a process whose
// on-CPU time (all its threads, /proc/PID/task/*/schedstat) is read
// before and after each batch, for the CPU per stream.
//
// Per stream, on a fresh connection (as bench/stream_client.mjs):
//   ttfb:    request start (before connect) -> response headers
//   ttft:    request start -> first event
//   gaps:    arrival of event i - arrival of event i-1
//   transit: arrival of an event - the time the upstream wrote it (its
//            "t" field, the upstream nginx's $msec; same host clock)

import http from 'node:http';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) {
    args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}

const targets = JSON.parse(fs.readFileSync(args.targets, 'utf8'));
const rounds = parseInt(args.rounds || '6', 10);
const concurrency = parseInt(args.concurrency || '5', 10);
const nevents = parseInt(args.events || '20', 10);
const samples = parseInt(args.samples || '100', 10);
const body = fs.readFileSync(args.body);
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

const now = () => performance.now();
const wall = () => performance.timeOrigin + performance.now();

// on-CPU ns of every thread of a process
function cpuNs(pid) {
    if (!pid) return 0;
    let sum = 0;
    for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
        try {
            sum += parseInt(fs.readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0], 10);
        } catch { /* a thread that ended */ }
    }
    return sum;
}

function stream(url, headers) {
    return new Promise((resolve, reject) => {
        const r = { start: now(), ttfb: null, ttft: null, arrivals: [],
                    transit: [], events: 0, done: false };
        let buf = '';
        const req = http.request(url, {
            method: 'POST', agent,
            headers: { 'Content-Type': 'application/json',
                       'Content-Length': body.length, ...headers },
        }, (res) => {
            r.ttfb = now() - r.start;
            r.status = res.statusCode;
            res.setEncoding('utf8');
            res.on('data', (chunk) => {
                const t = now(), w = wall();
                if (r.ttft === null) r.ttft = t - r.start;
                buf += chunk.replace(/\r\n/g, '\n');
                let i;
                while ((i = buf.indexOf('\n\n')) >= 0) {
                    const ev = buf.slice(0, i);
                    buf = buf.slice(i + 2);
                    r.events++;
                    const m = /"t":([0-9.]+)/.exec(ev);
                    if (m) {
                        r.arrivals.push(t);
                        r.transit.push(w - parseFloat(m[1]) * 1000);
                    }
                    if (ev.trim() === 'data: [DONE]') r.done = true;
                }
            });
            res.on('end', () => resolve(r));
            res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
    });
}

const results = {}, single = {}, cpu = {};
for (const t of targets) { results[t.name] = []; single[t.name] = []; cpu[t.name] = 0; }

const rotate = (k) => targets.map((_, i) => targets[(i + k) % targets.length]);

for (let round = 0; round < rounds; round++) {
    for (const t of rotate(round)) {
        const c0 = cpuNs(t.cpu);
        const batch = await Promise.all(
            Array.from({ length: concurrency }, () => stream(t.url, t.headers || {})));
        cpu[t.name] += cpuNs(t.cpu) - c0;
        results[t.name].push(...batch);
    }
}

for (let i = 0; i < samples; i++) {
    for (const t of rotate(i)) {
        single[t.name].push(await stream(t.url1, t.headers1 || t.headers || {}));
    }
}

function pct(a, p) {
    if (!a.length) return NaN;
    const s = [...a].sort((x, y) => x - y);
    return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))];
}
const median = (a) => {
    if (!a.length) return NaN;
    const s = [...a].sort((x, y) => x - y), n = s.length;
    return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const mean = (a) => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : NaN);

const stats = {};
const bad = [];

for (const t of targets) {
    const rs = results[t.name];
    const gaps = [], transit = [];
    for (const r of rs) {
        if (r.status !== 200 || r.arrivals.length !== nevents || !r.done) {
            bad.push(`${t.name}: status ${r.status}, ${r.arrivals.length} timed events, ` +
                     `${r.done ? '' : 'no '}[DONE]`);
        }
        for (let i = 1; i < r.arrivals.length; i++) gaps.push(r.arrivals[i] - r.arrivals[i - 1]);
        transit.push(...r.transit);
    }
    const ss = single[t.name];
    for (const r of ss) {
        if (r.status !== 200 || !r.done) bad.push(`${t.name} (single): status ${r.status}`);
    }
    stats[t.name] = {
        streams: rs.length,
        ttfb_med: median(rs.map((r) => r.ttfb)), ttft_med: median(rs.map((r) => r.ttft)),
        ttft_p99: pct(rs.map((r) => r.ttft), 99),
        gap_mean: mean(gaps), gap_p99: pct(gaps, 99),
        transit_mean: mean(transit), transit_med: median(transit), transit_p99: pct(transit, 99),
        late: transit.filter((x) => x > 10).length, nevents_total: transit.length,
        cpu_ms: t.cpu ? cpu[t.name] / 1e6 / rs.length : NaN,
        s_ttfb_med: median(ss.map((r) => r.ttfb)), s_ttft_med: median(ss.map((r) => r.ttft)),
        s_ttft_mean: mean(ss.map((r) => r.ttft)), s_ttft_p90: pct(ss.map((r) => r.ttft), 90),
        s_ttft_p99: pct(ss.map((r) => r.ttft), 99),
    };
}

const f = (v, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
const sd = (v, d = 2) => (Number.isFinite(v) ? (v >= 0 ? '+' : '') + v.toFixed(d) : 'n/a');
const base = stats[targets[0].name];
const others = targets.slice(1);

const out = [];
out.push(`${rounds} rounds × ${concurrency} concurrent streams per path, the order of the ` +
         `${targets.length} paths rotating every round (${base.streams} streams per path); ` +
         `${nevents} events 50 ms apart per stream, a new connection each; times in ms.`);
out.push('');
out.push('| path | TTFB p50 | TTFT p50 | TTFT p99 | gap mean | gap p99 | transit p50 | transit mean | transit p99 | events > 10 ms late | CPU per stream ms |');
out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const t of targets) {
    const s = stats[t.name];
    out.push(`| ${t.name} | ${f(s.ttfb_med)} | ${f(s.ttft_med)} | ${f(s.ttft_p99)} | ` +
             `${f(s.gap_mean, 3)} | ${f(s.gap_p99, 3)} | ${f(s.transit_med, 3)} | ` +
             `${f(s.transit_mean, 3)} | ${f(s.transit_p99, 3)} | ${s.late} / ${s.nevents_total} | ` +
             `${f(s.cpu_ms, 3)} |`);
}
for (const t of others) {
    const s = stats[t.name];
    out.push(`| **${t.name} − ${targets[0].name}** | ${sd(s.ttfb_med - base.ttfb_med)} | ` +
             `**${sd(s.ttft_med - base.ttft_med)}** | ${sd(s.ttft_p99 - base.ttft_p99)} | ` +
             `${sd(s.gap_mean - base.gap_mean, 3)} | ${sd(s.gap_p99 - base.gap_p99, 3)} | ` +
             `**${sd(s.transit_med - base.transit_med, 3)}** | ${sd(s.transit_mean - base.transit_mean, 3)} | ` +
             `${sd(s.transit_p99 - base.transit_p99, 3)} | | ${sd(s.cpu_ms - base.cpu_ms, 3)} |`);
}
out.push('');
out.push(`Time to first event, ${samples} single one-event streams per path, one at a time, ` +
         'rotating (ms):');
out.push('');
out.push('| path | TTFB p50 | TTFT p50 | TTFT mean | TTFT p90 | TTFT p99 |');
out.push('|---|---:|---:|---:|---:|---:|');
for (const t of targets) {
    const s = stats[t.name];
    out.push(`| ${t.name} | ${f(s.s_ttfb_med, 3)} | ${f(s.s_ttft_med, 3)} | ${f(s.s_ttft_mean, 3)} | ` +
             `${f(s.s_ttft_p90, 3)} | ${f(s.s_ttft_p99, 3)} |`);
}
for (const t of others) {
    const s = stats[t.name];
    out.push(`| **${t.name} − ${targets[0].name}** | ${sd(s.s_ttfb_med - base.s_ttfb_med, 3)} | ` +
             `**${sd(s.s_ttft_med - base.s_ttft_med, 3)}** | ${sd(s.s_ttft_mean - base.s_ttft_mean, 3)} | ` +
             `${sd(s.s_ttft_p90 - base.s_ttft_p90, 3)} | ${sd(s.s_ttft_p99 - base.s_ttft_p99, 3)} |`);
}
if (bad.length) {
    out.push('');
    out.push(`**Warning:** ${bad.length} incomplete streams, e.g. ${bad.slice(0, 3).join('; ')}`);
}
console.log(out.join('\n'));

if (args.summary) {
    // rows of run.sh's summary: gateway, plain, and the peer in the last column
    const [p, g, x] = targets.map((t) => stats[t.name]);
    const peer = targets[2].name;
    const row = (...c) => fs.appendFileSync(args.summary, c.join('\t') + '\n');
    row(`Peer: streaming TTFT p50, single streams (${peer})`, `${f(g.s_ttft_med, 3)} ms`,
        `${f(p.s_ttft_med, 3)} ms`, `${peer} ${f(x.s_ttft_med, 3)} ms (${sd(x.s_ttft_med - p.s_ttft_med, 3)} vs plain)`);
    row(`Peer: streaming per-event transit p50 (${peer})`, `${f(g.transit_med, 3)} ms`,
        `${f(p.transit_med, 3)} ms`, `${peer} ${f(x.transit_med, 3)} ms (${sd(x.transit_med - p.transit_med, 3)} vs plain)`);
    row(`Peer: CPU per 20-event stream (${peer})`, `${f(g.cpu_ms, 3)} ms`,
        `${f(p.cpu_ms, 3)} ms`, `${peer} ${f(x.cpu_ms, 3)} ms`);
}
if (args.json) fs.writeFileSync(args.json, JSON.stringify(stats, null, 1));
process.exitCode = bad.length ? 1 : 0;
