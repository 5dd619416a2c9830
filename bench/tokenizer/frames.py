#!/usr/bin/env python3
# Writes the texts of ../shared/eval/text/texts.jsonl (read where they are)
# as bpe_tool frames, one file per group: english, code, cjk, other, all.
#
#   python3 bench/tokenizer/frames.py TEXTS_JSONL OUTDIR

import json
import struct
import sys

texts, out = sys.argv[1], sys.argv[2]
groups = {'english': [], 'code': [], 'cjk': [], 'other': [], 'all': []}

with open(texts, encoding='utf-8') as f:
    for line in f:
        t = json.loads(line)
        b = t['text'].encode('utf-8')
        if t['kind'] == 'code':
            g = 'code'
        elif t['lang'] == 'en':
            g = 'english'
        elif t['lang'] in ('zh-Hans', 'ja', 'ko'):
            g = 'cjk'
        else:
            g = 'other'
        groups[g].append(b)
        groups['all'].append(b)

for g, recs in groups.items():
    with open(f'{out}/{g}.frames', 'wb') as f:
        for b in recs:
            f.write(struct.pack('<I', len(b)) + b)
