#!/usr/bin/env python3
"""How often a random number is taken for a national ID (type national_id).

Random numbers of each length and shape (a fixed seed, 20,000 each) are put
in a sentence ("number N here") and scanned by the engine with every type
on (scan_cases.c); the share with a national_id detection is printed.  A
check digit lets one random number in ten (or eleven, or 23) through: this
is the precision a pattern engine can give national IDs without context.

    python3 bench/redact/nid_random.py [--scanner BIN]
"""

import argparse
import random
import subprocess
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
from public_eval import build_scanner  # noqa: E402

SHAPES = [
    ("11 digits", lambda r: str(r.randint(10 ** 10, 10 ** 11 - 1))),
    ("13 digits", lambda r: str(r.randint(10 ** 12, 10 ** 13 - 1))),
    ("15 digits", lambda r: str(r.randint(10 ** 14, 10 ** 15 - 1))),
    ("18 digits", lambda r: str(r.randint(10 ** 17, 10 ** 18 - 1))),
    ("dddddddd-d", lambda r: "%08d-%d" % (r.randint(10 ** 7, 10 ** 8 - 1),
                                          r.randint(0, 9))),
    ("ddddddddL", lambda r: "%08d%s" % (r.randint(0, 10 ** 8 - 1),
                                        r.choice("ABCDEFGHJKLMNPQRSTVWXYZ"))),
    ("ddd.ddd.ddd-dd", lambda r: "%03d.%03d.%03d-%02d" % (
        r.randint(0, 999), r.randint(0, 999), r.randint(0, 999),
        r.randint(0, 99))),
    ("dddd dddd dddd", lambda r: "%04d %04d %04d" % (
        r.randint(2000, 9999), r.randint(0, 9999), r.randint(0, 9999))),
    # the second block's shapes (ngx_http_llm_pii_nid2_*)
    ("10 digits", lambda r: str(r.randint(10 ** 9, 10 ** 10 - 1))),
    ("12 digits", lambda r: str(r.randint(10 ** 11, 10 ** 12 - 1))),
    ("dddddd-dddd", lambda r: "%06d-%04d" % (r.randint(0, 999999),
                                             r.randint(0, 9999))),
    ("Ldddddddddddddd (a capital, 13 digits)", lambda r: "%s%013d" % (
        r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), r.randint(0, 10 ** 13 - 1))),
    ("LddddddddddddL", lambda r: "%s%012d%s" % (
        r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), r.randint(0, 10 ** 12 - 1),
        r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))),
    ("dd.dd.dd-ddd.dd", lambda r: "%02d.%02d.%02d-%03d.%02d" % (
        r.randint(0, 99), r.randint(0, 99), r.randint(0, 99),
        r.randint(0, 999), r.randint(0, 99))),
    ("756.dddd.dddd.dd", lambda r: "756.%04d.%04d.%02d" % (
        r.randint(0, 9999), r.randint(0, 9999), r.randint(0, 99))),
    ("784-dddd-ddddddd-d", lambda r: "784-%04d-%07d-%d" % (
        r.randint(1900, 2025), r.randint(0, 10 ** 7 - 1), r.randint(0, 9))),
    ("\"personnummer\" and 10 digits", lambda r: "personnummer %d" % (
        r.randint(10 ** 9, 10 ** 10 - 1))),
    ("\"kennitala\" and dddddd-dddd", lambda r: "kennitala %06d-%04d" % (
        r.randint(0, 999999), r.randint(0, 9999))),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scanner")
    a = ap.parse_args()
    scanner = a.scanner or build_scanner()
    r = random.Random(1)
    print("| shape | random numbers | taken for a national ID |")
    print("|---|---:|---:|")
    for name, gen in SHAPES:
        texts = [("number %s here" % gen(r)).encode() for _ in range(20000)]
        data = b"".join(b"%d\n" % len(t) + t for t in texts)
        out = subprocess.run([scanner], input=data, capture_output=True,
                             check=True).stdout.decode().split("\n")
        hit = sum(1 for line in out[:len(texts)] if "national_id" in line)
        print("| %s | %d | %.2f %% |" % (name, len(texts),
                                        100.0 * hit / len(texts)))


if __name__ == "__main__":
    main()
