/*
 * Shared helpers of eval.mjs and fit.mjs.
 */

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { encode, decodeGenerator } from 'gpt-tokenizer/encoding/o200k_base';
import { encode as encodeCl100k } from 'gpt-tokenizer/encoding/cl100k_base';

export { encode, encodeCl100k };

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '../..');
export const CATEGORIES = ['english', 'code', 'cjk', 'intl'];

/* the o200k_base pre-tokenizer, as in gpt-tokenizer and tiktoken */
const CONTRACTION = String.raw`(?:'(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE]))?`;
export const O200K_SPLIT = new RegExp([
    String.raw`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+` + CONTRACTION,
    String.raw`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*` + CONTRACTION,
    String.raw`\p{N}{1,3}`,
    String.raw` ?[^\s\p{L}\p{N}]+[\r\n/]*`,
    String.raw`\s*[\r\n]+`,
    String.raw`\s+(?!\S)`,
    String.raw`\s+`,
].join('|'), 'gu');

export function loadCorpus(cats = CATEGORIES) {
    const out = [];
    for (const c of cats) {
        const f = path.join(HERE, 'corpus', c + '.jsonl');
        for (const line of fs.readFileSync(f, 'utf8').split('\n')) {
            if (line.trim()) {
                out.push(JSON.parse(line));
            }
        }
    }
    return out;
}

/* "<len>\n<bytes>" records, as estimate.c reads them */
export function records(texts) {
    const parts = [];
    for (const t of texts) {
        const b = Buffer.isBuffer(t) ? t : Buffer.from(t, 'utf8');
        parts.push(Buffer.from(b.length + '\n'), b);
    }
    return Buffer.concat(parts);
}

export function run(bin, args, texts) {
    return execFileSync(bin, args, { input: records(texts),
        maxBuffer: 1 << 30 }).toString('utf8');
}

export function estimates(bin, texts) {
    return run(bin, [], texts).trim().split('\n').map(Number);
}

/*
 * A streamed answer: the real tokens, each decoded to text the way an API
 * streams them (decodeGenerator holds the bytes of a character split over
 * several tokens back until the character is complete).
 */
export function deltas(text) {
    const ids = encode(text);
    return { count: ids.length, deltas: [...decodeGenerator(ids)] };
}

export function quantile(sorted, q) {
    if (!sorted.length) {
        return NaN;
    }
    const i = Math.min(sorted.length - 1, Math.floor(q * sorted.length));
    return sorted[i];
}
