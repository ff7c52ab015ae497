//! Sensitive reads: a read that shows phone or ID numbers in clear says why (`reason`, required
//! or optional per `--clear-read-reason`) and is written to the audit log with who (subject,
//! role, stations), what (the RPC, the fields and the ids of the records shown in clear, never
//! the numbers) and why. A list read writes one record per station, split only when its ids
//! do not fit one record's detail.

use std::collections::{BTreeMap, BTreeSet};

use crate::audit::{Audit, MAX_DETAIL_CHARS};
use crate::auth::{Caller, Jurisdiction, Role};
pub use crate::config::clear_reads::{ClearReadConfig, ClearReadReason};
use crate::{ApiError, ServiceContext};

/// The action of every clear-read record, after the service's prefix (`grid.ReadInClear`).
pub const ACTION: &str = "ReadInClear";

/// Longest reason accepted, in characters (the audit detail holds it with the ids).
pub const MAX_REASON_CHARS: usize = 200;

/// How a missing reason is recorded under the `optional` policy.
pub const NOT_GIVEN: &str = "not given";

/// Longest list of the caller's stations written in a record, in characters.
const MAX_STATIONS_CHARS: usize = 80;

/// The reason of a clear read: `Some` when given, `None` when omitted under the `optional`
/// policy; INVALID_ARGUMENT naming `reason` when omitted under `required`, or too long.
pub fn reason(policy: ClearReadReason, given: &str) -> Result<Option<String>, ApiError> {
    let given = given.trim();
    if given.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::invalid(
            "reason",
            format!("at most {MAX_REASON_CHARS} characters"),
        ));
    }
    match (given.is_empty(), policy) {
        (false, _) => Ok(Some(given.to_owned())),
        (true, ClearReadReason::Optional) => Ok(None),
        (true, ClearReadReason::Required) => Err(ApiError::invalid(
            "reason",
            "required: this caller reads phone or ID numbers in clear",
        )),
    }
}

/// True when a person (not only a Pingan service acting on its own flow) is calling: the
/// services' own reads, e.g. intake locating a call's grid, are neither asked nor audited.
pub fn read_by_person(caller: &Caller) -> bool {
    caller.roles.iter().any(|role| *role != Role::Service)
}

/// The records one read showed in clear, gathered while the response is built.
#[derive(Debug, Clone)]
pub struct ClearRead {
    action: String,
    rpc: String,
    resource_type: String,
    reason: Option<String>,
    fields: BTreeSet<&'static str>,
    /// Ids shown in clear by station, in the order shown, each once.
    shown: BTreeMap<String, Vec<String>>,
}

impl ClearRead {
    /// A read by `rpc` of `service` (the audit prefix, e.g. `grid`) of records of
    /// `resource_type`; recorded as `<service>.ReadInClear`.
    pub fn new(
        service: &str,
        rpc: impl Into<String>,
        resource_type: impl Into<String>,
        reason: Option<String>,
    ) -> Self {
        Self {
            action: format!("{service}.{ACTION}"),
            rpc: rpc.into(),
            resource_type: resource_type.into(),
            reason,
            fields: BTreeSet::new(),
            shown: BTreeMap::new(),
        }
    }

    /// Notes record `id` of `station_id` as shown with `fields` (name, value as answered):
    /// only the names of non-empty values count; a record with none is not a clear read.
    pub fn show(&mut self, station_id: &str, id: &str, fields: &[(&'static str, &str)]) {
        let mut any = false;
        for (name, value) in fields {
            if !value.is_empty() {
                self.fields.insert(name);
                any = true;
            }
        }
        if !any {
            return;
        }
        let ids = self.shown.entry(station_id.to_owned()).or_default();
        if !ids.iter().any(|known| known == id) {
            ids.push(id.to_owned());
        }
    }

    /// True when nothing was shown in clear.
    pub fn is_empty(&self) -> bool {
        self.shown.is_empty()
    }

    /// The audit records of this read by `caller`: one per station whose records were shown,
    /// more only when the ids do not fit one detail.
    pub fn audits(&self, caller: &Caller) -> Vec<Audit> {
        let fields: Vec<&str> = self.fields.iter().copied().collect();
        let prefix = format!(
            "{}: {} in clear; reason: {}; caller stations: {}; {}",
            self.rpc,
            fields.join(", "),
            self.reason.as_deref().unwrap_or(NOT_GIVEN),
            stations(caller),
            self.resource_type,
        );
        // Room left for the ids once the prefix and a part label (" [99/99]") are written.
        let budget = MAX_DETAIL_CHARS
            .saturating_sub(prefix.chars().count() + 10)
            .max(1);
        let mut audits = Vec::new();
        for (station_id, ids) in &self.shown {
            let chunks = chunks(ids, budget);
            let parts = chunks.len();
            for (i, chunk) in chunks.iter().enumerate() {
                let part = if parts > 1 {
                    format!(" [{}/{parts}]", i + 1)
                } else {
                    String::new()
                };
                let resource_id = if ids.len() == 1 { ids[0].as_str() } else { "" };
                audits.push(
                    Audit::new(
                        caller.actor(),
                        self.action.clone(),
                        self.resource_type.clone(),
                        resource_id,
                    )
                    .station(station_id)
                    .detail(format!("{prefix} {}{part}", chunk.join(", "))),
                );
            }
        }
        audits
    }
}

/// Writes the audit records of `read` by `caller` in one transaction through the outbox (to
/// complaints-audit, like every audited action of `source_service`); nothing when nothing was
/// shown in clear. An error fails the read: no clear read goes unaudited.
pub async fn record(
    context: &ServiceContext,
    source_service: &str,
    caller: &Caller,
    read: &ClearRead,
) -> Result<(), ApiError> {
    if read.is_empty() {
        return Ok(());
    }
    let mut tx = context.db.begin_write().await?;
    for audit in read.audits(caller) {
        crate::audit::record(context, &mut tx, source_service, &audit).await?;
    }
    context.outbox.commit(tx).await?;
    Ok(())
}

/// The caller's stations as written in a record, cut to [`MAX_STATIONS_CHARS`].
fn stations(caller: &Caller) -> String {
    let text = match &caller.jurisdiction {
        Jurisdiction::Bureau => "bureau".to_owned(),
        Jurisdiction::Stations(set) if set.is_empty() => "none".to_owned(),
        Jurisdiction::Stations(set) => set.iter().cloned().collect::<Vec<_>>().join(","),
    };
    match text.char_indices().nth(MAX_STATIONS_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// `ids` in runs whose joined text (", " between) fits `budget` characters; an id longer
/// than the budget goes alone.
fn chunks(ids: &[String], budget: usize) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut used = 0;
    for id in ids {
        let len = id.chars().count();
        let extra = if current.is_empty() { len } else { len + 2 };
        if !current.is_empty() && used + extra > budget {
            out.push(std::mem::take(&mut current));
            used = 0;
        }
        used += if current.is_empty() { len } else { len + 2 };
        current.push(id.clone());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(roles: &[Role], stations: &[&str]) -> Caller {
        Caller {
            subject: "officer-7".into(),
            roles: roles.iter().copied().collect(),
            jurisdiction: Jurisdiction::Stations(
                stations.iter().map(|s| (*s).to_owned()).collect(),
            ),
        }
    }

    #[test]
    fn a_missing_reason_is_refused_only_when_required() {
        assert_eq!(reason(ClearReadReason::Optional, "  ").unwrap(), None);
        assert_eq!(
            reason(ClearReadReason::Required, " 核实 ").unwrap(),
            Some("核实".to_owned())
        );
        for policy in [ClearReadReason::Required, ClearReadReason::Optional] {
            let long = "x".repeat(MAX_REASON_CHARS + 1);
            let Err(ApiError::InvalidArgument(v)) = reason(policy, &long) else {
                panic!("too long accepted");
            };
            assert!(format!("{v:?}").contains("reason"));
        }
        let Err(ApiError::InvalidArgument(v)) = reason(ClearReadReason::Required, "") else {
            panic!("missing reason accepted");
        };
        assert!(format!("{v:?}").contains("reason"));
    }

    #[test]
    fn services_alone_are_not_persons() {
        assert!(!read_by_person(&caller(&[Role::Service], &[])));
        assert!(read_by_person(&caller(&[Role::Dispatcher], &["st-a"])));
    }

    #[test]
    fn one_record_per_station_with_the_ids_and_never_the_numbers() {
        let mut read = ClearRead::new("grid", "ListGrids", "officer", None);
        read.show("st-a", "o-1", &[("phone", "18247856977")]);
        read.show("st-a", "o-1", &[("phone", "18247856977")]);
        read.show("st-a", "o-2", &[("phone", "")]);
        read.show(
            "st-b",
            "o-3",
            &[("phone", "13800138000"), ("id_number", "")],
        );
        let audits = read.audits(&caller(&[Role::StationOfficer], &["st-a", "st-b"]));
        assert_eq!(audits.len(), 2);
        assert_eq!(audits[0].resource_id, "o-1");
        assert_eq!(audits[0].station_id, "st-a");
        assert_eq!(audits[0].action, "grid.ReadInClear");
        assert!(audits[0].detail.starts_with("ListGrids: phone in clear"));
        assert_eq!(audits[0].actor.subject, "officer-7");
        assert!(audits[0].detail.contains("phone in clear"));
        assert!(audits[0].detail.contains("reason: not given"));
        assert!(audits[0].detail.contains("caller stations: st-a,st-b"));
        assert!(!audits[0].detail.contains("o-2"));
        for audit in &audits {
            assert!(!crate::pii::contains_clear_pii(&audit.detail), "{audit:?}");
        }
        assert!(
            ClearRead::new("x", "Y", "z", None)
                .audits(&caller(&[], &[]))
                .is_empty()
        );
    }

    #[test]
    fn a_long_list_is_split_into_bounded_records_naming_every_id() {
        let mut read = ClearRead::new(
            "grid",
            "ListWelfareVisitsDue",
            "resident",
            Some("走访".into()),
        );
        let ids: Vec<String> = (0..500).map(|i| format!("resident-{i:05}")).collect();
        for id in &ids {
            read.show("st-a", id, &[("phone", "x")]);
        }
        let audits = read.audits(&caller(&[Role::VillageOfficer], &["st-a"]));
        assert!(audits.len() > 1 && audits.len() < 50, "{}", audits.len());
        for audit in &audits {
            assert!(
                audit.detail.chars().count() <= MAX_DETAIL_CHARS,
                "{}",
                audit.detail
            );
            assert!(audit.resource_id.is_empty());
        }
        let all: String = audits.iter().map(|a| a.detail.clone()).collect();
        assert!(ids.iter().all(|id| all.contains(id.as_str())));
        assert!(audits[0].detail.ends_with(&format!("[1/{}]", audits.len())));
    }
}
