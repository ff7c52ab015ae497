//! Duplicate matching: which live incidents a new call may be about (pure geometry and
//! category rules; the link step in `app::router` takes the decision under its lock).

use chrono::{DateTime, Utc};
use pingan_proto::triage::v1::Kind;

/// Great-circle distance in metres (haversine, WGS-84 mean radius).
pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    const EARTH_RADIUS_M: f64 = 6_371_008.8;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().atan2((1.0 - a).sqrt())
}

/// Categories that callers describe differently for one event (a crash with injuries is also a
/// medical call; a fight is also public order).
const COMPATIBLE_GROUPS: &[&[&str]] = &[
    &[
        "CRIMINAL_VIOLENT",
        "PUBLIC_ORDER",
        "DISPUTE",
        "DOMESTIC_VIOLENCE",
    ],
    &["TRAFFIC_ACCIDENT", "MEDICAL", "RESCUE"],
    &["FIRE", "RESCUE", "MEDICAL"],
    &["CRIMINAL_PROPERTY", "FRAUD"],
    &[
        "UTILITIES",
        "MUNICIPAL",
        "PROPERTY_MANAGEMENT",
        "ENVIRONMENT",
    ],
];

/// Whether two calls' categories may describe the same event.
pub fn compatible_categories(a: &str, b: &str) -> bool {
    if a == b {
        return !a.is_empty();
    }
    COMPATIBLE_GROUPS
        .iter()
        .any(|group| group.contains(&a) && group.contains(&b))
}

/// Kinds that never link to another incident as a duplicate (each complaint and each invalid
/// call stands alone).
pub fn may_be_duplicate(kind: Kind) -> bool {
    matches!(kind, Kind::Police | Kind::Joint | Kind::NonPolice)
}

/// An open incident that a new call might duplicate.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateCandidate {
    pub incident_id: String,
    pub lat: f64,
    pub lon: f64,
    pub category: String,
    pub received_at: DateTime<Utc>,
}

/// The candidates within `radius_m` with a compatible category, nearest first.
pub fn rank_duplicates(
    lat: f64,
    lon: f64,
    category: &str,
    radius_m: f64,
    candidates: &[DuplicateCandidate],
) -> Vec<(DuplicateCandidate, f64)> {
    let mut ranked: Vec<_> = candidates
        .iter()
        .filter(|c| compatible_categories(category, &c.category))
        .map(|c| (c.clone(), distance_m(lat, lon, c.lat, c.lon)))
        .filter(|(_, d)| *d <= radius_m)
        .collect();
    ranked.sort_by(|a, b| {
        a.1.total_cmp(&b.1)
            .then_with(|| a.0.received_at.cmp(&b.0.received_at))
            .then_with(|| a.0.incident_id.cmp(&b.0.incident_id))
    });
    ranked
}

/// The nearest candidate within `radius_m` with a compatible category, if any.
pub fn pick_duplicate(
    lat: f64,
    lon: f64,
    category: &str,
    radius_m: f64,
    candidates: &[DuplicateCandidate],
) -> Option<(DuplicateCandidate, f64)> {
    rank_duplicates(lat, lon, category, radius_m, candidates)
        .into_iter()
        .next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_rank_nearest_then_oldest() {
        let at = Utc::now();
        let candidate = |id: &str, lat: f64, seconds: i64| DuplicateCandidate {
            incident_id: id.into(),
            lat,
            lon: 91.0,
            category: "CRIMINAL_VIOLENT".into(),
            received_at: at + chrono::Duration::seconds(seconds),
        };
        let candidates = [
            candidate("later-same-spot", 29.0001, 30),
            candidate("earlier-same-spot", 29.0001, 0),
            candidate("nearer", 29.00005, 60),
            candidate("too-far", 29.01, 0),
        ];
        let ranked: Vec<_> = rank_duplicates(29.0, 91.0, "PUBLIC_ORDER", 300.0, &candidates)
            .into_iter()
            .map(|(c, _)| c.incident_id)
            .collect();
        assert_eq!(ranked, ["nearer", "earlier-same-spot", "later-same-spot"]);
    }

    #[test]
    fn distance_matches_known_values() {
        // One degree of latitude is about 111.2 km.
        let d = distance_m(29.0, 91.0, 30.0, 91.0);
        assert!((d - 111_195.0).abs() < 100.0, "{d}");
        assert!(distance_m(29.65, 91.13, 29.65, 91.13) < 0.001);
    }

    #[test]
    fn categories_are_compatible_within_groups_only() {
        assert!(compatible_categories(
            "TRAFFIC_ACCIDENT",
            "TRAFFIC_ACCIDENT"
        ));
        assert!(compatible_categories("TRAFFIC_ACCIDENT", "MEDICAL"));
        assert!(compatible_categories("DISPUTE", "CRIMINAL_VIOLENT"));
        assert!(!compatible_categories("TRAFFIC_ACCIDENT", "FRAUD"));
        assert!(!compatible_categories("", ""));
    }

    #[test]
    fn the_nearest_compatible_incident_within_the_radius_is_picked() {
        let at = Utc::now();
        let candidate = |id: &str, lat: f64, category: &str| DuplicateCandidate {
            incident_id: id.into(),
            lat,
            lon: 91.0,
            category: category.into(),
            received_at: at,
        };
        let candidates = [
            candidate("far", 29.01, "TRAFFIC_ACCIDENT"), // ~1.1 km
            candidate("near-other", 29.0005, "FRAUD"),   // ~55 m, incompatible
            candidate("near", 29.002, "MEDICAL"),        // ~220 m, compatible
        ];
        let picked = pick_duplicate(29.0, 91.0, "TRAFFIC_ACCIDENT", 300.0, &candidates);
        assert_eq!(picked.map(|(c, _)| c.incident_id), Some("near".to_owned()));
        assert!(pick_duplicate(29.0, 91.0, "TRAFFIC_ACCIDENT", 100.0, &candidates).is_none());
    }
}
