//! The command board's state (folded from WatchBoard events) and its terminal view: open
//! dispatches by priority with their clocks since the ring, units by status, and the dispatches
//! that missed their response target (the 5-minute target of a P1) highlighted.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use pingan_proto::dispatch::v1::watch_board_response::Event;
use pingan_proto::dispatch::v1::{Dispatch, DispatchStatus, Unit, UnitStatus, WatchBoardResponse};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

use crate::client::dispatch::status_name as dispatch_status;
use crate::client::output;
use crate::client::units::status_name as unit_status;

/// What the board shows, kept current by [`Board::apply`].
#[derive(Debug, Default, Clone)]
pub struct Board {
    /// Open dispatches by id (closed ones are dropped).
    pub dispatches: BTreeMap<String, Dispatch>,
    /// Units by id.
    pub units: BTreeMap<String, Unit>,
    /// When each incident's first call rang (from intake), by incident id; the dispatch's
    /// opening stands in until known.
    pub rang_at: BTreeMap<String, DateTime<Utc>>,
    /// Events the server dropped for this watcher.
    pub missed: i64,
    /// True once the initial snapshot was received.
    pub snapshot_complete: bool,
}

/// True when the dispatch missed its response target: flagged by dispatch, or past due with no
/// unit en route yet.
pub fn breached(dispatch: &Dispatch, now: DateTime<Utc>) -> bool {
    if dispatch.sla_breached {
        return true;
    }
    let due = dispatch
        .response_due_at
        .as_ref()
        .and_then(pingan_platform::time::from_timestamp);
    dispatch.first_en_route_at.is_none() && due.is_some_and(|due| due < now)
}

impl Board {
    /// Folds one event into the board.
    pub fn apply(&mut self, event: &WatchBoardResponse) {
        match &event.event {
            Some(Event::Dispatch(d)) => {
                if d.status() == DispatchStatus::Closed {
                    self.dispatches.remove(&d.dispatch_id);
                } else {
                    self.dispatches.insert(d.dispatch_id.clone(), d.clone());
                }
            }
            Some(Event::Unit(u)) => {
                self.units.insert(u.unit_id.clone(), u.clone());
            }
            Some(Event::Lagged(l)) => self.missed += l.missed_events,
            Some(Event::SnapshotComplete(_)) => self.snapshot_complete = true,
            Some(Event::TimelineEntry(_)) | None => {}
        }
    }

    /// When the dispatch's incident rang (or the dispatch opened).
    pub fn rang(&self, dispatch: &Dispatch) -> Option<DateTime<Utc>> {
        self.rang_at
            .get(&dispatch.incident_id)
            .copied()
            .or_else(|| {
                dispatch
                    .opened_at
                    .as_ref()
                    .and_then(pingan_platform::time::from_timestamp)
            })
    }

    /// Open dispatches, P1 first, the longest waiting first within a priority.
    pub fn by_priority(&self) -> Vec<&Dispatch> {
        let mut list: Vec<&Dispatch> = self.dispatches.values().collect();
        list.sort_by_key(|d| {
            let priority = match d.priority {
                0 => i32::MAX,
                p => p,
            };
            (priority, self.rang(d))
        });
        list
    }

    /// Units ordered by status (available first), then id.
    pub fn units_by_status(&self) -> Vec<&Unit> {
        let order = |s: UnitStatus| match s {
            UnitStatus::Available => 0,
            UnitStatus::Assigned => 1,
            UnitStatus::EnRoute => 2,
            UnitStatus::OnScene => 3,
            UnitStatus::Busy => 4,
            UnitStatus::OffDuty => 5,
            UnitStatus::Unspecified => 6,
        };
        let mut list: Vec<&Unit> = self.units.values().collect();
        list.sort_by_key(|u| (order(u.status()), u.unit_id.clone()));
        list
    }
}

fn unit_color(status: UnitStatus) -> Color {
    match status {
        UnitStatus::Available => Color::Green,
        UnitStatus::Assigned | UnitStatus::EnRoute => Color::Yellow,
        UnitStatus::OnScene => Color::Cyan,
        UnitStatus::Busy => Color::Magenta,
        UnitStatus::OffDuty | UnitStatus::Unspecified => Color::DarkGray,
    }
}

/// Draws the board.
pub fn render(frame: &mut Frame, board: &Board, now: DateTime<Utc>) {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let dispatches = board.by_priority();
    let breaches = dispatches.iter().filter(|d| breached(d, now)).count();
    let available = board
        .units
        .values()
        .filter(|u| u.status() == UnitStatus::Available)
        .count();
    let title = format!(
        "Pingan command board  {}  open {}  breached {}  units available {}/{}{}",
        pingan_platform::time::to_local(now).format("%H:%M:%S"),
        dispatches.len(),
        breaches,
        available,
        board.units.len(),
        if board.missed > 0 {
            format!("  missed events {}", board.missed)
        } else {
            String::new()
        }
    );
    frame.render_widget(
        Paragraph::new(title).style(Style::default().add_modifier(Modifier::BOLD)),
        header,
    );
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)]).areas(body);

    let rows = dispatches.iter().map(|d| {
        let late = breached(d, now);
        let clock = board
            .rang(d)
            .map(|t| output::clock((now - t).num_seconds()))
            .unwrap_or_default();
        let units: Vec<&str> = d
            .assignments
            .iter()
            .filter(|a| a.ended_at.is_none())
            .map(|a| a.callsign.as_str())
            .collect();
        let style = if late {
            Style::default().fg(Color::Red).add_modifier(Modifier::BOLD)
        } else {
            Style::default()
        };
        Row::new(vec![
            Cell::from(output::short(d.priority().as_str_name(), "PRIORITY_").to_owned()),
            Cell::from(clock),
            Cell::from(if late { "BREACH" } else { "" }),
            Cell::from(dispatch_status(d.status())),
            Cell::from(d.category.clone()),
            Cell::from(d.station_id.clone()),
            Cell::from(units.join(" ")),
        ])
        .style(style)
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(3),
            Constraint::Length(7),
            Constraint::Length(6),
            Constraint::Length(9),
            Constraint::Length(17),
            Constraint::Length(13),
            Constraint::Min(10),
        ],
    )
    .header(
        Row::new([
            "pri", "clock", "sla", "status", "category", "station", "units",
        ])
        .style(Style::default().add_modifier(Modifier::UNDERLINED)),
    )
    .block(
        Block::default()
            .borders(Borders::ALL)
            .title("open incidents"),
    );
    frame.render_widget(table, left);

    let unit_rows = board.units_by_status().into_iter().map(|u| {
        Row::new(vec![
            Cell::from(unit_status(u.status())),
            Cell::from(u.callsign.clone()),
            Cell::from(u.station_id.clone()),
        ])
        .style(Style::default().fg(unit_color(u.status())))
    });
    let units = Table::new(
        unit_rows,
        [
            Constraint::Length(9),
            Constraint::Length(16),
            Constraint::Min(8),
        ],
    )
    .header(
        Row::new(["status", "callsign", "station"])
            .style(Style::default().add_modifier(Modifier::UNDERLINED)),
    )
    .block(Block::default().borders(Borders::ALL).title("units"));
    frame.render_widget(units, right);

    frame.render_widget(
        Paragraph::new(Line::from(
            "q quit   clocks run from the first ring; red: response target missed",
        )),
        footer,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use pingan_proto::common::v1::Priority;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn ts(at: DateTime<Utc>) -> Option<prost_types::Timestamp> {
        Some(pingan_platform::time::to_timestamp(at))
    }

    fn event(event: Event) -> WatchBoardResponse {
        WatchBoardResponse {
            sequence: 1,
            occurred_at: None,
            event: Some(event),
        }
    }

    #[test]
    fn a_breached_incident_is_drawn_red_above_the_others() {
        let now = Utc::now();
        let mut board = Board::default();
        // P1 rung 7 minutes ago, due 5 minutes after, no unit en route: breached.
        board.apply(&event(Event::Dispatch(Dispatch {
            dispatch_id: "d-late".into(),
            incident_id: "i-late".into(),
            status: DispatchStatus::Pending as i32,
            priority: Priority::P1 as i32,
            category: "RESCUE".into(),
            opened_at: ts(now - chrono::Duration::minutes(7)),
            response_due_at: ts(now - chrono::Duration::minutes(2)),
            ..Default::default()
        })));
        board.apply(&event(Event::Dispatch(Dispatch {
            dispatch_id: "d-fine".into(),
            incident_id: "i-fine".into(),
            status: DispatchStatus::Assigned as i32,
            priority: Priority::P3 as i32,
            category: "DISPUTE".into(),
            opened_at: ts(now - chrono::Duration::minutes(1)),
            response_due_at: ts(now + chrono::Duration::minutes(29)),
            ..Default::default()
        })));
        board.apply(&event(Event::Unit(Unit {
            unit_id: "u-1".into(),
            callsign: "RONGXIANG-1".into(),
            status: UnitStatus::Available as i32,
            ..Default::default()
        })));

        let mut terminal = Terminal::new(TestBackend::new(120, 12)).expect("terminal");
        terminal
            .draw(|frame| render(frame, &board, now))
            .expect("draw");
        let buffer = terminal.backend().buffer().clone();
        let line = |y: u16| -> String {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol().to_owned())
                .collect()
        };
        // Row 3 is the first dispatch (header line, border, column header).
        let first = line(3);
        assert!(first.contains("P1") && first.contains("7m00s"), "{first}");
        assert!(
            first.contains("BREACH") && first.contains("RESCUE"),
            "{first}"
        );
        let column = |text: &str, needle: &str| -> u16 {
            let byte = text.find(needle).expect("present");
            u16::try_from(text[..byte].chars().count()).expect("x")
        };
        let x = column(&first, "BREACH");
        assert_eq!(buffer[(x, 3)].fg, Color::Red, "breached row is red");
        assert!(buffer[(x, 3)].modifier.contains(Modifier::BOLD));

        let second = line(4);
        assert!(
            second.contains("P3") && !second.contains("BREACH"),
            "{second}"
        );
        let x = column(&second, "DISPUTE");
        assert_ne!(
            buffer[(x, 4)].fg,
            Color::Red,
            "an incident within target is not red"
        );
        assert!(line(0).contains("breached 1"), "{}", line(0));
        let units = (0..12).map(line).collect::<Vec<_>>().join("\n");
        assert!(
            units.contains("AVAILABLE") && units.contains("RONGXIANG-1"),
            "{units}"
        );
    }

    #[test]
    fn a_closed_dispatch_leaves_the_board() {
        let mut board = Board::default();
        let mut d = Dispatch {
            dispatch_id: "d-1".into(),
            status: DispatchStatus::OnScene as i32,
            ..Default::default()
        };
        board.apply(&event(Event::Dispatch(d.clone())));
        assert_eq!(board.dispatches.len(), 1);
        d.status = DispatchStatus::Closed as i32;
        board.apply(&event(Event::Dispatch(d)));
        assert!(board.dispatches.is_empty());
    }
}
