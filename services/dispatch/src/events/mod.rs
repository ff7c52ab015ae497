//! Inbound events: dispatch receives none (it only sends, see `app::outbound`), so its inbox has
//! no handler; this is where one would be registered.

use pingan_platform::ServiceContext;
use pingan_platform::events::ServiceSink;

/// The service's inbox, with a handler for each event type routed to it (none).
pub fn sink(context: &ServiceContext) -> ServiceSink {
    ServiceSink::new(context.db.clone(), context.clock.clone())
}
