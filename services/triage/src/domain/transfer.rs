//! The transfer ledger's states, what the inbound tickets become, and the deliveries the bridge
//! owes the other side. No I/O.

use pingan_proto::triage::v1 as pb;

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vdoc])* $variant),+ }
        impl $name {
            /// Stored spelling.
            pub fn as_str(self) -> &'static str { match self { $(Self::$variant => $text),+ } }
            /// Parses the stored spelling.
            pub fn parse(value: &str) -> Option<Self> {
                match value { $($text => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

text_enum!(
    /// Which way a transfer goes.
    Direction {
        /// 110 → 12345 (a diversion).
        To12345 = "TO_12345",
        /// 12345 → police.
        From12345 = "FROM_12345",
    }
);

text_enum!(
    /// Ledger status.
    Status {
        /// Recorded, not delivered yet.
        Pending = "PENDING",
        /// 12345 returned a ticket id.
        Sent = "SENT",
        /// The receiving side took responsibility.
        Accepted = "ACCEPTED",
        /// Handled and answered.
        Handled = "HANDLED",
        /// Sent back.
        Bounced = "BOUNCED",
    }
);

text_enum!(
    /// What an inbound ticket becomes.
    Route {
        /// Outbound diversion (no inbound route).
        Divert = "DIVERT",
        /// Police business: an intake incident.
        Incident = "INCIDENT",
        /// A complaint about police: complaints-audit.
        Complaint = "COMPLAINT",
        /// Not police business: returned to 12345.
        Return = "RETURN",
        /// 12345 pushed back one of our diversions: it stays with the police.
        BounceBack = "BOUNCE_BACK",
    }
);

text_enum!(
    /// A call the bridge owes the other side, retried until it succeeds.
    Action {
        /// `HotlineGatewayService.CreateTicket` (idempotent on the transfer id).
        CreateTicket = "CREATE_TICKET",
        /// `HotlineGatewayService.ReplyTicket` (idempotent on the delivery id).
        ReplyTicket = "REPLY_TICKET",
        /// `IntakeService.ReportCall` (idempotent on a request id derived from the transfer id).
        ReportCall = "REPORT_CALL",
    }
);

impl Status {
    /// Closed: no deadline can be missed any more.
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Handled | Self::Bounced)
    }

    /// Whether 12345 (or an operator) may move a transfer from `self` to `next`.
    pub fn can_become(self, next: Status) -> bool {
        use Status::*;
        match (self, next) {
            (a, b) if a == b => true,
            (Pending | Sent, Accepted) => true,
            (Pending | Sent | Accepted, Handled | Bounced) => true,
            _ => false,
        }
    }

    /// The proto value.
    pub fn to_proto(self) -> pb::TransferStatus {
        match self {
            Self::Pending => pb::TransferStatus::Pending,
            Self::Sent => pb::TransferStatus::Sent,
            Self::Accepted => pb::TransferStatus::Accepted,
            Self::Handled => pb::TransferStatus::Handled,
            Self::Bounced => pb::TransferStatus::Bounced,
        }
    }

    /// From the proto value.
    pub fn from_proto(value: pb::TransferStatus) -> Option<Self> {
        Some(match value {
            pb::TransferStatus::Pending => Self::Pending,
            pb::TransferStatus::Sent => Self::Sent,
            pb::TransferStatus::Accepted => Self::Accepted,
            pb::TransferStatus::Handled => Self::Handled,
            pb::TransferStatus::Bounced => Self::Bounced,
            pb::TransferStatus::Unspecified => return None,
        })
    }
}

impl Direction {
    /// The proto value.
    pub fn to_proto(self) -> pb::TransferDirection {
        match self {
            Self::To12345 => pb::TransferDirection::To12345,
            Self::From12345 => pb::TransferDirection::From12345,
        }
    }
}

/// What `ReceiveHotlineTicket` answers for an inbound transfer in its current state.
pub fn disposition(route: Route, status: Status) -> pb::InboundDisposition {
    match (route, status) {
        (Route::Return, _) => pb::InboundDisposition::Returned,
        // Intake refused it for good (a dead letter): it went back to 12345.
        (Route::Incident, Status::Bounced) => pb::InboundDisposition::Returned,
        (Route::Complaint, _) => pb::InboundDisposition::ComplaintFiled,
        (Route::Incident | Route::BounceBack, Status::Pending) => pb::InboundDisposition::Pending,
        (Route::Incident | Route::BounceBack, _) => pb::InboundDisposition::IncidentOpened,
        (Route::Divert, _) => pb::InboundDisposition::Unspecified,
    }
}

/// Where the latest delivery of a transfer stands, as the ledger view shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryView {
    /// Not delivered yet (waiting or being attempted).
    pub pending: bool,
    /// Attempts so far.
    pub attempts: i32,
    /// Why the last attempt failed.
    pub last_error: String,
    /// When it is tried next (meaningful while pending).
    pub next_attempt_at: chrono::DateTime<chrono::Utc>,
}

impl Action {
    /// The platform job kind that carries this action.
    pub fn job_kind(self) -> &'static str {
        match self {
            Self::CreateTicket => "triage.create_ticket",
            Self::ReplyTicket => "triage.reply_ticket",
            Self::ReportCall => "triage.report_call",
        }
    }

    /// The action a job kind carries.
    pub fn from_job_kind(kind: &str) -> Option<Self> {
        [Self::CreateTicket, Self::ReplyTicket, Self::ReportCall]
            .into_iter()
            .find(|a| a.job_kind() == kind)
    }

    /// The job key: the transfer id for the one CreateTicket or ReportCall a transfer owes (so a
    /// second is never created), `transfer/request` for each reply.
    pub fn job_key(self, transfer_id: &str, request_id: &str) -> String {
        match self {
            Self::CreateTicket | Self::ReportCall => transfer_id.to_owned(),
            Self::ReplyTicket => format!("{transfer_id}/{request_id}"),
        }
    }
}

/// The transfer a delivery job key belongs to.
pub fn transfer_of_job_key(key: &str) -> &str {
    key.split('/').next().unwrap_or(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_move_forward_only() {
        assert!(Status::Pending.can_become(Status::Bounced));
        assert!(Status::Sent.can_become(Status::Accepted));
        assert!(Status::Accepted.can_become(Status::Handled));
        assert!(!Status::Handled.can_become(Status::Accepted));
        assert!(!Status::Bounced.can_become(Status::Sent));
        assert!(!Status::Accepted.can_become(Status::Sent));
    }

    #[test]
    fn job_keys_name_their_transfer() {
        for action in [
            Action::CreateTicket,
            Action::ReplyTicket,
            Action::ReportCall,
        ] {
            assert_eq!(Action::from_job_kind(action.job_kind()), Some(action));
            assert_eq!(transfer_of_job_key(&action.job_key("t-1", "r-9")), "t-1");
        }
        assert_eq!(Action::CreateTicket.job_key("t-1", "r-9"), "t-1");
        assert_eq!(Action::ReplyTicket.job_key("t-1", "r-9"), "t-1/r-9");
        assert_eq!(Action::from_job_kind("intake.route"), None);
    }

    #[test]
    fn inbound_dispositions_follow_route_and_status() {
        assert_eq!(
            disposition(Route::Incident, Status::Pending),
            pb::InboundDisposition::Pending
        );
        assert_eq!(
            disposition(Route::Incident, Status::Accepted),
            pb::InboundDisposition::IncidentOpened
        );
        assert_eq!(
            disposition(Route::Return, Status::Bounced),
            pb::InboundDisposition::Returned
        );
    }
}
