#!/usr/bin/env python3
"""Reference implementation of the replyrank scoring method v1 in plain pandas + numpy.

Serves two purposes:
  1. a side-by-side speed baseline for the Rust engine;
  2. an independent cross-check of the Rust numbers (everything except the bootstrap
     intervals, whose RNG differs, must match).

Usage:
  python3 bench/pandas_pipeline.py --csv FILE --brands BRANDS.toml --out OUT.json \
      [--as-of RFC3339] [--window-days 90] [--min-complaints 30] [--bootstrap 1000] [--seed 42]

Requires: pip install pandas   (pandas >= 2, numpy; Python >= 3.11 for tomllib)
"""

import argparse
import json
import sys
import time
import tomllib

import numpy as np
import pandas as pd

H1 = 3600
H24 = 86400
# `@handle` where `@` is at the start or preceded by a char not in [A-Za-z0-9_]
MENTION_RE = r"(?<![A-Za-z0-9_])@([A-Za-z0-9_]+)"
DATE_FMT = "%a %b %d %H:%M:%S %z %Y"
# Tolerance for the KM quantile tests S(t_j) <= 0.5 / 0.1, so that a survival value that is
# mathematically exactly 0.5 but lands at 0.5000000000000001 in floating point still counts.
QUANTILE_EPS = 1e-9
# Ancestor walks run vectorised for this many levels; deeper (or cyclic) chains finish in Python.
VECTOR_STEPS = 500


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------
# Inputs
# ----------------------------------------------------------------------------------------------

def load_brands(path):
    """Return (list of brand ids, {lowercase twitter handle: brand index})."""
    with open(path, "rb") as f:
        reg = tomllib.load(f)
    ids, accounts = [], {}
    for i, b in enumerate(reg.get("brand", [])):
        ids.append(str(b["id"]))
        for acc in (b.get("accounts") or {}).get("twitter", []) or []:
            handle = acc.get("handle", "") if isinstance(acc, dict) else acc  # { handle = ... }
            accounts.setdefault(str(handle).strip().lower(), i)  # first brand listing it wins
    return ids, accounts


def normalise_ids(s):
    """Strip blanks; ids written as floats ("3.0") become integers ("3")."""
    s = s.str.strip()
    dotted = s.str.contains(".", regex=False)
    if dotted.any():
        s = s.copy()
        s[dotted] = s[dotted].str.replace(r"^(\d+)\.0*$", r"\1", regex=True)
    return s


def read_posts(path):
    wanted = {"tweet_id", "author_id", "created_at", "text", "in_response_to_tweet_id"}
    # Only \n ends a record: a bare \r inside an unquoted text field is data.
    df = pd.read_csv(
        path,
        dtype=str,
        lineterminator="\n",
        keep_default_na=False,
        na_filter=False,
        encoding_errors="replace",
        usecols=lambda c: c.strip() in wanted,
    )
    crlf = any(c.endswith("\r") for c in df.columns)
    df.columns = [c.strip() for c in df.columns]
    missing = wanted - set(df.columns)
    if missing:
        sys.exit(f"error: CSV lacks columns {sorted(missing)}")
    if crlf:  # CRLF file: the \r of the line ending sticks to the last field of every record
        for c in df.columns:
            if df[c].str.endswith("\r").any():
                df[c] = df[c].str.removesuffix("\r")

    df["tweet_id"] = normalise_ids(df["tweet_id"])
    df["parent_id"] = normalise_ids(df.pop("in_response_to_tweet_id"))
    df["author"] = df.pop("author_id").str.strip().str.lower()
    dt = pd.to_datetime(df.pop("created_at").str.strip(), format=DATE_FMT, utc=True, errors="coerce")
    df["ts"] = (dt - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)

    bad = df["ts"].isna() | (df["tweet_id"] == "")
    if bad.any():
        log(f"warning: dropped {int(bad.sum())} rows with an empty id or unparseable created_at")
        df = df[~bad]
    dup = df["tweet_id"].duplicated()
    if dup.any():
        log(f"warning: dropped {int(dup.sum())} rows with a duplicate tweet_id (first kept)")
        df = df[~dup]
    df = df.reset_index(drop=True)
    df["ts"] = df["ts"].astype("int64")
    return df


def id_order(ids):
    """Rank of each id in the tie-break order: numeric ids numerically (first), then the rest
    lexicographically."""
    numeric = ids.str.fullmatch(r"\d+")
    stripped = ids.where(~numeric, ids.str.lstrip("0"))
    key = pd.DataFrame({
        "nonnum": ~numeric,
        "len": np.where(numeric, stripped.str.len(), 0),
        "s": stripped,
    })
    order = key.sort_values(["nonnum", "len", "s"], kind="stable").index.to_numpy()
    rank = np.empty(len(ids), dtype=np.int64)
    rank[order] = np.arange(len(ids))
    return rank


# ----------------------------------------------------------------------------------------------
# Pairing: complaints, their brand and their first reply
# ----------------------------------------------------------------------------------------------

def walk_ancestors(par, auth, brand, start):
    """For each customer post in `start`: is any ancestor by the same author (follow-up), and the
    brand of the nearest brand-authored ancestor (-1 if none).  The walk stops at a parent not in
    the data and at a cycle (the start post is never its own ancestor)."""
    n = len(par)
    followup = np.zeros(n, dtype=bool)
    nearest = np.full(n, -1, dtype=np.int64)
    s, cur = start, par[start]
    for _ in range(VECTOR_STEPS):
        ok = (cur >= 0) & (cur != s)
        s, cur = s[ok], cur[ok]
        if len(s) == 0:
            break
        same = auth[cur] == auth[s]
        followup[s[same]] = True
        b = brand[cur]
        setb = (b >= 0) & (nearest[s] < 0)
        nearest[s[setb]] = b[setb]
        s, cur = s[~same], par[cur[~same]]
    else:
        # deep chains or cycles: finish one by one (revisiting nodes cannot change the outcome)
        for s0, c in zip(s.tolist(), cur.tolist()):
            seen = {s0}
            while c >= 0 and c not in seen:
                seen.add(c)
                if auth[c] == auth[s0]:
                    followup[s0] = True
                    break
                if nearest[s0] < 0 and brand[c] >= 0:
                    nearest[s0] = brand[c]
                c = par[c]
    return followup, nearest


def run_tops(par, auth, brand):
    """Every brand post r whose parent q1 is a customer post answers the maximal run
    q1 <- q2 <- ... <- qm of posts by that same customer directly above it.  Only the top qm can
    be a complaint (the others are follow-ups of it), so return pairs (qm, r)."""
    r = np.flatnonzero(brand >= 0)
    q1 = par[r]
    ok = q1 >= 0
    r, q1 = r[ok], q1[ok]
    ok = brand[q1] < 0
    r, q1 = r[ok], q1[ok]
    top = q1.copy()
    idx = np.arange(len(r))
    cur = par[q1]
    for _ in range(VECTOR_STEPS):
        ok = (cur >= 0) & (cur != q1[idx]) & (cur != top[idx])
        idx, cur = idx[ok], cur[ok]
        ok = auth[cur] == auth[q1[idx]]
        idx, cur = idx[ok], cur[ok]
        if len(idx) == 0:
            break
        top[idx] = cur
        cur = par[cur]
    else:
        for i, c in zip(idx.tolist(), cur.tolist()):
            seen = {q1[i], top[i]}
            while c >= 0 and c not in seen and auth[c] == auth[q1[i]]:
                seen.add(c)
                top[i] = c
                c = par[c]
    return top, r


def pair(posts, accounts, as_of):
    n = len(posts)
    ids = posts["tweet_id"]
    ts = posts["ts"].to_numpy()
    par = pd.Index(ids).get_indexer(posts["parent_id"]).astype(np.int64)  # -1: not in the data
    auth = pd.factorize(posts["author"])[0].astype(np.int64)
    brand = posts["author"].map(accounts).fillna(-1).astype(np.int64).to_numpy()
    idr = id_order(ids)

    customer = np.flatnonzero(brand < 0)
    followup, nearest = walk_ancestors(par, auth, brand, customer)

    # brand replies reachable from a (potential) complaint through complainant-only chains
    top, r = run_tops(par, auth, brand)
    cand = pd.DataFrame({"post": top, "rbrand": brand[r], "rts": ts[r], "rid": idr[r]})
    cand = cand[~followup[cand["post"].to_numpy()]]
    cand = cand.sort_values(["post", "rts", "rid"], kind="stable")

    # mentions are only needed when there is no brand-authored ancestor
    is_cust = brand < 0
    need = is_cust & ~followup & (nearest < 0)
    m = posts["text"][need].str.extractall(MENTION_RE)
    m["b"] = m[0].str.lower().map(accounts)
    mention = m.dropna(subset=["b"]).groupby(level=0)["b"].first().astype(np.int64)
    mention_brand = np.full(n, -1, dtype=np.int64)
    mention_brand[mention.index.to_numpy(dtype=np.int64)] = mention.to_numpy()

    replied_brand = np.full(n, -1, dtype=np.int64)
    first_any = cand.drop_duplicates("post")
    replied_brand[first_any["post"].to_numpy()] = first_any["rbrand"].to_numpy()

    is_complaint = is_cust & ~followup & ((nearest >= 0) | (mention_brand >= 0) | (replied_brand >= 0))
    cbrand = np.where(nearest >= 0, nearest, np.where(mention_brand >= 0, mention_brand, replied_brand))

    c = pd.DataFrame({"post": np.flatnonzero(is_complaint)})
    c["brand"] = cbrand[c["post"].to_numpy()]
    c["ts"] = ts[c["post"].to_numpy()]
    # first reply: earliest post by the complaint's own brand (cand is sorted by time, then id)
    fr = cand.merge(c[["post", "brand"]], on="post")
    fr = fr[fr["rbrand"] == fr["brand"]].drop_duplicates("post")
    c = c.merge(fr[["post", "rts"]], on="post", how="left")
    c["event"] = c["rts"].notna()
    dt = c["rts"] - c["ts"]
    negative = int((dt < 0).sum())
    c["T"] = np.where(c["event"], dt.clip(lower=0), as_of - c["ts"]).astype(np.int64)
    stats = {
        "posts": n,
        "customer_posts": int(is_cust.sum()),
        "followups": int(followup.sum()),
        "complaints": len(c),
        "answered": int(c["event"].sum()),
    }
    return c[["post", "brand", "ts", "rts", "T", "event"]], negative, stats


# ----------------------------------------------------------------------------------------------
# Kaplan–Meier
# ----------------------------------------------------------------------------------------------

def km_table(df, keys):
    """Per group of `keys`: complaints, answered_1h, answered_24h, median_reply_s, p90_reply_s,
    score (product-limit estimator; at tied times events come before censorings)."""
    g = (df.groupby(keys + ["T"], sort=True)
           .agg(d=("event", "sum"), m=("event", "size"))
           .reset_index())
    grp = g.groupby(keys, sort=False)
    g["n"] = grp["m"].transform("sum") - grp["m"].cumsum() + g["m"]  # at risk: T >= t_j
    g["factor"] = 1.0 - g["d"] / g["n"]
    g["S"] = g.groupby(keys, sort=False)["factor"].cumprod()

    out = df.groupby(keys).agg(complaints=("T", "size"), maxT=("T", "max"))
    for t, name in ((H1, "answered_1h"), (H24, "answered_24h")):
        s_t = g[g["T"] <= t].groupby(keys)["S"].last().reindex(out.index).fillna(1.0)
        undefined = (s_t > 0) & (out["maxT"] < t)
        out[name] = (1.0 - s_t).mask(undefined)
    ev = g[g["d"] > 0]
    for q, name in ((0.5, "median_reply_s"), (0.1, "p90_reply_s")):
        out[name] = ev[ev["S"] <= q + QUANTILE_EPS].groupby(keys)["T"].min().reindex(out.index)
    out["score"] = 100.0 * (out["answered_1h"] + out["answered_24h"]) / 2.0
    return out.drop(columns="maxT")


def round1_key(score):
    """Score rounded to one decimal (half away from zero), as an integer number of tenths;
    undefined scores rank below everything."""
    score = np.asarray(score, dtype=float)
    return np.where(np.isnan(score), -np.inf, np.floor(score * 10.0 + 0.5))


def competition_rank(keys):
    """1 + number of brands with a strictly higher key (1,2,2,4)."""
    srt = np.sort(keys)
    return 1 + len(keys) - np.searchsorted(srt, keys, side="right")


def bootstrap_scores(T, event, B, rng, max_cells=20_000_000):
    """B resamples (with replacement, size n) of one brand's complaints; KM score of each."""
    n = len(T)
    tail = T > H24
    # classes of distinct (T, event) with T <= 24h, ordered by T then events first; one tail class
    cls_df = pd.DataFrame({"T": np.where(tail, H24 + 1, T), "ev": np.where(tail, False, event)})
    uniq = cls_df.drop_duplicates().sort_values(["T", "ev"], ascending=[True, False])
    cT, cev = uniq["T"].to_numpy(), uniq["ev"].to_numpy()
    cls = pd.MultiIndex.from_frame(uniq).get_indexer(pd.MultiIndex.from_frame(cls_df))
    K = len(uniq)
    e1 = np.flatnonzero(cev & (cT <= H1))
    e24 = np.flatnonzero(cev & (cT <= H24))
    ge24 = cT >= H24
    out = np.empty(B)
    chunk = max(1, max_cells // max(n, K))
    for lo in range(0, B, chunk):
        b = min(chunk, B - lo)
        draw = cls[rng.integers(0, n, size=(b, n))]
        W = np.bincount((draw + (np.arange(b) * K)[:, None]).ravel(), minlength=b * K).reshape(b, K)
        N = np.cumsum(W[:, ::-1], axis=1)[:, ::-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            F = np.where(N > 0, 1.0 - W / N, 1.0)
        S1 = F[:, e1].prod(axis=1)
        S24 = F[:, e24].prod(axis=1)
        a24 = np.where((S24 > 0) & (W[:, ge24].sum(axis=1) == 0), np.nan, 1.0 - S24)
        out[lo:lo + b] = 100.0 * ((1.0 - S1) + a24) / 2.0
    return out


# ----------------------------------------------------------------------------------------------

def iso(ts):
    return pd.Timestamp(int(ts), unit="s", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def num(x, integer=False):
    if x is None or pd.isna(x):
        return None
    return int(x) if integer else float(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--csv", required=True)
    ap.add_argument("--brands", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--as-of", dest="as_of")
    ap.add_argument("--window-days", type=int, default=90)
    ap.add_argument("--min-complaints", type=int, default=30)
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()

    t0 = time.perf_counter()
    brand_ids, accounts = load_brands(a.brands)
    posts = read_posts(a.csv)
    if a.as_of:
        as_of = int(np.floor(pd.Timestamp(a.as_of).tz_convert("UTC").timestamp()))
    elif posts.empty:
        sys.exit(f"error: {a.csv} has no row with an id and a parseable created_at")
    else:
        as_of = int(posts["ts"].max())
    posts = posts[posts["ts"] <= as_of].reset_index(drop=True)  # later posts are ignored entirely
    t_read = time.perf_counter() - t0
    log(f"read   {t_read:8.2f} s  {len(posts)} posts up to {iso(as_of)}")

    t1 = time.perf_counter()
    comp, negative, stats = pair(posts, accounts, as_of)
    del posts
    t_pair = time.perf_counter() - t1
    log(f"pair   {t_pair:8.2f} s  {stats}; negative reply times {negative}")

    t2 = time.perf_counter()
    win = comp[comp["ts"] >= as_of - a.window_days * 86400]
    present = np.sort(comp["brand"].unique())
    table = km_table(win, ["brand"]).reindex(present)
    table["complaints"] = table["complaints"].fillna(0).astype(np.int64)
    table["eligible"] = (table["complaints"] >= a.min_complaints) & table["score"].notna()
    elig = table.index[table["eligible"]].to_numpy()
    table["rank"] = pd.Series(dtype="float64")
    if len(elig):
        table.loc[elig, "rank"] = competition_rank(round1_key(table.loc[elig, "score"]))
    table["bid"] = [brand_ids[i] for i in table.index]
    ranked = table[table["eligible"]].sort_values(["rank", "bid"])
    unranked = table[~table["eligible"]].sort_values(["complaints", "bid"], ascending=[False, True])
    order = list(ranked.index) + list(unranked.index)
    elig = ranked.index.to_numpy()  # bootstrap in rank order

    score_ci, rank_iv = {}, {}
    if a.bootstrap > 0 and len(elig):
        rng = np.random.default_rng(a.seed)
        boot = np.column_stack([
            bootstrap_scores(g["T"].to_numpy(), g["event"].to_numpy(), a.bootstrap, rng)
            for g in (win[win["brand"] == b] for b in elig)
        ])
        ranks = np.vstack([competition_rank(row) for row in round1_key(boot)])
        for j, b in enumerate(elig):
            sc = boot[:, j][~np.isnan(boot[:, j])]
            if len(sc):
                score_ci[b] = [float(x) for x in np.percentile(sc, [2.5, 97.5])]
            rank_iv[b] = [int(x) for x in np.percentile(ranks[:, j], [2.5, 97.5], method="inverted_cdf")]

    hist = comp.assign(month=pd.to_datetime(comp["ts"], unit="s", utc=True).dt.strftime("%Y-%m"))
    htab = km_table(hist, ["brand", "month"])
    t_score = time.perf_counter() - t2
    log(f"score  {t_score:8.2f} s  {len(present)} brands with complaints, {len(elig)} eligible, "
        f"{len(win)} window complaints, bootstrap {a.bootstrap}")

    brands_out, history = [], {}
    for b in order:
        r = table.loc[b]
        brands_out.append({
            "id": brand_ids[b],
            "complaints": int(r["complaints"]),
            "answered_1h": num(r["answered_1h"]),
            "answered_24h": num(r["answered_24h"]),
            "median_reply_s": num(r["median_reply_s"], True),
            "p90_reply_s": num(r["p90_reply_s"], True),
            "score": num(r["score"]),
            "score_ci": score_ci.get(b),
            "rank": num(r["rank"], True),
            "rank_interval": rank_iv.get(b),
            "eligible": bool(r["eligible"]),
        })
        history[brand_ids[b]] = [
            {
                "month": month,
                "complaints": int(h["complaints"]),
                "answered_1h": num(h["answered_1h"]),
                "answered_24h": num(h["answered_24h"]),
                "median_reply_s": num(h["median_reply_s"], True),
                "score": num(h["score"]),
            }
            for month, h in htab.loc[b].sort_index().iterrows()
        ]
    total = time.perf_counter() - t0
    result = {
        "as_of": iso(as_of),
        "window_days": a.window_days,
        "brands": brands_out,
        "history": history,
        "negative_reply_times": negative,
        "timings": {"read": t_read, "pair": t_pair, "score": t_score, "total": total},
    }
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    log(f"total  {total:8.2f} s  -> {a.out}")


if __name__ == "__main__":
    main()
