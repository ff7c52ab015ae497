//! Message limits on every server of a host: an oversized request message, an oversized
//! response message and an over-long request stream each end the call RESOURCE_EXHAUSTED;
//! calls within the limits are untouched, and the server keeps serving afterwards.

mod common;

use pingan_platform::config::ServerConfig;
use pingan_platform::server::{MessageLimits, ServiceHost};
use pingan_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use pingan_proto::dispatch::v1::dispatch_service_server::{DispatchService, DispatchServiceServer};
use pingan_proto::dispatch::v1::*;
use tonic::{Code, Request, Response, Status, Streaming};

/// Answers with as many bytes as asked, and counts a stream's messages.
#[derive(Debug, Clone, Copy)]
struct Echo;

#[tonic::async_trait]
impl DispatchService for Echo {
    async fn update_position(
        &self,
        _request: Request<UpdatePositionRequest>,
    ) -> Result<Response<UpdatePositionResponse>, Status> {
        Ok(Response::new(UpdatePositionResponse::default()))
    }

    async fn list_units(
        &self,
        request: Request<ListUnitsRequest>,
    ) -> Result<Response<ListUnitsResponse>, Status> {
        let size = usize::try_from(request.into_inner().page_size).unwrap_or_default();
        Ok(Response::new(ListUnitsResponse {
            next_page_token: "x".repeat(size),
            ..Default::default()
        }))
    }

    async fn report_positions(
        &self,
        request: Request<Streaming<ReportPositionsRequest>>,
    ) -> Result<Response<ReportPositionsResponse>, Status> {
        let mut stream = request.into_inner();
        let mut accepted = 0;
        while stream.message().await?.is_some() {
            accepted += 1;
        }
        Ok(Response::new(ReportPositionsResponse {
            accepted,
            ..Default::default()
        }))
    }
}

async fn serve() -> (
    common::Running,
    DispatchServiceClient<tonic::transport::Channel>,
) {
    let config = ServerConfig {
        messages: MessageLimits {
            max_request_message: 1024,
            max_response_message: 4096,
            max_stream_messages: 10,
        },
        ..ServerConfig::default()
    };
    let mut host = ServiceHost::new(config);
    host.add_service(DispatchServiceServer::new(Echo), vec![]);
    let running = common::start(host).await;
    let channel = tonic::transport::Endpoint::from_shared(running.url())
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    (running, DispatchServiceClient::new(channel))
}

fn fix(unit: &str) -> ReportPositionsRequest {
    ReportPositionsRequest {
        unit_id: unit.to_owned(),
        ..Default::default()
    }
}

#[tokio::test]
async fn an_oversized_request_message_is_resource_exhausted() {
    let (running, mut client) = serve().await;
    let small = UpdatePositionRequest {
        unit_id: "u-1".into(),
        ..Default::default()
    };
    assert!(client.update_position(small.clone()).await.is_ok());
    let big = UpdatePositionRequest {
        unit_id: "u".repeat(2000),
        ..Default::default()
    };
    let status = client.update_position(big).await.expect_err("refused");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("exceeds the limit of 1024 bytes"));
    // Still serving.
    assert!(client.update_position(small).await.is_ok());
    running.stop().await;
}

#[tokio::test]
async fn an_oversized_response_message_ends_the_call_resource_exhausted() {
    let (running, mut client) = serve().await;
    let fits = client
        .list_units(ListUnitsRequest {
            page_size: 4000,
            ..Default::default()
        })
        .await
        .expect("within the limit");
    assert_eq!(fits.into_inner().next_page_token.len(), 4000);
    let status = client
        .list_units(ListUnitsRequest {
            page_size: 5000,
            ..Default::default()
        })
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    running.stop().await;
}

#[tokio::test]
async fn a_request_stream_longer_than_the_limit_is_resource_exhausted() {
    let (running, mut client) = serve().await;
    let ten = tokio_stream::iter((0..10).map(|_| fix("u-1")));
    let answer = client.report_positions(ten).await.expect("ten fixes");
    assert_eq!(answer.into_inner().accepted, 10);
    let eleven = tokio_stream::iter((0..11).map(|_| fix("u-1")));
    let status = client.report_positions(eleven).await.expect_err("refused");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("limit of 10 messages"));
    // One oversized fix in a stream.
    let oversized = tokio_stream::iter([fix("u-1"), fix(&"u".repeat(2000))]);
    let status = client
        .report_positions(oversized)
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    running.stop().await;
}
