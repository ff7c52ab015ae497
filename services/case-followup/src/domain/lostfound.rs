//! Lost and found: how a found item and a lost report are compared (kind, time window,
//! distance, shared description words; certain when the ID numbers agree) and the rules of the
//! item's life (owner identified → contacted → returned).

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use pingan_platform::ApiError;
use pingan_proto::common::v1::GeoPoint;
use pingan_proto::followup::v1::{
    ContactTask, ContactTaskStatus, FoundItem, FoundItemStatus, LostReport, Match,
};

use super::{duration, from_ts, ts};

/// Time allowed from registration to owner contacted (story 2).
pub const CONTACT_TARGET: Duration = Duration::minutes(10);
/// Lowest score worth showing as a candidate match.
pub const MIN_MATCH_SCORE: f64 = 0.5;
/// How long after the lost window an item may still be found and match fully.
const TIME_SLACK: Duration = Duration::hours(24);
/// Found before the lost window by more than this: not the same item.
const CLOCK_SLACK: Duration = Duration::hours(1);
/// Extra distance allowed beyond the lost radius.
const DISTANCE_SLACK_M: f64 = 2000.0;

/// Words of a description for matching: ASCII words (lower case, 2+ letters) and pairs of
/// adjacent Chinese characters.
pub fn keywords(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut word = String::new();
    let mut previous_cjk: Option<char> = None;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            word.push(c.to_ascii_lowercase());
            previous_cjk = None;
            continue;
        }
        if word.chars().count() >= 2 {
            out.insert(std::mem::take(&mut word));
        }
        word.clear();
        if is_cjk(c) {
            if let Some(p) = previous_cjk {
                out.insert(format!("{p}{c}"));
            }
            previous_cjk = Some(c);
        } else {
            previous_cjk = None;
        }
    }
    if word.chars().count() >= 2 {
        out.insert(word);
    }
    out
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}')
}

/// Great-circle distance in metres.
pub fn distance_m(a: &GeoPoint, b: &GeoPoint) -> f64 {
    const EARTH_RADIUS_M: f64 = 6_371_008.8;
    let (lat1, lat2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = (b.lat - a.lat).to_radians();
    let dlon = (b.lon - a.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().asin()
}

/// Compares a found item with a lost report; `id_number_match` when both carry the same ID
/// number (compared by blind index). `None` when they cannot be the same item.
pub fn compare(
    item: &FoundItem,
    report: &LostReport,
    id_number_match: bool,
    now: DateTime<Utc>,
) -> Option<Match> {
    let kind_match = item.kind == report.kind;
    if !kind_match && !id_number_match {
        return None;
    }
    let found_at = item.found_at.as_ref().and_then(from_ts);
    let window = report.lost_during.as_ref();
    let start = window.and_then(|w| w.start.as_ref()).and_then(from_ts);
    let end = window.and_then(|w| w.end.as_ref()).and_then(from_ts);
    let mut time_gap = Duration::zero();
    let mut time_match = true;
    if let Some(found_at) = found_at {
        if let Some(start) = start
            && found_at + CLOCK_SLACK < start
            && !id_number_match
        {
            return None;
        }
        if let Some(end) = end
            && found_at > end
        {
            time_gap = found_at - end;
            time_match = time_gap <= TIME_SLACK;
        }
    }
    let distance = match (&item.found_location, &report.lost_location) {
        (Some(a), Some(b)) if !is_unset(a) && !is_unset(b) => distance_m(a, b),
        _ => -1.0,
    };
    let shared: Vec<String> = keywords(&item.description)
        .intersection(&keywords(&report.description))
        .cloned()
        .collect();
    let score = if id_number_match {
        1.0
    } else {
        let time_score = if time_match {
            1.0
        } else {
            // Decays over a week past the window.
            (1.0 - (time_gap - TIME_SLACK).num_minutes() as f64 / (7.0 * 24.0 * 60.0)).max(0.0)
        };
        let reach = report.lost_radius_m.max(0.0) + DISTANCE_SLACK_M;
        let distance_score = if distance < 0.0 {
            0.5
        } else if distance <= reach {
            1.0
        } else {
            (1.0 - (distance - reach) / 10_000.0).max(0.0)
        };
        let keyword_score = (shared.len() as f64 / 3.0).min(1.0);
        0.4 + 0.25 * time_score + 0.2 * distance_score + 0.15 * keyword_score
    };
    (score >= MIN_MATCH_SCORE).then(|| Match {
        found_item_id: item.found_item_id.clone(),
        lost_report_id: report.lost_report_id.clone(),
        score: (score * 1000.0).round() / 1000.0,
        id_number_match,
        kind_match,
        time_match,
        time_gap: Some(duration(time_gap)),
        distance_m: if distance < 0.0 {
            -1.0
        } else {
            distance.round()
        },
        matched_keywords: shared,
        created_at: Some(ts(now)),
    })
}

fn is_unset(point: &GeoPoint) -> bool {
    point.lat == 0.0 && point.lon == 0.0
}

/// Best first; ties by ids so pages are stable.
pub fn sort_matches(matches: &mut [Match]) {
    matches.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.found_item_id.cmp(&b.found_item_id))
            .then_with(|| a.lost_report_id.cmp(&b.lost_report_id))
    });
}

/// A contact task raised now for `officer_id`, due within the target.
pub fn new_contact_task(officer_id: &str, now: DateTime<Utc>) -> ContactTask {
    ContactTask {
        task_id: super::new_id("ct"),
        assigned_officer_id: officer_id.to_owned(),
        status: ContactTaskStatus::Open as i32,
        created_at: Some(ts(now)),
        due_at: Some(ts(now + CONTACT_TARGET)),
        ..ContactTask::default()
    }
}

/// Refreshes the computed flags of an item (the contact task's overdue flag) as of `now`.
pub fn refresh(item: &mut FoundItem, now: DateTime<Utc>) {
    if let Some(task) = item.contact_task.as_mut() {
        let due = task.due_at.as_ref().and_then(from_ts);
        let done = task.contacted_at.as_ref().and_then(from_ts);
        task.overdue = match (due, done) {
            (Some(due), Some(done)) => done > due,
            (Some(due), None) => task.status == ContactTaskStatus::Open as i32 && now > due,
            _ => false,
        };
    }
}

/// Requires the item not to be returned yet.
pub fn require_not_returned(item: &FoundItem) -> Result<(), ApiError> {
    if item.status == FoundItemStatus::Returned as i32 {
        return Err(ApiError::FailedPrecondition(format!(
            "found item {} was already returned",
            item.found_item_id
        )));
    }
    Ok(())
}

/// The time from registration to `at`.
pub fn since_registration(item: &FoundItem, at: DateTime<Utc>) -> Duration {
    item.created_at
        .as_ref()
        .and_then(from_ts)
        .map(|created| (at - created).max(Duration::zero()))
        .unwrap_or_else(Duration::zero)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use pingan_proto::common::v1::TimeRange;
    use pingan_proto::followup::v1::ItemKind;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 3, hour, 0, 0)
            .single()
            .expect("time")
    }

    fn item() -> FoundItem {
        FoundItem {
            found_item_id: "fi-1".into(),
            kind: ItemKind::Phone as i32,
            description: "黑色华为手机 Mate60 蓝色保护壳".into(),
            found_at: Some(ts(at(10))),
            found_location: Some(GeoPoint {
                lat: 29.655,
                lon: 91.14,
            }),
            ..FoundItem::default()
        }
    }

    fn report() -> LostReport {
        LostReport {
            lost_report_id: "lr-1".into(),
            kind: ItemKind::Phone as i32,
            description: "华为 mate60 手机，黑色，保护壳是蓝色的".into(),
            lost_during: Some(TimeRange {
                start: Some(ts(at(8))),
                end: Some(ts(at(9))),
            }),
            lost_location: Some(GeoPoint {
                lat: 29.66,
                lon: 91.145,
            }),
            lost_radius_m: 500.0,
            ..LostReport::default()
        }
    }

    #[test]
    fn chinese_and_latin_keywords_are_extracted() {
        let words = keywords("黑色华为手机 Mate60");
        assert!(words.contains("华为"));
        assert!(words.contains("手机"));
        assert!(words.contains("mate60"));
    }

    #[test]
    fn a_close_similar_item_matches_well() {
        let m = compare(&item(), &report(), false, at(11)).expect("match");
        assert!(m.kind_match && m.time_match);
        assert!(m.score > 0.9, "score {}", m.score);
        assert!(m.distance_m > 0.0 && m.distance_m < 1000.0);
        assert!(m.matched_keywords.contains(&"华为".to_owned()));
    }

    #[test]
    fn other_kinds_and_items_found_before_the_loss_do_not_match() {
        let wallet = FoundItem {
            kind: ItemKind::Wallet as i32,
            ..item()
        };
        assert!(compare(&wallet, &report(), false, at(11)).is_none());
        let earlier = FoundItem {
            found_at: Some(ts(at(5))),
            ..item()
        };
        assert!(compare(&earlier, &report(), false, at(11)).is_none());
        let certain = compare(&earlier, &report(), true, at(11)).expect("id match");
        assert_eq!(certain.score, 1.0);
    }

    #[test]
    fn contact_tasks_become_overdue_after_ten_minutes() {
        let mut found = FoundItem {
            contact_task: Some(new_contact_task("officer-1", at(10))),
            ..item()
        };
        refresh(&mut found, at(10) + Duration::minutes(9));
        assert!(!found.contact_task.as_ref().expect("task").overdue);
        refresh(&mut found, at(10) + Duration::minutes(11));
        assert!(found.contact_task.as_ref().expect("task").overdue);
    }
}
