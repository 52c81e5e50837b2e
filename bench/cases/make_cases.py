"""Regenerates the tiny hand-built cases in this folder (python3 make_cases.py)."""
import csv, io, datetime as D
UTC = D.timezone.utc
T0 = D.datetime(2017, 10, 2, 10, 0, 0, tzinfo=UTC)
AS_OF = D.datetime(2017, 10, 10, 0, 0, 0, tzinfo=UTC)
def fmt(dt): return dt.strftime("%a %b %d %H:%M:%S +0000 %Y")
H = ["tweet_id","author_id","inbound","created_at","text","response_tweet_id","in_response_to_tweet_id"]
def write(name, rows, index=False, crlf=False, flt=False):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n" if crlf else "\n")
    w.writerow(([""] if index else []) + H)
    for k, (tid, author, dt, text, parent) in enumerate(rows):
        inbound = not author[0].isupper() and not author.lower().startswith(("alpha","beta"))
        ib = ("TRUE" if inbound else "FALSE") if crlf else str(inbound)
        par = f"{parent}.0" if (flt and parent) else parent
        w.writerow(([k] if index else []) + [tid, author, ib, fmt(dt), text, "", par])
    out = buf.getvalue()
    # the csv module quotes a field holding \r; TWCS has it bare (unquoted) — reproduce that
    out = out.replace('"@AlphaCare line one\rstill the same record"', "@AlphaCare line one\rstill the same record")
    open(name, "w", newline="").write(out)
s = lambda x: D.timedelta(seconds=x)

# 1. follow-ups; brand answers the customer's latest follow-up
write("followup.csv", [
    ("1", "c1", T0, "@AlphaCare my order is late", ""),
    ("2", "c1", T0 + s(600), "@AlphaCare hello?? still waiting", "1"),
    ("3", "c1", T0 + s(900), "@AlphaCare anyone?", "2"),
    ("4", "AlphaHelp", T0 + s(1800), "@c1 sorry, DM us", "3"),
    ("5", "AlphaCare", T0 + s(1900), "@c1 we are on it", "1"),
    ("6", "c1", T0 + s(2000), "@AlphaCare thanks", "4"),
    ("7", "c1", T0 + s(2 * 86400), "@alphacare broken again", ""),
    ("8", "someone", T0 + s(3 * 86400), "unrelated chatter", ""),
])
# 2. a different customer's "same here" under a complaint that answers a brand post
write("same_here.csv", [
    ("10", "AlphaCare", T0, "Our app is back up!", ""),
    ("11", "c2", T0 + s(100), "@AlphaCare not for me", "10"),
    ("12", "c3", T0 + s(200), "@c2 same here @BetaSupport", "11"),
    ("13", "BetaSupport", T0 + s(300), "@c3 try us", "12"),
    ("14", "AlphaCare", T0 + s(5000), "@c3 sorry about that", "12"),
    ("15", "AlphaCare", T0 + s(4000), "@c2 please restart", "11"),
    ("16", "c2", T0 + s(4100), "@AlphaCare still down", "15"),
    ("17", "c4", T0 + s(150), "@c2 me too", "11"),
    ("18", "c2", T0 + s(250), "@c3 ikr", "12"),
])
# 3. negative reply time (reply stamped before the complaint) and a zero reply time
write("negative.csv", [
    ("20", "c5", T0 + s(1000), "@BetaSupport help", ""),
    ("21", "BetaSupport", T0 + s(400), "@c5 hi", "20"),
    ("22", "c6", T0 + s(2000), "@BetaSupport x", ""),
    ("23", "BetaSupport", T0 + s(2000), "@c6 y", "22"),
])
# 4. censoring, KM ties, as_of, window and history months (run with --as-of 2017-10-10T00:00:00Z --window-days 30 --min-complaints 3)
A = AS_OF
write("censored.csv", [
    ("40", "c20", A - s(40 * 86400), "@AlphaCare old one", ""),
    ("41", "AlphaCare", A - s(40 * 86400) + s(60), "@c20 fixed", "40"),
    ("42", "c21", A - s(10 * 86400), "@AlphaCare C1", ""),
    ("43", "AlphaCare", A - s(10 * 86400) + s(600), "@c21 r", "42"),
    ("44", "c22", A - s(10 * 86400) + s(3600), "@AlphaCare C2", ""),
    ("45", "AlphaCare", A - s(10 * 86400) + s(7200), "@c22 r (exactly 1h)", "44"),
    ("46", "c23", A - s(3600), "@AlphaCare C3 (censored at exactly 1h)", ""),
    ("47", "c24", A - s(5 * 86400), "@AlphaCare C4", ""),
    ("48", "AlphaCare", A - s(5 * 86400) + s(7200), "@c24 r", "47"),
    ("49", "c25", A - s(2 * 86400), "@AlphaCare C5 (reply after as_of)", ""),
    ("50", "AlphaCare", A + s(50), "@c25 too late", "49"),
    ("51", "c26", A + s(100), "@AlphaCare after as_of", ""),
    ("52", "c27", A - s(7200), "@BetaSupport only complaint, censored at 2h", ""),
])
# 5. two brands in one thread, attribution and id tie-break
write("two_brands.csv", [
    ("30", "c7", T0, "@BetaSupport @AlphaCare my flight", ""),
    ("31", "AlphaCare", T0 + s(60), "@c7 not us", "30"),
    ("32", "BetaSupport", T0 + s(7200), "@c7 sorry", "30"),
    ("33", "c8", T0, "nobody cares about my problem", ""),
    ("100", "AlphaCare", T0 + s(300), "@c8 we do", "33"),
    ("99", "BetaSupport", T0 + s(300), "@c8 we do too", "33"),
    ("36", "c9", T0, "@alphacare hi", ""),
    ("37", "alphahelp", T0 + s(100), "@c9 hello", "36"),
    ("38", "BetaSupport", T0, "New routes!", ""),
    ("39", "c10", T0 + s(10), "@AlphaCare is better", "38"),
    ("60", "AlphaCare", T0 + s(60), "@c10 thanks!", "39"),
    ("61", "c11", T0, "mail me at me@AlphaCare.com or (@BetaSupport)", ""),
    ("62", "BetaSupport", T0 + s(30), "@c11 ok", "61"),
])
# 6. format traps: index column, CRLF, TRUE/FALSE, float ids, bare \r, quoted newline, cycle, self-parent
write("format.csv", [
    ("70", "c30", T0, "@AlphaCare line one\rstill the same record", ""),
    ("71", "AlphaCare", T0 + s(120), "@c30 a quoted\nnewline, with comma", "70"),
    ("72", "c31", T0 + s(10), "cycle post", "73"),
    ("73", "AlphaCare", T0 + s(70), "@c31 cycle reply", "72"),
    ("74", "c32", T0, "@BetaSupport self parent", "74"),
    ("75", "BetaSupport", T0 + s(5), "@c32 r", "74"),
], index=True, crlf=True, flt=True)
