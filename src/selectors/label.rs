//! Label selectors: the `labelSelector` query parameter's language, parsed
//! exactly as kube-apiserver v1.34's `labels.Parse`, and matched with
//! `labels.Selector.Matches` semantics.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::lexer::{scan, Token};
use super::validation::{aggregate, invalid, label_key_errors, label_value_errors, BadValue};
use super::SelectorError;

/// A requirement's operator (apimachinery's `selection.Operator`).
///
/// `Equals` and `DoubleEquals` match alike but are kept apart, as kube does,
/// so that a selector renders back the way it was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operator {
    /// `key in (a,b)`: the label exists and has one of the values.
    In,
    /// `key notin (a,b)`: the label is absent or has none of the values.
    NotIn,
    /// `key=a`: the label exists and has the value.
    Equals,
    /// `key==a`: same as `Equals`.
    DoubleEquals,
    /// `key!=a`: the label is absent or has another value.
    NotEquals,
    /// `key`: the label exists.
    Exists,
    /// `!key`: the label is absent.
    DoesNotExist,
    /// `key>1`: the label exists and is an integer greater than the value.
    GreaterThan,
    /// `key<1`: the label exists and is an integer less than the value.
    LessThan,
}

impl Operator {
    /// Kube's name of the operator (`selection.Operator`'s string value),
    /// as it appears in its error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::In => "in",
            Operator::NotIn => "notin",
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::Exists => "exists",
            Operator::DoesNotExist => "!",
            Operator::GreaterThan => "gt",
            Operator::LessThan => "lt",
        }
    }
}

/// One validated `key op values` term of a label selector.
///
/// Values are kept sorted and de-duplicated: they are a set in kube's
/// semantics, and a normal form makes equal requirements compare equal.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Requirement {
    key: String,
    operator: Operator,
    values: Vec<String>,
}

impl Requirement {
    /// Validates like kube's `labels.NewRequirement`: a valid key; one or
    /// more values for `In`/`NotIn`; exactly one for `=`, `==`, `!=`, `>`
    /// and `<` (an integer for the last two); none for `Exists` and
    /// `DoesNotExist`; every value a valid label value. The error is kube's
    /// aggregated field error text (`key: Invalid value: ...`).
    pub fn new(key: &str, operator: Operator, values: Vec<String>) -> Result<Self, SelectorError> {
        new_requirement(key, operator, values).map_err(SelectorError::InvalidLabelSelector)
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The values, sorted and without duplicates.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Kube's `Requirement.Matches` against a label lookup.
    fn matches_with<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        let value = get(&self.key);
        let has = |v: &str| self.values.binary_search_by(|x| x.as_str().cmp(v)).is_ok();
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => value.is_some_and(has),
            Operator::NotIn | Operator::NotEquals => !value.is_some_and(has),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                // Go's strconv.ParseInt(s, 10, 64) accepts exactly what
                // i64::from_str does: an optional sign and decimal digits.
                let (Some(Ok(have)), [want]) = (value.map(str::parse::<i64>), self.values.as_slice()) else {
                    return false;
                };
                match want.parse::<i64>() {
                    Ok(want) if self.operator == Operator::GreaterThan => have > want,
                    Ok(want) => have < want,
                    Err(_) => false,
                }
            }
        }
    }
}

/// Go's `NewRequirement`, errors as the aggregate's text. `values` are
/// checked in the order given, as the field paths (`values[i]`) refer to it.
fn new_requirement(key: &str, operator: Operator, values: Vec<String>) -> Result<Requirement, String> {
    let mut errs = Vec::new();
    let key_errs = label_key_errors(key);
    if !key_errs.is_empty() {
        errs.push(invalid("key", BadValue::Str(key), &key_errs.join("; ")));
    }
    let list = BadValue::List(&values);
    match operator {
        Operator::In | Operator::NotIn if values.is_empty() => errs.push(invalid(
            "values",
            list,
            "for 'in', 'notin' operators, values set can't be empty",
        )),
        Operator::Equals | Operator::DoubleEquals | Operator::NotEquals if values.len() != 1 => {
            errs.push(invalid(
                "values",
                list,
                "exact-match compatibility requires one single value",
            ))
        }
        Operator::Exists | Operator::DoesNotExist if !values.is_empty() => errs.push(invalid(
            "values",
            list,
            "values set must be empty for exists and does not exist",
        )),
        Operator::GreaterThan | Operator::LessThan => {
            if values.len() != 1 {
                errs.push(invalid(
                    "values",
                    list,
                    "for 'Gt', 'Lt' operators, exactly one value is required",
                ));
            }
            for (i, v) in values.iter().enumerate() {
                if v.parse::<i64>().is_err() {
                    let detail = "for 'Gt', 'Lt' operators, the value must be an integer";
                    errs.push(invalid(&format!("values[{i}]"), BadValue::Str(v), detail));
                }
            }
        }
        _ => {}
    }
    for (i, v) in values.iter().enumerate() {
        let value_errs = label_value_errors(v);
        if !value_errs.is_empty() {
            errs.push(invalid(
                &format!("values[{i}][{key}]"),
                BadValue::Str(v),
                &value_errs.join("; "),
            ));
        }
    }
    if let Some(message) = aggregate(errs) {
        return Err(message);
    }
    let mut values = values;
    values.sort();
    values.dedup();
    Ok(Requirement {
        key: key.to_owned(),
        operator,
        values,
    })
}

impl fmt::Display for Requirement {
    /// Kube's `Requirement.String()`: `!k`, `k`, `k=v`, `k==v`, `k!=v`,
    /// `k>v`, `k<v`, `k in (a,b)`, `k notin (a,b)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values = self.values.join(",");
        match self.operator {
            Operator::Exists => write!(f, "{}", self.key),
            Operator::DoesNotExist => write!(f, "!{}", self.key),
            Operator::In => write!(f, "{} in ({values})", self.key),
            Operator::NotIn => write!(f, "{} notin ({values})", self.key),
            Operator::Equals => write!(f, "{}={values}", self.key),
            Operator::DoubleEquals => write!(f, "{}=={values}", self.key),
            Operator::NotEquals => write!(f, "{}!={values}", self.key),
            Operator::GreaterThan => write!(f, "{}>{values}", self.key),
            Operator::LessThan => write!(f, "{}<{values}", self.key),
        }
    }
}

/// A label selector: the AND of its requirements.
///
/// Besides parsed selectors it can be kube's `Nothing()` selector, which only
/// [`from_optional_label_selector`](super::from_optional_label_selector)
/// produces for an absent API selector that must select nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LabelSelector {
    /// Stably sorted by key, as kube sorts (its `sort.Sort` is an insertion
    /// sort, hence stable, below 13 requirements): `String()` output then
    /// matches kube's byte for byte. Requirements sharing a key keep their
    /// written order, so `x,x!=a` and `x!=a,x` are unequal (as in kube)
    /// though they select the same labels.
    requirements: Vec<Requirement>,
    nothing: bool,
}

impl LabelSelector {
    /// Parses a selector string as kube-apiserver's `labels.Parse` does:
    ///
    /// ```text
    /// <selector>    ::= "" | <requirement> { "," <requirement> }
    /// <requirement> ::= [ "!" ] KEY
    ///                 | KEY ( "in" | "notin" ) "(" [ VALUE { "," VALUE } ] ")"
    ///                 | KEY ( "=" | "==" | "!=" | ">" | "<" ) [ VALUE ]
    /// ```
    ///
    /// with kube's quirks: whitespace is allowed between any two tokens;
    /// `x in ()` means `x in ("")`; empty values between commas are `""`;
    /// `in`/`notin` are ordinary identifiers where a key or value is
    /// expected. Errors carry kube's messages, e.g. `unable to parse
    /// requirement: ...` or `found '(', expected: ...`.
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let items = scan(s);
        let requirements = Parser { items, pos: 0 }
            .parse()
            .map_err(SelectorError::InvalidLabelSelector)?;
        Ok(Self::from_requirements(requirements))
    }

    /// The selector requiring all of `requirements`.
    pub fn from_requirements(mut requirements: Vec<Requirement>) -> Self {
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Self {
            requirements,
            nothing: false,
        }
    }

    /// The empty selector, which matches every label set.
    pub fn everything() -> Self {
        Self::default()
    }

    /// Kube's `labels.Nothing()`: matches no label set at all. It has no
    /// string form; see the `Display` impl.
    pub fn nothing() -> Self {
        Self {
            requirements: Vec::new(),
            nothing: true,
        }
    }

    /// True for the selector that matches everything (kube's `Empty()`).
    pub fn is_empty(&self) -> bool {
        !self.nothing && self.requirements.is_empty()
    }

    /// True for [`LabelSelector::nothing`].
    pub fn is_nothing(&self) -> bool {
        self.nothing
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// True when `labels` satisfies every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches_with(|k| labels.get(k).map(String::as_str))
    }

    /// Like [`matches`](Self::matches) for an object's `metadata.labels`
    /// JSON. A missing or non-object value is an empty label set; an entry
    /// whose value is not a string (which an API server never stores)
    /// counts as absent.
    pub fn matches_json(&self, labels: Option<&serde_json::Value>) -> bool {
        let map = labels.and_then(serde_json::Value::as_object);
        self.matches_with(|k| map.and_then(|m| m.get(k)).and_then(serde_json::Value::as_str))
    }

    fn matches_with<'a>(&self, get: impl Fn(&str) -> Option<&'a str> + Copy) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches_with(get))
    }
}

impl fmt::Display for LabelSelector {
    /// Kube's `String()`: requirements joined by `,` in key order, values
    /// sorted and de-duplicated. Parsing the output gives an equal
    /// selector, except for [`LabelSelector::nothing`], which renders as
    /// `""` like kube's, and that string parses as everything: check
    /// `is_nothing()` before sending a selector's text anywhere.
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

impl std::str::FromStr for LabelSelector {
    type Err = SelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    /// Where `in` and `notin` are plain identifiers.
    Values,
}

/// A port of apimachinery's recursive-descent `Parser`, error texts included.
struct Parser {
    /// Never empty: `scan` always ends with `EndOfString`.
    items: Vec<(Token, String)>,
    pos: usize,
}

impl Parser {
    fn lookahead(&self, ctx: Context) -> (Token, String) {
        // Go indexes past the end only on inputs it would reject first;
        // clamping to the final EndOfString keeps that path panic-free.
        let (tok, lit) = self
            .items
            .get(self.pos)
            .or(self.items.last())
            .cloned()
            .unwrap_or((Token::EndOfString, String::new()));
        match tok {
            Token::In | Token::NotIn if ctx == Context::Values => (Token::Identifier, lit),
            _ => (tok, lit),
        }
    }

    fn consume(&mut self, ctx: Context) -> (Token, String) {
        let item = self.lookahead(ctx);
        self.pos += 1;
        item
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, String> {
        let mut requirements = Vec::new();
        loop {
            let (tok, lit) = self.lookahead(Context::Values);
            match tok {
                Token::Identifier | Token::DoesNotExist => {
                    let r = self
                        .parse_requirement()
                        .map_err(|e| format!("unable to parse requirement: {e}"))?;
                    requirements.push(r);
                    let (t, l) = self.consume(Context::Values);
                    match t {
                        Token::EndOfString => return Ok(requirements),
                        Token::Comma => {
                            let (t2, l2) = self.lookahead(Context::Values);
                            if t2 != Token::Identifier && t2 != Token::DoesNotExist {
                                return Err(format!("found '{l2}', expected: identifier after ','"));
                            }
                        }
                        _ => return Err(format!("found '{l}', expected: ',' or 'end of string'")),
                    }
                }
                Token::EndOfString => return Ok(requirements),
                _ => {
                    return Err(format!(
                        "found '{lit}', expected: !, identifier, or 'end of string'"
                    ))
                }
            }
        }
    }

    fn parse_requirement(&mut self) -> Result<Requirement, String> {
        let (key, inferred) = self.parse_key_and_infer_operator()?;
        if let Some(op) = inferred {
            return new_requirement(&key, op, Vec::new());
        }
        let op = self.parse_operator()?;
        let values = match op {
            Operator::In | Operator::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        new_requirement(&key, op, values.into_iter().collect())
    }

    /// The key, and `Exists`/`DoesNotExist` when no binary operator follows.
    fn parse_key_and_infer_operator(&mut self) -> Result<(String, Option<Operator>), String> {
        let mut op = None;
        let (mut tok, mut lit) = self.consume(Context::Values);
        if tok == Token::DoesNotExist {
            op = Some(Operator::DoesNotExist);
            (tok, lit) = self.consume(Context::Values);
        }
        if tok != Token::Identifier {
            return Err(format!("found '{lit}', expected: identifier"));
        }
        let errs = label_key_errors(&lit);
        if !errs.is_empty() {
            // Kube validates with a nil field path here, which prints as "<nil>".
            return Err(invalid("<nil>", BadValue::Str(&lit), &errs.join("; ")));
        }
        let (next, _) = self.lookahead(Context::Values);
        if op.is_none() && matches!(next, Token::EndOfString | Token::Comma) {
            op = Some(Operator::Exists);
        }
        Ok((lit, op))
    }

    fn parse_operator(&mut self) -> Result<Operator, String> {
        let (tok, lit) = self.consume(Context::KeyAndOperator);
        Ok(match tok {
            Token::In => Operator::In,
            Token::Equals => Operator::Equals,
            Token::DoubleEquals => Operator::DoubleEquals,
            Token::GreaterThan => Operator::GreaterThan,
            Token::LessThan => Operator::LessThan,
            Token::NotIn => Operator::NotIn,
            Token::NotEquals => Operator::NotEquals,
            _ => return Err(format!("found '{lit}', expected: in, notin, =, ==, !=, gt, lt")),
        })
    }

    /// `( a, b, ... )`; `()` is the set `{""}`.
    fn parse_values(&mut self) -> Result<BTreeSet<String>, String> {
        let (tok, lit) = self.consume(Context::Values);
        if tok != Token::OpenPar {
            return Err(format!("found '{lit}' expected: '('"));
        }
        let (tok, lit) = self.lookahead(Context::Values);
        match tok {
            Token::Identifier | Token::Comma => {
                let set = self.parse_identifiers_list()?;
                if self.consume(Context::Values).0 != Token::ClosedPar {
                    return Err(format!("found '{lit}', expected: ')'"));
                }
                Ok(set)
            }
            Token::ClosedPar => {
                self.consume(Context::Values);
                Ok(BTreeSet::from([String::new()]))
            }
            _ => Err(format!("found '{lit}', expected: ',', ')' or identifier")),
        }
    }

    /// Comma-separated, possibly empty identifiers, up to (not including)
    /// `)`. v1.34 consumes the second comma of `,,`, so `(a,,)` is an error
    /// while `(,)` and `(a,,b)` are not (kubernetes 1.35 accepts `(a,,)`).
    fn parse_identifiers_list(&mut self) -> Result<BTreeSet<String>, String> {
        let mut set = BTreeSet::new();
        loop {
            let (tok, lit) = self.consume(Context::Values);
            match tok {
                Token::Identifier => {
                    set.insert(lit);
                    let (tok2, lit2) = self.lookahead(Context::Values);
                    match tok2 {
                        Token::Comma => continue,
                        Token::ClosedPar => return Ok(set),
                        _ => return Err(format!("found '{lit2}', expected: ',' or ')'")),
                    }
                }
                Token::Comma => {
                    if set.is_empty() {
                        set.insert(String::new());
                    }
                    let (tok2, _) = self.lookahead(Context::Values);
                    if tok2 == Token::ClosedPar {
                        set.insert(String::new());
                        return Ok(set);
                    }
                    if tok2 == Token::Comma {
                        self.consume(Context::Values);
                        set.insert(String::new());
                    }
                }
                _ => return Err(format!("found '{lit}', expected: ',', or identifier")),
            }
        }
    }

    /// The single value after `=`, `==`, `!=`, `>` or `<`; absent means "".
    fn parse_exact_value(&mut self) -> Result<BTreeSet<String>, String> {
        let (tok, _) = self.lookahead(Context::Values);
        if matches!(tok, Token::EndOfString | Token::Comma) {
            return Ok(BTreeSet::from([String::new()]));
        }
        match self.consume(Context::Values) {
            (Token::Identifier, lit) => Ok(BTreeSet::from([lit])),
            (_, lit) => Err(format!("found '{lit}', expected: identifier")),
        }
    }
}
