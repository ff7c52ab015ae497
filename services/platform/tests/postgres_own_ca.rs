//! Postgres over TLS with a CA of our own, as a bureau runs it: a private Postgres server (the
//! machine's own binaries, a temporary cluster) whose certificate `pingan certs dev`'s code
//! issued, that refuses plaintext; the platform's pool connects with `sslmode=verify-full`,
//! migrates and writes over TLS, and refuses a server its CA did not sign.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pingan_platform::storage::{Db, PoolSettings};
use pingan_platform::testing::unique_name;
use pingan_platform::tls::certs;
use sqlx::Connection as _;
use sqlx::postgres::PgConnection;

/// The directory of Postgres's server programs (`initdb`, `postgres`).
fn postgres_bindir() -> PathBuf {
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output()
        && output.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if dir.join("initdb").exists() {
            return dir;
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("Postgres server programs: neither pg_config nor /usr/lib/postgresql")
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("no initdb under /usr/lib/postgresql/*/bin")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// `program args…`, as the `postgres` user when we are root (Postgres refuses to run as root).
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn chown_to_postgres(path: &Path) {
    if is_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(path)
            .status()
            .expect("chown");
        assert!(status.success(), "chown {}", path.display());
    }
}

/// A private Postgres serving TLS only, stopped and removed on drop.
struct TlsPostgres {
    child: Child,
    dir: PathBuf,
    port: u16,
    ca: PathBuf,
}

impl TlsPostgres {
    fn start() -> Self {
        let dir = std::env::temp_dir().join(unique_name("pingan_pg_own_ca"));
        let tls = dir.join("tls");
        certs::generate(&tls, &["postgres".to_owned()], &[]).expect("certificates");
        let data = dir.join("data");
        std::fs::create_dir_all(&data).expect("data dir");
        chown_to_postgres(&dir);
        let bindir = postgres_bindir();
        let initdb = as_postgres(&bindir.join("initdb"))
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data)
            .stdout(Stdio::null())
            .output()
            .expect("initdb");
        assert!(
            initdb.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&initdb.stderr)
        );
        // TLS only: a plaintext TCP connection is rejected by the server, not by the client.
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n",
        )
        .expect("pg_hba.conf");
        chown_to_postgres(&data);
        let port = free_port();
        let log = std::fs::File::create(dir.join("postgres.log")).expect("log");
        let child = as_postgres(&bindir.join("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", dir.display()))
            .args(["-c", "ssl=on", "-c", "fsync=off"])
            .arg("-c")
            .arg(format!(
                "ssl_cert_file={}",
                certs::server_cert(&tls, "postgres").display()
            ))
            .arg("-c")
            .arg(format!(
                "ssl_key_file={}",
                certs::server_key(&tls, "postgres").display()
            ))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting postgres");
        Self {
            child,
            port,
            ca: certs::ca_cert(&tls),
            dir,
        }
    }

    fn url(&self, host: &str, query: &str) -> String {
        format!("postgres://postgres@{host}:{}/postgres?{query}", self.port)
    }

    fn verify_full(&self, host: &str, ca: &Path) -> String {
        self.url(
            host,
            &format!("sslmode=verify-full&sslrootcert={}", ca.display()),
        )
    }

    /// Waits until the server accepts a verified TLS connection.
    async fn ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if PgConnection::connect(&self.verify_full("127.0.0.1", &self.ca))
                .await
                .is_ok()
            {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "postgres exited ({status}): {}",
                    std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "postgres did not accept TLS within 30 s: {}",
                std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        // SIGINT is postgres's fast shutdown (the cluster is thrown away); sent to the postmaster
        // itself, as `runuser` does not pass signals on.
        let postmaster = std::fs::read_to_string(self.dir.join("data").join("postmaster.pid"))
            .ok()
            .and_then(|text| text.lines().next().map(str::trim).map(str::to_owned));
        if let Some(pid) = postmaster {
            let _ = Command::new("kill").args(["-INT", &pid]).status();
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn settings() -> PoolSettings {
    PoolSettings {
        max_connections: 2,
        acquire_timeout: Duration::from_secs(5),
        ..PoolSettings::default()
    }
}

#[tokio::test]
async fn the_pool_speaks_verified_tls_to_a_postgres_of_our_own_ca() {
    let mut server = TlsPostgres::start();
    server.ready().await;

    // The platform's pool (what every service opens) with verify-full: migrate-like DDL, a
    // write and a read, all over an encrypted connection.
    let db = Db::connect(&server.verify_full("127.0.0.1", &server.ca), &settings())
        .await
        .expect("verify-full through the platform pool");
    let Db::Postgres(pool) = &db else {
        panic!("a postgres:// URL opened another backend");
    };
    sqlx::query("CREATE TABLE calls (id TEXT PRIMARY KEY)")
        .execute(pool)
        .await
        .expect("create");
    sqlx::query("INSERT INTO calls (id) VALUES ('c-1')")
        .execute(pool)
        .await
        .expect("insert");
    let (encrypted, count): (bool, i64) = sqlx::query_as(
        "SELECT (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), (SELECT count(*) FROM calls)",
    )
    .fetch_one(pool)
    .await
    .expect("pg_stat_ssl");
    assert!(encrypted, "verify-full gave a plaintext connection");
    assert_eq!(count, 1);

    // The name is checked too: `localhost` is in the certificate, so it passes.
    PgConnection::connect(&server.verify_full("localhost", &server.ca))
        .await
        .expect("localhost is a name of the certificate");

    // The server refuses plaintext (pg_hba `hostnossl … reject`), so a downgrade cannot happen.
    let plaintext = PgConnection::connect(&server.url("127.0.0.1", "sslmode=disable")).await;
    assert!(plaintext.is_err(), "the server accepted plaintext");

    // A CA that did not sign the server's certificate: refused at the handshake.
    let foreign = std::env::temp_dir().join(unique_name("pg_foreign_ca"));
    certs::generate(&foreign, &[], &[]).expect("a foreign CA");
    let refused = Db::connect(
        &server.verify_full("127.0.0.1", &certs::ca_cert(&foreign)),
        &settings(),
    )
    .await;
    assert!(refused.is_err(), "verify-full trusted a foreign CA");
    let _ = std::fs::remove_dir_all(&foreign);
}
