//! Sensitive reads of the exchange ledger: a person's answer that shows callers' phones in
//! clear (dispatchers, the 12345 integration) says why (`reason`, per `--clear-read-reason`) and
//! is audited as `triage.ReadInClear` with the ids of the transfers shown, never the numbers.
//! Transfers belong to the bureau, not a station: records are written under no station.

use pingan_platform::auth::{Caller, Role};
use pingan_platform::clear_reads::{self, ClearRead, ClearReadReason, read_by_person};
use pingan_platform::{ApiError, ServiceContext};
use pingan_proto::triage::v1 as pb;

/// Roles that see the caller's phone number in clear (dispatchers, the hotline bridge).
pub const CLEAR_PHONE: &[Role] = &[Role::Dispatcher, Role::HotlineIntegrator, Role::Service];

/// The clear read `rpc` may be, its reason checked against the policy (INVALID_ARGUMENT naming
/// `reason`); None for callers who see masked phones only, and for services on their own flow.
pub fn start(
    policy: ClearReadReason,
    caller: &Caller,
    rpc: &str,
    reason: &str,
) -> Result<Option<ClearRead>, ApiError> {
    if !(read_by_person(caller) && caller.has_any(CLEAR_PHONE)) {
        return Ok(None);
    }
    let reason = clear_reads::reason(policy, reason)?;
    Ok(Some(ClearRead::new("triage", rpc, "transfer", reason)))
}

/// Audits the transfers of an answer shown with a clear phone (nothing when none was).
pub async fn record(
    context: &ServiceContext,
    caller: &Caller,
    read: Option<ClearRead>,
    transfers: &[pb::Transfer],
) -> Result<(), ApiError> {
    let Some(mut read) = read else {
        return Ok(());
    };
    for transfer in transfers {
        read.show(
            "",
            &transfer.transfer_id,
            &[("caller_phone", &transfer.caller_phone)],
        );
    }
    clear_reads::record(context, crate::SHORT_NAME, caller, &read).await
}
