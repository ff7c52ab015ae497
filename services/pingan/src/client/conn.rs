//! Where the client commands connect and as whom: `--endpoint` (or `PINGAN_ENDPOINT`, default
//! the dev shape's), `--token` (or `PINGAN_TOKEN`) sent as a bearer token on every call, and for
//! `https://` endpoints `--ca` (and `--cert`/`--key` where the server asks for mutual TLS).

use std::time::Duration;

use clap::Args;
use pingan_platform::tls::ClientTlsArgs;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// The dev shape's one endpoint.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:50051";

/// How long a connection attempt may take before the command gives up (exit 5).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A channel that adds the bearer token, when one is given.
pub type Authed = InterceptedService<Channel, Bearer>;

/// `--endpoint` and `--token`, accepted by every client command.
#[derive(Debug, Clone, Args)]
pub struct Conn {
    /// gRPC endpoint (`http://host:port`, `https://host:port` with --ca, or `host:port`);
    /// `pingan dev` serves all six services on one.
    #[arg(long, env = "PINGAN_ENDPOINT", default_value = DEFAULT_ENDPOINT)]
    pub endpoint: String,
    /// Bearer token (`pingan token`); none needed against `pingan dev`.
    #[arg(long, env = "PINGAN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// TLS for `https://` endpoints.
    #[command(flatten)]
    pub tls: ClientTlsArgs,
}

/// Adds `authorization: Bearer …` to every request when a token is set.
#[derive(Debug, Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl tonic::service::Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(bearer) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", bearer.clone());
        }
        Ok(request)
    }
}

/// `host:port` → `http://host:port`; a URL with a scheme is kept.
pub fn normalize_endpoint(endpoint: &str) -> String {
    let endpoint = endpoint.trim();
    if endpoint.contains("://") {
        endpoint.to_owned()
    } else {
        format!("http://{endpoint}")
    }
}

impl Conn {
    /// The endpoint as a URL.
    pub fn url(&self) -> String {
        normalize_endpoint(&self.endpoint)
    }

    /// A bare channel (for clients that add the token themselves).
    pub async fn channel(&self) -> anyhow::Result<Channel> {
        Ok(self.tls.connect(&self.url(), CONNECT_TIMEOUT).await?)
    }

    /// A channel that sends the token.
    pub async fn connect(&self) -> anyhow::Result<Authed> {
        let channel = self.channel().await?;
        Ok(InterceptedService::new(channel, self.bearer()?))
    }

    /// The interceptor for the token.
    pub fn bearer(&self) -> anyhow::Result<Bearer> {
        Ok(Bearer(match &self.token {
            Some(token) if !token.is_empty() => Some(
                MetadataValue::try_from(format!("Bearer {token}"))
                    .map_err(|_| crate::client::UsageError("--token is not valid ASCII".into()))?,
            ),
            _ => None,
        }))
    }
}

/// A fresh idempotency key, unless the caller gave one (`--request-id`) to retry safely.
pub fn request_id(given: &Option<String>) -> String {
    given
        .clone()
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_without_a_scheme_is_http() {
        assert_eq!(
            normalize_endpoint("127.0.0.1:50051"),
            "http://127.0.0.1:50051"
        );
        assert_eq!(normalize_endpoint("http://h:1"), "http://h:1");
        assert_eq!(normalize_endpoint("https://h:1"), "https://h:1");
    }
}
