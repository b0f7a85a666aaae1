//! Input opening (files, `-`, gzip, zstd) and atomic output files.
//!
//! Outputs and caches are written to a temporary file beside the target and
//! renamed on success, so a failed run never leaves a half-written file where
//! a good one was.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum IoError {
    #[error("{}", path.display())]
    Open { path: PathBuf, source: io::Error },
    #[error("{}: cannot create a temporary file beside it", path.display())]
    Temp { path: PathBuf, source: io::Error },
    #[error("{}: cannot replace it", path.display())]
    Persist { path: PathBuf, source: io::Error },
    #[error("{}: write error", path.display())]
    Write { path: PathBuf, source: io::Error },
}

/// The temporary files this process is writing, so that an interrupted
/// run can remove them ([`remove_temp_files`], from the binary's signal
/// handler) instead of leaving them beside the destination.
static LIVE_TEMPS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn live_temps() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    LIVE_TEMPS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Deletes every temporary file still being written (an interrupted run:
/// the targets stay as they were), then runs `then` (e.g. exits) still
/// holding the registry's lock, so no file is created or renamed into place
/// meanwhile.
pub fn remove_temp_files_then<R>(then: impl FnOnce() -> R) -> R {
    let mut live = live_temps();
    for path in live.drain(..) {
        let _ = std::fs::remove_file(path);
    }
    then()
}

/// `.NAME.*.tmp` files beside `target` (as [`AtomicFile`] names its
/// temporary files) that this process is not writing: left by a run that
/// was killed (SIGKILL, power loss) — or being written by another process
/// right now, so they are only named, never deleted.
pub fn leftover_temps(target: &Path) -> Vec<PathBuf> {
    let target = resolve_symlinks(target);
    let (dir, name) = dir_and_name(&target);
    let (prefix, live) = (format!(".{name}."), live_temps().clone());
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n.starts_with(&prefix) && n.ends_with(".tmp") && n.len() > prefix.len() + 4
        })
        .map(|e| e.path())
        .filter(|p| !live.iter().any(|l| l.file_name() == p.file_name()))
        .collect();
    found.sort();
    found
}

fn dir_and_name(target: &Path) -> (PathBuf, String) {
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (dir, name)
}

/// `path` with its symlinks followed to what they name (even when that does
/// not exist yet), so an output replaces the link's target, not the link.
pub fn resolve_symlinks(path: &Path) -> PathBuf {
    let mut p = path.to_path_buf();
    // as the kernel's ELOOP limit
    for _ in 0..40 {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => match std::fs::read_link(&p) {
                Ok(link) if link.is_absolute() => p = link,
                Ok(link) => p = p.parent().unwrap_or(Path::new("")).join(link),
                Err(_) => break,
            },
            _ => break,
        }
    }
    p
}

/// Where an output's bytes go: a regular file (or a new one) is written
/// under a temporary name and renamed over it on commit; a character
/// device, a FIFO or a socket (`/dev/null`, a named pipe) is written
/// straight through, as stdout is.
#[derive(Debug)]
pub enum OutputFile {
    Atomic(AtomicFile),
    Direct { path: PathBuf, file: File },
}

impl OutputFile {
    /// Opens `target` (symlinks followed) as an output.
    pub fn open(target: &Path) -> Result<OutputFile, IoError> {
        let resolved = resolve_symlinks(target);
        match std::fs::metadata(&resolved) {
            Ok(m) if m.is_file() => Ok(OutputFile::Atomic(AtomicFile::create_like(
                &resolved,
                Some(&m),
            )?)),
            Ok(m) if m.is_dir() => Err(IoError::Open {
                path: target.to_path_buf(),
                source: io::Error::new(io::ErrorKind::IsADirectory, "a directory, not a file"),
            }),
            Ok(_) => std::fs::OpenOptions::new()
                .write(true)
                .open(&resolved)
                .map(|file| OutputFile::Direct {
                    path: target.to_path_buf(),
                    file,
                })
                .map_err(|source| IoError::Open {
                    path: target.to_path_buf(),
                    source,
                }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(OutputFile::Atomic(
                AtomicFile::create_like(&resolved, None)?,
            )),
            Err(source) => Err(IoError::Open {
                path: target.to_path_buf(),
                source,
            }),
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            OutputFile::Atomic(f) => f.target(),
            OutputFile::Direct { path, .. } => path,
        }
    }

    pub fn file(&mut self) -> &mut File {
        match self {
            OutputFile::Atomic(f) => f.file(),
            OutputFile::Direct { file, .. } => file,
        }
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file().write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file().flush()
    }
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
    /// `None` only once committed.
    temp: Option<tempfile::NamedTempFile>,
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let mut live = live_temps();
            live.retain(|p| p != temp.path());
            // deleted while the registry is locked
            drop(temp);
        }
    }
}

impl std::fmt::Debug for AtomicFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AtomicFile")
            .field("target", &self.target)
            .field("temp", &self.temp.as_ref().map(|t| t.path()))
            .finish()
    }
}

impl AtomicFile {
    /// A new file at `target` (symlinks followed: see [`OutputFile::open`]
    /// for devices and FIFOs).
    pub fn create(target: &Path) -> Result<Self, IoError> {
        let resolved = resolve_symlinks(target);
        let old = std::fs::metadata(&resolved).ok().filter(|m| m.is_file());
        AtomicFile::create_like(&resolved, old.as_ref())
    }

    /// The temporary file beside `target`; with `old` (the file it will
    /// replace) it takes that file's mode, and owner where permitted.
    fn create_like(target: &Path, old: Option<&std::fs::Metadata>) -> Result<Self, IoError> {
        let (dir, name) = dir_and_name(target);
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        // Like any newly created file (0666 less the umask), not tempfile's 0600:
        // the result is an ordinary output, e.g. for a ClickHouse server to read.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let temp_err = |source| IoError::Temp {
            path: target.to_path_buf(),
            source,
        };
        let mut live = live_temps();
        let temp = builder.tempfile_in(&dir).map_err(temp_err)?;
        if let Some(old) = old {
            temp.as_file()
                .set_permissions(old.permissions())
                .map_err(temp_err)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                // only root may give a file away; others keep their own
                let _ = std::os::unix::fs::fchown(temp.as_file(), Some(old.uid()), Some(old.gid()));
            }
        }
        live.push(temp.path().to_path_buf());
        Ok(AtomicFile {
            target: target.to_path_buf(),
            temp: Some(temp),
        })
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    pub fn file(&mut self) -> &mut File {
        self.temp_mut().as_file_mut()
    }

    fn temp_mut(&mut self) -> &mut tempfile::NamedTempFile {
        self.temp
            .as_mut()
            .expect("an AtomicFile is used only until it is committed")
    }

    /// Flushes to disk (fsync) and renames over the target: for caches,
    /// which must survive a power loss.
    pub fn commit(mut self) -> Result<(), IoError> {
        self.temp_mut()
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
    pub fn commit_unsynced(mut self) -> Result<(), IoError> {
        let temp = self.temp.take().expect("committed once");
        let mut live = live_temps();
        live.retain(|p| p != temp.path());
        // renamed while the registry is locked: a signal handler removing
        // the temporary files waits, and then finds nothing to remove
        temp.persist(&self.target).map_err(|e| IoError::Persist {
            path: self.target.clone(),
            source: e.error,
        })?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.temp_mut().write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.temp_mut().flush()
    }
}

/// Writes `bytes` to `target`: atomically and synced for a file, straight
/// through for a device or FIFO (see [`OutputFile::open`]).
pub fn write_atomic(target: &Path, bytes: &[u8]) -> Result<(), IoError> {
    let mut out = OutputFile::open(target)?;
    let write_err = |source| IoError::Write {
        path: target.to_path_buf(),
        source,
    };
    out.write_all(bytes).map_err(write_err)?;
    match out {
        OutputFile::Atomic(f) => f.commit(),
        OutputFile::Direct { mut file, .. } => file.flush().map_err(write_err),
    }
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
