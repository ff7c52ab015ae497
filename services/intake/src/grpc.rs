//! gRPC handlers of `pingan.intake.v1.IntakeService`. RPCs not built yet answer UNIMPLEMENTED
//! through the generated default methods.

use pingan_platform::ServiceContext;
use pingan_proto::intake::v1::intake_service_server::IntakeService;

/// Handlers of the intake service.
#[derive(Debug, Clone)]
pub struct IntakeApi {
    #[allow(dead_code)] // used by the handlers as they land
    context: ServiceContext,
}

impl IntakeApi {
    /// Handlers over the service's storage and peers.
    pub fn new(context: ServiceContext) -> Self {
        Self { context }
    }
}

#[tonic::async_trait]
impl IntakeService for IntakeApi {}
