//! Where a format's bytes go: stdout, a regular file written under a
//! temporary name and renamed into place only on commit, or a device or
//! FIFO written straight through (`-o /dev/null`, a named pipe).

use std::io::{self, IsTerminal, Write};
use std::path::Path;

use crate::io::{is_stdio, AtomicFile, IoError, OutputFile};

/// The bytes' destination. Unbuffered: the formats buffer as they need.
pub enum Destination {
    Stdout(io::Stdout),
    File(AtomicFile),
    /// A character device, FIFO or socket: no rename, nothing to commit.
    Direct(std::path::PathBuf, std::fs::File),
}

impl Destination {
    /// `-` is stdout; a regular file (symlinks followed) or a new one a
    /// temporary file beside it; a device or FIFO itself.
    pub fn open(path: &Path) -> Result<Destination, IoError> {
        if is_stdio(path) {
            return Ok(Destination::Stdout(io::stdout()));
        }
        Ok(match OutputFile::open(path)? {
            OutputFile::Atomic(f) => Destination::File(f),
            OutputFile::Direct { path, file } => Destination::Direct(path, file),
        })
    }

    /// For messages: the path, or `<stdout>`.
    pub fn name(&self) -> String {
        match self {
            Destination::Stdout(_) => "<stdout>".to_string(),
            Destination::File(f) => f.target().display().to_string(),
            Destination::Direct(path, _) => path.display().to_string(),
        }
    }

    pub fn is_terminal(&self) -> bool {
        match self {
            Destination::Stdout(s) => s.is_terminal(),
            Destination::File(_) => false,
            Destination::Direct(_, f) => f.is_terminal(),
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
            Destination::Direct(_, mut f) => {
                f.flush()?;
                Ok(Pending::none())
            }
        }
    }
}

impl Write for Destination {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Destination::Stdout(w) => w.write(buf),
            Destination::File(w) => w.write(buf),
            Destination::Direct(_, w) => w.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Destination::Stdout(w) => w.write_all(buf),
            Destination::File(w) => w.write_all(buf),
            Destination::Direct(_, w) => w.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Destination::Stdout(w) => w.flush(),
            Destination::File(w) => w.flush(),
            Destination::Direct(_, w) => w.flush(),
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
