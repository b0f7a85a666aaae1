//! A [`Report`] as text (aligned columns, human units), JSON (every value
//! exact, nothing rounded) or one self-contained HTML page (inline CSS and
//! SVG; no script, font or style is fetched).

use std::fmt::Write as _;

use super::sections::{PairRow, Report, COMPONENTS};
use crate::model::ConnectionClass;

/// The report as pretty JSON (the `--json` schema of docs/report.md).
pub fn json(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(report).expect("a report serialises");
    s.push('\n');
    s
}

/// `1.50 GiB`: binary units, two decimals past bytes.
pub fn human_bytes(bytes: u128) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.2} {}", UNITS[unit])
}

/// `$1,234.56`; a cost under half a cent but above zero is `<$0.01`, so it
/// does not read as free. Other currencies: `1,234.56 EUR`.
pub fn money(cost: f64, currency: &str) -> String {
    let with = |text: String| {
        if currency == "USD" {
            format!("${text}")
        } else {
            format!("{text} {currency}")
        }
    };
    if cost > 0.0 && cost < 0.005 {
        return format!("<{}", with("0.01".into()));
    }
    let cents = (cost * 100.0).round() as u128;
    let (whole, frac) = (cents / 100, cents % 100);
    with(format!("{}.{frac:02}", thousands(whole)))
}

/// `2,000,000`.
pub fn thousands(n: impl Into<u128>) -> String {
    let digits = n.into().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn percent(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}

fn time_text(rfc3339: &Option<String>) -> String {
    match rfc3339 {
        Some(t) => format!("{} UTC", t.trim_end_matches('Z').replacen('T', " ", 1)),
        None => "-".into(),
    }
}

/// Component names as people read them.
pub fn component_label(name: &str) -> &'static str {
    match name {
        "cross_az" => "cross-AZ",
        "inter_region" => "inter-region",
        "internet" => "internet egress",
        "nat_gateway" => "NAT gateway",
        _ => "other",
    }
}

/// A group or app name; the empty name is the rows without one.
fn name_or(name: &str, none: &str) -> String {
    if name.is_empty() {
        format!("({none})")
    } else {
        name.to_string()
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Align {
    Left,
    Right,
}
use Align::{Left, Right};

/// Columns padded to their widest cell.
fn table(out: &mut String, headers: &[&str], align: &[Align], rows: &[Vec<String>]) {
    let mut width: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut line = |cells: Vec<&str>| {
        let mut l = String::from("  ");
        for (i, c) in cells.iter().enumerate() {
            let pad = width[i] - c.chars().count();
            if i > 0 {
                l.push_str("  ");
            }
            match align[i] {
                Left => {
                    l.push_str(c);
                    l.extend(std::iter::repeat_n(' ', pad));
                }
                Right => {
                    l.extend(std::iter::repeat_n(' ', pad));
                    l.push_str(c);
                }
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(headers.to_vec());
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
}

/// Headers and alignments with the projection column when there is one.
fn with_month<'a>(
    report: &Report,
    headers: &[&'a str],
    align: &[Align],
) -> (Vec<&'a str>, Vec<Align>) {
    let mut h = headers.to_vec();
    let mut a = align.to_vec();
    if report.inputs.month_factor.is_some() {
        h.push("per month");
        a.push(Right);
    }
    (h, a)
}

fn push_month(cells: &mut Vec<String>, v: Option<f64>, currency: &str) {
    if let Some(m) = v {
        cells.push(money(m, currency));
    }
}

/// The report as text for a terminal.
pub fn text(report: &Report) -> String {
    let cur = report.currency();
    let mut o = String::new();
    let inp = &report.inputs;
    let _ = writeln!(o, "kubenetmon report");
    let _ = writeln!(o);
    let _ = writeln!(o, "Inputs");
    for f in &inp.files {
        let rows = f
            .rows
            .map(|r| format!(", {} rows", thousands(r)))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "  file       {} ({}, {} schema{rows})",
            f.path, f.format, f.schema
        );
    }
    let _ = writeln!(o, "  rows       {}", thousands(inp.rows));
    let _ = writeln!(
        o,
        "  intervals  {} to {}",
        time_text(&inp.first_interval_start),
        time_text(&inp.last_interval_start)
    );
    for s in &inp.local {
        let _ = writeln!(
            o,
            "  local      {} {} ({} rows)",
            name_or(&s.cloud, "no cloud"),
            name_or(&s.region, "no region"),
            thousands(s.rows)
        );
    }
    let _ = writeln!(
        o,
        "  prices     {} ({cur} per GiB; `report --print-prices` shows them)",
        inp.prices.source
    );
    if let (Some(p), Some(f)) = (inp.period_seconds, inp.month_factor) {
        let _ = writeln!(
            o,
            "  period     {} s of traffic; a 30-day month is {} times that",
            thousands(p),
            trim_float(f)
        );
    }
    let t = &report.totals;
    let _ = writeln!(o);
    let month = t
        .cost_per_month
        .map(|m| format!(", {} per month", money(m, cur)))
        .unwrap_or_default();
    let _ = writeln!(
        o,
        "Total: {} out, {} in; cost {}{month}",
        human_bytes(t.bytes_out),
        human_bytes(t.bytes_in),
        money(t.cost, cur)
    );

    let _ = writeln!(o);
    let _ = writeln!(o, "Bytes and cost by class and direction");
    let (h, a) = with_month(
        report,
        &["class", "direction", "rows", "bytes", "cost"],
        &[Left, Left, Right, Right, Right],
    );
    let rows: Vec<Vec<String>> = report
        .by_class
        .iter()
        .map(|r| {
            let mut c = vec![
                r.class.to_string(),
                r.direction.to_string(),
                thousands(r.rows),
                human_bytes(r.bytes),
                money(r.cost, cur),
            ];
            push_month(&mut c, r.cost_per_month, cur);
            c
        })
        .collect();
    table(&mut o, &h, &a, &rows);

    let _ = writeln!(o);
    let _ = writeln!(o, "Cost by component");
    let (h, a) = with_month(
        report,
        &["component", "bytes", "cost"],
        &[Left, Right, Right],
    );
    let mut rows: Vec<Vec<String>> = report
        .components
        .iter()
        .map(|r| {
            let mut c = vec![
                component_label(r.component).to_string(),
                human_bytes(r.bytes),
                money(r.cost, cur),
            ];
            push_month(&mut c, r.cost_per_month, cur);
            c
        })
        .collect();
    let mut total = vec!["total".to_string(), String::new(), money(t.cost, cur)];
    push_month(&mut total, t.cost_per_month, cur);
    rows.push(total);
    table(&mut o, &h, &a, &rows);
    let u = &report.unknown_zone;
    let bound_month = u
        .cost_upper_bound_per_month
        .map(|m| format!(" ({} per month)", money(m, cur)))
        .unwrap_or_default();
    let _ = writeln!(
        o,
        "  {} bytes with unknown zones: {} out, {} in; up to {}{bound_month} if all crossed a zone",
        ConnectionClass::IntraVpc,
        human_bytes(u.bytes_out),
        human_bytes(u.bytes_in),
        money(u.cost_upper_bound, cur)
    );

    let top = &report.top;
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Top {} by cost, by {} (local side; {} in all)",
        top.n,
        top.by,
        thousands(top.count as u64)
    );
    let (h, a) = with_month(
        report,
        &[top.by.as_str(), "bytes out", "bytes in", "cost", "share"],
        &[Left, Right, Right, Right, Right],
    );
    let none = format!("no {}", top.by);
    let mut rows: Vec<Vec<String>> = top
        .groups
        .iter()
        .map(|g| {
            let mut c = vec![
                name_or(&g.name, &none),
                human_bytes(g.bytes_out),
                human_bytes(g.bytes_in),
                money(g.cost, cur),
                percent(g.share),
            ];
            push_month(&mut c, g.cost_per_month, cur);
            c
        })
        .collect();
    if let Some(r) = &top.rest {
        let mut c = vec![
            format!("({})", r.name),
            human_bytes(r.bytes_out),
            human_bytes(r.bytes_in),
            money(r.cost, cur),
            percent(r.share),
        ];
        push_month(&mut c, r.cost_per_month, cur);
        rows.push(c);
    }
    table(&mut o, &h, &a, &rows);

    for (title, pairs, what) in [
        (
            "Cross-AZ traffic by zone pair",
            &report.cross_az.zones,
            "zone",
        ),
        ("Cross-AZ traffic by app pair", &report.cross_az.apps, "app"),
    ] {
        let _ = writeln!(o);
        let _ = writeln!(o, "{title} (top {}, cross-AZ charge only)", top.n);
        if pairs.is_empty() {
            let _ = writeln!(o, "  (no row has CROSS_AZ=true)");
            continue;
        }
        pair_table(&mut o, report, pairs, what);
    }

    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Savings: same-region S3 and DynamoDB traffic through the NAT gateway"
    );
    let (h, a) = with_month(
        report,
        &[
            "service",
            "bytes out",
            "bytes in",
            "a gateway endpoint saves",
        ],
        &[Left, Right, Right, Right],
    );
    let rows: Vec<Vec<String>> = report
        .savings
        .services
        .iter()
        .map(|s| {
            let mut c = vec![
                s.service.to_string(),
                human_bytes(s.bytes_out),
                human_bytes(s.bytes_in),
                money(s.saving, cur),
            ];
            push_month(&mut c, s.saving_per_month, cur);
            c
        })
        .collect();
    table(&mut o, &h, &a, &rows);

    let _ = writeln!(o);
    for n in &report.notes {
        let _ = writeln!(o, "Note: {n}");
    }
    for w in &report.warnings {
        let _ = writeln!(o, "Warning: {w}");
    }
    o
}

fn pair_table(o: &mut String, report: &Report, pairs: &[PairRow], what: &str) {
    let cur = report.currency();
    let local = format!("local {what}");
    let remote = format!("remote {what}");
    let (h, a) = with_month(
        report,
        &[&local, &remote, "bytes out", "bytes in", "cost"],
        &[Left, Left, Right, Right, Right],
    );
    let none = format!("no {what}");
    let rows: Vec<Vec<String>> = pairs
        .iter()
        .map(|p| {
            let mut c = vec![
                name_or(&p.local, &none),
                name_or(&p.remote, &none),
                human_bytes(p.bytes_out),
                human_bytes(p.bytes_in),
                money(p.cost, cur),
            ];
            push_month(&mut c, p.cost_per_month, cur);
            c
        })
        .collect();
    table(o, &h, &a, &rows);
}

/// `720` rather than `720.0`; a few decimals otherwise.
fn trim_float(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Text made safe for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' => {
                let _ = write!(out, "&#{};", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = "\
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #1d2330;
  margin: 2rem auto; max-width: 60rem; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 .5rem; border-bottom: 1px solid #d5d9e0; padding-bottom: .2rem; }
p.lead { color: #4a5263; margin-top: 0; }
.total { font-size: 1.25rem; margin: 1rem 0; }
.total b { font-size: 1.6rem; }
table { border-collapse: collapse; margin: .4rem 0 1rem; }
th, td { padding: .2rem .7rem; border-bottom: 1px solid #e3e6eb; vertical-align: top; }
th { text-align: left; font-weight: 600; background: #f3f5f8; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.sum td { font-weight: 600; border-top: 2px solid #c4c9d2; }
dl { display: grid; grid-template-columns: max-content auto; gap: .15rem 1rem; }
dt { font-weight: 600; } dd { margin: 0; }
svg text { font: 12px system-ui, sans-serif; fill: #1d2330; }
svg .bar { fill: #3566c8; }
.note { color: #4a5263; font-size: .92rem; }
.warn { color: #8a3b00; font-weight: 600; }
section { break-inside: avoid; page-break-inside: avoid; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2 { break-after: avoid; page-break-after: avoid; }
}
";

/// A horizontal bar chart as inline SVG.
fn bar_chart(id: &str, title: &str, items: &[(String, f64)], currency: &str) -> String {
    let label_w = 220.0;
    let bar_w = 380.0;
    let value_w = 110.0;
    let row_h = 26.0;
    let width = label_w + bar_w + value_w;
    let height = row_h * items.len().max(1) as f64 + 8.0;
    let max = items.iter().map(|(_, v)| *v).fold(0.0, f64::max);
    let mut s = format!(
        "<svg id=\"{id}\" class=\"chart\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\" \
         width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">\
         <title>{}</title>",
        escape(title)
    );
    if items.is_empty() {
        let _ = write!(s, "<text x=\"0\" y=\"18\">(nothing to show)</text>");
    }
    for (i, (label, value)) in items.iter().enumerate() {
        let y = 4.0 + i as f64 * row_h;
        let w = if max > 0.0 { value / max * bar_w } else { 0.0 };
        let label: String = if label.chars().count() > 30 {
            label.chars().take(29).chain(['…']).collect()
        } else {
            label.clone()
        };
        let _ = write!(
            s,
            "<g class=\"row\"><text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <rect class=\"bar\" x=\"{label_w}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" rx=\"2\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text></g>",
            label_w - 8.0,
            y + 16.0,
            escape(&label),
            y + 3.0,
            row_h - 8.0,
            label_w + w + 6.0,
            y + 16.0,
            escape(&money(*value, currency))
        );
    }
    s.push_str("</svg>");
    s
}

fn html_table(o: &mut String, headers: &[(&str, bool)], rows: &[(Vec<String>, bool)]) {
    o.push_str("<table><thead><tr>");
    for (h, numeric) in headers {
        let class = if *numeric { " class=\"n\"" } else { "" };
        let _ = write!(o, "<th{class}>{}</th>", escape(h));
    }
    o.push_str("</tr></thead><tbody>");
    for (cells, sum) in rows {
        o.push_str(if *sum { "<tr class=\"sum\">" } else { "<tr>" });
        for ((_, numeric), c) in headers.iter().zip(cells) {
            let class = if *numeric { " class=\"n\"" } else { "" };
            let _ = write!(o, "<td{class}>{}</td>", escape(c));
        }
        o.push_str("</tr>");
    }
    o.push_str("</tbody></table>\n");
}

/// The report as one self-contained HTML page.
pub fn html(report: &Report) -> String {
    let cur = report.currency();
    let inp = &report.inputs;
    let monthly = inp.month_factor.is_some();
    let month_h: &[(&str, bool)] = if monthly { &[("per month", true)] } else { &[] };
    let mcell = |v: Option<f64>| v.map(|m| money(m, cur));
    let mut o = String::with_capacity(16 * 1024);
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    o.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    o.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; img-src data:\">\n",
    );
    o.push_str("<title>kubenetmon report</title>\n<style>\n");
    o.push_str(CSS);
    o.push_str("</style></head><body>\n<h1>kubenetmon report</h1>\n");
    let _ = writeln!(
        o,
        "<p class=\"lead\">Where the bytes go and what they cost, from {} rows.</p>",
        thousands(inp.rows)
    );
    let t = &report.totals;
    let _ = write!(
        o,
        "<p class=\"total\" id=\"total\">Total cost <b>{}</b>",
        escape(&money(t.cost, cur))
    );
    if let Some(m) = t.cost_per_month {
        let _ = write!(o, ", <b>{}</b> per 30-day month", escape(&money(m, cur)));
    }
    let _ = writeln!(
        o,
        " &middot; {} out, {} in</p>",
        human_bytes(t.bytes_out),
        human_bytes(t.bytes_in)
    );
    for w in &report.warnings {
        let _ = writeln!(o, "<p class=\"warn\">Warning: {}</p>", escape(w));
    }

    // 1. Inputs
    o.push_str("<section id=\"inputs\"><h2>Inputs</h2><dl>\n");
    for f in &inp.files {
        let rows = f
            .rows
            .map(|r| format!(", {} rows", thousands(r)))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "<dt>file</dt><dd>{} ({}, {} schema{rows})</dd>",
            escape(&f.path),
            f.format,
            f.schema
        );
    }
    let _ = writeln!(o, "<dt>rows</dt><dd>{}</dd>", thousands(inp.rows));
    let _ = writeln!(
        o,
        "<dt>intervals</dt><dd>{} to {}</dd>",
        time_text(&inp.first_interval_start),
        time_text(&inp.last_interval_start)
    );
    for s in &inp.local {
        let _ = writeln!(
            o,
            "<dt>local</dt><dd>{} {} ({} rows)</dd>",
            escape(&name_or(&s.cloud, "no cloud")),
            escape(&name_or(&s.region, "no region")),
            thousands(s.rows)
        );
    }
    let _ = writeln!(
        o,
        "<dt>prices</dt><dd>{} ({} per GiB)</dd>",
        escape(&inp.prices.source),
        escape(cur)
    );
    if let (Some(p), Some(f)) = (inp.period_seconds, inp.month_factor) {
        let _ = writeln!(
            o,
            "<dt>period</dt><dd>{} s; a 30-day month is {} times that</dd>",
            thousands(p),
            trim_float(f)
        );
    }
    o.push_str("</dl></section>\n");

    // 3. Components, with the chart
    o.push_str("<section id=\"components\"><h2>Cost by component</h2>\n");
    let items: Vec<(String, f64)> = report
        .components
        .iter()
        .map(|c| (component_label(c.component).to_string(), c.cost))
        .collect();
    o.push_str(&bar_chart(
        "chart-components",
        "Cost by component",
        &items,
        cur,
    ));
    let mut headers = vec![("component", false), ("bytes", true), ("cost", true)];
    headers.extend_from_slice(month_h);
    let mut rows: Vec<(Vec<String>, bool)> = report
        .components
        .iter()
        .map(|c| {
            let mut v = vec![
                component_label(c.component).to_string(),
                human_bytes(c.bytes),
                money(c.cost, cur),
            ];
            v.extend(mcell(c.cost_per_month));
            (v, false)
        })
        .collect();
    let mut sum = vec!["total".to_string(), String::new(), money(t.cost, cur)];
    sum.extend(mcell(t.cost_per_month));
    rows.push((sum, true));
    html_table(&mut o, &headers, &rows);
    let u = &report.unknown_zone;
    let _ = writeln!(
        o,
        "<p class=\"note\" id=\"unknown-zone\">INTRA_VPC bytes with unknown zones: {} out, {} in; \
         up to <b>{}</b>{} if all of them crossed a zone.</p>",
        human_bytes(u.bytes_out),
        human_bytes(u.bytes_in),
        escape(&money(u.cost_upper_bound, cur)),
        u.cost_upper_bound_per_month
            .map(|m| format!(" ({} per month)", escape(&money(m, cur))))
            .unwrap_or_default()
    );
    o.push_str("</section>\n");

    // 4. Top groups, with the chart
    let top = &report.top;
    let _ = writeln!(
        o,
        "<section id=\"top\"><h2>Top {} by cost, by {} (local side; {} in all)</h2>",
        top.n,
        top.by,
        thousands(top.count as u64)
    );
    let none = format!("no {}", top.by);
    let items: Vec<(String, f64)> = top
        .groups
        .iter()
        .map(|g| (name_or(&g.name, &none), g.cost))
        .collect();
    o.push_str(&bar_chart(
        "chart-top",
        &format!("Cost by {}", top.by),
        &items,
        cur,
    ));
    let mut headers = vec![
        (top.by.as_str(), false),
        ("bytes out", true),
        ("bytes in", true),
        ("cost", true),
        ("share", true),
    ];
    headers.extend_from_slice(month_h);
    let mut rows: Vec<(Vec<String>, bool)> = top
        .groups
        .iter()
        .chain(top.rest.as_ref())
        .enumerate()
        .map(|(i, g)| {
            let name = if i >= top.groups.len() {
                format!("({})", g.name)
            } else {
                name_or(&g.name, &none)
            };
            let mut v = vec![
                name,
                human_bytes(g.bytes_out),
                human_bytes(g.bytes_in),
                money(g.cost, cur),
                percent(g.share),
            ];
            v.extend(mcell(g.cost_per_month));
            (v, false)
        })
        .collect();
    if rows.is_empty() {
        rows.push((vec!["(no rows)".into()], false));
    }
    html_table(&mut o, &headers, &rows);
    o.push_str("</section>\n");

    // 2. Class × direction
    o.push_str("<section id=\"classes\"><h2>Bytes and cost by class and direction</h2>\n");
    let mut headers = vec![
        ("class", false),
        ("direction", false),
        ("rows", true),
        ("bytes", true),
        ("cost", true),
    ];
    headers.extend_from_slice(month_h);
    let rows: Vec<(Vec<String>, bool)> = report
        .by_class
        .iter()
        .map(|r| {
            let mut v = vec![
                r.class.to_string(),
                r.direction.to_string(),
                thousands(r.rows),
                human_bytes(r.bytes),
                money(r.cost, cur),
            ];
            v.extend(mcell(r.cost_per_month));
            (v, false)
        })
        .collect();
    html_table(&mut o, &headers, &rows);
    o.push_str("</section>\n");

    // 5. Cross-AZ pairs
    o.push_str("<section id=\"cross-az\"><h2>Cross-AZ traffic</h2>\n");
    for (title, pairs, what) in [
        ("By zone pair", &report.cross_az.zones, "zone"),
        ("By app pair", &report.cross_az.apps, "app"),
    ] {
        let _ = writeln!(o, "<h3>{title} (top {}, cross-AZ charge only)</h3>", top.n);
        if pairs.is_empty() {
            o.push_str("<p class=\"note\">No row has CROSS_AZ=true.</p>\n");
            continue;
        }
        let local = format!("local {what}");
        let remote = format!("remote {what}");
        let mut headers = vec![
            (local.as_str(), false),
            (remote.as_str(), false),
            ("bytes out", true),
            ("bytes in", true),
            ("cost", true),
        ];
        headers.extend_from_slice(month_h);
        let none = format!("no {what}");
        let rows: Vec<(Vec<String>, bool)> = pairs
            .iter()
            .map(|p| {
                let mut v = vec![
                    name_or(&p.local, &none),
                    name_or(&p.remote, &none),
                    human_bytes(p.bytes_out),
                    human_bytes(p.bytes_in),
                    money(p.cost, cur),
                ];
                v.extend(mcell(p.cost_per_month));
                (v, false)
            })
            .collect();
        html_table(&mut o, &headers, &rows);
    }
    o.push_str("</section>\n");

    // 6. Savings
    o.push_str(
        "<section id=\"savings\"><h2>Savings: same-region S3 and DynamoDB through the NAT gateway</h2>\n",
    );
    let mut headers = vec![
        ("service", false),
        ("bytes out", true),
        ("bytes in", true),
        ("a gateway endpoint saves", true),
    ];
    headers.extend_from_slice(month_h);
    let mut rows: Vec<(Vec<String>, bool)> = report
        .savings
        .services
        .iter()
        .map(|s| {
            let mut v = vec![
                s.service.to_string(),
                human_bytes(s.bytes_out),
                human_bytes(s.bytes_in),
                money(s.saving, cur),
            ];
            v.extend(mcell(s.saving_per_month));
            (v, false)
        })
        .collect();
    let mut sum = vec![
        "total".to_string(),
        String::new(),
        String::new(),
        money(report.savings.total, cur),
    ];
    sum.extend(mcell(report.savings.total_per_month));
    rows.push((sum, true));
    html_table(&mut o, &headers, &rows);
    o.push_str("</section>\n");

    o.push_str("<section id=\"notes\">\n");
    for n in &report.notes {
        let _ = writeln!(o, "<p class=\"note\">{}</p>", escape(n));
    }
    let _ = writeln!(
        o,
        "<p class=\"note\">Components: {}.</p>",
        COMPONENTS
            .iter()
            .map(|(c, _)| component_label(c))
            .collect::<Vec<_>>()
            .join(", ")
    );
    o.push_str("</section>\n</body></html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.50 KiB");
        assert_eq!(human_bytes(3 << 30), "3.00 GiB");
        assert_eq!(money(0.0, "USD"), "$0.00");
        assert_eq!(money(0.004, "USD"), "<$0.01");
        assert_eq!(money(0.005, "USD"), "$0.01");
        assert_eq!(money(1234567.891, "USD"), "$1,234,567.89");
        assert_eq!(money(2.5, "EUR"), "2.50 EUR");
        assert_eq!(thousands(2_000_000u64), "2,000,000");
        assert_eq!(thousands(999u64), "999");
        assert_eq!(trim_float(720.0), "720");
        assert_eq!(trim_float(8.64), "8.64");
    }

    #[test]
    fn html_text_is_escaped() {
        assert_eq!(
            escape("<script>a&b\"'</script>"),
            "&lt;script&gt;a&amp;b&quot;&#39;&lt;/script&gt;"
        );
        assert_eq!(escape("a\u{1b}b"), "a&#27;b");
    }
}
