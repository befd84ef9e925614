//! A complete local PKI for tmc-server and the kcp-front-proxy in front of it,
//! in one directory (the `tmc-certs` command is a thin layer over [`Pki`]):
//!
//! | files | what | used by |
//! | --- | --- | --- |
//! | `serving-ca.crt/.key` | CA of the serving certificate | clients trust the `.crt` (kcp-front-proxy `backend_server_ca`, kubeconfigs) |
//! | `serving.crt/.key` | tmc-server's TLS certificate (serverAuth) | `--tls-cert-file`, `--tls-private-key-file` |
//! | `client-ca.crt/.key` | CA of users' client certificates | `--client-ca-file` |
//! | `requestheader-ca.crt/.key` | CA of the front-proxy's client certificate | `--requestheader-client-ca-file` |
//! | `front-proxy-client.crt/.key` | kcp-front-proxy → tmc-server (clientAuth, CN=kcp-front-proxy) | `proxy_client_cert`, `proxy_client_key`; CN in `--requestheader-allowed-names` |
//! | `admin.crt/.key` | CN=tmc-admin, O=system:masters (clientAuth) | an administrator's kubeconfig |
//! | `<user>.crt/.key` | CN=user, O=each group (clientAuth), on demand | that user's kubeconfig |
//!
//! Existing CAs are reused, never silently replaced (`force` regenerates
//! them); leaf certificates are issued anew on every run. Keys are ECDSA
//! P-256, PKCS#8, written with mode 0600. Every certificate is verified with
//! rustls/webpki against its CA before it is written. Files are replaced
//! atomically, key before certificate (`files.rs` explains why that order),
//! so a reloading server checks the pair with [`check_pair`] before using it.
//!
//! Nothing here prints; operations return a [`Report`] of what they did.

mod authority;
mod der;
mod files;
mod verify;

#[cfg(test)]
mod tests;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use authority::{Authority, Issued, LeafSpec, Usage};
pub use files::{CERT_MODE, KEY_MODE};
pub use verify::{check_pair, verify_client_cert, verify_server_cert};

/// File stem of the serving CA (`serving-ca.crt`, `serving-ca.key`).
pub const SERVING_CA: &str = "serving-ca";
/// File stem of the client CA.
pub const CLIENT_CA: &str = "client-ca";
/// File stem of the request-header CA.
pub const REQUESTHEADER_CA: &str = "requestheader-ca";
/// File stem of tmc-server's serving certificate.
pub const SERVING: &str = "serving";
/// File stem of the kcp-front-proxy's client certificate.
pub const FRONT_PROXY_CLIENT: &str = "front-proxy-client";
/// File stem of the administrator's client certificate.
pub const ADMIN: &str = "admin";
/// Stems a user certificate may not take.
pub const RESERVED_STEMS: [&str; 6] = [
    SERVING_CA,
    CLIENT_CA,
    REQUESTHEADER_CA,
    SERVING,
    FRONT_PROXY_CLIENT,
    ADMIN,
];

/// Default common name of the front-proxy's client certificate.
pub const DEFAULT_FRONT_PROXY_NAME: &str = "kcp-front-proxy";
/// User name of the administrator certificate.
pub const ADMIN_USER: &str = "tmc-admin";
/// Group of the administrator certificate.
pub const ADMIN_GROUP: &str = "system:masters";
/// Default validity of a CA, in days (10 years).
pub const DEFAULT_CA_DAYS: u32 = 3650;
/// Default validity of a leaf certificate, in days (1 year).
pub const DEFAULT_LEAF_DAYS: u32 = 365;
/// Longest validity accepted, in days.
pub const MAX_DAYS: u32 = 36_500;

/// Everything that can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("generating {what}: {source}")]
    Generate {
        what: String,
        #[source]
        source: rcgen::Error,
    },
    #[error("reading random bytes from the system failed")]
    Random,
    #[error("{path} does not hold {expected}")]
    BadPem { path: PathBuf, expected: &'static str },
    #[error("{path}: {reason}")]
    InvalidCertificate { path: PathBuf, reason: String },
    #[error(
        "{path}: cannot sign with this key ({reason}); keys must be unencrypted PKCS#8 \
         (convert with `openssl pkcs8 -topk8 -nocrypt`)"
    )]
    UnsupportedKey { path: PathBuf, reason: String },
    #[error("{key} is not the private key of {cert}")]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    #[error("{path} expired on {not_after}; regenerate the CAs with --force")]
    CaExpired { path: PathBuf, not_after: DateTime<Utc> },
    #[error(
        "{present} exists but {missing} does not; refusing to replace half a CA \
         (restore the missing file, or regenerate everything with --force)"
    )]
    PartialCa { present: PathBuf, missing: PathBuf },
    #[error("{path} does not exist; run `tmc-certs init --dir {dir}` first", dir = .path.parent().unwrap_or(Path::new(".")).display())]
    NotInitialized { path: PathBuf },
    #[error("invalid name {name:?}: {reason}")]
    InvalidName { name: String, reason: String },
    #[error("validity of {0} days is out of range (1..={MAX_DAYS})")]
    InvalidDays(u32),
    #[error("{what} does not verify: {reason}")]
    Verify { what: String, reason: String },
    #[error("{key} was replaced but {cert} was not, so they do not match; run the command again ({source})")]
    HalfWritten {
        key: PathBuf,
        cert: PathBuf,
        #[source]
        source: Box<PkiError>,
    },
}

/// The DNS names and IP addresses of a serving certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServingNames {
    pub dns: Vec<String>,
    pub ips: Vec<IpAddr>,
}

impl ServingNames {
    /// The names always present: `localhost`, `127.0.0.1`, `::1`.
    pub fn defaults() -> Self {
        Self {
            dns: vec!["localhost".to_owned()],
            ips: vec![IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)],
        }
    }

    /// The defaults followed by these names, without duplicates. A "DNS name"
    /// that parses as an IP address is taken as one.
    pub fn with_defaults(&self) -> Self {
        let mut out = Self::defaults();
        for name in &self.dns {
            match name.parse::<IpAddr>() {
                Ok(ip) => out.ips.push(ip),
                Err(_) => out.dns.push(name.to_ascii_lowercase()),
            }
        }
        out.ips.extend(self.ips.iter().copied());
        let mut seen = std::collections::HashSet::new();
        out.dns.retain(|d| seen.insert(d.clone()));
        let mut seen = std::collections::HashSet::new();
        out.ips.retain(|ip| seen.insert(*ip));
        out
    }

    fn validate(&self) -> Result<(), PkiError> {
        self.dns.iter().try_for_each(|name| validate_dns_name(name))
    }
}

fn validate_dns_name(name: &str) -> Result<(), PkiError> {
    let invalid = |reason: &str| {
        Err(PkiError::InvalidName {
            name: name.to_owned(),
            reason: reason.to_owned(),
        })
    };
    if name.is_empty() || name.len() > 253 {
        return invalid("a DNS name has 1 to 253 characters");
    }
    let labels = name.strip_prefix("*.").unwrap_or(name);
    for label in labels.split('.') {
        if label.is_empty() || label.len() > 63 {
            return invalid("every label of a DNS name has 1 to 63 characters");
        }
        if !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return invalid("a DNS name holds only letters, digits, '-' and '.' (and may start with '*.')");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return invalid("a DNS label does not start or end with '-'");
        }
    }
    Ok(())
}

/// Checks a user name for use as a certificate subject and a file stem.
fn validate_user(user: &str) -> Result<(), PkiError> {
    let invalid = |reason: &str| {
        Err(PkiError::InvalidName {
            name: user.to_owned(),
            reason: reason.to_owned(),
        })
    };
    if user.is_empty() || user.len() > 200 {
        return invalid("a user name has 1 to 200 characters");
    }
    if !user
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._@:+=-".contains(&b))
    {
        return invalid("a user name holds only letters, digits and . _ @ : + = - (it names the files)");
    }
    if user.starts_with('.') || user.starts_with('-') {
        return invalid("a user name does not start with '.' or '-'");
    }
    if RESERVED_STEMS.contains(&user) {
        return invalid("that name belongs to a file tmc-certs init writes");
    }
    Ok(())
}

fn validate_text(kind: &str, value: &str) -> Result<(), PkiError> {
    if value.trim().is_empty() || value.chars().any(char::is_control) {
        return Err(PkiError::InvalidName {
            name: value.to_owned(),
            reason: format!("a {kind} is not empty and holds no control characters"),
        });
    }
    Ok(())
}

/// What `init` does.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// Names of the serving certificate besides the defaults.
    pub serving: ServingNames,
    /// Common name of the front-proxy's client certificate.
    pub front_proxy_name: String,
    /// Regenerate the CAs even if they exist.
    pub force: bool,
}

impl Default for InitOptions {
    fn default() -> Self {
        Self {
            serving: ServingNames::default(),
            front_proxy_name: DEFAULT_FRONT_PROXY_NAME.to_owned(),
            force: false,
        }
    }
}

/// What happened to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Written where no file was.
    Created,
    /// Written over an existing file.
    Replaced,
    /// An existing file kept as it is.
    Reused,
}

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Certificate,
    PrivateKey,
}

/// One file an operation wrote or reused.
#[derive(Debug, Clone)]
pub struct FileEvent {
    pub path: PathBuf,
    pub action: Action,
    pub kind: FileKind,
    /// What the certificate is, e.g. `CA "tmc-serving-ca@…"` or `client certificate CN=alice, O=team-a`.
    pub subject: String,
    pub not_after: DateTime<Utc>,
}

impl fmt::Display for FileEvent {
    /// One line; never the contents of a key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let action = match self.action {
            Action::Created => "created ",
            Action::Replaced => "replaced",
            Action::Reused => "reused  ",
        };
        match self.kind {
            FileKind::Certificate => write!(
                f,
                "{action} {}  {}, valid until {}",
                self.path.display(),
                self.subject,
                self.not_after.format("%Y-%m-%d")
            ),
            FileKind::PrivateKey => {
                let cert = self.path.with_extension("crt");
                let cert = cert.file_name().unwrap_or_default().to_string_lossy();
                write!(f, "{action} {}  private key of {cert}", self.path.display())?;
                if self.action != Action::Reused {
                    write!(f, " (mode {KEY_MODE:04o})")?;
                }
                Ok(())
            }
        }
    }
}

/// What an operation did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub files: Vec<FileEvent>,
    /// Things the operator should act on (a replaced CA, a loose key mode, …).
    pub warnings: Vec<String>,
}

/// A PKI rooted in one directory.
#[derive(Debug, Clone)]
pub struct Pki {
    dir: PathBuf,
    ca_days: u32,
    leaf_days: u32,
}

impl Pki {
    /// A PKI in `dir` (created with mode 0700 when first written), with the
    /// default validities.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            ca_days: DEFAULT_CA_DAYS,
            leaf_days: DEFAULT_LEAF_DAYS,
        }
    }

    /// Validity of CAs generated from now on, in days.
    pub fn with_ca_days(mut self, days: u32) -> Self {
        self.ca_days = days;
        self
    }

    /// Validity of leaf certificates issued from now on, in days (cut short to
    /// the issuing CA's expiry).
    pub fn with_leaf_days(mut self, days: u32) -> Self {
        self.leaf_days = days;
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `<dir>/<stem>.crt`.
    pub fn cert_path(&self, stem: &str) -> PathBuf {
        self.dir.join(format!("{stem}.crt"))
    }

    /// `<dir>/<stem>.key`.
    pub fn key_path(&self, stem: &str) -> PathBuf {
        self.dir.join(format!("{stem}.key"))
    }

    fn check_days(&self) -> Result<(), PkiError> {
        for days in [self.ca_days, self.leaf_days] {
            if !(1..=MAX_DAYS).contains(&days) {
                return Err(PkiError::InvalidDays(days));
            }
        }
        Ok(())
    }

    /// Creates (or completes) the PKI: the three CAs, reused when they exist
    /// unless `force`; then the serving, front-proxy client and admin
    /// certificates, always issued anew (the serving certificate for the
    /// defaults and exactly `options.serving`).
    pub fn init(&self, options: &InitOptions) -> Result<Report, PkiError> {
        self.check_days()?;
        options.serving.validate()?;
        validate_text("front-proxy name", &options.front_proxy_name)?;
        files::ensure_dir(&self.dir)?;
        let mut report = Report::default();
        let serving_ca = self.ensure_ca(SERVING_CA, "tmc-serving-ca", options.force, &mut report)?;
        let client_ca = self.ensure_ca(CLIENT_CA, "tmc-client-ca", options.force, &mut report)?;
        let requestheader_ca = self.ensure_ca(
            REQUESTHEADER_CA,
            "tmc-requestheader-ca",
            options.force,
            &mut report,
        )?;

        self.write_leaf(
            SERVING,
            &serving_ca,
            serving_spec(&options.serving.with_defaults()),
            &mut report,
        )?;
        let front_proxy = LeafSpec {
            common_name: options.front_proxy_name.clone(),
            organizations: Vec::new(),
            dns_names: Vec::new(),
            ips: Vec::new(),
            usage: Usage::Client,
        };
        self.write_leaf(FRONT_PROXY_CLIENT, &requestheader_ca, front_proxy, &mut report)?;
        let admin = client_spec(ADMIN_USER, &[ADMIN_GROUP.to_owned()]);
        self.write_leaf(ADMIN, &client_ca, admin, &mut report)?;
        Ok(report)
    }

    /// Issues a client certificate for `user` in `groups` (CN=user, one O per
    /// group), signed by the existing client CA, as `<user>.crt/.key`.
    pub fn issue_user(&self, user: &str, groups: &[String]) -> Result<Report, PkiError> {
        self.check_days()?;
        validate_user(user)?;
        groups.iter().try_for_each(|g| validate_text("group", g))?;
        let client_ca = self.load_ca(CLIENT_CA)?;
        let mut report = Report::default();
        self.write_leaf(user, &client_ca, client_spec(user, groups), &mut report)?;
        Ok(report)
    }

    /// Issues a new serving certificate and key from the existing serving CA
    /// and replaces `serving.key` then `serving.crt` atomically. With `names`,
    /// the certificate is for those names plus the defaults; without, for the
    /// names of the current `serving.crt` (or only the defaults).
    pub fn rotate_serving(&self, names: Option<&ServingNames>) -> Result<Report, PkiError> {
        self.check_days()?;
        let names = match names {
            Some(names) => {
                names.validate()?;
                names.with_defaults()
            }
            None if files::exists(&self.cert_path(SERVING)) => self.serving_names()?.with_defaults(),
            None => ServingNames::defaults(),
        };
        let serving_ca = self.load_ca(SERVING_CA)?;
        let mut report = Report::default();
        self.write_leaf(SERVING, &serving_ca, serving_spec(&names), &mut report)?;
        Ok(report)
    }

    /// The DNS names and IP addresses of the current `serving.crt`.
    pub fn serving_names(&self) -> Result<ServingNames, PkiError> {
        let path = self.cert_path(SERVING);
        let cert = verify::first_cert(&files::read(&path)?, &path)?;
        let info = der::CertInfo::parse(&cert).map_err(|e| PkiError::InvalidCertificate {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        Ok(ServingNames {
            dns: info.dns_names,
            ips: info.ips,
        })
    }

    fn load_ca(&self, stem: &str) -> Result<Authority, PkiError> {
        let (cert, key) = (self.cert_path(stem), self.key_path(stem));
        for path in [&cert, &key] {
            if !files::exists(path) {
                return Err(PkiError::NotInitialized { path: path.clone() });
            }
        }
        Authority::load(&cert, &key)
    }

    fn ensure_ca(
        &self,
        stem: &str,
        name: &str,
        force: bool,
        report: &mut Report,
    ) -> Result<Authority, PkiError> {
        let (cert, key) = (self.cert_path(stem), self.key_path(stem));
        let (has_cert, has_key) = (files::exists(&cert), files::exists(&key));
        if !force && has_cert && has_key {
            let ca = Authority::load(&cert, &key)?;
            let subject = format!("CA {:?}", ca.name());
            report.push(
                &key,
                Action::Reused,
                FileKind::PrivateKey,
                &subject,
                ca.info.not_after,
            );
            report.push(
                &cert,
                Action::Reused,
                FileKind::Certificate,
                &subject,
                ca.info.not_after,
            );
            let mode = files::mode(&key)?;
            if mode & 0o077 != 0 {
                report.warnings.push(format!(
                    "{} is readable by others (mode {mode:o}); run: chmod 600 {}",
                    key.display(),
                    key.display()
                ));
            }
            return Ok(ca);
        }
        if !force && has_cert != has_key {
            let (present, missing) = if has_cert { (cert, key) } else { (key, cert) };
            return Err(PkiError::PartialCa { present, missing });
        }
        let ca = Authority::generate(&format!("{name}@{}", Utc::now().timestamp()), self.ca_days)?;
        files::write_pair(
            &key,
            ca.key.serialize_pem().as_bytes(),
            &cert,
            ca.cert_pem.as_bytes(),
        )?;
        let subject = format!("CA {:?}", ca.name());
        let action = |existed| {
            if existed {
                Action::Replaced
            } else {
                Action::Created
            }
        };
        report.push(
            &key,
            action(has_key),
            FileKind::PrivateKey,
            &subject,
            ca.info.not_after,
        );
        report.push(
            &cert,
            action(has_cert),
            FileKind::Certificate,
            &subject,
            ca.info.not_after,
        );
        if has_cert || has_key {
            report.warnings.push(format!(
                "the CA in {} was regenerated: everything that trusted the old one, or was \
                 signed by it, must be given the new files",
                cert.display()
            ));
        }
        Ok(ca)
    }

    fn write_leaf(
        &self,
        stem: &str,
        ca: &Authority,
        spec: LeafSpec,
        report: &mut Report,
    ) -> Result<(), PkiError> {
        let (cert, key) = (self.cert_path(stem), self.key_path(stem));
        let (had_cert, had_key) = (files::exists(&cert), files::exists(&key));
        let Issued {
            cert_pem,
            key_pem,
            not_after,
            clamped,
        } = ca.issue(&spec, self.leaf_days)?;
        files::write_pair(&key, key_pem.as_bytes(), &cert, cert_pem.as_bytes())?;
        let subject = describe(&spec, &ca.name());
        let action = |existed| {
            if existed {
                Action::Replaced
            } else {
                Action::Created
            }
        };
        report.push(&key, action(had_key), FileKind::PrivateKey, &subject, not_after);
        report.push(
            &cert,
            action(had_cert),
            FileKind::Certificate,
            &subject,
            not_after,
        );
        if clamped {
            report.warnings.push(format!(
                "{} expires with its CA on {}, before the {} days asked for; regenerate the CAs \
                 with --force in time",
                cert.display(),
                not_after.format("%Y-%m-%d"),
                self.leaf_days
            ));
        }
        Ok(())
    }
}

impl Report {
    fn push(&mut self, path: &Path, action: Action, kind: FileKind, subject: &str, not_after: DateTime<Utc>) {
        self.files.push(FileEvent {
            path: path.to_path_buf(),
            action,
            kind,
            subject: subject.to_owned(),
            not_after,
        });
    }
}

fn serving_spec(names: &ServingNames) -> LeafSpec {
    LeafSpec {
        common_name: "tmc-server".to_owned(),
        organizations: Vec::new(),
        dns_names: names.dns.clone(),
        ips: names.ips.clone(),
        usage: Usage::Server,
    }
}

fn client_spec(user: &str, groups: &[String]) -> LeafSpec {
    let mut organizations: Vec<String> = Vec::new();
    for group in groups {
        if !organizations.contains(group) {
            organizations.push(group.clone());
        }
    }
    LeafSpec {
        common_name: user.to_owned(),
        organizations,
        dns_names: Vec::new(),
        ips: Vec::new(),
        usage: Usage::Client,
    }
}

fn describe(spec: &LeafSpec, ca: &str) -> String {
    match spec.usage {
        Usage::Server => {
            let names: Vec<String> = spec
                .dns_names
                .iter()
                .cloned()
                .chain(spec.ips.iter().map(IpAddr::to_string))
                .collect();
            format!("serving certificate for {} (CA {ca:?})", names.join(", "))
        }
        Usage::Client => {
            let mut subject = format!("client certificate CN={}", spec.common_name);
            for o in &spec.organizations {
                subject.push_str(&format!(", O={o}"));
            }
            format!("{subject} (CA {ca:?})")
        }
    }
}
