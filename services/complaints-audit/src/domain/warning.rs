//! Early warning (as internal-affairs tools do): officers with complaints at or above a
//! threshold in a period.

use std::collections::BTreeMap;

/// One complaint against one officer, as counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountedComplaint {
    /// The officer accused.
    pub officer_id: String,
    /// The officer's station (from the accusation or the complaint).
    pub station_id: String,
    /// The complaint.
    pub complaint_id: String,
    /// True when the complaint is closed.
    pub closed: bool,
    /// True when the approved finding is SUBSTANTIATED.
    pub substantiated: bool,
}

/// One officer over the threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The officer.
    pub officer_id: String,
    /// Station.
    pub station_id: String,
    /// Distinct complaints counted.
    pub complaint_ids: Vec<String>,
    /// Of those, substantiated.
    pub substantiated: usize,
    /// Of those, still open.
    pub open: usize,
}

/// Officers with at least `threshold` distinct complaints, most first (then by officer id).
pub fn early_warnings(rows: &[CountedComplaint], threshold: usize) -> Vec<Warning> {
    let mut by_officer: BTreeMap<&str, Warning> = BTreeMap::new();
    for row in rows {
        let warning = by_officer
            .entry(row.officer_id.as_str())
            .or_insert_with(|| Warning {
                officer_id: row.officer_id.clone(),
                station_id: row.station_id.clone(),
                complaint_ids: Vec::new(),
                substantiated: 0,
                open: 0,
            });
        if warning.complaint_ids.contains(&row.complaint_id) {
            continue;
        }
        if warning.station_id.is_empty() {
            warning.station_id = row.station_id.clone();
        }
        warning.complaint_ids.push(row.complaint_id.clone());
        warning.substantiated += usize::from(row.substantiated);
        warning.open += usize::from(!row.closed);
    }
    let mut warnings: Vec<Warning> = by_officer
        .into_values()
        .filter(|w| w.complaint_ids.len() >= threshold.max(1))
        .collect();
    warnings.sort_by(|a, b| {
        b.complaint_ids
            .len()
            .cmp(&a.complaint_ids.len())
            .then_with(|| a.officer_id.cmp(&b.officer_id))
    });
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(officer: &str, complaint: &str, closed: bool, substantiated: bool) -> CountedComplaint {
        CountedComplaint {
            officer_id: officer.into(),
            station_id: "st-chengnan".into(),
            complaint_id: complaint.into(),
            closed,
            substantiated,
        }
    }

    #[test]
    fn officers_at_the_threshold_are_listed_most_first() {
        let rows = vec![
            row("o-1", "c-1", true, true),
            row("o-1", "c-2", false, false),
            row("o-1", "c-2", false, false),
            row("o-2", "c-3", false, false),
            row("o-2", "c-4", false, false),
            row("o-2", "c-5", true, false),
            row("o-3", "c-6", false, false),
        ];
        let warnings = early_warnings(&rows, 2);
        let listed: Vec<(&str, usize)> = warnings
            .iter()
            .map(|w| (w.officer_id.as_str(), w.complaint_ids.len()))
            .collect();
        assert_eq!(listed, [("o-2", 3), ("o-1", 2)]);
        assert_eq!((warnings[1].substantiated, warnings[1].open), (1, 1));
    }
}
