//! Settings of the call limits ([`crate::limits`]), part of `[server]`.

use std::net::IpAddr;
use std::time::Duration;

use clap::Args;

use super::parse_duration;
use crate::auth::Role;
use crate::limits::LimitsConfig;
use crate::limits::rules::{FailurePolicy, Rate};

/// A per-caller rate, or none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit(pub Option<Rate>);

/// An address range (`10.0.0.0/8`, `::1/128`, or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// True when `address` lies in the range.
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, address) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(network) & mask == u32::from(address) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(network) & mask == u128::from(address) & mask
            }
            (IpAddr::V6(network), IpAddr::V4(address)) => {
                // An IPv4 client seen on a dual-stack socket.
                network.to_ipv4_mapped() == Some(address) && self.prefix == 128
            }
            (IpAddr::V4(_), IpAddr::V6(address)) => address
                .to_ipv4_mapped()
                .is_some_and(|address| self.contains(IpAddr::V4(address))),
        }
    }

    /// Parses `ADDRESS[/PREFIX]`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.trim(), None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("`{text}`: not an IP address or CIDR range"))?;
        let most = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= most)
                .ok_or_else(|| format!("`{text}`: prefix must be 0..={most}"))?,
            None => most,
        };
        Ok(Self { network, prefix })
    }
}

fn parse_rate_limit(text: &str) -> Result<RateLimit, String> {
    if text.trim().eq_ignore_ascii_case("off") {
        return Ok(RateLimit(None));
    }
    Rate::parse(text).map(|rate| RateLimit(Some(rate)))
}

fn parse_role(text: &str) -> Result<Role, String> {
    serde_json::from_value(serde_json::Value::String(text.trim().to_owned()))
        .map_err(|_| format!("unknown role `{text}`"))
}

fn parse_role_rate(text: &str) -> Result<(Role, Rate), String> {
    let (role, rate) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}`: expected role=RATE[/BURST]"))?;
    Ok((parse_role(role)?, Rate::parse(rate)?))
}

/// Rate limits and the failed-authentication block.
#[derive(Debug, Clone, Args)]
pub struct LimitsArgs {
    /// Calls per second per caller (token subject), `RATE` or `RATE/BURST`; `off` for none.
    #[arg(long = "rate-limit", env = "PINGAN_RATE_LIMIT", default_value = "100/1000", value_parser = parse_rate_limit)]
    pub rate_limit: RateLimit,
    /// Roles not limited per caller: the other services, the 110/12345 platforms (whose volume
    /// is the public's, not one person's) and administrators (bulk imports and registrations).
    #[arg(
        long = "rate-limit-exempt-roles",
        env = "PINGAN_RATE_LIMIT_EXEMPT_ROLES",
        value_delimiter = ',',
        default_value = "service,call_integrator,hotline_integrator,admin",
        value_parser = parse_role
    )]
    pub rate_limit_exempt_roles: Vec<Role>,
    /// A bucket shared by every caller of a role, `role=RATE[/BURST]`; repeat or comma-separate.
    #[arg(long = "role-rate-limit", env = "PINGAN_ROLE_RATE_LIMITS", value_delimiter = ',', value_parser = parse_role_rate)]
    pub role_rate_limits: Vec<(Role, Rate)>,
    /// Failed authentications from one address, within the window, that block it.
    #[arg(
        long = "auth-failure-limit",
        env = "PINGAN_AUTH_FAILURE_LIMIT",
        default_value_t = 5
    )]
    pub auth_failure_limit: usize,
    /// The window failed authentications are counted in.
    #[arg(long = "auth-failure-window", env = "PINGAN_AUTH_FAILURE_WINDOW", default_value = "10m", value_parser = parse_duration)]
    pub auth_failure_window: Duration,
    /// How long a blocked address may not call without a valid token.
    #[arg(long = "auth-block", env = "PINGAN_AUTH_BLOCK", default_value = "15m", value_parser = parse_duration)]
    pub auth_block: Duration,
    /// Addresses never blocked: loopback by default, where a mesh sidecar or a local probe
    /// speaks for everyone.
    #[arg(
        long = "auth-block-exempt",
        env = "PINGAN_AUTH_BLOCK_EXEMPT",
        value_delimiter = ',',
        default_value = "127.0.0.0/8,::1/128",
        value_parser = Cidr::parse
    )]
    pub auth_block_exempt: Vec<Cidr>,
}

impl Default for LimitsArgs {
    fn default() -> Self {
        let limits = LimitsConfig::default();
        Self {
            rate_limit: RateLimit(limits.per_subject),
            rate_limit_exempt_roles: limits.exempt_roles,
            role_rate_limits: limits.per_role,
            auth_failure_limit: limits.failures.limit,
            auth_failure_window: limits.failures.window,
            auth_block: limits.failures.block,
            auth_block_exempt: limits.never_blocked,
        }
    }
}

/// Loopback, IPv4 and IPv6.
pub fn loopback() -> Vec<Cidr> {
    vec![LOOPBACK_V4, LOOPBACK_V6]
}

const LOOPBACK_V4: Cidr = Cidr {
    network: IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 0)),
    prefix: 8,
};
const LOOPBACK_V6: Cidr = Cidr {
    network: IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
    prefix: 128,
};

impl LimitsArgs {
    /// The limits these settings describe.
    pub fn to_config(&self) -> LimitsConfig {
        LimitsConfig {
            per_subject: self.rate_limit.0,
            exempt_roles: self.rate_limit_exempt_roles.clone(),
            per_role: self.role_rate_limits.clone(),
            failures: FailurePolicy {
                limit: self.auth_failure_limit.max(1),
                window: self.auth_failure_window,
                block: self.auth_block,
            },
            never_blocked: self.auth_block_exempt.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_contain_their_addresses() {
        let loopback = Cidr::parse("127.0.0.0/8").expect("cidr");
        assert!(loopback.contains("127.1.2.3".parse().expect("ip")));
        assert!(!loopback.contains("10.0.0.1".parse().expect("ip")));
        assert!(loopback.contains("::ffff:127.0.0.1".parse().expect("ip")));
        let one = Cidr::parse("10.1.2.3").expect("cidr");
        assert!(one.contains("10.1.2.3".parse().expect("ip")));
        assert!(!one.contains("10.1.2.4".parse().expect("ip")));
        let all = Cidr::parse("0.0.0.0/0").expect("cidr");
        assert!(all.contains("8.8.8.8".parse().expect("ip")));
        let v6 = Cidr::parse("fd00::/8").expect("cidr");
        assert!(v6.contains("fd12::1".parse().expect("ip")));
        assert!(!v6.contains("::1".parse().expect("ip")));
        for bad in ["", "x", "10.0.0.0/33", "::/129", "1.2.3.4/-1"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn settings_parse() {
        assert_eq!(parse_rate_limit("off").expect("off"), RateLimit(None));
        assert_eq!(
            parse_role_rate("device=200/400").expect("role rate"),
            (Role::Device, Rate::new(200.0, 400.0))
        );
        assert!(parse_role_rate("nobody=1").is_err());
        assert!(parse_role("dispatcher").is_ok());
        assert_eq!(LimitsArgs::default().to_config().failures.limit, 5);
        // The defaults of the code and of the flags are one.
        let parsed = <LimitsArgs as clap::FromArgMatches>::from_arg_matches(
            &<LimitsArgs as clap::Args>::augment_args(clap::Command::new("t"))
                .try_get_matches_from(["t"])
                .expect("defaults parse"),
        )
        .expect("limits");
        assert_eq!(parsed.to_config(), LimitsArgs::default().to_config());
    }
}
