//! gRPC handlers of `pingan.followup.v1.CaseFollowupService`. RPCs not built yet answer UNIMPLEMENTED
//! through the generated default methods.

use pingan_platform::ServiceContext;
use pingan_proto::followup::v1::case_followup_service_server::CaseFollowupService;

/// Handlers of the case-followup service.
#[derive(Debug, Clone)]
pub struct CaseFollowupApi {
    #[allow(dead_code)] // used by the handlers as they land
    context: ServiceContext,
}

impl CaseFollowupApi {
    /// Handlers over the service's storage and peers.
    pub fn new(context: ServiceContext) -> Self {
        Self { context }
    }
}

#[tonic::async_trait]
impl CaseFollowupService for CaseFollowupApi {}
