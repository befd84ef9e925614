//! The serving certificate: files given by the operator (reloaded when they
//! change, without a restart), or a self-signed certificate generated at
//! start for local use (its fingerprint is logged, never the key).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::danger::ClientCertVerifier;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} holds no PEM certificate")]
    NoCertificate { path: String },
    #[error("{path} holds no PEM private key")]
    NoKey { path: String },
    #[error("generating a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("the certificate and key do not form a usable TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// The crypto provider of every TLS configuration tmc-server builds (ring),
/// given explicitly so nothing depends on a process-wide default.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// Parses a PEM chain and key into a certified key; fails when the key does
/// not belong to the certificate (e.g. a rotation half written).
pub fn certified_key(cert_pem: &[u8], key_pem: &[u8], origin: &str) -> Result<CertifiedKey, TlsError> {
    let chain: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut &cert_pem[..])
        .collect::<Result<_, _>>()
        .map_err(|source| TlsError::Read {
            path: origin.to_owned(),
            source,
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: origin.to_owned(),
        });
    }
    let key = rustls_pemfile::private_key(&mut &key_pem[..])
        .map_err(|source| TlsError::Read {
            path: origin.to_owned(),
            source,
        })?
        .ok_or_else(|| TlsError::NoKey {
            path: origin.to_owned(),
        })?;
    Ok(CertifiedKey::from_der(chain, key, &provider())?)
}

/// SHA-256 of the leaf certificate, as `openssl x509 -fingerprint -sha256` prints it.
pub fn fingerprint(key: &CertifiedKey) -> String {
    let digest = Sha256::digest(key.cert.first().map(|c| c.as_ref()).unwrap_or_default());
    digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Where the serving certificate comes from.
#[derive(Clone, Debug)]
pub enum CertSource {
    /// PEM files, watched for changes.
    Files { cert: PathBuf, key: PathBuf },
    /// Generated at start for these extra names (besides localhost).
    SelfSigned { names: Vec<String> },
}

/// Hands every new TLS connection the current certificate; `reload` swaps it
/// when the files change and the new pair is whole.
#[derive(Debug)]
pub struct ServingCert {
    current: RwLock<Arc<CertifiedKey>>,
    files: Option<(PathBuf, PathBuf)>,
    /// Hash of the file contents last seen, to notice changes cheaply.
    seen: Mutex<[u8; 32]>,
}

impl ServingCert {
    pub fn load(source: &CertSource) -> Result<Self, TlsError> {
        match source {
            CertSource::Files { cert, key } => {
                let (cert_pem, key_pem) = (read(cert)?, read(key)?);
                let origin = format!("{} and {}", cert.display(), key.display());
                let certified = certified_key(&cert_pem, &key_pem, &origin)?;
                Ok(Self {
                    current: RwLock::new(Arc::new(certified)),
                    files: Some((cert.clone(), key.clone())),
                    seen: Mutex::new(contents_hash(&cert_pem, &key_pem)),
                })
            }
            CertSource::SelfSigned { names } => {
                let mut all = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
                all.extend(names.iter().cloned());
                let generated = rcgen::generate_simple_self_signed(all)?;
                let key = PrivateKeyDer::Pkcs8(generated.signing_key.serialize_der().into());
                let certified = CertifiedKey::from_der(vec![generated.cert.der().clone()], key, &provider())?;
                Ok(Self {
                    current: RwLock::new(Arc::new(certified)),
                    files: None,
                    seen: Mutex::new([0; 32]),
                })
            }
        }
    }

    /// The certificate new connections get now.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Re-reads the files; swaps the certificate when they changed and form a
    /// matching pair. `Ok(true)` when swapped. A pair that does not match yet
    /// (the cert written, the key not) is left for the next check.
    pub fn reload(&self) -> Result<bool, TlsError> {
        let Some((cert, key)) = &self.files else {
            return Ok(false);
        };
        let (cert_pem, key_pem) = (read(cert)?, read(key)?);
        let hash = contents_hash(&cert_pem, &key_pem);
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if *seen == hash {
            return Ok(false);
        }
        let certified = certified_key(&cert_pem, &key_pem, &cert.display().to_string())?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(certified);
        *seen = hash;
        Ok(true)
    }

    /// Checks the files every `interval` for as long as the server runs.
    pub async fn watch(self: Arc<Self>, interval: Duration) {
        if self.files.is_none() {
            return;
        }
        let mut last_error = String::new();
        loop {
            tokio::time::sleep(interval).await;
            match self.reload() {
                Ok(true) => {
                    last_error.clear();
                    tracing::info!(
                        sha256 = fingerprint(&self.current()),
                        "serving certificate reloaded"
                    );
                }
                Ok(false) => {}
                Err(e) => {
                    // Logged once per distinct problem: a rotation in progress
                    // passes through states that do not parse.
                    let msg = e.to_string();
                    if msg != last_error {
                        tracing::warn!(
                            error = msg,
                            "serving certificate not reloaded; keeping the current one"
                        );
                        last_error = msg;
                    }
                }
            }
        }
    }

    /// A rustls server configuration offering HTTP/2 and HTTP/1.1 with this
    /// certificate, asking for (but not requiring) a client certificate
    /// when `client_verifier` is given.
    pub fn server_config(
        self: &Arc<Self>,
        client_verifier: Option<Arc<dyn ClientCertVerifier>>,
    ) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let builder =
            rustls::ServerConfig::builder_with_provider(provider()).with_safe_default_protocol_versions()?;
        let builder = match client_verifier {
            Some(v) => builder.with_client_cert_verifier(v),
            None => builder.with_no_client_auth(),
        };
        let mut config = builder.with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for ServingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

fn contents_hash(cert: &[u8], key: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update((cert.len() as u64).to_be_bytes());
    h.update(cert);
    h.update(key);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pair(dir: &Path, names: &[&str]) -> (PathBuf, PathBuf) {
        let c = rcgen::generate_simple_self_signed(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
        let (cert, key) = (dir.join("tls.crt"), dir.join("tls.key"));
        std::fs::write(&cert, c.cert.pem()).unwrap();
        std::fs::write(&key, c.signing_key.serialize_pem()).unwrap();
        (cert, key)
    }

    #[test]
    fn reloads_a_changed_pair_and_skips_a_half_written_one() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = write_pair(dir.path(), &["a.example"]);
        let s = ServingCert::load(&CertSource::Files {
            cert: cert.clone(),
            key: key.clone(),
        })
        .unwrap();
        let first = fingerprint(&s.current());
        assert!(!s.reload().unwrap(), "unchanged files are not reloaded");

        // New certificate written, key not yet: the old pair keeps serving.
        let other = tempfile::tempdir().unwrap();
        let (new_cert, new_key) = write_pair(other.path(), &["b.example"]);
        std::fs::copy(&new_cert, &cert).unwrap();
        assert!(s.reload().is_err());
        assert_eq!(fingerprint(&s.current()), first);

        std::fs::copy(&new_key, &key).unwrap();
        assert!(s.reload().unwrap());
        assert_ne!(fingerprint(&s.current()), first);
    }

    #[test]
    fn self_signed_never_reloads() {
        let s = ServingCert::load(&CertSource::SelfSigned { names: vec![] }).unwrap();
        assert!(!s.reload().unwrap());
        assert_eq!(fingerprint(&s.current()).len(), 32 * 3 - 1);
    }
}
