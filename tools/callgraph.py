#!/usr/bin/env python3
"""
The call graph between the module's source files, derived from the objects
of a build (nm: which file defines a symbol, which file uses it), and the
layer of each file.  Prints it as markdown (for docs/architecture.md) and
fails when a call goes up a layer or files of different layers form a
cycle.

    tools/callgraph.py [OBJDIR] [--markdown] [--update FILE] [--strict]

OBJDIR is build/objs (only the objects its Makefile names are read).
--update FILE replaces the text between the lines
"<!-- callgraph begin -->" and "<!-- callgraph end -->" of FILE with the
markdown.  --strict also fails on a call up a layer.
"""

import collections
import fnmatch
import glob
import os
import subprocess
import sys

# layers, lowest first; a file may call its own layer and those below
LAYERS = ['engines', 'core', 'pipeline', 'features']

# the files of ngx_llm_module/ (engines/ and filters/ aside) that belong to
# a feature, by name (ngx_http_llm_NAME.c): a feature may be split into
# several files (ngx_http_llm_cache_key.c, ...); every other file there is
# the core
FEATURES = ['budget', 'budget_*', 'cache', 'cache_*', 'redact', 'redact_*',
            'route', 'route_*', 'status', 'status_*']

# files that know nothing of requests (as ngx_http_file_cache.c never names
# upstream or proxy): they may call engines only
NO_REQUEST = {'cache_storage'}


def layer(path):
    d = os.path.basename(os.path.dirname(path))
    name = os.path.basename(path)[:-2].replace('ngx_http_llm_', '')
    if d == 'engines':
        return 'engines', name
    if d == 'filters':
        return 'pipeline', name
    if any(fnmatch.fnmatchcase(name, f) for f in FEATURES):
        return 'features', name
    return 'core', name


def main():
    argv = sys.argv[1:]
    update = None
    if '--update' in argv:
        i = argv.index('--update')
        update = argv[i + 1]
        del argv[i:i + 2]
        argv.append('--markdown')
    args = [a for a in argv if not a.startswith('--')]
    objdir = args[0] if args else 'build/objs'
    objs = sorted(glob.glob(os.path.join(objdir, 'addon', '*', '*.o')))

    # only the objects of the current build: the build's Makefile names
    # them (a file removed or renamed since leaves a stale object behind)
    mk = os.path.join(objdir, 'Makefile')
    if os.path.exists(mk):
        text = open(mk).read()
        objs = [o for o in objs
                if '/addon/%s/%s' % (os.path.basename(os.path.dirname(o)),
                                     os.path.basename(o)) in text]
    if not objs:
        sys.exit('callgraph: no objects under %s/addon (make build first)'
                 % objdir)

    defs, uses, lay = {}, {}, {}
    for o in objs:
        lname, name = layer(o)
        lay[name] = lname
        out = subprocess.run(['nm', o], capture_output=True, text=True,
                             check=True).stdout
        d, u = set(), set()
        for line in out.splitlines():
            p = line.split()
            if len(p) == 3 and p[1] in 'TDBRV':
                d.add(p[2])
            elif len(p) == 2 and p[0] == 'U':
                u.add(p[1])
        defs[name], uses[name] = d, u

    owner = {s: n for n, d in defs.items() for s in d}
    edges = collections.defaultdict(set)
    for n, u in uses.items():
        for s in u:
            m = owner.get(s)
            if m and m != n:
                edges[n].add(m)

    bad = []
    for n in sorted(edges):
        for m in sorted(edges[n]):
            if LAYERS.index(lay[m]) > LAYERS.index(lay[n]):
                bad.append('%s (%s) -> %s (%s)' % (n, lay[n], m, lay[m]))
            elif n in NO_REQUEST and lay[m] != 'engines':
                bad.append('%s (no request) -> %s (%s)' % (n, m, lay[m]))

    # strongly connected components (Tarjan) spanning several layers
    index, low, stack, on, sccs = {}, {}, [], set(), []

    def strong(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            c = []
            while True:
                w = stack.pop()
                on.discard(w)
                c.append(w)
                if w == v:
                    break
            if len(c) > 1:
                sccs.append(sorted(c))

    for v in sorted(lay):
        if v not in index:
            strong(v)

    cycles = [c for c in sccs if len({lay[x] for x in c}) > 1]

    if '--markdown' in argv:
        md = ['| Layer | File | Calls (files whose functions it uses) |',
              '|---|---|---|']
        for lname in reversed(LAYERS):
            for n in sorted(x for x in lay if lay[x] == lname):
                md.append('| %s | %s | %s |' % (lname, n,
                          ', '.join(sorted(edges.get(n, ()))) or '-'))
        md += ['', 'Calls up a layer: %s.' % ('; '.join(bad) or 'none'), '',
               'Cycles between files of different layers: %s.'
               % ('; '.join(' <-> '.join(c) for c in cycles) or 'none'), '',
               'Cycles within a layer: %s.'
               % ('; '.join(' <-> '.join(c) for c in sccs if c not in cycles)
                  or 'none')]
        if update:
            text = open(update).read()
            a = text.index('<!-- callgraph begin -->\n')
            a += len('<!-- callgraph begin -->\n')
            b = text.index('<!-- callgraph end -->')
            text = text[:a] + '\n'.join(md) + '\n' + text[b:]
            open(update, 'w').write(text)
        else:
            print('\n'.join(md))
    else:
        for n in sorted(edges):
            print('%s %s -> %s' % (lay[n], n, ' '.join(sorted(edges[n]))))
        for b in bad:
            print('up a layer: ' + b, file=sys.stderr)
        for c in cycles:
            print('cycle across layers: ' + ' <-> '.join(c), file=sys.stderr)

    if update:
        return 0
    return 1 if (bad and '--strict' in argv) or cycles else 0


if __name__ == '__main__':
    sys.exit(main())
