//! What a client certificate proves, with certificates made by `kcp_tmc::pki`
//! (the same code as `tmc-certs`): users of the client CA, the front proxy of
//! the request-header CA (only with an allowed name), and nobody else.

use std::path::Path;

use kcp_tmc::auth::{ClientCertAuthority, PeerIdentity, UserInfo};
use kcp_tmc::pki::{InitOptions, Pki};
use rustls::pki_types::{CertificateDer, UnixTime};

fn chain(path: &Path) -> Vec<CertificateDer<'static>> {
    let pem = std::fs::read(path).unwrap();
    rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<_, _>>()
        .unwrap()
}

fn authority(pki: &Pki, allowed: &[&str]) -> ClientCertAuthority {
    let client = std::fs::read(pki.cert_path("client-ca")).unwrap();
    let proxy = std::fs::read(pki.cert_path("requestheader-ca")).unwrap();
    ClientCertAuthority::new(
        Some((&client, "client-ca.crt")),
        Some((&proxy, "requestheader-ca.crt")),
        allowed.iter().map(|s| s.to_string()).collect(),
    )
    .unwrap()
}

fn made_pki(dir: &Path) -> Pki {
    let pki = Pki::new(dir);
    pki.init(&InitOptions::default()).unwrap();
    pki.issue_user("alice", &["team-a".to_owned(), "devs".to_owned()])
        .unwrap();
    pki
}

#[test]
fn users_proxy_and_strangers_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let pki = made_pki(dir.path());
    let stranger_dir = tempfile::tempdir().unwrap();
    let stranger = made_pki(stranger_dir.path());
    let auth = authority(&pki, &["kcp-front-proxy"]);

    assert_eq!(auth.identify(None), PeerIdentity::Anonymous);
    assert_eq!(auth.identify(Some(&[])), PeerIdentity::Anonymous);
    assert_eq!(
        auth.identify(Some(&chain(&pki.cert_path("alice")))),
        PeerIdentity::User(UserInfo::named(
            "alice",
            ["team-a", "devs", "system:authenticated"].map(str::to_owned)
        ))
    );
    assert_eq!(
        auth.identify(Some(&chain(&pki.cert_path("front-proxy-client")))),
        PeerIdentity::FrontProxy("kcp-front-proxy".into())
    );
    // The proxy's certificate with a name that is not allowed is nobody.
    let picky = authority(&pki, &["another-proxy"]);
    assert!(matches!(
        picky.identify(Some(&chain(&pki.cert_path("front-proxy-client")))),
        PeerIdentity::Refused(_)
    ));
    // A user certificate is never the proxy, even with any name allowed.
    let any = authority(&pki, &[]);
    assert!(matches!(
        any.identify(Some(&chain(&pki.cert_path("alice")))),
        PeerIdentity::User(_)
    ));
    // Certificates of another PKI: refused by the handshake verifier, and
    // identified as nobody if they ever got past it.
    let verifier = auth.handshake_verifier().unwrap();
    for stem in ["alice", "front-proxy-client"] {
        let c = chain(&stranger.cert_path(stem));
        assert!(verifier
            .verify_client_cert(&c[0], &c[1..], UnixTime::now())
            .is_err());
        assert!(matches!(auth.identify(Some(&c)), PeerIdentity::Refused(_)));
    }
    // The handshake takes certificates of both CAs, and allows none at all.
    for stem in ["alice", "front-proxy-client", "admin"] {
        let c = chain(&pki.cert_path(stem));
        assert!(verifier
            .verify_client_cert(&c[0], &c[1..], UnixTime::now())
            .is_ok());
    }
    assert!(!verifier.client_auth_mandatory());
}

#[test]
fn without_cas_no_certificate_is_asked_for() {
    let auth = ClientCertAuthority::new(None, None, Vec::new()).unwrap();
    assert!(auth.handshake_verifier().is_none());
}

#[test]
fn a_ca_file_without_certificates_is_an_error() {
    let err = ClientCertAuthority::new(Some((b"not pem", "x.crt")), None, Vec::new())
        .err()
        .expect("an error");
    assert!(err.to_string().contains("x.crt"), "{err}");
}
