//! Field selectors: the `fieldSelector` query parameter, parsed as kube's
//! `fields.ParseSelector` and then restricted to the fields a resource
//! supports, as kube-apiserver's field label conversion does.

use std::fmt;

use super::SelectorError;

/// A field requirement's operator. `=` and `==` are the same to kube.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FieldOperator {
    /// `field=value` or `field==value`.
    Equals,
    /// `field!=value`.
    NotEquals,
}

/// One `field op value` term, the value unescaped.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldRequirement {
    field: String,
    operator: FieldOperator,
    value: String,
}

impl FieldRequirement {
    pub fn field(&self) -> &str {
        &self.field
    }

    pub fn operator(&self) -> FieldOperator {
        self.operator
    }

    pub fn value(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for FieldRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.operator {
            FieldOperator::Equals => "=",
            FieldOperator::NotEquals => "!=",
        };
        write!(f, "{}{op}{}", self.field, escape_value(&self.value))
    }
}

/// A field selector: the AND of its requirements.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FieldSelector {
    /// Sorted, so equal selectors compare equal whatever their order.
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// Parses `s` as kube does: terms split on unescaped `,` (empty terms
    /// skipped), each `field=value`, `field==value` or `field!=value` split at
    /// the first operator, the value unescaped (`\,` `\=` `\\`; any other
    /// backslash or a bare `,`/`=` is an error). No whitespace is trimmed.
    /// Then every field must be in `supported`, else the error is kube's
    /// `field label not supported: <field>`. Terms are checked in sorted
    /// order, as kube does, so the first error reported is kube's too.
    pub fn parse(s: &str, supported: &[&str]) -> Result<Self, SelectorError> {
        let mut parts = split_terms(s);
        parts.sort_unstable();
        let mut requirements = Vec::new();
        for part in parts.into_iter().filter(|p| !p.is_empty()) {
            let Some((field, operator, rhs)) = split_term(part) else {
                return Err(SelectorError::InvalidFieldSelector(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                )));
            };
            let value = unescape_value(rhs).map_err(SelectorError::InvalidFieldSelector)?;
            requirements.push(FieldRequirement {
                field: field.to_owned(),
                operator,
                value,
            });
        }
        if let Some(r) = requirements
            .iter()
            .find(|r| !supported.contains(&r.field.as_str()))
        {
            return Err(SelectorError::FieldLabelNotSupported(r.field.clone()));
        }
        requirements.sort();
        Ok(Self { requirements })
    }

    /// The empty selector, which matches every object.
    pub fn everything() -> Self {
        Self::default()
    }

    /// True for the selector that matches everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The requirements, sorted by field.
    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    /// The value an `=` term pins `field` to, if any (kube's
    /// `RequiresExactMatch`): lets a server serve `metadata.name=x` by key.
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.requirements
            .iter()
            .find(|r| r.field == field && r.operator == FieldOperator::Equals)
            .map(|r| r.value.as_str())
    }

    /// True when `obj` satisfies every requirement. A field path such as
    /// `metadata.name` is looked up in the object's JSON; missing (or null,
    /// an object or an array) reads as "", as in kube's field sets, where
    /// cluster-scoped objects have `metadata.namespace` "". Numbers and
    /// booleans compare by their JSON text.
    pub fn matches(&self, obj: &serde_json::Value) -> bool {
        self.requirements.iter().all(|r| {
            let got = lookup(obj, &r.field);
            match r.operator {
                FieldOperator::Equals => got == r.value,
                FieldOperator::NotEquals => got != r.value,
            }
        })
    }
}

impl fmt::Display for FieldSelector {
    /// Terms joined by `,`, values escaped; parses back to an equal selector.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

fn lookup(obj: &serde_json::Value, path: &str) -> String {
    let leaf = path.split('.').try_fold(obj, |v, segment| v.get(segment));
    match leaf {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => v.to_string(),
        _ => String::new(),
    }
}

/// Kube's `fields.EscapeValue`.
pub fn escape_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Kube's `fields.UnescapeValue`, with its error texts.
fn unescape_value(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('\\' | ',' | '=')) => out.push(e),
                Some(e) => return Err(format!("invalid field selector: invalid escape sequence: \\{e}")),
                None => return Err("invalid field selector: invalid escape sequence: \\".to_owned()),
            },
            // Go prints the rune with %v, i.e. as its code point number.
            ',' | '=' => {
                return Err(format!(
                    "invalid field selector: unescaped character in value: {}",
                    c as u32
                ))
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Kube's `splitTerms`: split on commas not preceded by an escaping `\`.
fn split_terms(s: &str) -> Vec<&str> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut in_slash = false;
    for (i, c) in s.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(&s[start..i]);
            start = i + 1;
        }
    }
    terms.push(&s[start..]);
    terms
}

/// Kube's `splitTerm`: the leftmost operator, `!=` and `==` before `=`.
fn split_term(term: &str) -> Option<(&str, FieldOperator, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for (op, operator) in [
            ("!=", FieldOperator::NotEquals),
            ("==", FieldOperator::Equals),
            ("=", FieldOperator::Equals),
        ] {
            if let Some(rhs) = rest.strip_prefix(op) {
                return Some((&term[..i], operator, rhs));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const FIELDS: &[&str] = &[
        "metadata.name",
        "metadata.namespace",
        "x",
        "y",
        "z",
        "a",
        "k",
        "k2",
    ];

    fn parse(s: &str) -> Result<FieldSelector, String> {
        FieldSelector::parse(s, FIELDS).map_err(|e| e.to_string())
    }

    /// kube's TestSplitTerms.
    #[test]
    fn splits_terms_on_unescaped_commas() {
        let cases: &[(&str, &[&str])] = &[
            ("a", &["a"]),
            ("a=avalue,b=bvalue", &["a=avalue", "b=bvalue"]),
            (
                "a=avalue,b==bvalue,c!=cvalue",
                &["a=avalue", "b==bvalue", "c!=cvalue"],
            ),
            ("", &[]),
            ("a=a,", &["a=a", ""]),
            (",a=a", &["", "a=a"]),
            (r"k=\,,k2=v2", &[r"k=\,", "k2=v2"]),
            (r"k=\\,k2=v2", &[r"k=\\", "k2=v2"]),
            (r"k=\\\,,k2=v2", &[r"k=\\\,", "k2=v2"]),
            (r"k=\a\b\", &[r"k=\a\b\"]),
            (r"k=\", &[r"k=\"]),
            ("함=수,목=록", &["함=수", "목=록"]),
        ];
        for (s, want) in cases {
            assert_eq!(split_terms(s), *want, "{s:?}");
        }
    }

    /// kube's TestSplitTerm.
    #[test]
    fn splits_a_term_at_its_first_operator() {
        use FieldOperator::*;
        assert_eq!(split_term("a=value"), Some(("a", Equals, "value")));
        assert_eq!(split_term("b==value"), Some(("b", Equals, "value")));
        assert_eq!(split_term("c!=value"), Some(("c", NotEquals, "value")));
        assert_eq!(split_term(""), None);
        assert_eq!(split_term("a"), None);
        assert_eq!(split_term(r"k=\,"), Some(("k", Equals, r"\,")));
        assert_eq!(split_term(r"k=\\\a\b\=\,\"), Some(("k", Equals, r"\\\a\b\=\,\")));
        assert_eq!(split_term("함=수"), Some(("함", Equals, "수")));
        assert_eq!(split_term("a=!=b"), Some(("a", Equals, "!=b")));
    }

    /// kube's TestEscapeValue.
    #[test]
    fn escapes_and_unescapes_values() {
        for (raw, escaped) in [
            ("", ""),
            ("a", "a"),
            ("=", r"\="),
            (",", r"\,"),
            (r"\", r"\\"),
            (r"\=\,\", r"\\\=\\\,\\"),
        ] {
            assert_eq!(escape_value(raw), escaped);
            assert_eq!(unescape_value(escaped).as_deref(), Ok(raw));
        }
        assert_eq!(
            unescape_value(r"\").unwrap_err(),
            r"invalid field selector: invalid escape sequence: \"
        );
        assert_eq!(
            unescape_value(r"\\\").unwrap_err(),
            r"invalid field selector: invalid escape sequence: \"
        );
        assert_eq!(
            unescape_value(r"\a").unwrap_err(),
            r"invalid field selector: invalid escape sequence: \a"
        );
        assert_eq!(
            unescape_value(r"\함").unwrap_err(),
            r"invalid field selector: invalid escape sequence: \함"
        );
        assert_eq!(
            unescape_value("a=b").unwrap_err(),
            "invalid field selector: unescaped character in value: 61"
        );
        assert_eq!(
            unescape_value("a,b").unwrap_err(),
            "invalid field selector: unescaped character in value: 44"
        );
    }

    /// kube's TestSelectorParse, plus the texts of its errors.
    #[test]
    fn parses_good_and_rejects_bad_strings() {
        for good in ["x=a,y=b,z=c", "", "x!=a,y=b", r"x=a||y\=b", r"x=a\=\=b"] {
            let sel = parse(good).unwrap_or_else(|e| panic!("{good:?}: {e}"));
            assert_eq!(sel.to_string(), good);
            assert_eq!(parse(&sel.to_string()), Ok(sel));
        }
        let bad = [
            (
                "x=a||y=b",
                "invalid field selector: unescaped character in value: 61",
            ),
            (
                "x==a==b",
                "invalid field selector: unescaped character in value: 61",
            ),
            ("x=a,b", "invalid selector: 'x=a,b'; can't understand 'b'"),
            (
                "x in (a)",
                "invalid selector: 'x in (a)'; can't understand 'x in (a)'",
            ),
            ("x", "invalid selector: 'x'; can't understand 'x'"),
            ("spec.location=x", "field label not supported: spec.location"),
            ("metadata.name = x", "field label not supported: metadata.name "),
            ("=x", "field label not supported: "),
            // Syntax is checked for every term before any field is.
            ("b=1,zz", "invalid selector: 'b=1,zz'; can't understand 'zz'"),
            // Terms are checked in sorted order.
            ("c=1,b=1", "field label not supported: b"),
        ];
        for (s, want) in bad {
            assert_eq!(parse(s), Err(want.to_owned()), "{s:?}");
        }
    }

    #[test]
    fn equals_forms_and_empty_terms_normalise() {
        assert_eq!(parse("x==a").unwrap(), parse("x=a").unwrap());
        assert_eq!(parse(",x=a,,y=b,").unwrap(), parse("y=b,x=a").unwrap());
        assert_eq!(parse("y=b,x=a").unwrap().to_string(), "x=a,y=b");
        assert!(parse(",,").unwrap().is_empty());
        assert_eq!(parse(r"x=a\,b").unwrap().requirements()[0].value(), "a,b");
    }

    /// kube's TestSelectorMatches, against object JSON.
    #[test]
    fn matches_object_fields() {
        let obj = json!({
            "metadata": {"name": "web", "namespace": "prod", "generation": 3},
            "spec": {"complex": r"=value\,\", "paused": false}
        });
        let supported = &[
            "metadata.name",
            "metadata.namespace",
            "metadata.generation",
            "spec.complex",
            "spec.paused",
            "spec.missing",
        ];
        let cases = [
            ("", true),
            ("metadata.name=web", true),
            ("metadata.name==web", true),
            ("metadata.name!=web", false),
            ("metadata.name=web,metadata.namespace=prod", true),
            ("metadata.name=web,metadata.namespace=dev", false),
            ("metadata.name!=api,metadata.namespace!=dev", true),
            (r"spec.complex=\=value\\\,\\", true),
            ("spec.missing=", true),
            ("spec.missing!=", false),
            ("spec.missing!=x", true),
            ("metadata.generation=3", true),
            ("spec.paused=false", true),
        ];
        for (s, want) in cases {
            let sel = FieldSelector::parse(s, supported).unwrap();
            assert_eq!(sel.matches(&obj), want, "{s:?}");
        }
        let cluster_scoped = json!({"metadata": {"name": "n1"}});
        let sel = FieldSelector::parse("metadata.namespace=", supported).unwrap();
        assert!(sel.matches(&cluster_scoped));
        assert!(!FieldSelector::parse("metadata.namespace!=", supported)
            .unwrap()
            .matches(&cluster_scoped));
    }

    #[test]
    fn reports_exact_matches() {
        let sel = parse("metadata.name=a,metadata.namespace!=b").unwrap();
        assert_eq!(sel.requires_exact_match("metadata.name"), Some("a"));
        assert_eq!(sel.requires_exact_match("metadata.namespace"), None);
        assert!(FieldSelector::everything().is_empty());
    }
}
