//! Unit tests of the gate table, the parser and the reports, by example.
//! Properties over all inputs live in `tests/feature_gates.rs`.

use super::*;

fn parse_err(spec: &str) -> FeatureGateError {
    FeatureGates::parse(spec).expect_err(spec)
}

#[test]
fn table_rows_carry_seed_004_metadata() {
    for (i, spec) in GATES.iter().enumerate() {
        assert_eq!(spec.gate, Gate::ALL[i]);
        assert_eq!(spec.owner, "@jessesanford");
        assert_eq!(spec.since, "0.1");
        assert!(spec.name.starts_with("TMC"), "{}", spec.name);
        assert!(!spec.description.is_empty() && !spec.description.contains('\n'));
    }
    let mut names: Vec<_> = GATES.iter().map(|spec| spec.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), Gate::COUNT, "gate names must be unique");
}

#[test]
fn only_the_master_has_no_parent() {
    assert_eq!(Gate::ALL[0], Gate::Tmc);
    assert_eq!(Gate::Tmc.parent(), None);
    for gate in &Gate::ALL[1..] {
        assert_eq!(gate.parent(), Some(Gate::Tmc));
    }
}

#[test]
fn names_round_trip_and_are_case_sensitive() {
    for gate in Gate::ALL {
        assert_eq!(Gate::from_name(gate.name()), Some(gate));
        assert_eq!(gate.name().parse::<Gate>(), Ok(gate));
        assert_eq!(gate.to_string(), gate.name());
    }
    assert_eq!(Gate::from_name("tmc"), None);
    assert_eq!(Gate::from_name("TMCviews"), None);
}

#[test]
fn empty_and_blank_specs_mean_defaults() {
    for spec in ["", " ", ",", " , ,, "] {
        let gates = FeatureGates::parse(spec).unwrap();
        assert_eq!(gates, FeatureGates::new());
        for gate in Gate::ALL {
            assert_eq!(gates.enabled(gate), gate.spec().default);
            assert_eq!(gates.explicitly_set(gate), None);
        }
    }
}

#[test]
fn accepts_every_go_parse_bool_spelling() {
    for (value, expected) in [
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
    ] {
        let gates = FeatureGates::parse(&format!("TMCViews={value}")).unwrap();
        assert_eq!(gates.explicitly_set(Gate::TmcViews), Some(expected), "{value}");
    }
}

#[test]
fn rejects_what_go_parse_bool_rejects() {
    for value in ["", "yes", "no", "on", "off", "tRUE", "2", "+1", "true!"] {
        let err = parse_err(&format!("TMC={value}"));
        assert_eq!(
            err,
            FeatureGateError::InvalidBool {
                name: "TMC".into(),
                value: value.into()
            }
        );
    }
}

#[test]
fn tolerates_whitespace_around_items_names_and_values() {
    let gates = FeatureGates::parse("  TMCFailover = false ,\tTMCViews=true ,").unwrap();
    assert_eq!(gates.explicitly_set(Gate::TmcFailover), Some(false));
    assert_eq!(gates.explicitly_set(Gate::TmcViews), Some(true));
    assert_eq!(gates.explicitly_set(Gate::Tmc), None);
}

#[test]
fn master_off_disables_every_sub_gate_even_when_set_on() {
    let gates = FeatureGates::parse("TMC=false,TMCViews=true,TMCFailover=true").unwrap();
    for gate in Gate::ALL {
        assert!(!gates.enabled(gate), "{gate}");
    }
    assert!(gates.raw(Gate::TmcViews));
    assert_eq!(gates.explicitly_set(Gate::TmcViews), Some(true));
}

#[test]
fn sub_gate_can_be_switched_off_alone() {
    let gates = FeatureGates::parse("TMCFailover=false").unwrap();
    assert!(gates.enabled(Gate::Tmc));
    assert!(!gates.enabled(Gate::TmcFailover));
    assert!(gates.enabled(Gate::TmcViews));
}

#[test]
fn error_messages_match_kubernetes() {
    assert_eq!(parse_err("TMC").to_string(), "missing bool value for TMC");
    assert_eq!(
        parse_err("TMC=maybe").to_string(),
        r#"invalid value of TMC=maybe, err: strconv.ParseBool: parsing "maybe": invalid syntax"#
    );
    assert_eq!(
        parse_err("Nope=true").to_string(),
        "unrecognized feature gate: Nope (known gates: TMC, TMCPlacementStrategies, \
         TMCStatusAggregation, TMCFailover, TMCViews)"
    );
    assert_eq!(
        parse_err("TMC=true,TMC=true").to_string(),
        "duplicate feature gate: TMC is set more than once"
    );
}

#[test]
fn first_bad_item_wins_in_kubernetes_check_order() {
    // Bad bool is reported before the unknown name in the same item, as kube does.
    assert!(matches!(
        parse_err("Nope=maybe"),
        FeatureGateError::InvalidBool { .. }
    ));
    assert!(matches!(
        parse_err("Nope=true,TMC"),
        FeatureGateError::Unknown { .. }
    ));
    assert!(matches!(
        parse_err("TMC,Nope=true"),
        FeatureGateError::MissingValue { .. }
    ));
    assert_eq!(
        parse_err("=true"),
        FeatureGateError::Unknown { name: String::new() }
    );
}

#[test]
fn value_may_contain_only_one_equals() {
    // SplitN(s, "=", 2): the value is "true=false", which is not a bool.
    assert_eq!(
        parse_err("TMC=true=false"),
        FeatureGateError::InvalidBool {
            name: "TMC".into(),
            value: "true=false".into()
        }
    );
}

#[test]
fn render_is_canonical_and_round_trips() {
    let gates = FeatureGates::parse(" TMCViews=F , TMC=1").unwrap();
    assert_eq!(gates.render(), "TMC=true,TMCViews=false");
    assert_eq!(gates.to_string(), gates.render());
    assert_eq!(gates.render().parse::<FeatureGates>(), Ok(gates));
    assert_eq!(FeatureGates::new().render(), "");
}

#[test]
fn with_and_set_agree_with_parse() {
    let mut set = FeatureGates::new();
    set.set(Gate::TmcStatusAggregation, false);
    let built = FeatureGates::new().with(Gate::TmcStatusAggregation, false);
    assert_eq!(set, built);
    assert_eq!(FeatureGates::parse("TMCStatusAggregation=false"), Ok(built));
}

#[test]
fn summary_has_one_line_per_gate_in_the_documented_form() {
    let summary = FeatureGates::new().summary();
    let lines: Vec<_> = summary.lines().collect();
    assert_eq!(lines.len(), Gate::COUNT);
    assert_eq!(
        lines[0],
        "TMC=true (Alpha, default=true, owner @jessesanford, since 0.1)"
    );
    assert_eq!(
        lines[4],
        "TMCViews=true (Alpha, default=true, owner @jessesanford, since 0.1)"
    );
}

#[test]
fn summary_explains_explicit_and_forced_off_gates() {
    let summary = FeatureGates::parse("TMC=false").unwrap().summary();
    let lines: Vec<_> = summary.lines().collect();
    assert_eq!(
        lines[0],
        "TMC=false (Alpha, default=true, owner @jessesanford, since 0.1, set by --feature-gates)"
    );
    assert_eq!(
        lines[3],
        "TMCFailover=false (Alpha, default=true, owner @jessesanford, since 0.1, \
         forced off because TMC=false)"
    );
}

#[test]
fn states_feed_the_metric() {
    let gates = FeatureGates::parse("TMCPlacementStrategies=false").unwrap();
    let states: Vec<_> = gates.states().collect();
    assert_eq!(states.len(), Gate::COUNT);
    let strategies = states[1];
    assert_eq!(strategies.gate(), Gate::TmcPlacementStrategies);
    assert_eq!(strategies.name(), "TMCPlacementStrategies");
    assert_eq!(strategies.stage(), "ALPHA");
    assert!(!strategies.enabled && !strategies.forced_off());
    assert_eq!(strategies.explicit, Some(false));
}

#[test]
fn maturity_labels_match_kubernetes_stages() {
    assert_eq!(Maturity::Alpha.stage_label(), "ALPHA");
    assert_eq!(Maturity::Beta.stage_label(), "BETA");
    assert_eq!(Maturity::Ga.stage_label(), "");
    assert_eq!(Maturity::Ga.to_string(), "GA");
}

#[test]
fn known_features_use_the_kubernetes_help_format() {
    let known = known_features();
    assert_eq!(known.len(), Gate::COUNT);
    assert!(known.windows(2).all(|w| w[0] <= w[1]), "sorted");
    assert!(known.contains(&"TMC=true|false (ALPHA - default=true)".to_owned()));
}

#[test]
fn works_as_a_clap_value_parser() {
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Args {
        #[arg(long, value_parser = parse_flag, default_value = "")]
        feature_gates: FeatureGates,
    }

    let args = Args::try_parse_from(["tmc-server"]).unwrap();
    assert_eq!(args.feature_gates, FeatureGates::new());
    let args = Args::try_parse_from(["tmc-server", "--feature-gates=TMC=false"]).unwrap();
    assert!(!args.feature_gates.enabled(Gate::TmcViews));
    let err = Args::try_parse_from(["tmc-server", "--feature-gates", "Bogus=true"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("unrecognized feature gate: Bogus"), "{err}");
    assert!(err.contains("--feature-gates"), "{err}");
}
