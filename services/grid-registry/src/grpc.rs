//! gRPC handlers of `pingan.grid.v1.GridRegistryService`. RPCs not built yet answer UNIMPLEMENTED
//! through the generated default methods.

use pingan_platform::ServiceContext;
use pingan_proto::grid::v1::grid_registry_service_server::GridRegistryService;

/// Handlers of the grid-registry service.
#[derive(Debug, Clone)]
pub struct GridRegistryApi {
    #[allow(dead_code)] // used by the handlers as they land
    context: ServiceContext,
}

impl GridRegistryApi {
    /// Handlers over the service's storage and peers.
    pub fn new(context: ServiceContext) -> Self {
        Self { context }
    }
}

#[tonic::async_trait]
impl GridRegistryService for GridRegistryApi {}
