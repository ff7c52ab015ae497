//! gRPC handlers of `pingan.triage.v1.TriageService`. RPCs not built yet answer UNIMPLEMENTED
//! through the generated default methods.

use pingan_platform::ServiceContext;
use pingan_proto::triage::v1::triage_service_server::TriageService;

/// Handlers of the triage service.
#[derive(Debug, Clone)]
pub struct TriageApi {
    #[allow(dead_code)] // used by the handlers as they land
    context: ServiceContext,
}

impl TriageApi {
    /// Handlers over the service's storage and peers.
    pub fn new(context: ServiceContext) -> Self {
        Self { context }
    }
}

#[tonic::async_trait]
impl TriageService for TriageApi {}
