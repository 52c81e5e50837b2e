#!/usr/bin/env python3
"""Runs ../pandas_pipeline.py on the hand-built cases and checks the hand-computed figures.

  python3 bench/cases/check.py          (from the repository root or anywhere)
"""
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPT = HERE.parent / "pandas_pipeline.py"

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


def main():
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, (args, neg, want, want_hist) in CASES.items():
            out = Path(tmp) / f"{name}.json"
            cmd = [sys.executable, str(SCRIPT), "--csv", str(HERE / f"{name}.csv"),
                   "--brands", str(HERE / "brands.toml"), "--out", str(out), "--bootstrap", "50"]
            if "--min-complaints" not in args:
                cmd += ["--min-complaints", "1"]
            subprocess.run(cmd + args, check=True, stderr=subprocess.DEVNULL)
            got = json.loads(out.read_text())
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
            print(f"{'ok  ' if not errs else 'FAIL'} {name}")
            for e in errs:
                print("     " + e)
            failures += bool(errs)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
