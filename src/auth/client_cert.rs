//! What a connection's client certificate proves. The TLS layer accepts a
//! certificate that chains to either configured CA (and refuses any other
//! certificate during the handshake); this module then decides, once per
//! connection, which of the two it is:
//!
//! - signed by the request-header CA with an allowed common name: the caller is
//!   kcp-front-proxy, and only then are its `X-Remote-*` headers believed;
//! - signed by the client CA: the caller is the user the certificate names
//!   (common name = user, organizations = groups), as kube-apiserver reads it.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::ClientCertVerifier;
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;

use super::identity::UserInfo;

/// Who the client certificate of a connection says is calling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerIdentity {
    /// No client certificate.
    Anonymous,
    /// A user certificate signed by the client CA.
    User(UserInfo),
    /// kcp-front-proxy (its certificate's common name): the request headers
    /// name the user.
    FrontProxy(String),
    /// A certificate signed by the request-header CA whose name is not allowed.
    Refused(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ClientCaError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} holds no usable CA certificate")]
    NoCertificate(String),
    #[error("building a client-certificate verifier: {0}")]
    Verifier(String),
}

/// The CAs client certificates may chain to.
#[derive(Clone, Default)]
pub struct ClientCertAuthority {
    client_ca: Option<Arc<dyn ClientCertVerifier>>,
    requestheader_ca: Option<Arc<dyn ClientCertVerifier>>,
    /// Common names allowed to act as the front proxy; empty allows any
    /// certificate of the request-header CA (kube-apiserver's rule).
    allowed_names: Vec<String>,
    /// Both CAs, for the handshake.
    handshake: Option<Arc<dyn ClientCertVerifier>>,
}

/// Reads every certificate of a PEM bundle.
pub fn read_ca_pem(pem: &[u8], origin: &str) -> Result<Vec<CertificateDer<'static>>, ClientCaError> {
    let certs: Vec<_> = rustls_pemfile::certs(&mut &pem[..])
        .collect::<Result<_, _>>()
        .map_err(|source| ClientCaError::Read {
            path: origin.to_owned(),
            source,
        })?;
    if certs.is_empty() {
        return Err(ClientCaError::NoCertificate(origin.to_owned()));
    }
    Ok(certs)
}

fn verifier(
    cas: &[CertificateDer<'static>],
    origin: &str,
) -> Result<Arc<dyn ClientCertVerifier>, ClientCaError> {
    let mut roots = RootCertStore::empty();
    for ca in cas {
        roots
            .add(ca.clone())
            .map_err(|_| ClientCaError::NoCertificate(origin.to_owned()))?;
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), crate::tls::provider())
        .allow_unauthenticated()
        .build()
        .map_err(|e| ClientCaError::Verifier(e.to_string()))
}

impl ClientCertAuthority {
    /// `client_ca` and `requestheader_ca` are PEM bundles (either may be absent).
    pub fn new(
        client_ca: Option<(&[u8], &str)>,
        requestheader_ca: Option<(&[u8], &str)>,
        allowed_names: Vec<String>,
    ) -> Result<Self, ClientCaError> {
        let client = client_ca.map(|(pem, o)| read_ca_pem(pem, o)).transpose()?;
        let proxy = requestheader_ca.map(|(pem, o)| read_ca_pem(pem, o)).transpose()?;
        let all: Vec<_> = client.iter().chain(proxy.iter()).flatten().cloned().collect();
        Ok(Self {
            client_ca: client.map(|c| verifier(&c, "client CA")).transpose()?,
            requestheader_ca: proxy.map(|c| verifier(&c, "request-header CA")).transpose()?,
            allowed_names,
            handshake: if all.is_empty() {
                None
            } else {
                Some(verifier(&all, "client CAs")?)
            },
        })
    }

    /// The verifier for the TLS handshake: certificates of either CA, or none.
    pub fn handshake_verifier(&self) -> Option<Arc<dyn ClientCertVerifier>> {
        self.handshake.clone()
    }

    /// Classifies the chain the client presented (already verified by the
    /// handshake against one of the CAs).
    pub fn identify(&self, chain: Option<&[CertificateDer<'_>]>) -> PeerIdentity {
        let Some((leaf, intermediates)) = chain.and_then(|c| c.split_first()) else {
            return PeerIdentity::Anonymous;
        };
        let now = UnixTime::now();
        let chains_to = |v: &Option<Arc<dyn ClientCertVerifier>>| {
            v.as_ref()
                .is_some_and(|v| v.verify_client_cert(leaf, intermediates, now).is_ok())
        };
        let Some(subject) = Subject::of(leaf) else {
            return PeerIdentity::Refused("the client certificate's subject cannot be read".into());
        };
        if chains_to(&self.requestheader_ca) {
            if self.allowed_names.is_empty() || self.allowed_names.contains(&subject.common_name) {
                return PeerIdentity::FrontProxy(subject.common_name);
            }
            if !chains_to(&self.client_ca) {
                return PeerIdentity::Refused(format!(
                    "client certificate {:?} is signed by the request-header CA but is not an allowed name",
                    subject.common_name
                ));
            }
        }
        if chains_to(&self.client_ca) && !subject.common_name.is_empty() {
            return PeerIdentity::User(
                UserInfo::named(subject.common_name, subject.organizations).with_authenticated_group(),
            );
        }
        PeerIdentity::Refused("the client certificate names no user".into())
    }
}

/// The parts of a certificate subject Kubernetes reads.
struct Subject {
    common_name: String,
    organizations: Vec<String>,
}

impl Subject {
    fn of(der: &CertificateDer<'_>) -> Option<Self> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let subject = cert.subject();
        let common_name = subject
            .iter_common_name()
            .next()
            .and_then(|a| a.as_str().ok())
            .unwrap_or_default()
            .to_owned();
        let organizations = subject
            .iter_organization()
            .filter_map(|a| a.as_str().ok().map(str::to_owned))
            .collect();
        Some(Self {
            common_name,
            organizations,
        })
    }
}
