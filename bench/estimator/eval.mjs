#!/usr/bin/env node
/*
 * Compares ngx_http_llm_estimate_tokens() with the real o200k_base
 * tokenizer (gpt-tokenizer) on the corpus, per category and split.
 *
 * Usage: node eval.mjs BIN   (run.sh does it)
 *
 * Relative error of a text: (estimate - real) / real.  Printed per category
 * and split: number of texts, median of |error|, 90th percentile of |error|,
 * mean signed error (bias), and the error of the category's total.
 * Then the streamed-deltas test: each test text of at least 20 tokens is
 * cut into its real tokens, decoded as an API streams them; the estimates
 * of the deltas are summed and compared with the real count.
 */

import { CATEGORIES, deltas, encode, encodeCl100k, loadCorpus, quantile, run,
    estimates } from './lib.mjs';

const bin = process.argv[2];
const TARGET = ['english', 'code', 'cjk'];
/* the LONE threshold of the estimator was chosen on the train split */
const DELTA_SPLIT = process.env.DELTA_SPLIT || 'test';

const corpus = loadCorpus(CATEGORIES);
const real = corpus.map(s => encode(s.text).length);
const est = estimates(bin, corpus.map(s => s.text));

function stats(idx) {
    const rel = idx.map(i => (est[i] - real[i]) / real[i]);
    const abs = rel.map(Math.abs).sort((a, b) => a - b);
    const sumR = idx.reduce((a, i) => a + real[i], 0);
    const sumE = idx.reduce((a, i) => a + est[i], 0);
    return { n: idx.length, median: quantile(abs, 0.5),
        p90: quantile(abs, 0.9),
        bias: rel.reduce((a, b) => a + b, 0) / rel.length,
        total: (sumE - sumR) / sumR };
}

const pct = v => (v * 100).toFixed(1).padStart(6) + '%';
const spct = v => ((v >= 0 ? '+' : '') + (v * 100).toFixed(1)).padStart(6)
    + '%';

function line(name, s) {
    return name.padEnd(22) + String(s.n).padStart(6) + pct(s.median)
        + ' ' + pct(s.p90) + ' ' + spct(s.bias) + ' ' + spct(s.total);
}

const head = 'category / split'.padEnd(22) + '     n' + ' median'
    + '     p90' + '    bias' + '   total';

console.log('Estimate vs o200k_base (gpt-tokenizer), relative error per '
    + 'text');
console.log('');
console.log(head);
console.log('-'.repeat(head.length));

const ok = {};
for (const cat of CATEGORIES) {
    for (const split of ['train', 'test']) {
        const idx = corpus.map((s, i) => i)
            .filter(i => corpus[i].cat === cat && corpus[i].split === split);
        const s = stats(idx);
        console.log(line(cat + (TARGET.includes(cat) ? '' : '*') + ' / '
            + split, s));
        if (split === 'test' && TARGET.includes(cat)) {
            ok[cat] = s.median;
        }
    }
}
console.log('* not a target category: other languages, for information');

/* by length, test split of the target categories */

console.log('');
console.log('Test split by real token count (english + code + cjk)');
console.log('');
console.log(head.replace('category / split', 'tokens      '));
console.log('-'.repeat(head.length));
for (const [lo, hi] of [[1, 5], [6, 20], [21, 100], [101, 500],
    [501, 1e9]])
{
    const idx = corpus.map((s, i) => i).filter(i => corpus[i].split === 'test'
        && TARGET.includes(corpus[i].cat) && real[i] >= lo && real[i] <= hi);
    console.log(line(hi < 1e9 ? `${lo}-${hi}` : `${lo}+`, stats(idx)));
}

/* streamed deltas */

console.log('');
console.log('Streamed answers (test split, >= 20 tokens): sum of the estimates '
    + 'of the deltas vs real count');
console.log('');
console.log('category / delta size'.padEnd(22) + '     n  deltas' + ' median'
    + '     p90' + '    bias' + '   total' + '  deltas exact');
console.log('-'.repeat(head.length + 14));

/* seeded, so that the figures are reproducible */
let seed = 12345;
function rand() {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296;
}

for (const [label, maxTokens] of [['1 token', 1], ['1-4 tokens', 4]]) {
    for (const cat of TARGET) {
        const texts = corpus.filter((s, i) => s.cat === cat
            && s.split === DELTA_SPLIT && real[i] >= 20);
        const all = [];
        const owner = [];
        const truth = [];
        const counts = [];
        texts.forEach((s, j) => {
            const d = deltas(s.text);
            counts.push(d.count);
            for (let k = 0; k < d.deltas.length;) {
                const m = 1 + Math.floor(rand() * maxTokens);
                all.push(d.deltas.slice(k, k + m).join(''));
                truth.push(Math.min(m, d.deltas.length - k));
                owner.push(j);
                k += m;
            }
        });
        const e = estimates(bin, all);
        const sums = new Array(texts.length).fill(0);
        let exact = 0;
        e.forEach((v, k) => {
            sums[owner[k]] += v;
            exact += v === truth[k] ? 1 : 0;
        });
        const rel = sums.map((v, j) => (v - counts[j]) / counts[j]);
        const abs = rel.map(Math.abs).sort((a, b) => a - b);
        const tr = counts.reduce((a, b) => a + b, 0);
        const te = sums.reduce((a, b) => a + b, 0);
        console.log((cat + ' / ' + label).padEnd(22)
            + String(texts.length).padStart(6)
            + String(all.length).padStart(8) + pct(quantile(abs, 0.5)) + ' '
            + pct(quantile(abs, 0.9)) + ' '
            + spct(rel.reduce((a, b) => a + b, 0) / rel.length) + ' '
            + spct((te - tr) / tr) + '  ' + pct(exact / all.length));
    }
}
console.log('(a delta is a group of consecutive real tokens decoded as an API '
    + 'streams them;');
console.log(' "deltas exact": share of deltas whose estimate equals their '
    + 'token count)');

/* another encoding, for information */

console.log('');
console.log('For information: the same estimates against cl100k_base (GPT-4, '
    + 'GPT-3.5) real counts, test split');
console.log('');
console.log(head);
console.log('-'.repeat(head.length));
{
    const realO200k = real.slice();
    for (const cat of CATEGORIES) {
        const idx = corpus.map((s, i) => i)
            .filter(i => corpus[i].cat === cat && corpus[i].split === 'test');
        for (const i of idx) {
            real[i] = encodeCl100k(corpus[i].text).length;
        }
        console.log(line(cat + ' / test', stats(idx)));
        for (const i of idx) {
            real[i] = realO200k[i];
        }
    }
}

/* speed */

console.log('');
console.log('Speed (all corpus texts, then 6-byte fragments): '
    + run(bin, ['-b'], corpus.map(s => s.text)).trim());

console.log('');
const verdict = Object.entries(ok).map(([c, m]) => `${c} ${(m * 100)
    .toFixed(1)}% ${m <= 0.10 ? 'ok' : 'ABOVE 10%'}`).join(', ');
console.log('Target (median |error| <= 10% on each test split): ' + verdict);
