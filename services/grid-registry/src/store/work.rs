//! Rows of the work tables (visits, needs, inspections, outreach, broadcasts) and their child
//! tables: a record to its columns and back.

use pingan_platform::StorageError;
use pingan_platform::storage::Tx;
use pingan_proto::grid::v1 as pb;

use super::db::{Arg, Cols, Columns, ListTable, On, execute, opt_time, t, time};
use super::encode::{actor, enum_arg, enum_col, names, opt_actor, point, point_cols, values};
use crate::domain::*;

pub(super) const INSPECTORS: ListTable = ListTable {
    table: "inspection_inspectors",
    owner: "inspection_id",
    value: "officer_id",
};
pub(super) const OUTREACH_TOPICS: ListTable = ListTable {
    table: "outreach_topics",
    owner: "outreach_id",
    value: "topic",
};
pub(super) const OUTREACH_ORGANIZERS: ListTable = ListTable {
    table: "outreach_organizers",
    owner: "outreach_id",
    value: "officer_id",
};
pub(super) const OUTREACH_PARTNERS: ListTable = ListTable {
    table: "outreach_partners",
    owner: "outreach_id",
    value: "partner",
};
pub(super) const OUTREACH_EVIDENCE: ListTable = ListTable {
    table: "outreach_evidence",
    owner: "outreach_id",
    value: "evidence_ref",
};
pub(super) const BROADCAST_AUDIENCES: ListTable = ListTable {
    table: "broadcast_audiences",
    owner: "broadcast_id",
    value: "audience",
};
pub(super) const BROADCAST_CHANNELS: ListTable = ListTable {
    table: "broadcast_channels",
    owner: "broadcast_id",
    value: "channel",
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
        visited_at: r.time("visited_at")?,
        contacted: r.flag("contacted")?,
        concern_raised: r.flag("concern_raised")?,
        notes: r.text("notes")?,
        location: point(r, "location_lat", "location_lon")?,
        recorded_by: actor(r, "recorded_by_subject", "recorded_by_role")?,
        created_at: r.time("created_at")?,
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
            Arg::NullText(resolved.map(|a| a.subject.clone())),
        ),
        (
            "resolved_by_role",
            Arg::NullText(resolved.map(|a| a.role.clone())),
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
        due_at: r.time("due_at")?,
        visit_id: r.text("visit_id")?,
        resolution_note: r.text("resolution_note")?,
        referred_to: r.text("referred_to")?,
        recorded_by: actor(r, "recorded_by_subject", "recorded_by_role")?,
        resolved_by: opt_actor(r, "resolved_by_subject", "resolved_by_role")?,
        created_at: r.time("created_at")?,
        resolved_at: r.opt_time("resolved_at")?,
        updated_at: r.time("updated_at")?,
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
        rectification_deadline: r.opt_time("rectification_deadline")?,
        reinspection_of: r.text("reinspection_of")?,
        reinspection_id: r.text("reinspection_id")?,
        inspector_officer_ids: Vec::new(),
        campaign: r.text("campaign")?,
        summary: r.text("summary")?,
        started_at: r.time("started_at")?,
        completed_at: r.opt_time("completed_at")?,
        updated_at: r.time("updated_at")?,
    })
}

const ITEM_EVIDENCE: &str = "SELECT evidence_ref AS value FROM inspection_item_evidence \
    WHERE inspection_id = $1 AND item_position = $2 ORDER BY position";

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
                Arg::Int(position),
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
                vec![id(), Arg::Int(position), Arg::Int(n), t(evidence)],
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
                Arg::Int(position),
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
    let id = i.inspection_id.clone();
    let items = on
        .rows(
            "SELECT * FROM inspection_items WHERE inspection_id = $1 ORDER BY position",
            vec![t(&id)],
            |r| {
                Ok((
                    r.int("position")?,
                    InspectionItem {
                        item_code: r.text("item_code")?,
                        description: r.text("description")?,
                        result: enum_col::<pb::ItemResult>(r, "result")?,
                        note: r.text("note")?,
                        evidence_refs: Vec::new(),
                    },
                ))
            },
        )
        .await?;
    i.items.clear();
    for (position, mut item) in items {
        item.evidence_refs = on
            .texts(ITEM_EVIDENCE, vec![t(&id), Arg::Int(position)])
            .await?;
        i.items.push(item);
    }
    i.hazards = on
        .rows(
            "SELECT * FROM inspection_hazards WHERE inspection_id = $1 ORDER BY position",
            vec![t(&id)],
            |r| {
                Ok(Hazard {
                    hazard_id: r.text("hazard_id")?,
                    item_code: r.text("item_code")?,
                    description: r.text("description")?,
                    severity: enum_col::<pb::HazardSeverity>(r, "severity")?,
                    required_action: r.text("required_action")?,
                })
            },
        )
        .await?;
    i.inspector_officer_ids = INSPECTORS.read(on, &id).await?;
    Ok(())
}

pub(super) fn outreach_row(o: &Outreach) -> Result<Columns, StorageError> {
    let mut row = vec![
        ("outreach_id", t(&o.outreach_id)),
        ("request_id", t(&o.request_id)),
        ("grid_id", t(&o.grid_id)),
        ("station_id", t(&o.station_id)),
        ("format", enum_arg::<pb::OutreachFormat>(o.format)),
        ("held_at", time(o.held_at)?),
        ("venue", t(&o.venue)),
        ("audience_size", Arg::Int(i64::from(o.audience_size))),
        (
            "materials_distributed",
            Arg::Int(i64::from(o.materials_distributed)),
        ),
        ("notes", t(&o.notes)),
        ("recorded_by_subject", t(&o.recorded_by.subject)),
        ("recorded_by_role", t(&o.recorded_by.role)),
        ("created_at", time(o.created_at)?),
    ];
    point_cols(&mut row, "location_lat", "location_lon", o.location);
    Ok(row)
}

pub(super) fn outreach(r: &dyn Cols) -> Result<Outreach, StorageError> {
    Ok(Outreach {
        outreach_id: r.text("outreach_id")?,
        request_id: r.text("request_id")?,
        grid_id: r.text("grid_id")?,
        station_id: r.text("station_id")?,
        topics: Vec::new(),
        format: enum_col::<pb::OutreachFormat>(r, "format")?,
        held_at: r.time("held_at")?,
        venue: r.text("venue")?,
        location: point(r, "location_lat", "location_lon")?,
        audience_size: r.int32("audience_size")?,
        organizer_ids: Vec::new(),
        partners: Vec::new(),
        materials_distributed: r.int32("materials_distributed")?,
        notes: r.text("notes")?,
        evidence_refs: Vec::new(),
        recorded_by: actor(r, "recorded_by_subject", "recorded_by_role")?,
        created_at: r.time("created_at")?,
    })
}

pub(super) async fn write_outreach_children(tx: &mut Tx, o: &Outreach) -> Result<(), StorageError> {
    let id = &o.outreach_id;
    OUTREACH_TOPICS
        .write(tx, id, &names::<pb::OutreachTopic>(&o.topics))
        .await?;
    OUTREACH_ORGANIZERS.write(tx, id, &o.organizer_ids).await?;
    OUTREACH_PARTNERS.write(tx, id, &o.partners).await?;
    OUTREACH_EVIDENCE.write(tx, id, &o.evidence_refs).await
}

pub(super) async fn read_outreach_children(
    on: &mut On<'_>,
    o: &mut Outreach,
) -> Result<(), StorageError> {
    let id = o.outreach_id.clone();
    o.topics = values::<pb::OutreachTopic>(&OUTREACH_TOPICS.read(on, &id).await?)?;
    o.organizer_ids = OUTREACH_ORGANIZERS.read(on, &id).await?;
    o.partners = OUTREACH_PARTNERS.read(on, &id).await?;
    o.evidence_refs = OUTREACH_EVIDENCE.read(on, &id).await?;
    Ok(())
}

pub(super) fn broadcast_row(b: &Broadcast) -> Result<Columns, StorageError> {
    Ok(vec![
        ("broadcast_id", t(&b.broadcast_id)),
        ("request_id", t(&b.request_id)),
        ("grid_id", t(&b.grid_id)),
        ("station_id", t(&b.station_id)),
        ("title", t(&b.title)),
        ("message", t(&b.message)),
        ("dispatch_id", t(&b.dispatch_id)),
        ("incident_id", t(&b.incident_id)),
        ("sent_by_subject", t(&b.sent_by.subject)),
        ("sent_by_role", t(&b.sent_by.role)),
        ("created_at", time(b.created_at)?),
    ])
}

pub(super) fn broadcast(r: &dyn Cols) -> Result<Broadcast, StorageError> {
    Ok(Broadcast {
        broadcast_id: r.text("broadcast_id")?,
        request_id: r.text("request_id")?,
        grid_id: r.text("grid_id")?,
        station_id: r.text("station_id")?,
        audiences: Vec::new(),
        channels: Vec::new(),
        title: r.text("title")?,
        message: r.text("message")?,
        dispatch_id: r.text("dispatch_id")?,
        incident_id: r.text("incident_id")?,
        deliveries: Vec::new(),
        sent_by: actor(r, "sent_by_subject", "sent_by_role")?,
        created_at: r.time("created_at")?,
    })
}

pub(super) async fn write_broadcast_children(
    tx: &mut Tx,
    b: &Broadcast,
) -> Result<(), StorageError> {
    let id = &b.broadcast_id;
    BROADCAST_AUDIENCES
        .write(tx, id, &names::<pb::BroadcastAudience>(&b.audiences))
        .await?;
    BROADCAST_CHANNELS
        .write(tx, id, &names::<pb::NotificationChannel>(&b.channels))
        .await?;
    execute(
        tx,
        "DELETE FROM broadcast_deliveries WHERE broadcast_id = $1",
        vec![t(id)],
    )
    .await?;
    for (position, d) in (0_i64..).zip(&b.deliveries) {
        execute(
            tx,
            "INSERT INTO broadcast_deliveries (broadcast_id, position, delivery_id, audience, recipient_id, recipient_name, contact_masked, channel, status, error, attempted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            vec![
                t(id),
                Arg::Int(position),
                t(&d.delivery_id),
                enum_arg::<pb::BroadcastAudience>(d.audience),
                t(&d.recipient_id),
                t(&d.recipient_name),
                t(&d.contact_masked),
                enum_arg::<pb::NotificationChannel>(d.channel),
                enum_arg::<pb::DeliveryStatus>(d.status),
                t(&d.error),
                time(d.attempted_at)?,
            ],
        )
        .await?;
    }
    Ok(())
}

pub(super) async fn read_broadcast_children(
    on: &mut On<'_>,
    b: &mut Broadcast,
) -> Result<(), StorageError> {
    let id = b.broadcast_id.clone();
    b.audiences = values::<pb::BroadcastAudience>(&BROADCAST_AUDIENCES.read(on, &id).await?)?;
    b.channels = values::<pb::NotificationChannel>(&BROADCAST_CHANNELS.read(on, &id).await?)?;
    b.deliveries = on
        .rows(
            "SELECT * FROM broadcast_deliveries WHERE broadcast_id = $1 ORDER BY position",
            vec![t(&id)],
            |r| {
                Ok(Delivery {
                    delivery_id: r.text("delivery_id")?,
                    audience: enum_col::<pb::BroadcastAudience>(r, "audience")?,
                    recipient_id: r.text("recipient_id")?,
                    recipient_name: r.text("recipient_name")?,
                    contact_masked: r.text("contact_masked")?,
                    channel: enum_col::<pb::NotificationChannel>(r, "channel")?,
                    status: enum_col::<pb::DeliveryStatus>(r, "status")?,
                    error: r.text("error")?,
                    attempted_at: r.time("attempted_at")?,
                })
            },
        )
        .await?;
    Ok(())
}
