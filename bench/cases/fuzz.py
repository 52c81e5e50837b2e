#!/usr/bin/env python3
"""Random awkward TWCS files: checks that pandas_pipeline.py and duckdb_pipeline.py agree.

  python3 bench/cases/fuzz.py [--files 200] [--seed 1] [--keep DIR]

Each file is a few dozen posts in a handful of threads drawn with every trap at once: ids
written as floats, with leading zeros or not numeric, duplicate ids, empty ids, unparseable or
offset times, posts after as_of, self-parents, 2- and 3-cycles, parents missing from the file,
same-customer chains above and below brand posts, two brands in a thread, "same here" posts,
replies at the same second, mentions glued to words or to other mentions, handles in any case,
blanks around fields, CRLF line ends, a bare \\r or invalid UTF-8 in a text, quoted newlines.
A file whose outputs differ is kept (with --keep) and reported; the exit status is 1 then.
"""
import argparse
import datetime as D
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check  # noqa: E402

UTC = D.timezone.utc
T0 = D.datetime(2017, 10, 1, tzinfo=UTC)
HANDLES = ["AlphaCare", "AlphaHelp", "BetaSupport"]


def fmt(t, rng):
    s = t.strftime("%a %b %d %H:%M:%S +0000 %Y")
    r = rng.random()
    if r < 0.03:
        return "not a date"
    if r < 0.06:  # another offset, same instant
        return (t + D.timedelta(hours=2)).strftime("%a %b %d %H:%M:%S +0200 %Y")
    if r < 0.08:
        return " " + s + " "
    return s


def make_id(n, rng):
    r = rng.random()
    if r < 0.05:
        return f"{n}.0"
    if r < 0.08:
        return f"0{n}"
    if r < 0.11:
        return f"x{n}"
    return str(n)


def text_for(author_is_brand, rng):
    words = ["help", "my order", "same here", "thanks", "DM us", "still broken", "hi"]
    parts = []
    for _ in range(rng.randint(0, 4)):
        r = rng.random()
        if r < 0.35:
            h = rng.choice(HANDLES + ["someone", "c12", "AlphaCareX"])
            h = h.lower() if rng.random() < 0.2 else h
            glue = rng.choice([" @", "@", ",@", "x@", " @@", "\n@"])
            parts.append(glue + h)
        else:
            parts.append(" " + rng.choice(words))
    return "".join(parts).strip() or "hello"


def thread(rng, ids, t_start):
    """Posts of one thread: (id, author, time, text, parent id)."""
    cust = [f"c{rng.randint(1, 6)}" for _ in range(3)]
    posts = []
    t = t_start
    for k in range(rng.randint(1, 8)):
        t += D.timedelta(seconds=rng.choice([0, 0, 1, 60, 600, 3599, 3600, 3601, 7200, 86399,
                                             86400, 86401, 200000]))
        if rng.random() < 0.45:
            author = rng.choice(HANDLES)
            author = author.upper() if rng.random() < 0.1 else author
        else:
            author = rng.choice(cust[:2] if rng.random() < 0.8 else cust)
        pid = next(ids)
        r = rng.random()
        if not posts or r < 0.12:
            parent = ""
        elif r < 0.16:
            parent = str(pid)  # self-parent
        elif r < 0.20:
            parent = str(pid + 1000)  # missing from the file
        else:
            parent = rng.choice(posts)[0]
        posts.append([str(pid), author, t, text_for(author in HANDLES, rng), parent])
    # sometimes a cycle: the first post's parent is a later one
    if len(posts) > 2 and rng.random() < 0.15:
        posts[0][4] = rng.choice(posts[1:])[0]
    return posts


def write_file(path, rng):
    ids = iter(range(10, 10_000))
    rows = []
    for _ in range(rng.randint(1, 8)):
        rows += thread(rng, ids, T0 + D.timedelta(seconds=rng.randint(0, 40 * 86400)))
    if rng.random() < 0.3:  # a duplicate id (first kept)
        dup = list(rng.choice(rows))
        dup[3] = "duplicate"
        rows.insert(rng.randrange(len(rows) + 1), dup)
    rng.shuffle(rows)
    crlf = rng.random() < 0.2
    index = rng.random() < 0.2
    nl = "\r\n" if crlf else "\n"
    out = [(",") * index + "tweet_id,author_id,inbound,created_at,text,response_tweet_id,"
           "in_response_to_tweet_id" + nl]
    for k, (pid, author, t, text, parent) in enumerate(rows):
        pid = make_id(int(pid), rng) if pid.isdigit() else pid
        parent = make_id(int(parent), rng) if parent.isdigit() and rng.random() < 0.3 else parent
        if rng.random() < 0.02:
            pid = ""
        r = rng.random()
        if r < 0.05:
            field = text.replace("\n", " ").replace(",", " ") + "\rtail"  # bare \r, unquoted
        elif "\n" in text or "," in text or r < 0.1:
            field = '"' + text.replace('"', '""') + '"'
        else:
            field = text
        author = f" {author} " if rng.random() < 0.05 else author
        inbound = "False" if author.strip() in HANDLES else "True"
        line = (f"{k}," * index + f"{pid},{author},{inbound},{fmt(t, rng)},{field},,{parent}{nl}")
        out.append(line)
    data = "".join(out).encode()
    if rng.random() < 0.05:  # invalid UTF-8 inside a text
        i = data.find(b"hello")
        if i > 0:
            data = data[:i] + b"\xff\xfe" + data[i:]
    path.write_bytes(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", type=Path)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = a.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(a.files):
            f = folder / f"fuzz{i:04d}.csv"
            write_file(f, rng)
            extra = ["--min-complaints", str(rng.choice([1, 2, 3])), "--bootstrap", "20",
                     "--window-days", str(rng.choice([7, 30, 90]))]
            if rng.random() < 0.3:
                extra += ["--as-of", "2017-10-20T00:00:00Z"]
            if not check.compare_file(f, check.HERE / "brands.toml", extra, quiet=True):
                failed += 1
            elif not a.keep:
                f.unlink()
    print(f"{a.files - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
