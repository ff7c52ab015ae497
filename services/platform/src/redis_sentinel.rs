//! Redis behind Sentinel: `redis+sentinel://[[user]:password@]host1:26379,host2:26379/<master>[/<db>]`
//! (`rediss+sentinel://` for TLS to the data nodes). The sentinels are asked for the primary at
//! connect time and again every second; when they name another one (a failover), the store's
//! connection moves to it.

use std::sync::{RwLock, Weak};
use std::time::Duration;

use percent_encoding::percent_decode_str;
use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use redis::{ErrorKind, RedisConnectionInfo, RedisError, RedisResult, TlsMode};

/// How often the sentinels are asked which node is the primary.
pub const FOLLOW_INTERVAL: Duration = Duration::from_secs(1);
/// Longest wait for the sentinels' answer.
const ASK_TIMEOUT: Duration = Duration::from_secs(3);

/// A parsed `redis+sentinel://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentinelUrl {
    /// Sentinel addresses as `redis://host:port` (or `rediss://`).
    pub sentinels: Vec<String>,
    /// The monitored master's name.
    pub master: String,
    /// Database number on the data nodes.
    pub db: i64,
    /// Username on the data nodes.
    pub username: Option<String>,
    /// Password on the data nodes.
    pub password: Option<String>,
    /// TLS to the sentinels and the data nodes.
    pub tls: bool,
}

fn invalid(detail: String) -> RedisError {
    RedisError::from((
        ErrorKind::InvalidClientConfig,
        "invalid sentinel URL",
        detail,
    ))
}

impl SentinelUrl {
    /// Whether `url` names sentinels rather than a Redis node.
    pub fn is_sentinel(url: &str) -> bool {
        url.starts_with("redis+sentinel://") || url.starts_with("rediss+sentinel://")
    }

    /// Parses `url` (see the module documentation). Never echoes the password in an error.
    pub fn parse(url: &str) -> RedisResult<Self> {
        let (tls, rest) = if let Some(rest) = url.strip_prefix("rediss+sentinel://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("redis+sentinel://") {
            (false, rest)
        } else {
            return Err(invalid(
                "expected redis+sentinel:// or rediss+sentinel://".into(),
            ));
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hosts) = match authority.rsplit_once('@') {
            Some((userinfo, hosts)) => (Some(userinfo), hosts),
            None => (None, authority),
        };
        let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
        let (username, password) = match userinfo {
            None => (None, None),
            Some(info) => match info.split_once(':') {
                Some((user, pass)) => (
                    Some(decode(user)).filter(|u| !u.is_empty()),
                    Some(decode(pass)),
                ),
                None => (Some(decode(info)), None),
            },
        };
        let scheme = if tls { "rediss" } else { "redis" };
        let mut sentinels = Vec::new();
        for host in hosts.split(',').map(str::trim).filter(|h| !h.is_empty()) {
            let with_port = if host
                .rsplit_once(':')
                .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
            {
                host.to_owned()
            } else {
                format!("{host}:26379")
            };
            sentinels.push(format!("{scheme}://{with_port}"));
        }
        if sentinels.is_empty() {
            return Err(invalid("no sentinel address".into()));
        }
        let mut segments = path.split('/').filter(|s| !s.is_empty());
        let master = segments
            .next()
            .map(decode)
            .ok_or_else(|| invalid("the master name is missing (…/<master>)".into()))?;
        let db = match segments.next() {
            None => 0,
            Some(db) => db
                .parse::<i64>()
                .map_err(|_| invalid(format!("database {db:?} is not a number")))?,
        };
        if segments.next().is_some() {
            return Err(invalid("expected …/<master>[/<db>]".into()));
        }
        Ok(Self {
            sentinels,
            master,
            db,
            username,
            password,
            tls,
        })
    }

    /// A client asking these sentinels for the master.
    pub fn client(&self) -> RedisResult<SentinelClient> {
        let mut redis = RedisConnectionInfo::default().set_db(self.db);
        if let Some(username) = &self.username {
            redis = redis.set_username(username);
        }
        if let Some(password) = &self.password {
            redis = redis.set_password(password);
        }
        let mut node = SentinelNodeConnectionInfo::default().set_redis_connection_info(redis);
        if self.tls {
            node = node.set_tls_mode(TlsMode::Secure);
        }
        SentinelClient::build(
            self.sentinels.clone(),
            self.master.clone(),
            Some(node),
            SentinelServerType::Master,
        )
    }
}

/// Asks the sentinels for a client of the current primary.
pub async fn primary(sentinel: &mut SentinelClient) -> RedisResult<redis::Client> {
    match tokio::time::timeout(ASK_TIMEOUT, sentinel.async_get_client()).await {
        Ok(answer) => answer,
        Err(_) => Err(RedisError::from((
            ErrorKind::Io,
            "the sentinels did not answer in time",
        ))),
    }
}

/// Follows the primary while `current` lives: every [`FOLLOW_INTERVAL`], asks the sentinels and,
/// when they name another node, replaces `current` with `connect(new client)`.
pub async fn follow<T, F, Fut>(
    current: Weak<RwLock<T>>,
    mut sentinel: SentinelClient,
    address_of: fn(&T) -> String,
    connect: F,
) where
    F: Fn(redis::Client) -> Fut,
    Fut: Future<Output = RedisResult<T>>,
{
    loop {
        tokio::time::sleep(FOLLOW_INTERVAL).await;
        let Some(shared) = current.upgrade() else {
            return;
        };
        let known = match shared.read() {
            Ok(guard) => address_of(&guard),
            Err(poisoned) => address_of(&poisoned.into_inner()),
        };
        let client = match primary(&mut sentinel).await {
            Ok(client) => client,
            Err(err) => {
                tracing::warn!(error = %err, "cannot ask the sentinels for the Redis primary");
                continue;
            }
        };
        let named = client.get_connection_info().addr().to_string();
        if named == known {
            continue;
        }
        match connect(client).await {
            Ok(next) => {
                let mut guard = match shared.write() {
                    Ok(guard) => guard,
                    Err(poisoned) => poisoned.into_inner(),
                };
                *guard = next;
                tracing::warn!(from = %known, to = %named, "Redis primary moved: connection follows");
            }
            Err(err) => {
                tracing::warn!(to = %named, error = %err, "cannot connect to the new Redis primary yet");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SentinelUrl;

    #[test]
    fn sentinel_urls_name_the_sentinels_the_master_and_the_database() {
        let url = SentinelUrl::parse("redis+sentinel://:s%40cret@a:26379,b,c:5000/pingan/2")
            .expect("parse");
        assert_eq!(
            url.sentinels,
            ["redis://a:26379", "redis://b:26379", "redis://c:5000"]
        );
        assert_eq!(url.master, "pingan");
        assert_eq!(url.db, 2);
        assert_eq!(url.username, None);
        assert_eq!(url.password.as_deref(), Some("s@cret"));
        assert!(!url.tls);
        let tls = SentinelUrl::parse("rediss+sentinel://app:pw@h1:26380/m").expect("parse");
        assert_eq!(tls.sentinels, ["rediss://h1:26380"]);
        assert_eq!(tls.username.as_deref(), Some("app"));
        assert_eq!(tls.db, 0);
        assert!(tls.tls);
    }

    #[test]
    fn bad_sentinel_urls_are_refused_without_the_password() {
        for bad in [
            "redis://a:6379",
            "redis+sentinel://:pw@/m",
            "redis+sentinel://:pw@a:26379",
            "redis+sentinel://:pw@a:26379/m/x",
            "redis+sentinel://:pw@a:26379/m/1/2",
        ] {
            let err = SentinelUrl::parse(bad).expect_err(bad);
            assert!(!err.to_string().contains("pw"), "{err}");
        }
    }
}
