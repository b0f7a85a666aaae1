//! The dump arguments of `label` (SPEC §5): `-`, `NODE=FILE`, a directory
//! of dumps named after their nodes, or a plain file — expanded into
//! [`DumpInput`]s, each with the node it names, if any.

use std::fs;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// One dump to read and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpInput {
    /// `-` is stdin.
    pub path: PathBuf,
    /// Name in messages (`-` shows as `<stdin>`).
    pub display: String,
    /// The node the argument names (`NODE=FILE`, a directory entry, or `--node`).
    pub node: Option<String>,
}

impl DumpInput {
    pub fn is_stdin(&self) -> bool {
        crate::io::is_stdio(&self.path)
    }
}

/// A dump argument that cannot be used (a usage error).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DumpArgError {
    #[error("`-` (stdin) can be given only once")]
    StdinTwice,
    #[error("{0:?}: expected NODE=FILE")]
    BadPair(String),
    #[error("{0}: directory holds no dump files")]
    EmptyDir(String),
    #[error("{dir}: cannot list it: {message}")]
    ListDir { dir: String, message: String },
    #[error("{0}: file name is not UTF-8")]
    NotUtf8(String),
}

/// The dump suffixes stripped from a file name to get its node's name.
pub const DUMP_SUFFIXES: [&str; 5] = [".gz", ".zst", ".txt", ".log", ".conntrack"];

/// `ip-10-0-1-5.ec2.internal.txt.gz` → `ip-10-0-1-5.ec2.internal`.
pub fn node_from_file_name(name: &str) -> String {
    let mut n = name;
    loop {
        let before = n.len();
        for s in DUMP_SUFFIXES {
            if let Some(stripped) = n.strip_suffix(s) {
                if !stripped.is_empty() {
                    n = stripped;
                }
            }
        }
        if n.len() == before {
            return n.to_string();
        }
    }
}

/// The files of a dump directory, sorted; hidden files are skipped.
pub fn dir_entries(dir: &Path) -> Result<Vec<PathBuf>, DumpArgError> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| DumpArgError::ListDir {
            dir: dir.display().to_string(),
            message: e.to_string(),
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.'))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(DumpArgError::EmptyDir(dir.display().to_string()));
    }
    Ok(files)
}

/// Expands the DUMP arguments; `default_node` (`--node`) applies to plain
/// files and `-`.
pub fn expand(args: &[String], default_node: Option<&str>) -> Result<Vec<DumpInput>, DumpArgError> {
    let mut out = Vec::new();
    let mut stdin_seen = false;
    let mut stdin_once = || {
        if std::mem::replace(&mut stdin_seen, true) {
            Err(DumpArgError::StdinTwice)
        } else {
            Ok(())
        }
    };
    for arg in args {
        let as_path = Path::new(arg);
        if arg == "-" {
            stdin_once()?;
            out.push(DumpInput {
                path: as_path.to_path_buf(),
                display: "<stdin>".into(),
                node: default_node.map(str::to_string),
            });
        } else if as_path.is_dir() {
            for p in dir_entries(as_path)? {
                let name = p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .ok_or_else(|| DumpArgError::NotUtf8(p.display().to_string()))?;
                out.push(DumpInput {
                    display: p.display().to_string(),
                    node: Some(node_from_file_name(name)),
                    path: p,
                });
            }
        } else if let (false, Some((node, file))) = (as_path.exists(), arg.split_once('=')) {
            if node.is_empty() || file.is_empty() {
                return Err(DumpArgError::BadPair(arg.clone()));
            }
            if file == "-" {
                stdin_once()?;
            }
            out.push(DumpInput {
                path: PathBuf::from(file),
                display: if file == "-" {
                    "<stdin>".into()
                } else {
                    file.to_string()
                },
                node: Some(node.to_string()),
            });
        } else {
            out.push(DumpInput {
                path: as_path.to_path_buf(),
                display: arg.clone(),
                node: default_node.map(str::to_string),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_lose_dump_suffixes() {
        assert_eq!(
            node_from_file_name("ip-10-0-1-5.ec2.internal.txt.gz"),
            "ip-10-0-1-5.ec2.internal"
        );
        assert_eq!(node_from_file_name("node-a.conntrack.zst"), "node-a");
        assert_eq!(node_from_file_name("node-a.log"), "node-a");
        assert_eq!(node_from_file_name("node-a"), "node-a");
        // Only the listed suffixes.
        assert_eq!(node_from_file_name("node-a.json"), "node-a.json");
        assert_eq!(node_from_file_name(".txt"), ".txt");
    }

    #[test]
    fn dump_arguments_expand() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("b.example.txt.gz"), "").unwrap();
        fs::write(dir.path().join("a.example.log"), "").unwrap();
        fs::write(dir.path().join(".hidden"), "").unwrap();
        let d = dir.path().to_str().unwrap().to_string();
        let got = expand(
            &[d.clone(), "n1=x.txt".into(), "-".into(), "plain.txt".into()],
            Some("dflt"),
        )
        .unwrap();
        let summary: Vec<(String, Option<String>)> = got
            .iter()
            .map(|d| {
                (
                    d.path.file_name().unwrap().to_string_lossy().into_owned(),
                    d.node.clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("a.example.log".into(), Some("a.example".into())),
                ("b.example.txt.gz".into(), Some("b.example".into())),
                ("x.txt".into(), Some("n1".into())),
                ("-".into(), Some("dflt".into())),
                ("plain.txt".into(), Some("dflt".into())),
            ]
        );
        assert_eq!(
            expand(&["-".into(), "n=-".into()], None),
            Err(DumpArgError::StdinTwice)
        );
        assert_eq!(
            expand(&["=x".into()], None),
            Err(DumpArgError::BadPair("=x".into()))
        );
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            expand(&[empty.path().to_str().unwrap().into()], None),
            Err(DumpArgError::EmptyDir(_))
        ));
    }
}
