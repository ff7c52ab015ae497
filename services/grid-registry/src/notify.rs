//! The notification adapter of grid broadcasts. The dev shape and the tests use the log sink;
//! a real SMS / app-push gateway implements the same trait.

use pingan_proto::grid::v1::DeliveryStatus;

/// One message to one recipient; `contact` is the clear number, never logged.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    /// Broadcast it belongs to.
    pub broadcast_id: &'a str,
    /// Recipient id.
    pub recipient_id: &'a str,
    /// Clear contact (phone); empty when the recipient has none.
    pub contact: &'a str,
    /// Masked contact, safe for logs.
    pub contact_masked: &'a str,
    /// Channel (proto number).
    pub channel: i32,
    /// Title.
    pub title: &'a str,
    /// Text.
    pub message: &'a str,
}

/// Sends notifications.
#[tonic::async_trait]
pub trait Notifier: Send + Sync + std::fmt::Debug {
    /// Sends one message; the delivery state and an error text for FAILED.
    async fn send(&self, outgoing: &Outgoing<'_>) -> (DeliveryStatus, String);
}

/// Writes each message to the log (masked contact) and reports it SENT.
#[derive(Debug, Default, Clone)]
pub struct LogNotifier;

#[tonic::async_trait]
impl Notifier for LogNotifier {
    async fn send(&self, outgoing: &Outgoing<'_>) -> (DeliveryStatus, String) {
        tracing::info!(
            broadcast_id = outgoing.broadcast_id,
            recipient_id = outgoing.recipient_id,
            contact = outgoing.contact_masked,
            channel = outgoing.channel,
            title = outgoing.title,
            "grid broadcast delivered to log sink"
        );
        (DeliveryStatus::Sent, String::new())
    }
}
