//! Sensitive reads of follow-up records: answers that show parties', contacts' and owners'
//! phones in clear say why (`reason`, per `--clear-read-reason`) and are audited with the ids of
//! the records shown in clear, never the numbers.

use pingan_platform::ApiError;
use pingan_platform::auth::Caller;
use pingan_platform::clear_reads::{self, ClearRead, ClearReadReason, read_by_person};
use pingan_proto::followup::v1::{FoundItem, LostReport, Revisit};

use crate::domain::access::sees_phones;

/// The clear read `rpc` of `resource_type` records may be, its reason checked against the
/// policy (INVALID_ARGUMENT naming `reason`); None for callers who see masked phones only.
pub fn start(
    policy: ClearReadReason,
    caller: &Caller,
    rpc: &str,
    resource_type: &str,
    reason: &str,
) -> Result<Option<ClearRead>, ApiError> {
    if !(read_by_person(caller) && sees_phones(caller)) {
        return Ok(None);
    }
    let reason = clear_reads::reason(policy, reason)?;
    Ok(Some(ClearRead::new("followup", rpc, resource_type, reason)))
}

/// A revisit shown with its contact's phone.
pub fn revisit(read: &mut ClearRead, r: &Revisit) {
    read.show(
        &r.station_id,
        &r.revisit_id,
        &[("contact_phone", &r.contact_phone)],
    );
}

/// A found item shown with its owner's phone.
pub fn found_item(read: &mut ClearRead, item: &FoundItem) {
    let station = item.custody.as_ref().map_or("", |c| c.station_id.as_str());
    let phone = item.owner.as_ref().map_or("", |o| o.phone.as_str());
    read.show(station, &item.found_item_id, &[("owner.phone", phone)]);
}

/// A lost report shown with its owner's phone (named `lost_report:<id>` beside found items).
pub fn lost_report(read: &mut ClearRead, report: &LostReport) {
    read.show(
        &report.station_id,
        &format!("lost_report:{}", report.lost_report_id),
        &[("owner_phone", &report.owner_phone)],
    );
}
