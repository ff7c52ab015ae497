//! The platform-wide policy for reads that show phone or ID numbers in clear: whether such a
//! caller must say why (`--clear-read-reason`). One flag for every service that reads them.

use clap::{Args, ValueEnum};

use crate::service::SettingsSpec;

/// Config-file table of the setting: `[clear-read] reason = "required"`.
pub const TABLE: &str = "clear-read";

/// Whether a clear reader must give a `reason`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ClearReadReason {
    /// Served without one; audited with the reason recorded as not given (external clients
    /// that predate the field keep working).
    #[default]
    Optional,
    /// Refused without one: INVALID_ARGUMENT naming `reason`.
    Required,
}

/// Settings of clear reads, shared by intake, grid-registry and case-followup.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Args)]
pub struct ClearReadConfig {
    /// Whether a caller who reads phone or ID numbers in clear must send a `reason`
    /// (`required`) or may omit it (`optional`: served and audited as "not given").
    #[arg(
        long = "clear-read-reason",
        env = "PINGAN_CLEAR_READ_REASON",
        value_enum,
        default_value_t = ClearReadReason::Optional
    )]
    pub clear_read_reason: ClearReadReason,
}

/// The settings every hosting process reads once and hands to each service's `ServiceConfig`.
pub fn shared_settings() -> Vec<SettingsSpec> {
    vec![SettingsSpec::of::<ClearReadConfig>(TABLE)]
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory as _, FromArgMatches as _, Parser};

    use super::*;

    #[derive(Debug, Parser)]
    struct Probe {
        #[command(flatten)]
        settings: ClearReadConfig,
    }

    fn parse(args: &[&str]) -> Result<ClearReadConfig, String> {
        let matches = Probe::command()
            .try_get_matches_from(std::iter::once("x").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        Probe::from_arg_matches(&matches)
            .map(|p| p.settings)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_reason_is_optional_by_default_and_can_be_required() {
        assert_eq!(parse(&[]).expect("defaults"), ClearReadConfig::default());
        assert_eq!(
            parse(&["--clear-read-reason", "required"])
                .expect("required")
                .clear_read_reason,
            ClearReadReason::Required
        );
        assert!(parse(&["--clear-read-reason", "sometimes"]).is_err());
    }
}
