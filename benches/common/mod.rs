//! What the benchmarks share: running a child process and measuring its wall time and peak
//! memory; this thread's CPU time.
#![allow(dead_code)]

use std::fs::{self, File};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct Measured {
    pub wall: Duration,
    /// Peak resident set size of the child, KiB.
    pub maxrss_kib: i64,
    /// CPU time of the child (all its threads) in user and system mode, less inflated than
    /// `wall` by other processes on a shared machine.
    pub user: Duration,
    pub sys: Duration,
}

impl Measured {
    pub fn secs(&self) -> f64 {
        self.wall.as_secs_f64()
    }
    pub fn rss_mb(&self) -> f64 {
        self.maxrss_kib as f64 / 1024.0
    }
    /// User + system CPU time, seconds.
    pub fn cpu_secs(&self) -> f64 {
        (self.user + self.sys).as_secs_f64()
    }
}

/// Runs `cmd` with stdout/stderr to files, reaping it with `wait4` for its own rusage. Exits the
/// benchmark with the child's stderr when it fails.
pub fn run_measured(label: &str, mut cmd: Command, stdout: &Path, stderr: &Path) -> Measured {
    let open =
        |p: &Path| File::create(p).unwrap_or_else(|e| panic!("cannot create {}: {e}", p.display()));
    cmd.stdin(Stdio::null())
        .stdout(open(stdout))
        .stderr(open(stderr));
    let t0 = Instant::now();
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("{label}: cannot start {:?}: {e}", cmd.get_program()));
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data; wait4 fills it and status for our own child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            panic!("{label}: wait4({pid}) failed: {err}");
        }
    }
    let wall = t0.elapsed();
    // Already reaped: dropping the handle neither waits nor kills.
    drop(child);
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    if !ok {
        let how = if libc::WIFEXITED(status) {
            format!("exit status {}", libc::WEXITSTATUS(status))
        } else if libc::WIFSIGNALED(status) {
            format!("signal {}", libc::WTERMSIG(status))
        } else {
            format!("wait status {status}")
        };
        let err = fs::read_to_string(stderr).unwrap_or_default();
        let out = fs::read_to_string(stdout).unwrap_or_default();
        eprintln!(
            "\nFAILED: {label} ({how}) after {:.2} s: {cmd:?}",
            wall.as_secs_f64()
        );
        eprintln!("--- stderr ---\n{}", tail(&err, 4000));
        eprintln!("--- stdout ---\n{}", tail(&out, 2000));
        std::process::exit(1);
    }
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Measured {
        wall,
        maxrss_kib: ru.ru_maxrss,
        user: time(ru.ru_utime),
        sys: time(ru.ru_stime),
    }
}

pub fn tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut i = s.len() - max;
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

/// This thread's CPU time: unlike wall time, not inflated by other processes on a shared machine.
pub fn thread_cpu_ns() -> u128 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime");
    t.tv_sec as u128 * 1_000_000_000 + t.tv_nsec as u128
}
