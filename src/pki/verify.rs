//! Checks with the same code that will judge the certificates in production:
//! rustls' webpki verifiers and its key/certificate consistency check.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;

use super::PkiError;

fn failed(what: impl Into<String>) -> impl FnOnce(String) -> PkiError {
    let what = what.into();
    move |reason| PkiError::Verify { what, reason }
}

fn roots(ca: &CertificateDer<'static>) -> Result<Arc<RootCertStore>, PkiError> {
    let mut roots = RootCertStore::empty();
    roots
        .add(ca.clone())
        .map_err(|e| failed("loading the CA as a trust anchor")(e.to_string()))?;
    Ok(Arc::new(roots))
}

/// The first certificate of a PEM file's contents.
pub(crate) fn first_cert(pem: &[u8], path: &Path) -> Result<CertificateDer<'static>, PkiError> {
    rustls_pemfile::certs(&mut &pem[..])
        .next()
        .and_then(Result::ok)
        .ok_or_else(|| PkiError::BadPem {
            path: path.to_path_buf(),
            expected: "a PEM certificate",
        })
}

fn pem_cert(pem: &[u8], what: &str) -> Result<CertificateDer<'static>, PkiError> {
    first_cert(pem, Path::new(what))
}

pub(crate) fn verify_server_der(
    ca: &CertificateDer<'static>,
    cert: &CertificateDer<'static>,
    name: &str,
) -> Result<(), PkiError> {
    let what = format!("serving certificate for {name}");
    let server_name = ServerName::try_from(name.to_owned()).map_err(|e| failed(&what)(e.to_string()))?;
    let verifier = WebPkiServerVerifier::builder_with_provider(roots(ca)?, crate::tls::provider())
        .build()
        .map_err(|e| failed(&what)(e.to_string()))?;
    verifier
        .verify_server_cert(cert, &[], &server_name, &[], UnixTime::now())
        .map(|_| ())
        .map_err(|e| failed(what)(e.to_string()))
}

pub(crate) fn verify_client_der(
    ca: &CertificateDer<'static>,
    cert: &CertificateDer<'static>,
) -> Result<(), PkiError> {
    let what = "client certificate";
    let verifier = WebPkiClientVerifier::builder_with_provider(roots(ca)?, crate::tls::provider())
        .build()
        .map_err(|e| failed(what)(e.to_string()))?;
    verifier
        .verify_client_cert(cert, &[], UnixTime::now())
        .map(|_| ())
        .map_err(|e| failed(what)(e.to_string()))
}

pub(crate) fn check_pair_der(
    cert: &CertificateDer<'static>,
    key: &PrivateKeyDer<'_>,
) -> Result<(), PkiError> {
    let what = "certificate and key";
    let key = crate::tls::provider()
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(|e| failed(what)(e.to_string()))?;
    CertifiedKey::new(vec![cert.clone()], key)
        .keys_match()
        .map_err(|e| failed(what)(e.to_string()))
}

/// Verifies that `cert_pem` (its first certificate) is a valid TLS server
/// certificate for `name` (a DNS name or an IP address) issued by the CA in
/// `ca_pem`, as a rustls client would.
pub fn verify_server_cert(ca_pem: &[u8], cert_pem: &[u8], name: &str) -> Result<(), PkiError> {
    verify_server_der(
        &pem_cert(ca_pem, "CA")?,
        &pem_cert(cert_pem, "certificate")?,
        name,
    )
}

/// Verifies that `cert_pem` (its first certificate) is a valid TLS client
/// certificate issued by the CA in `ca_pem`, as a rustls server requiring
/// client certificates from that CA would.
pub fn verify_client_cert(ca_pem: &[u8], cert_pem: &[u8]) -> Result<(), PkiError> {
    verify_client_der(&pem_cert(ca_pem, "CA")?, &pem_cert(cert_pem, "certificate")?)
}

/// Checks that the private key in `key_pem` belongs to the first certificate
/// in `cert_pem`. A server reloading its certificate files should swap in the
/// new pair only when this succeeds, and keep its current pair otherwise.
pub fn check_pair(cert_pem: &[u8], key_pem: &[u8]) -> Result<(), PkiError> {
    let cert = pem_cert(cert_pem, "certificate")?;
    let key = rustls_pemfile::private_key(&mut &key_pem[..])
        .ok()
        .flatten()
        .ok_or_else(|| PkiError::BadPem {
            path: "key".into(),
            expected: "a PEM private key",
        })?;
    check_pair_der(&cert, &key)
}
