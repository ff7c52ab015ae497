//! Field encodings shared by the tables: enums by their proto names, points as lat/lon column
//! pairs, sealed values as masked/sealed pairs, actors as subject/role, a ring as WKT.

use pingan_platform::StorageError;
use pingan_platform::storage_rows::{Arg, Cols, Columns, t};
use pingan_proto::grid::v1 as pb;

use crate::domain::{ActorRef, LatLon, SealedValue};

/// A proto enum stored by its name.
pub(super) trait ProtoEnum {
    fn name_of(value: i32) -> Option<&'static str>;
    fn value_of(name: &str) -> Option<i32>;
}

macro_rules! proto_enums {
    ($($e:ident),* $(,)?) => {
        $(impl ProtoEnum for pb::$e {
            fn name_of(value: i32) -> Option<&'static str> {
                pb::$e::try_from(value).ok().map(|e| e.as_str_name())
            }
            fn value_of(name: &str) -> Option<i32> {
                pb::$e::from_str_name(name).map(|e| e as i32)
            }
        })*
    };
}

proto_enums!(
    StationKind,
    GridKind,
    OfficerRole,
    ResidencyKind,
    ResidentTag,
    HouseUse,
    PremisesKind,
    VisitPurpose,
    NeedCategory,
    NeedStatus,
    ItemResult,
    HazardSeverity,
    InspectionStatus,
    OutreachTopic,
    OutreachFormat,
    BroadcastAudience,
    NotificationChannel,
    DeliveryStatus,
    LookupPurpose,
    ServiceRequestType,
    ServiceRequestStatus,
    ServiceRequestOutcome,
    ServiceRequestChannel,
    ServiceRequestEventKind,
    ChecklistRequirement,
);

/// The name of an enum value; a number the proto does not know (a newer client) is kept as its
/// decimal text so nothing is lost.
pub(super) fn name<E: ProtoEnum>(value: i32) -> String {
    E::name_of(value).map_or_else(|| value.to_string(), str::to_owned)
}

/// The enum value of a stored name.
pub(super) fn value<E: ProtoEnum>(text: &str) -> Result<i32, StorageError> {
    E::value_of(text)
        .or_else(|| text.parse().ok())
        .ok_or_else(|| StorageError::Other(format!("unknown enum value {text:?}").into()))
}

/// An enum column as a parameter.
pub(super) fn enum_arg<E: ProtoEnum>(value: i32) -> Arg {
    Arg::Text(Some(name::<E>(value)))
}

/// An enum filter: "" (any) for 0.
pub(super) fn enum_filter<E: ProtoEnum>(value: i32) -> Arg {
    if value == 0 {
        t("")
    } else {
        enum_arg::<E>(value)
    }
}

/// A list of enum values as names.
pub(super) fn names<E: ProtoEnum>(values: &[i32]) -> Vec<String> {
    values.iter().map(|v| name::<E>(*v)).collect()
}

/// Names back to values.
pub(super) fn values<E: ProtoEnum>(names: &[String]) -> Result<Vec<i32>, StorageError> {
    names.iter().map(|n| value::<E>(n)).collect()
}

/// An enum column.
pub(super) fn enum_col<E: ProtoEnum>(row: &dyn Cols, column: &str) -> Result<i32, StorageError> {
    value::<E>(&row.text(column)?)
}

/// An optional point as `<prefix>_lat`, `<prefix>_lon`.
pub(super) fn point_cols(
    out: &mut Columns,
    lat: &'static str,
    lon: &'static str,
    p: Option<LatLon>,
) {
    out.push((lat, Arg::Float(p.map(|p| p.lat))));
    out.push((lon, Arg::Float(p.map(|p| p.lon))));
}

/// An optional point read back: present when both coordinates are.
pub(super) fn point(row: &dyn Cols, lat: &str, lon: &str) -> Result<Option<LatLon>, StorageError> {
    Ok(match (row.opt_float(lat)?, row.opt_float(lon)?) {
        (Some(lat), Some(lon)) => Some(LatLon::new(lat, lon)),
        _ => None,
    })
}

/// A sealed value as `<masked>`, `<sealed>`.
pub(super) fn sealed_cols(
    out: &mut Columns,
    masked: &'static str,
    sealed: &'static str,
    v: &SealedValue,
) {
    out.push((masked, t(&v.masked)));
    out.push((sealed, t(&v.sealed)));
}

/// A sealed value read back.
pub(super) fn sealed(
    row: &dyn Cols,
    masked: &str,
    sealed: &str,
) -> Result<SealedValue, StorageError> {
    Ok(SealedValue {
        masked: row.text(masked)?,
        sealed: row.text(sealed)?,
    })
}

/// An actor read back.
pub(super) fn actor(row: &dyn Cols, subject: &str, role: &str) -> Result<ActorRef, StorageError> {
    Ok(ActorRef {
        subject: row.text(subject)?,
        role: row.text(role)?,
    })
}

/// An optional actor read back: present when its subject is.
pub(super) fn opt_actor(
    row: &dyn Cols,
    subject: &str,
    role: &str,
) -> Result<Option<ActorRef>, StorageError> {
    Ok(match row.opt_text(subject)? {
        Some(subject) => Some(ActorRef {
            subject,
            role: row.opt_text(role)?.unwrap_or_default(),
        }),
        None => None,
    })
}

const EMPTY_POLYGON: &str = "POLYGON EMPTY";

/// A ring as WKT (`POLYGON ((lon lat, ...))`); coordinates keep every digit, so it reads back
/// exactly.
pub fn ring_to_wkt(ring: &[LatLon]) -> String {
    if ring.is_empty() {
        return EMPTY_POLYGON.to_owned();
    }
    let points: Vec<String> = ring
        .iter()
        .map(|p| format!("{} {}", p.lon, p.lat))
        .collect();
    format!("POLYGON (({}))", points.join(", "))
}

/// A ring read back from the WKT [`ring_to_wkt`] writes.
pub fn ring_from_wkt(text: &str) -> Result<Vec<LatLon>, StorageError> {
    let bad = || StorageError::Other(format!("not a polygon: {text:?}").into());
    let text = text.trim();
    if text == EMPTY_POLYGON {
        return Ok(Vec::new());
    }
    let inner = text
        .strip_prefix("POLYGON")
        .map(str::trim)
        .and_then(|s| s.strip_prefix("(("))
        .and_then(|s| s.strip_suffix("))"))
        .ok_or_else(bad)?;
    inner
        .split(',')
        .map(|pair| {
            let mut parts = pair.split_whitespace();
            let lon: f64 = parts.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
            let lat: f64 = parts.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
            Ok(LatLon::new(lat, lon))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rings_read_back_exactly() {
        let ring = vec![
            LatLon::new(30.123456789012345, 120.1),
            LatLon::new(-0.5, 1e-7),
            LatLon::new(30.123456789012345, 120.1),
        ];
        let wkt = ring_to_wkt(&ring);
        assert!(wkt.starts_with("POLYGON ((120.1 30.12345678901234"));
        assert_eq!(ring_from_wkt(&wkt).expect("parse"), ring);
        assert_eq!(ring_from_wkt(&ring_to_wkt(&[])).expect("empty"), vec![]);
        assert!(ring_from_wkt("LINESTRING (1 2)").is_err());
    }

    #[test]
    fn enums_are_stored_by_name_and_unknown_numbers_survive() {
        assert_eq!(name::<pb::NeedStatus>(1), "NEED_STATUS_OPEN");
        assert_eq!(
            value::<pb::NeedStatus>("NEED_STATUS_OPEN").expect("known"),
            1
        );
        assert_eq!(name::<pb::NeedStatus>(99), "99");
        assert_eq!(value::<pb::NeedStatus>("99").expect("number"), 99);
        assert!(value::<pb::NeedStatus>("NOPE").is_err());
    }
}
