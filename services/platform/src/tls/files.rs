//! PEM files, and a value rebuilt from them whenever one changes (mtime polling and SIGHUP).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::{Duration, SystemTime};

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::TlsError;

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|err| TlsError::File {
        path: path.to_owned(),
        message: err.to_string(),
    })
}

/// The certificates of a PEM file (a chain, or a CA bundle); an error when there are none.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| TlsError::File {
            path: path.to_owned(),
            message: format!("not PEM certificates: {err}"),
        })?;
    if certs.is_empty() {
        return Err(TlsError::File {
            path: path.to_owned(),
            message: "no CERTIFICATE block".into(),
        });
    }
    Ok(certs)
}

/// The private key of a PEM file (PKCS#8, PKCS#1 or SEC1).
pub(crate) fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|err| TlsError::File {
        path: path.to_owned(),
        message: format!("no usable private key: {err}"),
    })
}

/// The trust anchors of a CA bundle.
pub(crate) fn load_roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs(path)? {
        roots.add(cert).map_err(|err| TlsError::File {
            path: path.to_owned(),
            message: format!("not a CA certificate: {err}"),
        })?;
    }
    Ok(roots)
}

/// What tells a file changed: its modification time and length.
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    // `metadata` follows symlinks: a Kubernetes secret volume swaps a symlink on update.
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

type Loader<T> = Box<dyn Fn() -> Result<T, TlsError> + Send + Sync>;

/// A value built from files (a rustls config), rebuilt when one of them changes; a rebuild that
/// fails (a half-written pair) keeps the previous value and is tried again at the next check.
pub struct Reloading<T> {
    current: RwLock<Arc<T>>,
    paths: Vec<PathBuf>,
    stamps: Mutex<Vec<Stamp>>,
    load: Loader<T>,
    what: &'static str,
}

impl<T> std::fmt::Debug for Reloading<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloading")
            .field("what", &self.what)
            .field("paths", &self.paths)
            .finish()
    }
}

impl<T: Send + Sync + 'static> Reloading<T> {
    /// Builds the value once from `paths` with `load`; an error when that fails.
    pub fn new(
        what: &'static str,
        paths: Vec<PathBuf>,
        load: impl Fn() -> Result<T, TlsError> + Send + Sync + 'static,
    ) -> Result<Arc<Self>, TlsError> {
        let stamps = paths.iter().map(|p| stamp(p)).collect();
        let value = load()?;
        Ok(Arc::new(Self {
            current: RwLock::new(Arc::new(value)),
            paths,
            stamps: Mutex::new(stamps),
            load: Box::new(load),
            what,
        }))
    }

    /// The value as of the last successful load.
    pub fn current(&self) -> Arc<T> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Rebuilds the value when a file changed (or when `force`); true when it was replaced.
    pub fn reload_if_changed(&self, force: bool) -> bool {
        let fresh: Vec<Stamp> = self.paths.iter().map(|p| stamp(p)).collect();
        let mut stamps = self.stamps.lock().unwrap_or_else(PoisonError::into_inner);
        if !force && *stamps == fresh {
            return false;
        }
        match (self.load)() {
            Ok(value) => {
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(value);
                *stamps = fresh;
                tracing::info!(what = self.what, files = ?self.paths, "tls files reloaded");
                true
            }
            Err(err) => {
                tracing::warn!(what = self.what, error = %err, "tls files changed but cannot be loaded: keeping the previous ones");
                false
            }
        }
    }

    /// Checks the files every `interval` and on SIGHUP, while anything holds the value.
    pub fn watch(self: &Arc<Self>, interval: Duration) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(
                what = self.what,
                "no runtime: tls files are not watched for changes"
            );
            return;
        };
        let weak: Weak<Self> = Arc::downgrade(self);
        runtime.spawn(async move {
            #[cfg(unix)]
            let mut hangup =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
            loop {
                #[cfg(unix)]
                let forced = tokio::select! {
                    () = tokio::time::sleep(interval) => false,
                    Some(()) = async {
                        match hangup.as_mut() {
                            Some(signal) => signal.recv().await,
                            None => std::future::pending().await,
                        }
                    } => true,
                };
                #[cfg(not(unix))]
                let forced = {
                    tokio::time::sleep(interval).await;
                    false
                };
                let Some(this) = weak.upgrade() else { break };
                this.reload_if_changed(forced);
            }
        });
    }
}
