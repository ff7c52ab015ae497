//! What the client commands print: human tables by default, `--json` (an array, or one object)
//! or `--csv` for lists. JSON is the messages' proto3 JSON with the proto field names (the
//! pinned snake_case names) and enum value names; unset message fields are left out.

use std::io::Write as _;
use std::sync::LazyLock;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Args;
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};
use serde_json::Value;

/// `--json` / `--csv` for commands that print a list.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct ListFormat {
    /// Print a JSON array (proto field names, enum value names).
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print CSV: one header line, RFC 4180 quoting.
    #[arg(long)]
    pub csv: bool,
}

/// `--json` for commands that print one record.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct OneFormat {
    /// Print the record as one JSON object.
    #[arg(long)]
    pub json: bool,
}

static POOL: LazyLock<Result<DescriptorPool, prost_reflect::DescriptorError>> =
    LazyLock::new(|| DescriptorPool::decode(pingan_proto::FILE_DESCRIPTOR_SET));

/// A generated message as proto3 JSON (proto field names, defaults included).
pub fn proto_json<M: prost::Message + prost::Name>(message: &M) -> anyhow::Result<Value> {
    let pool = POOL
        .as_ref()
        .map_err(|err| anyhow::anyhow!("reading the API descriptors: {err}"))?;
    let name = M::full_name();
    let descriptor = pool
        .get_message_by_name(&name)
        .with_context(|| format!("no descriptor for {name}"))?;
    let dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())
        .with_context(|| format!("decoding {name}"))?;
    let options = SerializeOptions::new()
        .use_proto_field_name(true)
        .skip_default_fields(false);
    dynamic
        .serialize_with_options(serde_json::value::Serializer, &options)
        .with_context(|| format!("writing {name} as JSON"))
}

/// Many messages as a JSON array.
pub fn proto_json_array<M: prost::Message + prost::Name>(messages: &[M]) -> anyhow::Result<Value> {
    Ok(Value::Array(
        messages
            .iter()
            .map(proto_json)
            .collect::<anyhow::Result<_>>()?,
    ))
}

/// Prints a JSON value on one line (pretty for one record when `pretty`).
pub fn print_json(value: &Value, pretty: bool) -> anyhow::Result<()> {
    let text = if pretty {
        serde_json::to_string_pretty(value)?
    } else {
        serde_json::to_string(value)?
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()?;
    Ok(())
}

/// A table of text cells.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Column names (also the CSV header).
    pub columns: Vec<&'static str>,
    /// Rows of cells, as many as columns.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new(columns: &[&'static str]) -> Self {
        Self {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// Aligned columns for people (widths count wide CJK characters as two).
    pub fn to_text(&self) -> String {
        let mut widths: Vec<usize> = self.columns.iter().map(|c| width(c)).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(width(cell));
                }
            }
        }
        let line = |cells: Vec<&str>| {
            let mut out = String::new();
            for (i, cell) in cells.iter().enumerate() {
                out.push_str(cell);
                if i + 1 < cells.len() {
                    let pad = widths.get(i).copied().unwrap_or(0) - width(cell) + 2;
                    out.push_str(&" ".repeat(pad));
                }
            }
            out.trim_end().to_owned() + "\n"
        };
        let mut out = line(self.columns.clone());
        for row in &self.rows {
            out.push_str(&line(row.iter().map(String::as_str).collect()));
        }
        out
    }

    /// CSV with a header line.
    pub fn to_csv(&self) -> String {
        let mut out = self
            .columns
            .iter()
            .map(|c| csv_field(c))
            .collect::<Vec<_>>()
            .join(",");
        out.push('\n');
        for row in &self.rows {
            out.push_str(
                &row.iter()
                    .map(|c| csv_field(c))
                    .collect::<Vec<_>>()
                    .join(","),
            );
            out.push('\n');
        }
        out
    }
}

/// Prints a list: the table, its CSV, or `json` (the full records) as an array.
pub fn print_list(format: ListFormat, table: &Table, json: Value) -> anyhow::Result<()> {
    if format.json {
        return print_json(&json, false);
    }
    let text = if format.csv {
        table.to_csv()
    } else if table.rows.is_empty() {
        "(none)\n".to_owned()
    } else {
        table.to_text()
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Display width: CJK and other wide characters take two columns.
pub fn width(text: &str) -> usize {
    text.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum()
}

fn is_wide(c: char) -> bool {
    matches!(u32::from(c),
        0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD)
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// `INCIDENT_STATUS_CLOSED` → `CLOSED`.
pub fn short<'a>(name: &'a str, prefix: &str) -> &'a str {
    name.strip_prefix(prefix).unwrap_or(name)
}

/// A timestamp as RFC 3339 (seconds, UTC), empty when unset.
pub fn time(at: Option<&prost_types::Timestamp>) -> String {
    at.and_then(pingan_platform::time::from_timestamp)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// Time elapsed since `at`, as `4m05s` (or `1h02m`), empty when unset.
pub fn since(at: Option<&prost_types::Timestamp>, now: DateTime<Utc>) -> String {
    at.and_then(pingan_platform::time::from_timestamp)
        .map(|t| clock((now - t).num_seconds()))
        .unwrap_or_default()
}

/// Seconds as `4m05s`, `1h02m` or `2d03h`.
pub fn clock(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86400, (s % 86400) / 3600),
    }
}

/// A protobuf duration as a clock, empty when unset.
pub fn duration(d: Option<&prost_types::Duration>) -> String {
    d.map(|d| clock(d.seconds)).unwrap_or_default()
}

/// A point as `lat,lon`, empty when unset.
pub fn point(p: Option<&pingan_proto::common::v1::GeoPoint>) -> String {
    p.map(|p| format!("{:.5},{:.5}", p.lat, p.lon))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_uses_proto_field_and_enum_names() {
        let incident = pingan_proto::intake::v1::Incident {
            incident_id: "inc-1".into(),
            status: pingan_proto::intake::v1::IncidentStatus::Dispatched as i32,
            ..Default::default()
        };
        let json = proto_json(&incident).expect("json");
        assert_eq!(json["incident_id"], "inc-1");
        assert_eq!(json["status"], "INCIDENT_STATUS_DISPATCHED");
        assert_eq!(json["assigned_unit_ids"], serde_json::json!([]));
        assert!(
            json.get("location").is_none(),
            "unset messages are left out"
        );
    }

    #[test]
    fn tables_align_wide_characters_and_csv_quotes() {
        let mut table = Table::new(&["id", "description"]);
        table.push(vec!["a".into(), "有人落水".into()]);
        table.push(vec!["bb".into(), "x, \"y\"".into()]);
        assert_eq!(
            table.to_text(),
            "id  description\na   有人落水\nbb  x, \"y\"\n"
        );
        assert_eq!(
            table.to_csv(),
            "id,description\na,有人落水\nbb,\"x, \"\"y\"\"\"\n"
        );
        assert_eq!(clock(305), "5m05s");
        assert_eq!(clock(3720), "1h02m");
    }
}
