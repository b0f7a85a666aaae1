//! What every integration test needs: the binary with no ambient
//! configuration, a work directory per test, paths into testdata/, and the
//! one policy for a missing prerequisite.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;

/// The cache directory the binary is pointed at: never created, so no test
/// finds range files its author did not pass.
pub const NO_CACHE: &str = "/nonexistent-kubenetmon-test-cache";

/// Variables that would send `ranges fetch` through a proxy (reqwest reads
/// them; `REQUEST_METHOD` makes it ignore `HTTP_PROXY`).
const PROXY_VARS: [&str; 9] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "REQUEST_METHOD",
];

/// `kubenetmon` with nothing inherited that changes what it does (see
/// [`isolated`]), killed after two minutes instead of hanging the run.
pub fn kubenetmon() -> Command {
    let mut c = Command::from_std(isolated(env!("CARGO_BIN_EXE_kubenetmon")));
    c.timeout(Duration::from_secs(120));
    c
}

/// `program` without the environment that would change what kubenetmon
/// does when it runs it (or is it): every `KUBENETMON_*` variable and proxy
/// variable removed, the cache in [`NO_CACHE`], help wrapped at 100 columns,
/// no forced colour.
pub fn isolated(program: impl AsRef<OsStr>) -> std::process::Command {
    isolated_from(program, std::env::vars_os())
}

/// [`isolated`] as if the test process's environment were `parent`.
fn isolated_from(
    program: impl AsRef<OsStr>,
    parent: impl IntoIterator<Item = (OsString, OsString)>,
) -> std::process::Command {
    let mut c = std::process::Command::new(program);
    for (key, _) in parent {
        if key.to_str().is_some_and(|k| k.starts_with("KUBENETMON_")) {
            c.env_remove(key);
        }
    }
    for v in PROXY_VARS {
        c.env_remove(v);
    }
    c.env("XDG_CACHE_HOME", NO_CACHE)
        .env("COLUMNS", "100")
        .env_remove("CLICOLOR_FORCE");
    c
}

/// `testdata/REL`, absolute, so it holds whatever the binary's working
/// directory.
pub fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

/// A new workdir holding the files `keep` of the range-file directory
/// `from` (e.g. to test what a missing provider file does).
pub fn ranges_subset(from: &Path, keep: &[&str]) -> Workdir {
    let dir = Workdir::new();
    for f in keep {
        dir.copy(&from.join(f), f);
    }
    dir
}

/// A directory of one's own for one test, removed when it is dropped.
pub struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::Builder::new()
                .prefix("kubenetmon-test-")
                .tempdir()
                .expect("create a temporary directory"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.path().join(rel)
    }

    /// Writes `rel` (creating its directories) and returns its path.
    pub fn write(&self, rel: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// Copies `from` into the directory as `rel` and returns the new path.
    pub fn copy(&self, from: &Path, rel: impl AsRef<Path>) -> PathBuf {
        let to = self.join(rel);
        std::fs::copy(from, &to)
            .unwrap_or_else(|e| panic!("copy {} to {}: {e}", from.display(), to.display()));
        to
    }

    /// The text of `rel`.
    pub fn read(&self, rel: impl AsRef<Path>) -> String {
        let path = self.join(rel);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }
}

/// The real vendor range files in `../shared/ranges` (all four), or `None`
/// where they are missing and the test may skip (see [`require`]).
pub fn real_ranges() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/ranges");
    let present = [
        "aws-ip-ranges.json",
        "gcp-cloud.json",
        "google-goog.json",
        "azure-service-tags-public.json",
    ]
    .iter()
    .all(|f| dir.join(f).is_file());
    let what = format!("the real range files in {}", dir.display());
    require(&what, present).then_some(dir)
}

/// Whether a test whose prerequisite is `what` may go on. When it is not
/// `available`, the test fails under CI (`CI=true` or `CI=1`), where
/// everything must be installed — a skipped check there is a check that
/// cannot fail — and elsewhere prints `SKIPPED: …` and returns false.
pub fn require(what: &str, available: bool) -> bool {
    // Straight to stderr, past the test harness's capture, so that a skip
    // shows in `cargo test`'s output.
    require_in(
        std::env::var_os("CI").as_deref(),
        what,
        available,
        &mut std::io::stderr(),
    )
}

/// [`require`] given the value of `CI` and where the skip note goes.
fn require_in(ci: Option<&OsStr>, what: &str, available: bool, log: &mut dyn Write) -> bool {
    if available {
        return true;
    }
    if strict(ci) {
        panic!(
            "{what} is missing, and under CI every prerequisite must be there \
             (.ci/run installs them)"
        );
    }
    let _ = writeln!(log, "SKIPPED: {what} is missing (under CI=true this fails)");
    false
}

/// `CI` says that missing prerequisites are failures.
fn strict(ci: Option<&OsStr>) -> bool {
    ci.and_then(OsStr::to_str)
        .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

#[test]
fn isolated_removes_every_kubenetmon_and_proxy_variable() {
    let parent = [
        ("KUBENETMON_RANGES", "/somewhere"),
        ("KUBENETMON_AN_OPTION_ADDED_LATER", "x"),
        ("HOME", "/root"),
    ]
    .map(|(k, v)| (OsString::from(k), OsString::from(v)));
    let c = isolated_from("kubenetmon", parent);
    let envs: HashMap<&OsStr, Option<&OsStr>> = c.get_envs().collect();
    let get = |k: &str| envs.get(OsStr::new(k)).copied();
    // Some(None): removed; None: inherited unchanged.
    assert_eq!(get("KUBENETMON_RANGES"), Some(None));
    assert_eq!(get("KUBENETMON_AN_OPTION_ADDED_LATER"), Some(None));
    assert_eq!(get("HOME"), None);
    for v in ["HTTPS_PROXY", "http_proxy", "NO_PROXY", "REQUEST_METHOD"] {
        assert_eq!(get(v), Some(None), "{v}");
    }
    assert_eq!(get("XDG_CACHE_HOME"), Some(Some(OsStr::new(NO_CACHE))));
    assert_eq!(get("COLUMNS"), Some(Some(OsStr::new("100"))));
    assert!(!Path::new(NO_CACHE).exists());
}

#[test]
fn ci_is_strict_when_true_or_1() {
    for (ci, want) in [
        (None, false),
        (Some("true"), true),
        (Some("TRUE"), true),
        (Some("1"), true),
        (Some("false"), false),
        (Some("0"), false),
        (Some(""), false),
        (Some("yes"), false),
    ] {
        assert_eq!(strict(ci.map(OsStr::new)), want, "CI={ci:?}");
    }
}

#[test]
fn a_present_prerequisite_runs_under_any_ci_value() {
    for ci in [None, Some("true"), Some("1"), Some("false")] {
        let mut log = Vec::new();
        assert!(require_in(ci.map(OsStr::new), "x", true, &mut log));
        assert!(log.is_empty(), "CI={ci:?}");
    }
}

#[test]
fn a_missing_prerequisite_is_skipped_with_a_note_outside_ci() {
    for ci in [None, Some("false"), Some("0")] {
        let mut log = Vec::new();
        assert!(!require_in(
            ci.map(OsStr::new),
            "python3 with chdb",
            false,
            &mut log
        ));
        assert_eq!(
            String::from_utf8(log).unwrap(),
            "SKIPPED: python3 with chdb is missing (under CI=true this fails)\n",
            "CI={ci:?}"
        );
    }
}

#[test]
#[should_panic(expected = "python3 with chdb is missing, and under CI")]
fn a_missing_prerequisite_fails_under_ci_true() {
    require_in(
        Some(OsStr::new("true")),
        "python3 with chdb",
        false,
        &mut Vec::new(),
    );
}

#[test]
#[should_panic(expected = "../shared/ranges is missing, and under CI")]
fn a_missing_prerequisite_fails_under_ci_1() {
    require_in(
        Some(OsStr::new("1")),
        "../shared/ranges",
        false,
        &mut Vec::new(),
    );
}

#[test]
fn workdir_writes_reads_and_is_removed() {
    let work = Workdir::new();
    let path = work.write("a/b/c.txt", "text");
    assert_eq!(path, work.path().join("a/b/c.txt"));
    assert_eq!(work.read("a/b/c.txt"), "text");
    let copy = work.copy(&path, "d.txt");
    assert_eq!(std::fs::read_to_string(copy).unwrap(), "text");
    let root = work.path().to_path_buf();
    drop(work);
    assert!(!root.exists());
}
