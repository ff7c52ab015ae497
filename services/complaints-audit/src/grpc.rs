//! gRPC handlers of `pingan.audit.v1.ComplaintsAuditService`. RPCs not built yet answer UNIMPLEMENTED
//! through the generated default methods.

use pingan_platform::ServiceContext;
use pingan_proto::audit::v1::complaints_audit_service_server::ComplaintsAuditService;

/// Handlers of the complaints-audit service.
#[derive(Debug, Clone)]
pub struct ComplaintsAuditApi {
    #[allow(dead_code)] // used by the handlers as they land
    context: ServiceContext,
}

impl ComplaintsAuditApi {
    /// Handlers over the service's storage and peers.
    pub fn new(context: ServiceContext) -> Self {
        Self { context }
    }
}

#[tonic::async_trait]
impl ComplaintsAuditService for ComplaintsAuditApi {}
