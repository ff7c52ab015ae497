//! A stand-in for the 12345 platform's gateway (`pingan.hotline.v1.HotlineGatewayService`):
//! creates a ticket per transfer (idempotent on request_id, as the real platform promises) and
//! counts every delivery, so a scenario can tell "arrived exactly once" from "arrived twice".

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use pingan_proto::hotline::v1::hotline_gateway_service_server::{
    HotlineGatewayService, HotlineGatewayServiceServer,
};
use pingan_proto::hotline::v1::{
    CreateTicketRequest, CreateTicketResponse, ReplyTicketRequest, ReplyTicketResponse,
};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

/// One ticket the stand-in created.
#[derive(Debug, Clone)]
pub struct Ticket {
    /// Its id.
    pub ticket_id: String,
    /// CreateTicket calls received for it (1 when delivered exactly once).
    pub deliveries: u32,
}

/// Tickets by request_id (Pingan's transfer id).
#[derive(Debug, Clone, Default)]
pub struct Gateway {
    tickets: Arc<Mutex<BTreeMap<String, Ticket>>>,
}

impl Gateway {
    /// Listens on a loopback port; returns the gateway and its address.
    pub async fn start() -> anyhow::Result<(Self, std::net::SocketAddr)> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the 12345 stand-in")?;
        let address = listener.local_addr()?;
        let gateway = Self::default();
        let server = HotlineGatewayServiceServer::new(gateway.clone());
        tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(server)
                .serve_with_incoming(TcpListenerStream::new(listener))
                .await;
        });
        Ok((gateway, address))
    }

    /// The ticket created for transfer `request_id`, if any.
    pub fn ticket(&self, request_id: &str) -> Option<Ticket> {
        self.tickets.lock().ok()?.get(request_id).cloned()
    }
}

fn now() -> prost_types::Timestamp {
    pingan_platform::time::to_timestamp(chrono::Utc::now())
}

#[tonic::async_trait]
impl HotlineGatewayService for Gateway {
    async fn create_ticket(
        &self,
        request: tonic::Request<CreateTicketRequest>,
    ) -> Result<tonic::Response<CreateTicketResponse>, tonic::Status> {
        let request = request.into_inner();
        let mut tickets = self
            .tickets
            .lock()
            .map_err(|_| tonic::Status::internal("poisoned"))?;
        let count = tickets.len();
        let ticket = tickets
            .entry(request.request_id.clone())
            .or_insert_with(|| Ticket {
                ticket_id: format!("E2E-12345-{:05}", count + 1),
                deliveries: 0,
            });
        ticket.deliveries += 1;
        let deadline =
            pingan_platform::time::to_timestamp(chrono::Utc::now() + chrono::Duration::days(3));
        Ok(tonic::Response::new(CreateTicketResponse {
            ticket_id: ticket.ticket_id.clone(),
            department: if request.department.is_empty() {
                "12345".to_owned()
            } else {
                request.department
            },
            deadline: Some(deadline),
            created_at: Some(now()),
            duplicate: ticket.deliveries > 1,
        }))
    }

    async fn reply_ticket(
        &self,
        request: tonic::Request<ReplyTicketRequest>,
    ) -> Result<tonic::Response<ReplyTicketResponse>, tonic::Status> {
        let request = request.into_inner();
        Ok(tonic::Response::new(ReplyTicketResponse {
            reply_id: format!("E2E-REPLY-{}", request.request_id),
            received_at: Some(now()),
            duplicate: false,
        }))
    }
}
