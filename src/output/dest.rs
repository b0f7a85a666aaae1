//! Where a format's bytes go: stdout, or a file written under a temporary
//! name and renamed into place only on commit.

use std::io::{self, IsTerminal, Write};
use std::path::Path;

use crate::io::{is_stdio, AtomicFile, IoError};

/// The bytes' destination. Unbuffered: the formats buffer as they need.
pub enum Destination {
    Stdout(io::Stdout),
    File(AtomicFile),
}

impl Destination {
    /// `-` is stdout; anything else a temporary file beside `path`.
    pub fn open(path: &Path) -> Result<Destination, IoError> {
        if is_stdio(path) {
            Ok(Destination::Stdout(io::stdout()))
        } else {
            Ok(Destination::File(AtomicFile::create(path)?))
        }
    }

    /// For messages: the path, or `<stdout>`.
    pub fn name(&self) -> String {
        match self {
            Destination::Stdout(_) => "<stdout>".to_string(),
            Destination::File(f) => f.target().display().to_string(),
        }
    }

    pub fn is_terminal(&self) -> bool {
        match self {
            Destination::Stdout(s) => s.is_terminal(),
            Destination::File(_) => false,
        }
    }

    /// Flushes; a file still waits for [`Pending::commit`].
    pub fn finish(self) -> io::Result<Pending> {
        match self {
            Destination::Stdout(mut s) => {
                s.flush()?;
                Ok(Pending::none())
            }
            Destination::File(f) => Ok(Pending { files: vec![f] }),
        }
    }
}

impl Write for Destination {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Destination::Stdout(w) => w.write(buf),
            Destination::File(w) => w.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Destination::Stdout(w) => w.write_all(buf),
            Destination::File(w) => w.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Destination::Stdout(w) => w.flush(),
            Destination::File(w) => w.flush(),
        }
    }
}

/// Written files waiting to be renamed into place. Dropped uncommitted,
/// they are deleted and the targets stay as they were.
#[derive(Debug, Default)]
#[must_use = "nothing appears at the target until `commit` is called"]
pub struct Pending {
    files: Vec<AtomicFile>,
}

impl Pending {
    pub fn none() -> Pending {
        Pending::default()
    }

    pub fn file(file: AtomicFile) -> Pending {
        Pending { files: vec![file] }
    }

    pub fn join(&mut self, other: Pending) {
        self.files.extend(other.files);
    }

    /// Renames every file into place (without an fsync: see
    /// [`AtomicFile::commit_unsynced`]).
    pub fn commit(self) -> Result<(), IoError> {
        for f in self.files {
            f.commit_unsynced()?;
        }
        Ok(())
    }
}
