//! A certificate authority in memory: its certificate, its key, and what
//! issuing needs to know about it; and the leaf certificates it issues.

use std::net::IpAddr;
use std::path::Path;
use std::time::SystemTime;

use chrono::{DateTime, Duration, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyIdMethod, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use rustls::pki_types::CertificateDer;

use super::der::{self, CertInfo, OID_COMMON_NAME, OID_ORGANIZATION};
use super::{files, verify, PkiError};

/// How far `notBefore` is set in the past, for clocks that lag a little.
const BACKDATE: Duration = Duration::minutes(5);

/// What a leaf certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Usage {
    Server,
    Client,
}

/// A leaf certificate to issue.
#[derive(Debug, Clone)]
pub(crate) struct LeafSpec {
    pub common_name: String,
    pub organizations: Vec<String>,
    pub dns_names: Vec<String>,
    pub ips: Vec<IpAddr>,
    pub usage: Usage,
}

/// A certificate and its freshly generated key, PEM encoded.
pub(crate) struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
    pub not_after: DateTime<Utc>,
    /// The validity was cut short to end with the issuing CA's.
    pub clamped: bool,
}

/// A CA that can sign.
pub(crate) struct Authority {
    pub cert_der: CertificateDer<'static>,
    pub cert_pem: String,
    pub key: KeyPair,
    pub info: CertInfo,
}

fn random_serial() -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; 16];
    rustls::crypto::ring::default_provider()
        .secure_random
        .fill(&mut bytes)
        .map_err(|_| PkiError::Random)?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40; // positive, and always 16 bytes long
    Ok(SerialNumber::from_slice(&bytes))
}

fn generated(what: &str) -> impl FnOnce(rcgen::Error) -> PkiError + '_ {
    move |source| PkiError::Generate {
        what: what.to_owned(),
        source,
    }
}

fn pem(der: &[u8]) -> String {
    use std::fmt::Write;
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::with_capacity(der.len() * 4 / 3 + 4);
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(ALPHABET[((n >> (18 - 6 * i)) & 0x3f) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        let _ = writeln!(out, "{}", String::from_utf8_lossy(line));
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

impl Authority {
    /// A new self-signed CA named `common_name`, valid for `days`.
    pub(crate) fn generate(common_name: &str, days: u32) -> Result<Self, PkiError> {
        let what = format!("the {common_name} CA");
        let key = KeyPair::generate().map_err(generated(&what))?;
        let now = Utc::now();
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = SystemTime::from(now - BACKDATE).into();
        params.not_after = SystemTime::from(now + Duration::days(days.into())).into();
        params.serial_number = Some(random_serial()?);
        let cert = params.self_signed(&key).map_err(generated(&what))?;
        let info = CertInfo::parse(cert.der()).map_err(|e| PkiError::InvalidCertificate {
            path: common_name.into(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            cert_pem: cert.pem(),
            cert_der: cert.der().clone(),
            key,
            info,
        })
    }

    /// An existing CA from its PEM files. It must be a CA, its key must match
    /// its certificate, and it must not have expired.
    pub(crate) fn load(cert_path: &Path, key_path: &Path) -> Result<Self, PkiError> {
        let cert_bytes = files::read(cert_path)?;
        let key_bytes = files::read(key_path)?;
        let cert_der = verify::first_cert(&cert_bytes, cert_path)?;
        let key_pem = String::from_utf8(key_bytes).map_err(|_| PkiError::BadPem {
            path: key_path.to_path_buf(),
            expected: "a PEM private key",
        })?;
        let key = KeyPair::from_pem(&key_pem).map_err(|e| PkiError::UnsupportedKey {
            path: key_path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let invalid = |reason: String| PkiError::InvalidCertificate {
            path: cert_path.to_path_buf(),
            reason,
        };
        let info = CertInfo::parse(&cert_der).map_err(|e| invalid(e.to_string()))?;
        if !info.is_ca {
            return Err(invalid(
                "it is not a CA certificate (basicConstraints CA:TRUE missing)".into(),
            ));
        }
        if info.not_after <= Utc::now() {
            return Err(PkiError::CaExpired {
                path: cert_path.to_path_buf(),
                not_after: info.not_after,
            });
        }
        verify::check_pair_der(
            &cert_der,
            &rustls::pki_types::PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        )
        .map_err(|_| PkiError::KeyMismatch {
            cert: cert_path.to_path_buf(),
            key: key_path.to_path_buf(),
        })?;
        Ok(Self {
            cert_pem: pem(&cert_der),
            cert_der,
            key,
            info,
        })
    }

    /// The CA's common name, for messages.
    pub(crate) fn name(&self) -> String {
        self.info
            .subject_values(OID_COMMON_NAME)
            .first()
            .map_or_else(|| "(unnamed CA)".to_owned(), |cn| (*cn).to_owned())
    }

    /// Issues a leaf certificate with a new key, valid for `days` or until the
    /// CA expires, whichever is first, and checks it verifies against this CA
    /// with webpki before returning it.
    pub(crate) fn issue(&self, spec: &LeafSpec, days: u32) -> Result<Issued, PkiError> {
        let what = format!("the certificate for {}", spec.common_name);
        let key = KeyPair::generate().map_err(generated(&what))?;
        let now = Utc::now();
        let wanted = now + Duration::days(days.into());
        let clamped = wanted > self.info.not_after;
        let not_after = wanted.min(self.info.not_after);

        let mut params = CertificateParams::default();
        params.not_before = SystemTime::from((now - BACKDATE).max(self.info.not_before)).into();
        params.not_after = SystemTime::from(not_after).into();
        params.serial_number = Some(random_serial()?);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![match spec.usage {
            Usage::Server => ExtendedKeyUsagePurpose::ServerAuth,
            Usage::Client => ExtendedKeyUsagePurpose::ClientAuth,
        }];
        for name in &spec.dns_names {
            let ia5 = name.as_str().try_into().map_err(|_| PkiError::InvalidName {
                name: name.clone(),
                reason: "not an ASCII DNS name".into(),
            })?;
            params.subject_alt_names.push(SanType::DnsName(ia5));
        }
        params
            .subject_alt_names
            .extend(spec.ips.iter().map(|ip| SanType::IpAddress(*ip)));

        // rcgen writes the issuer from these parameters; the name is replaced
        // below by the CA's subject exactly as encoded in its certificate.
        let mut issuer_params = CertificateParams::default();
        match &self.info.subject_key_id {
            Some(id) => {
                issuer_params.key_identifier_method = KeyIdMethod::PreSpecified(id.clone());
                params.use_authority_key_identifier_extension = true;
            }
            // Without a subject key identifier on the CA, an authority key
            // identifier could only be a guess; leave it out.
            None => params.use_authority_key_identifier_extension = false,
        }
        let issuer = Issuer::new(issuer_params, &self.key);
        let draft = params.signed_by(&key, &issuer).map_err(generated(&what))?;

        let mut subject: Vec<(&[u64], &str)> = spec
            .organizations
            .iter()
            .map(|o| (OID_ORGANIZATION, o.as_str()))
            .collect();
        subject.push((OID_COMMON_NAME, spec.common_name.as_str()));
        let subject = der::encode_name(&subject);
        let cert_der = der::rewrite_names(draft.der(), Some(&self.info.subject), Some(&subject), &self.key)
            .map_err(|e| PkiError::Generate {
            what: what.clone(),
            source: match e {
                der::RewriteError::Sign(e) => e,
                der::RewriteError::Der(_) => rcgen::Error::CouldNotParseCertificate,
            },
        })?;
        let cert_der = CertificateDer::from(cert_der);

        match spec.usage {
            Usage::Server => {
                let names = spec
                    .dns_names
                    .iter()
                    .cloned()
                    .chain(spec.ips.iter().map(|ip| ip.to_string()));
                for name in names {
                    verify::verify_server_der(&self.cert_der, &cert_der, &name)?;
                }
            }
            Usage::Client => verify::verify_client_der(&self.cert_der, &cert_der)?,
        }
        Ok(Issued {
            cert_pem: pem(&cert_der),
            key_pem: key.serialize_pem(),
            not_after,
            clamped,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_matches_rcgen() {
        let ca = Authority::generate("pem-test", 1).unwrap();
        assert_eq!(pem(&ca.cert_der), ca.cert_pem);
        for len in 0..5 {
            let der = vec![0xffu8; len];
            let text = pem(&der);
            let parsed: Vec<_> = rustls_pemfile::certs(&mut text.as_bytes()).collect();
            assert_eq!(parsed.len(), 1);
            assert_eq!(parsed[0].as_ref().unwrap().as_ref(), &der[..]);
        }
    }
}
