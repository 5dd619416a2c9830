// Streaming latency client: the time to the first byte and the arrival of
// every SSE event, gateway vs plain, measured alternately.
//
//   node bench/stream_client.mjs --gw URL --plain URL --body FILE \
//        [--rounds 10] [--concurrency 5] [--events 20] [--summary FILE]
//        [--gw1 URL --plain1 URL --samples 200]
//
// Each round opens `concurrency` streams on one path at once and waits for
// them to end, then does the same on the other path (the order alternates
// between rounds).  Per stream it records, on a fresh connection:
//   ttfb:    request start (before connect) -> response headers
//   ttft:    request start -> first event
//   gaps:    arrival time of event i - arrival of event i-1
//   transit: arrival time of an event - the time the upstream wrote it
//            (the "t" field, the upstream nginx's $msec; same host clock)
// and prints a markdown table of both paths and of the difference.
// With --gw1/--plain1 (a one-event stream), it then also runs `samples`
// single streams per path one at a time, alternating, for a TTFT figure
// free of the concurrent streams' interference.

import http from 'node:http';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) {
    args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}

const rounds = parseInt(args.rounds || '10', 10);
const concurrency = parseInt(args.concurrency || '5', 10);
const nevents = parseInt(args.events || '20', 10);
const body = fs.readFileSync(args.body);
const urls = { gateway: args.gw, plain: args.plain };
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

const now = () => performance.now();
const wall = () => performance.timeOrigin + performance.now();

function stream(url) {
    return new Promise((resolve, reject) => {
        const r = { start: now(), ttfb: null, ttft: null, arrivals: [],
                    transit: [], events: 0, done: false, bytes: 0 };
        let buf = '';
        const req = http.request(url, {
            method: 'POST', agent,
            headers: { 'Content-Type': 'application/json',
                       'Content-Length': body.length },
        }, (res) => {
            r.ttfb = now() - r.start;
            r.status = res.statusCode;
            res.setEncoding('utf8');
            res.on('data', (chunk) => {
                const t = now(), w = wall();
                if (r.ttft === null) r.ttft = t - r.start;
                r.bytes += chunk.length;
                buf += chunk;
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
                    if (ev === 'data: [DONE]') r.done = true;
                }
            });
            res.on('end', () => resolve(r));
            res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
    });
}

const results = { gateway: [], plain: [] };

for (let round = 0; round < rounds; round++) {
    const order = round % 2 ? ['plain', 'gateway'] : ['gateway', 'plain'];
    for (const side of order) {
        const batch = await Promise.all(
            Array.from({ length: concurrency }, () => stream(urls[side])));
        results[side].push(...batch);
    }
}

const single = { gateway: [], plain: [] };
const samples = args.gw1 ? parseInt(args.samples || '200', 10) : 0;

for (let i = 0; i < samples; i++) {
    const order = i % 2 ? ['plain', 'gateway'] : ['gateway', 'plain'];
    for (const side of order) {
        single[side].push(await stream(side === 'gateway' ? args.gw1 : args.plain1));
    }
}

function pct(a, p) {
    if (!a.length) return NaN;
    const s = [...a].sort((x, y) => x - y);
    return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))];
}
const median = (a) => {
    const s = [...a].sort((x, y) => x - y), n = s.length;
    return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;

const stats = {};
let bad = [];

for (const side of ['plain', 'gateway']) {
    const rs = results[side];
    const gaps = [], transit = [];
    for (const r of rs) {
        if (r.status !== 200 || r.arrivals.length !== nevents || !r.done) {
            bad.push(`${side}: status ${r.status}, ${r.arrivals.length} timed events, ` +
                     `${r.done ? '' : 'no '}[DONE]`);
        }
        for (let i = 1; i < r.arrivals.length; i++) gaps.push(r.arrivals[i] - r.arrivals[i - 1]);
        transit.push(...r.transit);
    }
    const ttft = rs.map((r) => r.ttft), ttfb = rs.map((r) => r.ttfb);
    stats[side] = {
        streams: rs.length,
        ttfb_med: median(ttfb), ttft_med: median(ttft), ttft_mean: mean(ttft),
        ttft_p99: pct(ttft, 99),
        gap_mean: mean(gaps), gap_p99: pct(gaps, 99),
        transit_mean: mean(transit), transit_med: median(transit),
        transit_p99: pct(transit, 99),
        late: transit.filter((x) => x > 10).length, nevents_total: transit.length,
        late_list: rs.flatMap((r, k) => r.transit.map((x, i) => [k, i, x]).filter((e) => e[2] > 10)),
        total_med: median(rs.map((r) => r.arrivals[r.arrivals.length - 1] - r.start)),
    };
}

const g = stats.gateway, p = stats.plain;
const f = (v, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
const sd = (v, d = 2) => (v >= 0 ? '+' : '') + f(v, d);

const out = [];
out.push('### Streaming: gateway vs plain proxy_pass (proxy_buffering off)');
out.push('');
out.push(`${rounds} rounds × ${concurrency} concurrent streams per path, alternating ` +
         `(${g.streams} streams per path); ${nevents} events 50 ms apart per stream; ` +
         'times in ms.');
out.push('');
out.push('| path | TTFB p50 | TTFT p50 | TTFT mean | TTFT p99 | gap mean | gap p99 | transit mean | transit p50 | transit p99 | events > 10 ms late | stream p50 |');
out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const [name, s] of [['plain', p], ['gateway', g]]) {
    out.push(`| ${name} | ${f(s.ttfb_med)} | ${f(s.ttft_med)} | ${f(s.ttft_mean)} | ${f(s.ttft_p99)} | ` +
             `${f(s.gap_mean, 3)} | ${f(s.gap_p99, 3)} | ${f(s.transit_mean, 3)} | ` +
             `${f(s.transit_med, 3)} | ${f(s.transit_p99, 3)} | ${s.late} / ${s.nevents_total} | ${f(s.total_med, 1)} |`);
}
out.push(`| **gateway − plain** | ${sd(g.ttfb_med - p.ttfb_med)} | **${sd(g.ttft_med - p.ttft_med)}** | ` +
         `${sd(g.ttft_mean - p.ttft_mean)} | ${sd(g.ttft_p99 - p.ttft_p99)} | ` +
         `**${sd(g.gap_mean - p.gap_mean, 3)}** | ${sd(g.gap_p99 - p.gap_p99, 3)} | ` +
         `**${sd(g.transit_mean - p.transit_mean, 3)}** | ${sd(g.transit_med - p.transit_med, 3)} | ` +
         `${sd(g.transit_p99 - p.transit_p99, 3)} | | ${sd(g.total_med - p.total_med, 1)} |`);
out.push('');
out.push('TTFB: to the response headers; TTFT: to the first event; gap: between consecutive ' +
         'events of a stream; transit: from the upstream writing an event (its $msec, ' +
         'ms resolution, so the absolute figure carries up to +1 ms of rounding; ' +
         'the difference does not) to the client reading it.');
if (samples) {
    const st = {};
    for (const side of ['plain', 'gateway']) {
        const rs = single[side];
        for (const r of rs) {
            if (r.status !== 200 || !r.done) bad.push(`${side} (single): status ${r.status}`);
        }
        const ttft = rs.map((r) => r.ttft), ttfb = rs.map((r) => r.ttfb);
        st[side] = { ttfb_med: median(ttfb), ttft_med: median(ttft), ttft_mean: mean(ttft),
                     ttft_p90: pct(ttft, 90), ttft_p99: pct(ttft, 99) };
    }
    const a = st.gateway, b = st.plain;
    stats.single = st;
    out.push('');
    out.push(`Time to first event, ${samples} single streams per path, one at a time, ` +
             'alternating (a one-event stream, new connection each; ms):');
    out.push('');
    out.push('| path | TTFB p50 | TTFT p50 | TTFT mean | TTFT p90 | TTFT p99 |');
    out.push('|---|---:|---:|---:|---:|---:|');
    for (const [name, s] of [['plain', b], ['gateway', a]]) {
        out.push(`| ${name} | ${f(s.ttfb_med, 3)} | ${f(s.ttft_med, 3)} | ${f(s.ttft_mean, 3)} | ` +
                 `${f(s.ttft_p90, 3)} | ${f(s.ttft_p99, 3)} |`);
    }
    out.push(`| **gateway − plain** | ${sd(a.ttfb_med - b.ttfb_med, 3)} | **${sd(a.ttft_med - b.ttft_med, 3)}** | ` +
             `${sd(a.ttft_mean - b.ttft_mean, 3)} | ${sd(a.ttft_p90 - b.ttft_p90, 3)} | ` +
             `${sd(a.ttft_p99 - b.ttft_p99, 3)} |`);
}
if (bad.length) {
    out.push('');
    out.push(`**Warning:** ${bad.length} incomplete streams, e.g. ${bad.slice(0, 3).join('; ')}`);
}
console.log(out.join('\n'));

if (args.summary) {
    const row = (...c) => fs.appendFileSync(args.summary, c.join('\t') + '\n');
    row('Streaming TTFT p50 (5 concurrent streams)', `${f(g.ttft_med)} ms`, `${f(p.ttft_med)} ms`,
        `${sd(g.ttft_med - p.ttft_med)} ms`);
    if (stats.single) {
        const a = stats.single.gateway, b = stats.single.plain;
        row('Streaming TTFT p50 (single streams)', `${f(a.ttft_med, 3)} ms`, `${f(b.ttft_med, 3)} ms`,
            `${sd(a.ttft_med - b.ttft_med, 3)} ms`);
    }
    row('Streaming per-event transit, p50 / mean', `${f(g.transit_med, 3)} / ${f(g.transit_mean, 3)} ms`,
        `${f(p.transit_med, 3)} / ${f(p.transit_mean, 3)} ms`,
        `${sd(g.transit_med - p.transit_med, 3)} / ${sd(g.transit_mean - p.transit_mean, 3)} ms`);
    row('Streaming inter-event gap, mean / p99', `${f(g.gap_mean, 2)} / ${f(g.gap_p99, 2)} ms`,
        `${f(p.gap_mean, 2)} / ${f(p.gap_p99, 2)} ms`,
        `${sd(g.gap_mean - p.gap_mean, 3)} / ${sd(g.gap_p99 - p.gap_p99, 3)} ms`);
}
if (args.json) fs.writeFileSync(args.json, JSON.stringify(stats, null, 1));
process.exitCode = bad.length ? 1 : 0;
