//! `pingan report …`: the command room's analysis reports (会商研判) from the services that own
//! the data, printed as a table, JSON or CSV. Each report is one RPC; see docs/analysis.md.

use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand, ValueEnum};
use pingan_proto::common::v1::TimeRange;
use pingan_proto::intake::v1::incident_analysis_service_client::IncidentAnalysisServiceClient;
use pingan_proto::intake::v1::{
    CountBucket, HotspotArea, HotspotsRequest, IncidentScope, IncidentStatsRequest,
};
use serde_json::{Map, Value, json};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

mod owners;
mod stations;

pub use owners::{ExchangeByArg, PriorityArg};
pub use stations::ServiceTypeArg;

/// `pingan report …`
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Incident counts by station, grid, category, hour and day, against the previous period.
    Incidents {
        #[command(flatten)]
        common: ReportArgs,
        /// Only this grid.
        #[arg(long, default_value = "")]
        grid: String,
        /// Only this category (catalogue code, e.g. DISPUTE).
        #[arg(long, default_value = "")]
        category: String,
    },
    /// The grids or ~500 m cells with the most incidents, against the previous period.
    Hotspots {
        #[command(flatten)]
        common: ReportArgs,
        /// Grids or fixed ~500 m cells.
        #[arg(long, value_enum, default_value_t = AreaArg::Grid)]
        area: AreaArg,
        /// Only this category (catalogue code, e.g. DISPUTE).
        #[arg(long, default_value = "")]
        category: String,
        /// How many hotspots (1..100).
        #[arg(long, default_value_t = 10)]
        limit: i32,
    },
    /// Ring -> assigned and ring -> on scene (p50, p90, share within the target) per station
    /// and priority, and the dispatches over the target (dispatch).
    ResponseTimes {
        #[command(flatten)]
        common: ReportArgs,
        /// Only these priorities (comma-separated, e.g. p1,p2); default: all.
        #[arg(long, value_enum, value_delimiter = ',')]
        priority: Vec<PriorityArg>,
        /// The target in minutes.
        #[arg(long, default_value_t = 5)]
        target_minutes: u32,
        /// Most breaches listed (0..1000).
        #[arg(long, default_value_t = 100)]
        breaches: i32,
    },
    /// Calls diverted to 12345 and what became of them, requests 12345 pushed to the police,
    /// by department or category, against the previous period (triage; no --station).
    Exchange {
        #[command(flatten)]
        common: ReportArgs,
        /// Rows by 12345 department or by category.
        #[arg(long, value_enum, default_value_t = ExchangeByArg::Department)]
        by: ExchangeByArg,
        /// Only this 12345 department.
        #[arg(long, default_value = "")]
        department: String,
        /// Only this category (catalogue code, e.g. UTILITIES).
        #[arg(long, default_value = "")]
        category: String,
    },
    /// Mediations, revisits, satisfaction and lost-and-found per station, with the totals of
    /// the period and of the previous one (case-followup).
    Followup {
        #[command(flatten)]
        common: ReportArgs,
    },
    /// Station services (非警务服务事项) per station and type: opened, submitted, closed,
    /// overdue, hours from request to submitted (grid-registry).
    ServiceRequests {
        #[command(flatten)]
        common: ReportArgs,
        /// Only this type.
        #[arg(long = "type", value_enum)]
        service_type: Option<ServiceTypeArg>,
    },
}

/// Hotspot areas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AreaArg {
    /// Community-policing grids.
    Grid,
    /// Fixed cells of 0.005 x 0.005 degrees.
    Cell,
}

/// What every report takes: where, as whom, the period, the station and the output format.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// gRPC endpoint of the service that answers (the dev shape serves all six on one).
    #[arg(
        long,
        env = "PINGAN_ENDPOINT",
        default_value = "http://127.0.0.1:50051"
    )]
    pub endpoint: String,
    /// Bearer token; the dev shape accepts calls without one.
    #[arg(long, env = "PINGAN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// TLS for `https://` endpoints (`--ca`, `--cert`, `--key`).
    #[command(flatten)]
    pub tls: pingan_platform::tls::ClientTlsArgs,
    /// Period start: a local date (YYYY-MM-DD, Beijing midnight) or RFC 3339; default: 30 days
    /// before --to.
    #[arg(long)]
    pub from: Option<String>,
    /// Period end (exclusive): a local date or RFC 3339; default: today's local midnight.
    #[arg(long)]
    pub to: Option<String>,
    /// Only this station.
    #[arg(long, default_value = "")]
    pub station: String,
    /// Print JSON.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print CSV (one header line, a `section` column first).
    #[arg(long)]
    pub csv: bool,
}

/// A report as rows: named sections, each with its columns.
#[derive(Debug, Default)]
pub struct Report {
    sections: Vec<Section>,
}

#[derive(Debug)]
struct Section {
    name: String,
    columns: Vec<&'static str>,
    rows: Vec<Vec<Value>>,
}

impl Report {
    fn section(&mut self, name: &str, columns: &[&'static str], rows: Vec<Vec<Value>>) {
        self.sections.push(Section {
            name: name.to_owned(),
            columns: columns.to_vec(),
            rows,
        });
    }

    /// JSON: an object of sections, each an array of objects.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        for s in &self.sections {
            let rows = s
                .rows
                .iter()
                .map(|row| {
                    Value::Object(
                        s.columns
                            .iter()
                            .zip(row)
                            .map(|(c, v)| ((*c).to_owned(), v.clone()))
                            .collect(),
                    )
                })
                .collect();
            out.insert(s.name.clone(), Value::Array(rows));
        }
        Value::Object(out)
    }

    /// CSV: `section` then the columns of the widest section (RFC 4180 quoting).
    pub fn to_csv(&self) -> String {
        let width = self.sections.iter().map(|s| s.columns.len()).max();
        let header = self
            .sections
            .iter()
            .find(|s| Some(s.columns.len()) == width)
            .map(|s| s.columns.clone())
            .unwrap_or_default();
        let mut out = String::from("section");
        for c in &header {
            out.push(',');
            out.push_str(c);
        }
        out.push('\n');
        for s in &self.sections {
            for row in &s.rows {
                out.push_str(&csv_field(&s.name));
                for v in row {
                    out.push(',');
                    out.push_str(&csv_field(&plain(v)));
                }
                out.push('\n');
            }
        }
        out
    }

    /// A plain-text table per section.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for s in &self.sections {
            out.push_str(&format!("== {}\n", s.name));
            out.push_str(&s.columns.join("\t"));
            out.push('\n');
            for row in &s.rows {
                let cells: Vec<String> = row.iter().map(plain).collect();
                out.push_str(&cells.join("\t"));
                out.push('\n');
            }
        }
        out
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{f:.1}"),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// An instant from a local date (Beijing midnight) or RFC 3339.
fn instant(text: &str) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(pingan_platform::time::start_of_local_day(date));
    }
    Ok(DateTime::parse_from_rfc3339(text)
        .with_context(|| format!("{text} is neither YYYY-MM-DD nor RFC 3339"))?
        .with_timezone(&Utc))
}

/// The period of the arguments: [from, to).
pub fn period(args: &ReportArgs) -> anyhow::Result<TimeRange> {
    let to = match &args.to {
        Some(text) => instant(text)?,
        None => {
            pingan_platform::time::start_of_local_day(pingan_platform::time::local_date(Utc::now()))
        }
    };
    let from = match &args.from {
        Some(text) => instant(text)?,
        None => to - chrono::Duration::days(30),
    };
    Ok(TimeRange {
        start: Some(pingan_platform::time::to_timestamp(from)),
        end: Some(pingan_platform::time::to_timestamp(to)),
    })
}

/// Adds the bearer token, when one is given.
#[derive(Debug, Clone)]
pub struct MaybeBearer(Option<MetadataValue<Ascii>>);

impl tonic::service::Interceptor for MaybeBearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(bearer) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", bearer.clone());
        }
        Ok(request)
    }
}

/// A channel to the endpoint with the token.
pub async fn connect(
    args: &ReportArgs,
) -> anyhow::Result<InterceptedService<Channel, MaybeBearer>> {
    let channel = args
        .tls
        .connect(&args.endpoint, Duration::from_secs(5))
        .await?;
    let bearer = match &args.token {
        Some(token) => Some(MetadataValue::try_from(format!("Bearer {token}"))?),
        None => None,
    };
    Ok(InterceptedService::new(channel, MaybeBearer(bearer)))
}

fn percent(p: Option<f64>) -> Value {
    p.map_or(Value::Null, |p| json!((p * 10.0).round() / 10.0))
}

fn bucket_rows(buckets: &[CountBucket]) -> Vec<Vec<Value>> {
    buckets
        .iter()
        .map(|b| {
            vec![
                json!(b.key),
                json!(b.label),
                json!(b.count),
                json!(b.previous_count),
                json!(b.change),
                percent(b.change_percent),
                json!(b.station_id),
            ]
        })
        .collect()
}

const BUCKET_COLUMNS: &[&str] = &[
    "key",
    "label",
    "count",
    "previous_count",
    "change",
    "change_percent",
    "station_id",
];

fn scope(common: &ReportArgs, grid: &str, category: &str) -> anyhow::Result<IncidentScope> {
    Ok(IncidentScope {
        period: Some(period(common)?),
        station_id: common.station.clone(),
        grid_id: grid.to_owned(),
        category: category.to_owned(),
        utc_offset_minutes: None,
    })
}

/// Runs a report and returns it as rows.
pub async fn fetch(command: &ReportCommand) -> anyhow::Result<Report> {
    let mut report = Report::default();
    match command {
        ReportCommand::Incidents {
            common,
            grid,
            category,
        } => {
            let mut client = IncidentAnalysisServiceClient::new(connect(common).await?);
            let stats = client
                .incident_stats(IncidentStatsRequest {
                    scope: Some(scope(common, grid, category)?),
                })
                .await
                .context("IncidentStats")?
                .into_inner();
            let total: Vec<CountBucket> = stats.total.into_iter().collect();
            report.section("total", BUCKET_COLUMNS, bucket_rows(&total));
            report.section("by_station", BUCKET_COLUMNS, bucket_rows(&stats.by_station));
            report.section("by_grid", BUCKET_COLUMNS, bucket_rows(&stats.by_grid));
            report.section(
                "by_category",
                BUCKET_COLUMNS,
                bucket_rows(&stats.by_category),
            );
            report.section("by_hour", BUCKET_COLUMNS, bucket_rows(&stats.by_hour));
            report.section("by_day", BUCKET_COLUMNS, bucket_rows(&stats.by_day));
        }
        ReportCommand::Hotspots {
            common,
            area,
            category,
            limit,
        } => {
            let mut client = IncidentAnalysisServiceClient::new(connect(common).await?);
            let answer = client
                .hotspots(HotspotsRequest {
                    scope: Some(scope(common, "", category)?),
                    area: match area {
                        AreaArg::Grid => HotspotArea::Grid,
                        AreaArg::Cell => HotspotArea::Cell,
                    } as i32,
                    limit: *limit,
                })
                .await
                .context("Hotspots")?
                .into_inner();
            let rows = answer
                .hotspots
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    let center = h.center.unwrap_or_default();
                    vec![
                        json!(i + 1),
                        json!(h.area_id),
                        json!(h.station_id),
                        json!(h.count),
                        json!(h.previous_count),
                        json!(h.change),
                        percent(h.change_percent),
                        json!(h.previous_rank),
                        h.center.map_or(Value::Null, |_| json!(center.lat)),
                        h.center.map_or(Value::Null, |_| json!(center.lon)),
                    ]
                })
                .collect();
            report.section(
                "hotspots",
                &[
                    "rank",
                    "area_id",
                    "station_id",
                    "count",
                    "previous_count",
                    "change",
                    "change_percent",
                    "previous_rank",
                    "center_lat",
                    "center_lon",
                ],
                rows,
            );
            report.section("unplaced", &["count"], vec![vec![json!(answer.unplaced)]]);
        }
        ReportCommand::ResponseTimes {
            common,
            priority,
            target_minutes,
            breaches,
        } => return owners::response_times(common, priority, *target_minutes, *breaches).await,
        ReportCommand::Exchange {
            common,
            by,
            department,
            category,
        } => return owners::exchange(common, *by, department, category).await,
        ReportCommand::Followup { common } => return owners::followup(common).await,
        ReportCommand::ServiceRequests {
            common,
            service_type,
        } => return stations::service_requests(common, *service_type).await,
    }
    Ok(report)
}

fn common(command: &ReportCommand) -> &ReportArgs {
    match command {
        ReportCommand::Incidents { common, .. }
        | ReportCommand::Hotspots { common, .. }
        | ReportCommand::ResponseTimes { common, .. }
        | ReportCommand::Exchange { common, .. }
        | ReportCommand::Followup { common }
        | ReportCommand::ServiceRequests { common, .. } => common,
    }
}

/// Runs a report and renders it in the format asked for.
pub async fn render(command: &ReportCommand) -> anyhow::Result<String> {
    let report = fetch(command).await?;
    let args = common(command);
    Ok(if args.json {
        format!("{:#}\n", report.to_json())
    } else if args.csv {
        report.to_csv()
    } else {
        report.to_text()
    })
}

/// `pingan report …`: prints the report.
pub async fn report(command: ReportCommand) -> anyhow::Result<()> {
    print!("{}", render(&command).await?);
    Ok(())
}
