//! The registry's records as stored. Times are UTC epoch milliseconds; enum fields hold the
//! proto enum numbers (the API's vocabulary). Phone and ID numbers are never held in clear:
//! only masked text, a keyed hash for matching and a ciphertext (hex) for allowed roles.

use serde::{Deserialize, Serialize};

use super::geometry::LatLon;

/// UTC epoch milliseconds.
pub type Millis = i64;

/// A phone or ID number as stored: masked for display, encrypted for the roles allowed to see it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedValue {
    /// For display to everybody, e.g. "182****6977".
    pub masked: String,
    /// AES-256-GCM ciphertext, hex (empty when no value).
    pub sealed: String,
}

impl SealedValue {
    /// True when no value was given.
    pub fn is_empty(&self) -> bool {
        self.sealed.is_empty()
    }
}

/// A police station.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Station {
    pub station_id: String,
    pub name: String,
    pub kind: i32,
    pub county: String,
    pub region_code: String,
    pub location: Option<LatLon>,
    pub address: String,
    pub duty_phone: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A grid; its officers are stored separately.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    pub grid_id: String,
    pub station_id: String,
    pub name: String,
    /// Closed ring.
    pub polygon: Vec<LatLon>,
    pub kind: i32,
    pub area_m2: f64,
    pub centroid: LatLon,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A person responsible for a grid in a role.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GridOfficer {
    pub grid_id: String,
    pub officer_id: String,
    pub role: i32,
    pub name: String,
    pub station_id: String,
    pub phone: SealedValue,
    pub assigned_at: Millis,
}

/// Structured parts of a standard address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressParts {
    pub province: String,
    pub city: String,
    pub county: String,
    pub township: String,
    pub village: String,
    pub street: String,
    pub house_number: String,
    pub building: String,
    pub entrance: String,
    pub room: String,
}

/// A standard address.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Address {
    pub address_id: String,
    pub grid_id: String,
    pub station_id: String,
    pub full_text: String,
    pub components: AddressParts,
    pub location: Option<LatLon>,
    pub address_code: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A resident.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Resident {
    pub resident_id: String,
    pub name: String,
    pub id_number: SealedValue,
    /// Keyed hash of the ID number, to match it.
    pub id_number_hash: String,
    pub birth_date: String,
    pub phone: SealedValue,
    pub grid_id: String,
    pub station_id: String,
    pub address_id: String,
    pub address: String,
    pub household_id: String,
    pub relation_to_head: String,
    pub residency: i32,
    pub tags: Vec<i32>,
    pub location: Option<LatLon>,
    pub emergency_contact_name: String,
    pub emergency_contact_phone: SealedValue,
    /// Seconds; 0 means the default for the tags.
    pub visit_interval_secs: i64,
    pub last_visit_at: Option<Millis>,
    pub notes: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A house.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct House {
    pub house_id: String,
    pub address_id: String,
    pub grid_id: String,
    pub station_id: String,
    pub house_use: i32,
    pub owner_resident_id: String,
    pub owner_name: String,
    pub owner_phone: SealedValue,
    pub occupant_count: i32,
    pub floor_area_m2: f64,
    pub location: Option<LatLon>,
    pub notes: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// Premises: a business or institution.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Premises {
    pub premises_id: String,
    pub kind: i32,
    pub name: String,
    pub grid_id: String,
    pub station_id: String,
    pub address_id: String,
    pub address: String,
    pub location: Option<LatLon>,
    pub credit_code: String,
    pub contact_name: String,
    pub contact_phone: SealedValue,
    pub staff_count: i32,
    pub inspection_template_ids: Vec<String>,
    pub last_inspected_at: Option<Millis>,
    pub notes: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// Who did something.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorRef {
    pub subject: String,
    pub role: String,
}

/// A visit in the notebook.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Visit {
    pub visit_id: String,
    pub request_id: String,
    pub resident_id: String,
    pub premises_id: String,
    pub grid_id: String,
    pub station_id: String,
    pub officer_id: String,
    pub purpose: i32,
    pub visited_at: Millis,
    pub contacted: bool,
    pub concern_raised: bool,
    pub notes: String,
    pub location: Option<LatLon>,
    pub recorded_by: ActorRef,
    pub created_at: Millis,
    /// The need this visit followed up ("" for none; absent from rows of the 0001 schema).
    #[serde(default)]
    pub need_id: String,
}

/// A need followed up until settled.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Need {
    pub need_id: String,
    pub request_id: String,
    pub resident_id: String,
    pub premises_id: String,
    pub grid_id: String,
    pub station_id: String,
    pub category: i32,
    pub description: String,
    pub urgent: bool,
    pub status: i32,
    pub assigned_officer_id: String,
    pub due_at: Millis,
    pub visit_id: String,
    pub resolution_note: String,
    pub referred_to: String,
    pub recorded_by: ActorRef,
    pub resolved_by: Option<ActorRef>,
    pub created_at: Millis,
    pub resolved_at: Option<Millis>,
    pub updated_at: Millis,
}

/// One checklist item with its result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InspectionItem {
    pub item_code: String,
    pub description: String,
    pub result: i32,
    pub note: String,
    pub evidence_refs: Vec<String>,
}

/// A hazard found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hazard {
    pub hazard_id: String,
    pub item_code: String,
    pub description: String,
    pub severity: i32,
    pub required_action: String,
}

/// An inspection of premises against a template.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Inspection {
    pub inspection_id: String,
    pub request_id: String,
    pub result_request_id: String,
    pub premises_id: String,
    pub premises_name: String,
    pub premises_kind: i32,
    pub grid_id: String,
    pub station_id: String,
    pub template_id: String,
    pub template_version: String,
    pub items: Vec<InspectionItem>,
    pub hazards: Vec<Hazard>,
    pub status: i32,
    pub rectification_deadline: Option<Millis>,
    pub reinspection_of: String,
    pub reinspection_id: String,
    pub inspector_officer_ids: Vec<String>,
    pub campaign: String,
    pub summary: String,
    pub started_at: Millis,
    pub completed_at: Option<Millis>,
    pub updated_at: Millis,
}

/// A prevention outreach event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Outreach {
    pub outreach_id: String,
    pub request_id: String,
    pub grid_id: String,
    pub station_id: String,
    pub topics: Vec<i32>,
    pub format: i32,
    pub held_at: Millis,
    pub venue: String,
    pub location: Option<LatLon>,
    pub audience_size: i32,
    pub organizer_ids: Vec<String>,
    pub partners: Vec<String>,
    pub materials_distributed: i32,
    pub notes: String,
    pub evidence_refs: Vec<String>,
    pub recorded_by: ActorRef,
    pub created_at: Millis,
}

/// One delivery of a broadcast.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub delivery_id: String,
    pub audience: i32,
    pub recipient_id: String,
    pub recipient_name: String,
    pub contact_masked: String,
    pub channel: i32,
    pub status: i32,
    pub error: String,
    pub attempted_at: Millis,
}

/// A grid broadcast with its deliveries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Broadcast {
    pub broadcast_id: String,
    pub request_id: String,
    pub grid_id: String,
    pub station_id: String,
    pub audiences: Vec<i32>,
    pub channels: Vec<i32>,
    pub title: String,
    pub message: String,
    pub dispatch_id: String,
    pub incident_id: String,
    pub deliveries: Vec<Delivery>,
    pub sent_by: ActorRef,
    pub created_at: Millis,
}

/// One ID-number lookup, kept for the audit log (never the number itself).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdLookup {
    pub lookup_id: String,
    pub actor: ActorRef,
    pub purpose: i32,
    pub reason: String,
    pub reference_id: String,
    /// The resident found, or empty.
    pub resident_id: String,
    pub at: Millis,
}
