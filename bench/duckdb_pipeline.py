#!/usr/bin/env python3
"""The replyrank scoring method v1 in DuckDB SQL: the baseline a data team would write.

Same inputs, options and output JSON as pandas_pipeline.py (read that first: it defines the
method step by step); the benchmark `cargo bench --bench pipeline -- --duckdb` checks both
against replyrank's leaderboard. Everything deterministic is SQL run by DuckDB on all cores:
a parallel `read_csv` with explicit column types, recursive CTEs for the two thread walks,
Kaplan–Meier with window functions, competition ranking, monthly history. Only the bootstrap
intervals (`score_ci`, `rank_interval`, not compared: their RNG differs) are numpy.

Usage:
  python3 bench/duckdb_pipeline.py --csv FILE --brands BRANDS.toml --out OUT.json \
      [--as-of RFC3339] [--window-days 90] [--min-complaints 30] [--bootstrap 1000] [--seed 42] \
      [--threads N] [--profile]

Requires: pip install duckdb numpy   (Python >= 3.11 for tomllib)
"""

import argparse
import codecs
import contextlib
import csv
import datetime as dt
import json
import os
import re
import sys
import tempfile
import time
import tomllib

import duckdb
import numpy as np

H1 = 3600
H24 = 86400
# Tolerance of the KM quantile tests S(t_j) <= 0.5 / 0.1 (as in pandas_pipeline.py and replyrank).
QUANTILE_EPS = 1e-9
DATE_FMT = "%a %b %d %H:%M:%S %z %Y"
# Python's str.strip() removes every Unicode whitespace character; DuckDB's trim() only spaces.
WHITESPACE = "".join(c for c in map(chr, range(0x110000)) if c.isspace())
WANTED = ("tweet_id", "author_id", "created_at", "text", "in_response_to_tweet_id")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def die(msg):
    sys.exit(f"error: {msg}")


# ----------------------------------------------------------------------------------------------
# Inputs
# ----------------------------------------------------------------------------------------------

def load_brands(path):
    """Return (brand ids, [(lowercase twitter handle, brand index)]); the first brand listing a
    handle wins. An account is a bare handle or a table with `handle` (data/brands.toml)."""
    with open(path, "rb") as f:
        reg = tomllib.load(f)
    ids, accounts = [], {}
    for i, b in enumerate(reg.get("brand", [])):
        ids.append(str(b["id"]))
        for acc in (b.get("accounts") or {}).get("twitter", []) or []:
            handle = acc.get("handle", "") if isinstance(acc, dict) else acc
            accounts.setdefault(str(handle).strip().lower(), i)
    return ids, sorted(accounts.items(), key=lambda kv: kv[1])


def header_columns(path):
    """The CSV's column names (stripped; a CRLF header's \\r too) from its first record."""
    with open(path, "rb") as f:
        first = f.readline()
    if not first:
        die(f"{path}: empty file, expected a header line with {', '.join(WANTED)}")
    names = next(csv.reader([first.decode("utf-8", "replace").rstrip("\n")]))
    names = [n.strip() for n in names]
    missing = [w for w in WANTED if w not in names]
    if missing:
        die(f"{path}:1: the header lacks columns {missing} (it has {names})")
    return names


def mention_regex(handles):
    """An RE2 pattern whose group 1 is the first `@handle` mention of a registered handle.
    pandas_pipeline.py finds every `(?<![A-Za-z0-9_])@([A-Za-z0-9_]+)` and keeps the first that is
    a handle; RE2 has no look-behind, so the preceding character is matched instead, and the
    handle must end the token. Letters as [aA] classes: ASCII case only, like Python's lower()
    of an ASCII token (RE2's (?i) would also fold the Kelvin sign into k)."""
    words = sorted(h for h in handles if re.fullmatch(r"[a-z0-9_]+", h))
    if not words:
        return None
    alt = "|".join("".join(f"[{c}{c.upper()}]" if c.isalpha() else c for c in w) for w in words)
    return f"(?:^|[^A-Za-z0-9_])@({alt})(?:[^A-Za-z0-9_]|$)"


def sanitised_copy(path, tmpdir):
    """A copy of the CSV that DuckDB's reader accepts: invalid UTF-8 replaced by U+FFFD (pandas'
    encoding_errors="replace") and each bare \\r (not followed by \\n) by a space. DuckDB ends a
    record at a bare \\r even with new_line='\\n'; the TWCS archive has them inside unquoted
    texts, where pandas (lineterminator="\\n") keeps them as data. Both are non-word characters
    and blanks, so mentions, ids and authors come out the same."""
    out = os.path.join(tmpdir, "sanitised.csv")
    dec = codecs.getincrementaldecoder("utf-8")("replace")
    bare_cr = re.compile("\r(?!\n)")
    held = ""
    with open(path, "rb") as src, open(out, "w", encoding="utf-8", newline="") as dst:
        while True:
            chunk = src.read(1 << 24)
            text = held + dec.decode(chunk, final=not chunk)
            # a \r at the end of a chunk waits for the next one to see whether \n follows
            held = "\r" if chunk and text.endswith("\r") else ""
            if held:
                text = text[:-1]
            dst.write(bare_cr.sub(" ", text))
            if not chunk:
                break
    return out


# ----------------------------------------------------------------------------------------------
# SQL
# ----------------------------------------------------------------------------------------------

class Db:
    """A DuckDB connection that times each step (`run`) for the profile in the output JSON:
    {label: [wall s, CPU s of all threads]}."""

    def __init__(self, con):
        self.con = con
        self.steps = {}

    def run(self, label, sql, params=None):
        with self.timed(label):
            return self.con.execute(sql, params or {})

    @contextlib.contextmanager
    def timed(self, label):
        t, c = time.perf_counter(), time.process_time()
        yield
        w, u = self.steps.get(label, (0.0, 0.0))
        self.steps[label] = (w + time.perf_counter() - t, u + time.process_time() - c)

    def one(self, sql, params=None):
        return self.con.execute(sql, params or {}).fetchone()


def lit(s):
    """A SQL string literal (constants are inlined: a prepared parameter is not folded, and
    trim() with a parameter as its character set is four times slower)."""
    return "'" + s.replace("'", "''") + "'"


def strip(c):
    """Python's str.strip(): trim() with every Unicode blank is slow, so only where the first
    or the last character is not printable ASCII."""
    return (f"CASE WHEN ascii({c}) BETWEEN 33 AND 126 AND ascii(substr({c}, length({c}))) "
            f"BETWEEN 33 AND 126 THEN {c} ELSE trim({c}, {lit(WHITESPACE)}) END")


def norm_id(s):
    """An id written as a float ("3.0") is the integer ("3")."""
    return (f"CASE WHEN contains({s}, '.') THEN regexp_replace({s}, '^(\\p{{Nd}}+)\\.0*$', '\\1') "
            f"ELSE {s} END")


def read_posts(db, path, names, handles):
    """raw: one row per CSV record, in file order (rowid), with normalised columns and, for
    customer posts, the first registered handle mentioned in the text (the text itself is not
    kept)."""
    cols = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(names))) + "}"
    col = {w: f"c{names.index(w)}" for w in WANTED}  # the first column of each wanted name
    pattern = mention_regex(handles)
    if pattern and handles:
        mention = (f"CASE WHEN author IN ({', '.join(map(lit, handles))}) THEN NULL "
                   f"ELSE lower(nullif(regexp_extract(text, {lit(pattern)}, 1), '')) END")
    else:
        mention = "NULL::VARCHAR"
    db.run("read CSV", f"""
        CREATE OR REPLACE TEMP TABLE raw AS
        SELECT {norm_id('tid')} AS id, coalesce({norm_id('par')}, '') AS par, author,
               CAST(floor(epoch_us(try_strptime(created, {lit(DATE_FMT)})) / 1e6) AS BIGINT) AS ts,
               {mention} AS mh
        FROM (
            SELECT {strip(col['tweet_id'])} AS tid, {strip(col['in_response_to_tweet_id'])} AS par,
                   lower({strip(col['author_id'])}) AS author, {strip(col['created_at'])} AS created,
                   {col['text']} AS text
            FROM read_csv({lit(path)}, columns = {cols}, header = true, auto_detect = false,
                          delim = ',', quote = '"', escape = '"', parallel = true)
        )
    """)


def build_posts(db, as_of_arg):
    """posts: the rows kept (a parseable time, an id, first of each id, not after as_of) with
    their brand and their parent's index, author and brand (a self-parent is no parent)."""
    ok = "r.ts IS NOT NULL AND coalesce(r.id, '') <> ''"
    db.run("duplicate ids", f"""
        CREATE OR REPLACE TEMP TABLE dup AS
        SELECT id, min(rowid) AS first, count(*) - 1 AS extra FROM raw r WHERE {ok}
        GROUP BY id HAVING count(*) > 1
    """)
    bad, = db.one(f"SELECT count(*) FROM raw r WHERE NOT ({ok})")
    if bad:
        log(f"warning: dropped {bad} rows with an empty id or unparseable created_at")
    extra, = db.one("SELECT coalesce(sum(extra), 0) FROM dup")
    if extra:
        log(f"warning: dropped {extra} rows with a duplicate tweet_id (first kept)")
    kept = f"""raw r LEFT JOIN dup d ON d.id = r.id
               WHERE {ok} AND (d.first IS NULL OR r.rowid = d.first)"""
    if as_of_arg is not None:
        as_of = as_of_arg
    else:
        as_of, = db.one(f"SELECT max(r.ts) FROM {kept}")
        if as_of is None:
            die("the CSV has no row with an id and a parseable created_at")
    db.run("posts and parents (join on id)", f"""
        CREATE OR REPLACE TEMP TABLE posts AS
        WITH k AS (
            SELECT r.rowid AS idx, r.id, r.par, r.author, r.ts, r.mh, a.b AS brand
            FROM {kept.replace("WHERE", "LEFT JOIN accounts a ON a.handle = r.author WHERE")}
              AND r.ts <= {as_of}
        )
        SELECT c.idx, CASE WHEN c.brand IS NOT NULL THEN c.id END AS id, c.author, c.brand,
               c.ts, c.mh, p.idx AS pidx, p.author AS pauth, p.brand AS pbrand,
               -- the parent when it is by the same author: the complainant-only chain upwards
               CASE WHEN p.author = c.author THEN p.idx END AS up
        FROM k c LEFT JOIN k p ON p.id = c.par AND p.idx <> c.idx
    """)
    db.run("drop", "DROP TABLE raw")
    return as_of


def pair(db, as_of):
    """complaints(post, brand, ts, rts, T, event): complaint detection, brand attribution and
    first reply, as pair() in pandas_pipeline.py."""
    # Walk 1, from every customer post up its ancestors: a follow-up if one is by the same
    # author (the walk stops there); else the brand of the nearest brand-authored ancestor.
    # Rows are (start, current ancestor, brand found so far): UNION drops a row already seen,
    # which ends the walk on a cycle (the brand found so far changes at most once).
    db.run("walk 1: follow-ups, nearest brand ancestor", """
        CREATE OR REPLACE TEMP TABLE anc AS
        WITH RECURSIVE w(s, sa, cur, ca, nb) AS (
            SELECT idx, author, pidx, pauth, pbrand FROM posts
            WHERE brand IS NULL AND pidx IS NOT NULL
          UNION
            SELECT w.s, w.sa, c.pidx, c.pauth, coalesce(w.nb, c.pbrand)
            FROM w JOIN posts c ON c.idx = w.cur
            WHERE w.ca <> w.sa AND c.pidx IS NOT NULL AND c.pidx <> w.s
        )
        SELECT s, bool_or(ca = sa) AS followup, max(nb) AS nearest FROM w GROUP BY s
    """)
    # Walk 2: a brand post answers the top of the run of same-customer posts above it (only
    # the top can be a complaint). For a customer post q1 answered by a brand whose parent is
    # by the same customer (`up`, rare), top(q1) is where the `up` chain stops; a chain caught
    # in a cycle has no top (all its posts are follow-ups anyway). Any other q1 is its own top.
    db.run("walk 2: runs of one customer", """
        CREATE OR REPLACE TEMP TABLE climbing AS
        SELECT DISTINCT q.idx AS x, q.up FROM posts r JOIN posts q ON q.idx = r.pidx
        WHERE r.brand IS NOT NULL AND r.pbrand IS NULL AND q.up IS NOT NULL
    """)
    db.run("walk 2: runs of one customer", """
        CREATE OR REPLACE TEMP TABLE tops AS
        WITH RECURSIVE t(x, cur) AS (
            SELECT x, up FROM climbing
          UNION
            SELECT t.x, c.up FROM t JOIN posts c ON c.idx = t.cur WHERE c.up IS NOT NULL
        )
        SELECT t.x, t.cur AS top FROM t JOIN posts c ON c.idx = t.cur WHERE c.up IS NULL
    """)
    # Candidate replies: brand post r under customer post q1, credited to top(q1) unless that
    # is a follow-up; the first of them (time, then tweet id: numeric ids numerically first,
    # then the others as strings, then file order) tells the brand of an unattributed complaint.
    db.run("candidate replies", r"""
        CREATE OR REPLACE TEMP TABLE cand AS
        WITH r AS (
            SELECT r.*, CASE WHEN c.x IS NULL THEN r.pidx ELSE t.top END AS top,
                   regexp_full_match(r.id, '\p{Nd}+') AS numeric
            FROM posts r LEFT JOIN climbing c ON c.x = r.pidx LEFT JOIN tops t ON t.x = r.pidx
            WHERE r.brand IS NOT NULL AND r.pidx IS NOT NULL AND r.pbrand IS NULL
        )
        SELECT r.top AS post, r.brand AS rbrand, r.ts AS rts,
               {'ts': r.ts, 'nonnum': NOT numeric,
                'len': CASE WHEN numeric THEN length(ltrim(r.id, '0')) ELSE 0 END,
                's': CASE WHEN numeric THEN ltrim(r.id, '0') ELSE r.id END,
                'idx': r.idx} AS key
        FROM r LEFT JOIN anc a ON a.s = r.top
        WHERE r.top IS NOT NULL AND NOT coalesce(a.followup, false)
    """)
    db.run("complaints and first replies", """
        CREATE OR REPLACE TEMP TABLE complaints AS
        WITH first_any AS (SELECT post, arg_min(rbrand, key) AS replied FROM cand GROUP BY post),
        c AS (
            SELECT p.idx AS post, p.ts,
                   coalesce(a.nearest, m.b, f.replied) AS brand
            FROM posts p
            LEFT JOIN anc a ON a.s = p.idx
            LEFT JOIN accounts m ON m.handle = p.mh
            LEFT JOIN first_any f ON f.post = p.idx
            WHERE p.brand IS NULL AND NOT coalesce(a.followup, false)
              AND coalesce(a.nearest, m.b, f.replied) IS NOT NULL
        ),
        fr AS (SELECT c.post, min(cand.rts) AS rts FROM c JOIN cand ON cand.post = c.post
               AND cand.rbrand = c.brand GROUP BY c.post)
        SELECT c.post, c.brand, c.ts, fr.rts, fr.rts IS NOT NULL AS event,
               CASE WHEN fr.rts IS NOT NULL THEN greatest(fr.rts - c.ts, 0) ELSE $as_of - c.ts END AS T
        FROM c LEFT JOIN fr USING (post)
    """, {"as_of": as_of})
    stats = db.con.execute("""
        SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM posts WHERE brand IS NULL),
               (SELECT count(*) FROM anc WHERE followup), count(*), count(*) FILTER (WHERE event),
               count(*) FILTER (WHERE rts < ts)
        FROM complaints
    """).fetchone()
    keys = ("posts", "customer_posts", "followups", "complaints", "answered")
    return dict(zip(keys, stats[:5])), stats[5]


def km_sql(src, keys):
    """Per group of `keys`: complaints, answered_1h, answered_24h, median_reply_s, p90_reply_s,
    score. Product-limit estimator, events before censorings at tied times: the number at risk
    is a running sum over T descending, S(t) a running product; S at 1 h and 24 h (which the
    score and so the rank depend on) is folded left to right with list_reduce, bit for bit the
    sequential product of the other implementations (the windowed product associates
    differently, which only the 1e-9-tolerant quantile tests see)."""
    k = ", ".join(keys)
    return f"""
        WITH g AS (
            SELECT {k}, T, count(*) FILTER (WHERE event) AS d, count(*) AS m
            FROM {src} GROUP BY {k}, T
        ), r AS (
            SELECT *, 1.0::DOUBLE - d / sum(m) OVER (PARTITION BY {k} ORDER BY T DESC
                                                   ROWS UNBOUNDED PRECEDING) AS factor
            FROM g
        ), s AS (
            SELECT *, product(factor) OVER (PARTITION BY {k} ORDER BY T
                                            ROWS UNBOUNDED PRECEDING) AS S
            FROM r
        ), a AS (
            SELECT {k}, sum(m) AS complaints, max(T) AS maxT,
                   coalesce(list_reduce(list(factor ORDER BY T) FILTER (WHERE d > 0 AND T <= {H1}),
                                        lambda x, y: x * y), 1.0) AS S1,
                   coalesce(list_reduce(list(factor ORDER BY T) FILTER (WHERE d > 0 AND T <= {H24}),
                                        lambda x, y: x * y), 1.0) AS S24,
                   min(T) FILTER (WHERE d > 0 AND S <= {0.5 + QUANTILE_EPS!r}) AS median_reply_s,
                   min(T) FILTER (WHERE d > 0 AND S <= {0.1 + QUANTILE_EPS!r}) AS p90_reply_s
            FROM s GROUP BY {k}
        ), b AS (
            SELECT *, CASE WHEN S1 > 0 AND maxT < {H1} THEN NULL ELSE 1.0::DOUBLE - S1 END AS answered_1h,
                      CASE WHEN S24 > 0 AND maxT < {H24} THEN NULL ELSE 1.0::DOUBLE - S24 END AS answered_24h
            FROM a
        )
        SELECT {k}, complaints, answered_1h, answered_24h, median_reply_s, p90_reply_s,
               100.0::DOUBLE * (answered_1h + answered_24h) / 2.0::DOUBLE AS score
        FROM b
    """


def leaderboard(db, as_of, window_days, min_complaints):
    """One row per brand with a complaint up to as_of: the window's figures, eligibility and the
    competition rank (1, 2, 2, 4) on the score rounded to one decimal, half away from zero."""
    db.run("Kaplan-Meier, window and ranks", f"""
        CREATE OR REPLACE TEMP TABLE board AS
        WITH win AS ({km_sql(f"(SELECT * FROM complaints WHERE ts >= {as_of - window_days * 86400})", ["brand"])}),
        t AS (
            SELECT b.brand, coalesce(w.complaints, 0) AS complaints, w.answered_1h, w.answered_24h,
                   w.median_reply_s, w.p90_reply_s, w.score,
                   coalesce(w.complaints, 0) >= $min AND w.score IS NOT NULL AS eligible
            FROM (SELECT DISTINCT brand FROM complaints) b LEFT JOIN win w USING (brand)
        )
        SELECT *, CASE WHEN eligible THEN rank() OVER (PARTITION BY eligible
                       ORDER BY floor(score * 10.0 + 0.5) DESC) END AS rank
        FROM t
    """, {"min": min_complaints})
    r = db.con.execute("SELECT * FROM board")
    return r.fetchall(), [d[0] for d in r.description]


def history(db):
    """Per brand and UTC month of the complaint (all complaints up to as_of)."""
    db.run("Kaplan-Meier, monthly history", f"""
        CREATE OR REPLACE TEMP TABLE hist AS
        {km_sql("(SELECT *, date_trunc('month', make_timestamp(ts * 1000000)) AS month "
                "FROM complaints)", ["brand", "month"])}
    """)
    return db.con.execute("SELECT brand, strftime(month, '%Y-%m'), complaints, answered_1h, "
                          "answered_24h, median_reply_s, score FROM hist ORDER BY brand, month"
                          ).fetchall()


# ----------------------------------------------------------------------------------------------
# Bootstrap (numpy; not compared)
# ----------------------------------------------------------------------------------------------

def bootstrap_scores(T, event, B, rng):
    """B resamples (with replacement, size n) of one brand's complaints; KM score of each.

    Between two censorings the product-limit factors telescope: prod (1 - d_j/n_j) over a run
    of event times is (at risk after the run) / (at risk at its start). So a resample only
    needs its counts in a few bins along the order (T, events first): one per censoring time
    up to 24 h, one per run of events between them (split at 1 h and at exactly 24 h), one for
    everything after 24 h. The counts are one multinomial draw per resample."""
    n = len(T)
    key_T = np.where(T > H24, H24 + 1, T)
    ev = event & (T <= H24)
    cens_T = np.unique(key_T[~ev & (T <= H24)])
    # position of each observation: censoring bins sit after the events at the same T
    seg = np.searchsorted(cens_T, key_T, side="left")  # censoring times strictly below T
    region = np.where(key_T <= H1, 0, np.where(key_T < H24, 1, 2))
    # bin code: (segment, kind) with kind 0..2 = events in region, 3 = the censoring at cens_T[seg]
    kind = np.where(ev, region, 3)
    code = np.where(T > H24, np.iinfo(np.int64).max, seg * 4 + kind)
    bins, cls, counts = np.unique(code, return_inverse=True, return_counts=True)
    is_tail = bins == np.iinfo(np.int64).max
    bkind = np.where(is_tail, 4, bins % 4)
    e1 = np.flatnonzero(bkind == 0)
    e24 = np.flatnonzero(bkind <= 2)
    # bins holding observations with T >= 24 h (every bin is on one side of 24 h)
    at24 = np.bincount(cls, weights=T >= H24, minlength=len(bins)) > 0
    W = rng.multinomial(n, counts / n, size=B)
    N = np.cumsum(W[:, ::-1], axis=1)[:, ::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        F = np.where(N > 0, (N - W) / N, 1.0)
    S1 = F[:, e1].prod(axis=1)
    S24 = F[:, e24].prod(axis=1)
    a24 = np.where((S24 > 0) & (W[:, at24].sum(axis=1) == 0), np.nan, 1.0 - S24)
    return 100.0 * ((1.0 - S1) + a24) / 2.0


def round1_key(score):
    score = np.asarray(score, dtype=float)
    return np.where(np.isnan(score), -np.inf, np.floor(score * 10.0 + 0.5))


def competition_rank(keys):
    srt = np.sort(keys)
    return 1 + len(keys) - np.searchsorted(srt, keys, side="right")


def intervals(db, elig, as_of, window_days, B, seed):
    """score_ci and rank_interval per eligible brand (in rank order), like pandas_pipeline.py."""
    if B <= 0 or not elig:
        return {}, {}
    lo = as_of - window_days * 86400
    d = db.con.execute(f"SELECT brand, T, event FROM complaints WHERE ts >= {lo} AND brand IN "
                    f"({', '.join(map(str, elig))}) ORDER BY brand").fetchnumpy()
    rng = np.random.default_rng(seed)
    brand, T, event = d["brand"], d["T"].astype(np.int64), d["event"].astype(bool)
    boot = np.column_stack([bootstrap_scores(T[brand == b], event[brand == b], B, rng) for b in elig])
    ranks = np.vstack([competition_rank(row) for row in round1_key(boot)])
    score_ci, rank_iv = {}, {}
    for j, b in enumerate(elig):
        sc = boot[:, j][~np.isnan(boot[:, j])]
        if len(sc):
            score_ci[b] = [float(x) for x in np.percentile(sc, [2.5, 97.5])]
        rank_iv[b] = [int(x) for x in np.percentile(ranks[:, j], [2.5, 97.5], method="inverted_cdf")]
    return score_ci, rank_iv


# ----------------------------------------------------------------------------------------------

def iso(ts):
    return dt.datetime.fromtimestamp(int(ts), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_as_of(s):
    try:
        t = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        die(f"--as-of {s!r}: expected an RFC 3339 time such as 2017-12-01T00:00:00Z")
    if t.tzinfo is None:
        die(f"--as-of {s!r}: give the time zone (Z or +HH:MM)")
    return int(np.floor(t.timestamp()))


def num(x, integer=False):
    if x is None or (isinstance(x, float) and np.isnan(x)):
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
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--profile", action="store_true", help="print the time of each SQL step")
    a = ap.parse_args()
    as_of_arg = parse_as_of(a.as_of) if a.as_of else None

    t0 = time.perf_counter()
    brand_ids, accounts = load_brands(a.brands)
    names = header_columns(a.csv)
    tmp = tempfile.TemporaryDirectory(prefix="duckdb-pipeline-")
    db = Db(duckdb.connect(config={"threads": a.threads, "temp_directory": tmp.name,
                                   "preserve_insertion_order": True}))
    db.run("setup", "SET TimeZone = 'UTC'")
    db.run("setup", "CREATE TEMP TABLE accounts (handle VARCHAR, b INTEGER)")
    if accounts:
        db.con.executemany("INSERT INTO accounts VALUES (?, ?)", accounts)
    handles = [h for h, _ in accounts]
    try:
        read_posts(db, a.csv, names, handles)
    except duckdb.Error as e:
        # invalid UTF-8 or a bare \r: read a sanitised copy instead (see sanitised_copy)
        first = str(e).splitlines()[0]
        log(f"note: DuckDB cannot read {a.csv} as it is ({first}); reading a sanitised copy")
        with db.timed("sanitised copy"):
            copy = sanitised_copy(a.csv, tmp.name)
        try:
            read_posts(db, copy, names, handles)
        except duckdb.Error as e2:
            die(f"{a.csv}: {e2}")
    as_of = build_posts(db, as_of_arg)
    t_read = time.perf_counter() - t0
    n_posts, = db.one("SELECT count(*) FROM posts")
    log(f"read   {t_read:8.2f} s  {n_posts} posts up to {iso(as_of)}")

    t1 = time.perf_counter()
    stats, negative = pair(db, as_of)
    t_pair = time.perf_counter() - t1
    log(f"pair   {t_pair:8.2f} s  {stats}; negative reply times {negative}")

    t2 = time.perf_counter()
    rows, cols = leaderboard(db, as_of, a.window_days, a.min_complaints)
    table = {r[0]: dict(zip(cols, r)) for r in rows}
    ranked = sorted((b for b in table if table[b]["eligible"]),
                    key=lambda b: (table[b]["rank"], brand_ids[b]))
    unranked = sorted((b for b in table if not table[b]["eligible"]),
                      key=lambda b: (-table[b]["complaints"], brand_ids[b]))
    with db.timed("bootstrap (numpy)"):
        score_ci, rank_iv = intervals(db, ranked, as_of, a.window_days, a.bootstrap, a.seed)
    hist_rows = history(db)
    t_score = time.perf_counter() - t2
    log(f"score  {t_score:8.2f} s  {len(table)} brands with complaints, {len(ranked)} eligible, "
        f"bootstrap {a.bootstrap}")

    brands_out = []
    for b in ranked + unranked:
        r = table[b]
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
    hist = {brand_ids[b]: [] for b in ranked + unranked}
    for b, month, n, a1, a24, med, score in hist_rows:
        hist[brand_ids[b]].append({
            "month": month, "complaints": int(n), "answered_1h": num(a1), "answered_24h": num(a24),
            "median_reply_s": num(med, True), "score": num(score),
        })
    total = time.perf_counter() - t0
    result = {
        "as_of": iso(as_of),
        "window_days": a.window_days,
        "brands": brands_out,
        "history": hist,
        "negative_reply_times": int(negative),
        "timings": {"read": t_read, "pair": t_pair, "score": t_score, "total": total,
                    "steps": db.steps},
    }
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    if a.profile:
        cpu = time.process_time()
        log(f"  {'wall s':>8}  {'CPU s':>8}  {'CPU %':>5}")
        for label, (wall, secs) in sorted(db.steps.items(), key=lambda kv: -kv[1][1]):
            log(f"  {wall:8.2f}  {secs:8.2f}  {100 * secs / cpu:5.1f}  {label}")
        log(f"  {total:8.2f}  {cpu:8.2f}  100.0  total (CPU since the interpreter started)")
    log(f"total  {total:8.2f} s  -> {a.out}")


if __name__ == "__main__":
    main()
