//! A built-in 12345 platform for `pingan dev` and the tests: it creates tickets (idempotent on
//! the request id), records replies, and can be told to be down, slow, or to bounce tickets.
//! It runs in-process behind [`HotlineGateway`] and can also be served over gRPC.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pingan_platform::clock::SharedClock;
use pingan_proto::hotline::v1::hotline_gateway_service_server::HotlineGatewayService;
use pingan_proto::hotline::v1::{
    CreateTicketRequest, CreateTicketResponse, ReplyTicketRequest, ReplyTicketResponse,
};

use super::{GatewayError, HotlineGateway, HotlineReport};

/// A ticket as the simulated 12345 holds it.
#[derive(Debug, Clone)]
pub struct SimTicket {
    /// 12345's ticket id.
    pub ticket_id: String,
    /// The request as received.
    pub request: CreateTicketRequest,
    /// Department assigned.
    pub department: String,
}

#[derive(Debug, Default)]
struct State {
    down: bool,
    latency: Duration,
    bounce_categories: BTreeSet<String>,
    bounce_all: bool,
    tickets: BTreeMap<String, SimTicket>,
    replies: BTreeMap<String, ReplyTicketRequest>,
    create_calls: usize,
    lose_responses: usize,
    reply_calls: usize,
    reports: Vec<HotlineReport>,
    sequence: u64,
}

/// The simulated 12345 platform; clones share state.
#[derive(Debug, Clone)]
pub struct HotlineSimulator {
    state: Arc<Mutex<State>>,
    clock: SharedClock,
    time_limit: chrono::Duration,
}

fn to_timestamp(t: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or_default(),
    }
}

impl HotlineSimulator {
    /// A simulator reading time from `clock`; tickets get a 72 h time limit.
    pub fn new(clock: SharedClock) -> Self {
        Self {
            state: Arc::new(Mutex::new(State::default())),
            clock,
            time_limit: chrono::Duration::hours(72),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    /// Down: every call fails as UNAVAILABLE would.
    pub fn set_down(&self, down: bool) {
        self.with(|s| s.down = down);
    }

    /// Every call waits this long first.
    pub fn set_latency(&self, latency: Duration) {
        self.with(|s| s.latency = latency);
    }

    /// Tickets of these categories (or every ticket with `"*"`) are bounced back.
    pub fn bounce(&self, categories: &[&str]) {
        self.with(|s| {
            s.bounce_all = categories.contains(&"*");
            s.bounce_categories = categories.iter().map(|c| (*c).to_owned()).collect();
        });
    }

    /// The next `n` tickets are created but their answer is lost (the caller sees an error and
    /// retries: the retry must find the same ticket, not make a second one).
    pub fn lose_next_responses(&self, n: usize) {
        self.with(|s| s.lose_responses = n);
    }

    /// Tickets created so far (one per transfer, whatever the retries).
    pub fn tickets(&self) -> Vec<SimTicket> {
        self.with(|s| s.tickets.values().cloned().collect())
    }

    /// Replies received so far, by request id.
    pub fn replies(&self) -> Vec<ReplyTicketRequest> {
        self.with(|s| s.replies.values().cloned().collect())
    }

    /// CreateTicket calls received (retries included).
    pub fn create_calls(&self) -> usize {
        self.with(|s| s.create_calls)
    }

    async fn enter(&self) -> Result<(), GatewayError> {
        let (down, latency) = self.with(|s| (s.down, s.latency));
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        if down {
            return Err(GatewayError::unavailable("simulated 12345 outage"));
        }
        Ok(())
    }

    fn create(&self, request: CreateTicketRequest) -> CreateTicketResponse {
        let now = self.clock.now();
        let deadline = now + self.time_limit;
        self.with(|s| {
            s.create_calls += 1;
            if let Some(existing) = s.tickets.get(&request.request_id) {
                return CreateTicketResponse {
                    ticket_id: existing.ticket_id.clone(),
                    department: existing.department.clone(),
                    deadline: Some(to_timestamp(deadline)),
                    created_at: Some(to_timestamp(now)),
                    duplicate: true,
                };
            }
            s.sequence += 1;
            let ticket_id = format!("12345-{}-{:06}", now.format("%Y%m%d"), s.sequence);
            let department = if request.department.is_empty() {
                "12345 综合受理".to_owned()
            } else {
                request.department.clone()
            };
            if s.bounce_all || s.bounce_categories.contains(&request.category) {
                s.reports.push(HotlineReport {
                    transfer_id: request.request_id.clone(),
                    ticket_id: ticket_id.clone(),
                    reason: "经核实属于公安职责，按首接负责退回 110".into(),
                });
            }
            s.tickets.insert(
                request.request_id.clone(),
                SimTicket {
                    ticket_id: ticket_id.clone(),
                    request,
                    department: department.clone(),
                },
            );
            CreateTicketResponse {
                ticket_id,
                department,
                deadline: Some(to_timestamp(deadline)),
                created_at: Some(to_timestamp(now)),
                duplicate: false,
            }
        })
    }

    fn reply(&self, request: ReplyTicketRequest) -> ReplyTicketResponse {
        let now = self.clock.now();
        self.with(|s| {
            s.reply_calls += 1;
            let duplicate = s.replies.contains_key(&request.request_id);
            let reply_id = format!("reply-{}", request.request_id);
            if !duplicate {
                s.replies.insert(request.request_id.clone(), request);
            }
            ReplyTicketResponse {
                reply_id,
                received_at: Some(to_timestamp(now)),
                duplicate,
            }
        })
    }
}

#[tonic::async_trait]
impl HotlineGateway for HotlineSimulator {
    async fn create_ticket(
        &self,
        request: CreateTicketRequest,
    ) -> Result<CreateTicketResponse, GatewayError> {
        self.enter().await?;
        let response = self.create(request);
        let lost = self.with(|s| {
            let lost = s.lose_responses > 0;
            s.lose_responses = s.lose_responses.saturating_sub(1);
            lost
        });
        if lost {
            return Err(GatewayError::unavailable(
                "simulated lost answer (ticket created)",
            ));
        }
        Ok(response)
    }

    async fn reply_ticket(
        &self,
        request: ReplyTicketRequest,
    ) -> Result<ReplyTicketResponse, GatewayError> {
        self.enter().await?;
        Ok(self.reply(request))
    }

    fn take_reports(&self) -> Vec<HotlineReport> {
        self.with(|s| std::mem::take(&mut s.reports))
    }
}

#[tonic::async_trait]
impl HotlineGatewayService for HotlineSimulator {
    async fn create_ticket(
        &self,
        request: tonic::Request<CreateTicketRequest>,
    ) -> Result<tonic::Response<CreateTicketResponse>, tonic::Status> {
        self.enter()
            .await
            .map_err(|e| tonic::Status::unavailable(e.message))?;
        Ok(tonic::Response::new(self.create(request.into_inner())))
    }

    async fn reply_ticket(
        &self,
        request: tonic::Request<ReplyTicketRequest>,
    ) -> Result<tonic::Response<ReplyTicketResponse>, tonic::Status> {
        self.enter()
            .await
            .map_err(|e| tonic::Status::unavailable(e.message))?;
        Ok(tonic::Response::new(self.reply(request.into_inner())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tickets_are_idempotent_on_the_request_id_and_outages_fail() {
        let sim = HotlineSimulator::new(pingan_platform::clock::system());
        let request = CreateTicketRequest {
            request_id: "tr-1".into(),
            category: "UTILITIES".into(),
            ..Default::default()
        };
        let first = HotlineGateway::create_ticket(&sim, request.clone())
            .await
            .expect("created");
        let again = HotlineGateway::create_ticket(&sim, request.clone())
            .await
            .expect("again");
        assert_eq!(first.ticket_id, again.ticket_id);
        assert!(again.duplicate);
        assert_eq!(sim.tickets().len(), 1);
        sim.set_down(true);
        assert!(HotlineGateway::create_ticket(&sim, request).await.is_err());
    }
}
