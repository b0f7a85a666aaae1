//! Every line kubenetmon prints on stderr goes through here (as ripgrep's
//! `messages.rs`): one prefix, one place that knows `-q`, one place that
//! keeps messages from tearing a progress bar, and one place that makes
//! text taken from input files safe for a terminal.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static QUIET: AtomicBool = AtomicBool::new(false);
static PROGRESS: Mutex<Option<indicatif::ProgressBar>> = Mutex::new(None);

/// `-q`: notes and ordinary warnings are not shown.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// While a progress bar is drawn, lines are printed above it.
pub fn set_progress(bar: Option<indicatif::ProgressBar>) {
    let mut slot = PROGRESS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(old) = slot.take() {
        old.finish_and_clear();
    }
    *slot = bar;
}

pub fn progress() -> Option<indicatif::ProgressBar> {
    PROGRESS.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// One line on stderr, whatever `-q` says. Control characters in it are
/// escaped ([`printable`]), so no path — a malformed line's excerpt, a file
/// name, an error chain from the library — can reach the terminal raw.
pub fn line(args: fmt::Arguments<'_>) {
    let text = printable(&args.to_string()).into_owned();
    match progress() {
        Some(p) => p.println(text),
        None => {
            let _ = writeln!(std::io::stderr().lock(), "{text}");
        }
    }
}

/// Progress and findings a user may want (`kubenetmon: …`); hidden by `-q`.
pub fn note(args: fmt::Arguments<'_>) {
    if !quiet() {
        line(format_args!("kubenetmon: {args}"));
    }
}

/// A warning about something that is not wrong enough to stop; hidden by `-q`.
pub fn warn(args: fmt::Arguments<'_>) {
    if !quiet() {
        line(format_args!("kubenetmon: warning: {args}"));
    }
}

/// A warning that asks for action (no data to measure, rows that the table
/// will delete): shown even with `-q`.
pub fn warn_loud(args: fmt::Arguments<'_>) {
    line(format_args!("kubenetmon: WARNING: {args}"));
}

/// An error; the caller decides whether the run goes on.
pub fn error(args: fmt::Arguments<'_>) {
    line(format_args!("kubenetmon: error: {args}"));
}

/// Text from an input file, made safe to print: control characters
/// (ESC, CR, BEL, NUL, …) are shown as `\x1b`, so a dump cannot move the
/// cursor, clear the screen or retitle the terminal.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            use fmt::Write as _;
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out.into()
}

/// `note!("…")`: see [`note`].
macro_rules! note {
    ($($t:tt)*) => { $crate::cli::messages::note(format_args!($($t)*)) };
}

/// `warn!("…")`: see [`warn`].
macro_rules! warn {
    ($($t:tt)*) => { $crate::cli::messages::warn(format_args!($($t)*)) };
}

/// `warn_loud!("…")`: see [`warn_loud`].
macro_rules! warn_loud {
    ($($t:tt)*) => { $crate::cli::messages::warn_loud(format_args!($($t)*)) };
}

/// `err!("…")`: see [`error`].
macro_rules! err {
    ($($t:tt)*) => { $crate::cli::messages::error(format_args!($($t)*)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("plain text"), "plain text");
        assert_eq!(
            printable("a\x1b[2Jb\rc\x07\0d\te"),
            "a\\x1b[2Jb\\x0dc\\x07\\x00d\\x09e"
        );
        assert_eq!(printable("\u{9b}31m"), "\\x9b31m");
    }
}
