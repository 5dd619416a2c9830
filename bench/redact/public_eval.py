#!/usr/bin/env python3
"""Recall and precision of the built-in types on the public labelled corpus.

The corpus (../shared/eval/pii/, see its PROVENANCE.md) is read where it is,
never copied here.  Each case goes through the engine (scan_cases.c, every
built-in type on); the scoring follows the corpus' labelling rules:

- a type is scored on the rows of that type only (labels are type-scoped);
- a labelled value is found when the detections of its type cover all its
  letters and digits (what redaction needs; a span one quote wider counts);
  a positive whose span is unknown (spans_known: false) is found when its
  type is detected anywhere in the text;
- a detection of the row's type in a negative row is a false positive,
  except in rows with negative_scope "kind" (near misses of one provider or
  scheme, on which a type-level detector may fire: counted apart) and
  "whole_string" (strict validation only: skipped);
- a detection in a positive row that overlaps no labelled value is a false
  positive, except for secrets (the corpus marks only what the rule under
  test reports: counted apart as uncertain);
- national_id (off by default in nginx, on here) is scored on its own
  rows, per scheme (kind); its negatives are all scheme-scoped (invalid
  for that scheme, reported apart), so its false positives are the
  national_id detections in the rows of every other type (phone numbers,
  cards, IBANs, ... are not national IDs) and those in positive rows that
  overlap no labelled value.

Split: a case belongs to the "fit" half when the first byte of
sha256(id) is even, to the "held" half otherwise.  Tuning looks at "fit";
the figures in docs/redaction.md are "held".

    python3 bench/redact/public_eval.py [--split held|fit|all]
        [--corpus DIR] [--scanner BIN] [-v TYPE] [--kinds TYPE]
"""

import argparse
import collections
import glob
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

TYPES = ["email", "phone", "card", "ssn", "iban", "ip", "secret",
         "national_id"]

# national_id kinds (python-stdnum modules, django-localflavor fields) of
# the schemes the engine validates
NID_COVERED = re.compile(
    r"^(cn\.ric|CNIDCardField|in\.aadhaar|INAadhaarNumberField|br\.cpf"
    r"|BRCPFField|es\.dni|es\.nie|ESIdentityCardNumberField"
    r"|it\.codicefiscale|mx\.curp|MXCURPField|fr\.nir"
    r"|FRNationalIdentificationNumber|tr\.tckimlik|cl\.rut|CLRutField"
    r"|gr\.amka|pl\.pesel|PLPESELField|no\.fodselsnummer|NOSocialSecurityNumber"
    r"|za\.idnr|ZAIDField|th\.pin|kr\.rrn|do\.cedula"
    r"|se\.personnummer|SEPersonalIdentityNumberField"
    # the second block (ngx_http_llm_pii_nid2_*)
    r"|mu\.nid|ch\.ssn|CHSocialSecurityNumberField|UAEEmiratesIDField"
    r"|be\.nn|ro\.cnp|ROCNPField"
    r"|fi\.hetu|FISocialSecurityNumber|is\.kennitala|ISIdNumberField"
    r"|bg\.egn|CZBirthNumberField|cz\.rc|EEPersonalIdentificationCode"
    r"|LTIDCodeField|lt\.asmens|pe\.cui|si\.emso|SIEMSOField|UMCNField"
    r"|HRJMBGField)$")
# the schemes of the second block taken only after a word that names them
NID_CONTEXT = re.compile(
    r"^(se\.personnummer|SEPersonalIdentityNumberField|fi\.hetu"
    r"|FISocialSecurityNumber|is\.kennitala|ISIdNumberField|bg\.egn"
    r"|CZBirthNumberField|cz\.rc|EEPersonalIdentificationCode|LTIDCodeField"
    r"|lt\.asmens|pe\.cui|si\.emso|SIEMSOField|UMCNField|HRJMBGField)$")

# secret kinds (gitleaks rule ids, trufflehog detectors) of the providers
# the engine has a rule for: a token prefix, a URL shape, a JWT, a key
# block, a connection URI with a password.  The other ~800 providers'
# tokens are random strings that no pattern can tell from any other.
COVERED = re.compile(
    r"^(1password|age-secret|alibaba|anthropic|atlassian-api|atlassian/v2"
    r"|aws-access-token|aws/access_keys|aws/session_keys|databricks"
    r"|digitalocean|discordwebhook|doppler|flyio|ftp$|gcp-api-key"
    r"|github/v|gitlab/v2|gitlab/v3|gitlaboauth2|grafana|groq"
    r"|hashicorp-tf-api|hashicorpvaultauth|vault-|huggingface|jdbc|jwt"
    r"|ldap|linearapi|mailchimp|mailgun|notion|npm|openai|planetscale"
    r"|postgres|postman|private-?key|pulumi|pypi|rabbitmq|razorpay|redis"
    r"|replicate|sendgrid|sendinbluev2|sentry|shopify|slack|snyk|sqlserver"
    r"|square$|square-|squareapp|stripe|telegrambottoken|twilio|uri$)")
# secret families (kinds of both sources), for the per-family table
FAMILIES = [
    ("JWTs", r"^jwt"),
    ("chat webhooks", r"^(slack-webhook-url|slackwebhook|discordwebhook)$"),
    ("GitLab tokens", r"^gitlab"),
    ("npm tokens", r"^npm"),
    ("Slack tokens", r"^slack-(?!webhook)"),
    ("URLs with a password", r"^(uri|jdbc|ldap|ftp|postgres|redis|rabbitmq"
     r"|sqlserver)$"),
    ("curl -u and Authorization headers", r"^curl-auth-"),
    ("Azure AD client secrets", r"^azure-ad-client-secret$"),
    ("trufflehog detectors without a rule (context)", None),
]
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def half(case_id):
    return "fit" if hashlib.sha256(case_id.encode()).digest()[0] % 2 == 0 \
        else "held"


def build_scanner():
    tmp = tempfile.mkdtemp()
    out = os.path.join(tmp, "scan_cases")
    subprocess.check_call([
        os.environ.get("CC", "cc"), "-O2", "-I",
        os.path.join(REPO, "ngx_llm_module", "engines"),
        os.path.join(HERE, "scan_cases.c"),
        os.path.join(REPO, "ngx_llm_module", "engines",
                     "ngx_http_llm_pii.c"),
        "-lhs", "-lcrypto", "-o", out])
    return out


def find_corpus():
    for d in (os.environ.get("PII_CORPUS"),
              os.path.join(REPO, "..", "shared", "eval", "pii"),
              "/work/shared/eval/pii"):
        if d and os.path.exists(os.path.join(d, "PROVENANCE.md")):
            return d
    sys.exit("the corpus is not found: set PII_CORPUS")


def byte_offsets(text):
    offs, o = [], 0
    for ch in text:
        offs.append(o)
        o += len(ch.encode("utf-8"))
    offs.append(o)
    return offs


def source_name(row):
    s = row["source"]
    if s.startswith("generated:"):
        return s
    repo, _, path = s.partition(":")
    return repo.split("@")[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="held", choices=["held", "fit", "all"])
    ap.add_argument("--corpus")
    ap.add_argument("--scanner")
    ap.add_argument("-v", dest="verbose", action="append", default=[],
                    help="print the misses and false positives of a type")
    ap.add_argument("--kinds", action="append", default=[],
                    help="recall per kind of a type")
    a = ap.parse_args()

    corpus = a.corpus or find_corpus()
    rows = []
    for f in sorted(glob.glob(os.path.join(corpus, "*.jsonl"))):
        for line in open(f, encoding="utf-8"):
            r = json.loads(line)
            if r["type"] not in TYPES:
                continue
            if (r.get("meta") or {}).get("negative_scope") == "whole_string":
                continue
            if a.split != "all" and half(r["id"]) != a.split:
                continue
            r["_file"] = os.path.basename(f)
            rows.append(r)

    scanner = a.scanner or build_scanner()
    data = bytearray()
    for r in rows:
        b = r["text"].encode("utf-8")
        data += b"%d\n" % len(b) + b
    p = subprocess.run([scanner], input=bytes(data), capture_output=True,
                       check=True)
    out = p.stdout.decode().split("\n")

    Z = lambda: collections.Counter()
    by_type = collections.defaultdict(Z)
    by_source = collections.defaultdict(Z)
    by_kind = collections.defaultdict(Z)
    by_nid_origin = collections.defaultdict(Z)
    by_cross = collections.Counter()

    # the kinds of the fit half: a held case of a provider the tuning
    # never saw (the context words and thresholds were chosen on "fit")
    fit_kinds = set()
    for f in sorted(glob.glob(os.path.join(corpus, "secrets_*.jsonl"))):
        for line in open(f, encoding="utf-8"):
            r = json.loads(line)
            if half(r["id"]) == "fit":
                fit_kinds.add(r["kind"])
    by_seen = collections.defaultdict(Z)
    by_family = collections.defaultdict(Z)

    for r, line in zip(rows, out):
        t = r["type"]
        text = r["text"]
        raw = text.encode("utf-8")
        dets = []
        for d in line.split(";") if line else []:
            s, e, dt = d.split(" ")
            if dt == t:
                dets.append((int(s), int(e)))
        offs = byte_offsets(text)
        src = (r["_file"], source_name(r))
        c = collections.Counter()
        show = t in a.verbose

        if r["label"] == "positive":
            gold = [(offs[g["start"]], offs[g["end"]])
                    for g in r["spans"] if g["type"] == t]
            if r.get("spans_known", True) is False or not gold:
                c["values"] += 1
                if dets:
                    c["found"] += 1
                elif show:
                    print("MISS(case)", r["kind"], repr(text[:300]))
            for gs, ge in gold:
                c["values"] += 1
                need = [i for i in range(gs, ge)
                        if raw[i:i + 1].isalnum() or raw[i] >= 0x80]
                cov = set()
                for s, e in dets:
                    if s < ge and e > gs:
                        cov.update(range(max(s, gs), min(e, ge)))
                if all(i in cov for i in need):
                    c["found"] += 1
                elif show:
                    print("MISS", r["kind"], repr(raw[gs:ge].decode()),
                          "got", [raw[s:e].decode("utf-8", "replace")
                                  for s, e in dets], "in", repr(text[:200]))
            for s, e in dets:
                if any(s < ge and e > gs for gs, ge in gold):
                    continue
                if t == "secret":
                    c["uncertain"] += 1
                else:
                    c["fp"] += 1
                    if show:
                        print("FP(pos)", r["kind"],
                              repr(raw[s:e].decode("utf-8", "replace")),
                              "in", repr(text[:200]))
        else:
            scope = (r.get("meta") or {}).get("negative_scope", "type")
            if scope == "kind":
                c["kneg"] += 1
                if dets:
                    c["kfired"] += 1
            else:
                c["neg"] += 1
                if dets:
                    c["negfired"] += 1
                    c["fp"] += len(dets)
                    if show:
                        print("FP", r["kind"],
                              [raw[s:e].decode("utf-8", "replace")
                               for s, e in dets], "in", repr(text[:200]))

        by_type[t].update(c)
        by_source[(t,) + src].update(c)
        by_kind[(t, r["kind"])].update(c)
        if t == "national_id" and NID_COVERED.match(r["kind"]):
            by_nid_origin[(bool(NID_CONTEXT.match(r["kind"])),
                           r["origin"])].update(c)
        if t == "secret":
            by_seen[r["kind"] in fit_kinds].update(c)
            for name, rx in FAMILIES:
                if rx is None:
                    if (r["_file"] == "secrets_trufflehog.jsonl"
                            and not COVERED.match(r["kind"])):
                        by_family[name].update(c)
                elif re.match(rx, r["kind"]):
                    by_family[name].update(c)
                    break

        if t != "national_id":
            # a national ID found in a row of another type is wrong
            x = sum(1 for d in (line.split(";") if line else [])
                    if d.split(" ")[2] == "national_id")
            if x:
                by_type["national_id"]["fp"] += x
                by_type["national_id"]["cross"] += x
                by_cross[t] += x
                if "national_id" in a.verbose:
                    print("FP(cross)", t, r["kind"], repr(text[:200]))

    def pr(c):
        tp = c["found"]
        prec = tp / (tp + c["fp"]) if tp + c["fp"] else 1.0
        rec = tp / c["values"] if c["values"] else 1.0
        return prec, rec

    print("split: %s (%d cases; %s)" % (a.split, len(rows), corpus))
    print()
    print("| type | values | found | missed | false positives | "
          "negatives kept clean | precision | recall |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    tot = collections.Counter()
    for t in TYPES:
        c = by_type[t]
        tot.update(c)
        prec, rec = pr(c)
        print("| %s | %d | %d | %d | %d | %d/%d | %.3f | %.3f |" % (
            t, c["values"], c["found"], c["values"] - c["found"], c["fp"],
            c["neg"] - c["negfired"], c["neg"], prec, rec))
    prec, rec = pr(tot)
    print("| **all** | %d | %d | %d | %d | %d/%d | %.3f | %.3f |" % (
        tot["values"], tot["found"], tot["values"] - tot["found"], tot["fp"],
        tot["neg"] - tot["negfired"], tot["neg"], prec, rec))
    print()
    c = collections.Counter()
    for (t, kind), v in by_kind.items():
        if t == "secret" and COVERED.match(kind):
            c.update(v)
    prec, rec = pr(c)
    print("secret, the providers the engine has a rule for (%d values): "
          "recall %.3f, precision %.3f." % (c["values"], rec, prec))
    print()
    k = by_type["secret"]
    print("secret: %d of %d provider near misses (negative_scope \"kind\") "
          "were redacted; %d detections in positive rows overlap no "
          "labelled value (uncertain)." % (k["kfired"], k["kneg"],
                                           k["uncertain"]))
    print()
    print("| secret family | values | recall | false positives |")
    print("|---|---:|---:|---:|")
    for name, rx in FAMILIES:
        c = by_family[name]
        prec, rec = pr(c)
        print("| %s | %d | %.3f | %d |" % (name, c["values"], rec, c["fp"]))
    print()
    for seen in (True, False):
        c = by_seen[seen]
        prec, rec = pr(c)
        print("secret, providers %s the fit half (%d values): recall %.3f, "
              "precision %.3f." % ("present in" if seen else "absent from",
                                   c["values"], rec, prec))
    print()
    print("| type | file | source | values | recall | negatives | "
          "false positives | precision |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for key in sorted(by_source):
        c = by_source[key]
        prec, rec = pr(c)
        print("| %s | %s | %s | %d | %s | %d | %d | %s |" % (
            key[0], key[1], key[2], c["values"],
            "%.3f" % rec if c["values"] else "-", c["neg"], c["fp"],
            "%.3f" % prec if c["found"] + c["fp"] else "-"))
    print()
    c = by_type["national_id"]
    print("national_id: %d detections in the %d rows of the other types "
          "(false positives: %s); %d of %d scheme-scoped invalid numbers "
          "were redacted." % (
              c["cross"], sum(by_type[t]["values"] + by_type[t]["neg"]
                              for t in TYPES if t != "national_id"),
              ", ".join("%s %d" % kv for kv in sorted(by_cross.items()))
              or "none", c["kfired"], c["kneg"]))
    c = collections.Counter()
    for (t, kind), v in by_kind.items():
        if t == "national_id" and NID_COVERED.match(kind):
            c.update(v)
    prec, rec = pr(c)
    print()
    print("national_id, the schemes the engine validates (%d values): "
          "recall %.3f; %d of %d of their invalid numbers redacted." % (
              c["values"], rec, c["kfired"], c["kneg"]))
    print()
    print("| national_id, validated schemes | verbatim values | recall | "
          "templated values | recall |")
    print("|---|---:|---:|---:|---:|")
    for ctx in (False, True):
        v = by_nid_origin[(ctx, "verbatim")]
        tm = by_nid_origin[(ctx, "templated")]
        print("| %s | %d | %.3f | %d | %.3f |" % (
            "taken only after a word that names them" if ctx
            else "taken without a word", v["values"], pr(v)[1],
            tm["values"], pr(tm)[1]))
    print()
    print("| national_id scheme | values | recall | invalid numbers | "
          "invalid redacted |")
    print("|---|---:|---:|---:|---:|")
    for key in sorted(by_kind, key=lambda k: (-by_kind[k]["values"], k)):
        c = by_kind[key]
        if key[0] != "national_id" or not NID_COVERED.match(key[1]):
            continue
        prec, rec = pr(c)
        print("| %s | %d | %s | %d | %d |" % (
            key[1], c["values"], "%.3f" % rec if c["values"] else "-",
            c["kneg"], c["kfired"]))
    for t in a.kinds:
        print()
        print("| %s kind | values | recall | false positives |" % t)
        print("|---|---:|---:|---:|")
        for key in sorted(by_kind, key=lambda k: (-by_kind[k]["values"], k)):
            c = by_kind[key]
            if key[0] != t or not (c["values"] or c["fp"]):
                continue
            prec, rec = pr(c)
            print("| %s | %d | %.3f | %d |" % (key[1], c["values"], rec,
                                                c["fp"]))


if __name__ == "__main__":
    main()
