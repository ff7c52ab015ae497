//! A TCP relay of the harness: a round-robin balancer in front of a service's replicas (a
//! Kubernetes Service in miniature) and a proxy in front of one process's Postgres or Redis that
//! can be cut — every open connection reset, new ones reset as soon as accepted — and restored.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use anyhow::Context;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// One listening relay; dropping it stops the listener and every connection it carries.
#[derive(Debug)]
pub struct Relay {
    /// Where clients connect.
    pub address: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

#[derive(Debug)]
struct Shared {
    backends: Vec<SocketAddr>,
    next: AtomicUsize,
    cut: AtomicBool,
    /// Bumped on every cut: connection tasks watching it end (closing both sockets).
    epoch: watch::Sender<u64>,
    accepted: AtomicU64,
}

impl Relay {
    /// Listens on a loopback port of its own and forwards each connection to the next backend
    /// in turn (the following ones when a backend refuses).
    pub async fn start(backends: Vec<SocketAddr>) -> anyhow::Result<Self> {
        anyhow::ensure!(!backends.is_empty(), "a relay needs a backend");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding a relay port")?;
        let address = listener.local_addr()?;
        let (epoch, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            backends,
            next: AtomicUsize::new(0),
            cut: AtomicBool::new(false),
            epoch,
            accepted: AtomicU64::new(0),
        });
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(Self {
            address,
            shared,
            accept,
        })
    }

    /// `http://address`, for gRPC clients.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Closes every open connection and every new one until [`Relay::restore`].
    pub fn cut(&self) {
        self.shared.cut.store(true, Ordering::SeqCst);
        self.shared.epoch.send_modify(|e| *e += 1);
    }

    /// Forwards again.
    pub fn restore(&self) {
        self.shared.cut.store(false, Ordering::SeqCst);
    }

    /// True while cut.
    pub fn is_cut(&self) -> bool {
        self.shared.cut.load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.accept.abort();
        self.shared.epoch.send_modify(|e| *e += 1);
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        shared.accepted.fetch_add(1, Ordering::Relaxed);
        // Subscribed before the cut is checked: a cut landing in between still ends this
        // connection (subscribing later would take that cut's epoch as already seen).
        let mut epoch = shared.epoch.subscribe();
        if shared.cut.load(Ordering::SeqCst) {
            // Reset, as a refused connection is (not a clean close a client may misread).
            let _ = client.set_zero_linger();
            drop(client);
            continue;
        }
        let _ = client.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let Some(mut upstream) = connect_backend(&shared).await else {
                return;
            };
            let mut client = client;
            if shared.cut.load(Ordering::SeqCst) {
                let _ = client.set_zero_linger();
                return;
            }
            // The cut is polled first: bytes that arrive in the same wake-up as a cut must not
            // be forwarded (an unbiased select may poll the copy first and pass them on).
            tokio::select! {
                biased;
                _ = epoch.changed() => {
                    // Cut: both sides see their connection reset.
                    let _ = client.set_zero_linger();
                    let _ = upstream.set_zero_linger();
                }
                _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {}
            }
        });
    }
}

/// The next backend that accepts, starting at the round-robin position.
async fn connect_backend(shared: &Shared) -> Option<TcpStream> {
    let start = shared.next.fetch_add(1, Ordering::Relaxed);
    for offset in 0..shared.backends.len() {
        let backend = shared.backends[(start + offset) % shared.backends.len()];
        let attempt = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            TcpStream::connect(backend),
        )
        .await;
        if let Ok(Ok(stream)) = attempt {
            let _ = stream.set_nodelay(true);
            return Some(stream);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn echo() -> (SocketAddr, JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    while let Ok(n) = socket.read(&mut buf).await {
                        if n == 0 || socket.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        (address, task)
    }

    async fn round_trip(address: SocketAddr) -> std::io::Result<Vec<u8>> {
        let mut stream = TcpStream::connect(address).await?;
        stream.write_all(b"ping").await?;
        let mut buf = [0u8; 4];
        stream.read_exact(&mut buf).await?;
        Ok(buf.to_vec())
    }

    #[tokio::test]
    async fn forwards_cuts_and_restores() {
        let (backend, _task) = echo().await;
        let relay = Relay::start(vec![backend]).await.unwrap();
        assert_eq!(round_trip(relay.address).await.unwrap(), b"ping");
        let mut open = TcpStream::connect(relay.address).await.unwrap();
        open.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        open.read_exact(&mut buf).await.unwrap();
        relay.cut();
        // The open connection is closed, and a new one gets nothing.
        let n = tokio::time::timeout(std::time::Duration::from_secs(2), open.read(&mut buf))
            .await
            .unwrap()
            .unwrap_or(0);
        assert_eq!(n, 0);
        assert!(round_trip(relay.address).await.is_err());
        relay.restore();
        assert_eq!(round_trip(relay.address).await.unwrap(), b"ping");
    }

    /// Connections opened while the cut lands are closed by it too (none is carried through).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cut_racing_new_connections_leaves_none_open() {
        let (backend, _task) = echo().await;
        let relay = Arc::new(Relay::start(vec![backend]).await.unwrap());
        for round in 0..24u64 {
            relay.restore();
            let openers = (0..200)
                .map(|_| {
                    let address = relay.address;
                    tokio::spawn(async move { TcpStream::connect(address).await.ok() })
                })
                .collect::<Vec<_>>();
            tokio::time::sleep(std::time::Duration::from_micros(50 * (round % 8))).await;
            relay.cut();
            for opener in openers {
                let Some(mut stream) = opener.await.unwrap() else {
                    continue;
                };
                let mut buf = [0u8; 4];
                let echoed = tokio::time::timeout(std::time::Duration::from_secs(2), async {
                    stream.write_all(b"ping").await?;
                    stream.read_exact(&mut buf).await
                })
                .await;
                assert!(
                    !matches!(echoed, Ok(Ok(_))),
                    "a connection opened as the cut landed still forwards"
                );
            }
        }
    }

    #[tokio::test]
    async fn skips_a_dead_backend() {
        let (live, _task) = echo().await;
        let dead = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let relay = Relay::start(vec![dead, live]).await.unwrap();
        for _ in 0..4 {
            assert_eq!(round_trip(relay.address).await.unwrap(), b"ping");
        }
    }
}
