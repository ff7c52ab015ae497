//! Creating and removing what a six-process run leaves on the servers: its databases (and those
//! of runs that died) and its Redis keys.

use anyhow::Context;
use sqlx::Connection as _;

use super::DATABASE_PREFIX;

pub(super) async fn connect_admin(url: &str) -> anyhow::Result<sqlx::PgConnection> {
    sqlx::PgConnection::connect(url)
        .await
        .with_context(|| format!("connecting to Postgres at {url} (the six-process rows need it)"))
}

pub(super) async fn drop_databases(admin_url: &str, databases: &[String]) -> anyhow::Result<()> {
    if databases.is_empty() {
        return Ok(());
    }
    let mut admin = connect_admin(admin_url).await?;
    for database in databases {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await
        .with_context(|| format!("dropping database {database}"))?;
    }
    let _ = admin.close().await;
    Ok(())
}

/// Drops bench databases left behind by runs that died more than an hour ago.
pub(super) async fn drop_stale_databases(admin: &mut sqlx::PgConnection) {
    let list = format!(
        "SELECT datname FROM pg_database WHERE datname LIKE '{}%'",
        DATABASE_PREFIX.replace('_', "\\_")
    );
    let Ok(names) = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(list))
        .fetch_all(&mut *admin)
        .await
    else {
        return;
    };
    let now = chrono::Utc::now().timestamp();
    for name in names {
        let created = name
            .trim_start_matches(DATABASE_PREFIX)
            .split('_')
            .next()
            .and_then(|secs| secs.parse::<i64>().ok());
        if created.is_some_and(|secs| now - secs > 3600) {
            let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            let _ = sqlx::query(sqlx::AssertSqlSafe(drop))
                .execute(&mut *admin)
                .await;
        }
    }
}

/// Deletes every key under `prefix`.
pub(super) async fn delete_keys(url: &str, prefix: &str) -> anyhow::Result<()> {
    let client = redis::Client::open(url).context("redis url")?;
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .with_context(|| format!("connecting to redis at {url}"))?;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut connection)
        .await
        .context("KEYS")?;
    for chunk in keys.chunks(1000) {
        let _: i64 = redis::cmd("DEL")
            .arg(chunk)
            .query_async(&mut connection)
            .await
            .context("DEL")?;
    }
    Ok(())
}
