#!/usr/bin/env python3
"""Charge each perf sample of the nginx worker to a component, by its leaf
frame (kernel samples by the system call in their chain), for
bench/profile.sh.

  perf script -F ip,sym,dso | classify.py PATH > components-PATH.txt
  classify.py --table components-a.txt components-b.txt ...
"""
import re
import subprocess
import sys

# libcrypto's SHA-256 block function with SHA-NI is assembly without a
# symbol nor a frame pointer: its offsets are found once by objdump (the
# instructions sha256rnds2 and their neighbourhood)
SHA_RANGE = {}


def sha_range(path):
    if path not in SHA_RANGE:
        lo = hi = 0
        try:
            out = subprocess.run(['objdump', '-d', '--no-show-raw-insn', path],
                                 capture_output=True, text=True).stdout
            addrs = [int(l.split(':')[0], 16) for l in out.splitlines()
                     if 'sha256rnds2' in l]
            if addrs:
                lo, hi = min(addrs) - 512, max(addrs) + 512
        except OSError:
            pass
        SHA_RANGE[path] = (lo, hi)
    return SHA_RANGE[path]

MODULE = [
    (re.compile(r'json|parse_body|_scan_body|request_parse'), 'module: JSON scan'),
    (re.compile(r'token|bpe|estimat|memo'), 'module: estimator/memo'),
    (re.compile(r'pii'), 'module: PII validators/engine glue'),
    (re.compile(r'redact'), 'module: redaction glue'),
    (re.compile(r'cache'), 'module: cache (key, storage)'),
    (re.compile(r'budget'), 'module: budget'),
    (re.compile(r'variable|_var_|log'), 'module: variables/log'),
]


WAKEUP = {'try_to_wake_up', 'ttwu_do_activate', '__wake_up_common',
          '__wake_up_sync_key', 'sock_def_readable', 'ep_poll_callback'}


def kernel(frames):
    for sym, _ in frames:
        if 'exc_page_fault' in sym or sym.startswith('handle_mm_fault'):
            return 'kernel: page faults'
    # the system call: the first user-space frame (the C library's wrapper)
    for sym, dso in frames:
        if 'kernel' in dso:
            continue
        name = re.sub(r'^(__GI_)?(__libc_|__)?', '', sym)
        if name.startswith('writev') or name.startswith('send'):
            # the receiver's side of loopback runs in the sender's
            # softirq: waking the peer (upstream, client) that sleeps in
            # epoll_wait is charged here
            if any(s in WAKEUP for s, _ in frames):
                return 'kernel: send, waking the peer'
            return 'kernel: send (TCP, loopback delivery)'
        if name.startswith('recv') or name.startswith('read'):
            return 'kernel: recv'
        if name.startswith('write') or name.startswith('pwrite'):
            return 'kernel: write (the log file)'
        if name.startswith('epoll'):
            return 'kernel: epoll'
        if re.match(r'(mmap|munmap|brk|sbrk|madvise|mprotect)', name):
            return 'kernel: mmap/munmap/brk'
        return 'kernel: other system calls'
    return 'kernel: interrupts, softirq, scheduler'


def component(frames):
    if not frames:
        return 'unknown'
    sym, dso, ip = frames[0]
    frames = [(f[0], f[1]) for f in frames]
    if 'kernel' in dso or dso.startswith('[') and dso != '[unknown]':
        return kernel(frames)
    if 'libhs' in dso:
        return 'Hyperscan (libhs)'
    if 'libcrypto' in dso:
        lo, hi = sha_range(dso)
        if lo <= ip < hi or 'sha256' in sym.lower():
            return 'SHA-256 (libcrypto)'
        return 'libcrypto, other'
    if 'malloc_count' in dso:
        return 'malloc/free'
    if 'libc.so' in dso or 'libc-' in dso:
        if re.search(r'mem(cpy|move|set)|memcpy', sym):
            return 'memcpy/memmove/memset'
        if re.search(r'malloc|free|_int_|memalign|calloc|realloc|tcache|unlink_chunk|'
                     r'consolidate|sysmalloc|systrim|arena', sym):
            return 'malloc/free'
        return 'libc, other'
    if 'ngx_http_llm_module' in dso:
        for rx, name in MODULE:
            if rx.search(sym):
                return name
        return 'module: other'
    if dso.endswith('/nginx') or dso == 'nginx':
        return 'nginx core'
    return 'other: ' + dso.rsplit('/', 1)[-1]


def parse(stream):
    frames = []
    for line in stream:
        line = line.rstrip('\n')
        if not line.strip():
            if frames:
                yield frames
            frames = []
            continue
        m = re.match(r'\s*([0-9a-f]+)\s+(.*?)\s+\((.*)\)\s*$', line)
        if m:
            sym = re.sub(r'\+0x[0-9a-f]+$', '', m.group(2))
            frames.append((sym, m.group(3), int(m.group(1), 16)))
    if frames:
        yield frames


def classify(path, us):
    counts = {}
    total = 0
    for frames in parse(sys.stdin):
        c = component(frames)
        counts[c] = counts.get(c, 0) + 1
        total += 1
    print('# path %s samples %d us_per_request %s' % (path, total, us))
    for c, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        print('%s\t%d\t%.1f' % (c, n, 100.0 * n / total if total else 0))


# paths that are one feature over the gateway: their deltas are summed
# into "gw + Σ parts" when the table has gw and all
PARTS = ('rt', 'bu', 'rq', 'rr', 'cm', 'lg')


def table(files):
    names, samples, us, rows = [], {}, {}, {}
    for f in files:
        with open(f) as fh:
            head = fh.readline().split()
            name = head[2]
            names.append(name)
            samples[name] = head[4]
            us[name] = float(head[6])
            for line in fh:
                c, n, pct = line.rstrip('\n').split('\t')
                rows.setdefault(c, {})[name] = float(pct)
    order = sorted(rows, key=lambda r: -max(rows[r].values()))

    print('Share of the worker\'s samples:\n')
    print('| component | ' + ' | '.join('%s (%s samples)' % (n, samples[n]) for n in names) + ' |')
    print('|---|' + '---:|' * len(names))
    for c in order:
        print('| %s | ' % c + ' | '.join('%.1f %%' % rows[c][n] if n in rows[c] else ''
                                        for n in names) + ' |')

    # µs per request: the share times the worker's CPU per request
    parts = [n for n in names if n in PARTS]
    inter = 'gw' in names and 'all' in names and parts
    val = lambda c, n: rows[c].get(n, 0.0) * us[n] / 100
    print('\nµs of worker CPU per request (share × the run\'s CPU per request):\n')
    head = names + (['gw + Σ parts', 'all − (gw + Σ parts)'] if inter else [])
    print('| component | ' + ' | '.join(head) + ' |')
    print('|---|' + '---:|' * len(head))
    for c in order + ['**kernel**', '**user space**', '**total**']:
        if c == '**total**':
            v = [us[n] for n in names]
        elif c == '**kernel**':
            v = [sum(val(k, n) for k in order if k.startswith('kernel')) for n in names]
        elif c == '**user space**':
            v = [sum(val(k, n) for k in order if not k.startswith('kernel'))
                 for n in names]
        else:
            v = [val(c, n) for n in names]
        if inter:
            i = names.index('gw')
            s = v[i] + sum(v[names.index(n)] - v[i] for n in parts)
            v += [s, v[names.index('all')] - s]
        print('| %s | ' % c + ' | '.join('%.1f' % x for x in v) + ' |')


if __name__ == '__main__':
    if sys.argv[1] == '--table':
        table(sys.argv[2:])
    else:
        classify(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else 'nan')
