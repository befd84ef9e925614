//! Label key and value validation with kube-apiserver's exact error texts.
//!
//! Clients (kubectl, controllers, tests) match on these strings, so they are
//! ported verbatim from k8s.io/apimachinery at kubernetes v1.34.3, the
//! kube-apiserver this project pins (`pkg/util/validation` and
//! `pkg/util/validation/field`). Later releases reword a few of them
//! ("bytes" for "characters", "a valid label key" for "a qualified name").
//! The regexes of the originals are replaced by hand-written checks, which
//! keeps the crate free of a regex dependency. The pattern text still appears
//! in the messages.

use super::go_print::GO_PRINTABLE_RANGES;

/// Longest label name (the part after an optional `prefix/`) and value.
pub const MAX_LABEL_NAME_LEN: usize = 63;
/// Longest DNS-subdomain prefix of a label key.
pub const MAX_LABEL_PREFIX_LEN: usize = 253;
/// Longest label value.
pub const MAX_LABEL_VALUE_LEN: usize = 63;

const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_ERR_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_ERR_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT: &str = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_ERR_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const EMPTY_ERROR: &str = "must be non-empty";

fn max_len_error(len: usize) -> String {
    format!("must be no more than {len} characters")
}

/// Go's `validation.RegexError`, odd double spaces included.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let mut out = format!("{msg} (e.g. ");
    for (i, example) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        out.push('\'');
        out.push_str(example);
        out.push_str("', ");
    }
    out.push_str("regex used for validation is '");
    out.push_str(fmt);
    out.push_str("')");
    out
}

/// `^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`, without a length limit.
fn is_qualified_name_syntax(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// The RFC 1123 subdomain regex: dot-separated lowercase DNS labels.
fn is_dns1123_subdomain_syntax(s: &str) -> bool {
    s.split('.').all(|label| {
        let b = label.as_bytes();
        let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        match (b.first(), b.last()) {
            (Some(first), Some(last)) => {
                alnum(first) && alnum(last) && b.iter().all(|c| alnum(c) || *c == b'-')
            }
            _ => false,
        }
    })
}

fn dns1123_subdomain_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > MAX_LABEL_PREFIX_LEN {
        errs.push(max_len_error(MAX_LABEL_PREFIX_LEN));
    }
    if !is_dns1123_subdomain_syntax(value) {
        errs.push(regex_error(
            DNS1123_SUBDOMAIN_ERR_MSG,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// Go's `validation.IsQualifiedName`: why `value` is not a valid label key
/// (`[prefix/]name`), or an empty list when it is.
pub fn label_key_errors(value: &str) -> Vec<String> {
    let examples = ["MyName", "my.name", "123-abc"];
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push(format!("prefix part {EMPTY_ERROR}"));
            } else {
                errs.extend(
                    dns1123_subdomain_errors(prefix)
                        .into_iter()
                        .map(|m| format!("prefix part {m}")),
                );
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(QUALIFIED_NAME_ERR_MSG, QUALIFIED_NAME_FMT, &examples)
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push(format!("name part {EMPTY_ERROR}"));
    } else if name.len() > MAX_LABEL_NAME_LEN {
        errs.push(format!("name part {}", max_len_error(MAX_LABEL_NAME_LEN)));
    }
    if !is_qualified_name_syntax(name) {
        errs.push(format!(
            "name part {}",
            regex_error(QUALIFIED_NAME_ERR_MSG, QUALIFIED_NAME_FMT, &examples)
        ));
    }
    errs
}

/// Go's `validation.IsValidLabelValue`: why `value` is not a valid label
/// value, or an empty list when it is. The empty string is valid.
pub fn label_value_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > MAX_LABEL_VALUE_LEN {
        errs.push(max_len_error(MAX_LABEL_VALUE_LEN));
    }
    if !value.is_empty() && !is_qualified_name_syntax(value) {
        errs.push(regex_error(
            LABEL_VALUE_ERR_MSG,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

/// True when `value` is a valid label key.
pub fn is_valid_label_key(value: &str) -> bool {
    label_key_errors(value).is_empty()
}

/// True when `value` is a valid label value.
pub fn is_valid_label_value(value: &str) -> bool {
    label_value_errors(value).is_empty()
}

/// The bad value of a `field.Invalid` error, rendered as Go renders it.
pub(crate) enum BadValue<'a> {
    /// A Go `string`: printed with `%q`.
    Str(&'a str),
    /// A Go `[]string`: printed as JSON (`null` for a nil slice).
    List(&'a [String]),
}

/// Go's `field.Invalid(path, value, detail).Error()`.
pub(crate) fn invalid(path: &str, value: BadValue<'_>, detail: &str) -> String {
    let value = match value {
        BadValue::Str(s) => go_quote(s),
        BadValue::List([]) => "null".to_owned(),
        BadValue::List(items) => {
            format!(
                "[{}]",
                items
                    .iter()
                    .map(|s| go_json_string(s))
                    .collect::<Vec<_>>()
                    .join(",")
            )
        }
    };
    format!("{path}: Invalid value: {value}: {detail}")
}

/// Go's `ErrorList.ToAggregate().Error()`: `None` for no errors, the message
/// itself for one, `[a, b]` for several (duplicates dropped).
pub(crate) fn aggregate(errs: Vec<String>) -> Option<String> {
    let mut unique: Vec<String> = Vec::with_capacity(errs.len());
    for e in errs {
        if !unique.contains(&e) {
            unique.push(e);
        }
    }
    match unique.len() {
        0 => None,
        1 => unique.pop(),
        _ => Some(format!("[{}]", unique.join(", "))),
    }
}

/// Go's `strconv.IsPrint` for a non-ASCII character: a binary search for
/// the first printable range ending at or after `c`.
fn is_go_printable(c: char) -> bool {
    let c = c as u32;
    let ranges = GO_PRINTABLE_RANGES.len() / 2;
    let (mut lo, mut hi) = (0, ranges);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if GO_PRINTABLE_RANGES.get(2 * mid + 1).is_some_and(|&end| end < c) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    GO_PRINTABLE_RANGES.get(2 * lo).is_some_and(|&start| start <= c)
}

/// Go's `%q` (`strconv.Quote`) for a valid UTF-8 string.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0B}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7F}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_ascii() || is_go_printable(c) => out.push(c),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// Go's `json.Marshal` of a string, with its HTML-safe escapes.
fn go_json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}') => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
