//! Last-line scrubbing of text that reaches a status from outside TMC.
//!
//! Callers already scrub what they pass in (error messages, versions read from the cluster).
//! This is the backstop: status is readable by every tenant that can read the
//! ClusterRegistration, so anything that looks like a token or base64 blob is cut out, and
//! the text is bounded so a hostile or chatty cluster cannot bloat the object.

/// Longest base64-ish run left intact. Tokens, JWT segments and base64 certificate data are
/// longer; host names and UIDs (32 hex digits) are shorter or broken up by `.`/`:`.
const MAX_OPAQUE_RUN: usize = 39;

/// Longest scrubbed text, in characters.
const MAX_CHARS: usize = 256;

/// What replaces a redacted run.
pub(crate) const REDACTED: &str = "[redacted]";

/// Characters that make up tokens and base64: a long run of them is treated as secret.
fn is_opaque(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '_' | '-')
}

/// `text` on one line, with runs of more than [`MAX_OPAQUE_RUN`] token-like characters
/// replaced by [`REDACTED`] and cut to [`MAX_CHARS`] characters (ending in `…`).
pub(crate) fn scrub(text: &str) -> String {
    // One line, single spaces: messages end up in table cells and log lines.
    let mut flat = String::with_capacity(text.len().min(4 * MAX_CHARS));
    for word in text.split(|c: char| c.is_whitespace() || c.is_control()) {
        if word.is_empty() {
            continue;
        }
        if !flat.is_empty() {
            flat.push(' ');
        }
        flat.push_str(word);
    }

    let mut out = String::with_capacity(flat.len());
    let mut run = String::new();
    for c in flat.chars() {
        if is_opaque(c) {
            run.push(c);
            continue;
        }
        flush_run(&mut out, &mut run);
        out.push(c);
    }
    flush_run(&mut out, &mut run);

    if out.chars().count() > MAX_CHARS {
        let mut cut: String = out.chars().take(MAX_CHARS - 1).collect();
        cut.push('…');
        cut
    } else {
        out
    }
}

fn flush_run(out: &mut String, run: &mut String) {
    if run.chars().count() > MAX_OPAQUE_RUN {
        out.push_str(REDACTED);
    } else {
        out.push_str(run);
    }
    run.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_errors_pass_through() {
        let msg = "dial tcp 10.0.0.7:6443: connect: connection refused";
        assert_eq!(scrub(msg), msg);
        let host = "Get \"https://0123456789abcdef0123456789abcdef.gr7.us-east-1.eks.amazonaws.com/readyz\"";
        assert_eq!(scrub(host), host);
    }

    #[test]
    fn long_opaque_runs_are_redacted() {
        let token = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEyMyJ9";
        let jwt = format!("{token}.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6dG1jOnRtYyJ9.c2lnbmF0dXJl");
        let out = scrub(&format!("bad token {jwt} sent"));
        assert!(!out.contains("eyJzdWIiOiJzeXN0ZW06"), "{out}");
        assert!(out.contains(REDACTED));
        let out = scrub("Authorization: Bearer=QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlq");
        assert_eq!(out, format!("Authorization: {REDACTED}"));
    }

    #[test]
    fn whitespace_is_flattened_and_length_bounded() {
        assert_eq!(scrub("  a\n\tb\r\n c "), "a b c");
        let long = "word ".repeat(200);
        let out = scrub(&long);
        assert_eq!(out.chars().count(), MAX_CHARS);
        assert!(out.ends_with('…'));
        assert_eq!(scrub(""), "");
    }
}
