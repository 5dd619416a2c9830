#!/usr/bin/env node
/*
 * Builds the estimator corpus: corpus/{english,code,cjk}.jsonl.
 *
 * Every sample is {"id", "cat", "src", "split", "text"}.  Texts are taken
 * from files with permissive licences that ship with a Debian system (man
 * pages, /usr/share/common-licenses, copyright files, C headers, Python,
 * Perl and JavaScript sources, shell scripts, JSON files) or generated from
 * the hand-written material in corpus_src/.  See README.md for the list.
 *
 * The output is deterministic for a given machine (seeded PRNG, sorted file
 * lists); the committed corpus is what the published figures were measured
 * on, so this script only needs to be run to rebuild it.
 *
 * The train/test split is done by source: all samples cut from one file
 * are on the same side, and generated samples draw from disjoint halves of
 * the hand-written lists.
 */

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as EN from './corpus_src/english.mjs';
import * as CJK from './corpus_src/cjk.mjs';
import { INTL_CHAT } from './corpus_src/intl.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.join(HERE, 'corpus');
const PER_CAT = 500;
const PER_CAT_INTL = 250;
const TRAIN_SHARE = 0.6;
const MIN_BYTES = 10;
const MAX_BYTES = 8192;


/* PRNG: mulberry32 */

let seed = 0x5eed1234;

function rand() {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

function pick(a) {
    return a[Math.floor(rand() * a.length)];
}

function int(lo, hi) {
    return lo + Math.floor(rand() * (hi - lo + 1));
}

/* target size in bytes, log-uniform in [MIN_BYTES, MAX_BYTES] */
function targetBytes() {
    return Math.round(Math.exp(Math.log(MIN_BYTES)
        + rand() * (Math.log(MAX_BYTES) - Math.log(MIN_BYTES))));
}

function hashSplit(key) {
    let h = 2166136261;
    for (let i = 0; i < key.length; i++) {
        h ^= key.charCodeAt(i);
        h = Math.imul(h, 16777619) >>> 0;
    }
    return (h % 1000) / 1000 < TRAIN_SHARE ? 'train' : 'test';
}

/* list halves: the train side uses elements i % 5 < 3, test the others */
function half(list, split) {
    const r = list.filter((_, i) => (i % 5 < 3) === (split === 'train'));
    return r.length ? r : list;
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

function bytes(s) {
    return enc.encode(s).length;
}

/* cut s to at most n UTF-8 bytes, preferring a line or word boundary */
function cutBytes(s, n) {
    if (bytes(s) <= n) {
        return s;
    }
    let lo = 0, hi = s.length;
    while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (bytes(s.slice(0, mid)) <= n) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let t = s.slice(0, lo);
    /* do not split a surrogate pair */
    if (/[\ud800-\udbff]$/.test(t)) {
        t = t.slice(0, -1);
    }
    const nl = t.lastIndexOf('\n');
    if (nl > t.length * 0.6) {
        return t.slice(0, nl + 1);
    }
    const sp = t.search(/\s\S*$/);
    if (sp > t.length * 0.7) {
        return t.slice(0, sp);
    }
    return t;
}

/* a chunk of about n bytes of text starting at a random line */
function chunk(text, n) {
    const lines = text.split('\n');
    let start = 0;
    if (bytes(text) > n) {
        start = int(0, Math.max(0, lines.length - 1));
        /* leave enough text after the start when possible */
        while (start > 0 && bytes(lines.slice(start).join('\n')) < n) {
            start = Math.max(0, start - 8);
        }
    }
    let t = lines.slice(start).join('\n');
    t = cutBytes(t, n);
    return t.replace(/^\n+/, '');
}

function readUtf8(f) {
    try {
        const b = fs.readFileSync(f);
        if (b.length === 0 || b.includes(0)) {
            return null;
        }
        return dec.decode(b);
    } catch (e) {
        return null;
    }
}

function walk(dir, re, out = []) {
    let ents;
    try {
        ents = fs.readdirSync(dir, { withFileTypes: true });
    } catch (e) {
        return out;
    }
    ents.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of ents) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) {
            walk(p, re, out);
        } else if (e.isFile() && re.test(p)) {
            out.push(p);
        }
    }
    return out;
}


/* man pages rendered to plain text, one paragraph per line */

function renderMan(f) {
    let out;
    try {
        const src = execFileSync('zcat', [f], { maxBuffer: 1 << 26 });
        out = execFileSync('groff', ['-k', '-Kutf8', '-man', '-Tutf8',
            '-P-cbuo', '-rHY=0', '-rLL=2000n'],
            { input: src, maxBuffer: 1 << 26, stdio: ['pipe', 'pipe',
                'ignore'] }).toString('utf8');
    } catch (e) {
        return null;
    }
    const lines = out.split('\n');
    /* drop the header and footer lines */
    lines.shift();
    while (lines.length && lines[lines.length - 1].trim() === '') {
        lines.pop();
    }
    lines.pop();
    const res = [];
    for (let l of lines) {
        const ind = l.match(/^ */)[0].length;
        l = l.trim().replace(/ {2,}/g, ' ');
        /* keep a little structure: section titles and indented lists */
        res.push(ind >= 11 && l ? '  ' + l : l);
    }
    return res.join('\n').replace(/\n{3,}/g, '\n\n').trim() + '\n';
}

function cjkRatio(s) {
    const cjk = (s.match(/[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7a3]/gu)
        || []).length;
    const all = (s.match(/\S/gu) || []).length;
    return all ? cjk / all : 0;
}


/* generators */

function enChat(split) {
    const pool = half(EN.EN_CHAT, split);
    const n = targetBytes();
    if (n < 200 || rand() < 0.3) {
        /* a single message, cut to size when long */
        return cutBytes(pick(pool), Math.max(n, 10));
    }
    /* a conversation */
    let t = '';
    let role = 0;
    while (bytes(t) < n) {
        const m = rand() < 0.5 ? pick(pool) : enAnswer(split, int(80, 900));
        t += (rand() < 0.5 ? (role ? 'Assistant: ' : 'User: ') : '')
            + m + '\n\n';
        role ^= 1;
    }
    return cutBytes(t.trim(), n);
}

function enAnswer(split, n) {
    const topics = half(EN.EN_TOPICS, split);
    const sents = half(EN.EN_SENTENCES, split);
    const topic = pick(topics);
    let t = pick(EN.EN_OPENERS).replace('{T}', topic) + '\n\n';
    while (bytes(t) < n) {
        const r = rand();
        if (r < 0.25) {
            const k = int(2, 5);
            for (let i = 0; i < k; i++) {
                t += (rand() < 0.5 ? '- ' : (i + 1) + '. ') + pick(sents)
                    + '\n';
            }
            t += '\n';
        } else {
            const k = int(2, 6);
            const p = [];
            for (let i = 0; i < k; i++) {
                p.push(pick(sents));
            }
            t += p.join(' ') + '\n\n';
        }
    }
    return (t + pick(EN.EN_CLOSERS)).trim();
}

function cjkSentence(L, split) {
    let s = '';
    if (rand() < 0.2) {
        s += pick(half(L.extra, split)) + (L === CJK.KO ? ' ' : '');
    }
    if (rand() < 0.5) {
        s += pick(half(L.time, split)) + (L === CJK.ZH ? '' : ' ');
    }
    if (rand() < 0.25) {
        s += pick(half(L.conn, split)) + (L === CJK.KO ? ' ' : '');
    }
    s += pick(half(L.subj, split)) + (L === CJK.ZH ? '' : ' ');
    s += pick(half(L.pred, split));
    if (L === CJK.JA) {
        s = s.replace(/ /g, '');
    }
    return s + pick(L.punct);
}

function cjkGenerated(L, split) {
    const n = targetBytes();
    let t = '';
    while (bytes(t) < n) {
        t += cjkSentence(L, split);
        if (L === CJK.KO) {
            t += ' ';
        }
        if (rand() < 0.15) {
            t = t.trimEnd() + '\n\n';
        }
    }
    return cutBytes(t.trim(), n);
}

function cjkChat(pool, split) {
    const p = half(pool, split);
    const n = targetBytes();
    if (n < 150 || rand() < 0.4) {
        return cutBytes(pick(p), Math.max(n, 10));
    }
    let t = '';
    while (bytes(t) < n) {
        t += pick(p) + '\n\n';
    }
    return cutBytes(t.trim(), n);
}


/* JSON and YAML generators */

const NAMES = ['api', 'worker', 'billing', 'auth', 'search', 'gateway',
    'frontend', 'scheduler', 'metrics', 'cache', 'mailer', 'reports'];
const MODELS = ['gpt-4o', 'gpt-4o-mini', 'o3-mini', 'claude-3-5-sonnet',
    'llama-3.1-8b-instruct', 'mistral-large'];

function genJson(split) {
    const pool = half(EN.EN_CHAT, split);
    const r = rand();
    let obj;
    if (r < 0.4) {
        const msgs = [{ role: 'system', content: 'You are a helpful '
            + 'assistant. Answer concisely.' }];
        const k = int(1, 8);
        for (let i = 0; i < k; i++) {
            msgs.push({ role: i % 2 ? 'assistant' : 'user',
                content: pick(pool) });
        }
        obj = { model: pick(MODELS), messages: msgs,
            temperature: Math.round(rand() * 100) / 100,
            max_tokens: int(16, 4096), stream: rand() < 0.5 };
        if (rand() < 0.4) {
            obj.tools = [{ type: 'function', function: {
                name: 'get_weather', description: 'Get the current weather '
                    + 'for a city',
                parameters: { type: 'object', properties: {
                    city: { type: 'string', description: 'City name' },
                    unit: { type: 'string', enum: ['celsius',
                        'fahrenheit'] } },
                    required: ['city'] } } }];
        }
    } else if (r < 0.7) {
        obj = { id: 'chatcmpl-' + Math.floor(rand() * 1e12).toString(36),
            object: 'chat.completion', created: 1700000000 + int(0, 9e7),
            model: pick(MODELS), choices: [{ index: 0, message: {
                role: 'assistant', content: enAnswer(split, int(50, 2000)) },
                finish_reason: 'stop' }],
            usage: { prompt_tokens: int(5, 3000),
                completion_tokens: int(1, 2000), total_tokens: 0 } };
        obj.usage.total_tokens = obj.usage.prompt_tokens
            + obj.usage.completion_tokens;
    } else {
        const items = [];
        const k = int(1, 60);
        for (let i = 0; i < k; i++) {
            items.push({ id: int(1, 999999), name: pick(NAMES) + '-'
                + int(1, 99), enabled: rand() < 0.5,
                replicas: int(1, 12), cpu: (rand() * 4).toFixed(2),
                tags: [pick(NAMES), pick(NAMES)],
                updated_at: new Date(1.6e12 + rand() * 1e11).toISOString(),
                owner: { email: pick(NAMES) + '@example.com',
                    team: pick(NAMES) } });
        }
        obj = { total: k, page: int(1, 20), items };
    }
    const pretty = rand();
    const s = JSON.stringify(obj, null, pretty < 0.4 ? undefined
        : pretty < 0.8 ? 2 : 4);
    return cutBytes(s, targetBytes());
}

function genYaml(split) {
    const n = targetBytes();
    let t = '';
    while (bytes(t) < n) {
        const name = pick(NAMES);
        const r = rand();
        if (r < 0.4) {
            t += `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${pick(['default', 'prod', 'staging', 'llm'])}
  labels:
    app: ${name}
    tier: ${pick(['backend', 'frontend', 'batch'])}
spec:
  replicas: ${int(1, 10)}
  selector:
    matchLabels:
      app: ${name}
  template:
    metadata:
      labels:
        app: ${name}
    spec:
      containers:
        - name: ${name}
          image: registry.example.com/${name}:${int(1, 3)}.${int(0, 20)}.${int(0, 9)}
          ports:
            - containerPort: ${pick([80, 8080, 3000, 9000, 8443])}
          env:
            - name: LOG_LEVEL
              value: "${pick(['debug', 'info', 'warn'])}"
            - name: UPSTREAM_URL
              value: "http://${pick(NAMES)}.svc.cluster.local:${int(1000, 9999)}"
          resources:
            limits:
              cpu: "${int(1, 8) * 250}m"
              memory: ${int(1, 16) * 128}Mi
---
`;
        } else if (r < 0.7) {
            t += `name: ${pick(['CI', 'Build and test', 'Release', 'Lint'])}
on:
  push:
    branches: [main]
  pull_request:
jobs:
  ${name}:
    runs-on: ubuntu-latest
    timeout-minutes: ${int(5, 60)}
    steps:
      - uses: actions/checkout@v4
      - name: Install dependencies
        run: |
          sudo apt-get update
          sudo apt-get install -y ${pick(['libpcre2-dev', 'zlib1g-dev', 'libssl-dev'])} ${pick(['build-essential', 'cpanminus', 'ragel'])}
      - name: Build
        run: make -j\${{ steps.cpu.outputs.count }}
      - name: Test
        run: prove -r t/ # ${pick(EN.EN_SENTENCES)}
`;
        } else {
            t += `# ${pick(half(EN.EN_SENTENCES, split))}
services:
  ${name}:
    image: ${name}:latest
    restart: unless-stopped
    depends_on:
      - ${pick(NAMES)}
    ports:
      - "${int(1000, 9999)}:${int(1000, 9999)}"
    volumes:
      - ./data/${name}:/var/lib/${name}
    environment:
      TZ: Europe/Berlin
      RETRIES: ${int(0, 5)}
      ENABLE_CACHE: ${rand() < 0.5}
`;
        }
    }
    return cutBytes(t, n);
}


/* sources */

function fileSampler(files, render) {
    const cache = new Map();
    return function () {
        for (let tries = 0; tries < 50; tries++) {
            const f = pick(files);
            let t = cache.get(f);
            if (t === undefined) {
                t = render(f);
                cache.set(f, t);
            }
            if (!t || t.trim().length < 10) {
                continue;
            }
            const c = chunk(t, targetBytes());
            if (c.trim().length >= 5 && bytes(c) >= MIN_BYTES) {
                return { text: c, src: f, split: hashSplit(f) };
            }
        }
        return null;
    };
}

function cjkManSampler(files) {
    /* keep the paragraphs written mostly in CJK */
    return fileSampler(files, f => {
        const t = renderMan(f);
        if (!t) {
            return null;
        }
        const keep = t.split('\n').filter(l => l.trim() === ''
            || cjkRatio(l) >= 0.3);
        return keep.join('\n').replace(/\n{3,}/g, '\n\n').trim();
    });
}

function shebangSh(f) {
    const t = readUtf8(f);
    return t && /^#!.*\b(ba|da|k|z)?sh\b/.test(t) ? t : null;
}

function build() {
    const manEn = [];
    for (const s of ['man1', 'man5', 'man7', 'man8']) {
        manEn.push(...walk('/usr/share/man/' + s, /\.gz$/));
    }
    const licences = walk('/usr/share/common-licenses', /./);
    const copyrights = walk('/usr/share/doc', /\/copyright$/);
    const man = lang => walk('/usr/share/man/' + lang, /\.gz$/);
    const cH = walk('/usr/include', /\.h$/);
    const py = walk('/usr/lib/python3.11', /\.py$/)
        .filter(f => !/\/encodings\//.test(f));
    const pl = walk('/usr/share/perl/5.36.0', /\.pm$/);
    const js = walk('/usr/lib/node_modules/npm', /\.(m?js)$/)
        .filter(f => !/\.min\.js$|\/(encodings|tables)\//.test(f));
    /* data tables (iconv-lite's code pages, ...) are not code */
    const json = walk('/usr/lib/node_modules/npm', /\.json$/)
        .filter(f => !/\/(encodings|tables)\//.test(f));
    const sh = walk('/usr/bin', /./).filter(f => {
        try {
            const fd = fs.openSync(f, 'r');
            const b = Buffer.alloc(32);
            fs.readSync(fd, b, 0, 32, 0);
            fs.closeSync(fd);
            return /^#!.*\b(ba|da)?sh\b/.test(b.toString('latin1'));
        } catch (e) {
            return false;
        }
    }).concat(walk('/usr/share', /\.sh$/));

    const manIntl = [];
    for (const l of ['cs', 'da', 'de', 'es', 'fi', 'fr', 'hr', 'hu', 'id',
        'it', 'nl', 'pl', 'pt', 'pt_BR', 'ro', 'ru', 'sl', 'sr', 'sv', 'tr',
        'uk', 'vi'])
    {
        manIntl.push(...man(l));
    }

    const gen = (fn, tag) => () => {
        const split = rand() < TRAIN_SHARE ? 'train' : 'test';
        return { text: fn(split), src: tag, split };
    };

    const plan = {
        english: [
            [0.30, gen(enChat, 'generated:english-chat')],
            [0.40, fileSampler(manEn, renderMan)],
            [0.15, fileSampler(licences, readUtf8)],
            [0.15, fileSampler(copyrights, readUtf8)],
        ],
        code: [
            [0.20, fileSampler(cH, readUtf8)],
            [0.20, fileSampler(py, readUtf8)],
            [0.08, fileSampler(pl, readUtf8)],
            [0.16, fileSampler(js, readUtf8)],
            [0.12, fileSampler(sh, shebangSh)],
            [0.06, fileSampler(json, readUtf8)],
            [0.08, gen(genJson, 'generated:json')],
            [0.10, gen(genYaml, 'generated:yaml')],
        ],
        cjk: [
            [0.12, cjkManSampler(man('zh_CN'))],
            [0.12, gen(s => cjkGenerated(CJK.ZH, s), 'generated:zh')],
            [0.11, gen(s => cjkChat(CJK.ZH_CHAT, s), 'generated:zh-chat')],
            [0.12, cjkManSampler(man('ja'))],
            [0.12, gen(s => cjkGenerated(CJK.JA, s), 'generated:ja')],
            [0.11, gen(s => cjkChat(CJK.JA_CHAT, s), 'generated:ja-chat')],
            [0.10, cjkManSampler(man('ko'))],
            [0.10, gen(s => cjkGenerated(CJK.KO, s), 'generated:ko')],
            [0.10, gen(s => cjkChat(CJK.KO_CHAT, s), 'generated:ko-chat')],
        ],
        intl: [
            [0.70, fileSampler(manIntl, renderMan)],
            [0.30, gen(s => cjkChat(pick(Object.values(INTL_CHAT)), s),
                'generated:intl-chat')],
        ],
    };

    fs.mkdirSync(OUT, { recursive: true });
    for (const [cat, sources] of Object.entries(plan)) {
        const out = [];
        for (const [share, sampler] of sources) {
            const want = Math.round(share
                * (cat === 'intl' ? PER_CAT_INTL : PER_CAT));
            let got = 0;
            for (let tries = 0; got < want && tries < want * 4; tries++) {
                const s = sampler();
                if (!s || bytes(s.text) < MIN_BYTES
                    || bytes(s.text) > MAX_BYTES)
                {
                    continue;
                }
                out.push({ id: cat + '-' + out.length, cat, src: s.src,
                    split: s.split, text: s.text });
                got++;
            }
        }
        fs.writeFileSync(path.join(OUT, cat + '.jsonl'),
            out.map(o => JSON.stringify(o)).join('\n') + '\n');
        const tr = out.filter(o => o.split === 'train').length;
        console.log(`${cat}: ${out.length} samples (${tr} train, `
            + `${out.length - tr} test)`);
    }
}

build();
