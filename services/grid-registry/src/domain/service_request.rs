//! Service requests (非警务服务事项): the catalogue of types (data shipped with the service), the
//! records as stored and the rules of their lifecycle OPEN → SUBMITTED → CLOSED. No I/O.

use std::collections::BTreeMap;

use pingan_proto::grid::v1::{
    ChecklistRequirement, ServiceRequestOutcome, ServiceRequestStatus, ServiceRequestType,
};
use serde::Deserialize;

use super::records::{ActorRef, Millis, SealedValue};

/// The catalogue shipped with the service.
const CATALOGUE_TOML: &str = include_str!("../../templates/service_requests.toml");

const HOUR_MS: i64 = 3_600_000;

/// One checklist item of a type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemSpec {
    pub key: String,
    pub description: String,
    pub requirement: ChecklistRequirement,
}

/// A type of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeSpec {
    pub kind: ServiceRequestType,
    pub name: String,
    /// From the request to its submission.
    pub deadline_ms: i64,
    pub items: Vec<ItemSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileItem {
    key: String,
    description: String,
    requirement: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileType {
    #[serde(rename = "type")]
    kind: String,
    name: String,
    deadline_hours: i64,
    items: Vec<FileItem>,
}

#[derive(Debug, Deserialize)]
struct CatalogueFile {
    types: Vec<FileType>,
}

/// A catalogue that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("service request catalogue: {0}")]
pub struct CatalogueError(String);

/// The types by their proto value.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    by_type: BTreeMap<i32, TypeSpec>,
}

fn requirement(text: &str) -> Option<ChecklistRequirement> {
    match text {
        "to_submit" => Some(ChecklistRequirement::ToSubmit),
        "to_close" => Some(ChecklistRequirement::ToClose),
        "optional" => Some(ChecklistRequirement::Optional),
        _ => None,
    }
}

impl Catalogue {
    /// The catalogue shipped with the service.
    pub fn builtin() -> Result<Self, CatalogueError> {
        Self::parse(CATALOGUE_TOML)
    }

    /// Parses a catalogue: every type known and listed once, positive deadlines, item keys
    /// unique within a type.
    pub fn parse(text: &str) -> Result<Self, CatalogueError> {
        let file: CatalogueFile =
            toml::from_str(text).map_err(|e| CatalogueError(e.to_string()))?;
        let mut by_type = BTreeMap::new();
        for t in file.types {
            let bad = |what: &str| CatalogueError(format!("{}: {what}", t.kind));
            let kind =
                ServiceRequestType::from_str_name(&format!("SERVICE_REQUEST_TYPE_{}", t.kind))
                    .filter(|k| *k != ServiceRequestType::Unspecified)
                    .ok_or_else(|| bad("unknown type"))?;
            if t.deadline_hours <= 0 {
                return Err(bad("deadline_hours must be positive"));
            }
            let mut items: Vec<ItemSpec> = Vec::new();
            for item in t.items {
                if items.iter().any(|i| i.key == item.key) || item.key.is_empty() {
                    return Err(bad(&format!("item key {:?} empty or repeated", item.key)));
                }
                let requirement = requirement(&item.requirement)
                    .ok_or_else(|| bad(&format!("requirement {:?}", item.requirement)))?;
                items.push(ItemSpec {
                    key: item.key,
                    description: item.description,
                    requirement,
                });
            }
            let spec = TypeSpec {
                kind,
                name: t.name,
                deadline_ms: t.deadline_hours.saturating_mul(HOUR_MS),
                items,
            };
            if by_type.insert(kind as i32, spec).is_some() {
                return Err(bad("listed twice"));
            }
        }
        Ok(Self { by_type })
    }

    /// A type.
    pub fn get(&self, kind: i32) -> Option<&TypeSpec> {
        self.by_type.get(&kind)
    }

    /// Every type, in type order.
    pub fn all(&self) -> impl Iterator<Item = &TypeSpec> {
        self.by_type.values()
    }
}

/// A checklist item of a request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestItem {
    pub key: String,
    pub description: String,
    /// A [`ChecklistRequirement`] value.
    pub requirement: i32,
    pub completed_at: Option<Millis>,
    pub completed_by: Option<ActorRef>,
    pub note: String,
}

/// A service request as stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceRequest {
    pub service_request_id: String,
    /// The opening request's id.
    pub request_id: String,
    /// A [`ServiceRequestType`] value.
    pub kind: i32,
    pub status: i32,
    pub outcome: i32,
    pub station_id: String,
    pub grid_id: String,
    pub resident_id: String,
    pub applicant_name: String,
    pub applicant_phone: SealedValue,
    pub channel: i32,
    pub officer_id: String,
    pub description: String,
    pub requested_at: Millis,
    pub due_at: Millis,
    pub submitted_at: Option<Millis>,
    pub submit_note: String,
    pub closed_at: Option<Millis>,
    pub close_note: String,
    pub items: Vec<RequestItem>,
    pub opened_by: ActorRef,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// One step of a request's history.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestEvent {
    pub service_request_id: String,
    /// Order of recording, from 1.
    pub seq: i64,
    /// A `ServiceRequestEventKind` value.
    pub kind: i32,
    pub at: Millis,
    pub actor: ActorRef,
    pub item_key: String,
    pub status: i32,
    pub outcome: i32,
    pub note: String,
}

/// Why a step of the lifecycle is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("service request is closed")]
    Closed,
    #[error("service request is already submitted")]
    AlreadySubmitted,
    #[error("service request is not submitted yet")]
    NotSubmitted,
    #[error("unknown checklist item")]
    UnknownItem,
    #[error("mandatory checklist items not done: {}", .0.join(", "))]
    MissingItems(Vec<String>),
    #[error("must not be before requested_at")]
    BeforeRequest,
}

impl ServiceRequest {
    /// A fresh checklist and deadline from the type.
    pub fn from_spec(spec: &TypeSpec, requested_at: Millis) -> (Vec<RequestItem>, Millis) {
        let items = spec
            .items
            .iter()
            .map(|i| RequestItem {
                key: i.key.clone(),
                description: i.description.clone(),
                requirement: i.requirement as i32,
                ..RequestItem::default()
            })
            .collect();
        (items, requested_at.saturating_add(spec.deadline_ms))
    }

    /// True while OPEN past its deadline.
    pub fn overdue(&self, now: Millis) -> bool {
        self.status == ServiceRequestStatus::Open as i32 && self.due_at <= now
    }

    /// Keys of the items with `requirement` not yet done, in checklist order.
    pub fn missing(&self, requirement: ChecklistRequirement) -> Vec<String> {
        self.items
            .iter()
            .filter(|i| i.requirement == requirement as i32 && i.completed_at.is_none())
            .map(|i| i.key.clone())
            .collect()
    }

    /// Whether `key` can be ticked: Ok(false) when it already is (the first completion stays).
    pub fn can_complete(&self, key: &str) -> Result<bool, LifecycleError> {
        if self.status == ServiceRequestStatus::Closed as i32 {
            return Err(LifecycleError::Closed);
        }
        let item = self
            .items
            .iter()
            .find(|i| i.key == key)
            .ok_or(LifecycleError::UnknownItem)?;
        Ok(item.completed_at.is_none())
    }

    /// Submits an OPEN request whose TO_SUBMIT items are all done.
    pub fn submit(&mut self, at: Millis, note: &str) -> Result<(), LifecycleError> {
        match ServiceRequestStatus::try_from(self.status) {
            Ok(ServiceRequestStatus::Closed) => return Err(LifecycleError::Closed),
            Ok(ServiceRequestStatus::Submitted) => return Err(LifecycleError::AlreadySubmitted),
            _ => {}
        }
        if at < self.requested_at {
            return Err(LifecycleError::BeforeRequest);
        }
        let missing = self.missing(ChecklistRequirement::ToSubmit);
        if !missing.is_empty() {
            return Err(LifecycleError::MissingItems(missing));
        }
        self.status = ServiceRequestStatus::Submitted as i32;
        self.submitted_at = Some(at);
        self.submit_note = note.to_owned();
        Ok(())
    }

    /// Closes a request: DONE only once submitted with its TO_CLOSE items done; REJECTED and
    /// WITHDRAWN from OPEN or SUBMITTED.
    pub fn close(&mut self, outcome: i32, at: Millis, note: &str) -> Result<(), LifecycleError> {
        if self.status == ServiceRequestStatus::Closed as i32 {
            return Err(LifecycleError::Closed);
        }
        if at < self.requested_at {
            return Err(LifecycleError::BeforeRequest);
        }
        if outcome == ServiceRequestOutcome::Done as i32 {
            if self.status != ServiceRequestStatus::Submitted as i32 {
                return Err(LifecycleError::NotSubmitted);
            }
            let missing = self.missing(ChecklistRequirement::ToClose);
            if !missing.is_empty() {
                return Err(LifecycleError::MissingItems(missing));
            }
        }
        self.status = ServiceRequestStatus::Closed as i32;
        self.outcome = outcome;
        self.closed_at = Some(at);
        self.close_note = note.to_owned();
        Ok(())
    }

    /// When the deadline clock stopped: at submission, else at closing; None while it runs.
    pub fn clock_stopped_at(&self) -> Option<Millis> {
        self.submitted_at.or(self.closed_at)
    }

    /// True when the deadline was missed as of `now`.
    pub fn missed_deadline(&self, now: Millis) -> bool {
        self.clock_stopped_at()
            .map_or(self.due_at <= now, |at| at > self.due_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Millis = 1_767_225_600_000;

    fn certificate() -> ServiceRequest {
        let catalogue = Catalogue::builtin().expect("catalogue");
        let spec = catalogue
            .get(ServiceRequestType::NoCriminalRecordCertificate as i32)
            .expect("certificate");
        let (items, due_at) = ServiceRequest::from_spec(spec, T0);
        ServiceRequest {
            status: ServiceRequestStatus::Open as i32,
            requested_at: T0,
            due_at,
            items,
            ..ServiceRequest::default()
        }
    }

    fn tick(r: &mut ServiceRequest, key: &str) {
        for item in &mut r.items {
            if item.key == key {
                item.completed_at = Some(T0 + 1);
            }
        }
    }

    #[test]
    fn the_shipped_catalogue_names_every_type_once() {
        let catalogue = Catalogue::builtin().expect("catalogue");
        let kinds: Vec<i32> = catalogue.all().map(|t| t.kind as i32).collect();
        assert_eq!(kinds, (1..=6).collect::<Vec<_>>());
        let inquiry = catalogue
            .get(ServiceRequestType::InformationInquiry as i32)
            .expect("inquiry");
        assert_eq!(inquiry.deadline_ms, 24 * HOUR_MS);
        let cert = catalogue
            .get(ServiceRequestType::NoCriminalRecordCertificate as i32)
            .expect("certificate");
        assert_eq!(cert.deadline_ms, 7 * 24 * HOUR_MS);
        assert_eq!(cert.items.len(), 4);
    }

    #[test]
    fn broken_catalogues_are_refused() {
        let item = r#"items = [{ key = "A", description = "a", requirement = "to_submit" }]"#;
        for bad in [
            format!("[[types]]\ntype = \"NOPE\"\nname = \"x\"\ndeadline_hours = 1\n{item}"),
            format!(
                "[[types]]\ntype = \"INFORMATION_INQUIRY\"\nname = \"x\"\ndeadline_hours = 0\n{item}"
            ),
            format!(
                "[[types]]\ntype = \"INFORMATION_INQUIRY\"\nname = \"x\"\ndeadline_hours = 1\n{item}\n\
                 [[types]]\ntype = \"INFORMATION_INQUIRY\"\nname = \"y\"\ndeadline_hours = 1\n{item}"
            ),
            "[[types]]\ntype = \"INFORMATION_INQUIRY\"\nname = \"x\"\ndeadline_hours = 1\n\
             items = [{ key = \"A\", description = \"a\", requirement = \"later\" }]"
                .to_owned(),
        ] {
            assert!(Catalogue::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn submission_needs_the_mandatory_items_and_names_them() {
        let mut r = certificate();
        assert_eq!(
            r.submit(T0 + 10, ""),
            Err(LifecycleError::MissingItems(vec![
                "IDENTITY_VERIFIED".into(),
                "PURPOSE_STATED".into(),
                "APPLICATION_SUBMITTED_ONLINE".into()
            ]))
        );
        for key in [
            "IDENTITY_VERIFIED",
            "PURPOSE_STATED",
            "APPLICATION_SUBMITTED_ONLINE",
        ] {
            tick(&mut r, key);
        }
        assert_eq!(r.submit(T0 - 1, ""), Err(LifecycleError::BeforeRequest));
        assert_eq!(r.submit(T0 + 10, "申请号 123"), Ok(()));
        assert_eq!(r.submit(T0 + 11, ""), Err(LifecycleError::AlreadySubmitted));
        assert_eq!(r.can_complete("RESULT_DELIVERED"), Ok(true));
        assert_eq!(r.can_complete("IDENTITY_VERIFIED"), Ok(false));
        assert_eq!(r.can_complete("NOPE"), Err(LifecycleError::UnknownItem));
    }

    #[test]
    fn done_needs_submission_and_the_closing_items() {
        let mut r = certificate();
        let done = ServiceRequestOutcome::Done as i32;
        assert_eq!(r.close(done, T0 + 5, ""), Err(LifecycleError::NotSubmitted));
        for key in [
            "IDENTITY_VERIFIED",
            "PURPOSE_STATED",
            "APPLICATION_SUBMITTED_ONLINE",
        ] {
            tick(&mut r, key);
        }
        r.submit(T0 + 10, "").expect("submit");
        assert_eq!(
            r.close(done, T0 + 20, ""),
            Err(LifecycleError::MissingItems(vec![
                "RESULT_DELIVERED".into()
            ]))
        );
        tick(&mut r, "RESULT_DELIVERED");
        assert_eq!(r.close(done, T0 + 20, "已送达"), Ok(()));
        assert_eq!(r.close(done, T0 + 21, ""), Err(LifecycleError::Closed));
        assert_eq!(
            r.can_complete("RESULT_DELIVERED"),
            Err(LifecycleError::Closed)
        );
        let mut withdrawn = certificate();
        let out = ServiceRequestOutcome::Withdrawn as i32;
        assert_eq!(withdrawn.close(out, T0 + 1, ""), Ok(()));
    }

    #[test]
    fn the_deadline_clock_stops_at_submission_or_closing() {
        let mut r = certificate();
        let due = r.due_at;
        assert!(!r.overdue(due - 1) && r.overdue(due));
        assert!(!r.missed_deadline(due - 1) && r.missed_deadline(due));
        r.submitted_at = Some(due);
        r.status = ServiceRequestStatus::Submitted as i32;
        assert!(!r.overdue(due + 100) && !r.missed_deadline(due + 100));
        r.submitted_at = Some(due + 1);
        assert!(r.missed_deadline(due + 100));
        r.submitted_at = None;
        r.closed_at = Some(due - 5);
        assert!(!r.missed_deadline(due + 100));
    }
}
