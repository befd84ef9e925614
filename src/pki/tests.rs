//! The PKI judged by rustls/webpki, the code that will judge it in production.

use std::fs;
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::der::{CertInfo, OID_COMMON_NAME, OID_ORGANIZATION};
use super::*;

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn info(path: &Path) -> CertInfo {
    let cert = verify::first_cert(&read(path), path).unwrap();
    CertInfo::parse(&cert).unwrap()
}

fn init(dir: &Path) -> (Pki, Report) {
    let pki = Pki::new(dir);
    let options = InitOptions {
        serving: ServingNames {
            dns: vec!["tmc.example.com".into()],
            ips: vec!["10.1.2.3".parse().unwrap()],
        },
        ..InitOptions::default()
    };
    let report = pki.init(&options).unwrap();
    (pki, report)
}

const ALL_STEMS: [&str; 6] = RESERVED_STEMS;

#[test]
fn init_writes_every_file_with_the_right_modes() {
    let dir = tempfile::tempdir().unwrap();
    let (pki, report) = init(dir.path());
    for stem in ALL_STEMS {
        assert_eq!(files::mode(&pki.key_path(stem)).unwrap(), 0o600, "{stem}.key");
        assert_eq!(files::mode(&pki.cert_path(stem)).unwrap(), 0o644, "{stem}.crt");
        let key = read(&pki.key_path(stem));
        assert!(String::from_utf8_lossy(&key).contains("PRIVATE KEY"));
        check_pair(&read(&pki.cert_path(stem)), &key).unwrap();
    }
    assert_eq!(report.files.len(), 12);
    assert!(report.files.iter().all(|f| f.action == Action::Created));
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    // The report never carries key material.
    for line in report.files.iter().map(ToString::to_string) {
        assert!(!line.contains("PRIVATE KEY") && !line.contains("-----"), "{line}");
    }
    // Only the twelve files: no temporary files left behind.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 12);
}

#[test]
fn serving_cert_verifies_for_every_name_and_only_those() {
    let dir = tempfile::tempdir().unwrap();
    let (pki, _) = init(dir.path());
    let ca = read(&pki.cert_path(SERVING_CA));
    let cert = read(&pki.cert_path(SERVING));
    for name in ["localhost", "127.0.0.1", "::1", "tmc.example.com", "10.1.2.3"] {
        verify_server_cert(&ca, &cert, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for name in ["other.example.com", "10.1.2.4"] {
        assert!(
            verify_server_cert(&ca, &cert, name).is_err(),
            "{name} must not verify"
        );
    }
    // Not against another CA of the set.
    let client_ca = read(&pki.cert_path(CLIENT_CA));
    assert!(verify_server_cert(&client_ca, &cert, "localhost").is_err());
    // A serving certificate is not a client certificate (serverAuth only).
    assert!(verify_client_cert(&ca, &cert).is_err());
}

#[test]
fn user_cert_verifies_against_the_client_ca_and_not_the_requestheader_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (pki, _) = init(dir.path());
    let groups = vec!["team-a".to_owned(), "team-b".to_owned(), "team-a".to_owned()];
    let report = pki.issue_user("alice", &groups).unwrap();
    assert_eq!(report.files.len(), 2);
    let cert = read(&pki.cert_path("alice"));
    verify_client_cert(&read(&pki.cert_path(CLIENT_CA)), &cert).unwrap();
    let err = verify_client_cert(&read(&pki.cert_path(REQUESTHEADER_CA)), &cert).unwrap_err();
    assert!(err.to_string().contains("does not verify"), "{err}");
    assert!(verify_client_cert(&read(&pki.cert_path(SERVING_CA)), &cert).is_err());
    // A client certificate is not a serving certificate (clientAuth only).
    assert!(verify_server_cert(&read(&pki.cert_path(CLIENT_CA)), &cert, "localhost").is_err());

    let subject = info(&pki.cert_path("alice"));
    assert_eq!(subject.subject_values(OID_COMMON_NAME), ["alice"]);
    assert_eq!(subject.subject_values(OID_ORGANIZATION), ["team-a", "team-b"]);
    assert!(!subject.is_ca);
    assert_eq!(files::mode(&pki.key_path("alice")).unwrap(), 0o600);
}

#[test]
fn admin_and_front_proxy_certs_have_their_names_and_issuers() {
    let dir = tempfile::tempdir().unwrap();
    let (pki, _) = init(dir.path());
    let admin = info(&pki.cert_path(ADMIN));
    assert_eq!(admin.subject_values(OID_COMMON_NAME), [ADMIN_USER]);
    assert_eq!(admin.subject_values(OID_ORGANIZATION), [ADMIN_GROUP]);
    verify_client_cert(&read(&pki.cert_path(CLIENT_CA)), &read(&pki.cert_path(ADMIN))).unwrap();

    let proxy = info(&pki.cert_path(FRONT_PROXY_CLIENT));
    assert_eq!(proxy.subject_values(OID_COMMON_NAME), [DEFAULT_FRONT_PROXY_NAME]);
    let proxy_pem = read(&pki.cert_path(FRONT_PROXY_CLIENT));
    verify_client_cert(&read(&pki.cert_path(REQUESTHEADER_CA)), &proxy_pem).unwrap();
    // The front-proxy's certificate must not pass as a user's, nor a user's as the front-proxy's.
    assert!(verify_client_cert(&read(&pki.cert_path(CLIENT_CA)), &proxy_pem).is_err());
    let admin_pem = read(&pki.cert_path(ADMIN));
    assert!(verify_client_cert(&read(&pki.cert_path(REQUESTHEADER_CA)), &admin_pem).is_err());
}

#[test]
fn validities_follow_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path()).with_leaf_days(30);
    pki.init(&InitOptions::default()).unwrap();
    let now = Utc::now();
    let ca = info(&pki.cert_path(CLIENT_CA));
    let leaf = info(&pki.cert_path(ADMIN));
    assert!(ca.is_ca);
    let days = |t: DateTime<Utc>| (t - now).num_days();
    assert!((3649..=3650).contains(&days(ca.not_after)), "{}", ca.not_after);
    assert!((29..=30).contains(&days(leaf.not_after)), "{}", leaf.not_after);
    assert!(leaf.not_before <= now && ca.not_before <= now);

    assert!(matches!(
        Pki::new(dir.path())
            .with_leaf_days(0)
            .init(&InitOptions::default()),
        Err(PkiError::InvalidDays(0))
    ));
}

#[test]
fn leaf_validity_is_cut_to_the_ca_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path()).with_ca_days(10).with_leaf_days(365);
    let report = pki.init(&InitOptions::default()).unwrap();
    assert_eq!(report.warnings.len(), 3, "{:?}", report.warnings);
    let ca = info(&pki.cert_path(SERVING_CA));
    let leaf = info(&pki.cert_path(SERVING));
    assert!(leaf.not_after <= ca.not_after);
    verify_server_cert(
        &read(&pki.cert_path(SERVING_CA)),
        &read(&pki.cert_path(SERVING)),
        "localhost",
    )
    .unwrap();
}

#[test]
fn reusing_a_directory_keeps_the_cas_and_force_replaces_them() {
    let dir = tempfile::tempdir().unwrap();
    let (pki, _) = init(dir.path());
    let cas = [SERVING_CA, CLIENT_CA, REQUESTHEADER_CA];
    let before: Vec<_> = cas
        .iter()
        .map(|s| (read(&pki.cert_path(s)), read(&pki.key_path(s))))
        .collect();
    let old_admin = read(&pki.cert_path(ADMIN));

    let report = pki.init(&InitOptions::default()).unwrap();
    let after: Vec<_> = cas
        .iter()
        .map(|s| (read(&pki.cert_path(s)), read(&pki.key_path(s))))
        .collect();
    assert_eq!(before, after, "CAs must be reused");
    let reused = report.files.iter().filter(|f| f.action == Action::Reused).count();
    let replaced = report
        .files
        .iter()
        .filter(|f| f.action == Action::Replaced)
        .count();
    assert_eq!((reused, replaced), (6, 6));
    // The old admin certificate still verifies: same CA.
    verify_client_cert(&after[1].0, &old_admin).unwrap();
    verify_client_cert(&after[1].0, &read(&pki.cert_path(ADMIN))).unwrap();

    let forced = pki
        .init(&InitOptions {
            force: true,
            ..InitOptions::default()
        })
        .unwrap();
    assert_eq!(forced.warnings.len(), 3, "{:?}", forced.warnings);
    let new_client_ca = read(&pki.cert_path(CLIENT_CA));
    assert_ne!(new_client_ca, before[1].0);
    assert!(verify_client_cert(&new_client_ca, &old_admin).is_err());
    verify_client_cert(&new_client_ca, &read(&pki.cert_path(ADMIN))).unwrap();
}

#[test]
fn half_a_ca_is_refused_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let (pki, _) = init(dir.path());
    fs::remove_file(pki.key_path(CLIENT_CA)).unwrap();
    let cert = read(&pki.cert_path(CLIENT_CA));
    let err = pki.init(&InitOptions::default()).unwrap_err();
    assert!(matches!(err, PkiError::PartialCa { .. }), "{err}");
    assert_eq!(read(&pki.cert_path(CLIENT_CA)), cert);
}

#[test]
fn a_ca_whose_key_does_not_match_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (pki, _) = init(dir.path());
    fs::copy(pki.key_path(SERVING_CA), pki.key_path(CLIENT_CA)).unwrap();
    let err = pki.issue_user("bob", &[]).unwrap_err();
    assert!(matches!(err, PkiError::KeyMismatch { .. }), "{err}");
}

#[test]
fn a_leaf_in_place_of_a_ca_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (pki, _) = init(dir.path());
    fs::copy(pki.cert_path(ADMIN), pki.cert_path(CLIENT_CA)).unwrap();
    fs::copy(pki.key_path(ADMIN), pki.key_path(CLIENT_CA)).unwrap();
    let err = pki.issue_user("bob", &[]).unwrap_err();
    assert!(err.to_string().contains("not a CA"), "{err}");
}

#[test]
fn a_loose_ca_key_is_reused_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let (pki, _) = init(dir.path());
    fs::set_permissions(pki.key_path(SERVING_CA), fs::Permissions::from_mode(0o644)).unwrap();
    let report = pki.init(&InitOptions::default()).unwrap();
    assert!(
        report.warnings.iter().any(|w| w.contains("chmod 600")),
        "{:?}",
        report.warnings
    );
}

#[test]
fn rotate_serving_issues_a_new_cert_from_the_same_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (pki, _) = init(dir.path());
    let ca = read(&pki.cert_path(SERVING_CA));
    let ca_key = read(&pki.key_path(SERVING_CA));
    let old_cert = read(&pki.cert_path(SERVING));
    let old_key = read(&pki.key_path(SERVING));

    // Without names: the current names are kept.
    let report = pki.rotate_serving(None).unwrap();
    assert_eq!(report.files.len(), 2);
    assert!(report.files.iter().all(|f| f.action == Action::Replaced));
    let new_cert = read(&pki.cert_path(SERVING));
    let new_key = read(&pki.key_path(SERVING));
    assert_ne!(new_cert, old_cert);
    assert_ne!(new_key, old_key);
    assert_eq!(read(&pki.cert_path(SERVING_CA)), ca);
    assert_eq!(read(&pki.key_path(SERVING_CA)), ca_key);
    for name in ["localhost", "::1", "tmc.example.com", "10.1.2.3"] {
        verify_server_cert(&ca, &new_cert, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    check_pair(&new_cert, &new_key).unwrap();
    assert!(
        check_pair(&new_cert, &old_key).is_err(),
        "a new certificate never pairs with the old key"
    );
    assert_eq!(files::mode(&pki.key_path(SERVING)).unwrap(), 0o600);

    // With names: those plus the defaults, and no longer the old extras.
    let names = ServingNames {
        dns: vec!["new.example.com".into(), "192.168.0.9".into()],
        ips: Vec::new(),
    };
    pki.rotate_serving(Some(&names)).unwrap();
    let cert = read(&pki.cert_path(SERVING));
    for name in ["localhost", "127.0.0.1", "new.example.com", "192.168.0.9"] {
        verify_server_cert(&ca, &cert, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    assert!(verify_server_cert(&ca, &cert, "tmc.example.com").is_err());
    let current = pki.serving_names().unwrap();
    assert!(current.ips.contains(&"192.168.0.9".parse::<IpAddr>().unwrap()));
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        12,
        "no temporary files left"
    );
}

#[test]
fn commands_on_an_empty_directory_say_to_run_init() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path().join("nothing"));
    let err = pki.issue_user("alice", &[]).unwrap_err();
    assert!(matches!(err, PkiError::NotInitialized { .. }), "{err}");
    assert!(err.to_string().contains("tmc-certs init"), "{err}");
    assert!(matches!(
        pki.rotate_serving(None),
        Err(PkiError::NotInitialized { .. })
    ));
}

#[test]
fn bad_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (pki, _) = init(dir.path());
    for user in [
        "",
        "../x",
        "a/b",
        ".hidden",
        "-x",
        "admin",
        "serving-ca",
        "with space",
    ] {
        assert!(
            matches!(pki.issue_user(user, &[]), Err(PkiError::InvalidName { .. })),
            "{user:?}"
        );
    }
    assert!(pki.issue_user("ok", &["".to_owned()]).is_err());
    assert!(pki.issue_user("system:serviceaccount:ns:sa", &[]).is_ok());
    assert!(pki.issue_user("alice@example.com", &[]).is_ok());
    for bad in ["-x.example.com", "a..b", "under_score.example", "ünïcode.example"] {
        let names = ServingNames {
            dns: vec![bad.into()],
            ips: Vec::new(),
        };
        assert!(pki.rotate_serving(Some(&names)).is_err(), "{bad}");
    }
    let options = InitOptions {
        front_proxy_name: " ".into(),
        ..InitOptions::default()
    };
    assert!(pki.init(&options).is_err());
}

#[test]
fn serving_names_with_defaults_are_deduplicated() {
    let names = ServingNames {
        dns: vec![
            "LocalHost".into(),
            "a.example".into(),
            "127.0.0.1".into(),
            "a.example".into(),
        ],
        ips: vec!["::1".parse().unwrap(), "10.0.0.1".parse().unwrap()],
    }
    .with_defaults();
    assert_eq!(names.dns, ["localhost", "a.example"]);
    let ips: Vec<String> = names.ips.iter().map(ToString::to_string).collect();
    assert_eq!(ips, ["127.0.0.1", "::1", "10.0.0.1"]);
}

#[test]
fn the_directory_is_created_private() {
    let dir = tempfile::tempdir().unwrap();
    let pki_dir = dir.path().join("a/b");
    Pki::new(&pki_dir).init(&InitOptions::default()).unwrap();
    assert_eq!(
        fs::metadata(&pki_dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
}
