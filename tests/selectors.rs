//! Properties of label and field selectors that must hold for every input,
//! not just the apimachinery cases in the module's unit tests: rendering
//! round-trips, parsing never panics, matching agrees with a model written
//! straight from kube's documented semantics, and the structured API
//! selector agrees with its string form.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector as ApiSelector, LabelSelectorRequirement as ApiRequirement,
};
use kcp_tmc::selectors::{
    escape_value, from_label_selector, FieldOperator, FieldSelector, LabelSelector, Operator, Requirement,
    SelectorError,
};
use proptest::prelude::*;
use proptest::sample::select;

const ALL_OPS: [Operator; 9] = [
    Operator::In,
    Operator::NotIn,
    Operator::Equals,
    Operator::DoubleEquals,
    Operator::NotEquals,
    Operator::Exists,
    Operator::DoesNotExist,
    Operator::GreaterThan,
    Operator::LessThan,
];

/// A label name part: 1 to 63 characters, lengths near both limits likely.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[A-Za-z0-9]([-A-Za-z0-9_.]{0,6}[A-Za-z0-9])?",
        1 => "[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?",
        1 => select(vec!["in", "notin", "x", "a.b", "A_B-9"]).prop_map(str::to_owned),
    ]
}

/// A valid label key: an optional lowercase DNS-subdomain prefix and a name.
fn key() -> impl Strategy<Value = String> {
    let prefix = "[a-z0-9]([-a-z0-9]{0,8}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,8}[a-z0-9])?){0,3}";
    (proptest::option::weighted(0.3, prefix), name()).prop_map(|(p, n)| match p {
        Some(p) => format!("{p}/{n}"),
        None => n,
    })
}

/// A valid label value, often empty, sometimes a keyword of the grammar.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![1 => Just(String::new()), 4 => name()]
}

/// A decimal that both is a valid label value and parses as an i64.
fn int_value() -> impl Strategy<Value = String> {
    "[0-9]{1,18}"
}

/// A valid requirement with any operator.
fn requirement() -> impl Strategy<Value = Requirement> {
    (key(), select(ALL_OPS.to_vec()))
        .prop_flat_map(|(k, op)| {
            let values = match op {
                Operator::In | Operator::NotIn => proptest::collection::vec(value(), 1..5).boxed(),
                Operator::Exists | Operator::DoesNotExist => Just(vec![]).boxed(),
                Operator::GreaterThan | Operator::LessThan => int_value().prop_map(|v| vec![v]).boxed(),
                _ => value().prop_map(|v| vec![v]).boxed(),
            };
            (Just(k), Just(op), values)
        })
        .prop_map(|(k, op, values)| {
            Requirement::new(&k, op, values).expect("generated requirements are valid")
        })
}

fn selector() -> impl Strategy<Value = LabelSelector> {
    proptest::collection::vec(requirement(), 0..6).prop_map(LabelSelector::from_requirements)
}

/// Whitespace the lexer skips; `min` 1 where tokens would otherwise merge.
fn ws(min: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(select(vec![' ', '\t', '\n', '\r']), min..min + 3)
        .prop_map(|v| v.into_iter().collect())
}

/// Renders `r` with random insignificant whitespace between its tokens.
fn spaced(r: &Requirement) -> BoxedStrategy<String> {
    let (k, vals) = (r.key().to_owned(), r.values().to_vec());
    let w = || ws(0);
    match r.operator() {
        Operator::Exists => (w(), w()).prop_map(move |(a, b)| format!("{a}{k}{b}")).boxed(),
        Operator::DoesNotExist => (w(), w(), w())
            .prop_map(move |(a, b, c)| format!("{a}!{b}{k}{c}"))
            .boxed(),
        Operator::In | Operator::NotIn => {
            let op = if r.operator() == Operator::In {
                "in"
            } else {
                "notin"
            };
            let gaps = proptest::collection::vec(w(), vals.len() * 2 + 4);
            (ws(1), gaps)
                .prop_map(move |(after_key, g)| {
                    let inner: Vec<String> = vals
                        .iter()
                        .enumerate()
                        .map(|(i, v)| format!("{}{v}{}", g[2 * i], g[2 * i + 1]))
                        .collect();
                    let n = g.len();
                    format!(
                        "{}{k}{after_key}{op}{}({}){}",
                        g[n - 4],
                        g[n - 3],
                        inner.join(","),
                        g[n - 2]
                    )
                })
                .boxed()
        }
        op => {
            let sym = match op {
                Operator::Equals => "=",
                Operator::DoubleEquals => "==",
                Operator::NotEquals => "!=",
                Operator::GreaterThan => ">",
                _ => "<",
            };
            let v = vals[0].clone();
            (w(), w(), w(), w())
                .prop_map(move |(a, b, c, d)| format!("{a}{k}{b}{sym}{c}{v}{d}"))
                .boxed()
        }
    }
}

/// A string mixing the grammar's tokens, whitespace, NULs and unicode, so
/// that random inputs reach deep into the parser rather than failing early.
fn token_soup() -> impl Strategy<Value = String> {
    let tokens = vec![
        "x", "y", "a.b/c", "in", "notin", "(", ")", ",", "=", "==", "!=", "!", ">", "<", " ", "\t", "\n",
        "\r", "\0", "1", "-1", "+2", "ключ", "\u{a0}", "\u{b}", "_", "-", ".", "/", "\\", "\"", "😀",
        "\u{200b}",
    ];
    prop_oneof![
        3 => proptest::collection::vec(select(tokens), 0..14).prop_map(|t| t.concat()),
        1 => any::<String>(),
        1 => "\\PC{0,20}",
    ]
}

/// Labels over a small alphabet, so requirements hit existing keys often;
/// values include ones a real object could not carry ("-3", "+2").
fn labels() -> impl Strategy<Value = BTreeMap<String, String>> {
    let keys = select(vec!["a", "b", "c", "in", "example.com/d"]).prop_map(str::to_owned);
    let values = select(vec![
        "",
        "x",
        "y",
        "0",
        "1",
        "2",
        "10",
        "-3",
        "+2",
        "1.5",
        "99999999999999999999",
    ])
    .prop_map(str::to_owned);
    proptest::collection::btree_map(keys, values, 0..5)
}

/// A requirement over the same small alphabet as [`labels`].
fn small_requirement() -> impl Strategy<Value = (String, Operator, Vec<String>)> {
    let key = select(vec!["a", "b", "c", "in", "example.com/d"]).prop_map(str::to_owned);
    let val = || select(vec!["", "x", "y", "0", "1", "2", "10"]).prop_map(str::to_owned);
    let int = select(vec!["0", "1", "2", "10"]).prop_map(str::to_owned);
    (key, select(ALL_OPS.to_vec())).prop_flat_map(move |(k, op)| {
        let values = match op {
            Operator::In | Operator::NotIn => proptest::collection::vec(val(), 1..4).boxed(),
            Operator::Exists | Operator::DoesNotExist => Just(vec![]).boxed(),
            Operator::GreaterThan | Operator::LessThan => int.clone().prop_map(|v| vec![v]).boxed(),
            _ => val().prop_map(|v| vec![v]).boxed(),
        };
        (Just(k), Just(op), values)
    })
}

/// Go's `strconv.ParseInt(s, 10, 64)`, written out independently.
fn go_parse_int(s: &str) -> Option<i64> {
    let (neg, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut n: i128 = 0;
    for b in digits.bytes() {
        n = n * 10 + i128::from(b - b'0');
        if n > i128::from(i64::MAX) + 1 {
            return None;
        }
    }
    i64::try_from(if neg { -n } else { n }).ok()
}

/// Kube's selector semantics, stated directly: every requirement must hold;
/// `in`/`=`/`==` need the key present with a listed value; `notin`/`!=` hold
/// when the key is absent or its value is unlisted; `>`/`<` need the key
/// present with an integer value on the right side of the bound.
fn model_matches(reqs: &[(String, Operator, Vec<String>)], labels: &BTreeMap<String, String>) -> bool {
    reqs.iter().all(|(k, op, vals)| {
        let v = labels.get(k);
        match op {
            Operator::In | Operator::Equals | Operator::DoubleEquals => v.is_some_and(|v| vals.contains(v)),
            Operator::NotIn | Operator::NotEquals => v.is_none_or(|v| !vals.contains(v)),
            Operator::Exists => v.is_some(),
            Operator::DoesNotExist => v.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let bound = go_parse_int(&vals[0]).expect("generated bounds are integers");
                match v.and_then(|v| go_parse_int(v)) {
                    None => false,
                    Some(n) if *op == Operator::GreaterThan => n > bound,
                    Some(n) => n < bound,
                }
            }
        }
    })
}

/// A structured API selector over the small alphabet, and what it means as
/// model requirements.
fn api_selector() -> impl Strategy<Value = (ApiSelector, Vec<(String, Operator, Vec<String>)>)> {
    let key = || select(vec!["a", "b", "c", "in", "example.com/d"]).prop_map(str::to_owned);
    let val = || select(vec!["", "x", "y", "0", "1"]).prop_map(str::to_owned);
    let expr = (
        key(),
        select(vec!["In", "NotIn", "Exists", "DoesNotExist"]),
        proptest::collection::vec(val(), 1..4),
    )
        .prop_map(|(key, op, values)| {
            let has_values = op == "In" || op == "NotIn";
            ApiRequirement {
                key,
                operator: op.to_owned(),
                values: has_values.then_some(values),
            }
        });
    (
        proptest::option::of(proptest::collection::btree_map(key(), val(), 0..3)),
        proptest::option::of(proptest::collection::vec(expr, 0..4)),
    )
        .prop_map(|(match_labels, match_expressions)| {
            let mut model = Vec::new();
            for (k, v) in match_labels.iter().flatten() {
                model.push((k.clone(), Operator::Equals, vec![v.clone()]));
            }
            for e in match_expressions.iter().flatten() {
                let op = match e.operator.as_str() {
                    "In" => Operator::In,
                    "NotIn" => Operator::NotIn,
                    "Exists" => Operator::Exists,
                    _ => Operator::DoesNotExist,
                };
                model.push((e.key.clone(), op, e.values.clone().unwrap_or_default()));
            }
            (
                ApiSelector {
                    match_labels,
                    match_expressions,
                },
                model,
            )
        })
}

/// Parses a field selector, accepting whatever fields it names.
fn parse_fields_any(s: &str) -> Result<FieldSelector, SelectorError> {
    let mut supported: Vec<String> = Vec::new();
    loop {
        let refs: Vec<&str> = supported.iter().map(String::as_str).collect();
        match FieldSelector::parse(s, &refs) {
            Err(SelectorError::FieldLabelNotSupported(f)) if !supported.contains(&f) => supported.push(f),
            other => return other,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// (1) Any valid selector renders to a string that parses back to it.
    #[test]
    fn rendered_selectors_parse_back_equal(sel in selector()) {
        let text = sel.to_string();
        let parsed = LabelSelector::parse(&text);
        prop_assert_eq!(parsed.as_ref(), Ok(&sel), "text: {:?}", text);
        prop_assert_eq!(parsed.unwrap().to_string(), text);
    }

    /// (1') ... also when whitespace is scattered wherever the lexer skips it.
    #[test]
    fn whitespace_between_tokens_is_insignificant(
        (sel, text) in selector().prop_flat_map(|sel| {
            let parts: Vec<BoxedStrategy<String>> = sel.requirements().iter().map(spaced).collect();
            (Just(sel), parts.prop_map(|p| p.join(",")))
        })
    ) {
        prop_assert_eq!(LabelSelector::parse(&text), Ok(sel), "text: {:?}", text);
    }

    /// (2) Parsing never panics; whatever parses renders and re-parses to
    /// itself, and that rendering is a fixed point.
    #[test]
    fn parsing_arbitrary_strings_never_panics(s in token_soup()) {
        if let Ok(sel) = LabelSelector::parse(&s) {
            let text = sel.to_string();
            let again = LabelSelector::parse(&text);
            prop_assert_eq!(again.as_ref(), Ok(&sel), "input {:?} rendered {:?}", s, text);
            prop_assert_eq!(again.unwrap().to_string(), text);
        }
        if let Ok(sel) = parse_fields_any(&s) {
            prop_assert_eq!(parse_fields_any(&sel.to_string()), Ok(sel), "input {:?}", s);
        }
    }

    /// (3) Matching agrees with the model, for the parsed selector, its JSON
    /// form and its rendered-and-reparsed form.
    #[test]
    fn matching_agrees_with_the_model(
        reqs in proptest::collection::vec(small_requirement(), 0..5),
        labels in labels(),
    ) {
        let want = model_matches(&reqs, &labels);
        let built: Vec<Requirement> =
            reqs.iter().map(|(k, op, v)| Requirement::new(k, *op, v.clone()).unwrap()).collect();
        let sel = LabelSelector::from_requirements(built);
        prop_assert_eq!(sel.matches(&labels), want, "{} on {:?}", sel, labels);
        let json = serde_json::to_value(&labels).unwrap();
        prop_assert_eq!(sel.matches_json(Some(&json)), want);
        let reparsed = LabelSelector::parse(&sel.to_string()).unwrap();
        prop_assert_eq!(reparsed.matches(&labels), want);
    }

    /// (4) A structured API selector and the parse of its rendering select
    /// the same label sets, and both agree with the model.
    #[test]
    fn api_selectors_agree_with_their_string_form(
        (api, model) in api_selector(),
        label_sets in proptest::collection::vec(labels(), 1..8),
    ) {
        let sel = from_label_selector(&api).unwrap();
        let parsed = LabelSelector::parse(&sel.to_string()).unwrap();
        prop_assert_eq!(&parsed, &sel);
        for labels in &label_sets {
            let want = model_matches(&model, labels);
            prop_assert_eq!(sel.matches(labels), want, "{} on {:?}", sel, labels);
            prop_assert_eq!(parsed.matches(labels), want);
        }
    }

    /// Field selectors: any field values (escaped) round-trip, and matching
    /// agrees with a direct reading of `=` / `!=` on the object's JSON.
    #[test]
    fn field_selectors_round_trip_and_match(
        terms in proptest::collection::vec(
            (select(vec!["metadata.name", "metadata.namespace"]), any::<bool>(), ".*"), 0..4),
        name in proptest::option::of(select(vec!["", "web", "a,b=c\\"])),
        namespace in proptest::option::of(select(vec!["", "prod", "a,b=c\\"])),
    ) {
        let text = terms
            .iter()
            .map(|(f, eq, v)| format!("{f}{}{}", if *eq { "=" } else { "!=" }, escape_value(v)))
            .collect::<Vec<_>>()
            .join(",");
        let supported = ["metadata.name", "metadata.namespace"];
        let sel = FieldSelector::parse(&text, &supported).unwrap();
        prop_assert_eq!(FieldSelector::parse(&sel.to_string(), &supported), Ok(sel.clone()));
        let op = |eq: bool| if eq { FieldOperator::Equals } else { FieldOperator::NotEquals };
        let mut want_reqs: Vec<_> =
            terms.iter().map(|(f, eq, v)| (f.to_string(), op(*eq), v.clone())).collect();
        want_reqs.sort();
        let got: Vec<_> = sel
            .requirements()
            .iter()
            .map(|r| (r.field().to_owned(), r.operator(), r.value().to_owned()))
            .collect();
        prop_assert_eq!(got, want_reqs);
        let mut meta = serde_json::Map::new();
        if let Some(n) = name {
            meta.insert("name".into(), n.into());
        }
        if let Some(ns) = namespace {
            meta.insert("namespace".into(), ns.into());
        }
        let obj = serde_json::json!({ "metadata": meta });
        let want = terms.iter().all(|(f, eq, v)| {
            let got = obj["metadata"][f.trim_start_matches("metadata.")].as_str().unwrap_or("");
            (got == v) == *eq
        });
        prop_assert_eq!(sel.matches(&obj), want, "{:?}", text);
        let unsupported = FieldSelector::parse(&format!("spec.x=1,{text}"), &supported);
        prop_assert_eq!(unsupported, Err(SelectorError::FieldLabelNotSupported("spec.x".into())));
    }
}
