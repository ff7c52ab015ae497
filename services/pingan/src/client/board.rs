//! `pingan board watch`: the WatchBoard stream. On a terminal, an updating view (ratatui);
//! otherwise (or with `--plain`/`--json`) one line or JSON object per board change, for scripts.

use std::io::{IsTerminal as _, Write as _};
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use crossterm::event::{self, Event as TermEvent, KeyCode, KeyModifiers};
use pingan_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use pingan_proto::dispatch::v1::watch_board_response::Event;
use pingan_proto::dispatch::v1::{WatchBoardRequest, WatchBoardResponse};
use pingan_proto::intake::v1::GetIncidentRequest;
use pingan_proto::intake::v1::intake_service_client::IntakeServiceClient;
use tonic::Streaming;

use crate::client::board_view::{self, Board};
use crate::client::conn::{Authed, Conn};
use crate::client::dispatch::status_name as dispatch_status;
use crate::client::output;
use crate::client::units::status_name as unit_status;

/// `pingan board …`
#[derive(Debug, Subcommand)]
pub enum BoardCommand {
    /// Watch the command board live (q quits); without a terminal, one line per change.
    Watch(WatchArgs),
}

/// `pingan board watch`
#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub conn: Conn,
    /// Only these stations (repeat the flag; default: the caller's jurisdiction).
    #[arg(long = "station")]
    pub stations: Vec<String>,
    /// Also show position-only unit updates.
    #[arg(long)]
    pub positions: bool,
    /// One line of text per board change, even on a terminal.
    #[arg(long, conflicts_with = "json")]
    pub plain: bool,
    /// One JSON object (the WatchBoard event) per board change.
    #[arg(long)]
    pub json: bool,
}

/// Runs `pingan board …`.
pub async fn run(command: BoardCommand) -> anyhow::Result<()> {
    match command {
        BoardCommand::Watch(args) => watch(args).await,
    }
}

async fn subscribe(conn: &Conn, args: &WatchArgs) -> anyhow::Result<Streaming<WatchBoardResponse>> {
    let channel: Authed = conn.connect().await?;
    Ok(DispatchServiceClient::new(channel)
        .watch_board(WatchBoardRequest {
            station_ids: args.stations.clone(),
            send_snapshot: true,
            include_positions: args.positions,
        })
        .await
        .context("WatchBoard")?
        .into_inner())
}

fn stream_ended() -> anyhow::Error {
    anyhow::Error::new(tonic::Status::unavailable(
        "the server ended the board stream",
    ))
    .context("WatchBoard")
}

async fn watch(args: WatchArgs) -> anyhow::Result<()> {
    let interactive = std::io::stdout().is_terminal() && !args.plain && !args.json;
    let mut stream = subscribe(&args.conn, &args).await?;
    if interactive {
        return watch_terminal(&args, stream).await;
    }
    loop {
        let message = stream.message().await.context("WatchBoard")?;
        let Some(event) = message else {
            return Err(stream_ended());
        };
        let text = if args.json {
            output::proto_json(&event)?.to_string()
        } else {
            line(&event)
        };
        let mut out = std::io::stdout().lock();
        writeln!(out, "{text}")?;
        out.flush()?;
    }
}

/// One board event as a line of text: `dispatch …`, `unit …`, `timeline …`, `lagged …` or
/// `snapshot …` followed by `key=value` fields.
pub fn line(event: &WatchBoardResponse) -> String {
    let now = chrono::Utc::now();
    match &event.event {
        Some(Event::Dispatch(d)) => {
            let units: Vec<&str> = d
                .assignments
                .iter()
                .filter(|a| a.ended_at.is_none())
                .map(|a| a.unit_id.as_str())
                .collect();
            format!(
                "dispatch {} status={} priority={} category={} incident={} station={} units={} since_open={} breached={}",
                d.dispatch_id,
                dispatch_status(d.status()),
                output::short(d.priority().as_str_name(), "PRIORITY_"),
                d.category,
                d.incident_id,
                d.station_id,
                units.join(","),
                output::since(d.opened_at.as_ref(), now),
                if board_view::breached(d, now) {
                    "yes"
                } else {
                    "no"
                }
            )
        }
        Some(Event::Unit(u)) => format!(
            "unit {} status={} callsign={} station={} dispatch={}",
            u.unit_id,
            unit_status(u.status()),
            u.callsign,
            u.station_id,
            u.current_dispatch_id
        ),
        Some(Event::TimelineEntry(t)) => format!(
            "timeline {} kind={} unit={} incident={} {}",
            t.dispatch_id,
            output::short(t.kind().as_str_name(), "TIMELINE_ENTRY_KIND_"),
            t.unit_id,
            t.incident_id,
            t.description
        ),
        Some(Event::Lagged(l)) => format!("lagged missed={}", l.missed_events),
        Some(Event::SnapshotComplete(s)) => {
            format!("snapshot dispatches={} units={}", s.dispatches, s.units)
        }
        None => format!("unknown sequence={}", event.sequence),
    }
}

/// What woke the terminal loop.
enum Wake {
    Board(Option<Box<WatchBoardResponse>>),
    Quit,
    Tick,
}

async fn watch_terminal(
    args: &WatchArgs,
    mut stream: Streaming<WatchBoardResponse>,
) -> anyhow::Result<()> {
    let mut intake = IntakeServiceClient::new(args.conn.connect().await?);
    let (quit_tx, mut quit_rx) = tokio::sync::mpsc::unbounded_channel();
    // crossterm's key reading blocks: a thread reads keys and reports a quit.
    std::thread::spawn(move || {
        loop {
            match event::poll(Duration::from_millis(200)) {
                Ok(true) => {}
                Ok(false) => {
                    if quit_tx.is_closed() {
                        return;
                    }
                    continue;
                }
                Err(_) => return,
            }
            if let Ok(TermEvent::Key(key)) = event::read() {
                let ctrl_c =
                    key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
                if matches!(key.code, KeyCode::Char('q') | KeyCode::Esc) || ctrl_c {
                    let _ = quit_tx.send(());
                    return;
                }
            }
        }
    });
    let mut terminal = ratatui::try_init().context("opening the terminal")?;
    let mut board = Board::default();
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    let result = async {
        loop {
            let wake = tokio::select! {
                message = stream.message() => Wake::Board(message.context("WatchBoard")?.map(Box::new)),
                _ = quit_rx.recv() => Wake::Quit,
                _ = ticks.tick() => Wake::Tick,
            };
            match wake {
                Wake::Quit => return Ok(()),
                Wake::Board(None) => return Err(stream_ended()),
                Wake::Board(Some(event)) => {
                    board.apply(&event);
                    if let Some(Event::Dispatch(d)) = &event.event {
                        learn_ring(&mut intake, &mut board, &d.incident_id).await;
                    }
                }
                Wake::Tick => {}
            }
            terminal
                .draw(|frame| board_view::render(frame, &board, chrono::Utc::now()))
                .context("drawing the board")?;
        }
    }
    .await;
    ratatui::restore();
    result
}

/// Asks intake once when an incident's first call rang (the board's clocks start there).
async fn learn_ring(intake: &mut IntakeServiceClient<Authed>, board: &mut Board, incident: &str) {
    if incident.is_empty() || board.rang_at.contains_key(incident) {
        return;
    }
    let answer = intake
        .get_incident(GetIncidentRequest {
            incident_id: incident.to_owned(),
            // A dispatcher's read shows callers' numbers in clear: audited with this reason.
            reason: "incident board: when the first call rang".to_owned(),
        })
        .await;
    let rang = answer.ok().and_then(|a| {
        a.into_inner()
            .incident
            .and_then(|i| i.clocks)
            .and_then(|c| c.received_at)
            .as_ref()
            .and_then(pingan_platform::time::from_timestamp)
    });
    if let Some(rang) = rang {
        board.rang_at.insert(incident.to_owned(), rang);
    }
}
