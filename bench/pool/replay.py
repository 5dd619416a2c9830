#!/usr/bin/env python3
"""Replay nginx's request pool (src/core/ngx_palloc.c) over a trace of
bench/pool/trace.sh: which allocation opens each new block, and the bytes
left in the blocks before it.  Assumes request_pool_size 4096 and that the
allocations after the request pool's creation are the request's (the last
ones, after the log, may be the connection's: see the trace).

    python3 bench/pool/replay.py TRACE [-v]     (-v: every allocation)
"""

import re
import sys

BLOCK = 4096          # request_pool_size
FIRST = 80            # sizeof(ngx_pool_t): the first block's header
HEADER = 32           # sizeof(ngx_pool_data_t): the next blocks'
MAX = BLOCK - FIRST   # pool->max: larger allocations are ngx_palloc_large()

verbose = '-v' in sys.argv[2:]
lines = [l for l in open(sys.argv[1])
         if re.match(r'^(palloc|pnalloc|pcalloc|MEMALIGN) ', l)]
start = [i for i, l in enumerate(lines)
         if l.startswith('MEMALIGN 4096 ngx_create_pool')][0]

blocks = [[FIRST, 0]]     # bytes used, failed
current = 0


def small(size, align):
    global current
    for b in range(current, len(blocks)):
        used = blocks[b][0]
        if align:
            used = (used + 7) & ~7
        if BLOCK - used >= size:
            blocks[b][0] = used + size
            return b
    # ngx_palloc_block(): the blocks that failed more than 4 times are left
    for b in range(current, len(blocks) - 1):
        blocks[b][1] += 1
        if blocks[b][1] > 5:
            current = b + 1
    blocks.append([HEADER + size, 0])
    return len(blocks) - 1


for l in lines[start + 1:]:
    kind, size, who = re.match(r'^(\w+) (\d+) (.*)', l).groups()
    size = int(size)
    who = re.sub(r' in section .*', '', who).strip()
    if kind in ('pcalloc', 'MEMALIGN'):
        continue          # pcalloc: its palloc follows; MEMALIGN: replayed
    if size > MAX:
        if verbose:
            print('%6d large  %s' % (size, who))
        continue
    n = len(blocks)
    b = small(size, kind == 'palloc')
    if verbose:
        print('%6d block %d  %s' % (size, b, who))
    if len(blocks) > n:
        print('new block %d for %d bytes (%s); left in the blocks before: %s'
              % (len(blocks) - 1, size, who,
                 [BLOCK - x[0] for x in blocks[:-1]]))

print('blocks: %d, left: %s' % (len(blocks), [BLOCK - x[0] for x in blocks]))
