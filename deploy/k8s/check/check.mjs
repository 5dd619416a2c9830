// make test-k8s: checks what can be checked of deploy/k8s without a
// cluster.
//  1. every document of every manifest against the Kubernetes API schema
//     of its apiVersion/kind (npm kubernetes-models: the OpenAPI schemas,
//     bundled, unknown fields refused);
//  2. the nginx configuration they carry, with nginx -t and the module:
//     the ConfigMap's llm.conf (+ the Secret's include) as the official
//     image's conf.d, and the Ingress Controller's snippets (values'
//     main-snippets and http-snippets, the Ingress's location-snippets in
//     a location with a proxy_pass) as the controller would place them.
//
//   node check.mjs MANIFEST_DIR NGINX MODULE OUT_DIR
import { readFileSync, readdirSync, mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';

const [dir, nginx, module, outArg] = process.argv.slice(2);
if (!outArg) {
    console.error('usage: node check.mjs MANIFEST_DIR NGINX MODULE OUT_DIR');
    process.exit(2);
}
const out = resolve(outArg);
mkdirSync(out, { recursive: true });

let passed = 0, failed = 0;
function report(ok, what, detail) {
    if (ok) { passed++; console.log(`ok - ${what}`); }
    else { failed++; console.log(`not ok - ${what}`); if (detail) console.log(String(detail).replace(/^/gm, '#   ')); }
}

const objects = [];
let values;

for (const f of readdirSync(dir).filter(f => f.endsWith('.yaml')).sort()) {
    const text = readFileSync(join(dir, f), 'utf8');
    if (f.endsWith('-values.yaml')) {
        // Helm values: not a Kubernetes object; parsed, snippets checked below
        try { values = parse(text); report(true, `${f}: YAML`); }
        catch (e) { report(false, `${f}: YAML`, e.message); }
        continue;
    }
    const docs = parseAllDocuments(text);
    for (const [i, doc] of docs.entries()) {
        if (doc.errors.length) { report(false, `${f}#${i}: YAML`, doc.errors.join('\n')); continue; }
        const obj = doc.toJS();
        if (!obj) continue;
        const what = `${f}#${i}: ${obj.apiVersion} ${obj.kind} ${obj.metadata?.name}`;
        let mod;
        try { mod = await import(`kubernetes-models/${obj.apiVersion}`); }
        catch (e) { report(false, `${what}: unknown apiVersion`, e.message); continue; }
        const Model = mod[obj.kind];
        if (!Model) { report(false, `${what}: unknown kind`); continue; }
        try { new Model(obj).validate(); report(true, `${what}: schema`); objects.push(obj); }
        catch (e) { report(false, `${what}: schema`, e.message); }
    }
}

function nginxT(name, conf, files = {}) {
    const root = join(out, name);
    mkdirSync(join(root, 'logs'), { recursive: true });
    for (const [p, body] of Object.entries(files)) {
        mkdirSync(join(root, p, '..'), { recursive: true });
        writeFileSync(join(root, p), body);
    }
    writeFileSync(join(root, 'nginx.conf'), conf);
    const r = spawnSync(nginx, ['-t', '-q', '-p', root + '/', '-c', join(root, 'nginx.conf'),
                                '-g', `pid ${root}/nginx.pid; error_log stderr;`], { encoding: 'utf8' });
    report(r.status === 0, `${name}: nginx -t`, r.stderr + r.stdout);
}

// paths of the pod (/etc/nginx/..., /dev/stdout) and the provider's host
// (no DNS in CI) mapped into the check's directory
function local(root, text) {
    return text.replaceAll('/etc/nginx/', `${join(out, root)}/etc/nginx/`)
               .replaceAll('/dev/stdout', `${join(out, root)}/logs/access.log`)
               .replace(/server\s+api\.openai\.com:443/g, 'server 127.0.0.1:443');
}
const temps = root => ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map(t => `    ${t}_temp_path ${join(out, root)}/${t};\n`).join('');

const cm = objects.find(o => o.kind === 'ConfigMap' && o.data?.['llm.conf']);
const secret = objects.find(o => o.kind === 'Secret');
if (cm) {
    const files = { 'etc/nginx/conf.d/llm.conf': local('configmap', cm.data['llm.conf']) };
    for (const [k, v] of Object.entries(secret?.stringData ?? {})) files[`etc/nginx/secrets/${k}`] = v;
    nginxT('configmap',
        `load_module ${module};\nevents {}\nhttp {\n${temps('configmap')}` +
        `    include ${join(out, 'configmap')}/etc/nginx/conf.d/*.conf;\n}\n`, files);
} else {
    report(false, 'a ConfigMap with llm.conf');
}

const ingress = objects.find(o => o.kind === 'Ingress');
const entries = values?.controller?.config?.entries;
if (entries && ingress) {
    const main = entries['main-snippets'] ?? '';
    const loads = main.includes('ngx_http_llm_module');
    report(loads, 'main-snippets loads the module');
    const loc = ingress.metadata.annotations?.['nginx.org/location-snippets'] ?? '';
    nginxT('ingress-controller',
        main.replace(/load_module\s+modules\/ngx_http_llm_module\.so;/, `load_module ${module};`) +
        `events {}\nhttp {\n${temps('ingress-controller')}${entries['http-snippets'] ?? ''}\n` +
        `    upstream default-llm-api-model-server-8000 { server 127.0.0.1:8000; }\n` +
        `    server {\n        listen 127.0.0.1:8000;\n        location /v1/ {\n` +
        `            proxy_pass http://default-llm-api-model-server-8000;\n` +
        `${local('ingress-controller', loc)}\n        }\n    }\n}\n`);
} else {
    report(false, 'Ingress Controller values with config.entries and an Ingress');
}

console.log(`k8s: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
