//! Rows of the work tables (visits, needs, inspections) and their child tables: a record to its
//! columns and back. Outreach and broadcasts are in `reach`.

use std::collections::HashMap;

use pingan_platform::StorageError;
use pingan_platform::storage::Tx;
use pingan_platform::storage_rows::{Arg, Cols, Columns, On, execute, t};
use pingan_proto::grid::v1 as pb;

use super::db::{ListTable, MillisCols, opt_time, rows_in, time};
use super::encode::{actor, enum_arg, enum_col, opt_actor, point, point_cols};
use crate::domain::*;

pub(super) const INSPECTORS: ListTable = ListTable {
    table: "inspection_inspectors",
    owner: "inspection_id",
    value: "officer_id",
};
pub(super) fn visit_row(v: &Visit) -> Result<Columns, StorageError> {
    let mut row = vec![
        ("visit_id", t(&v.visit_id)),
        ("request_id", t(&v.request_id)),
        ("resident_id", t(&v.resident_id)),
        ("premises_id", t(&v.premises_id)),
        ("grid_id", t(&v.grid_id)),
        ("station_id", t(&v.station_id)),
        ("officer_id", t(&v.officer_id)),
        ("purpose", enum_arg::<pb::VisitPurpose>(v.purpose)),
        ("visited_at", time(v.visited_at)?),
        ("contacted", Arg::Bool(v.contacted)),
        ("concern_raised", Arg::Bool(v.concern_raised)),
        ("notes", t(&v.notes)),
        ("recorded_by_subject", t(&v.recorded_by.subject)),
        ("recorded_by_role", t(&v.recorded_by.role)),
        ("created_at", time(v.created_at)?),
        ("need_id", t(&v.need_id)),
    ];
    point_cols(&mut row, "location_lat", "location_lon", v.location);
    Ok(row)
}

pub(super) fn visit(r: &dyn Cols) -> Result<Visit, StorageError> {
    Ok(Visit {
        visit_id: r.text("visit_id")?,
        request_id: r.text("request_id")?,
        resident_id: r.text("resident_id")?,
        premises_id: r.text("premises_id")?,
        grid_id: r.text("grid_id")?,
        station_id: r.text("station_id")?,
        officer_id: r.text("officer_id")?,
        purpose: enum_col::<pb::VisitPurpose>(r, "purpose")?,
        visited_at: r.millis("visited_at")?,
        contacted: r.flag("contacted")?,
        concern_raised: r.flag("concern_raised")?,
        notes: r.text("notes")?,
        location: point(r, "location_lat", "location_lon")?,
        recorded_by: actor(r, "recorded_by_subject", "recorded_by_role")?,
        created_at: r.millis("created_at")?,
        need_id: r.text("need_id")?,
    })
}

pub(super) fn need_row(n: &Need) -> Result<Columns, StorageError> {
    let resolved = n.resolved_by.as_ref();
    Ok(vec![
        ("need_id", t(&n.need_id)),
        ("request_id", t(&n.request_id)),
        ("resident_id", t(&n.resident_id)),
        ("premises_id", t(&n.premises_id)),
        ("grid_id", t(&n.grid_id)),
        ("station_id", t(&n.station_id)),
        ("category", enum_arg::<pb::NeedCategory>(n.category)),
        ("description", t(&n.description)),
        ("urgent", Arg::Bool(n.urgent)),
        ("status", enum_arg::<pb::NeedStatus>(n.status)),
        ("assigned_officer_id", t(&n.assigned_officer_id)),
        ("due_at", time(n.due_at)?),
        ("visit_id", t(&n.visit_id)),
        ("resolution_note", t(&n.resolution_note)),
        ("referred_to", t(&n.referred_to)),
        ("recorded_by_subject", t(&n.recorded_by.subject)),
        ("recorded_by_role", t(&n.recorded_by.role)),
        (
            "resolved_by_subject",
            Arg::Text(resolved.map(|a| a.subject.clone())),
        ),
        (
            "resolved_by_role",
            Arg::Text(resolved.map(|a| a.role.clone())),
        ),
        ("created_at", time(n.created_at)?),
        ("resolved_at", opt_time(n.resolved_at)?),
        ("updated_at", time(n.updated_at)?),
    ])
}

pub(super) fn need(r: &dyn Cols) -> Result<Need, StorageError> {
    Ok(Need {
        need_id: r.text("need_id")?,
        request_id: r.text("request_id")?,
        resident_id: r.text("resident_id")?,
        premises_id: r.text("premises_id")?,
        grid_id: r.text("grid_id")?,
        station_id: r.text("station_id")?,
        category: enum_col::<pb::NeedCategory>(r, "category")?,
        description: r.text("description")?,
        urgent: r.flag("urgent")?,
        status: enum_col::<pb::NeedStatus>(r, "status")?,
        assigned_officer_id: r.text("assigned_officer_id")?,
        due_at: r.millis("due_at")?,
        visit_id: r.text("visit_id")?,
        resolution_note: r.text("resolution_note")?,
        referred_to: r.text("referred_to")?,
        recorded_by: actor(r, "recorded_by_subject", "recorded_by_role")?,
        resolved_by: opt_actor(r, "resolved_by_subject", "resolved_by_role")?,
        created_at: r.millis("created_at")?,
        resolved_at: r.opt_millis("resolved_at")?,
        updated_at: r.millis("updated_at")?,
    })
}

/// The inspection's own columns (children are written by [`write_inspection_children`]).
pub(super) fn inspection_row(i: &Inspection) -> Result<Columns, StorageError> {
    Ok(vec![
        ("inspection_id", t(&i.inspection_id)),
        ("request_id", t(&i.request_id)),
        ("result_request_id", t(&i.result_request_id)),
        ("premises_id", t(&i.premises_id)),
        ("premises_name", t(&i.premises_name)),
        (
            "premises_kind",
            enum_arg::<pb::PremisesKind>(i.premises_kind),
        ),
        ("grid_id", t(&i.grid_id)),
        ("station_id", t(&i.station_id)),
        ("template_id", t(&i.template_id)),
        ("template_version", t(&i.template_version)),
        ("status", enum_arg::<pb::InspectionStatus>(i.status)),
        (
            "rectification_deadline",
            opt_time(i.rectification_deadline)?,
        ),
        ("reinspection_of", t(&i.reinspection_of)),
        ("reinspection_id", t(&i.reinspection_id)),
        ("campaign", t(&i.campaign)),
        ("summary", t(&i.summary)),
        ("started_at", time(i.started_at)?),
        ("completed_at", opt_time(i.completed_at)?),
        ("updated_at", time(i.updated_at)?),
    ])
}

pub(super) fn inspection(r: &dyn Cols) -> Result<Inspection, StorageError> {
    Ok(Inspection {
        inspection_id: r.text("inspection_id")?,
        request_id: r.text("request_id")?,
        result_request_id: r.text("result_request_id")?,
        premises_id: r.text("premises_id")?,
        premises_name: r.text("premises_name")?,
        premises_kind: enum_col::<pb::PremisesKind>(r, "premises_kind")?,
        grid_id: r.text("grid_id")?,
        station_id: r.text("station_id")?,
        template_id: r.text("template_id")?,
        template_version: r.text("template_version")?,
        items: Vec::new(),
        hazards: Vec::new(),
        status: enum_col::<pb::InspectionStatus>(r, "status")?,
        rectification_deadline: r.opt_millis("rectification_deadline")?,
        reinspection_of: r.text("reinspection_of")?,
        reinspection_id: r.text("reinspection_id")?,
        inspector_officer_ids: Vec::new(),
        campaign: r.text("campaign")?,
        summary: r.text("summary")?,
        started_at: r.millis("started_at")?,
        completed_at: r.opt_millis("completed_at")?,
        updated_at: r.millis("updated_at")?,
    })
}

const ITEMS_OF: &str = "SELECT * FROM inspection_items WHERE inspection_id IN (IN_LIST) ORDER BY inspection_id, position";
const EVIDENCE_OF: &str = "SELECT inspection_id, item_position, evidence_ref FROM inspection_item_evidence \
    WHERE inspection_id IN (IN_LIST) ORDER BY inspection_id, item_position, position";
const HAZARDS_OF: &str = "SELECT * FROM inspection_hazards WHERE inspection_id IN (IN_LIST) ORDER BY inspection_id, position";

/// Replaces the items, their evidence, the hazards and the inspectors of an inspection.
pub(super) async fn write_inspection_children(
    tx: &mut Tx,
    i: &Inspection,
) -> Result<(), StorageError> {
    let id = || t(&i.inspection_id);
    for table in [
        "inspection_item_evidence",
        "inspection_items",
        "inspection_hazards",
    ] {
        let sql = format!("DELETE FROM {table} WHERE inspection_id = $1");
        execute(tx, &sql, vec![id()]).await?;
    }
    for (position, item) in (0_i64..).zip(&i.items) {
        execute(
            tx,
            "INSERT INTO inspection_items (inspection_id, position, item_code, description, result, note) VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                id(),
                Arg::Int(Some(position)),
                t(&item.item_code),
                t(&item.description),
                enum_arg::<pb::ItemResult>(item.result),
                t(&item.note),
            ],
        )
        .await?;
        for (n, evidence) in (0_i64..).zip(&item.evidence_refs) {
            execute(
                tx,
                "INSERT INTO inspection_item_evidence (inspection_id, item_position, position, evidence_ref) VALUES ($1, $2, $3, $4)",
                vec![id(), Arg::Int(Some(position)), Arg::Int(Some(n)), t(evidence)],
            )
            .await?;
        }
    }
    for (position, h) in (0_i64..).zip(&i.hazards) {
        execute(
            tx,
            "INSERT INTO inspection_hazards (inspection_id, position, hazard_id, item_code, description, severity, required_action) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            vec![
                id(),
                Arg::Int(Some(position)),
                t(&h.hazard_id),
                t(&h.item_code),
                t(&h.description),
                enum_arg::<pb::HazardSeverity>(h.severity),
                t(&h.required_action),
            ],
        )
        .await?;
    }
    INSPECTORS
        .write(tx, &i.inspection_id, &i.inspector_officer_ids)
        .await
}

/// Fills in the children of an inspection read by [`inspection`].
pub(super) async fn read_inspection_children(
    on: &mut On<'_>,
    i: &mut Inspection,
) -> Result<(), StorageError> {
    read_inspections_children(on, std::slice::from_mut(i)).await
}

/// Fills in the children of inspections read by [`inspection`]: one query per child table.
pub(super) async fn read_inspections_children(
    on: &mut On<'_>,
    list: &mut [Inspection],
) -> Result<(), StorageError> {
    let ids: Vec<String> = list.iter().map(|i| i.inspection_id.clone()).collect();
    let items = rows_in(on, ITEMS_OF, &ids, |r| {
        Ok((
            r.text("inspection_id")?,
            r.int("position")?,
            InspectionItem {
                item_code: r.text("item_code")?,
                description: r.text("description")?,
                result: enum_col::<pb::ItemResult>(r, "result")?,
                note: r.text("note")?,
                evidence_refs: Vec::new(),
            },
        ))
    })
    .await?;
    let evidence = rows_in(on, EVIDENCE_OF, &ids, |r| {
        Ok((
            (r.text("inspection_id")?, r.int("item_position")?),
            r.text("evidence_ref")?,
        ))
    })
    .await?;
    let mut evidence_of: HashMap<(String, i64), Vec<String>> = HashMap::new();
    for (key, value) in evidence {
        evidence_of.entry(key).or_default().push(value);
    }
    let mut items_of: HashMap<String, Vec<InspectionItem>> = HashMap::new();
    for (id, position, mut item) in items {
        item.evidence_refs = evidence_of
            .remove(&(id.clone(), position))
            .unwrap_or_default();
        items_of.entry(id).or_default().push(item);
    }
    let hazards = rows_in(on, HAZARDS_OF, &ids, |r| {
        Ok((
            r.text("inspection_id")?,
            Hazard {
                hazard_id: r.text("hazard_id")?,
                item_code: r.text("item_code")?,
                description: r.text("description")?,
                severity: enum_col::<pb::HazardSeverity>(r, "severity")?,
                required_action: r.text("required_action")?,
            },
        ))
    })
    .await?;
    let mut hazards_of: HashMap<String, Vec<Hazard>> = HashMap::new();
    for (id, hazard) in hazards {
        hazards_of.entry(id).or_default().push(hazard);
    }
    let mut inspectors = INSPECTORS.read_many(on, &ids).await?;
    for i in list {
        i.items = items_of.remove(&i.inspection_id).unwrap_or_default();
        i.hazards = hazards_of.remove(&i.inspection_id).unwrap_or_default();
        i.inspector_officer_ids = inspectors.remove(&i.inspection_id).unwrap_or_default();
    }
    Ok(())
}
