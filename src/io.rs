//! Input opening (files, `-`, gzip, zstd) and atomic output files.
//!
//! Outputs and caches are written to a temporary file beside the target and
//! renamed on success, so a failed run never leaves a half-written file where
//! a good one was.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum IoError {
    #[error("{}", path.display())]
    Open { path: PathBuf, source: io::Error },
    #[error("{}: cannot create a temporary file beside it", path.display())]
    Temp { path: PathBuf, source: io::Error },
    #[error("{}: cannot replace it", path.display())]
    Persist { path: PathBuf, source: io::Error },
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
const BUF_CAPACITY: usize = 1 << 20;

/// True for the conventional stdin/stdout name.
pub fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Opens `path` (or stdin for `-`) for reading, decompressing gzip and zstd
/// transparently. Detection is by magic bytes, so a misnamed file still works.
pub fn open_input(path: &Path) -> Result<Box<dyn BufRead + Send>, IoError> {
    let raw: Box<dyn Read + Send> = if is_stdio(path) {
        Box::new(io::stdin())
    } else {
        Box::new(File::open(path).map_err(|source| IoError::Open {
            path: path.to_path_buf(),
            source,
        })?)
    };
    decompressed(raw, path)
}

/// [`open_input`] for a reader already open (e.g. one that counts the
/// bytes it reads, for a progress bar); `path` is for messages.
pub fn decompressed(
    raw: Box<dyn Read + Send>,
    path: &Path,
) -> Result<Box<dyn BufRead + Send>, IoError> {
    let mut buffered = BufReader::with_capacity(BUF_CAPACITY, raw);
    let head = buffered.fill_buf().map_err(|source| IoError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let err = |source| IoError::Open {
        path: path.to_path_buf(),
        source,
    };
    if head.starts_with(&GZIP_MAGIC) {
        let dec = flate2::bufread::MultiGzDecoder::new(buffered);
        Ok(Box::new(BufReader::with_capacity(BUF_CAPACITY, dec)))
    } else if head.starts_with(&ZSTD_MAGIC) {
        let dec = zstd::stream::read::Decoder::with_buffer(buffered).map_err(err)?;
        Ok(Box::new(BufReader::with_capacity(BUF_CAPACITY, dec)))
    } else {
        Ok(Box::new(buffered))
    }
}

/// A file being written under a temporary name beside its target; `commit`
/// renames it into place, dropping it uncommitted deletes it.
pub struct AtomicFile {
    target: PathBuf,
    temp: tempfile::NamedTempFile,
}

impl std::fmt::Debug for AtomicFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AtomicFile")
            .field("target", &self.target)
            .field("temp", &self.temp.path())
            .finish()
    }
}

impl AtomicFile {
    pub fn create(target: &Path) -> Result<Self, IoError> {
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        // Like any newly created file (0666 less the umask), not tempfile's 0600:
        // the result is an ordinary output, e.g. for a ClickHouse server to read.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let temp = builder.tempfile_in(&dir).map_err(|source| IoError::Temp {
            path: target.to_path_buf(),
            source,
        })?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            temp,
        })
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    pub fn file(&mut self) -> &mut File {
        self.temp.as_file_mut()
    }

    /// Flushes to disk (fsync) and renames over the target: for caches,
    /// which must survive a power loss.
    pub fn commit(self) -> Result<(), IoError> {
        self.temp
            .as_file()
            .sync_all()
            .map_err(|source| IoError::Persist {
                path: self.target.clone(),
                source,
            })?;
        self.commit_unsynced()
    }

    /// Renames over the target without an fsync: for large outputs that a
    /// rerun reproduces. The rename alone already keeps a half-written file
    /// from ever appearing at the target when the run fails; an fsync would
    /// add only durability across an OS crash, at seconds per GB.
    pub fn commit_unsynced(self) -> Result<(), IoError> {
        let target = self.target;
        self.temp.persist(&target).map_err(|e| IoError::Persist {
            path: target.clone(),
            source: e.error,
        })?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.temp.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.temp.flush()
    }
}

/// Writes `bytes` to `target` atomically.
pub fn write_atomic(target: &Path, bytes: &[u8]) -> Result<(), IoError> {
    let mut f = AtomicFile::create(target)?;
    f.write_all(bytes).map_err(|source| IoError::Persist {
        path: target.to_path_buf(),
        source,
    })?;
    f.commit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn read_all(path: &Path) -> String {
        let mut s = String::new();
        open_input(path).unwrap().read_to_string(&mut s).unwrap();
        s
    }

    #[test]
    fn reads_plain_gzip_and_zstd_by_magic() {
        let dir = tempfile::tempdir().unwrap();
        let text = "line one\nline two\n";
        let plain = dir.path().join("a.txt");
        std::fs::write(&plain, text).unwrap();
        let gz = dir.path().join("a.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(text.as_bytes()).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        let zst = dir.path().join("a.zst");
        std::fs::write(&zst, zstd::encode_all(text.as_bytes(), 1).unwrap()).unwrap();
        assert_eq!(read_all(&plain), text);
        assert_eq!(read_all(&gz), text);
        assert_eq!(read_all(&zst), text);
    }

    #[test]
    fn missing_input_names_the_file() {
        let err = open_input(Path::new("/nonexistent/dump.txt"))
            .err()
            .unwrap();
        assert!(err.to_string().contains("/nonexistent/dump.txt"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn committed_file_gets_ordinary_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        write_atomic(&target, b"x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        // the same mode as a file created the ordinary way (0666 less the umask)
        let plain = dir.path().join("plain");
        std::fs::File::create(&plain).unwrap();
        assert_eq!(mode(&target), mode(&plain));
    }

    #[test]
    fn uncommitted_atomic_file_leaves_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        std::fs::write(&target, "good").unwrap();
        {
            let mut f = AtomicFile::create(&target).unwrap();
            f.write_all(b"half").unwrap();
            // dropped without commit
        }
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "good");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        write_atomic(&target, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        let mut f = AtomicFile::create(&target).unwrap();
        f.write_all(b"unsynced").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        f.commit_unsynced().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "unsynced");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
