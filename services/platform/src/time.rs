//! Time as the bureau reads it, written once: protobuf timestamps, the bureau's time zone
//! (China Standard Time, UTC+8, no daylight saving), local dates, and working days on China's
//! official calendar — public holidays and the weekend days made working days (调休).

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc, Weekday};

/// The bureau's offset from UTC: China Standard Time.
pub const BUREAU_OFFSET_SECONDS: i32 = 8 * 3600;

// Evaluated at compile time: an invalid offset would fail the build, never a running service.
const BUREAU: FixedOffset = match FixedOffset::east_opt(BUREAU_OFFSET_SECONDS) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

/// China Standard Time as a chrono offset.
pub fn bureau_offset() -> FixedOffset {
    BUREAU
}

/// The time in the bureau's zone.
pub fn to_local(at: DateTime<Utc>) -> DateTime<FixedOffset> {
    at.with_timezone(&bureau_offset())
}

/// The bureau's calendar date of an instant (an incident at 23:30 UTC is the next local day).
pub fn local_date(at: DateTime<Utc>) -> NaiveDate {
    to_local(at).date_naive()
}

/// Midnight at the start of a local date, as a UTC instant.
pub fn start_of_local_day(date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    match bureau_offset().from_local_datetime(&midnight).single() {
        Some(local) => local.with_timezone(&Utc),
        // A fixed offset has exactly one mapping; keep a defined answer anyway.
        None => Utc.from_utc_datetime(&midnight),
    }
}

/// The protobuf timestamp of a UTC instant.
pub fn to_timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// An optional instant as an optional protobuf timestamp.
pub fn to_timestamp_opt(at: Option<DateTime<Utc>>) -> Option<prost_types::Timestamp> {
    at.map(to_timestamp)
}

/// The UTC instant of a protobuf timestamp; `None` when it is out of range (bad input).
pub fn from_timestamp(at: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    let nanos = u32::try_from(at.nanos).ok()?;
    Utc.timestamp_opt(at.seconds, nanos).single()
}

/// Milliseconds since the epoch, as some tables and wire fields keep instants.
pub fn from_millis(ms: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single()
}

/// The official calendar of working days: Monday to Friday, minus public holidays, plus the
/// weekend days the State Council declares working days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkCalendar {
    holidays: BTreeSet<NaiveDate>,
    makeup_working_days: BTreeSet<NaiveDate>,
    years: BTreeSet<i32>,
}

/// Why a calendar file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// The file could not be read.
    #[error("work calendar {path}: {source}")]
    Read {
        /// The path given.
        path: String,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a calendar.
    #[error("work calendar: {0}")]
    Parse(String),
}

#[derive(serde::Deserialize)]
struct CalendarFile {
    #[serde(default)]
    years: Vec<i32>,
    #[serde(default)]
    holidays: Vec<String>,
    #[serde(default)]
    makeup_working_days: Vec<String>,
}

fn parse_dates(list: &[String]) -> Result<BTreeSet<NaiveDate>, CalendarError> {
    list.iter()
        .map(|text| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|e| CalendarError::Parse(format!("{text}: {e}")))
        })
        .collect()
}

const SHIPPED_CALENDAR: &str = include_str!("../data/work-calendar-cn.json");

impl WorkCalendar {
    /// The calendar shipped with the binary (the years the State Council has announced).
    pub fn shipped() -> Self {
        // The shipped file is checked by a test; an unreadable one would mean weekdays only.
        Self::from_json(SHIPPED_CALENDAR).unwrap_or_else(|_| Self::weekdays_only())
    }

    /// Monday to Friday, no holidays (tests, or a bureau that keeps its own list).
    pub fn weekdays_only() -> Self {
        Self {
            holidays: BTreeSet::new(),
            makeup_working_days: BTreeSet::new(),
            years: BTreeSet::new(),
        }
    }

    /// Parses a calendar in the shipped file's shape.
    pub fn from_json(text: &str) -> Result<Self, CalendarError> {
        let file: CalendarFile =
            serde_json::from_str(text).map_err(|e| CalendarError::Parse(e.to_string()))?;
        let holidays = parse_dates(&file.holidays)?;
        let makeup_working_days = parse_dates(&file.makeup_working_days)?;
        if let Some(both) = holidays.intersection(&makeup_working_days).next() {
            return Err(CalendarError::Parse(format!(
                "{both} is listed both as a holiday and as a make-up working day"
            )));
        }
        Ok(Self {
            holidays,
            makeup_working_days,
            years: file.years.into_iter().collect(),
        })
    }

    /// Reads a calendar file (the bureau's own, when the shipped one is out of date).
    pub fn from_file(path: &Path) -> Result<Self, CalendarError> {
        let text = std::fs::read_to_string(path).map_err(|source| CalendarError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&text)
    }

    /// Adds extra days off (a local holiday the bureau observes).
    pub fn with_extra_holidays(mut self, days: impl IntoIterator<Item = NaiveDate>) -> Self {
        for day in days {
            self.makeup_working_days.remove(&day);
            self.holidays.insert(day);
        }
        self
    }

    /// True when the calendar lists the official arrangement for `year` (else only weekends count).
    pub fn covers_year(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// True for a working day on the bureau's calendar.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        if self.holidays.contains(&date) {
            return false;
        }
        if self.makeup_working_days.contains(&date) {
            return true;
        }
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// `start` plus `days` working days, at the same local time of day (a deadline of
    /// "5 working days" from a complaint received on Friday evening).
    pub fn add_working_days(&self, start: DateTime<Utc>, days: u32) -> DateTime<Utc> {
        let mut local = to_local(start);
        let mut counted = 0;
        while counted < days {
            local += Duration::days(1);
            if self.is_working_day(local.date_naive()) {
                counted += 1;
            }
        }
        local.with_timezone(&Utc)
    }

    /// Working days strictly after `from`'s local date up to and including `to`'s.
    pub fn working_days_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> u32 {
        let (mut day, last) = (local_date(from), local_date(to));
        let mut count = 0;
        while day < last {
            day = day.succ_opt().unwrap_or(last);
            if self.is_working_day(day) {
                count += 1;
            }
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .expect("instant")
    }

    #[test]
    fn timestamps_round_trip_and_bad_ones_are_refused() {
        let at = utc(2026, 12, 2, 1, 2) + Duration::nanoseconds(123_456_789);
        assert_eq!(from_timestamp(&to_timestamp(at)), Some(at));
        let bad = prost_types::Timestamp {
            seconds: 0,
            nanos: -1,
        };
        assert_eq!(from_timestamp(&bad), None);
        assert_eq!(to_timestamp_opt(None), None);
        assert_eq!(
            from_millis(1_000),
            Some(utc(1970, 1, 1, 0, 0) + Duration::seconds(1))
        );
    }

    #[test]
    fn local_dates_are_china_standard_time() {
        // 16:30 UTC is 00:30 the next day in Beijing.
        assert_eq!(local_date(utc(2026, 12, 1, 16, 30)), date(2026, 12, 2));
        assert_eq!(local_date(utc(2026, 12, 1, 15, 59)), date(2026, 12, 1));
        assert_eq!(
            start_of_local_day(date(2026, 12, 2)),
            utc(2026, 12, 1, 16, 0)
        );
    }

    #[test]
    fn the_shipped_calendar_reads_and_covers_its_years() {
        let parsed = WorkCalendar::from_json(SHIPPED_CALENDAR).expect("shipped calendar parses");
        assert!(parsed.covers_year(2025) && parsed.covers_year(2026));
        assert_eq!(parsed, WorkCalendar::shipped());
    }

    #[test]
    fn holidays_are_off_and_makeup_saturdays_are_working_days() {
        let calendar = WorkCalendar::shipped();
        assert!(!calendar.is_working_day(date(2025, 10, 1))); // National Day, Wednesday
        assert!(calendar.is_working_day(date(2025, 9, 28))); // make-up Sunday
        assert!(calendar.is_working_day(date(2025, 10, 11))); // make-up Saturday
        assert!(!calendar.is_working_day(date(2025, 10, 12))); // plain Sunday
        assert!(calendar.is_working_day(date(2025, 10, 9))); // plain Thursday
    }

    #[test]
    fn working_days_skip_the_golden_week_and_count_the_makeup_day() {
        let calendar = WorkCalendar::shipped();
        // Received Tuesday 30 Sep 2025, 10:00 Beijing: 1 Oct–8 Oct off, 9 Oct Thu, 10 Oct Fri,
        // 11 Oct Sat (make-up) — the third working day.
        let received = utc(2025, 9, 30, 2, 0);
        assert_eq!(
            calendar.add_working_days(received, 3),
            utc(2025, 10, 11, 2, 0)
        );
        assert_eq!(
            calendar.working_days_between(received, utc(2025, 10, 11, 2, 0)),
            3
        );
        let plain = WorkCalendar::weekdays_only();
        assert_eq!(plain.add_working_days(received, 3), utc(2025, 10, 3, 2, 0));
    }

    #[test]
    fn extra_holidays_and_contradictory_files() {
        let calendar = WorkCalendar::weekdays_only().with_extra_holidays([date(2026, 12, 2)]);
        assert!(!calendar.is_working_day(date(2026, 12, 2)));
        let contradictory = r#"{"holidays":["2026-01-01"],"makeup_working_days":["2026-01-01"]}"#;
        assert!(WorkCalendar::from_json(contradictory).is_err());
        assert!(WorkCalendar::from_json("not json").is_err());
    }
}
