//! Kubernetes-style feature gates for TMC (`--feature-gates=Name=bool,...`).
//!
//! Why this exists: TMC is alpha software that runs beside a production kcp. An operator must be
//! able to switch all of it off, or one misbehaving capability, by restarting `tmc-server` with a
//! flag, without a new build. The rules come from the project's seed 004:
//!
//! - one master gate, [`Gate::Tmc`]; when it is off every sub-gate is off, whatever the flag says;
//! - a few sub-gates grouped by capability (placement strategies, status aggregation, failover,
//!   views), not one per function, so the flag stays something a human can reason about;
//! - every gate records its owner ([`OWNER`]), the version it appeared in ([`SINCE`]), its
//!   maturity and its default.
//!
//! The module is pure: parsing, lookup and reporting only. Callers log [`FeatureGates::summary`]
//! at startup and export [`FeatureGates::states`] as a metric; neither happens here.
//!
//! Callers name gates through the [`Gate`] enum, never by string, so a typo is a compile error
//! and removing a gate shows every place that still asks for it.

use std::fmt;
use std::str::FromStr;

/// GitHub handle that owns every TMC gate (seed 004).
pub const OWNER: &str = "@jessesanford";

/// Version in which the current gates were introduced (seed 004).
pub const SINCE: &str = "0.1";

/// How far along a gated capability is; mirrors Kubernetes' `featuregate.prerelease`.
///
/// The stage says how much trust the capability deserves, not whether it is on: that is the
/// gate's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Maturity {
    /// Experimental: behaviour and flags may change without notice.
    Alpha,
    /// Well tested; the gate may still be used to turn the capability off.
    Beta,
    /// Stable; the gate remains only so existing `--feature-gates` flags keep parsing.
    Ga,
}

impl Maturity {
    /// The `stage` label value used by Kubernetes' `kubernetes_feature_enabled{name,stage}`
    /// metric: `ALPHA`, `BETA`, and the empty string for GA. Reusing kube's values lets the same
    /// dashboards and alerts work for `kcp_tmc_feature_enabled`.
    pub const fn stage_label(self) -> &'static str {
        match self {
            Maturity::Alpha => "ALPHA",
            Maturity::Beta => "BETA",
            Maturity::Ga => "",
        }
    }
}

impl fmt::Display for Maturity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Maturity::Alpha => "Alpha",
            Maturity::Beta => "Beta",
            Maturity::Ga => "GA",
        })
    }
}

/// A TMC feature gate. Discriminants index [`GATES`]; a compile-time check keeps them aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Gate {
    /// `TMC`: the master switch for all of TMC.
    Tmc = 0,
    /// `TMCPlacementStrategies`: placement strategies beyond the default RoundRobin.
    TmcPlacementStrategies = 1,
    /// `TMCStatusAggregation`: physical status aggregated into the kcp object's `.status`.
    TmcStatusAggregation = 2,
    /// `TMCFailover`: workloads re-placed off clusters NotReady past the toleration.
    TmcFailover = 3,
    /// `TMCViews`: synthesized read-only views served by tmc-server.
    TmcViews = 4,
}

impl Gate {
    /// Number of gates.
    pub const COUNT: usize = 5;

    /// Every gate, master first, in the order used for rendering and reporting.
    pub const ALL: [Gate; Gate::COUNT] = [
        Gate::Tmc,
        Gate::TmcPlacementStrategies,
        Gate::TmcStatusAggregation,
        Gate::TmcFailover,
        Gate::TmcViews,
    ];

    /// The gate's static metadata.
    pub const fn spec(self) -> &'static GateSpec {
        &GATES[self as usize]
    }

    /// The name used on the command line and in metrics, e.g. `TMCViews`.
    pub const fn name(self) -> &'static str {
        self.spec().name
    }

    /// The gate this one depends on: `Some(Gate::Tmc)` for every sub-gate, `None` for the master.
    ///
    /// One level is deliberate: seed 004 asks for a single master and a few independent
    /// capabilities, and a deeper tree would make "why is this off?" harder to answer.
    pub const fn parent(self) -> Option<Gate> {
        match self {
            Gate::Tmc => None,
            _ => Some(Gate::Tmc),
        }
    }

    /// Looks a gate up by its exact, case-sensitive name, as Kubernetes does.
    pub fn from_name(name: &str) -> Option<Gate> {
        Gate::ALL.into_iter().find(|gate| gate.name() == name)
    }
}

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Gate {
    type Err = FeatureGateError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Gate::from_name(name).ok_or_else(|| FeatureGateError::Unknown {
            name: name.to_owned(),
        })
    }
}

/// Static metadata of one gate: one row of [`GATES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateSpec {
    /// The gate this row describes.
    pub gate: Gate,
    /// Command-line and metric name.
    pub name: &'static str,
    /// State when `--feature-gates` does not mention the gate.
    pub default: bool,
    /// Maturity stage.
    pub maturity: Maturity,
    /// Owner's GitHub handle.
    pub owner: &'static str,
    /// Version in which the gate appeared.
    pub since: &'static str,
    /// One line saying what the gate switches.
    pub description: &'static str,
}

// Defaults: every gate is Alpha and on. Kubernetes defaults Alpha gates to off because they sit
// inside a stable product that must not change behaviour on upgrade. TMC is the opposite case:
// the whole product is alpha and opt-in (nothing happens unless an operator starts tmc-server),
// and the acceptance story needs every capability (status in `.status`, failover off a dead
// cluster, `kubectl get placements`). Sub-gates exist so one capability can be switched off when
// it misbehaves, and `TMC=false` stops everything at once.
const TABLE: [GateSpec; Gate::COUNT] = [
    GateSpec {
        gate: Gate::Tmc,
        name: "TMC",
        default: true,
        maturity: Maturity::Alpha,
        owner: OWNER,
        since: SINCE,
        description: "Master switch for transparent multi-cluster; when false every TMC* gate is off.",
    },
    GateSpec {
        gate: Gate::TmcPlacementStrategies,
        name: "TMCPlacementStrategies",
        default: true,
        maturity: Maturity::Alpha,
        owner: OWNER,
        since: SINCE,
        description: "Placement strategies beyond the default RoundRobin: Affinity and Spread.",
    },
    GateSpec {
        gate: Gate::TmcStatusAggregation,
        name: "TMCStatusAggregation",
        default: true,
        maturity: Maturity::Alpha,
        owner: OWNER,
        since: SINCE,
        description: "Aggregate status from physical clusters into the kcp object's .status.",
    },
    GateSpec {
        gate: Gate::TmcFailover,
        name: "TMCFailover",
        default: true,
        maturity: Maturity::Alpha,
        owner: OWNER,
        since: SINCE,
        description: "Re-place workloads off physical clusters NotReady past the toleration (a cordon always moves them: it is an explicit request).",
    },
    GateSpec {
        gate: Gate::TmcViews,
        name: "TMCViews",
        default: true,
        maturity: Maturity::Alpha,
        owner: OWNER,
        since: SINCE,
        description: "Serve synthesized read-only views such as `placements` from tmc-server.",
    },
];

// Compile-time check that row `i` of TABLE describes the gate whose discriminant is `i`, so
// `Gate::spec` can index instead of search.
const _: () = {
    let mut i = 0;
    while i < Gate::COUNT {
        assert!(TABLE[i].gate as usize == i);
        assert!(Gate::ALL[i] as usize == i);
        i += 1;
    }
};

/// The table of every gate, indexed by `Gate as usize` (the order of [`Gate::ALL`]).
pub static GATES: [GateSpec; Gate::COUNT] = TABLE;

/// Why a `--feature-gates` value was rejected. The first three messages are the ones
/// Kubernetes' `featuregate.Set` prints, so operators recognise them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeatureGateError {
    /// The name is not a TMC gate. Kubernetes stops at "unrecognized feature gate: X"; the
    /// list of known gates is added because the list is short and the fix is usually a typo.
    #[error("unrecognized feature gate: {name} (known gates: {})", known_gate_names())]
    Unknown {
        /// The name as written, after trimming whitespace.
        name: String,
    },
    /// An item has no `=`, e.g. `--feature-gates=TMC`.
    #[error("missing bool value for {name}")]
    MissingValue {
        /// The item as written, after trimming whitespace.
        name: String,
    },
    /// The value is not one Go's `strconv.ParseBool` accepts.
    #[error("invalid value of {name}={value}, err: strconv.ParseBool: parsing {value:?}: invalid syntax")]
    InvalidBool {
        /// The gate name as written.
        name: String,
        /// The rejected value.
        value: String,
    },
    /// The same gate appears twice. Kubernetes silently keeps the last value; TMC refuses,
    /// because in a hand-edited manifest a repeated gate is nearly always a merge mistake and
    /// guessing which value was meant could switch a capability the wrong way.
    #[error("duplicate feature gate: {name} is set more than once")]
    Duplicate {
        /// The repeated gate name.
        name: String,
    },
}

fn known_gate_names() -> String {
    Gate::ALL.map(Gate::name).join(", ")
}

/// Parses a boolean exactly as Go's `strconv.ParseBool` does, so any value valid for a
/// Kubernetes component is valid here and nothing else is.
fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// The configured gates: for each gate, the value given on the command line, if any.
///
/// Equality compares the configuration (which gates were set, and to what), not the effective
/// state; that is what makes `parse(render(x)) == x` meaningful. Compare [`FeatureGates::states`]
/// to compare effective state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FeatureGates {
    explicit: [Option<bool>; Gate::COUNT],
}

impl FeatureGates {
    /// Every gate at its default.
    pub const fn new() -> Self {
        FeatureGates {
            explicit: [None; Gate::COUNT],
        }
    }

    /// Parses a `--feature-gates` value: `Name=bool` items separated by commas.
    ///
    /// Whitespace around names, values and items is ignored and empty items are skipped, so
    /// `""` means "all defaults" and `"TMC=true, "` is fine. Values are those of Go's
    /// `strconv.ParseBool`. Items are checked left to right and the first bad one is reported,
    /// in the order Kubernetes checks: missing `=`, bad bool, unknown name (then duplicates).
    /// The `AllAlpha`/`AllBeta` pseudo-gates of Kubernetes are not supported: with one master
    /// gate they would be a second way to say the same thing.
    ///
    /// # Errors
    ///
    /// [`FeatureGateError`] for the first item that has no `=`, a value that is not a Go bool,
    /// a name that is not a [`Gate`], or a gate already set earlier in `spec`.
    pub fn parse(spec: &str) -> Result<Self, FeatureGateError> {
        let mut gates = FeatureGates::new();
        for item in spec.split(',').map(str::trim).filter(|item| !item.is_empty()) {
            let Some((name, value)) = item.split_once('=') else {
                return Err(FeatureGateError::MissingValue {
                    name: item.to_owned(),
                });
            };
            let (name, value) = (name.trim(), value.trim());
            let enabled = parse_go_bool(value).ok_or_else(|| FeatureGateError::InvalidBool {
                name: name.to_owned(),
                value: value.to_owned(),
            })?;
            let gate: Gate = name.parse()?;
            if gates.explicitly_set(gate).is_some() {
                return Err(FeatureGateError::Duplicate {
                    name: name.to_owned(),
                });
            }
            gates.set(gate, enabled);
        }
        Ok(gates)
    }

    /// Sets a gate as if it had been given on the command line.
    pub fn set(&mut self, gate: Gate, enabled: bool) {
        self.explicit[gate as usize] = Some(enabled);
    }

    /// Builder form of [`FeatureGates::set`], handy in tests and defaults.
    #[must_use]
    pub const fn with(mut self, gate: Gate, enabled: bool) -> Self {
        self.explicit[gate as usize] = Some(enabled);
        self
    }

    /// Whether the capability is on: the configured value, forced to `false` when the gate's
    /// parent (the master `TMC`) is off. This is the only question feature code should ask.
    pub fn enabled(&self, gate: Gate) -> bool {
        self.raw(gate) && gate.parent().is_none_or(|parent| self.enabled(parent))
    }

    /// The value the gate was set to on the command line, if it was.
    pub fn explicitly_set(&self, gate: Gate) -> Option<bool> {
        self.explicit[gate as usize]
    }

    /// The configured value (explicit, else default), ignoring the master gate. Only for
    /// reporting "configured on, but off because TMC=false"; feature code uses
    /// [`FeatureGates::enabled`].
    pub fn raw(&self, gate: Gate) -> bool {
        self.explicitly_set(gate).unwrap_or(gate.spec().default)
    }

    /// State and metadata of every gate, in [`Gate::ALL`] order: one item per startup-log line
    /// and per `tmc_feature_enabled{name,stage}` sample.
    pub fn states(&self) -> impl ExactSizeIterator<Item = GateState> + '_ {
        Gate::ALL.into_iter().map(|gate| GateState {
            spec: gate.spec(),
            enabled: self.enabled(gate),
            configured: self.raw(gate),
            explicit: self.explicitly_set(gate),
        })
    }

    /// The explicitly set gates in `--feature-gates` form (`TMC=true,TMCViews=false`), in
    /// [`Gate::ALL`] order; empty when nothing was set. [`FeatureGates::parse`] reads it back to
    /// an equal value, so it can be passed on to a child process or recorded in a config.
    pub fn render(&self) -> String {
        Gate::ALL
            .into_iter()
            .filter_map(|gate| {
                self.explicitly_set(gate)
                    .map(|value| format!("{}={value}", gate.name()))
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// One line per gate, for the startup log, e.g.
    /// `TMC=true (Alpha, default=true, owner @jessesanford, since 0.1)`.
    pub fn summary(&self) -> String {
        self.states()
            .map(|state| state.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Formats as [`FeatureGates::render`]: the flag value, so `Display` and `FromStr` round-trip
/// (use [`FeatureGates::summary`] for the human report).
impl fmt::Display for FeatureGates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl FromStr for FeatureGates {
    type Err = FeatureGateError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        FeatureGates::parse(spec)
    }
}

/// clap value parser for `--feature-gates`:
///
/// ```
/// # use kcp_tmc::feature_gates::FeatureGates;
/// #[derive(clap::Parser)]
/// struct Args {
///     #[arg(long, value_parser = kcp_tmc::feature_gates::parse_flag, default_value = "")]
///     feature_gates: FeatureGates,
/// }
/// ```
///
/// clap prints the error's message after the flag name, as kube's components do.
///
/// # Errors
///
/// As [`FeatureGates::parse`].
pub fn parse_flag(spec: &str) -> Result<FeatureGates, FeatureGateError> {
    FeatureGates::parse(spec)
}

/// The lines Kubernetes components list under `--feature-gates` in `--help`:
/// `Name=true|false (STAGE - default=bool)`, sorted by name. For the flag's help text.
pub fn known_features() -> Vec<String> {
    let mut lines: Vec<String> = GATES
        .iter()
        .map(|spec| {
            let stage = match spec.maturity {
                Maturity::Ga => "GA",
                other => other.stage_label(),
            };
            format!("{}=true|false ({stage} - default={})", spec.name, spec.default)
        })
        .collect();
    lines.sort();
    lines
}

/// One gate's metadata with its state under a particular [`FeatureGates`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateState {
    /// The gate's static metadata.
    pub spec: &'static GateSpec,
    /// Effective state (what [`FeatureGates::enabled`] returns); the metric's value.
    pub enabled: bool,
    /// Configured state ignoring the master gate (what [`FeatureGates::raw`] returns).
    pub configured: bool,
    /// The value from the command line, if the gate was set there.
    pub explicit: Option<bool>,
}

impl GateState {
    /// The gate.
    pub fn gate(&self) -> Gate {
        self.spec.gate
    }

    /// The `name` metric label.
    pub fn name(&self) -> &'static str {
        self.spec.name
    }

    /// The `stage` metric label (see [`Maturity::stage_label`]).
    pub fn stage(&self) -> &'static str {
        self.spec.maturity.stage_label()
    }

    /// True when the gate is configured on but is off because its parent is off: the case an
    /// operator most needs explained.
    pub fn forced_off(&self) -> bool {
        self.configured && !self.enabled
    }
}

/// `TMC=true (Alpha, default=true, owner @jessesanford, since 0.1)`, with a note appended when
/// the value came from the command line or was forced off by the master gate.
impl fmt::Display for GateState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let spec = self.spec;
        write!(
            f,
            "{}={} ({}, default={}, owner {}, since {}",
            spec.name, self.enabled, spec.maturity, spec.default, spec.owner, spec.since
        )?;
        if self.explicit.is_some() {
            f.write_str(", set by --feature-gates")?;
        }
        if let (true, Some(parent)) = (self.forced_off(), spec.gate.parent()) {
            write!(f, ", forced off because {parent}=false")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests;
