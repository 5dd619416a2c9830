#!/usr/bin/env node
/*
 * Fits the cost tables of ngx_http_llm_tokens.c on the TRAINING split of
 * the corpus.
 *
 * The scanner of the estimator (built with -DESTIMATE_DUMP) prints every
 * piece it cuts and its features; each piece is tokenized alone by the real
 * o200k tokenizer, which gives its true cost (BPE never merges across
 * pre-tokenizer pieces, so when the scanner cuts like the real pre-tokenizer
 * the sum of the pieces' counts is the text's count).  Then:
 *
 *   - words of cased letters: the mean token count per (case, leading
 *     character, length) bucket, shrunk towards coarser buckets when a
 *     bucket has few pieces, made non-decreasing in length;
 *   - non-ASCII cased letters, contractions: least squares on what is left;
 *   - words with uncased letters (CJK, ...): ridge least squares on the
 *     number of letters of each script plus an intercept per leading
 *     character;
 *   - punctuation runs: mean per (leading space, length), then least
 *     squares for newlines and non-ASCII symbols.
 *
 * Usage: node fit.mjs BIN_DUMP [--write]   (run.sh --fit does it)
 * --write replaces the FITTED block of ngx_llm_module/engines/ngx_http_llm_tokens.c.
 */

import fs from 'node:fs';
import path from 'node:path';

import { ROOT, CATEGORIES, O200K_SPLIT, encode, loadCorpus, run }
    from './lib.mjs';

const UNIT = 256;
const WMAX = 24;
const PMAX = 16;
const NS = 11;
const SCRIPTS = ['ascii', 'latin', 'cyrl', 'greek', 'han', 'kana', 'hangul',
    'arabic', 'indic', 'sea', 'other'];

const bin = process.argv[2];
const write = process.argv.includes('--write');

const train = loadCorpus(CATEGORIES).filter(s => s.split === 'train');
const bufs = train.map(s => Buffer.from(s.text, 'utf8'));

/* pieces as cut by the C scanner */

const pieces = [];
for (const line of run(bin, [], bufs).split('\n')) {
    const f = line.split(' ');
    if (f.length < 20) {
        continue;
    }
    const v = f.map(Number);
    pieces.push({ rec: v[0], start: v[1], end: v[2], kind: v[3],
        lead: v[4], contraction: v[5], upper: v[6],
        letters: v.slice(7, 7 + NS), ascii: v[18], sym: v.slice(19, 22),
        nl: v[22] });
}

/* agreement with the real pre-tokenizer, per category */

const agree = {};
for (let r = 0; r < train.length; r++) {
    const a = agree[train[r].cat] || (agree[train[r].cat] = [0, 0]);
    const spans = new Set();
    let off = 0, pos = 0;
    const text = train[r].text;
    for (const m of text.matchAll(O200K_SPLIT)) {
        off += Buffer.byteLength(text.slice(pos, m.index));
        const len = Buffer.byteLength(m[0]);
        spans.add(off + ':' + (off + len));
        off += len;
        pos = m.index + m[0].length;
        a[1]++;
    }
    train[r].spans = spans;
}
for (const p of pieces) {
    if (train[p.rec].spans.has(p.start + ':' + p.end)) {
        agree[train[p.rec].cat][0]++;
    }
}
for (const [c, [ok, all]] of Object.entries(agree)) {
    console.error(`pieces matching the o200k pre-tokenizer, ${c}: `
        + `${(100 * ok / all).toFixed(2)}% of ${all}`);
}

for (const p of pieces) {
    const s = bufs[p.rec].subarray(p.start, p.end).toString('utf8');
    p.y = encode(s).length;
    p.n = p.letters.reduce((a, b) => a + b, 0);
    p.cased = p.letters[0] + p.letters[1] + p.letters[2] + p.letters[3];
}


/* small linear algebra */

function solve(A, b) {
    const n = b.length;
    const M = A.map((r, i) => [...r, b[i]]);
    for (let i = 0; i < n; i++) {
        let piv = i;
        for (let k = i + 1; k < n; k++) {
            if (Math.abs(M[k][i]) > Math.abs(M[piv][i])) {
                piv = k;
            }
        }
        [M[i], M[piv]] = [M[piv], M[i]];
        for (let k = i + 1; k < n; k++) {
            const f = M[k][i] / M[i][i];
            for (let j = i; j <= n; j++) {
                M[k][j] -= f * M[i][j];
            }
        }
    }
    const x = new Array(n).fill(0);
    for (let i = n - 1; i >= 0; i--) {
        let s = M[i][n];
        for (let j = i + 1; j < n; j++) {
            s -= M[i][j] * x[j];
        }
        x[i] = s / M[i][i];
    }
    return x;
}

/* ridge least squares towards prior: min |y - Xb|^2 + lambda |b - prior|^2 */
function ridge(X, y, prior, lambda) {
    const k = prior.length;
    const A = Array.from({ length: k }, () => new Array(k).fill(0));
    const b = new Array(k).fill(0);
    for (let i = 0; i < X.length; i++) {
        for (let j = 0; j < k; j++) {
            if (X[i][j] === 0) {
                continue;
            }
            b[j] += X[i][j] * y[i];
            for (let l = 0; l < k; l++) {
                A[j][l] += X[i][j] * X[i][l];
            }
        }
    }
    for (let j = 0; j < k; j++) {
        A[j][j] += lambda;
        b[j] += lambda * prior[j];
    }
    return solve(A, b);
}


/* words of cased letters */

function shape(p) {
    return p.upper === 0 ? 0 : p.upper === 1 ? 1 : p.upper === p.n ? 2 : 3;
}

const casedWords = pieces.filter(p => p.kind === 0 && p.n === p.cased);
const asciiWords = casedWords.filter(p => p.letters[0] === p.n
    && !p.contraction);

function bucketMeans(list, key, K) {
    const m = new Map();
    for (const p of list) {
        const k = key(p);
        const e = m.get(k) || { s: 0, c: 0 };
        e.s += p.y;
        e.c++;
        m.set(k, e);
    }
    return m;
}

const K = 20;
const len = p => Math.min(p.n, WMAX);
const gAll = bucketMeans(asciiWords, p => len(p));
const gShape = bucketMeans(asciiWords, p => shape(p) + ':' + len(p));
const gCell = bucketMeans(asciiWords,
    p => shape(p) + ':' + p.lead + ':' + len(p));

function shrink(e, prior) {
    return e ? (e.s + K * prior) / (e.c + K) : prior;
}

/* pool adjacent violators: the closest non-decreasing sequence */
function isotonic(v, w) {
    const blocks = [];
    for (let i = 0; i < v.length; i++) {
        blocks.push({ v: v[i], w: w[i], n: 1 });
        while (blocks.length > 1
               && blocks[blocks.length - 2].v > blocks[blocks.length - 1].v)
        {
            const b = blocks.pop();
            const a = blocks[blocks.length - 1];
            a.v = (a.v * a.w + b.v * b.w) / (a.w + b.w);
            a.w += b.w;
            a.n += b.n;
        }
    }
    const out = [];
    for (const b of blocks) {
        for (let i = 0; i < b.n; i++) {
            out.push(Math.max(b.v, 1));
        }
    }
    return out;
}

const W = [];
for (let sh = 0; sh < 4; sh++) {
    W.push([]);
    for (let ld = 0; ld < 3; ld++) {
        const v = [], w = [];
        let prev = 1;
        for (let n = 1; n <= WMAX; n++) {
            const all = gAll.get(n);
            const pAll = all ? all.s / all.c : prev;
            const pShape = shrink(gShape.get(sh + ':' + n), pAll);
            const cell = gCell.get(sh + ':' + ld + ':' + n);
            v.push(shrink(cell, pShape));
            w.push((cell ? cell.c : 0) + K);
            prev = v[v.length - 1];
        }
        W[sh].push([0, ...isotonic(v, w)]);
    }
}

/* per letter above WMAX */
let num = 0, den = 0;
for (const p of asciiWords) {
    if (p.n > WMAX) {
        num += p.y - W[shape(p)][p.lead][WMAX];
        den += p.n - WMAX;
    }
}
const wordLong = den ? Math.max(num / den, 0.1) : 0.25;

function wordBase(p) {
    return W[shape(p)][p.lead][len(p)]
        + (p.n > WMAX ? (p.n - WMAX) * wordLong : 0);
}

/* contractions */
const contr = casedWords.filter(p => p.contraction && p.letters[0] === p.n);
const contraction = contr.length
    ? contr.reduce((a, p) => a + p.y - wordBase(p), 0) / contr.length : 1;

/* non-ASCII cased letters */
const nonAscii = casedWords.filter(p => p.letters[0] !== p.n);
const xCased = ridge(nonAscii.map(p => [p.letters[1], p.letters[2],
    p.letters[3]]), nonAscii.map(p => p.y - wordBase(p)
    - (p.contraction ? contraction : 0)), [0.3, 0.3, 0.5], 10);


/* words with uncased letters */

const uncased = pieces.filter(p => p.kind === 0 && p.n !== p.cased);
const USHORT = 4;
const uPrior = [0.5, 0.5, 1, 0.3, 0.3, 0.3, 0.3, 0.7, 0.7, 0.6, 0.3, 0.3,
    0.4, 0.5, 0, 0, 0, 0];
const uFit = ridge(uncased.map(p => [p.lead === 0 ? 1 : 0,
    p.lead === 1 ? 1 : 0, p.lead === 2 ? 1 : 0, ...p.letters,
    ...Array.from({ length: USHORT }, (_, i) => p.n === i + 1 ? 1 : 0)]),
    uncased.map(p => p.y - (p.contraction ? contraction : 0)), uPrior, 5);


/* punctuation */

const punct = pieces.filter(p => p.kind === 2);
const pure = punct.filter(p => !p.sym[0] && !p.sym[1] && !p.sym[2]
    && !p.nl);
const pAll = bucketMeans(pure, p => Math.min(p.ascii, PMAX));
const pCell = bucketMeans(pure, p => p.lead + ':' + Math.min(p.ascii, PMAX));
const P = [];
for (let ld = 0; ld < 2; ld++) {
    const v = [], w = [];
    let prev = 1;
    for (let n = 1; n <= PMAX; n++) {
        const all = pAll.get(n);
        const pa = all ? all.s / all.c : prev;
        const cell = pCell.get(ld + ':' + n);
        v.push(shrink(cell, pa));
        w.push((cell ? cell.c : 0) + K);
        prev = v[v.length - 1];
    }
    P.push([0, ...isotonic(v, w)]);
}
num = 0;
den = 0;
for (const p of pure) {
    if (p.ascii > PMAX) {
        num += p.y - P[p.lead][PMAX];
        den += p.ascii - PMAX;
    }
}
const punctLong = den ? Math.max(num / den, 0.05) : 0.3;

function punctBase(p) {
    const n = p.ascii;
    return n > PMAX ? P[p.lead][PMAX] + (n - PMAX) * punctLong : P[p.lead][n];
}

const withNl = punct.filter(p => !p.sym[0] && !p.sym[1] && !p.sym[2]
    && p.nl);
num = 0;
den = 0;
for (const p of withNl) {
    num += (p.y - punctBase(p)) * p.nl;
    den += p.nl * p.nl;
}
const punctNl = den ? num / den : 0;

const withSym = punct.filter(p => p.sym[0] || p.sym[1] || p.sym[2]);
const sFit = ridge(withSym.map(p => p.sym), withSym.map(p => p.y
    - punctBase(p) - p.nl * punctNl), [1, 1, 1.5], 5);


/* white space, for the record */

const spaces = pieces.filter(p => p.kind === 3);
console.error(`white space pieces: ${spaces.length}, mean tokens `
    + (spaces.reduce((a, p) => a + p.y, 0) / spaces.length).toFixed(3));


/* C text */

const q = v => Math.round(v * UNIT);
/* a macro value: parenthesized when negative */
const m = v => (q(v) < 0 ? `(${q(v)})` : String(q(v)));

function rows(values, indent, per) {
    const out = [];
    for (let i = 0; i < values.length; i += per) {
        out.push(indent + values.slice(i, i + per)
            .map(v => String(v).padStart(4)).join(', '));
    }
    return out.join(',\n');
}

const SHAPES = ['word', 'Word', 'WORD', 'WORDword'];
const LEADS = ['no lead', 'space', 'other'];

let c = '/* FITTED: begin (written by bench/estimator/fit.mjs, do not edit) */'
    + '\n\n/* a word of cased letters: [case][lead][letters] */\n'
    + 'static const uint16_t  ngx_http_llm_tokens_word[4][3][25] = {\n';
c += W.map((sh, i) => '    {   /* ' + SHAPES[i] + ' */\n'
    + sh.map((row, j) => '        {   /* ' + LEADS[j] + ' */\n'
        + rows(row.map(q), '            ', 10) + '\n        }').join(',\n')
    + '\n    }').join(',\n');
c += '\n};\n\n';
c += '/* per letter above NGX_HTTP_LLM_TW_MAX_LEN */\n'
    + `#define NGX_HTTP_LLM_TOKENS_WORD_LONG          ${m(wordLong)}\n\n`;
c += '/* extra cost of a non-ASCII cased letter, by script */\n'
    + 'static const int16_t  ngx_http_llm_tokens_cased[NGX_HTTP_LLM_TS_N] = {\n'
    + rows([0, q(xCased[0]), q(xCased[1]), q(xCased[2]), 0, 0, 0, 0, 0, 0,
        0], '    ', 11) + '\n};\n\n';
c += '/* a word with uncased letters (CJK, ...): intercept by lead, rate by '
    + 'script */\n'
    + 'static const int16_t  ngx_http_llm_tokens_uncased_lead[3] = {\n'
    + rows(uFit.slice(0, 3).map(q), '    ', 3) + '\n};\n\n'
    + 'static const int16_t  ngx_http_llm_tokens_uncased[NGX_HTTP_LLM_TS_N] '
    + '= {\n' + rows(uFit.slice(3, 3 + NS).map(q), '    ', 11) + '\n};\n\n'
    + '/* correction for short words: [letters], 1 to 4 */\n'
    + 'static const int16_t  ngx_http_llm_tokens_uncased_short[5] = {\n'
    + rows([0, ...uFit.slice(3 + NS).map(q)], '    ', 5) + '\n};\n\n';
c += `/* 's 't 're 've 'm 'll 'd */\n`
    + `#define NGX_HTTP_LLM_TOKENS_CONTRACTION        ${m(contraction)}\n\n`;
c += '/* a punctuation run: [lead][ASCII characters] */\n'
    + 'static const uint16_t  ngx_http_llm_tokens_punct[2][17] = {\n'
    + P.map((row, i) => '    {   /* ' + LEADS[i] + ' */\n'
        + rows(row.map(q), '        ', 10) + '\n    }').join(',\n')
    + '\n};\n\n';
c += `#define NGX_HTTP_LLM_TOKENS_PUNCT_LONG         ${m(punctLong)}\n`
    + `#define NGX_HTTP_LLM_TOKENS_PUNCT_SYM2         ${m(sFit[0])}\n`
    + `#define NGX_HTTP_LLM_TOKENS_PUNCT_SYM3         ${m(sFit[1])}\n`
    + `#define NGX_HTTP_LLM_TOKENS_PUNCT_SYM4         ${m(sFit[2])}\n`
    + `#define NGX_HTTP_LLM_TOKENS_PUNCT_NL           ${m(punctNl)}\n\n`
    + '/* FITTED: end */';

console.error('uncased rates: ' + SCRIPTS.map((s, i) => s + ' '
    + uFit[3 + i].toFixed(3)).join(', ') + '; leads '
    + uFit.slice(0, 3).map(v => v.toFixed(3)).join(' ') + '; short '
    + uFit.slice(3 + NS).map(v => v.toFixed(3)).join(' '));
console.error('cased extras: latin ' + xCased[0].toFixed(3) + ' cyrl '
    + xCased[1].toFixed(3) + ' greek ' + xCased[2].toFixed(3)
    + '; contraction ' + contraction.toFixed(3));

if (write) {
    const f = path.join(ROOT, 'ngx_llm_module', 'ngx_http_llm_tokens.c');
    const src = fs.readFileSync(f, 'utf8');
    const a = src.indexOf('/* FITTED: begin');
    const e = src.indexOf('/* FITTED: end */') + '/* FITTED: end */'.length;
    fs.writeFileSync(f, src.slice(0, a) + c + src.slice(e));
    console.error('written to ' + f);
} else {
    console.log(c);
}
