//! Label selector parsing on arbitrary UTF-8: it must never panic, and
//! whatever parses must render to a string that parses back equal, and that
//! rendering must be a fixed point.
#![no_main]

use kcp_tmc::selectors::LabelSelector;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(sel) = LabelSelector::parse(s) {
        let text = sel.to_string();
        let again = LabelSelector::parse(&text)
            .unwrap_or_else(|e| panic!("{s:?} rendered as {text:?}, which does not parse: {e}"));
        assert_eq!(again, sel, "{s:?} rendered as {text:?}");
        assert_eq!(again.to_string(), text);
    }
});
