//! Table-driven tests for label selectors, mostly apimachinery's own cases
//! (pkg/labels/selector_test.go, v1.34) with kube's exact error texts.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector as ApiSelector, LabelSelectorRequirement as ApiRequirement,
};
use serde_json::json;

use super::Operator::*;
use super::*;

/// The detail kube gives for a bad key name part (regex text included).
const NAME_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
/// The detail kube gives for a bad label value.
const VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const PREFIX_MSG: &str = "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

fn parse(s: &str) -> LabelSelector {
    LabelSelector::parse(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
}

fn parse_err(s: &str) -> String {
    match LabelSelector::parse(s) {
        Ok(sel) => panic!("{s:?} should not parse, got {sel:?}"),
        Err(e) => e.to_string(),
    }
}

fn req(key: &str, op: Operator, values: &[&str]) -> Requirement {
    Requirement::new(key, op, values.iter().map(|v| v.to_string()).collect()).unwrap()
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// TestSelectorParse: good strings render back without their spaces.
#[test]
fn good_strings_round_trip_as_kube_renders_them() {
    let good = [
        "x=a,y=b,z=c",
        "",
        "x!=a,y=b",
        "x=",
        "x= ",
        "x=,z= ",
        "x= ,z= ",
        "!x",
        "x>1",
        "x>1,z<5",
    ];
    for s in good {
        let sel = parse(s);
        assert_eq!(sel.to_string(), s.replace(' ', ""), "{s:?}");
        assert_eq!(parse(&sel.to_string()), sel);
    }
    // TestDeterministicParse.
    assert_eq!(parse("x=a,a=x").to_string(), parse("a=x,x=a").to_string());
    assert_eq!(parse("x=a,a=x"), parse("a=x,x=a"));
}

/// TestSetSelectorParser: the valid inputs and the requirements they mean.
#[test]
fn parses_into_kube_requirements() {
    let cases: Vec<(&str, Vec<Requirement>)> = vec![
        ("", vec![]),
        ("\rx", vec![req("x", Exists, &[])]),
        (
            "this-is-a-dns.domain.com/key-with-dash",
            vec![req("this-is-a-dns.domain.com/key-with-dash", Exists, &[])],
        ),
        (
            "this-is-another-dns.domain.com/key-with-dash in (so,what)",
            vec![req(
                "this-is-another-dns.domain.com/key-with-dash",
                In,
                &["so", "what"],
            )],
        ),
        (
            "0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
            vec![req("0.1.2.domain/99", NotIn, &["10.10.100.1", "tick.tack.clock"])],
        ),
        ("foo  in\t (abc)", vec![req("foo", In, &["abc"])]),
        ("x notin\n (abc)", vec![req("x", NotIn, &["abc"])]),
        ("x  notin\t\t\t(abc,def)", vec![req("x", NotIn, &["abc", "def"])]),
        ("x in (abc,def)", vec![req("x", In, &["abc", "def"])]),
        ("x in (abc,)", vec![req("x", In, &["abc", ""])]),
        ("x in (abc,abc)", vec![req("x", In, &["abc"])]),
        ("x in ()", vec![req("x", In, &[""])]),
        ("x in ( a , b )", vec![req("x", In, &["a", "b"])]),
        ("x in (,)", vec![req("x", In, &[""])]),
        ("x in (a,,b)", vec![req("x", In, &["a", "", "b"])]),
        ("x in (a,,,)", vec![req("x", In, &["a", ""])]),
        (
            "x notin (abc,,def),bar,z in (),w",
            vec![
                req("bar", Exists, &[]),
                req("w", Exists, &[]),
                req("x", NotIn, &["abc", "", "def"]),
                req("z", In, &[""]),
            ],
        ),
        ("x,y in (a)", vec![req("y", In, &["a"]), req("x", Exists, &[])]),
        ("x=a", vec![req("x", Equals, &["a"])]),
        ("x==a", vec![req("x", DoubleEquals, &["a"])]),
        ("x=", vec![req("x", Equals, &[""])]),
        ("x==", vec![req("x", DoubleEquals, &[""])]),
        ("x!=", vec![req("x", NotEquals, &[""])]),
        ("x>1", vec![req("x", GreaterThan, &["1"])]),
        ("x<7", vec![req("x", LessThan, &["7"])]),
        (
            "x=a,y!=b",
            vec![req("x", Equals, &["a"]), req("y", NotEquals, &["b"])],
        ),
        (
            "x=a,y!=b,z in (h,i,j)",
            vec![
                req("x", Equals, &["a"]),
                req("y", NotEquals, &["b"]),
                req("z", In, &["h", "i", "j"]),
            ],
        ),
        ("x notin ( )", vec![req("x", NotIn, &[""])]),
        ("x notin (, a)", vec![req("x", NotIn, &["", "a"])]),
        ("a ", vec![req("a", Exists, &[])]),
        (
            "a in (x,y,notin, z,in)",
            vec![req("a", In, &["in", "notin", "x", "y", "z"])],
        ),
        ("!x", vec![req("x", DoesNotExist, &[])]),
        ("! x", vec![req("x", DoesNotExist, &[])]),
        ("x!=y", vec![req("x", NotEquals, &["y"])]),
        (
            "  x\t!=\ty  ,\n z = w ",
            vec![req("x", NotEquals, &["y"]), req("z", Equals, &["w"])],
        ),
        ("a,b", vec![req("a", Exists, &[]), req("b", Exists, &[])]),
        ("a,!b", vec![req("a", Exists, &[]), req("b", DoesNotExist, &[])]),
        // `in` and `notin` are identifiers where keys and values go.
        ("in in (in)", vec![req("in", In, &["in"])]),
        ("notin=in", vec![req("notin", Equals, &["in"])]),
        ("notin", vec![req("notin", Exists, &[])]),
        ("!in", vec![req("in", DoesNotExist, &[])]),
        (
            "x=a,x=a",
            vec![req("x", Equals, &["a"]), req("x", Equals, &["a"])],
        ),
        (
            "example.com/app=web",
            vec![req("example.com/app", Equals, &["web"])],
        ),
        // A NUL byte is "end of input" where a token may start.
        ("\0x=y", vec![]),
        ("x=\0y", vec![req("x", Equals, &["y"])]),
        ("x\0", vec![req("x", Exists, &[])]),
    ];
    for (s, want) in cases {
        assert_eq!(parse(s), LabelSelector::from_requirements(want), "{s:?}");
    }
}

/// TestSelectorParse / TestSetSelectorParser bad strings, with kube's texts.
#[test]
fn rejects_bad_strings_with_kube_messages() {
    let ops = "in, notin, =, ==, !=, gt, lt";
    let cases = [
        ("x=a||y=b", format!("unable to parse requirement: values[0][x]: Invalid value: \"a||y\": {VALUE_MSG}")),
        ("x==a==b", "found '==', expected: ',' or 'end of string'".into()),
        ("!x=a", "found '=', expected: ',' or 'end of string'".into()),
        (
            "x<a",
            "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer".into(),
        ),
        (
            "x>",
            "unable to parse requirement: values[0]: Invalid value: \"\": for 'Gt', 'Lt' operators, the value must be an integer".into(),
        ),
        (
            "x>1.5",
            "unable to parse requirement: values[0]: Invalid value: \"1.5\": for 'Gt', 'Lt' operators, the value must be an integer".into(),
        ),
        ("x,,y", "found ',', expected: identifier after ','".into()),
        (",x,y", "found ',', expected: !, identifier, or 'end of string'".into()),
        ("x nott in (y)", format!("unable to parse requirement: found 'nott', expected: {ops}")),
        ("a in (xyz),", "found '', expected: identifier after ','".into()),
        ("a,", "found '', expected: identifier after ','".into()),
        ("a, ", "found '', expected: identifier after ','".into()),
        ("a,)", "found ')', expected: identifier after ','".into()),
        ("a in (xyz)b notin ()", "found 'b', expected: ',' or 'end of string'".into()),
        ("a in (xyz abc)", "unable to parse requirement: found 'abc', expected: ',' or ')'".into()),
        ("a notin(", "unable to parse requirement: found '', expected: ',', ')' or identifier".into()),
        ("x in (", "unable to parse requirement: found '', expected: ',', ')' or identifier".into()),
        ("x in (a", "unable to parse requirement: found '', expected: ',' or ')'".into()),
        ("x in (a,", "unable to parse requirement: found '', expected: ',', or identifier".into()),
        ("x in a", "unable to parse requirement: found 'a' expected: '('".into()),
        ("x in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier".into()),
        ("x in (a,=)", "unable to parse requirement: found '=', expected: ',', or identifier".into()),
        // v1.34 quirk: the second comma of ",," is swallowed (fixed in 1.35).
        ("x in (a,,)", "unable to parse requirement: found ')', expected: ',', or identifier".into()),
        ("a (", format!("unable to parse requirement: found '(', expected: {ops}")),
        ("x ! = y", format!("unable to parse requirement: found '!', expected: {ops}")),
        ("x= =y", "unable to parse requirement: found '=', expected: identifier".into()),
        ("x=(", "unable to parse requirement: found '(', expected: identifier".into()),
        ("(", "found '(', expected: !, identifier, or 'end of string'".into()),
        (")", "found ')', expected: !, identifier, or 'end of string'".into()),
        ("=x", "found '=', expected: !, identifier, or 'end of string'".into()),
        ("!", "unable to parse requirement: found '', expected: identifier".into()),
        ("!!x", "unable to parse requirement: found '!', expected: identifier".into()),
        ("!=x", "found '!=', expected: !, identifier, or 'end of string'".into()),
        ("a\0b", format!("unable to parse requirement: found 'b', expected: {ops}")),
    ];
    for (s, want) in cases {
        assert_eq!(parse_err(s), want, "{s:?}");
    }
}

#[test]
fn validates_keys_and_values_like_kube() {
    let long63 = "a".repeat(63);
    let long64 = "a".repeat(64);
    let prefix253 = "a".repeat(253);
    let prefix254 = "a".repeat(254);
    parse(&format!("{long63}={long63}"));
    parse(&format!("{prefix253}/{long63}"));
    let nil = "unable to parse requirement: <nil>: Invalid value:";
    let cases = [
        (long64.clone(), format!("{nil} \"{long64}\": name part must be no more than 63 characters")),
        (
            format!("{prefix254}/x"),
            format!("{nil} \"{prefix254}/x\": prefix part must be no more than 253 characters"),
        ),
        (
            format!("x={long64}"),
            format!("unable to parse requirement: values[0][x]: Invalid value: \"{long64}\": must be no more than 63 characters"),
        ),
        (
            "a/b/c".into(),
            format!("{nil} \"a/b/c\": a qualified name {NAME_MSG} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"),
        ),
        ("/x".into(), format!("{nil} \"/x\": prefix part must be non-empty")),
        ("Example.com/x".into(), format!("{nil} \"Example.com/x\": {PREFIX_MSG}")),
        ("a..b/x".into(), format!("{nil} \"a..b/x\": {PREFIX_MSG}")),
        ("example.com/".into(), format!("{nil} \"example.com/\": name part must be non-empty; name part {NAME_MSG}")),
        ("-x".into(), format!("{nil} \"-x\": name part {NAME_MSG}")),
        ("x_".into(), format!("{nil} \"x_\": name part {NAME_MSG}")),
        ("ключ=v".into(), format!("{nil} \"ключ\": name part {NAME_MSG}")),
        ("x\u{b}".into(), format!("{nil} \"x\\v\": name part {NAME_MSG}")),
        ("\u{a0}x".into(), format!("{nil} \"\\u00a0x\": name part {NAME_MSG}")),
        ("x\"y".into(), format!("{nil} \"x\\\"y\": name part {NAME_MSG}")),
        ("x=значение".into(), format!("unable to parse requirement: values[0][x]: Invalid value: \"значение\": {VALUE_MSG}")),
        ("x in (a,-b)".into(), format!("unable to parse requirement: values[0][x]: Invalid value: \"-b\": {VALUE_MSG}")),
        // Both checks fail for a negative bound: only the value check
        // reports, since "-1" is an integer.
        ("x>-1".into(), format!("unable to parse requirement: values[0][x]: Invalid value: \"-1\": {VALUE_MSG}")),
        (
            "x<b_".into(),
            format!("unable to parse requirement: [values[0]: Invalid value: \"b_\": for 'Gt', 'Lt' operators, the value must be an integer, values[0][x]: Invalid value: \"b_\": {VALUE_MSG}]"),
        ),
    ];
    for (s, want) in cases {
        assert_eq!(parse_err(&s), want, "{s:?}");
    }
}

/// A selector, a label set, and whether the selector matches it.
type MatchCase<'a> = (&'a str, &'a [(&'a str, &'a str)], bool);

/// TestSelectorMatches and TestRequirementSelectorMatching.
#[test]
fn matches_like_kube() {
    let cases: &[MatchCase] = &[
        ("", &[("x", "y")], true),
        ("x=y", &[("x", "y")], true),
        ("x=y,z=w", &[("x", "y"), ("z", "w")], true),
        ("x!=y,z!=w", &[("x", "z"), ("z", "a")], true),
        ("notin=in", &[("notin", "in")], true),
        ("x", &[("x", "z")], true),
        ("!x", &[("y", "z")], true),
        ("x>1", &[("x", "2")], true),
        ("x<1", &[("x", "0")], true),
        ("x=z", &[], false),
        ("x=y", &[("x", "z")], false),
        ("x=y,z=w", &[("x", "w"), ("z", "w")], false),
        ("x!=y,z!=w", &[("x", "z"), ("z", "w")], false),
        ("x", &[("y", "z")], false),
        ("!x", &[("x", "z")], false),
        ("x>1", &[("x", "0")], false),
        ("x<1", &[("x", "2")], false),
        ("foo=bar,baz=blah", &[("foo", "bar"), ("baz", "blah")], true),
        (
            "foo=bar,foobar=bar,baz=blah",
            &[("foo", "bar"), ("baz", "blah")],
            false,
        ),
        ("x in (foo),y notin (alpha)", &[("x", "foo"), ("y", "baz")], true),
        ("x in (foo),y in (alpha)", &[("x", "foo"), ("y", "baz")], false),
        ("x notin (),y", &[("y", "")], true),
        ("!x,y", &[("y", "")], true),
        ("x notin (),!y", &[("y", "")], false),
        ("x in ()", &[("y", "baz")], false),
        ("x in ()", &[("x", "")], true),
        ("z>1", &[("z", "2")], true),
        ("z>1", &[("z", "v2")], false),
        // Absent keys: != and notin match, = / in / > / < do not.
        ("x!=a", &[], true),
        ("x notin (a,b)", &[], true),
        ("x in (a,b)", &[], false),
        ("x>0", &[], false),
        ("x<0", &[], false),
        ("x=", &[("x", "")], true),
        ("x=", &[], false),
        ("x!=", &[], true),
        ("x==a", &[("x", "a")], true),
        // Gt/Lt parse the label as Go's ParseInt does.
        ("x<1", &[("x", "-5")], true),
        ("x>1", &[("x", "+2")], true),
        ("x>1", &[("x", "2.0")], false),
        ("x>1", &[("x", "99999999999999999999")], false),
        ("x<10", &[("x", "09")], true),
        ("x>9223372036854775806", &[("x", "9223372036854775807")], true),
        // Conflicting requirements match nothing (TestMatchesNothing).
        ("a,!a", &[("a", "b")], false),
        ("a=b,a!=b", &[("a", "b")], false),
        ("a in (b),a notin (b)", &[("a", "b")], false),
    ];
    for (s, set, want) in cases {
        let sel = parse(s);
        let set = labels(set);
        assert_eq!(sel.matches(&set), *want, "{s:?} on {set:?}");
        let json = serde_json::to_value(&set).unwrap();
        assert_eq!(sel.matches_json(Some(&json)), *want, "{s:?} on JSON {json}");
    }
}

#[test]
fn matches_json_treats_missing_labels_as_empty() {
    let exists = parse("x");
    let absent = parse("!x");
    for missing in [None, Some(json!(null)), Some(json!("x")), Some(json!({}))] {
        assert!(!exists.matches_json(missing.as_ref()));
        assert!(absent.matches_json(missing.as_ref()));
        assert!(LabelSelector::everything().matches_json(missing.as_ref()));
    }
    assert!(
        absent.matches_json(Some(&json!({"x": 1}))),
        "non-string label values are absent"
    );
}

/// TestToString.
#[test]
fn renders_like_kube() {
    let cases = [
        ("x in (abc,def),y notin (jkl),z", "z,y notin (jkl),x in (def,abc)"),
        ("x notin (abc,def),y!=jkl,!z", "!z,x notin (def,abc),y!=jkl"),
        (
            "x notin (abc),y in (jkl,mno),z notin ()",
            "z notin (),y in (mno,jkl),x notin (abc)",
        ),
        ("x=abc,y==jkl,z!=a,z", "z!=a,z,y==jkl,x=abc"),
        // Same-key requirements keep their written order, as in kube.
        ("x,x!=a", "x,x!=a"),
        ("x!=a,x", "x!=a,x"),
        ("a=1,b=2,x!=a,x", "a=1,x!=a,b=2,x"),
        ("x>2,y<8,z", "z,y<8,x>2"),
        ("x in (a)", "x in (a,a)"),
        ("x in ()", "x in (,)"),
    ];
    for (want, input) in cases {
        assert_eq!(parse(input).to_string(), want, "{input:?}");
    }
}

/// TestRequirementConstructor, with kube's messages.
#[test]
fn validates_requirements_like_new_requirement() {
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let long = "a".repeat(254);
    let cases: Vec<(&str, Operator, Vec<String>, Option<String>)> = vec![
        ("x1", In, vec![], Some("values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty".into())),
        ("x2", NotIn, vec![], Some("values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty".into())),
        ("x3", In, strings(&["foo"]), None),
        ("x4", NotIn, strings(&["foo"]), None),
        (
            "x5",
            Equals,
            strings(&["bar", "foo"]),
            Some(r#"values: Invalid value: ["bar","foo"]: exact-match compatibility requires one single value"#.into()),
        ),
        ("x6", Exists, vec![], None),
        ("x7", DoesNotExist, vec![], None),
        (
            "x8",
            Exists,
            strings(&["foo"]),
            Some(r#"values: Invalid value: ["foo"]: values set must be empty for exists and does not exist"#.into()),
        ),
        ("x11", GreaterThan, strings(&["1"]), None),
        ("x12", LessThan, strings(&["6"]), None),
        ("x13", GreaterThan, vec![], Some("values: Invalid value: null: for 'Gt', 'Lt' operators, exactly one value is required".into())),
        (
            "x14",
            GreaterThan,
            strings(&["bar"]),
            Some(r#"values[0]: Invalid value: "bar": for 'Gt', 'Lt' operators, the value must be an integer"#.into()),
        ),
        (&long, Exists, vec![], Some(format!("key: Invalid value: \"{long}\": name part must be no more than 63 characters"))),
        (
            "x16",
            Equals,
            vec![long.clone()],
            Some(format!("values[0][x16]: Invalid value: \"{long}\": must be no more than 63 characters")),
        ),
        ("x17", Equals, strings(&["a b"]), Some(format!("values[0][x17]: Invalid value: \"a b\": {VALUE_MSG}"))),
        (
            "x18",
            Exists,
            strings(&["<&>"]),
            Some(format!(
                r#"[values: Invalid value: ["\u003c\u0026\u003e"]: values set must be empty for exists and does not exist, values[0][x18]: Invalid value: "<&>": {VALUE_MSG}]"#
            )),
        ),
    ];
    for (key, op, values, want) in cases {
        let got = Requirement::new(key, op, values).map_err(|e| e.to_string());
        match want {
            None => assert!(got.is_ok(), "{key}: {got:?}"),
            Some(want) => assert_eq!(got.unwrap_err(), want, "{key}"),
        }
    }
    let r = req("x", In, &["b", "a", "b"]);
    assert_eq!(
        (r.key(), r.operator(), r.values()),
        ("x", In, &["a".to_owned(), "b".to_owned()][..])
    );
}

#[test]
fn everything_nothing_and_emptiness() {
    assert!(LabelSelector::everything().is_empty());
    assert!(LabelSelector::everything().matches(&labels(&[("x", "y")])));
    assert!(parse("").is_empty());
    assert!(!parse("x").is_empty());
    let nothing = LabelSelector::nothing();
    assert!(!nothing.is_empty() && nothing.is_nothing());
    assert!(!nothing.matches(&labels(&[])));
    assert!(!nothing.matches_json(None));
    assert_eq!(nothing.to_string(), "");
    assert_eq!("x=y".parse::<LabelSelector>(), Ok(parse("x=y")));
}

fn api_selector(match_labels: &[(&str, &str)], exprs: &[(&str, &str, Option<&[&str]>)]) -> ApiSelector {
    ApiSelector {
        match_labels: (!match_labels.is_empty()).then(|| labels(match_labels)),
        match_expressions: (!exprs.is_empty()).then(|| {
            exprs
                .iter()
                .map(|(key, op, values)| ApiRequirement {
                    key: key.to_string(),
                    operator: op.to_string(),
                    values: values.map(|v| v.iter().map(|s| s.to_string()).collect()),
                })
                .collect()
        }),
    }
}

#[test]
fn converts_api_selectors_like_label_selector_as_selector() {
    let sel = api_selector(
        &[("app", "web")],
        &[
            ("env", "In", Some(&["staging", "prod", "prod"])),
            ("tier", "NotIn", Some(&["db"])),
            ("gpu", "Exists", None),
            ("legacy", "DoesNotExist", Some(&[])),
        ],
    );
    let got = from_label_selector(&sel).unwrap();
    assert_eq!(
        got.to_string(),
        "app=web,env in (prod,staging),gpu,!legacy,tier notin (db)"
    );
    assert_eq!(parse(&got.to_string()), got);
    assert!(got.matches(&labels(&[("app", "web"), ("env", "prod"), ("gpu", "")])));
    assert!(!got.matches(&labels(&[
        ("app", "web"),
        ("env", "prod"),
        ("gpu", ""),
        ("tier", "db")
    ])));

    let empty = ApiSelector::default();
    let empty_lists = ApiSelector {
        match_labels: Some(BTreeMap::new()),
        match_expressions: Some(vec![]),
    };
    for everything in [&empty, &empty_lists] {
        assert!(from_label_selector(everything).unwrap().is_empty());
        for nil_means in [NilMeans::Nothing, NilMeans::Everything] {
            assert!(from_optional_label_selector(Some(everything), nil_means)
                .unwrap()
                .matches(&labels(&[])));
        }
    }
    let nothing = from_optional_label_selector(None, NilMeans::Nothing).unwrap();
    assert!(nothing.is_nothing() && !nothing.matches(&labels(&[])));
    assert!(from_optional_label_selector(None, NilMeans::Everything)
        .unwrap()
        .is_empty());

    let bad = [
        (
            api_selector(&[], &[("x", "Foo", None)]),
            r#""Foo" is not a valid label selector operator"#.to_owned(),
        ),
        (
            api_selector(&[], &[("x", "in", Some(&["a"]))]),
            r#""in" is not a valid label selector operator"#.to_owned(),
        ),
        (
            api_selector(&[], &[("x", "In", None)]),
            "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty".to_owned(),
        ),
        (
            api_selector(&[], &[("x", "NotIn", Some(&[]))]),
            "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty".to_owned(),
        ),
        (
            api_selector(&[], &[("x", "Exists", Some(&["a"]))]),
            r#"values: Invalid value: ["a"]: values set must be empty for exists and does not exist"#
                .to_owned(),
        ),
        (
            api_selector(&[("a b", "c")], &[]),
            format!("key: Invalid value: \"a b\": name part {NAME_MSG}"),
        ),
        (
            api_selector(&[("a", "c d")], &[]),
            format!("values[0][a]: Invalid value: \"c d\": {VALUE_MSG}"),
        ),
        (
            api_selector(&[], &[("x", "In", Some(&["ok", "not ok"]))]),
            format!("values[1][x]: Invalid value: \"not ok\": {VALUE_MSG}"),
        ),
    ];
    for (sel, want) in bad {
        assert_eq!(
            from_label_selector(&sel).unwrap_err().to_string(),
            want,
            "{sel:?}"
        );
        assert!(from_optional_label_selector(Some(&sel), NilMeans::Everything).is_err());
    }
}
