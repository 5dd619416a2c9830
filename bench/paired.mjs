// Paired ratios of bench/throughput.sh's rounds: for each pair A/B asked,
// the ratio of A's figure to B's in each round (the two measured in the same
// round, minutes apart at most), then over the rounds the median, the
// quartiles and a 95 % bootstrap interval of the median (percentile method,
// 10,000 resamples of the rounds, a fixed seed: the same input prints the
// same interval).
//
//   node bench/paired.mjs RAW COLUMN A/B [A/B ...]
//
// RAW: lines "size mode path round rps p50 p99 cpu_ns errors requests"
// (bench/throughput.sh's), those of the first size and mode "load" read
// unless SIZE= and MODE= are set; COLUMN: 5 (req/s) or 8 (CPU per request).
// Prints one line per pair: "A/B n median q1 q3 lo hi".

import fs from "node:fs";

const [file, column, ...pairs] = process.argv.slice(2);
const col = Number(column) - 1;
const rows = fs.readFileSync(file, "utf8").trim().split("\n").map((l) => l.split(/\s+/));
const size = process.env.SIZE ?? rows[0][0];
const mode = process.env.MODE ?? "load";

// round -> path -> value
const byRound = new Map();
for (const r of rows) {
    if (r[0] !== size || r[1] !== mode) continue;
    if (!byRound.has(r[3])) byRound.set(r[3], {});
    byRound.get(r[3])[r[2]] = Number(r[col]);
}

const quantile = (sorted, f) => {
    const x = (sorted.length - 1) * f, i = Math.floor(x);
    return i + 1 < sorted.length ? sorted[i] + (x - i) * (sorted[i + 1] - sorted[i]) : sorted[i];
};
const median = (v) => quantile([...v].sort((a, b) => a - b), 0.5);

// xorshift32, seeded: reproducible intervals
let seed = 0x9e3779b9;
const rand = () => {
    seed ^= seed << 13; seed >>>= 0;
    seed ^= seed >>> 17;
    seed ^= seed << 5; seed >>>= 0;
    return seed / 4294967296;
};

for (const pair of pairs) {
    const [a, b] = pair.split("/");
    const ratios = [];
    for (const v of byRound.values()) {
        if (v[a] > 0 && v[b] > 0) ratios.push(v[a] / v[b]);
    }
    if (ratios.length === 0) {
        console.log(`${pair} 0 nan nan nan nan nan`);
        continue;
    }
    const sorted = [...ratios].sort((x, y) => x - y);
    const meds = [];
    for (let k = 0; k < 10000; k++) {
        const s = [];
        for (let i = 0; i < ratios.length; i++) s.push(ratios[Math.floor(rand() * ratios.length)]);
        meds.push(median(s));
    }
    meds.sort((x, y) => x - y);
    const f = (x) => x.toFixed(3);
    console.log([pair, ratios.length, f(quantile(sorted, 0.5)), f(quantile(sorted, 0.25)),
                 f(quantile(sorted, 0.75)), f(quantile(meds, 0.025)), f(quantile(meds, 0.975))].join(" "));
}
