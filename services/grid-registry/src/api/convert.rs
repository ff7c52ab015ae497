//! Records to API messages, with phone and ID numbers masked or opened per the caller's role.

use pingan_platform::pii::PiiKeys;
use pingan_platform::time;
use pingan_proto::common::v1::{Actor, GeoPoint};
use pingan_proto::grid::v1 as pb;
use prost_types::{Duration, Timestamp};

use crate::domain::access::Visibility;
use crate::domain::outreach::StatsRow;
use crate::domain::*;

/// Epoch milliseconds as a protobuf timestamp.
pub fn ts(ms: Millis) -> Option<Timestamp> {
    time::from_millis(ms).map(time::to_timestamp)
}

/// An optional time.
pub fn ts_opt(ms: Option<Millis>) -> Option<Timestamp> {
    ms.and_then(ts)
}

/// A protobuf timestamp as epoch milliseconds; one out of chrono's range saturates (the
/// handlers' checks then refuse it as a time).
pub fn millis(t: &Timestamp) -> Millis {
    time::from_timestamp(t).map_or_else(
        || t.seconds.saturating_mul(1000),
        |at| at.timestamp_millis(),
    )
}

/// A duration in milliseconds as protobuf.
pub fn duration(ms: i64) -> Option<Duration> {
    Some(Duration {
        seconds: ms / 1000,
        nanos: i32::try_from((ms % 1000) * 1_000_000).unwrap_or(0),
    })
}

/// A point as protobuf.
pub fn point(p: LatLon) -> GeoPoint {
    GeoPoint {
        lat: p.lat,
        lon: p.lon,
    }
}

/// A protobuf point as a domain point.
pub fn latlon(p: &GeoPoint) -> LatLon {
    LatLon::new(p.lat, p.lon)
}

pub fn actor(a: &ActorRef) -> Actor {
    Actor {
        subject: a.subject.clone(),
        role: a.role.clone(),
        display_name: String::new(),
    }
}

/// Opens sealed values for callers allowed to see them.
#[derive(Debug, Clone, Copy)]
pub struct Presenter<'a> {
    /// Decryption keys.
    pub pii: &'a PiiKeys,
    /// What the caller may see.
    pub visibility: Visibility,
}

impl Presenter<'_> {
    fn open(&self, value: &SealedValue, allowed: bool) -> String {
        if !allowed || value.is_empty() {
            return String::new();
        }
        // A value that cannot be opened is shown masked only; the reason goes to the log.
        hex::decode(&value.sealed)
            .ok()
            .and_then(|bytes| self.pii.decrypt(&bytes).ok())
            .unwrap_or_else(|| {
                tracing::warn!("stored personal data could not be decrypted");
                String::new()
            })
    }

    pub(super) fn phone(&self, value: &SealedValue) -> String {
        self.open(value, self.visibility.phone)
    }

    /// A grid officer.
    pub fn officer(&self, o: &GridOfficer) -> pb::GridOfficer {
        pb::GridOfficer {
            officer_id: o.officer_id.clone(),
            name: o.name.clone(),
            role: o.role,
            station_id: o.station_id.clone(),
            phone_masked: o.phone.masked.clone(),
            phone: self.phone(&o.phone),
            assigned_at: ts(o.assigned_at),
        }
    }

    /// A grid with its officers.
    pub fn grid(&self, g: &Grid, officers: &[GridOfficer], station_name: &str) -> pb::Grid {
        pb::Grid {
            grid_id: g.grid_id.clone(),
            station_id: g.station_id.clone(),
            name: g.name.clone(),
            polygon: g.polygon.iter().map(|p| point(*p)).collect(),
            kind: g.kind,
            area_m2: g.area_m2,
            centroid: Some(point(g.centroid)),
            officers: officers.iter().map(|o| self.officer(o)).collect(),
            station_name: station_name.to_owned(),
            created_at: ts(g.created_at),
            updated_at: ts(g.updated_at),
        }
    }

    /// A resident; `age` comes from the birth date.
    pub fn resident(&self, r: &Resident, now: Millis) -> pb::Resident {
        pb::Resident {
            resident_id: r.resident_id.clone(),
            name: r.name.clone(),
            id_number_masked: r.id_number.masked.clone(),
            id_number: self.open(&r.id_number, self.visibility.id_number),
            phone_masked: r.phone.masked.clone(),
            phone: self.phone(&r.phone),
            age: age(&r.birth_date, now),
            grid_id: r.grid_id.clone(),
            address_id: r.address_id.clone(),
            address: r.address.clone(),
            household_id: r.household_id.clone(),
            relation_to_head: r.relation_to_head.clone(),
            residency: r.residency,
            tags: r.tags.clone(),
            location: r.location.map(point),
            emergency_contact_name: r.emergency_contact_name.clone(),
            emergency_contact_phone_masked: r.emergency_contact_phone.masked.clone(),
            emergency_contact_phone: self.phone(&r.emergency_contact_phone),
            visit_interval: (r.visit_interval_secs > 0)
                .then(|| duration(r.visit_interval_secs * 1000))
                .flatten(),
            last_visit_at: ts_opt(r.last_visit_at),
            notes: r.notes.clone(),
            created_at: ts(r.created_at),
            updated_at: ts(r.updated_at),
        }
    }

    /// A house.
    pub fn house(&self, h: &House) -> pb::House {
        pb::House {
            house_id: h.house_id.clone(),
            address_id: h.address_id.clone(),
            grid_id: h.grid_id.clone(),
            house_use: h.house_use,
            owner_resident_id: h.owner_resident_id.clone(),
            owner_name: h.owner_name.clone(),
            owner_phone_masked: h.owner_phone.masked.clone(),
            owner_phone: self.phone(&h.owner_phone),
            occupant_count: h.occupant_count,
            floor_area_m2: h.floor_area_m2,
            location: h.location.map(point),
            notes: h.notes.clone(),
            created_at: ts(h.created_at),
            updated_at: ts(h.updated_at),
        }
    }

    /// Premises.
    pub fn premises(&self, p: &Premises) -> pb::Premises {
        pb::Premises {
            premises_id: p.premises_id.clone(),
            kind: p.kind,
            name: p.name.clone(),
            grid_id: p.grid_id.clone(),
            address_id: p.address_id.clone(),
            address: p.address.clone(),
            location: p.location.map(point),
            credit_code: p.credit_code.clone(),
            contact_name: p.contact_name.clone(),
            contact_phone_masked: p.contact_phone.masked.clone(),
            contact_phone: self.phone(&p.contact_phone),
            staff_count: p.staff_count,
            inspection_template_ids: p.inspection_template_ids.clone(),
            last_inspected_at: ts_opt(p.last_inspected_at),
            notes: p.notes.clone(),
            created_at: ts(p.created_at),
            updated_at: ts(p.updated_at),
        }
    }
}

fn age(birth_date: &str, now: Millis) -> i32 {
    let today = time::from_millis(now).map(time::local_date);
    let birth = chrono::NaiveDate::parse_from_str(birth_date, "%Y-%m-%d").ok();
    match (birth, today) {
        (Some(b), Some(t)) => t
            .years_since(b)
            .and_then(|y| i32::try_from(y).ok())
            .unwrap_or(0),
        _ => 0,
    }
}

/// A station.
pub fn station(s: &Station) -> pb::Station {
    pb::Station {
        station_id: s.station_id.clone(),
        name: s.name.clone(),
        kind: s.kind,
        county: s.county.clone(),
        region_code: s.region_code.clone(),
        location: s.location.map(point),
        address: s.address.clone(),
        duty_phone: s.duty_phone.clone(),
        created_at: ts(s.created_at),
        updated_at: ts(s.updated_at),
    }
}

/// An address.
pub fn address(a: &Address) -> pb::Address {
    let c = &a.components;
    pb::Address {
        address_id: a.address_id.clone(),
        grid_id: a.grid_id.clone(),
        full_text: a.full_text.clone(),
        components: Some(pb::AddressComponents {
            province: c.province.clone(),
            city: c.city.clone(),
            county: c.county.clone(),
            township: c.township.clone(),
            village: c.village.clone(),
            street: c.street.clone(),
            house_number: c.house_number.clone(),
            building: c.building.clone(),
            entrance: c.entrance.clone(),
            room: c.room.clone(),
        }),
        location: a.location.map(point),
        address_code: a.address_code.clone(),
        created_at: ts(a.created_at),
        updated_at: ts(a.updated_at),
    }
}

/// A visit.
pub fn visit(v: &Visit) -> pb::Visit {
    pb::Visit {
        visit_id: v.visit_id.clone(),
        resident_id: v.resident_id.clone(),
        premises_id: v.premises_id.clone(),
        grid_id: v.grid_id.clone(),
        officer_id: v.officer_id.clone(),
        purpose: v.purpose,
        visited_at: ts(v.visited_at),
        contacted: v.contacted,
        concern_raised: v.concern_raised,
        notes: v.notes.clone(),
        location: v.location.map(point),
        recorded_by: Some(actor(&v.recorded_by)),
        created_at: ts(v.created_at),
        need_id: v.need_id.clone(),
    }
}

/// A need; `overdue` at `now`.
pub fn need(n: &Need, now: Millis) -> pb::Need {
    pb::Need {
        need_id: n.need_id.clone(),
        resident_id: n.resident_id.clone(),
        premises_id: n.premises_id.clone(),
        grid_id: n.grid_id.clone(),
        category: n.category,
        description: n.description.clone(),
        urgent: n.urgent,
        status: n.status,
        assigned_officer_id: n.assigned_officer_id.clone(),
        due_at: ts(n.due_at),
        overdue: crate::domain::notebook::is_overdue(n, now),
        visit_id: n.visit_id.clone(),
        resolution_note: n.resolution_note.clone(),
        referred_to: n.referred_to.clone(),
        recorded_by: Some(actor(&n.recorded_by)),
        resolved_by: n.resolved_by.as_ref().map(actor),
        created_at: ts(n.created_at),
        resolved_at: ts_opt(n.resolved_at),
        updated_at: ts(n.updated_at),
    }
}

/// An inspection.
pub fn inspection(i: &Inspection) -> pb::Inspection {
    pb::Inspection {
        inspection_id: i.inspection_id.clone(),
        premises_id: i.premises_id.clone(),
        premises_name: i.premises_name.clone(),
        premises_kind: i.premises_kind,
        grid_id: i.grid_id.clone(),
        station_id: i.station_id.clone(),
        template_id: i.template_id.clone(),
        template_version: i.template_version.clone(),
        items: i
            .items
            .iter()
            .map(|it| pb::InspectionItem {
                item_code: it.item_code.clone(),
                description: it.description.clone(),
                result: it.result,
                note: it.note.clone(),
                evidence_refs: it.evidence_refs.clone(),
            })
            .collect(),
        hazards: i
            .hazards
            .iter()
            .map(|h| pb::Hazard {
                hazard_id: h.hazard_id.clone(),
                item_code: h.item_code.clone(),
                description: h.description.clone(),
                severity: h.severity,
                required_action: h.required_action.clone(),
            })
            .collect(),
        status: i.status,
        rectification_deadline: ts_opt(i.rectification_deadline),
        reinspection_of: i.reinspection_of.clone(),
        reinspection_id: i.reinspection_id.clone(),
        inspector_officer_ids: i.inspector_officer_ids.clone(),
        campaign: i.campaign.clone(),
        summary: i.summary.clone(),
        started_at: ts(i.started_at),
        completed_at: ts_opt(i.completed_at),
        updated_at: ts(i.updated_at),
    }
}

/// An outreach event.
pub fn outreach(o: &Outreach) -> pb::OutreachEvent {
    pb::OutreachEvent {
        outreach_id: o.outreach_id.clone(),
        grid_id: o.grid_id.clone(),
        station_id: o.station_id.clone(),
        topics: o.topics.clone(),
        format: o.format,
        held_at: ts(o.held_at),
        venue: o.venue.clone(),
        location: o.location.map(point),
        audience_size: o.audience_size,
        organizer_ids: o.organizer_ids.clone(),
        partners: o.partners.clone(),
        materials_distributed: o.materials_distributed,
        notes: o.notes.clone(),
        evidence_refs: o.evidence_refs.clone(),
        recorded_by: Some(actor(&o.recorded_by)),
        created_at: ts(o.created_at),
    }
}

/// A statistics row.
pub fn stats_row(r: &StatsRow) -> pb::OutreachStatsRow {
    pb::OutreachStatsRow {
        grid_id: r.grid_id.clone(),
        topic: r.topic,
        period_start: r.period.and_then(|p| ts(p.0)),
        period_end: r.period.and_then(|p| ts(p.1)),
        events: r.events,
        audience: r.audience,
    }
}

/// A broadcast with its deliveries.
pub fn broadcast(b: &Broadcast) -> pb::Broadcast {
    let sent = [
        pb::DeliveryStatus::Sent as i32,
        pb::DeliveryStatus::Delivered as i32,
    ];
    let count = |pred: &dyn Fn(&Delivery) -> bool| {
        i32::try_from(b.deliveries.iter().filter(|d| pred(d)).count()).unwrap_or(i32::MAX)
    };
    pb::Broadcast {
        broadcast_id: b.broadcast_id.clone(),
        grid_id: b.grid_id.clone(),
        audiences: b.audiences.clone(),
        channels: b.channels.clone(),
        title: b.title.clone(),
        message: b.message.clone(),
        dispatch_id: b.dispatch_id.clone(),
        incident_id: b.incident_id.clone(),
        recipient_count: count(&|_| true),
        sent_count: count(&|d| sent.contains(&d.status)),
        failed_count: count(&|d| d.status == pb::DeliveryStatus::Failed as i32),
        deliveries: b
            .deliveries
            .iter()
            .map(|d| pb::Delivery {
                delivery_id: d.delivery_id.clone(),
                audience: d.audience,
                recipient_id: d.recipient_id.clone(),
                recipient_name: d.recipient_name.clone(),
                contact_masked: d.contact_masked.clone(),
                channel: d.channel,
                status: d.status,
                error: d.error.clone(),
                attempted_at: ts(d.attempted_at),
            })
            .collect(),
        sent_by: Some(actor(&b.sent_by)),
        created_at: ts(b.created_at),
    }
}
