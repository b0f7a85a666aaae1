//! `kubenetmon classify`: look addresses up in the range table (SPEC §5,
//! §5.2), and classify them as §3.9 does when the local cloud and region
//! are known.

use std::io::{self, BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use kubenetmon::classify::{answer, tokens, Answer, Lookup, Owner};
use kubenetmon::inventory;
use kubenetmon::label::LabelIndex;
use serde::Serialize;

use super::common::{InventoryArgs, LocalArgs, RangeSourceArgs};
use super::zone_args::ZoneArgs;
use crate::cli::UsageError;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  kubenetmon classify 52.216.10.20 2600:1f18::1
  kubenetmon classify 52.216.10.20 --cloud aws --region us-east-1
  kubenetmon classify --json --inventory cluster.json < addresses.txt
  kubenetmon classify 8.8.8.8 --ranges ./ranges --aws ./ip-ranges.json
  kubenetmon classify 10.0.40.7 10.20.1.1 --subnets subnets.json --location 10.20.0.0/16=aws/eu-west-1

Without --cloud/--region (or an --inventory to infer them from) only the
range lookup is shown; with them, the connection class too. With --inventory,
an address that is a pod's (SPEC §3.5) or a node's InternalIP also gets that
pod (namespace/name) and node: POD and NODE columns, or \"pod\"/\"node\" keys
in --json; a pod's address is INTRA_VPC whatever its range. With --subnets/--zone
the ZONE column (`zone` key) shows the address's zone (its pod's or node's zone
first); with --location the LOCATION column (`location` key) the location CIDR
it is in.")]
pub struct ClassifyArgs {
    /// IP addresses to look up; read from stdin (whitespace-separated) for
    /// `-`, or when none are given and stdin is not a terminal
    #[arg(value_name = "IP")]
    pub ips: Vec<String>,
    #[command(flatten)]
    pub ranges: RangeSourceArgs,
    #[command(flatten)]
    pub local: LocalArgs,
    #[command(flatten)]
    pub inventory: InventoryArgs,
    #[command(flatten)]
    pub zones: ZoneArgs,
    /// One JSON object per line, per address, in input order
    #[arg(long)]
    pub json: bool,
    /// Do not print range-file warnings
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// §5.2's line, keys in its order; the inventory's keys after them, only when known.
#[derive(Serialize)]
struct JsonFound<'a> {
    ip: String,
    cloud: &'a str,
    region: &'a str,
    service: &'a str,
    prefix: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    class: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    zone: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    /// `namespace/name` of the pod with this IP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pod: Option<String>,
    /// The pod's node, or the node whose InternalIP this is.
    #[serde(skip_serializing_if = "Option::is_none")]
    node: Option<&'a str>,
    /// How many live pods claim this IP when no single one does.
    #[serde(skip_serializing_if = "Option::is_none")]
    multiple_pods: Option<usize>,
}

/// A stdin line that is not UTF-8: its text (undecodable bytes as U+FFFD)
/// in `ip`, as an unparsable address has its input there.
#[derive(Serialize)]
struct JsonBadLine<'a> {
    ip: &'a str,
    line: u64,
    error: String,
}

#[derive(Serialize)]
struct JsonError<'a> {
    ip: &'a str,
    error: String,
}

fn unparsable_message(input: &str) -> String {
    format!("{input:?} is not an IPv4 or IPv6 address")
}

/// One input of `classify`, in order: a token to answer, or a stdin line
/// that is not UTF-8 text (reported, its tokens not answered).
enum Input {
    Token(String),
    NotUtf8 {
        line: u64,
        text: String,
        why: String,
    },
}

/// The tokens of a reader's lines, read one line at a time (so memory
/// holds one line, whatever the input's size). A line that is not UTF-8 is
/// [`Input::NotUtf8`] and the next lines are read on; a read error ends
/// the tokens and is kept in `error`.
struct LineTokens<R> {
    reader: R,
    line: u64,
    buf: Vec<u8>,
    pending: std::collections::VecDeque<String>,
    error: Option<io::Error>,
}

impl<R: BufRead> LineTokens<R> {
    fn new(reader: R) -> Self {
        LineTokens {
            reader,
            line: 0,
            buf: Vec::new(),
            pending: Default::default(),
            error: None,
        }
    }
}

impl<R: BufRead> Iterator for LineTokens<R> {
    type Item = Input;

    fn next(&mut self) -> Option<Input> {
        loop {
            if let Some(t) = self.pending.pop_front() {
                return Some(Input::Token(t));
            }
            self.buf.clear();
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.error = Some(e);
                    return None;
                }
            }
            self.line += 1;
            let mut bytes = &self.buf[..];
            bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
            bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
            match std::str::from_utf8(bytes) {
                Ok(line) => self.pending.extend(tokens(line).map(str::to_string)),
                Err(e) => {
                    return Some(Input::NotUtf8 {
                        line: self.line,
                        text: String::from_utf8_lossy(bytes).into_owned(),
                        why: format!(
                            "byte 0x{:02x} at column {} is not UTF-8",
                            bytes[e.valid_up_to()],
                            e.valid_up_to() + 1
                        ),
                    })
                }
            }
        }
    }
}

/// The inputs in order: arguments, with `-` (or no arguments and a piped
/// stdin) standing for stdin's whitespace-separated tokens (read once, at
/// the first `-`). Lazy: stdin is read as the answers are written.
struct Inputs<'a, R> {
    args: std::slice::Iter<'a, String>,
    stdin: Option<LineTokens<R>>,
    /// stdin, until its first `-`.
    unread: Option<R>,
    /// A read error of stdin, which ended the inputs.
    error: Option<io::Error>,
}

impl<'a, R: BufRead> Inputs<'a, R> {
    fn new(args: &'a [String], stdin: R) -> Self {
        let mut inputs = Inputs {
            args: args.iter(),
            stdin: None,
            unread: Some(stdin),
            error: None,
        };
        if args.is_empty() {
            inputs.stdin = inputs.unread.take().map(LineTokens::new);
        }
        inputs
    }
}

impl<R: BufRead> Iterator for Inputs<'_, R> {
    type Item = Input;

    fn next(&mut self) -> Option<Input> {
        loop {
            if let Some(s) = &mut self.stdin {
                match s.next() {
                    Some(i) => return Some(i),
                    None => {
                        self.error = s.error.take();
                        self.stdin = None;
                        if self.error.is_some() {
                            self.args = [].iter();
                            return None;
                        }
                    }
                }
            }
            let a = self.args.next()?;
            if a == "-" {
                // A second `-` reads nothing more: stdin is used up.
                self.stdin = self.unread.take().map(LineTokens::new);
            } else {
                return Some(Input::Token(a.clone()));
            }
        }
    }
}

/// The message for a stdin line that is not UTF-8.
fn not_utf8_message(line: u64, why: &str) -> String {
    format!("stdin line {line} is not UTF-8 text ({why}); its addresses are not answered")
}

pub fn run(args: ClassifyArgs) -> anyhow::Result<ExitCode> {
    let ips_from_stdin = args.ips.is_empty() || args.ips.iter().any(|a| a == "-");
    if ips_from_stdin
        && args
            .inventory
            .inventory
            .iter()
            .any(|p| p.as_os_str() == "-")
    {
        return Err(UsageError::new(
            "stdin (`-`) cannot hold both the addresses and the inventory; \
             pass the addresses as arguments or the inventory as a file",
        )
        .into());
    }
    if ips_from_stdin && args.zones.reads_stdin() {
        return Err(UsageError::new(
            "stdin (`-`) cannot hold both the addresses and --subnets; \
             pass the addresses as arguments or the subnets as a file",
        )
        .into());
    }
    crate::cli::check_stdout_open("the answers")?;
    if args.ips.is_empty() && io::stdin().is_terminal() {
        return Err(
            UsageError::new("no addresses given: pass them as arguments or on stdin").into(),
        );
    }
    let inventory = if args.inventory.inventory.is_empty() {
        None
    } else {
        Some(inventory::load(&args.inventory.inventory).context("cannot load the inventory")?)
    };
    crate::cli::messages::set_quiet(args.quiet);
    let (cloud, region) = args.local.cloud_and_region(inventory.as_ref())?;
    let loaded = args.ranges.load(cloud)?;
    let local = args.local.resolve(cloud, region, &loaded.table)?;
    let zones = if args.zones.has_zone_map() {
        Some(args.zones.zone_map()?)
    } else {
        None
    };
    // SPEC §7: the IPv6 CIDRs of --subnets are private too.
    let private = args
        .local
        .private_nets()
        .and(zones.iter().flat_map(|z| z.subnet_ipv6().iter().copied()));
    let locations = args.zones.locations(&loaded.table)?;
    let at = Lookup {
        table: &loaded.table,
        local: local.as_ref(),
        private: &private,
        zones: zones.as_ref(),
        locations: &locations,
        pods: inventory.as_ref().map(|inv| (inv, LabelIndex::new(inv))),
    };

    let mut inputs = Inputs::new(&args.ips, io::stdin().lock());
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let result = if args.json {
        write_json(&mut out, &mut inputs, &at)
    } else {
        write_table(
            &mut out,
            &mut inputs,
            &at,
            Columns {
                class: local.is_some(),
                zone: zones.is_some(),
                location: !locations.is_empty(),
                pods: at.pods.is_some(),
            },
            TABLE_WINDOW,
        )
    }
    .and_then(|failed| out.flush().map(|()| failed));
    if let Some(e) = inputs.error.take() {
        return Err(e).context("cannot read addresses from stdin");
    }
    match result {
        Ok(failed) => Ok(if failed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        }),
        // A closed pipe (`| head`) is the reader's choice, not our failure.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e).context("cannot write to stdout"),
    }
}

/// Writes one line per answer; true when some input failed.
fn write_json(
    out: &mut impl Write,
    inputs: &mut dyn Iterator<Item = Input>,
    at: &Lookup<'_>,
) -> io::Result<bool> {
    let mut failed = false;
    for input in inputs {
        let token = match input {
            Input::Token(t) => t,
            Input::NotUtf8 { line, text, why } => {
                failed = true;
                let line = JsonBadLine {
                    ip: &text,
                    line,
                    error: not_utf8_message(line, &why),
                };
                serde_json::to_writer(&mut *out, &line)?;
                out.write_all(b"\n")?;
                continue;
            }
        };
        match answer(&token, at) {
            Answer::Found {
                ip,
                cloud,
                region,
                service,
                prefix,
                class,
                zone,
                location,
                error,
                owner,
            } => {
                failed |= error.is_some();
                let line = JsonFound {
                    ip: ip.to_string(),
                    cloud: &cloud,
                    region: &region,
                    service: &service,
                    prefix: &prefix,
                    class,
                    zone: zone.as_deref(),
                    location: location.as_deref(),
                    error: error.as_deref(),
                    pod: owner.and_then(|o| o.pod()),
                    node: owner.as_ref().and_then(Owner::node),
                    multiple_pods: owner.and_then(|o| o.multiple()),
                };
                serde_json::to_writer(&mut *out, &line)?;
            }
            Answer::Unparsable { input } => {
                failed = true;
                let line = JsonError {
                    ip: &input,
                    error: unparsable_message(&input),
                };
                serde_json::to_writer(&mut *out, &line)?;
            }
        }
        out.write_all(b"\n")?;
    }
    Ok(failed)
}

/// The optional columns of the table.
struct Columns {
    class: bool,
    zone: bool,
    location: bool,
    pods: bool,
}

/// How many rows the table's column widths are taken from: the rows after
/// them are written as they come, in those widths (a longer cell pushes
/// the rest of its row right), so memory stays bounded whatever the input.
const TABLE_WINDOW: usize = 4096;

/// An aligned table; `-` marks empty values. Unparsable inputs (and stdin
/// lines that are not UTF-8) are reported on stderr. Widths come from the
/// header and the first `window` rows.
fn write_table(
    out: &mut impl Write,
    inputs: &mut dyn Iterator<Item = Input>,
    at: &Lookup<'_>,
    with: Columns,
    window: usize,
) -> io::Result<bool> {
    let mut header = vec!["IP", "CLOUD", "REGION", "SERVICE", "PREFIX"];
    if with.class {
        header.push("CLASS");
    }
    if with.zone {
        header.push("ZONE");
    }
    if with.location {
        header.push("LOCATION");
    }
    if with.pods {
        header.extend(["POD", "NODE"]);
    }
    let header: Vec<String> = header.iter().map(|s| s.to_string()).collect();
    let mut first: Vec<Vec<String>> = Vec::new();
    let mut widths: Option<Vec<usize>> = None;
    let mut failed = false;
    for input in inputs {
        let token = match input {
            Input::Token(t) => t,
            Input::NotUtf8 { line, why, .. } => {
                failed = true;
                err!("{}", not_utf8_message(line, &why));
                continue;
            }
        };
        let row = match answer(&token, at) {
            Answer::Found {
                ip,
                cloud,
                region,
                service,
                prefix,
                class,
                zone,
                location,
                error,
                owner,
            } => {
                let dash = |s: String| if s.is_empty() { "-".to_string() } else { s };
                let mut row = vec![
                    ip.to_string(),
                    dash(cloud),
                    dash(region),
                    dash(service),
                    dash(prefix),
                ];
                if with.class {
                    row.push(class.unwrap_or("-").to_string());
                }
                if with.zone {
                    row.push(dash(zone.unwrap_or_default()));
                }
                if with.location {
                    row.push(dash(location.unwrap_or_default()));
                }
                if with.pods {
                    let pod = match owner {
                        Some(Owner::MultiplePods(n)) => format!("{n} pods"),
                        o => dash(o.and_then(|o| o.pod()).unwrap_or_default()),
                    };
                    let node = owner.as_ref().and_then(Owner::node).unwrap_or("-");
                    row.extend([pod, node.to_string()]);
                }
                if let Some(e) = error {
                    failed = true;
                    err!("{e}");
                }
                row
            }
            Answer::Unparsable { input } => {
                failed = true;
                err!("{}", unparsable_message(&input));
                continue;
            }
        };
        match &widths {
            Some(w) => write_row(out, &row, w)?,
            None => {
                first.push(row);
                if first.len() >= window {
                    widths = Some(flush_window(out, &header, &mut first)?);
                }
            }
        }
    }
    if widths.is_none() && !first.is_empty() {
        flush_window(out, &header, &mut first)?;
    }
    // No row at all (empty input, or only unparsable ones): no header either.
    Ok(failed)
}

/// Writes the header and the rows held so far in the widths they need;
/// returns those widths.
fn flush_window(
    out: &mut impl Write,
    header: &[String],
    rows: &mut Vec<Vec<String>>,
) -> io::Result<Vec<usize>> {
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            std::iter::once(header)
                .chain(rows.iter().map(Vec::as_slice))
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    write_row(out, header, &widths)?;
    for row in rows.drain(..) {
        write_row(out, &row, &widths)?;
    }
    Ok(widths)
}

fn write_row(out: &mut impl Write, row: &[String], widths: &[usize]) -> io::Result<()> {
    let mut line = String::new();
    for (c, cell) in row.iter().enumerate() {
        if c + 1 == row.len() {
            line.push_str(cell);
        } else {
            line.push_str(&format!("{cell:<w$}  ", w = widths[c]));
        }
    }
    writeln!(out, "{line}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubenetmon::label::{Locations, PrivateNets};
    use kubenetmon::ranges::RangeTable;

    fn tokens_of(inputs: impl Iterator<Item = Input>) -> Vec<String> {
        inputs
            .map(|i| match i {
                Input::Token(t) => t,
                Input::NotUtf8 { line, text, why } => format!("<{line}:{text}:{why}>"),
            })
            .collect()
    }

    #[test]
    fn stdin_stands_where_its_dash_is_and_is_read_once() {
        let args: Vec<String> = ["1.1.1.1", "-", "2.2.2.2", "-"].map(String::from).into();
        let stdin = &b"10.0.0.1 10.0.0.2 # comment\r\n\n10.0.0.3"[..];
        let got = tokens_of(Inputs::new(&args, stdin));
        assert_eq!(
            got,
            ["1.1.1.1", "10.0.0.1", "10.0.0.2", "10.0.0.3", "2.2.2.2"]
        );
        // no arguments: stdin alone
        let got = tokens_of(Inputs::new(&[], &b"a b\nc\n"[..]));
        assert_eq!(got, ["a", "b", "c"]);
    }

    #[test]
    fn a_line_that_is_not_utf8_is_reported_with_its_number_and_the_rest_read() {
        let stdin = &b"10.0.0.1\n10.0.0.2 \xff\xfe 10.0.0.9\n10.0.0.3\n"[..];
        let got = tokens_of(Inputs::new(&[], stdin));
        assert_eq!(
            got,
            [
                "10.0.0.1",
                "<2:10.0.0.2 \u{fffd}\u{fffd} 10.0.0.9:byte 0xff at column 10 is not UTF-8>",
                "10.0.0.3"
            ]
        );
    }

    /// A reader failing after its first line.
    struct Failing(bool);
    impl io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if std::mem::replace(&mut self.0, true) {
                return Err(io::Error::other("disk on fire"));
            }
            buf[..9].copy_from_slice(b"10.0.0.1\n");
            Ok(9)
        }
    }

    #[test]
    fn a_read_error_ends_the_inputs_and_is_kept() {
        let args: Vec<String> = ["-", "2.2.2.2"].map(String::from).into();
        let mut inputs = Inputs::new(&args, io::BufReader::new(Failing(false)));
        assert_eq!(tokens_of(inputs.by_ref()), ["10.0.0.1"]);
        assert_eq!(inputs.error.unwrap().to_string(), "disk on fire");
    }

    fn table_of(stdin: &str, window: usize) -> String {
        let (table, private, locations) = (
            RangeTable::from_entries(vec![]),
            PrivateNets::upstream(),
            Locations::default(),
        );
        let at = Lookup {
            table: &table,
            local: None,
            private: &private,
            zones: None,
            locations: &locations,
            pods: None,
        };
        let with = Columns {
            class: false,
            zone: false,
            location: false,
            pods: false,
        };
        let mut out = Vec::new();
        let mut inputs = Inputs::new(&[], stdin.as_bytes());
        write_table(&mut out, &mut inputs, &at, with, window).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_table_takes_its_widths_from_the_first_window_then_streams() {
        // Everything fits the window: aligned on the widest address.
        let all = table_of("1.1.1.1\n2001:db8::1\n", 10);
        assert_eq!(
            all,
            "IP           CLOUD  REGION  SERVICE  PREFIX\n\
             1.1.1.1      -      -       -        -\n\
             2001:db8::1  -      -       -        -\n"
        );
        // A window of one: the header and the first row set the widths; the
        // wider address after it pushes its own row only.
        let streamed = table_of("1.1.1.1\n2001:db8::1\n3.3.3.3\n", 1);
        let lines: Vec<&str> = streamed.lines().collect();
        assert_eq!(lines[0], "IP       CLOUD  REGION  SERVICE  PREFIX");
        assert_eq!(lines[1], "1.1.1.1  -      -       -        -");
        assert_eq!(lines[2], "2001:db8::1  -      -       -        -");
        assert_eq!(lines[3], "3.3.3.3  -      -       -        -");
        // No address answered: no header.
        assert_eq!(table_of("nope\n", 1), "");
    }
}
