// make test-ui: the llm_status page (?format=html) in headless Chromium.
//
// Starts Debian's nginx with the module, a gateway location, a mock upstream
// and llm_status, sends a few requests (JSON, a stream, an error, a routed
// and shadowed one), opens the page with playwright-core in Debian's
// chromium, and checks that it loads, draws the counters, follows new
// requests on the next poll, shows other top-level JSON objects (cache,
// redactions) as tables, survives a failed poll, and logs no console error
// or warning.  Prints TAP and a closing "N passed, N failed" line.
//
// Environment: NGINX_BIN, MODULE, ECHO_MODULE, CHROMIUM, UI_OUT (where the
// screenshots go), UI_KEEP=1 (keep the nginx prefix).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)),
                          '..', '..');
const NGINX = process.env.NGINX_BIN || '/usr/sbin/nginx';
const MODULE = process.env.MODULE
               || path.join(ROOT, 'build', 'ngx_http_llm_module.so');
const ECHO = process.env.ECHO_MODULE
             || '/usr/lib/nginx/modules/ngx_http_echo_module.so';
const BROWSER = process.env.CHROMIUM || '/usr/bin/chromium';
const OUT = process.env.UI_OUT || path.join(ROOT, 'build', 'ui');

let passed = 0, failed = 0, n = 0;

function ok(cond, name, diag) {
    n++;
    if (cond) {
        passed++;
        console.log(`ok ${n} - ${name}`);
    } else {
        failed++;
        console.log(`not ok ${n} - ${name}`);
        if (diag !== undefined) {
            console.log('# ' + String(diag).split('\n').join('\n# '));
        }
    }
    return cond;
}

function is(got, want, name) {
    return ok(got === want, name,
              `got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

function freePort() {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.on('error', reject);
        s.listen(0, '127.0.0.1', () => {
            const { port } = s.address();
            s.close(() => resolve(port));
        });
    });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitPort(port, child, ms) {
    const end = Date.now() + ms;
    while (Date.now() < end) {
        if (child.exitCode !== null) {
            return false;
        }
        const up = await new Promise((resolve) => {
            const c = net.connect(port, '127.0.0.1');
            c.on('connect', () => { c.destroy(); resolve(true); });
            c.on('error', () => resolve(false));
        });
        if (up) {
            return true;
        }
        await sleep(50);
    }
    return false;
}

function nginxConf(root, port) {
    const user = process.getuid && process.getuid() === 0
                 ? 'user root;' : '';
    return `
load_module ${MODULE};
load_module ${ECHO};
${user}
worker_processes 2;
daemon off;
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 256; }

http {
    access_log off;
    client_body_temp_path ${root}/tmp/body;
    proxy_temp_path ${root}/tmp/proxy;
    fastcgi_temp_path ${root}/tmp/fastcgi;
    uwsgi_temp_path ${root}/tmp/uwsgi;
    scgi_temp_path ${root}/tmp/scgi;

    llm_model gpt-4o-mini upstream=mock input=1.00 output=2.00;
    llm_model other upstream=mock;

    llm_route smart { gpt-4o-mini 1; shadow other 100%; }
    llm_budget_zone $http_x_key zone=keys:1m tokens=100000/h;

    upstream mock {
        server unix:${root}/mock.sock;
    }

    server {
        listen unix:${root}/mock.sock;
        default_type application/json;

        location /json/ {
            echo_read_request_body;
            echo '{"choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}],"usage":{"prompt_tokens":1000,"completion_tokens":500,"total_tokens":1500}}';
        }

        location /fail/ {
            echo_read_request_body;
            echo_status 500;
            echo '{"error":{"message":"boom"}}';
        }

        location /stream/ {
            default_type text/event-stream;
            echo_read_request_body;
            echo -n 'data: {"choices":[{"index":0,"delta":{"content":"Hello"}}]}\\n\\n';
            echo -n 'data: {"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12}}\\n\\n';
            echo -n 'data: [DONE]\\n\\n';
        }
    }

    server {
        listen 127.0.0.1:${port};

        location / {
            llm_gateway openai;
            llm_budget keys;
            proxy_pass http://mock;
        }

        location = /status {
            llm_status;
        }
    }
}
`;
}

async function post(base, uri, body) {
    const res = await fetch(base + uri, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Key': 'k1' },
        body: JSON.stringify(body),
    });
    await res.text();
    return res.status;
}

function chat(model, stream) {
    return { model, stream: !!stream,
             messages: [{ role: 'user', content: 'Hi' }] };
}

async function main() {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-ui-'));
    let nginx = null, browser = null;

    for (const d of ['logs', 'conf', 'tmp']) {
        fs.mkdirSync(path.join(root, d));
    }

    try {
        const port = await freePort();
        const base = `http://127.0.0.1:${port}`;

        fs.writeFileSync(path.join(root, 'conf', 'nginx.conf'),
                         nginxConf(root, port));

        nginx = spawn(NGINX, ['-p', root + '/', '-c', 'conf/nginx.conf',
                              '-e', 'logs/error.log'],
                      { stdio: ['ignore', 'inherit', 'inherit'] });

        if (!ok(await waitPort(port, nginx, 10000), 'nginx starts',
                readLog(root))) {
            return;
        }

        /* traffic: a JSON answer, a stream, an error, a routed request */

        is(await post(base, '/json/chat/completions', chat('gpt-4o-mini')),
           200, 'JSON request answered');
        is(await post(base, '/stream/chat/completions',
                      chat('gpt-4o-mini', true)), 200, 'stream answered');
        is(await post(base, '/fail/chat/completions', chat('other')), 500,
           'failing upstream answered 500');
        is(await post(base, '/json/chat/completions', chat('smart')), 200,
           'routed request answered');

        /* the page itself, over plain HTTP */

        let res = await fetch(base + '/status?format=html');
        const html = await res.text();
        is(res.status, 200, 'page: 200');
        is(res.headers.get('content-type'), 'text/html; charset=utf-8',
           'page: Content-Type');
        is(res.headers.get('cache-control'), 'no-store',
           'page: Cache-Control');
        is(Number(res.headers.get('content-length')),
           Buffer.byteLength(html), 'page: Content-Length');
        ok(!/(src|href)=["']?(https?:)?\/\//i.test(html),
           'page: no external resources');

        res = await fetch(base + '/status?format=html', { method: 'HEAD' });
        is(res.status, 200, 'HEAD: 200');
        is(Number(res.headers.get('content-length')),
           Buffer.byteLength(html), 'HEAD: Content-Length');
        is((await res.arrayBuffer()).byteLength, 0, 'HEAD: no body');

        /* the page in Chromium */

        browser = await chromium.launch({
            executablePath: BROWSER,
            args: ['--headless', '--no-sandbox', '--disable-gpu',
                   '--disable-background-networking',
                   '--disable-component-update', '--disable-sync',
                   '--no-first-run'],
        });

        const page = await browser.newPage({
            viewport: { width: 1280, height: 900 },
        });
        const messages = [], errors = [], foreign = [];

        page.on('console', (m) => {
            if (m.type() === 'error' || m.type() === 'warning') {
                messages.push(`${m.type()}: ${m.text()}`);
            }
        });
        page.on('pageerror', (e) => errors.push(String(e)));
        page.on('request', (r) => {
            if (!r.url().startsWith(base + '/')) {
                foreign.push(r.url());
            }
        });

        const polls = () => page.evaluate(
            () => Number(document.body.getAttribute('data-polls')));
        const waitPolls = (k) => page.waitForFunction(
            (k) => Number(document.body.getAttribute('data-polls')) >= k,
            k, { timeout: 10000 });
        const text = (sel) => page.locator(sel).first().textContent();
        const value = (sel) => page.locator(sel).first()
                                   .getAttribute('data-value');
        const model = (name, col) =>
            text(`#models tr[data-model="${name}"] .c-${col}`);

        const resp = await page.goto(base + '/status?format=html');
        is(resp.status(), 200, 'browser: page loaded with 200');
        is(await page.title(), 'LLM gateway status', 'browser: title');

        await waitPolls(1);
        ok(true, 'browser: the page polled the JSON');

        is(await text('#total-requests'), '4', '#total-requests shows 4');
        is(await model('gpt-4o-mini', 'requests'), '3',
           'gpt-4o-mini row: 3 requests');
        is(await model('gpt-4o-mini', 'streams'), '1',
           'gpt-4o-mini row: 1 stream');
        is(await model('gpt-4o-mini', 'prompt'), '2,010',
           'gpt-4o-mini row: 2,010 prompt tokens');
        is(await model('gpt-4o-mini', 'completion'), '1,002',
           'gpt-4o-mini row: 1,002 completion tokens');
        is(await model('gpt-4o-mini', 'cost'), '$0.004014',
           'gpt-4o-mini row: cost');
        is(await model('other', '5xx'), '1', 'other row: one 5xx');
        is(await text('#total-errors'), '1', '#total-errors shows 1');
        is(await text('#total-cost'), '$0.004014', '#total-cost');
        is(await text('#routes tr[data-route="smart"] .c-requests'), '1',
           'route smart: 1 request');
        is(await text('#routes tr[data-route="smart"] .c-shadow-sent'), '1',
           'route smart: 1 shadow request');
        is(await text('#routes tr[data-route="smart"] .c-agree'),
           '1/1 (100.0%)', 'route smart: shadow agreement');
        is(await text('#budgets tr[data-zone="keys"] .c-admitted'), '4',
           'budget zone keys: 4 admitted');
        const json = await (await fetch(base + '/status?format=json')).json();
        if ('cache' in json) {
            ok(true, '# skip the JSON has a cache object of its own');
        } else {
            is(await page.locator('#cache-card').isHidden(), true,
               'no cache card without a cache object');
        }
        ok((await page.getAttribute('#status-line', 'class')) === 'ok',
           'status line says live');

        /* two more requests show on the next poll, with a rate */

        const before = await polls();
        is(await post(base, '/json/chat/completions', chat('gpt-4o-mini')),
           200, 'request 5 answered');
        is(await post(base, '/json/chat/completions', chat('gpt-4o-mini')),
           200, 'request 6 answered');

        await page.waitForFunction(
            () => document.getElementById('total-requests')
                      .getAttribute('data-value') === '6',
            null, { timeout: 10000 }).catch(() => {});
        ok((await polls()) > before, 'a new poll came');
        is(await text('#total-requests'), '6', '#total-requests updated to 6');
        is(await model('gpt-4o-mini', 'requests'), '5',
           'gpt-4o-mini row updated to 5 requests');
        is(await model('gpt-4o-mini', 'prompt'), '4,010',
           'gpt-4o-mini row updated to 4,010 prompt tokens');
        const rps = Number(await value('#total-rps'));
        ok(rps > 0 && rps <= 2, 'requests/s from the delta between polls',
           `requests/s ${rps}`);
        ok(Number(await value('#total-tps')) > 0, 'tokens/s from the delta');

        /* some traffic over a few polls for the sparkline, then the
         * screenshot */

        for (let i = 0; i < 12; i++) {
            await post(base, i % 4 === 3 ? '/stream/chat/completions'
                                         : '/json/chat/completions',
                       chat(i % 3 ? 'gpt-4o-mini' : 'smart', i % 4 === 3));
            await sleep(i < 6 ? 300 : 900);
        }
        await waitPolls((await polls()) + 1);
        ok(Number(await page.getAttribute('#spark', 'data-points')) >= 2,
           'sparkline drawn');
        ok(((await page.getAttribute('#spark path.line', 'd')) || '')
               .startsWith('M'), 'sparkline has a path');

        fs.mkdirSync(OUT, { recursive: true });
        await page.screenshot({ path: path.join(OUT, 'status.png'),
                                fullPage: true });
        console.log(`# screenshot: ${path.join(OUT, 'status.png')}`);

        ok(messages.length === 0, 'no console error or warning',
           messages.join('\n'));
        ok(errors.length === 0, 'no page error', errors.join('\n'));
        ok(foreign.length === 0, 'no request to another origin',
           foreign.join('\n'));

        /* other top-level objects are drawn as tables: cache, redactions */

        await page.route('**/status?format=json', async (route) => {
            const r = await route.fetch();
            const j = await r.json();
            j.cache = { answers: { entries: 2, hits: 3, misses: 1,
                                   tokens_saved: 4500 } };
            j.redactions = { email: 2, phone: 1 };
            await route.fulfill({ response: r, json: j });
        });

        await waitPolls((await polls()) + 1);
        await waitPolls((await polls()) + 1);
        is(await page.locator('#cache-card').isVisible(), true,
           'cache card shown with a cache object');
        is(await text('#cache-hit-rate'), '75.0%', 'cache hit rate');
        is(await text('#extra-cache tr[data-key="answers"] .c-tokens_saved'),
           '4,500', 'cache zone drawn as a table row');
        is(await text('#extra-redactions tr[data-key="email"] .c-value'), '2',
           'redactions drawn as a table');
        await page.screenshot({ path: path.join(OUT, 'status-extra.png'),
                                fullPage: true });

        /* a failed poll shows on the status line, and the page recovers */

        await page.unroute('**/status?format=json');
        await page.route('**/status?format=json',
                         (route) => route.fulfill({ status: 503,
                                                    body: 'down' }));
        await page.waitForFunction(
            () => document.getElementById('status-line').className === 'err',
            null, { timeout: 10000 }).catch(() => {});
        ok(/HTTP 503/.test(await text('#status-line')),
           'a failed poll shows on the status line',
           await text('#status-line'));
        await page.unroute('**/status?format=json');
        await page.waitForFunction(
            () => document.getElementById('status-line').className === 'ok',
            null, { timeout: 10000 }).catch(() => {});
        is(await page.getAttribute('#status-line', 'class'), 'ok',
           'the page recovers on the next poll');
        ok(errors.length === 0, 'still no page error', errors.join('\n'));
        const other = messages.filter(
            (m) => !/Failed to load resource.*503/.test(m));
        ok(other.length === 0,
           'no console message but the failed fetch itself',
           other.join('\n'));

        const log = readLog(root);
        ok(!/\[(alert|crit|emerg)\]/.test(log), 'nothing bad in error.log',
           log.split('\n').filter((l) => /\[(alert|crit|emerg)\]/.test(l))
              .join('\n'));

    } catch (e) {
        ok(false, 'the test ran to its end', e && e.stack || e);

    } finally {
        if (browser) {
            await browser.close().catch(() => {});
        }
        if (nginx && nginx.exitCode === null) {
            const gone = new Promise((r) => nginx.once('exit', r));
            nginx.kill('SIGQUIT');
            await Promise.race([gone, sleep(5000)]);
            if (nginx.exitCode === null && nginx.signalCode === null) {
                nginx.kill('SIGKILL');
            }
        }
        if (process.env.UI_KEEP) {
            console.log(`# kept ${root}`);
        } else {
            fs.rmSync(root, { recursive: true, force: true });
        }
    }
}

function readLog(root) {
    try {
        return fs.readFileSync(path.join(root, 'logs', 'error.log'), 'utf8');
    } catch (e) {
        return '';
    }
}

const watchdog = setTimeout(() => {
    console.log('not ok - timed out after 120 s');
    console.log(`${passed} passed, ${failed + 1} failed`);
    process.exit(1);
}, 120000);

await main();
clearTimeout(watchdog);
console.log(`1..${n}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed || n === 0 ? 1 : 0);
