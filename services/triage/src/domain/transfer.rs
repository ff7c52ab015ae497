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

/// Wait before retry number `attempts + 1`: doubling from `initial`, capped at `max`.
pub fn retry_after(
    attempts: u32,
    initial: std::time::Duration,
    max: std::time::Duration,
) -> std::time::Duration {
    let exponent = attempts.saturating_sub(1).min(20);
    initial.saturating_mul(1_u32 << exponent).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
    fn retries_back_off_and_cap() {
        let (a, b) = (Duration::from_secs(1), Duration::from_secs(30));
        assert_eq!(retry_after(1, a, b), Duration::from_secs(1));
        assert_eq!(retry_after(3, a, b), Duration::from_secs(4));
        assert_eq!(retry_after(50, a, b), Duration::from_secs(30));
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
