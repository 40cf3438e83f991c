//! The command's result on stdout, written so that a reader who goes away early
//! (`promoter schema | head -1`) ends the command quietly instead of with a panic: Rust ignores
//! SIGPIPE, so every write to a closed pipe fails with `BrokenPipe`, and `print!` panics on it.
//!
//! Decision (as ripgrep does): a closed stdout is not an error. What was written is what the
//! reader wanted; later writes are dropped, and the command ends with the exit code it would have
//! had anyway — 0 for a command that did its job, 1 for a pass where an environment failed (the
//! pass ran; a closed pipe does not hide that). Any other write error (a full disk) is an error.

use std::io::{self, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stdout and flushes it. A closed stdout is remembered and not an error.
pub(crate) fn print(text: &str) -> io::Result<()> {
    if closed() {
        return Ok(());
    }
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {
            CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        other => other,
    }
}

/// Whether the reader of stdout went away: a command with more to print may stop early.
pub(crate) fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}
