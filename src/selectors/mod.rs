//! Kubernetes label and field selectors: parsing, validation, matching.
//!
//! Pure (no I/O). The synthesized API must answer `?labelSelector=` and
//! `?fieldSelector=` exactly as a real kube-apiserver would, accepting the
//! same strings, rejecting the same strings with the same messages, and
//! selecting the same objects, because clients such as kubectl and
//! controllers behave on those answers. The parser is therefore a port of
//! k8s.io/apimachinery's (kubernetes v1.34.3, the version this project pins),
//! quirks included, rather than a cleaner grammar of our own; the tests use
//! apimachinery's own cases.
//!
//! - [`LabelSelector::parse`]: the `labelSelector` string language.
//! - [`from_label_selector`] / [`from_optional_label_selector`]: the API's
//!   structured `metav1.LabelSelector` (matchLabels + matchExpressions).
//! - [`FieldSelector::parse`]: the `fieldSelector` string language,
//!   restricted to the fields a resource supports.
//!
//! Every [`SelectorError`]'s `Display` is the message kube-apiserver puts in
//! its `400 Bad Request` Status (reason `BadRequest`).

mod convert;
mod field;
mod go_print;
mod label;
mod lexer;
pub mod validation;

#[cfg(test)]
mod label_tests;

pub use convert::{from_label_selector, from_optional_label_selector, NilMeans};
pub use field::{escape_value, FieldOperator, FieldRequirement, FieldSelector};
pub use label::{LabelSelector, Operator, Requirement};

/// Why a selector was rejected. All variants are client errors: serve them
/// as a 400 Status with reason `BadRequest` and `to_string()` as message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// A label selector string or structured selector is malformed or
    /// invalid; the text is kube's (e.g. `unable to parse requirement: ...`
    /// or `found ',', expected: identifier after ','`).
    #[error("{0}")]
    InvalidLabelSelector(String),
    /// A field selector string is malformed (e.g. `invalid selector: 'x';
    /// can't understand 'x'`).
    #[error("{0}")]
    InvalidFieldSelector(String),
    /// A field selector names a field the resource does not support.
    #[error("field label not supported: {0}")]
    FieldLabelNotSupported(String),
}
