#!/usr/bin/env python3
"""How often a random id or barcode is taken for a phone number or a card.

Random numbers of the look-alike shapes of the own corpus (a fixed seed,
20,000 each) are put in a sentence and scanned by the engine with every
type on (scan_cases.c); the number of texts with a detection of each type
is printed: 11-digit order numbers with a leading 1 (NANP with its country
code, unless a "+" or a separator says so), EAN-13 barcodes with a valid
check digit under GS1 prefixes in Maestro's ranges (and Germany's, in
Visa's 13-digit range, for comparison), and build stamps of a yymmdd date
and four digits (a NANP number by its digits, not by its groups).

    python3 bench/redact/lookalike_random.py [--scanner BIN]
"""

import argparse
import random
import subprocess
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
from public_eval import build_scanner  # noqa: E402

N = 20000


def ean13(r, prefix):
    body = prefix + "".join(r.choice("0123456789")
                            for _ in range(12 - len(prefix)))
    s = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body))
    return body + str((10 - s % 10) % 10)


SHAPES = [
    ("order 1 and ten digits",
     lambda r: "order 1%010d shipped" % r.randint(0, 10 ** 10 - 1)),
    ("EAN-13, prefix 50",
     lambda r: "EAN %s" % ean13(r, "50")),
    ("EAN-13, prefixes 560-579, 630, 631",
     lambda r: "item %s" % ean13(r, r.choice(
         ["%d" % p for p in range(560, 580)] + ["630", "631"]))),
    ("EAN-13, prefixes 400-440",
     lambda r: "item %s" % ean13(r, str(r.randint(400, 440)))),
    # a yymmdd date and a serial: a NANP number by its digits (area code
    # 200-291 and an exchange of a valid month and day), not by its groups
    ("build YYMMDD-NNNN",
     lambda r: "build %02d%02d%02d-%04d ok" % (
         r.randint(20, 29), r.randint(1, 12), r.randint(1, 28),
         r.randint(0, 9999))),
    ("nightly YYMMDD NNNN",
     lambda r: "nightly %02d%02d%02d %04d ok" % (
         r.randint(20, 29), r.randint(1, 12), r.randint(1, 28),
         r.randint(0, 9999))),
]

TYPES = ["phone", "card", "national_id"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scanner")
    args = ap.parse_args()
    scanner = args.scanner or build_scanner()

    print("| shape | random numbers | " + " | ".join(TYPES) + " |")
    print("|---|---:|" + "---:|" * len(TYPES))

    for name, make in SHAPES:
        r = random.Random(17)
        texts = [make(r).encode() for _ in range(N)]
        data = b"".join(b"%d\n" % len(t) + t for t in texts)
        out = subprocess.run([scanner], input=data, check=True,
                             stdout=subprocess.PIPE).stdout.decode()
        lines = out.split("\n")[:N]
        counts = [sum(1 for ln in lines
                      if any(x.strip().endswith(" " + t)
                             for x in ln.split(";")))
                  for t in TYPES]
        print("| %s | %d | %s |" % (name, N,
                                    " | ".join(str(c) for c in counts)))


if __name__ == "__main__":
    main()
