//! Parsing and validating the plugin's flag values, before anything is read or sent.
//!
//! kube-apiserver would reject a bad label or name too, but only after the Secret was written,
//! and with a message about the object rather than the flag. Checking here names the flag and
//! leaves the workspace untouched.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::api::ClusterCapability;
use crate::selectors::validation::{label_key_errors, label_value_errors, MAX_LABEL_VALUE_LEN};

/// One `--label key=value`, validated as a Kubernetes label.
pub fn parse_label(spec: &str) -> Result<(String, String), String> {
    let (key, value) = spec
        .split_once('=')
        .ok_or_else(|| format!("--label {spec:?} must be key=value (e.g. tier=prod)"))?;
    if let Some(err) = label_key_errors(key).first() {
        return Err(format!(
            "--label {spec:?}: key {key:?} is not a valid label key: {err}"
        ));
    }
    if let Some(err) = label_value_errors(value).first() {
        return Err(format!(
            "--label {spec:?}: value {value:?} is not a valid label value: {err}"
        ));
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// Every `--label`, in a map; the same key twice is an error rather than "last one wins",
/// because a typo that silently drops a label would change where workloads are placed.
pub fn parse_labels(specs: &[String]) -> Result<BTreeMap<String, String>, String> {
    let mut labels = BTreeMap::new();
    for spec in specs {
        let (key, value) = parse_label(spec)?;
        if labels.insert(key.clone(), value).is_some() {
            return Err(format!("--label {key:?} is given more than once"));
        }
    }
    Ok(labels)
}

/// One `--capability type[=prop=value,...]`, e.g. `gpu=model=a100,count=4` or `storage`.
/// A capability given on the command line is one the operator vouches for, so it is
/// `available: true`; tmc-server may later report otherwise in status.
pub fn parse_capability(spec: &str) -> Result<ClusterCapability, String> {
    let (type_, props) = match spec.split_once('=') {
        Some((type_, props)) => (type_, Some(props)),
        None => (spec, None),
    };
    if type_.is_empty()
        || !type_
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
    {
        return Err(format!(
            "--capability {spec:?}: the type must be a non-empty word of letters, digits, '-', '_', '.' \
             or '/' (e.g. gpu, or gpu=model=a100,count=4)"
        ));
    }
    let mut properties = BTreeMap::new();
    for prop in props.into_iter().flat_map(|p| p.split(',')) {
        let (key, value) = prop.split_once('=').ok_or_else(|| {
            format!(
                "--capability {spec:?}: property {prop:?} must be name=value (e.g. gpu=model=a100,count=4)"
            )
        })?;
        if key.is_empty() {
            return Err(format!(
                "--capability {spec:?}: property {prop:?} has an empty name"
            ));
        }
        if properties.insert(key.to_owned(), value.to_owned()).is_some() {
            return Err(format!(
                "--capability {spec:?}: property {key:?} is given more than once"
            ));
        }
    }
    Ok(ClusterCapability {
        type_: type_.to_owned(),
        available: true,
        properties,
    })
}

/// Every `--capability`, in order. `spec.capabilities` is a list-map keyed by `type`, which kcp
/// would reject with a duplicate; catching it here names the flag.
pub fn parse_capabilities(specs: &[String]) -> Result<Vec<ClusterCapability>, String> {
    let mut capabilities: Vec<ClusterCapability> = Vec::new();
    for spec in specs {
        let capability = parse_capability(spec)?;
        if capabilities.iter().any(|c| c.type_ == capability.type_) {
            return Err(format!(
                "--capability {:?} is given more than once; put all its properties in one flag \
                 (e.g. gpu=model=a100,count=4)",
                capability.type_
            ));
        }
        capabilities.push(capability);
    }
    Ok(capabilities)
}

/// An RFC 1123 DNS label (namespace names): lowercase alphanumerics and '-', ≤ 63 characters.
fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.len() <= 63
        && b.first().is_some_and(alnum)
        && b.last().is_some_and(alnum)
        && b.iter().all(|c| alnum(c) || *c == b'-')
}

/// The cluster NAME: an object name (RFC 1123 subdomain) that also fits a label value, because
/// the kubeconfig Secret is labelled `tmc.kcp.io/cluster=NAME` and label values stop at 63.
pub fn validate_cluster_name(name: &str) -> Result<(), String> {
    let ok = name.len() <= MAX_LABEL_VALUE_LEN && !name.is_empty() && name.split('.').all(is_dns_label);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "cluster name {name:?} is invalid: use at most {MAX_LABEL_VALUE_LEN} lowercase letters, \
             digits, '-' and '.', starting and ending with a letter or digit (e.g. east, us-east-1)"
        ))
    }
}

/// `--namespace`: a namespace name (RFC 1123 label).
pub fn validate_namespace(namespace: &str) -> Result<(), String> {
    if is_dns_label(namespace) {
        Ok(())
    } else {
        Err(format!(
            "--namespace {namespace:?} is invalid: use at most 63 lowercase letters, digits and '-', \
             starting and ending with a letter or digit"
        ))
    }
}

/// A duration as kubectl spells `--timeout`: a whole number with unit `s`, `m` or `h`
/// (`90s`, `5m`, `1h`), or `0` for "do not wait".
pub fn parse_timeout(spec: &str) -> Result<Duration, String> {
    parse_duration("--timeout", spec)
}

/// A duration flag `flag` spelled like `--timeout` (see [`parse_timeout`]).
pub fn parse_duration(flag: &str, spec: &str) -> Result<Duration, String> {
    if spec == "0" {
        return Ok(Duration::ZERO);
    }
    let invalid = || format!("{flag} {spec:?} must be a number with unit s, m or h (e.g. 90s, 5m) or 0");
    let split = spec.len().checked_sub(1).ok_or_else(invalid)?;
    let (number, unit) = spec.split_at(split);
    let n: u64 = number.parse().map_err(|_| invalid())?;
    let seconds = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => return Err(invalid()),
    };
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_key_value_pairs_with_kubernetes_syntax() {
        assert_eq!(parse_label("tier=prod").unwrap(), ("tier".into(), "prod".into()));
        assert_eq!(
            parse_label("example.com/zone=a=b").unwrap_err(),
            "--label \"example.com/zone=a=b\": value \"a=b\" is not a valid label value: a valid label must \
             be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and \
             end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used \
             for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        );
        assert_eq!(parse_label("empty=").unwrap(), ("empty".into(), String::new()));
        assert!(parse_label("tier").unwrap_err().contains("must be key=value"));
        assert!(parse_label("=prod")
            .unwrap_err()
            .contains("not a valid label key"));
        assert!(parse_label("a b=c")
            .unwrap_err()
            .contains("not a valid label key"));
    }

    #[test]
    fn a_label_given_twice_is_rejected() {
        let labels = parse_labels(&["tier=prod".into(), "zone=a".into()]).unwrap();
        assert_eq!(labels.len(), 2);
        let err = parse_labels(&["tier=prod".into(), "tier=dev".into()]).unwrap_err();
        assert!(err.contains("\"tier\" is given more than once"), "{err}");
    }

    #[test]
    fn capabilities_have_a_type_and_optional_properties() {
        let plain = parse_capability("storage").unwrap();
        assert_eq!(plain.type_, "storage");
        assert!(plain.available);
        assert!(plain.properties.is_empty());

        let gpu = parse_capability("gpu=model=a100,count=4").unwrap();
        assert_eq!(gpu.type_, "gpu");
        assert_eq!(
            gpu.properties,
            BTreeMap::from([("count".into(), "4".into()), ("model".into(), "a100".into())])
        );
        assert_eq!(parse_capability("gpu=note=").unwrap().properties["note"], "");
    }

    #[test]
    fn malformed_capabilities_are_rejected_with_the_flag_named() {
        for (spec, needle) in [
            ("", "the type must be"),
            ("=model=a100", "the type must be"),
            ("g pu", "the type must be"),
            ("gpu=model", "property \"model\" must be name=value"),
            ("gpu=", "property \"\" must be name=value"),
            ("gpu=model=a,,count=1", "property \"\" must be name=value"),
            ("gpu==a100", "has an empty name"),
            ("gpu=model=a,model=b", "\"model\" is given more than once"),
        ] {
            let err = parse_capability(spec).unwrap_err();
            assert!(err.starts_with("--capability"), "{spec}: {err}");
            assert!(err.contains(needle), "{spec}: {err}");
        }
        let err = parse_capabilities(&["gpu".into(), "gpu=model=a100".into()]).unwrap_err();
        assert!(err.contains("\"gpu\" is given more than once"), "{err}");
    }

    #[test]
    fn cluster_names_must_be_subdomains_that_fit_a_label_value() {
        for ok in ["east", "us-east-1", "a.b", "0"] {
            validate_cluster_name(ok).unwrap();
        }
        for bad in ["", "East", "-east", "east-", "a..b", "a_b", &"a".repeat(64)] {
            assert!(validate_cluster_name(bad).is_err(), "{bad:?}");
        }
        validate_cluster_name(&"a".repeat(63)).unwrap();
    }

    #[test]
    fn namespaces_must_be_dns_labels() {
        validate_namespace("tmc-system").unwrap();
        for bad in ["", "tmc.system", "TMC", &"a".repeat(64)] {
            assert!(validate_namespace(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn timeouts_use_kubectl_units() {
        assert_eq!(parse_timeout("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_timeout("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_timeout("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_timeout("0").unwrap(), Duration::ZERO);
        for bad in ["", "s", "5", "5d", "-1s", "1.5m"] {
            assert!(parse_timeout(bad).is_err(), "{bad:?}");
        }
    }
}
