//! Sensitive reads: a caller who sees complainants' phone and ID numbers in clear must say why,
//! and every complaint shown with them in clear is written to the audit log (who, what, why).

use pingan_platform::ApiError;
use pingan_platform::auth::Caller;
use pingan_proto::audit::v1::Complaint;

use super::{Core, audit_own, own_action};
use crate::app::access::{actor, sees_pii};

/// Longest reason accepted, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// The reason of a read that shows clear data (None for callers who only see masked data);
/// INVALID_ARGUMENT naming `reason` when such a caller gives none.
pub fn reason(caller: &Caller, reason: &str) -> Result<Option<String>, ApiError> {
    if !sees_pii(caller) {
        return Ok(None);
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ApiError::invalid(
            "reason",
            "required: this caller reads complainants' phone and ID numbers in clear",
        ));
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::invalid(
            "reason",
            format!("at most {MAX_REASON_CHARS} characters"),
        ));
    }
    Ok(Some(reason.to_owned()))
}

/// Writes one audit record per complaint shown with a clear phone or ID number, in one
/// transaction: `complaints-audit.ReadComplainantInClear`, the fields shown and the reason.
pub async fn record(
    core: &Core,
    caller: &Caller,
    rpc: &str,
    reason: &str,
    shown: &[Complaint],
) -> Result<(), ApiError> {
    let clear: Vec<(&Complaint, Vec<&str>)> = shown
        .iter()
        .filter_map(|complaint| {
            let person = complaint.complainant.as_ref()?;
            let fields: Vec<&str> = [("phone", &person.phone), ("id_number", &person.id_number)]
                .into_iter()
                .filter(|(_, value)| !value.is_empty())
                .map(|(name, _)| name)
                .collect();
            (!fields.is_empty()).then_some((complaint, fields))
        })
        .collect();
    if clear.is_empty() {
        return Ok(());
    }
    let who = actor(caller);
    let mut tx = core.context.db.begin_write().await?;
    for (complaint, fields) in clear {
        let audit = own_action(
            &who,
            "ReadComplainantInClear",
            &complaint.complaint_id,
            &complaint.station_id,
        )
        .detail(format!(
            "{rpc}: {} in clear; reason: {reason}",
            fields.join(", ")
        ));
        audit_own(core, &mut tx, audit).await?;
    }
    tx.commit().await?;
    Ok(())
}
