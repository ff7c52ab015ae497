//! Found items, lost reports and candidate matches as columns: what a record writes and how a
//! row reads back (matches with their keyword child table).

use pingan_platform::StorageError;
use pingan_platform::storage_rows::{Arg, Cols, Columns, On};
use pingan_proto::common::v1::TimeRange;
use pingan_proto::followup::v1::{
    ContactMethod, ContactTask, ContactTaskStatus, Custody, FoundItem, FoundItemStatus,
    IdentityCheck, ItemKind, LostReport, LostReportStatus, Match, Owner, OwnerSource,
    RegistryLookup, ReturnRecord,
};

use super::cols::*;
use super::db::Children;
use super::rows::{Loading, Record, Stored, decode};

pub(super) const FOUND: &str = "followup_found_items";
pub(super) const LOST: &str = "followup_lost_reports";
pub(super) const MATCHES: &str = "followup_matches";
pub(super) const KEYWORDS: Children = Children {
    table: "followup_match_keywords",
    owner: &["found_item_id", "lost_report_id"],
};

const CONTACTED_BY: [&str; 3] = [
    "task_contacted_by_subject",
    "task_contacted_by_role",
    "task_contacted_by_name",
];
const RETURNED_BY: [&str; 3] = [
    "returned_by_subject",
    "returned_by_role",
    "returned_by_name",
];
const REGISTERED_BY: [&str; 3] = [
    "registered_by_subject",
    "registered_by_role",
    "registered_by_name",
];
const RECORDED_BY: [&str; 3] = [
    "recorded_by_subject",
    "recorded_by_role",
    "recorded_by_name",
];

/// The columns of a found item (personal data apart; the task's `overdue` is computed).
pub(super) fn found_columns(item: &FoundItem) -> Result<Columns, StorageError> {
    let custody = item.custody.as_ref();
    let mut row: Columns = vec![
        ("found_item_id", s(&item.found_item_id)),
        ("kind", name::<ItemKind>(item.kind)),
        ("description", s(&item.description)),
        ("found_at", time(item.found_at.as_ref())),
        ("found_address", s(&item.found_address)),
        ("grid_id", s(&item.grid_id)),
        ("finder", s(&item.finder)),
        ("station_id", s(custody.map_or("", |c| &c.station_id))),
        (
            "custody_officer_id",
            Arg::Text(custody.map(|c| c.officer_id.clone())),
        ),
        (
            "custody_storage_place",
            s(custody.map_or("", |c| &c.storage_place)),
        ),
        ("name_on_item", s(&item.name_on_item)),
        ("id_number_masked", s(&item.id_number_masked)),
        ("incident_id", s(&item.incident_id)),
        ("status", name::<FoundItemStatus>(item.status)),
        (
            "registry_lookup",
            name::<RegistryLookup>(item.registry_lookup),
        ),
        (
            "registry_lookup_attempts",
            Arg::Int(Some(i64::from(item.registry_lookup_attempts))),
        ),
        (
            "created_at",
            required_time(item.created_at.as_ref(), "found item")?,
        ),
        (
            "updated_at",
            required_time(item.updated_at.as_ref(), "found item")?,
        ),
        ("record", Arg::Bytes(Some(Vec::new()))),
    ];
    row.extend(point(
        ["found_lat", "found_lon"],
        item.found_location.as_ref(),
    ));
    row.extend(actor(REGISTERED_BY, item.registered_by.as_ref()));
    let owner = item.owner.clone().unwrap_or_default();
    row.extend([
        (
            "owner_source",
            Arg::Text(
                item.owner
                    .as_ref()
                    .map(|o| OwnerSource::name_of(o.source).to_owned()),
            ),
        ),
        ("owner_resident_id", s(&owner.resident_id)),
        ("owner_name", s(&owner.name)),
        ("owner_phone_masked", s(&owner.phone_masked)),
        ("owner_grid_id", s(&owner.grid_id)),
        ("owner_village_officer_id", s(&owner.village_officer_id)),
        ("owner_lost_report_id", s(&owner.lost_report_id)),
    ]);
    let task = item.contact_task.clone().unwrap_or_default();
    row.extend([
        (
            "task_id",
            Arg::Text(item.contact_task.as_ref().map(|t| t.task_id.clone())),
        ),
        ("task_officer_id", s(&task.assigned_officer_id)),
        ("task_status", name::<ContactTaskStatus>(task.status)),
        ("task_created_at", time(task.created_at.as_ref())),
        ("task_due_at", time(task.due_at.as_ref())),
        ("task_contacted_at", time(task.contacted_at.as_ref())),
        (
            "task_time_to_contact_ns",
            nanos(task.time_to_contact.as_ref()),
        ),
        ("task_method", name::<ContactMethod>(task.method)),
        ("task_notes", s(&task.notes)),
    ]);
    row.extend(actor(CONTACTED_BY, task.contacted_by.as_ref()));
    let back = item.returned.clone().unwrap_or_default();
    row.extend([
        (
            "return_recipient_name",
            Arg::Text(item.returned.as_ref().map(|r| r.recipient_name.clone())),
        ),
        (
            "return_recipient_is_owner",
            Arg::Bool(back.recipient_is_owner),
        ),
        (
            "return_recipient_id_masked",
            s(&back.recipient_id_number_masked),
        ),
        (
            "return_identity_check",
            name::<IdentityCheck>(back.identity_check),
        ),
        ("returned_at", time(back.returned_at.as_ref())),
        (
            "return_time_to_return_ns",
            nanos(back.time_to_return.as_ref()),
        ),
        ("return_notes", s(&back.notes)),
    ]);
    row.extend(actor(RETURNED_BY, back.returned_by.as_ref()));
    Ok(row)
}

impl Record for FoundItem {
    fn from_columns(row: &dyn Cols) -> Result<Self, StorageError> {
        let custody = row
            .opt_text("custody_officer_id")?
            .map(|officer_id| -> Result<_, StorageError> {
                Ok(Custody {
                    station_id: row.text("station_id")?,
                    officer_id,
                    storage_place: row.text("custody_storage_place")?,
                })
            })
            .transpose()?;
        let owner = row
            .opt_text("owner_source")?
            .map(|source| -> Result<_, StorageError> {
                Ok(Owner {
                    source: OwnerSource::value_of(&source),
                    resident_id: row.text("owner_resident_id")?,
                    name: row.text("owner_name")?,
                    phone_masked: row.text("owner_phone_masked")?,
                    phone: String::new(),
                    grid_id: row.text("owner_grid_id")?,
                    village_officer_id: row.text("owner_village_officer_id")?,
                    lost_report_id: row.text("owner_lost_report_id")?,
                })
            })
            .transpose()?;
        let contact_task = row
            .opt_text("task_id")?
            .map(|task_id| -> Result<_, StorageError> {
                Ok(ContactTask {
                    task_id,
                    assigned_officer_id: row.text("task_officer_id")?,
                    status: enum_col::<ContactTaskStatus>(row, "task_status")?,
                    created_at: time_col(row, "task_created_at")?,
                    due_at: time_col(row, "task_due_at")?,
                    overdue: false,
                    contacted_at: time_col(row, "task_contacted_at")?,
                    time_to_contact: duration_col(row, "task_time_to_contact_ns")?,
                    method: enum_col::<ContactMethod>(row, "task_method")?,
                    contacted_by: actor_col(row, CONTACTED_BY)?,
                    notes: row.text("task_notes")?,
                })
            })
            .transpose()?;
        let returned = row
            .opt_text("return_recipient_name")?
            .map(|recipient_name| -> Result<_, StorageError> {
                Ok(ReturnRecord {
                    recipient_name,
                    recipient_is_owner: row.flag("return_recipient_is_owner")?,
                    recipient_id_number_masked: row.text("return_recipient_id_masked")?,
                    identity_check: enum_col::<IdentityCheck>(row, "return_identity_check")?,
                    returned_at: time_col(row, "returned_at")?,
                    time_to_return: duration_col(row, "return_time_to_return_ns")?,
                    returned_by: actor_col(row, RETURNED_BY)?,
                    notes: row.text("return_notes")?,
                })
            })
            .transpose()?;
        Ok(FoundItem {
            found_item_id: row.text("found_item_id")?,
            kind: enum_col::<ItemKind>(row, "kind")?,
            description: row.text("description")?,
            found_at: time_col(row, "found_at")?,
            found_location: point_col(row, ["found_lat", "found_lon"])?,
            found_address: row.text("found_address")?,
            grid_id: row.text("grid_id")?,
            finder: row.text("finder")?,
            custody,
            name_on_item: row.text("name_on_item")?,
            id_number_masked: row.text("id_number_masked")?,
            incident_id: row.text("incident_id")?,
            status: enum_col::<FoundItemStatus>(row, "status")?,
            registry_lookup: enum_col::<RegistryLookup>(row, "registry_lookup")?,
            owner,
            contact_task,
            returned,
            registered_by: actor_col(row, REGISTERED_BY)?,
            created_at: time_col(row, "created_at")?,
            updated_at: time_col(row, "updated_at")?,
            registry_lookup_attempts: row.int32("registry_lookup_attempts")?,
        })
    }
}

/// A found item row with its owner phone and ID-number index.
pub(super) fn decode_found(row: &dyn Cols) -> Result<Stored<FoundItem>, StorageError> {
    decode(row, "owner_phone_enc", true)
}

/// The columns of a lost report (the owner's phone and ID number apart).
pub(super) fn lost_columns(r: &LostReport) -> Result<Columns, StorageError> {
    let window = r.lost_during.unwrap_or_default();
    let mut row: Columns = vec![
        ("lost_report_id", s(&r.lost_report_id)),
        ("kind", name::<ItemKind>(r.kind)),
        ("description", s(&r.description)),
        ("lost_from", time(window.start.as_ref())),
        ("lost_until", time(window.end.as_ref())),
        ("lost_radius_m", Arg::Float(Some(r.lost_radius_m))),
        ("lost_address", s(&r.lost_address)),
        ("owner_name", s(&r.owner_name)),
        ("owner_phone_masked", s(&r.owner_phone_masked)),
        ("owner_id_number_masked", s(&r.owner_id_number_masked)),
        ("station_id", s(&r.station_id)),
        ("incident_id", s(&r.incident_id)),
        ("status", name::<LostReportStatus>(r.status)),
        ("returned_found_item_id", s(&r.returned_found_item_id)),
        (
            "created_at",
            required_time(r.created_at.as_ref(), "lost report")?,
        ),
        (
            "updated_at",
            required_time(r.updated_at.as_ref(), "lost report")?,
        ),
        ("record", Arg::Bytes(Some(Vec::new()))),
    ];
    row.extend(point(["lost_lat", "lost_lon"], r.lost_location.as_ref()));
    row.extend(actor(RECORDED_BY, r.recorded_by.as_ref()));
    Ok(row)
}

impl Record for LostReport {
    fn from_columns(row: &dyn Cols) -> Result<Self, StorageError> {
        let (start, end) = (time_col(row, "lost_from")?, time_col(row, "lost_until")?);
        let lost_during = (start.is_some() || end.is_some()).then_some(TimeRange { start, end });
        Ok(LostReport {
            lost_report_id: row.text("lost_report_id")?,
            kind: enum_col::<ItemKind>(row, "kind")?,
            description: row.text("description")?,
            lost_during,
            lost_location: point_col(row, ["lost_lat", "lost_lon"])?,
            lost_radius_m: row.float("lost_radius_m")?,
            lost_address: row.text("lost_address")?,
            owner_name: row.text("owner_name")?,
            owner_phone_masked: row.text("owner_phone_masked")?,
            owner_phone: String::new(),
            owner_id_number_masked: row.text("owner_id_number_masked")?,
            station_id: row.text("station_id")?,
            incident_id: row.text("incident_id")?,
            status: enum_col::<LostReportStatus>(row, "status")?,
            returned_found_item_id: row.text("returned_found_item_id")?,
            recorded_by: actor_col(row, RECORDED_BY)?,
            created_at: time_col(row, "created_at")?,
            updated_at: time_col(row, "updated_at")?,
        })
    }
}

/// A lost report row with its owner phone and ID-number index.
pub(super) fn decode_lost(row: &dyn Cols) -> Result<Stored<LostReport>, StorageError> {
    decode(row, "owner_phone_enc", true)
}

/// The columns of a match (its keywords in the child table).
pub(super) fn match_columns(
    m: &Match,
    found_station_id: &str,
    lost_station_id: &str,
) -> Result<Columns, StorageError> {
    Ok(vec![
        ("found_item_id", s(&m.found_item_id)),
        ("lost_report_id", s(&m.lost_report_id)),
        ("found_station_id", s(found_station_id)),
        ("lost_station_id", s(lost_station_id)),
        ("score", Arg::Float(Some(m.score))),
        ("id_number_match", Arg::Bool(m.id_number_match)),
        ("kind_match", Arg::Bool(m.kind_match)),
        ("time_match", Arg::Bool(m.time_match)),
        ("time_gap_ns", nanos(m.time_gap.as_ref())),
        ("distance_m", Arg::Float(Some(m.distance_m))),
        (
            "created_at",
            Arg::Time(Some(
                m.created_at
                    .as_ref()
                    .and_then(crate::domain::from_ts)
                    .unwrap_or_default(),
            )),
        ),
        ("record", Arg::Bytes(Some(Vec::new()))),
    ])
}

/// A match row.
pub(super) fn decode_match(row: &dyn Cols) -> Result<Stored<Match>, StorageError> {
    decode(row, "", false)
}

impl Record for Match {
    fn from_columns(row: &dyn Cols) -> Result<Self, StorageError> {
        Ok(Match {
            found_item_id: row.text("found_item_id")?,
            lost_report_id: row.text("lost_report_id")?,
            score: row.float("score")?,
            id_number_match: row.flag("id_number_match")?,
            kind_match: row.flag("kind_match")?,
            time_match: row.flag("time_match")?,
            time_gap: duration_col(row, "time_gap_ns")?,
            distance_m: row.float("distance_m")?,
            matched_keywords: Vec::new(),
            created_at: time_col(row, "created_at")?,
        })
    }

    fn load<'a, 'b: 'a>(&'a mut self, on: &'a mut On<'b>) -> Loading<'a> {
        Box::pin(async move {
            let (found, lost) = (self.found_item_id.clone(), self.lost_report_id.clone());
            let key = [found.as_str(), lost.as_str()];
            self.matched_keywords = KEYWORDS.read(on, &key, |row| row.text("keyword")).await?;
            Ok(())
        })
    }
}

/// The keyword rows of a match.
pub(super) fn keyword_rows(m: &Match) -> Vec<Columns> {
    m.matched_keywords
        .iter()
        .map(|k| vec![("keyword", s(k))])
        .collect()
}
