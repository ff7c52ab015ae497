//! The command room's analysis of incidents, without I/O: the period and the previous one,
//! counts by station / grid / category / hour / day against the previous period, the fixed
//! ~500 m cells, and the hotspots.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, FixedOffset, Timelike, Utc};

/// Longest period an analysis covers.
pub const MAX_PERIOD_DAYS: i64 = 366;
/// Offset of the bureau's clock when the request names none (China Standard Time).
pub const DEFAULT_UTC_OFFSET_MINUTES: i32 = 480;
/// Cells per degree: a cell is 1/200 = 0.005 degrees of latitude by 0.005 of longitude.
pub const CELLS_PER_DEGREE: f64 = 200.0;

/// One incident as the analysis sees it (a slim row of the incident table).
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentPoint {
    pub received_at: DateTime<Utc>,
    pub station_id: String,
    pub grid_id: String,
    pub category: String,
    /// A point when the incident has one.
    pub location: Option<(f64, f64)>,
}

/// The period asked for and the previous one of the same length, ending where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Periods {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub previous_start: DateTime<Utc>,
}

impl Periods {
    /// [start, end) and its previous period; None unless start < end and the span is at most
    /// [`MAX_PERIOD_DAYS`].
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Option<Self> {
        let length = end - start;
        if length <= Duration::zero() || length > Duration::days(MAX_PERIOD_DAYS) {
            return None;
        }
        Some(Self {
            start,
            end,
            previous_start: start - length,
        })
    }

    /// Which period an instant falls in.
    pub fn which(&self, at: DateTime<Utc>) -> Option<Which> {
        if at >= self.start && at < self.end {
            Some(Which::Current)
        } else if at >= self.previous_start && at < self.start {
            Some(Which::Previous)
        } else {
            None
        }
    }

    /// Number of day rows: one per 24 h from the start (a last partial day counts).
    pub fn days(&self) -> i64 {
        let secs = (self.end - self.start).num_seconds();
        (secs + 86_399) / 86_400
    }
}

/// The period an incident falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Current,
    Previous,
}

/// A count now and in the previous period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub count: i64,
    pub previous: i64,
}

impl Counts {
    fn add(&mut self, which: Which) {
        match which {
            Which::Current => self.count += 1,
            Which::Previous => self.previous += 1,
        }
    }

    /// count - previous.
    pub fn change(&self) -> i64 {
        self.count - self.previous
    }

    /// The change in percent of the previous count; None when the previous count is 0.
    pub fn change_percent(&self) -> Option<f64> {
        change_percent(self.count, self.previous)
    }
}

/// (count - previous) / previous * 100, None when previous is 0.
pub fn change_percent(count: i64, previous: i64) -> Option<f64> {
    (previous != 0).then(|| (count - previous) as f64 * 100.0 / previous as f64)
}

/// Every breakdown of IncidentStats.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    pub total: Counts,
    /// Key: station id.
    pub by_station: Vec<(String, Counts)>,
    /// Key: grid id; with the grid's station.
    pub by_grid: Vec<(String, String, Counts)>,
    /// Key: category code.
    pub by_category: Vec<(String, Counts)>,
    /// 24 rows, local hour 0 first.
    pub by_hour: Vec<Counts>,
    /// One row per 24 h from the period start; with the row's start.
    pub by_day: Vec<(DateTime<Utc>, Counts)>,
}

/// Counts `points` in `periods`; hours in the local time `offset`.
pub fn stats(periods: &Periods, offset: FixedOffset, points: &[IncidentPoint]) -> Stats {
    let mut total = Counts::default();
    let mut stations: HashMap<&str, Counts> = HashMap::new();
    let mut grids: HashMap<(&str, &str), Counts> = HashMap::new();
    let mut categories: HashMap<&str, Counts> = HashMap::new();
    let mut hours = vec![Counts::default(); 24];
    let days = periods.days();
    let mut by_day = vec![Counts::default(); usize::try_from(days).unwrap_or(0)];
    for point in points {
        let Some(which) = periods.which(point.received_at) else {
            continue;
        };
        total.add(which);
        stations
            .entry(point.station_id.as_str())
            .or_default()
            .add(which);
        grids
            .entry((point.grid_id.as_str(), point.station_id.as_str()))
            .or_default()
            .add(which);
        categories
            .entry(point.category.as_str())
            .or_default()
            .add(which);
        let hour = point.received_at.with_timezone(&offset).hour() as usize;
        if let Some(row) = hours.get_mut(hour) {
            row.add(which);
        }
        let origin = match which {
            Which::Current => periods.start,
            Which::Previous => periods.previous_start,
        };
        let day = (point.received_at - origin).num_seconds() / 86_400;
        if let Some(row) = usize::try_from(day).ok().and_then(|d| by_day.get_mut(d)) {
            row.add(which);
        }
    }
    // A grid seen under two stations (re-drawn in the period) keeps one row per pair.
    let mut by_grid: Vec<(String, String, Counts)> = grids
        .into_iter()
        .map(|((grid, station), c)| (grid.to_owned(), station.to_owned(), c))
        .collect();
    by_grid.sort_by(|a, b| b.2.count.cmp(&a.2.count).then_with(|| a.0.cmp(&b.0)));
    Stats {
        total,
        by_station: ranked(stations),
        by_grid,
        by_category: ranked(categories),
        by_hour: hours,
        by_day: by_day
            .into_iter()
            .enumerate()
            .map(|(i, c)| (periods.start + Duration::days(i as i64), c))
            .collect(),
    }
}

/// Most incidents first; ties by key.
fn ranked(map: HashMap<&str, Counts>) -> Vec<(String, Counts)> {
    let mut rows: Vec<(String, Counts)> = map.into_iter().map(|(k, c)| (k.to_owned(), c)).collect();
    rows.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(&b.0)));
    rows
}

/// A fixed ~500 m cell: 0.005 degrees on each side, rows and columns counted from 0,0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cell {
    pub row: i64,
    pub column: i64,
}

impl Cell {
    /// The cell of a point: row = floor(lat * 200), column = floor(lon * 200).
    pub fn of(lat: f64, lon: f64) -> Self {
        Self {
            row: (lat * CELLS_PER_DEGREE).floor() as i64,
            column: (lon * CELLS_PER_DEGREE).floor() as i64,
        }
    }

    /// "r<row>c<column>".
    pub fn id(&self) -> String {
        format!("r{}c{}", self.row, self.column)
    }

    /// South-west corner (lat, lon).
    pub fn south_west(&self) -> (f64, f64) {
        (
            self.row as f64 / CELLS_PER_DEGREE,
            self.column as f64 / CELLS_PER_DEGREE,
        )
    }

    /// North-east corner (lat, lon).
    pub fn north_east(&self) -> (f64, f64) {
        (
            (self.row + 1) as f64 / CELLS_PER_DEGREE,
            (self.column + 1) as f64 / CELLS_PER_DEGREE,
        )
    }

    /// Centre (lat, lon).
    pub fn center(&self) -> (f64, f64) {
        (
            (self.row as f64 + 0.5) / CELLS_PER_DEGREE,
            (self.column as f64 + 0.5) / CELLS_PER_DEGREE,
        )
    }
}

/// What a hotspot is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    Grid,
    Cell,
}

/// One hotspot.
#[derive(Debug, Clone, PartialEq)]
pub struct Hotspot {
    pub area_id: String,
    /// The grid's station; for a cell the station with most of its incidents (ties: id).
    pub station_id: String,
    pub counts: Counts,
    /// Rank among the areas in the previous period (1 = most); 0 when it had none.
    pub previous_rank: i32,
    /// The cell, for cell hotspots.
    pub cell: Option<Cell>,
}

/// The hotspots of `points` and how many incidents fell in no area.
pub fn hotspots(
    periods: &Periods,
    area: Area,
    limit: usize,
    points: &[IncidentPoint],
) -> (Vec<Hotspot>, i64) {
    #[derive(Default)]
    struct Acc<'a> {
        counts: Counts,
        stations: BTreeMap<&'a str, i64>,
        cell: Option<Cell>,
    }
    let mut areas: HashMap<String, Acc> = HashMap::new();
    let mut unplaced = 0;
    for point in points {
        let Some(which) = periods.which(point.received_at) else {
            continue;
        };
        let (key, cell) = match area {
            Area::Grid if !point.grid_id.is_empty() => (point.grid_id.clone(), None),
            Area::Cell => match point.location {
                Some((lat, lon)) => {
                    let cell = Cell::of(lat, lon);
                    (cell.id(), Some(cell))
                }
                None => {
                    unplaced += i64::from(which == Which::Current);
                    continue;
                }
            },
            Area::Grid => {
                unplaced += i64::from(which == Which::Current);
                continue;
            }
        };
        let acc = areas.entry(key).or_default();
        acc.counts.add(which);
        acc.cell = cell;
        *acc.stations.entry(point.station_id.as_str()).or_default() += 1;
    }
    let mut previous: Vec<(&String, i64)> = areas
        .iter()
        .filter(|(_, a)| a.counts.previous > 0)
        .map(|(k, a)| (k, a.counts.previous))
        .collect();
    previous.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let previous_rank: HashMap<&String, i32> = previous
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (*k, i32::try_from(i + 1).unwrap_or(i32::MAX)))
        .collect();
    let mut rows: Vec<Hotspot> = areas
        .iter()
        .filter(|(_, a)| a.counts.count > 0)
        .map(|(key, a)| Hotspot {
            area_id: key.clone(),
            station_id: a
                .stations
                .iter()
                .max_by(|x, y| x.1.cmp(y.1).then_with(|| y.0.cmp(x.0)))
                .map(|(s, _)| (*s).to_owned())
                .unwrap_or_default(),
            counts: a.counts,
            previous_rank: previous_rank.get(key).copied().unwrap_or(0),
            cell: a.cell,
        })
        .collect();
    rows.sort_by(|a, b| {
        b.counts
            .count
            .cmp(&a.counts.count)
            .then_with(|| a.area_id.cmp(&b.area_id))
    });
    rows.truncate(limit);
    (rows, unplaced)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 10, d, h, 30, 0)
            .single()
            .expect("time")
    }

    fn point(d: u32, h: u32, grid: &str, category: &str, lat: f64, lon: f64) -> IncidentPoint {
        IncidentPoint {
            received_at: at(d, h),
            station_id: format!("st-{grid}"),
            grid_id: grid.into(),
            category: category.into(),
            location: Some((lat, lon)),
        }
    }

    fn periods() -> Periods {
        // [Oct 11 00:00, Oct 21 00:00), previous [Oct 1, Oct 11).
        Periods::new(
            at(11, 0) - Duration::minutes(30),
            at(21, 0) - Duration::minutes(30),
        )
        .expect("periods")
    }

    #[test]
    fn periods_are_checked_and_mirrored() {
        let p = periods();
        assert_eq!(p.previous_start, at(1, 0) - Duration::minutes(30));
        assert_eq!(p.days(), 10);
        assert!(Periods::new(at(2, 0), at(2, 0)).is_none());
        assert!(Periods::new(at(3, 0), at(2, 0)).is_none());
        let start = at(1, 0);
        assert!(Periods::new(start, start + Duration::days(367)).is_none());
        assert!(Periods::new(start, start + Duration::days(366)).is_some());
        let partial = Periods::new(start, start + Duration::hours(25)).expect("p");
        assert_eq!(partial.days(), 2);
        assert_eq!(p.which(at(11, 0)), Some(Which::Current));
        assert_eq!(p.which(at(10, 23)), Some(Which::Previous));
        assert_eq!(p.which(at(21, 0)), None);
    }

    #[test]
    fn change_percent_needs_a_previous_count() {
        assert_eq!(change_percent(5, 0), None);
        assert_eq!(change_percent(3, 4), Some(-25.0));
        assert_eq!(change_percent(6, 4), Some(50.0));
    }

    #[test]
    fn cells_are_a_fixed_grid() {
        let c = Cell::of(29.6512, 91.1327);
        assert_eq!((c.row, c.column), (5930, 18226));
        assert_eq!(c.id(), "r5930c18226");
        let (s, w) = c.south_west();
        let (n, e) = c.north_east();
        assert!((s - 29.65).abs() < 1e-9 && (w - 91.13).abs() < 1e-9);
        assert!((n - 29.655).abs() < 1e-9 && (e - 91.135).abs() < 1e-9);
        assert_eq!(Cell::of(29.6549, 91.1349), c);
        assert_ne!(Cell::of(29.6551, 91.1327), c);
        assert_eq!(Cell::of(-0.001, -0.001).id(), "r-1c-1");
    }

    #[test]
    fn stats_count_each_breakdown_against_the_previous_period() {
        let points = vec![
            point(11, 1, "g1", "DISPUTE", 29.651, 91.131),
            point(11, 1, "g1", "THEFT", 29.651, 91.131),
            point(12, 17, "g2", "DISPUTE", 29.661, 91.131),
            point(2, 1, "g1", "DISPUTE", 29.651, 91.131),
            point(20, 23, "g2", "DISPUTE", 29.661, 91.131),
            // Outside both periods.
            point(21, 1, "g1", "DISPUTE", 29.651, 91.131),
        ];
        let p = periods();
        let s = stats(&p, FixedOffset::east_opt(8 * 3600).expect("tz"), &points);
        assert_eq!(
            s.total,
            Counts {
                count: 4,
                previous: 1
            }
        );
        assert_eq!(
            s.by_category,
            vec![
                (
                    "DISPUTE".to_owned(),
                    Counts {
                        count: 3,
                        previous: 1
                    }
                ),
                (
                    "THEFT".to_owned(),
                    Counts {
                        count: 1,
                        previous: 0
                    }
                ),
            ]
        );
        assert_eq!(s.by_grid[0].0, "g1");
        assert_eq!(
            s.by_grid[0].2,
            Counts {
                count: 2,
                previous: 1
            }
        );
        // 01:30 UTC is 09:30 in Beijing; 17:30 UTC is 01:30 the next day; 23:30 is 07:30.
        assert_eq!(
            s.by_hour[9],
            Counts {
                count: 2,
                previous: 1
            }
        );
        assert_eq!(s.by_hour[1].count, 1);
        assert_eq!(s.by_hour[7].count, 1);
        assert_eq!(s.by_day.len(), 10);
        assert_eq!(
            s.by_day[0].1,
            Counts {
                count: 2,
                previous: 0
            }
        );
        assert_eq!(
            s.by_day[1].1,
            Counts {
                count: 1,
                previous: 1
            }
        );
        assert_eq!(s.by_day[9].1.count, 1);
    }

    #[test]
    fn hotspots_rank_areas_and_their_previous_rank() {
        let mut points = vec![
            point(11, 1, "g1", "DISPUTE", 29.6512, 91.1312),
            point(12, 1, "g1", "DISPUTE", 29.6513, 91.1313),
            point(13, 1, "g2", "DISPUTE", 29.6612, 91.1312),
            point(2, 1, "g2", "DISPUTE", 29.6612, 91.1312),
            point(3, 1, "g2", "DISPUTE", 29.6612, 91.1312),
            point(3, 1, "g3", "DISPUTE", 29.6712, 91.1312),
        ];
        points.push(IncidentPoint {
            location: None,
            grid_id: String::new(),
            ..point(14, 1, "", "DISPUTE", 0.0, 0.0)
        });
        let p = periods();
        let (grids, unplaced) = hotspots(&p, Area::Grid, 10, &points);
        assert_eq!(unplaced, 1);
        assert_eq!(grids.len(), 2);
        assert_eq!(grids[0].area_id, "g1");
        assert_eq!(
            grids[0].counts,
            Counts {
                count: 2,
                previous: 0
            }
        );
        assert_eq!(grids[0].previous_rank, 0);
        assert_eq!(grids[1].area_id, "g2");
        assert_eq!(
            grids[1].counts,
            Counts {
                count: 1,
                previous: 2
            }
        );
        assert_eq!(grids[1].previous_rank, 1);
        let (cells, unplaced) = hotspots(&p, Area::Cell, 1, &points);
        assert_eq!(unplaced, 1);
        assert_eq!(cells.len(), 1);
        assert_eq!(cells[0].area_id, Cell::of(29.6512, 91.1312).id());
        assert_eq!(cells[0].station_id, "st-g1");
        assert!(cells[0].cell.is_some());
    }
}
