//! The output sinks through their public API: exact CSV text, Parquet types
//! and values read back with the parquet crate, stdout, compression, and the
//! all-or-nothing file behaviour.

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::process::Command;

use arrow::array::{
    Array, AsArray, Date32Array, MapArray, StringArray, TimestampMillisecondArray, UInt16Array,
    UInt64Array,
};
use arrow::datatypes::{DataType, Int32Type, TimeUnit};
use kubenetmon::model::{
    Cloud, ConnectionClass, Counters, Endpoint, FlagNames, FlagSet, LabelledFlow, LocalSite,
    Protocol, RemoteSite, RunMeta,
};
use kubenetmon::output::{open_path, Format, OutputError, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

const HEADER: &str = "date,intervalStartTime,intervalSeconds,environment,proto,connectionClass,\
connectionFlags,direction,localCloud,localRegion,localCluster,localCell,localAvailabilityZone,\
localNode,localInstanceID,localNamespace,localPod,localIPv4,localPort,localApp,remoteCloud,\
remoteRegion,remoteCluster,remoteCell,remoteAvailabilityZone,remoteNode,remoteInstanceID,\
remoteNamespace,remotePod,remoteIPv4,remotePort,remoteApp,remoteCloudService,bytes,packets";

fn meta() -> RunMeta {
    RunMeta {
        environment: "production".into(),
        local: LocalSite {
            cloud: Cloud::Aws,
            region: "us-east-1".into(),
        },
        cluster: "prod-1".into(),
        interval_seconds: 60,
        flag_names: FlagNames::default(),
    }
}

/// A pod in `shop` talking to S3; observed 2023-11-14 22:13:20 UTC.
fn known_flow() -> LabelledFlow<'static> {
    LabelledFlow {
        observed_at: 1_700_000_000,
        proto: Protocol::Tcp,
        class: ConnectionClass::IntraRegion,
        local: Endpoint {
            ip: IpAddr::V4(Ipv4Addr::new(10, 244, 1, 11)),
            port: 36560,
            availability_zone: "us-east-1a",
            node: "ip-10-0-1-10.ec2.internal",
            instance_id: "cp-7",
            namespace: "shop",
            pod: "web-5d9c7",
            app: "web",
        },
        remote: Endpoint::bare(IpAddr::V4(Ipv4Addr::new(52, 216, 10, 20)), 443),
        remote_site: RemoteSite::from_text("aws", "us-east-1", "s3"),
        flags: FlagSet::EMPTY,
        out: Counters {
            packets: 6,
            bytes: 399,
        },
        inbound: Counters {
            packets: 7,
            bytes: 697,
        },
    }
}

const OUT_ROW: &str = "2023-11-14,2023-11-14 22:13:00,60,production,tcp,INTRA_REGION,{},out,\
aws,us-east-1,prod-1,,us-east-1a,ip-10-0-1-10.ec2.internal,cp-7,shop,web-5d9c7,10.244.1.11,36560,web,\
aws,us-east-1,UNKNOWN,,,,,,,52.216.10.20,443,,s3,399,6";
const IN_ROW: &str = "2023-11-14,2023-11-14 22:13:00,60,production,tcp,INTRA_REGION,{},in,\
aws,us-east-1,prod-1,,us-east-1a,ip-10-0-1-10.ec2.internal,cp-7,shop,web-5d9c7,10.244.1.11,36560,web,\
aws,us-east-1,UNKNOWN,,,,,,,52.216.10.20,443,,s3,697,7";

fn write(path: &Path, format: Option<Format>, flows: &[LabelledFlow<'_>]) -> u64 {
    let mut sink = open_path(path, format, Schema::Upstream, &meta()).unwrap();
    sink.write_batch(flows).unwrap();
    sink.finish().unwrap().commit().unwrap()
}

/// `n` distinct flows with varying names, classes, times and counters.
fn many_flows(names: &[String], n: usize) -> Vec<LabelledFlow<'_>> {
    (0..n)
        .map(|i| {
            let mut f = known_flow();
            f.observed_at += (i % 500) as i64;
            f.class = ConnectionClass::ALL[i % 4];
            f.proto = if i % 3 == 0 {
                Protocol::Udp
            } else {
                Protocol::Tcp
            };
            f.local.pod = &names[i % names.len()];
            f.local.ip = IpAddr::V4(Ipv4Addr::from(0x0af4_0000 + (i % 1000) as u32));
            f.local.port = (i % 65_536) as u16;
            f.out.bytes = i as u64;
            f.inbound.bytes = 3 * i as u64;
            f
        })
        .collect()
}

#[test]
fn csv_header_and_rows_are_exact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flows.csv");
    assert_eq!(write(&path, None, &[known_flow()]), 2);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text, format!("{HEADER}\n{OUT_ROW}\n{IN_ROW}\n"));
    // the header is the schema's column list
    assert_eq!(
        HEADER,
        Schema::Upstream.names().collect::<Vec<_>>().join(",")
    );
}

#[test]
fn csv_quotes_awkward_text_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flows.csv");
    let mut m = meta();
    m.cluster = "lab, \"west\"".into();
    let mut f = known_flow();
    f.local.app = " padded";
    let mut sink = open_path(&path, None, Schema::Upstream, &m).unwrap();
    sink.write_batch(&[f]).unwrap();
    sink.finish().unwrap().commit().unwrap();
    let mut r = csv::Reader::from_path(&path).unwrap();
    let headers = r.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    assert_eq!(&rows[0][col("localCluster")], "lab, \"west\"");
    assert_eq!(&rows[1][col("localApp")], " padded");
    assert_eq!(&rows[1][col("direction")], "in");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(",\"lab, \"\"west\"\"\","), "{text}");
}

#[test]
fn rows_come_in_flow_order_out_then_in() {
    let names: Vec<String> = (0..7).map(|i| format!("pod-{i}")).collect();
    let flows = many_flows(&names, 1000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flows.csv");
    let mut sink = open_path(&path, None, Schema::Upstream, &meta()).unwrap();
    for chunk in flows.chunks(333) {
        sink.write_batch(chunk).unwrap();
    }
    assert_eq!(sink.finish().unwrap().commit().unwrap(), 2000);
    let mut r = csv::Reader::from_path(&path).unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2000);
    for (i, f) in flows.iter().enumerate() {
        let (o, n) = (&rows[2 * i], &rows[2 * i + 1]);
        assert_eq!((&o[7], &n[7]), ("out", "in"));
        assert_eq!(o[33].parse::<u64>().unwrap(), f.out.bytes);
        assert_eq!(n[33].parse::<u64>().unwrap(), f.inbound.bytes);
        assert_eq!(&o[16], f.local.pod);
        assert_eq!(&o[5], f.class.as_str());
        assert_eq!(o[17].parse::<IpAddr>().unwrap(), f.local.ip);
    }
}

#[test]
fn parquet_types_and_values_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flows.parquet");
    assert_eq!(write(&path, None, &[known_flow()]), 2);
    let file = std::fs::File::open(&path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let meta = reader.metadata().clone();
    let names: Vec<String> = reader
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, Schema::Upstream.names().collect::<Vec<_>>());
    let batches: Vec<_> = reader.build().unwrap().map(Result::unwrap).collect();
    assert_eq!(batches.len(), 1);
    let b = &batches[0];
    assert_eq!(b.num_rows(), 2);
    let col = |name: &str| b.column_by_name(name).unwrap().clone();
    let text = |name: &str, row: usize| -> String {
        let c = col(name);
        assert_eq!(
            c.data_type(),
            &DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            "{name}"
        );
        let d = c.as_dictionary::<Int32Type>();
        let values = d.values().as_any().downcast_ref::<StringArray>().unwrap();
        values.value(d.keys().value(row) as usize).to_string()
    };

    let date = col("date");
    let date = date.as_any().downcast_ref::<Date32Array>().unwrap();
    assert_eq!(date.value(0), 19_675); // 2023-11-14
    let t = col("intervalStartTime");
    assert_eq!(
        t.data_type(),
        &DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
    );
    let t = t
        .as_any()
        .downcast_ref::<TimestampMillisecondArray>()
        .unwrap();
    assert_eq!(
        (t.value(0), t.value(1)),
        (1_699_999_980_000, 1_699_999_980_000)
    );
    let secs = col("intervalSeconds");
    assert_eq!(
        secs.as_any()
            .downcast_ref::<UInt16Array>()
            .unwrap()
            .value(1),
        60
    );
    for (name, want) in [("localPort", 36560), ("remotePort", 443)] {
        let c = col(name);
        assert_eq!(c.data_type(), &DataType::UInt16);
        assert_eq!(
            c.as_any().downcast_ref::<UInt16Array>().unwrap().value(0),
            want
        );
    }
    for (name, want) in [("bytes", [399, 697]), ("packets", [6, 7])] {
        let c = col(name);
        let c = c.as_any().downcast_ref::<UInt64Array>().unwrap();
        assert_eq!([c.value(0), c.value(1)], want, "{name}");
    }
    let flags = col("connectionFlags");
    match flags.data_type() {
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) => {
                assert_eq!(kv[0].data_type(), &DataType::Utf8);
                assert_eq!(kv[1].data_type(), &DataType::Boolean);
            }
            other => panic!("map entries {other:?}"),
        },
        other => panic!("connectionFlags is {other:?}"),
    }
    let flags = flags.as_any().downcast_ref::<MapArray>().unwrap();
    assert_eq!((flags.value_length(0), flags.value_length(1)), (0, 0));
    assert_eq!(flags.null_count(), 0);

    for row in 0..2 {
        assert_eq!(text("environment", row), "production");
        assert_eq!(text("proto", row), "tcp");
        assert_eq!(text("connectionClass", row), "INTRA_REGION");
        assert_eq!(text("localCluster", row), "prod-1");
        assert_eq!(text("localCell", row), "");
        assert_eq!(text("localPod", row), "web-5d9c7");
        assert_eq!(text("localInstanceID", row), "cp-7");
        assert_eq!(text("localIPv4", row), "10.244.1.11");
        assert_eq!(text("remoteIPv4", row), "52.216.10.20");
        assert_eq!(text("remoteCluster", row), "UNKNOWN");
        assert_eq!(text("remoteCloudService", row), "s3");
        assert_eq!(text("remotePod", row), "");
    }
    assert_eq!(text("direction", 0), "out");
    assert_eq!(text("direction", 1), "in");

    // zstd everywhere, and the string columns dictionary-encoded in the file too
    let rg = meta.row_group(0);
    for c in rg.columns() {
        assert!(
            matches!(c.compression(), parquet::basic::Compression::ZSTD(_)),
            "{:?}",
            c.column_path()
        );
    }
    let pod = rg
        .columns()
        .iter()
        .find(|c| c.column_path().string() == "localPod")
        .unwrap();
    assert!(pod.dictionary_page_offset().is_some());
}

#[test]
fn parquet_streams_many_rows_in_bounded_row_groups() {
    let names: Vec<String> = (0..100).map(|i| format!("pod-{i}")).collect();
    let flows = many_flows(&names, 140_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.parquet");
    let mut sink = open_path(&path, None, Schema::Upstream, &meta()).unwrap();
    for chunk in flows.chunks(4096) {
        sink.write_batch(chunk).unwrap();
    }
    assert_eq!(sink.finish().unwrap().commit().unwrap(), 280_000);
    let file = std::fs::File::open(&path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let md = reader.metadata().clone();
    assert_eq!(md.file_metadata().num_rows(), 280_000);
    assert!(
        md.num_row_groups() == 2,
        "{} row groups",
        md.num_row_groups()
    );
    assert!(md.row_groups().iter().all(|rg| rg.num_rows() <= 262_144));
    // spot-check values across batch boundaries
    let mut row = 0usize;
    for batch in reader.build().unwrap() {
        let batch = batch.unwrap();
        let bytes = batch.column_by_name("bytes").unwrap();
        let bytes = bytes.as_any().downcast_ref::<UInt64Array>().unwrap();
        let pod = batch.column_by_name("localPod").unwrap();
        let pod = pod.as_dictionary::<Int32Type>();
        let pods = pod.values().as_any().downcast_ref::<StringArray>().unwrap();
        for i in 0..batch.num_rows() {
            let flow = &flows[(row + i) / 2];
            let want = if (row + i).is_multiple_of(2) {
                flow.out.bytes
            } else {
                flow.inbound.bytes
            };
            assert_eq!(bytes.value(i), want);
            assert_eq!(pods.value(pod.keys().value(i) as usize), flow.local.pod);
        }
        row += batch.num_rows();
    }
    assert_eq!(row, 280_000);
}

#[test]
fn compressed_csv_decompresses_to_the_same_text() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..5).map(|i| format!("pod-{i}")).collect();
    let flows = many_flows(&names, 500);
    let plain = dir.path().join("f.csv");
    write(&plain, None, &flows);
    let want = std::fs::read(&plain).unwrap();
    let gz = dir.path().join("f.csv.gz");
    write(&gz, None, &flows);
    let raw = std::fs::read(&gz).unwrap();
    assert_eq!(&raw[..2], &[0x1f, 0x8b]);
    let mut got = Vec::new();
    flate2::read::MultiGzDecoder::new(&raw[..])
        .read_to_end(&mut got)
        .unwrap();
    assert_eq!(got, want);
    let zst = dir.path().join("f.csv.zst");
    write(&zst, None, &flows);
    let raw = std::fs::read(&zst).unwrap();
    assert_eq!(&raw[..4], &[0x28, 0xb5, 0x2f, 0xfd]);
    assert_eq!(zstd::decode_all(&raw[..]).unwrap(), want);
}

#[test]
fn explicit_format_overrides_the_extension() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flows.out");
    write(&path, Some(Format::Parquet), &[known_flow()]);
    assert_eq!(&std::fs::read(&path).unwrap()[..4], b"PAR1");
    let path = dir.path().join("flows.txt");
    write(&path, Some(Format::Csv), &[known_flow()]);
    assert!(std::fs::read_to_string(&path).unwrap().starts_with("date,"));
}

#[test]
fn unknown_extension_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flows.json");
    let err = open_path(&path, None, Schema::Upstream, &meta())
        .err()
        .unwrap();
    assert!(matches!(err, OutputError::UnknownFormat { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("flows.json") && msg.contains("--format"),
        "{msg}"
    );
    assert!(!path.exists());
}

#[test]
fn dropping_an_unfinished_sink_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a.csv", "a.csv.gz", "a.csv.zst", "a.parquet"] {
        let path = dir.path().join(name);
        let mut sink = open_path(&path, None, Schema::Upstream, &meta()).unwrap();
        sink.write_batch(&[known_flow()]).unwrap();
        drop(sink);
        assert!(!path.exists(), "{name}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn dropping_an_unfinished_sink_keeps_the_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["good.csv", "good.parquet"] {
        let path = dir.path().join(name);
        std::fs::write(&path, "previous good output").unwrap();
        let mut sink = open_path(&path, None, Schema::Upstream, &meta()).unwrap();
        sink.write_batch(&[known_flow()]).unwrap();
        drop(sink);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "previous good output"
        );
        // and a finished one replaces it
        write(&path, None, &[known_flow()]);
        assert_ne!(
            std::fs::read_to_string(&path).unwrap_or_default(),
            "previous good output"
        );
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn ipv6_flows_are_refused_with_the_address() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a.csv", "a.parquet"] {
        let path = dir.path().join(name);
        let mut f = known_flow();
        f.remote.ip = IpAddr::V6(Ipv6Addr::new(0x2600, 0x1f18, 0, 0, 0, 0, 0, 1));
        let mut sink = open_path(&path, None, Schema::Upstream, &meta()).unwrap();
        let msg = sink.write_batch(&[f]).unwrap_err().to_string();
        assert!(
            msg.contains("2600:1f18::1") && msg.contains("remoteIPv4") && msg.contains(name),
            "{msg}"
        );
    }
}

#[test]
fn times_before_1970_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a.csv", "a.parquet"] {
        let mut f = known_flow();
        f.observed_at = -5;
        let mut sink = open_path(&dir.path().join(name), None, Schema::Upstream, &meta()).unwrap();
        let msg = sink.write_batch(&[f]).unwrap_err().to_string();
        assert!(msg.contains("-5") && msg.contains("1970"), "{msg}");
    }
}

#[test]
fn zero_interval_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = meta();
    m.interval_seconds = 0;
    let err = open_path(&dir.path().join("a.csv"), None, Schema::Upstream, &m)
        .err()
        .unwrap();
    assert!(err.to_string().contains("interval"), "{err}");
}

#[test]
fn other_intervals_truncate_the_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flows.csv");
    let mut m = meta();
    m.interval_seconds = 3600;
    let mut sink = open_path(&path, None, Schema::Upstream, &m).unwrap();
    sink.write_batch(&[known_flow()]).unwrap();
    sink.finish().unwrap().commit().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let row = text.lines().nth(1).unwrap();
    assert!(
        row.starts_with("2023-11-14,2023-11-14 22:00:00,3600,"),
        "{row}"
    );
}

/// Child half of `dash_writes_csv_to_stdout`: writes to `-` when asked to.
#[test]
fn stdout_child() {
    if std::env::var_os("KUBENETMON_STDOUT_CHILD").is_none() {
        return;
    }
    let mut sink = open_path(Path::new("-"), None, Schema::Upstream, &meta()).unwrap();
    sink.write_batch(&[known_flow()]).unwrap();
    assert_eq!(sink.finish().unwrap().commit().unwrap(), 2);
}

#[test]
fn dash_writes_csv_to_stdout() {
    let cwd = tempfile::tempdir().unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "output_files::stdout_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("KUBENETMON_STDOUT_CHILD", "1")
        .current_dir(cwd.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    // the test harness prints its own lines around ours
    let start = stdout.find("date,").expect("CSV header on stdout");
    let csv: Vec<&str> = stdout[start..].lines().take(3).collect();
    assert_eq!(csv, [HEADER, OUT_ROW, IN_ROW]);
    // nothing was written as a file named "-"
    assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 0);
}
