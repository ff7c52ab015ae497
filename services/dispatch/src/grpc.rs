//! gRPC handlers of `pingan.dispatch.v1.DispatchService`. RPCs not built yet answer UNIMPLEMENTED
//! through the generated default methods.

use pingan_platform::ServiceContext;
use pingan_proto::dispatch::v1::dispatch_service_server::DispatchService;

/// Handlers of the dispatch service.
#[derive(Debug, Clone)]
pub struct DispatchApi {
    #[allow(dead_code)] // used by the handlers as they land
    context: ServiceContext,
}

impl DispatchApi {
    /// Handlers over the service's storage and peers.
    pub fn new(context: ServiceContext) -> Self {
        Self { context }
    }
}

#[tonic::async_trait]
impl DispatchService for DispatchApi {}
