#!/usr/bin/env python3
"""Runs ../pandas_pipeline.py and ../duckdb_pipeline.py on the hand-built cases, checks the
hand-computed figures, and checks that both scripts agree on every deterministic figure
(everything but the bootstrap's score_ci and rank_interval, and the timings).

  python3 bench/cases/check.py [pandas] [duckdb]        (default: both)
  python3 bench/cases/check.py --csv FILE --brands BRANDS.toml [--args "SCRIPT OPTIONS"]
      runs both scripts on one file (a generated corpus, the TWCS archive) and compares them
"""
import argparse
import json
import math
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = {"pandas": HERE.parent / "pandas_pipeline.py", "duckdb": HERE.parent / "duckdb_pipeline.py"}
# the fields that come from the bootstrap (its RNG differs between implementations)
RANDOM = {"score_ci", "rank_interval"}

# case -> (extra args, negative_reply_times, {brand: expected fields}, {brand: [history rows]})
CASES = {
    # 1 <- 2 <- 3 by c1 (follow-ups); AlphaHelp answers 3 at +1800 s before AlphaCare answers 1
    # at +1900 s -> first reply 1800 s.  7 is a new root by c1 (a complaint), censored at exactly 24 h.
    "followup": ([], 0, {"alpha": dict(complaints=2, answered_1h=0.5, answered_24h=0.5,
                                        median_reply_s=1800, p90_reply_s=None, score=50.0, rank=1)}, {}),
    # 11 answers brand post 10 -> complaint (alpha); 12 is c3's "same here" under 11 mentioning
    # @BetaSupport -> still alpha (nearest brand-authored ancestor), Beta's reply does not count,
    # Alpha answers after 4800 s; 17 (c4) censored; 16 and 18 are c2's follow-ups.
    "same_here": ([], 0, {"alpha": dict(complaints=3, answered_1h=0.0, answered_24h=None,
                                         median_reply_s=4800, p90_reply_s=None, score=None,
                                         rank=None, eligible=False)}, {}),
    # reply stamped 600 s before the complaint -> 0 s and counted; a 0 s reply is not negative
    "negative": ([], 1, {"beta": dict(complaints=2, answered_1h=1.0, answered_24h=1.0,
                                       median_reply_s=0, p90_reply_s=0, score=100.0, rank=1)}, {}),
    # 30 mentions Beta first -> beta, Alpha's earlier reply ignored (7200 s); 33 has no mention,
    # Alpha (id 100) and Beta (id 99) answer at the same second -> 99 wins numerically -> beta;
    # 39 answers a Beta post and mentions Alpha -> beta, censored; "me@AlphaCare" is no mention.
    "two_brands": ([], 0, {"alpha": dict(complaints=1, median_reply_s=100, score=100.0, rank=1),
                           "beta": dict(complaints=4, answered_1h=0.5, answered_24h=1.0,
                                        median_reply_s=300, p90_reply_s=7200, score=75.0, rank=2)}, {}),
    # index column, CRLF, TRUE/FALSE, "70.0" ids, bare \r, quoted newline, a 2-cycle, a self-parent
    "format": ([], 0, {"alpha": dict(complaints=2, median_reply_s=60, p90_reply_s=120, rank=1),
                       "beta": dict(complaints=1, median_reply_s=5, rank=1)}, {}),
    # KM by hand: T = 600e, 3600e, 3600c, 7200e, 172800c (reply after as_of ignored) ->
    # S(600)=.8, S(3600)=.6, S(7200)=.3; old complaint outside the 30-day window only in history.
    "censored": (["--as-of", "2017-10-10T00:00:00Z", "--window-days", "30", "--min-complaints", "3"], 0,
                 {"alpha": dict(complaints=5, answered_1h=0.4, answered_24h=0.7, median_reply_s=7200,
                                p90_reply_s=None, score=55.0, rank=1),
                  "beta": dict(complaints=1, answered_1h=0.0, answered_24h=None, score=None,
                               eligible=False)},
                 {"alpha": [dict(month="2017-08", complaints=1, score=100.0, median_reply_s=60),
                            dict(month="2017-09", complaints=2, score=100.0, median_reply_s=600),
                            dict(month="2017-10", complaints=3, answered_1h=0.0, answered_24h=0.5,
                                 median_reply_s=7200, score=25.0)]}),
}


def same(a, b):
    if isinstance(b, float) and a is not None:
        return math.isclose(a, b, abs_tol=1e-9)
    return a == b


def run(script, csv, brands, out, args, refuse_ok=False):
    """The script's output; None when it refuses the file with an `error:` line and
    `refuse_ok` (a file without one usable row)."""
    cmd = [sys.executable, str(SCRIPTS[script]), "--csv", str(csv), "--brands", str(brands),
           "--out", str(out)] + args
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        if refuse_ok and r.stderr.splitlines()[-1:] and r.stderr.splitlines()[-1].startswith("error:"):
            return None
        sys.exit(f"{script} failed on {csv}:\n{r.stderr}")
    return json.loads(Path(out).read_text())


def differences(a, b, names=("pandas", "duckdb")):
    """Every deterministic figure on which two outputs differ (floats to 1e-9)."""
    errs = []
    for k in ("as_of", "window_days", "negative_reply_times"):
        if a.get(k) != b.get(k):
            errs.append(f"{k}: {names[0]} {a.get(k)!r} vs {names[1]} {b.get(k)!r}")
    la, lb = [x["id"] for x in a["brands"]], [x["id"] for x in b["brands"]]
    if la != lb:
        errs.append(f"brand order: {names[0]} {la[:12]}... vs {names[1]} {lb[:12]}...")
    bb = {x["id"]: x for x in b["brands"]}
    for x in a["brands"]:
        y = bb.get(x["id"])
        for k in (x.keys() - RANDOM) if y else ():
            if not same(x[k], y.get(k)):
                errs.append(f"{x['id']}.{k}: {names[0]} {x[k]!r} vs {names[1]} {y.get(k)!r}")
    if a["history"].keys() != b["history"].keys():
        errs.append(f"history brands differ: {sorted(a['history'].keys() ^ b['history'].keys())}")
    for bid, rows in a["history"].items():
        other = b["history"].get(bid, [])
        if len(rows) != len(other):
            errs.append(f"history {bid}: {len(rows)} vs {len(other)} months")
            continue
        for h, g in zip(rows, other):
            for k in h:
                if not same(h[k], g.get(k)):
                    errs.append(f"history {bid} {h['month']}.{k}: {names[0]} {h[k]!r} vs "
                                f"{names[1]} {g.get(k)!r}")
    return errs


def compare_file(csv, brands, extra, quiet=False):
    with tempfile.TemporaryDirectory() as tmp:
        outs = [run(s, csv, brands, Path(tmp) / f"{s}.json", extra, refuse_ok=True)
                for s in SCRIPTS]
    if outs[0] is None or outs[1] is None:
        both = outs[0] is None and outs[1] is None
        if not (quiet and both):
            print(f"{'ok  ' if both else 'FAIL'} {csv}: refused by "
                  f"{' and '.join(s for s, o in zip(SCRIPTS, outs) if o is None)}")
        return both
    errs = differences(*outs)
    n = len(outs[0]["brands"])
    months = sum(len(v) for v in outs[0]["history"].values())
    if quiet and not errs:
        return True
    print(f"{'ok  ' if not errs else 'FAIL'} {csv}: {n} brands, {months} brand-months, "
          f"{len(errs)} differences")
    for e in errs[:40]:
        print("     " + e)
    return not errs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scripts", nargs="*", help="pandas, duckdb (default: both)")
    ap.add_argument("--csv", help="compare both scripts on this file instead of the cases")
    ap.add_argument("--brands")
    ap.add_argument("--args", default="", help="options for both scripts, e.g. \"--bootstrap 0\"")
    a = ap.parse_args()
    if a.csv:
        if not a.brands:
            sys.exit("--csv needs --brands")
        sys.exit(0 if compare_file(a.csv, a.brands, shlex.split(a.args)) else 1)
    unknown = set(a.scripts) - set(SCRIPTS)
    if unknown:
        sys.exit(f"unknown script {sorted(unknown)}: expected {' or '.join(SCRIPTS)}")
    scripts = a.scripts or list(SCRIPTS)
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, (args, neg, want, want_hist) in CASES.items():
            outs = {}
            for script in scripts:
                cmd_args = ["--bootstrap", "50"] + args
                if "--min-complaints" not in args:
                    cmd_args += ["--min-complaints", "1"]
                got = outs[script] = run(script, HERE / f"{name}.csv", HERE / "brands.toml",
                                         Path(tmp) / f"{name}.{script}.json", cmd_args)
                errs = check_case(got, neg, want, want_hist)
                print(f"{'ok  ' if not errs else 'FAIL'} {script:6} {name}")
                for e in errs:
                    print("     " + e)
                failures += bool(errs)
            if len(outs) == 2:
                errs = differences(*outs.values())
                print(f"{'ok  ' if not errs else 'FAIL'} same   {name}")
                for e in errs:
                    print("     " + e)
                failures += bool(errs)
    sys.exit(1 if failures else 0)


def check_case(got, neg, want, want_hist):
    brands = {b["id"]: b for b in got["brands"]}
    errs = []
    if got["negative_reply_times"] != neg:
        errs.append(f"negative_reply_times {got['negative_reply_times']} != {neg}")
    if set(brands) != set(want):
        errs.append(f"brands {sorted(brands)} != {sorted(want)}")
    for bid, fields in want.items():
        for k, v in fields.items():
            if bid in brands and not same(brands[bid][k], v):
                errs.append(f"{bid}.{k} = {brands[bid][k]!r}, expected {v!r}")
    for bid, rows in want_hist.items():
        hist = got["history"].get(bid, [])
        if len(hist) != len(rows):
            errs.append(f"history {bid}: {len(hist)} months, expected {len(rows)}")
        for h, r in zip(hist, rows):
            for k, v in r.items():
                if not same(h[k], v):
                    errs.append(f"history {bid} {r['month']}.{k} = {h[k]!r}, expected {v!r}")
    return errs


if __name__ == "__main__":
    main()
