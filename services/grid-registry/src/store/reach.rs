//! Rows of outreach events and broadcasts and their child tables: a record to its columns and
//! back.

use pingan_platform::StorageError;
use pingan_platform::storage::Tx;
use pingan_platform::storage_rows::{Arg, Cols, Columns, On, execute, t};
use pingan_proto::grid::v1 as pb;

use super::db::{ListTable, MillisCols, time};
use super::encode::{actor, enum_arg, enum_col, names, point, point_cols, values};
use crate::domain::*;

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

pub(super) fn outreach_row(o: &Outreach) -> Result<Columns, StorageError> {
    let mut row = vec![
        ("outreach_id", t(&o.outreach_id)),
        ("request_id", t(&o.request_id)),
        ("grid_id", t(&o.grid_id)),
        ("station_id", t(&o.station_id)),
        ("format", enum_arg::<pb::OutreachFormat>(o.format)),
        ("held_at", time(o.held_at)?),
        ("venue", t(&o.venue)),
        ("audience_size", Arg::Int(Some(i64::from(o.audience_size)))),
        (
            "materials_distributed",
            Arg::Int(Some(i64::from(o.materials_distributed))),
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
        held_at: r.millis("held_at")?,
        venue: r.text("venue")?,
        location: point(r, "location_lat", "location_lon")?,
        audience_size: r.int32("audience_size")?,
        organizer_ids: Vec::new(),
        partners: Vec::new(),
        materials_distributed: r.int32("materials_distributed")?,
        notes: r.text("notes")?,
        evidence_refs: Vec::new(),
        recorded_by: actor(r, "recorded_by_subject", "recorded_by_role")?,
        created_at: r.millis("created_at")?,
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
    read_outreach_list_children(on, std::slice::from_mut(o)).await
}

/// Fills in the lists of outreach events: one query per child table.
pub(super) async fn read_outreach_list_children(
    on: &mut On<'_>,
    list: &mut [Outreach],
) -> Result<(), StorageError> {
    let ids: Vec<String> = list.iter().map(|o| o.outreach_id.clone()).collect();
    let mut topics = OUTREACH_TOPICS.read_many(on, &ids).await?;
    let mut organizers = OUTREACH_ORGANIZERS.read_many(on, &ids).await?;
    let mut partners = OUTREACH_PARTNERS.read_many(on, &ids).await?;
    let mut evidence = OUTREACH_EVIDENCE.read_many(on, &ids).await?;
    for o in list {
        let id = &o.outreach_id;
        o.topics = values::<pb::OutreachTopic>(&topics.remove(id).unwrap_or_default())?;
        o.organizer_ids = organizers.remove(id).unwrap_or_default();
        o.partners = partners.remove(id).unwrap_or_default();
        o.evidence_refs = evidence.remove(id).unwrap_or_default();
    }
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
        created_at: r.millis("created_at")?,
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
                Arg::Int(Some(position)),
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
                    attempted_at: r.millis("attempted_at")?,
                })
            },
        )
        .await?;
    Ok(())
}
