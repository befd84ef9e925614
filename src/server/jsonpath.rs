//! The subset of kubectl JSONPath that printer columns use: field access
//! (`.a.b`), indexes (`[0]`), wildcards (`[*]`) and equality filters
//! (`[?(@.type=="Ready")]`). Written by hand because printer columns are
//! evaluated per row on every Table response and no maintained crate speaks
//! Kubernetes' dialect.

use serde_json::Value;

#[derive(Clone, Debug, PartialEq)]
enum Step {
    Field(String),
    Index(usize),
    All,
    /// `[?(@.path=="literal")]`
    Filter(Vec<String>, Value),
}

/// A compiled JSONPath.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonPath(Vec<Step>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unsupported JSONPath {0:?}")]
pub struct JsonPathError(String);

impl JsonPath {
    pub fn parse(expr: &str) -> Result<Self, JsonPathError> {
        let err = || JsonPathError(expr.to_owned());
        let s = expr.trim();
        let s = s.strip_prefix('{').and_then(|x| x.strip_suffix('}')).unwrap_or(s);
        let s = s.strip_prefix('$').unwrap_or(s);
        let mut steps = Vec::new();
        let mut rest = s;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('.') {
                let end = r.find(['.', '[', ']']).unwrap_or(r.len());
                let name = &r[..end];
                if name.is_empty() {
                    return Err(err());
                }
                steps.push(Step::Field(name.to_owned()));
                rest = &r[end..];
            } else if let Some(r) = rest.strip_prefix('[') {
                let end = find_bracket_end(r).ok_or_else(err)?;
                let inner = &r[..end];
                rest = &r[end + 1..];
                steps.push(parse_bracket(inner).ok_or_else(err)?);
            } else {
                return Err(err());
            }
        }
        Ok(Self(steps))
    }

    /// Every value the path reaches, in document order.
    pub fn eval<'a>(&self, root: &'a Value) -> Vec<&'a Value> {
        let mut current = vec![root];
        for step in &self.0 {
            let mut next = Vec::new();
            for v in current {
                match step {
                    Step::Field(f) => {
                        if let Some(x) = v.get(f) {
                            next.push(x)
                        }
                    }
                    Step::Index(i) => {
                        if let Some(x) = v.get(*i) {
                            next.push(x)
                        }
                    }
                    Step::All => match v {
                        Value::Array(a) => next.extend(a.iter()),
                        Value::Object(o) => next.extend(o.values()),
                        _ => {}
                    },
                    Step::Filter(path, want) => {
                        if let Value::Array(a) = v {
                            next.extend(a.iter().filter(|item| lookup(item, path) == Some(want)));
                        }
                    }
                }
            }
            current = next;
        }
        current
    }
}

fn lookup<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, f| v.get(f))
}

/// The index of the `]` closing a bracket, skipping quoted strings.
fn find_bracket_end(s: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, ']') => return Some(i),
            _ => {}
        }
    }
    None
}

fn parse_bracket(inner: &str) -> Option<Step> {
    let inner = inner.trim();
    if inner == "*" {
        return Some(Step::All);
    }
    if let Ok(i) = inner.parse::<usize>() {
        return Some(Step::Index(i));
    }
    if let Some(q) = inner.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')) {
        return Some(Step::Field(q.to_owned()));
    }
    let cond = inner.strip_prefix("?(")?.strip_suffix(')')?;
    let (lhs, rhs) = cond.split_once("==")?;
    let path: Vec<String> = lhs
        .trim()
        .strip_prefix("@.")?
        .split('.')
        .map(str::to_owned)
        .collect();
    let rhs = rhs.trim();
    let literal = if let Some(s) = rhs
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .or_else(|| rhs.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
    {
        Value::String(s.to_owned())
    } else {
        serde_json::from_str(rhs).ok()?
    };
    Some(Step::Filter(path, literal))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn evaluates_printer_column_paths() {
        let obj = json!({"spec": {"location": "us-east"},
            "status": {"conditions": [{"type": "Heartbeat", "status": "True"}, {"type": "Ready", "status": "False"}]},
            "metadata": {"labels": {"a.b/c": "x"}}});
        let p = JsonPath::parse(".spec.location").unwrap();
        assert_eq!(p.eval(&obj), [&json!("us-east")]);
        let p = JsonPath::parse(r#".status.conditions[?(@.type=="Ready")].status"#).unwrap();
        assert_eq!(p.eval(&obj), [&json!("False")]);
        let p = JsonPath::parse(".status.conditions[*].type").unwrap();
        assert_eq!(p.eval(&obj).len(), 2);
        let p = JsonPath::parse(".status.conditions[1].status").unwrap();
        assert_eq!(p.eval(&obj), [&json!("False")]);
        let p = JsonPath::parse("{.metadata.labels['a.b/c']}").unwrap();
        assert_eq!(p.eval(&obj), [&json!("x")]);
        assert!(JsonPath::parse(".missing.field").unwrap().eval(&obj).is_empty());
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for bad in ["spec", ".", "..a", ".a[", ".a[?(@.x)]", ".a[?(x==1)]", ".a]"] {
            assert!(JsonPath::parse(bad).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in ".{0,40}") {
            if let Ok(p) = JsonPath::parse(&s) {
                let _ = p.eval(&json!({"a": [1, {"b": 2}]}));
            }
        }
    }
}
