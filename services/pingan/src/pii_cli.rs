//! `pingan pii`: operations on stored personal data. `reencrypt` moves every encrypted phone
//! and ID number of one service's database to the current PII encryption key, after a key
//! rotation (new key first in `PINGAN_PII_ENCRYPTION_KEYS`, old keys kept until it ran);
//! `reindex` recomputes the blind indexes after `PINGAN_PII_INDEX_KEY` changed.

use anyhow::Context as _;
use clap::{Args, Subcommand};
use pingan_platform::config::PiiConfig;
use pingan_platform::pii::PiiKeys;
use pingan_platform::pii::reencrypt::{ColumnReport, reencrypt_all};
use pingan_platform::pii::reindex::{IndexReport, reindex_all};
use pingan_platform::storage::{Db, PoolSettings};

/// Operations on stored personal data.
#[derive(Debug, Subcommand)]
pub enum PiiCommand {
    /// Re-encrypt every stored phone and ID number of a service's database under the current
    /// key (columns `*_enc` / `*_sealed`); safe to run while the service serves, and again.
    Reencrypt(ReencryptArgs),
    /// Recompute every blind index (`*_index` / `*_hash` beside an encrypted column) under the
    /// current index key, after the index key was rotated; run it right after the services
    /// restarted with the new key (lookups miss rows not yet recomputed). Safe to run again.
    Reindex(ReencryptArgs),
}

/// `pingan pii reencrypt`.
#[derive(Debug, Args)]
pub struct ReencryptArgs {
    /// The service's database (`postgres://…` or `sqlite://…`).
    #[arg(long, env = "PINGAN_DATABASE_URL")]
    pub database_url: String,
    /// The same PII keys the service runs with.
    #[command(flatten)]
    pub pii: PiiConfig,
}

/// Runs a `pingan pii` command; fails when a value no configured key opens was found.
pub async fn run(command: PiiCommand) -> anyhow::Result<()> {
    let (args, reindex) = match command {
        PiiCommand::Reencrypt(args) => (args, false),
        PiiCommand::Reindex(args) => (args, true),
    };
    for warning in pingan_platform::config::secrets::secret_warnings(
        &pingan_platform::config::AuthConfig::default(),
        &args.pii,
    ) {
        eprintln!("warning: {warning}");
    }
    let keys: PiiKeys = args.pii.keys()?.context(
        "no PII key is configured (PINGAN_PII_ENCRYPTION_KEYS and PINGAN_PII_INDEX_KEY)",
    )?;
    let db = Db::connect(&args.database_url, &PoolSettings::default())
        .await
        .context("connecting to the database")?;
    let (text, unreadable) = if reindex {
        let reports = reindex_all(&db, &keys).await;
        db.close().await;
        let reports = reports?;
        let unreadable: u64 = reports.iter().map(|r| r.unreadable).sum();
        (index_table(&reports), unreadable)
    } else {
        let reports = reencrypt_all(&db, &keys).await;
        db.close().await;
        let reports = reports?;
        let unreadable: u64 = reports.iter().map(|r| r.unreadable).sum();
        (table(keys.current_key_id(), &reports), unreadable)
    };
    print!("{text}");
    if unreadable > 0 {
        anyhow::bail!(
            "{unreadable} value(s) open with no configured key: they were left as they are"
        );
    }
    Ok(())
}

/// The re-index reports as a text table.
pub fn index_table(reports: &[IndexReport]) -> String {
    let mut out = String::from("table.column\tscanned\trewritten\tcurrent\traced\tunreadable\n");
    for r in reports {
        out.push_str(&format!(
            "{}.{}\t{}\t{}\t{}\t{}\t{}\n",
            r.table, r.column, r.scanned, r.rewritten, r.current, r.raced, r.unreadable
        ));
    }
    out
}

/// The reports as a text table.
pub fn table(current: &str, reports: &[ColumnReport]) -> String {
    let mut out = format!("current key: {current}\n");
    out.push_str("table.column\tscanned\tmoved\tcurrent\traced\tunreadable\n");
    for r in reports {
        out.push_str(&format!(
            "{}.{}\t{}\t{}\t{}\t{}\t{}\n",
            r.table, r.column, r.scanned, r.moved, r.current, r.raced, r.unreadable
        ));
    }
    out
}
