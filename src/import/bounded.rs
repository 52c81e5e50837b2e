//! Reading import files in bounded memory: lines and CSV records longer than [`MAX_LINE`] are
//! rejected with their line number (and skipped) instead of being gathered whole, so a file with
//! no line ends cannot exhaust memory.

use std::cell::Cell;
use std::io::{BufRead, Read};

use super::MAX_LINE;

/// Appends the next line of `r` (without its `\n`) to `out`. `None` at the end of the input;
/// `Some(false)` when the line was longer than `max` bytes: it is consumed and dropped.
pub fn read_line(
    r: &mut impl BufRead,
    out: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<bool>> {
    let start = out.len();
    let mut any = false;
    let mut fits = true;
    loop {
        let avail = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            break;
        }
        any = true;
        let (part, used) = match memchr::memchr(b'\n', avail) {
            Some(i) => (&avail[..i], Some(i + 1)),
            None => (avail, None),
        };
        if fits {
            if out.len() - start + part.len() > max {
                fits = false;
                out.truncate(start);
            } else {
                out.extend_from_slice(part);
            }
        }
        let n = used.unwrap_or(avail.len());
        r.consume(n);
        if used.is_some() {
            break;
        }
    }
    Ok(any.then_some(fits))
}

/// What the guard returns when a record grows past its bound.
const TOO_LONG: &str = "replyrank: record too long";

/// Stands between a CSV reader and its input: counts what it hands over, and fails a read once
/// the current record has taken more than `MAX_LINE` bytes (plus the CSV reader's buffer).
pub struct Guard<R> {
    inner: R,
    delivered: u64,
    newlines: usize,
    record_start: Cell<u64>,
    limit: u64,
}

impl<R: BufRead> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.delivered - self.record_start.get() > self.limit {
            return Err(std::io::Error::other(TOO_LONG));
        }
        let n = self.inner.read(buf)?;
        self.delivered += n as u64;
        self.newlines += memchr::memchr_iter(b'\n', &buf[..n]).count();
        Ok(n)
    }
}

impl<R: BufRead> Guard<R> {
    /// Drops input up to and including the next `\n`.
    fn skip_line(&mut self) -> std::io::Result<()> {
        let mut sink = Vec::new();
        if let Some(_fits) = read_line(&mut self.inner, &mut sink, 0)? {
            self.newlines += 1;
        }
        Ok(())
    }
}

fn too_long() -> String {
    format!(
        "a record longer than {} MiB (import::MAX_LINE; an unclosed quote?)",
        MAX_LINE >> 20
    )
}

/// CSV records with their line numbers, each bounded to [`MAX_LINE`] bytes.
pub struct Records<R> {
    /// Always `Some`, except while [`Records::restart`] swaps it.
    csv: Option<csv::Reader<Guard<R>>>,
    builder: csv::ReaderBuilder,
    /// The line and byte offset (in the whole input) where the current CSV reader started.
    line_base: usize,
    byte_base: u64,
}

/// One record's outcome: read into the caller's record, or rejected with a reason.
pub type Record = Result<(), String>;

impl<R: BufRead> Records<R> {
    /// Reads `input` with `builder`'s settings (which must not read a header itself) and a
    /// CSV buffer of `buffer` bytes.
    pub fn new(mut builder: csv::ReaderBuilder, input: R, buffer: usize) -> Records<R> {
        builder.buffer_capacity(buffer);
        let guard = Guard {
            inner: input,
            delivered: 0,
            newlines: 0,
            record_start: Cell::new(0),
            limit: (MAX_LINE + buffer) as u64,
        };
        Records {
            csv: Some(builder.from_reader(guard)),
            builder,
            line_base: 1,
            byte_base: 0,
        }
    }

    /// Reads the header line of `path` (`what` names the format for the error of an empty file).
    pub fn header(
        &mut self,
        path: &std::path::Path,
        what: &str,
    ) -> anyhow::Result<csv::ByteRecord> {
        let mut header = csv::ByteRecord::new();
        match self
            .next(&mut header)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?
        {
            None => anyhow::bail!(
                "{}: the file is empty; expected {what} with a header line",
                path.display()
            ),
            Some((_, Err(reason))) => {
                anyhow::bail!("{}:1: cannot read the header: {reason}", path.display())
            }
            Some((_, Ok(()))) => Ok(header),
        }
    }

    /// The next record, with its (1-based) line; `Ok(None)` at the end. An `Err` is an I/O error
    /// reading the input.
    pub fn next(
        &mut self,
        record: &mut csv::ByteRecord,
    ) -> std::io::Result<Option<(usize, Record)>> {
        let csv = self.csv.as_mut().expect("a CSV reader");
        let pos = csv.position().clone();
        let line = self.line_base + pos.line() as usize - 1;
        csv.get_ref().record_start.set(self.byte_base + pos.byte());
        match csv.read_byte_record(record) {
            Ok(false) => Ok(None),
            Ok(true) => {
                let at = record
                    .position()
                    .map_or(line, |p| self.line_base + p.line() as usize - 1);
                if record.as_slice().len() > MAX_LINE {
                    return Ok(Some((at, Err(too_long()))));
                }
                Ok(Some((at, Ok(()))))
            }
            Err(e) => {
                if let csv::ErrorKind::Io(io) = e.kind()
                    && io.to_string() == TOO_LONG
                {
                    self.restart()?;
                    return Ok(Some((line, Err(too_long()))));
                }
                match e.into_kind() {
                    csv::ErrorKind::Io(io) => Err(io),
                    other => Ok(Some((line, Err(format!("unreadable CSV row ({other:?})"))))),
                }
            }
        }
    }

    /// Drops the rest of an over-long record's line and goes on with a fresh CSV reader (what
    /// the old one buffered belongs to the over-long record and is dropped with it).
    fn restart(&mut self) -> std::io::Result<()> {
        let mut guard = self.csv.take().expect("a CSV reader").into_inner();
        let skipped = guard.skip_line();
        self.line_base = guard.newlines + 1;
        self.byte_base = guard.delivered;
        guard.record_start.set(guard.delivered);
        self.csv = Some(self.builder.from_reader(guard));
        skipped
    }
}
