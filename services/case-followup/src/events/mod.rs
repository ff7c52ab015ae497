//! Events in: `pingan.dispatch.v1.DispatchClosed` feeds the revisit scheduler
//! ([`Core::on_dispatch_closed`]). Events out are enqueued by the use cases in `app`.

use std::sync::Arc;

use pingan_platform::ApiError;
use pingan_platform::events::EventHandler;
use pingan_platform::storage::Tx;
use pingan_proto::common::v1::Actor;
use pingan_proto::dispatch::v1::DispatchClosed;
use pingan_proto::events::v1::EventEnvelope;
use prost::Message;

use crate::Core;
use crate::domain::from_ts;

/// The actor of what the service does by itself.
pub fn service_actor() -> Actor {
    Actor {
        subject: crate::SHORT_NAME.to_owned(),
        role: "service".to_owned(),
        display_name: String::new(),
    }
}

/// `pingan.dispatch.v1.DispatchClosed` → a revisit, once per incident.
pub struct DispatchClosedHandler {
    core: Arc<Core>,
}

impl DispatchClosedHandler {
    /// The handler over the service's core.
    pub fn new(core: Arc<Core>) -> Self {
        Self { core }
    }
}

#[tonic::async_trait]
impl EventHandler for DispatchClosedHandler {
    async fn handle(&self, tx: &mut Tx, event: &EventEnvelope) -> Result<(), ApiError> {
        let payload = event
            .payload
            .as_ref()
            .map(|p| p.value.as_slice())
            .unwrap_or_default();
        let closed = DispatchClosed::decode(payload).map_err(|err| {
            ApiError::invalid("event.payload", format!("not a DispatchClosed: {err}"))
        })?;
        let event_time = event.occurred_at.as_ref().and_then(from_ts);
        self.core
            .on_dispatch_closed(tx, &closed, event_time)
            .await?;
        Ok(())
    }
}
