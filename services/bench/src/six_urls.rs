//! The URLs the six-process shape hands its processes: each service's database (with the TLS
//! mode the run asks for), and URLs sent through a relay.

use anyhow::Context;

/// The socket address of a `scheme://[user@]host:port/…` URL.
pub(super) async fn socket_of(
    url: &str,
    default_port: u16,
) -> anyhow::Result<std::net::SocketAddr> {
    let parsed = url::Url::parse(url).with_context(|| format!("parsing {url}"))?;
    let host = parsed.host_str().context("the URL has no host")?.to_owned();
    let port = parsed.port().unwrap_or(default_port);
    tokio::net::lookup_host((host.as_str(), port))
        .await
        .with_context(|| format!("resolving {host}"))?
        .next()
        .with_context(|| format!("{host} resolves to nothing"))
}

/// `url` with its host and port replaced by `address`.
pub(super) fn through(url: &str, address: std::net::SocketAddr) -> anyhow::Result<String> {
    let mut parsed = url::Url::parse(url).with_context(|| format!("parsing {url}"))?;
    parsed
        .set_ip_host(address.ip())
        .map_err(|()| anyhow::anyhow!("{url} cannot take a host"))?;
    parsed
        .set_port(Some(address.port()))
        .map_err(|()| anyhow::anyhow!("{url} cannot take a port"))?;
    Ok(parsed.to_string())
}

/// `url` with `pair` added to its query.
fn with_query(url: &str, pair: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{pair}")
}

/// The URL of `database` on the server of `admin_url`. With `tls`, `sslmode=require`; without,
/// no TLS: sqlx's default (`prefer`) would still encrypt every statement whenever the server
/// offers TLS — unasked, unverified, and ~10 % of Postgres's CPU in a run (docs/benchmarks.md,
/// session 44). A URL naming its own sslmode keeps it.
pub(super) fn database_url(admin_url: &str, database: &str, tls: bool) -> String {
    let url = pingan_platform::testing::replace_database(admin_url, database);
    if tls {
        with_query(&url, "sslmode=require")
    } else if url.contains("sslmode=") {
        url
    } else {
        with_query(&url, "sslmode=disable")
    }
}

#[cfg(test)]
mod tests {
    use super::database_url;

    #[test]
    fn the_database_url_says_the_tls_the_run_asked_for() {
        let admin = "postgres://postgres@127.0.0.1:5432/postgres";
        assert_eq!(
            database_url(admin, "pingan_b_1_intake", false),
            "postgres://postgres@127.0.0.1:5432/pingan_b_1_intake?sslmode=disable"
        );
        assert_eq!(
            database_url(admin, "pingan_b_1_intake", true),
            "postgres://postgres@127.0.0.1:5432/pingan_b_1_intake?sslmode=require"
        );
        let own = "postgres://postgres@db:5432/postgres?sslmode=verify-full";
        assert_eq!(
            database_url(own, "x", false),
            "postgres://postgres@db:5432/x?sslmode=verify-full"
        );
    }
}
