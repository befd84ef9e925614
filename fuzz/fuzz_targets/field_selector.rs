//! Field selector parsing on arbitrary UTF-8: it must never panic, and
//! whatever parses must render to a string that parses back equal.
#![no_main]

use kcp_tmc::selectors::{FieldSelector, SelectorError};
use libfuzzer_sys::fuzz_target;

/// Parses with every field the input names counted as supported.
fn parse_any_field(s: &str) -> Result<FieldSelector, SelectorError> {
    let mut supported: Vec<String> = Vec::new();
    loop {
        let refs: Vec<&str> = supported.iter().map(String::as_str).collect();
        match FieldSelector::parse(s, &refs) {
            Err(SelectorError::FieldLabelNotSupported(f)) if !supported.contains(&f) => supported.push(f),
            other => return other,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(sel) = parse_any_field(s) {
        let text = sel.to_string();
        assert_eq!(parse_any_field(&text), Ok(sel), "{s:?} rendered as {text:?}");
    }
});
