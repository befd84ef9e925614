//! Conversion of the API's structured `LabelSelector` (matchLabels +
//! matchExpressions) into a [`LabelSelector`](super::LabelSelector), as
//! kube's `metav1.LabelSelectorAsSelector` does.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as ApiLabelSelector;

use super::label::{LabelSelector, Operator, Requirement};
use super::validation::go_quote;
use super::SelectorError;

/// What an absent (`nil`) API label selector selects.
///
/// Kube gives no single answer: `LabelSelectorAsSelector(nil)` selects
/// nothing (a Deployment or a NetworkPolicy peer without a selector must not
/// grab every pod), while some APIs document an omitted field as "all" (for
/// example a namespace selector that defaults to every namespace). An empty
/// but present selector (`{}`) always selects everything. Callers must say
/// which reading their field has, so there is no default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NilMeans {
    /// The field's API says an omitted selector matches no objects.
    Nothing,
    /// The field's API says an omitted selector matches all objects.
    Everything,
}

/// Converts a present API selector: `{}` selects everything; each
/// matchLabels entry becomes `key=value`; each matchExpression becomes
/// `In`, `NotIn`, `Exists` or `DoesNotExist`. Validation and messages are
/// kube's: `In`/`NotIn` need values, `Exists`/`DoesNotExist` must have none,
/// keys and values must be valid, and any other operator is rejected with
/// `"Foo" is not a valid label selector operator`.
pub fn from_label_selector(sel: &ApiLabelSelector) -> Result<LabelSelector, SelectorError> {
    let match_labels = sel.match_labels.iter().flatten();
    let match_expressions = sel.match_expressions.iter().flatten();
    let mut requirements = Vec::new();
    for (key, value) in match_labels {
        requirements.push(Requirement::new(key, Operator::Equals, vec![value.clone()])?);
    }
    for expr in match_expressions {
        let op = match expr.operator.as_str() {
            "In" => Operator::In,
            "NotIn" => Operator::NotIn,
            "Exists" => Operator::Exists,
            "DoesNotExist" => Operator::DoesNotExist,
            other => {
                return Err(SelectorError::InvalidLabelSelector(format!(
                    "{} is not a valid label selector operator",
                    go_quote(other)
                )))
            }
        };
        requirements.push(Requirement::new(
            &expr.key,
            op,
            expr.values.clone().unwrap_or_default(),
        )?);
    }
    Ok(LabelSelector::from_requirements(requirements))
}

/// Like [`from_label_selector`], with `None` read as `nil_means` says.
pub fn from_optional_label_selector(
    sel: Option<&ApiLabelSelector>,
    nil_means: NilMeans,
) -> Result<LabelSelector, SelectorError> {
    match (sel, nil_means) {
        (Some(sel), _) => from_label_selector(sel),
        (None, NilMeans::Nothing) => Ok(LabelSelector::nothing()),
        (None, NilMeans::Everything) => Ok(LabelSelector::everything()),
    }
}
