#!/usr/bin/env python3
"""Regenerates ngx_http_llm_tokens_word_index[] in
ngx_llm_module/engines/ngx_http_llm_tokens.c from the list ngx_http_llm_tokens_words[]
above it (run it after editing the list):

  python3 bench/tokenizer/word_hash.py"""

import os
import re

SRC = os.path.join(os.path.dirname(__file__), '..', '..', 'ngx_llm_module',
                   'ngx_http_llm_tokens.c')

s = open(SRC, encoding='utf-8').read()
words = re.findall(r'ngx_http_llm_tokens_w\("([a-z]+)", ([A-Z]+)\)', s)


def h(w):
    """ngx_http_llm_tokens_word_hash()"""
    b = w.encode()
    n = len(b)
    return (b[0] * 7 + (b[1] if n > 1 else 0) * 31 + n * 131 + b[n - 1]) & 255


table = [0] * 256
for i, (w, _) in enumerate(words):
    k = h(w)
    while table[k]:
        k = (k + 1) & 255
    table[k] = i + 1

rows = ',\n'.join('    ' + ', '.join(f'{v:3d}' for v in table[i:i + 16])
                  for i in range(0, 256, 16))
s = re.sub(r'(ngx_http_llm_tokens_word_index\[256\] = \{\n).*?(\n\};)',
           lambda m: m.group(1) + rows + m.group(2), s, flags=re.S)
open(SRC, 'w', encoding='utf-8').write(s)
print(f'{len(words)} words')
