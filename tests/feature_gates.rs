//! Properties of `--feature-gates` parsing that must hold for every input, not just the
//! examples in the module's unit tests.

use kcp_tmc::feature_gates::{FeatureGateError, FeatureGates, Gate};
use proptest::prelude::*;

/// Every spelling Go's `strconv.ParseBool` accepts, with its meaning.
const BOOL_SPELLINGS: [(&str, bool); 12] = [
    ("1", true),
    ("t", true),
    ("T", true),
    ("TRUE", true),
    ("true", true),
    ("True", true),
    ("0", false),
    ("f", false),
    ("F", false),
    ("FALSE", false),
    ("false", false),
    ("False", false),
];

/// Any assignment: for each gate, unset or set to a value.
fn assignment() -> impl Strategy<Value = [Option<bool>; Gate::COUNT]> {
    proptest::array::uniform5(proptest::option::of(any::<bool>()))
}

fn gates_from(assignment: &[Option<bool>; Gate::COUNT]) -> FeatureGates {
    Gate::ALL
        .into_iter()
        .zip(assignment)
        .fold(FeatureGates::new(), |gates, (gate, value)| match value {
            Some(value) => gates.with(gate, *value),
            None => gates,
        })
}

/// Whitespace the parser must tolerate around names, values and items.
fn padding() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["", " ", "  ", "\t", " \t "])
}

/// A spelling of `value` picked from the ParseBool spellings.
fn spelling(value: bool) -> impl Strategy<Value = &'static str> {
    let spellings: Vec<_> = BOOL_SPELLINGS
        .iter()
        .filter(|(_, meaning)| *meaning == value)
        .map(|(text, _)| *text)
        .collect();
    prop::sample::select(spellings)
}

/// The `Name=bool` items of an assignment, each with a random spelling and padding.
fn items(assignment: [Option<bool>; Gate::COUNT]) -> impl Strategy<Value = Vec<String>> {
    let per_gate: Vec<_> = Gate::ALL
        .into_iter()
        .zip(assignment)
        .filter_map(|(gate, value)| value.map(|value| (gate, value)))
        .map(|(gate, value)| {
            (padding(), spelling(value), padding(), padding()).prop_map(
                move |(before, text, around, after)| {
                    format!("{before}{}{around}={around}{text}{after}", gate.name())
                },
            )
        })
        .collect();
    per_gate
}

/// A name that is not a gate and contains no separator or surrounding whitespace.
fn unknown_name() -> impl Strategy<Value = String> {
    "[^,=\\s]{1,40}".prop_filter("must not be a known gate", |name| Gate::from_name(name).is_none())
}

proptest! {
    #[test]
    fn render_then_parse_is_identity(assignment in assignment()) {
        let gates = gates_from(&assignment);
        prop_assert_eq!(FeatureGates::parse(&gates.render()), Ok(gates));
        prop_assert_eq!(gates.to_string().parse::<FeatureGates>(), Ok(gates));
        for (gate, value) in Gate::ALL.into_iter().zip(assignment) {
            prop_assert_eq!(gates.explicitly_set(gate), value);
        }
    }

    #[test]
    fn master_off_turns_every_gate_off(mut assignment in assignment()) {
        assignment[Gate::Tmc as usize] = Some(false);
        let gates = FeatureGates::parse(&gates_from(&assignment).render()).unwrap();
        for state in gates.states() {
            prop_assert!(!state.enabled, "{}", state);
            prop_assert!(!gates.enabled(state.gate()));
        }
    }

    #[test]
    fn master_on_leaves_sub_gates_as_configured(assignment in assignment()) {
        let gates = gates_from(&assignment);
        prop_assume!(gates.enabled(Gate::Tmc));
        for gate in Gate::ALL {
            let expected = assignment[gate as usize].unwrap_or(gate.spec().default);
            prop_assert_eq!(gates.enabled(gate), expected, "{}", gate);
        }
    }

    #[test]
    fn order_spelling_and_whitespace_do_not_matter(
        (assignment, items) in assignment()
            .prop_flat_map(|a| (Just(a), items(a).prop_shuffle())),
        trailing_comma in any::<bool>(),
    ) {
        let mut spec = items.join(",");
        if trailing_comma {
            spec.push_str(", ");
        }
        prop_assert_eq!(FeatureGates::parse(&spec), Ok(gates_from(&assignment)), "{}", spec);
    }

    #[test]
    fn any_unknown_name_is_rejected(
        (assignment, items) in assignment()
            .prop_flat_map(|a| (Just(a), items(a).prop_shuffle())),
        name in unknown_name(),
        value in any::<bool>(),
        position in any::<prop::sample::Index>(),
    ) {
        let _ = assignment;
        let mut items = items;
        let at = position.index(items.len() + 1);
        items.insert(at, format!("{name}={value}"));
        let spec = items.join(",");
        prop_assert_eq!(
            FeatureGates::parse(&spec),
            Err(FeatureGateError::Unknown { name: name.clone() }),
            "{}", spec
        );
    }

    #[test]
    fn repeating_any_gate_is_rejected(
        assignment in assignment(),
        gate in prop::sample::select(Gate::ALL.to_vec()),
        value in any::<bool>(),
    ) {
        let mut spec = gates_from(&assignment).with(gate, value).render();
        spec.push_str(&format!(",{}={}", gate.name(), !value));
        prop_assert_eq!(
            FeatureGates::parse(&spec),
            Err(FeatureGateError::Duplicate { name: gate.name().to_owned() })
        );
    }

    #[test]
    fn summary_reports_every_gate_once(assignment in assignment()) {
        let gates = gates_from(&assignment);
        let summary = gates.summary();
        let lines: Vec<_> = summary.lines().collect();
        prop_assert_eq!(lines.len(), Gate::COUNT);
        for (line, gate) in lines.iter().zip(Gate::ALL) {
            let prefix = format!("{}={} (", gate.name(), gates.enabled(gate));
            prop_assert!(line.starts_with(&prefix), "{}", line);
            prop_assert!(line.contains("owner @jessesanford, since 0.1"), "{}", line);
        }
    }
}

#[test]
fn every_parse_bool_spelling_is_accepted_for_every_gate() {
    for gate in Gate::ALL {
        for (text, value) in BOOL_SPELLINGS {
            let gates = FeatureGates::parse(&format!("{}={text}", gate.name())).unwrap();
            assert_eq!(gates.explicitly_set(gate), Some(value), "{gate}={text}");
        }
    }
}
