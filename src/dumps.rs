//! The dump arguments of `label` (SPEC §5): `-`, `NODE=FILE`, a directory
//! of dumps named after their nodes, or a plain file — expanded into
//! [`DumpInput`]s, each with the node it names, if any. And the same forms
//! for `--baseline` (SPEC §8), paired with the dumps by node
//! ([`expand_baselines`]).

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

/// One argument: stdin, a directory's dumps, `NODE=FILE`, or a plain file
/// (which gets `default_node`).
fn expand_one(
    arg: &str,
    default_node: Option<&str>,
    stdin_once: &mut dyn FnMut() -> Result<(), DumpArgError>,
    out: &mut Vec<DumpInput>,
) -> Result<(), DumpArgError> {
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
            return Err(DumpArgError::BadPair(arg.to_string()));
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
            display: arg.to_string(),
            node: default_node.map(str::to_string),
        });
    }
    Ok(())
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
        expand_one(arg, default_node, &mut stdin_once, &mut out)?;
    }
    Ok(out)
}

/// A `--baseline` argument that cannot be used (a usage error).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BaselineArgError {
    #[error("--baseline: {0}")]
    Arg(#[from] DumpArgError),
    #[error(
        "--baseline {file}: give either one baseline file or baselines by node \
         (directories of dumps named after their nodes, NODE=FILE), not both"
    )]
    Mixed { file: String },
    #[error(
        "--baseline: {first} and {second} are both plain files; a plain file is the \
         baseline of the one dump — with several dumps give a directory of baselines \
         named after their nodes, or NODE=FILE pairs"
    )]
    TwoFiles { first: String, second: String },
    #[error(
        "--baseline {file}: one baseline file is for one dump, but {dumps} dumps were \
         given; give a directory of baselines named after their nodes, or NODE=FILE pairs"
    )]
    FileForSeveral { file: String, dumps: usize },
    #[error("--baseline: node {node} has two baselines, {first} and {second}")]
    NodeTwice {
        node: String,
        first: String,
        second: String,
    },
    #[error(
        "no baseline for node {node} (dump {dump}): --baseline names only {given}; \
         every dump needs the earlier snapshot of its node"
    )]
    Missing {
        node: String,
        dump: String,
        given: String,
    },
    #[error(
        "{dump}: its node is not known, so no baseline can be chosen for it by node; \
         give NODE={dump} (or --node), or an --inventory to infer it"
    )]
    NodeUnknown { dump: String },
    #[error("`-` (stdin) can be given only once, as a dump or as a baseline")]
    StdinTwice,
}

/// The `--baseline` arguments, expanded (SPEC §8).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baselines {
    /// A plain file (or `-`): the baseline of the one dump.
    pub file: Option<DumpInput>,
    /// `NODE=FILE` pairs and the files of directories, each naming its node.
    pub by_node: Vec<DumpInput>,
}

/// Expands the `--baseline` arguments against the dumps they are for:
/// the forms of [`expand`] (without `--node`), and the checks that need
/// no node yet — one plain file for exactly one dump, never both forms,
/// a node at most once, stdin once.
pub fn expand_baselines(
    args: &[String],
    dumps: &[DumpInput],
) -> Result<Baselines, BaselineArgError> {
    let mut stdin_seen = dumps.iter().any(DumpInput::is_stdin);
    let mut stdin_once = || {
        if std::mem::replace(&mut stdin_seen, true) {
            Err(DumpArgError::StdinTwice)
        } else {
            Ok(())
        }
    };
    let mut all = Vec::new();
    for arg in args {
        expand_one(arg, None, &mut stdin_once, &mut all).map_err(|e| match e {
            DumpArgError::StdinTwice => BaselineArgError::StdinTwice,
            e => e.into(),
        })?;
    }
    let mut out = Baselines::default();
    for b in all {
        if b.node.is_none() {
            if let Some(first) = &out.file {
                return Err(BaselineArgError::TwoFiles {
                    first: first.display.clone(),
                    second: b.display,
                });
            }
            out.file = Some(b);
        } else {
            if let Some(first) = out.by_node.iter().find(|o| o.node == b.node) {
                return Err(BaselineArgError::NodeTwice {
                    node: b.node.unwrap_or_default(),
                    first: first.display.clone(),
                    second: b.display,
                });
            }
            out.by_node.push(b);
        }
    }
    if let (Some(file), false) = (&out.file, out.by_node.is_empty()) {
        return Err(BaselineArgError::Mixed {
            file: file.display.clone(),
        });
    }
    if let (Some(file), true) = (&out.file, dumps.len() > 1) {
        return Err(BaselineArgError::FileForSeveral {
            file: file.display.clone(),
            dumps: dumps.len(),
        });
    }
    Ok(out)
}

impl Baselines {
    pub fn is_empty(&self) -> bool {
        self.file.is_none() && self.by_node.is_empty()
    }

    /// The baseline of `dump`, taken on `node` (given or inferred; `None`
    /// when unknown). `Ok(None)` only without any `--baseline`.
    pub fn of(
        &self,
        dump: &DumpInput,
        node: Option<&str>,
    ) -> Result<Option<&DumpInput>, BaselineArgError> {
        if self.is_empty() {
            return Ok(None);
        }
        if let Some(f) = &self.file {
            return Ok(Some(f));
        }
        let Some(node) = node else {
            return Err(BaselineArgError::NodeUnknown {
                dump: dump.display.clone(),
            });
        };
        match self
            .by_node
            .iter()
            .find(|b| b.node.as_deref() == Some(node))
        {
            Some(b) => Ok(Some(b)),
            None => Err(BaselineArgError::Missing {
                node: node.to_string(),
                dump: dump.display.clone(),
                given: self.named_nodes(),
            }),
        }
    }

    /// Baselines by node for none of `nodes` (a node that had no dump).
    pub fn unused<'s>(&'s self, nodes: &[&str]) -> Vec<&'s DumpInput> {
        self.by_node
            .iter()
            .filter(|b| !nodes.contains(&b.node.as_deref().unwrap_or_default()))
            .collect()
    }

    fn named_nodes(&self) -> String {
        const SHOWN: usize = 5;
        let names: Vec<&str> = self
            .by_node
            .iter()
            .filter_map(|b| b.node.as_deref())
            .take(SHOWN)
            .collect();
        let more = self.by_node.len().saturating_sub(SHOWN);
        let mut text = names.join(", ");
        if more > 0 {
            text.push_str(&format!(" and {more} more"));
        }
        text
    }
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

    #[test]
    fn baseline_arguments_expand_and_pair_by_node() {
        let dir = tempfile::tempdir().unwrap();
        let prev = dir.path().join("prev");
        fs::create_dir(&prev).unwrap();
        fs::write(prev.join("node-a.txt.gz"), "").unwrap();
        fs::write(prev.join("node-b.log"), "").unwrap();
        let p = prev.to_str().unwrap().to_string();
        let dumps = expand(&["node-a=a.txt".into(), "node-b=b.txt".into()], None).unwrap();
        let b = expand_baselines(&[p.clone(), "node-c=c0.txt".into()], &dumps).unwrap();
        assert_eq!(b.file, None);
        let of = |n: &str| {
            b.of(&dumps[0], Some(n))
                .map(|d| d.map(|d| d.path.file_name().unwrap().to_string_lossy().into_owned()))
        };
        assert_eq!(of("node-a"), Ok(Some("node-a.txt.gz".into())));
        assert_eq!(of("node-b"), Ok(Some("node-b.log".into())));
        assert_eq!(of("node-c"), Ok(Some("c0.txt".into())));
        let missing = b.of(&dumps[0], Some("node-x")).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "no baseline for node node-x (dump a.txt): --baseline names only node-a, node-b, \
             node-c; every dump needs the earlier snapshot of its node"
        );
        assert!(matches!(
            b.of(&dumps[0], None),
            Err(BaselineArgError::NodeUnknown { .. })
        ));
        let unused: Vec<_> = b
            .unused(&["node-a", "node-b"])
            .iter()
            .map(|d| d.node.clone().unwrap())
            .collect();
        assert_eq!(unused, vec!["node-c".to_string()]);

        // A plain file is the baseline of the one dump, whatever its node.
        let one = expand(&["a.txt".into()], None).unwrap();
        let b = expand_baselines(&["prev.txt".into()], &one).unwrap();
        assert_eq!(b.of(&one[0], None).unwrap().unwrap().display, "prev.txt");
        assert_eq!(b.of(&one[0], None).unwrap().unwrap().node, None);
        // No --baseline: none.
        assert_eq!(Baselines::default().of(&one[0], None), Ok(None));
    }

    #[test]
    fn baseline_argument_mistakes() {
        let two = expand(&["node-a=a.txt".into(), "node-b=b.txt".into()], None).unwrap();
        let one = expand(&["a.txt".into()], None).unwrap();
        let err = |args: &[&str], dumps: &[DumpInput]| {
            let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            expand_baselines(&args, dumps).unwrap_err()
        };
        assert!(matches!(
            err(&["prev.txt"], &two),
            BaselineArgError::FileForSeveral { dumps: 2, .. }
        ));
        assert!(matches!(
            err(&["p1.txt", "p2.txt"], &one),
            BaselineArgError::TwoFiles { .. }
        ));
        assert!(matches!(
            err(&["p1.txt", "node-a=p2.txt"], &one),
            BaselineArgError::Mixed { .. }
        ));
        assert_eq!(
            err(&["node-a=p1.txt", "node-a=p2.txt"], &one),
            BaselineArgError::NodeTwice {
                node: "node-a".into(),
                first: "p1.txt".into(),
                second: "p2.txt".into()
            }
        );
        let stdin = expand(&["-".into()], Some("n")).unwrap();
        assert_eq!(err(&["-"], &stdin), BaselineArgError::StdinTwice);
        assert_eq!(err(&["n=-"], &stdin), BaselineArgError::StdinTwice);
        assert!(expand_baselines(&["-".into()], &one).is_ok());
        assert_eq!(
            err(&["=x"], &one),
            BaselineArgError::Arg(DumpArgError::BadPair("=x".into()))
        );
    }
}
