// Reference counts by gpt-tokenizer (the package pinned in tokenizers/) for
// t/018-tokens-exact.t and bench/tokenizer/run.sh.
//
//   node reference.mjs OUTDIR [TEXTS_JSONL]
//
// writes OUTDIR/frames (4-byte little-endian length + bytes per record),
// OUTDIR/names (one name per record), OUTDIR/o200k_base and
// OUTDIR/cl100k_base (one count per record).  The records: every text of
// TEXTS_JSONL (read where it is, never copied into the repository) and a set
// of hard texts generated here: invalid UTF-8, emoji, long runs of one
// character, a 1 MB prompt.  Bytes that are not valid UTF-8 are decoded as
// Node does (Buffer.toString: U+FFFD for each maximal invalid subpart).

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const here = path.dirname(new URL(import.meta.url).pathname);
const npmDir = process.env.TOKENIZER_NPM ||
    path.join(here, '../../build/npm');
const require = createRequire(path.join(npmDir, 'package.json'));
const enc = {
    o200k_base: require('gpt-tokenizer/encoding/o200k_base'),
    cl100k_base: require('gpt-tokenizer/encoding/cl100k_base'),
};

const [outDir, textsPath, only] = process.argv.slice(2);
const records = [];   // [name, Buffer]

function add(name, buf) {
    records.push([name, Buffer.isBuffer(buf) ? buf : Buffer.from(buf, 'utf8')]);
}

if (textsPath) {
    for (const line of fs.readFileSync(textsPath, 'utf8').split('\n')) {
        if (!line) continue;
        const t = JSON.parse(line);
        add(`eval:${t.id}:${t.lang}`, t.text);
    }
}

// a seeded generator (xorshift32), so that the hard texts are the same on
// every run
let seed = 2026;
function rnd(n) {
    seed ^= seed << 13; seed >>>= 0;
    seed ^= seed >>> 17;
    seed ^= seed << 5; seed >>>= 0;
    return seed % n;
}

if (only !== 'eval') {
    // invalid UTF-8
    const bad = [
        [0x80], [0xff], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80],
        [0xf4, 0x90, 0x80, 0x80], [0xf0, 0x9f, 0x98], [0xe2, 0x82],
        [0xc3], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xfe, 0xfe, 0xff],
        [0x61, 0xe2, 0x82, 0x62, 0xc3, 0x28, 0x20, 0x80, 0x80, 0x63],
    ];
    bad.forEach((b, i) => {
        add(`invalid:${i}`, Buffer.from(b));
        add(`invalid-in-text:${i}`, Buffer.concat([Buffer.from('Hello wor'),
            Buffer.from(b), Buffer.from('ld 123 \u4e2d\u6587 ok')]));
    });
    for (let i = 0; i < 40; i++) {
        const len = 1 + rnd(300);
        const b = Buffer.alloc(len);
        for (let j = 0; j < len; j++) b[j] = rnd(256);
        add(`random-bytes:${i}`, b);
    }
    for (let i = 0; i < 40; i++) {
        // mostly text with bytes cut out of multi-byte characters
        const s = Buffer.from('Ünïcödé текст 中文字符 😀👍🏽 مرحبا नमस्ते ' +
                              'code(x) => x * 2;\n'.repeat(1 + rnd(3)));
        const b = Buffer.from(s);
        for (let k = 0; k < 1 + rnd(6); k++) b[rnd(b.length)] = 0x80 + rnd(128);
        add(`damaged:${i}`, b.subarray(0, 1 + rnd(b.length)));
    }

    // emoji
    const emoji = ['😀', '👍🏽', '👨‍👩‍👧‍👦', '🏳️‍🌈', '🇫🇷🇯🇵', '❤️', '🧑🏿‍💻',
                   '☺', '1️⃣', '🫠', '\u{1f600}\u{fe0f}'];
    add('emoji:all', emoji.join(''));
    add('emoji:spaced', emoji.join(' '));
    add('emoji:text', emoji.map((e) => `word${e}word ${e}, `).join('\n'));
    for (const e of emoji) add(`emoji:run:${e}`, e.repeat(200));

    // long runs of one character
    const runs = {
        a: 10000, ' ': 10000, '\n': 10000, '\t': 5000, '!': 10000,
        '1': 20000, '\u00e9': 5000, '\u4e2d': 5000, '\u0416': 5000,
        '\u{1f600}': 2000, '\u3000': 3000, '.': 10000, '-': 10000, '=': 10000,
        '\u00a0': 3000, '\ufeff': 400,
    };
    for (const [c, n] of Object.entries(runs)) {
        add(`run:U+${c.codePointAt(0).toString(16)}x${n}`, c.repeat(n));
        add(`run-in-text:U+${c.codePointAt(0).toString(16)}`,
            `before ${c.repeat(n / 10)} after`);
    }
    add('run:ab', 'ab'.repeat(5000));
    add('run:spaces-then-word', ' '.repeat(5000) + 'word');
    add('run:crlf', '\r\n'.repeat(3000));

    // odd corners of the pre-split patterns
    const corners = [
        "I'm you're he'll she'd we've they're it's", "I'M YOU'RE HE'LL",
        "don\u2019t can't", "ſ's 'S 'Ll", "'s", "   ", " \n ", "\n\n\n  x",
        'x  \n', 'trailing   ', 'a\u00a0b\u2003c\u3000d\ufeffe',
        'camelCaseWordsHTTPServer XMLHttpRequest', '1234567 12.34 ½ Ⅻ ٣٤٥',
        '<|endoftext|> <|im_start|>', 'https://example.com/a/b?c=d&e=f',
        '////\n\n//', '  \t\t\n\r\n  ', 'e\u0301\u0301\u0301', '\u0000\u0001\u007f',
        'x\u200dy\u200cz', '\u{10ffff}\u{e000}',
    ];
    corners.forEach((c, i) => add(`corner:${i}`, c));

    // a 1 MB prompt: the eval texts (or the corners) one after the other
    const parts = [];
    let size = 0;
    const src = records.filter(([n]) => n.startsWith('eval:') ||
                                       n.startsWith('corner:'));
    for (let i = 0; size < 1 << 20; i++) {
        const b = src[i % src.length][1];
        parts.push(b, Buffer.from('\n\n'));
        size += b.length + 2;
    }
    add('1MB', Buffer.concat(parts).subarray(0, 1 << 20));
}

fs.mkdirSync(outDir, { recursive: true });

const frames = [];
for (const [, b] of records) {
    const h = Buffer.alloc(4);
    h.writeUInt32LE(b.length);
    frames.push(h, b);
}
fs.writeFileSync(path.join(outDir, 'frames'), Buffer.concat(frames));
fs.writeFileSync(path.join(outDir, 'names'),
                 records.map(([n]) => n).join('\n') + '\n');

// gpt-tokenizer; and js-tiktoken (an implementation with its own rank
// files) on the generated texts and on any text with U+FEFF: gpt-tokenizer
// 4.0.0 looks merged byte strings up through a TextDecoder that drops a
// leading U+FEFF (BOM), so it miscounts runs of that character.
const opts = { allowedSpecial: new Set(), disallowedSpecial: new Set() };
const { getEncoding } = require('js-tiktoken');
for (const [name, e] of Object.entries(enc)) {
    const tt = getEncoding(name);
    const counts = [], second = [];
    for (const [n, b] of records) {
        const s = b.toString('utf8');
        counts.push(e.encode(s, opts).length);
        // (js-tiktoken is slow on long pieces: texts up to 1500 bytes)
        second.push((!n.startsWith('eval:') || s.includes('\ufeff'))
                    && b.length <= 1500 ? tt.encode(s, [], []).length : '-');
    }
    fs.writeFileSync(path.join(outDir, name), counts.join('\n') + '\n');
    fs.writeFileSync(path.join(outDir, name + '.js-tiktoken'),
                     second.join('\n') + '\n');
}
