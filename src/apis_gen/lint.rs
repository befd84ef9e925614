//! A static check of the rules kcp (apiextensions) applies to APIResourceSchema schemas.
//!
//! kcp rejects a non-structural schema only when the file is applied, far from the code that
//! produced it. This mirrors the rules of `apiextensions-apiserver/pkg/apiserver/schema`
//! (`validateStructuralInvariants`, `validateValueValidation`) and of the v1 CRD validation
//! that matter for generated schemas, so a unit test catches a bad schema at `cargo test`.

use serde_json::{Map, Value};

/// Fields a v1 `JSONSchemaProps` may carry (apart from the forbidden ones below); anything
/// else would be silently dropped by kcp's JSON decoding, which hides generator bugs.
const KNOWN_FIELDS: [&str; 36] = [
    "description",
    "type",
    "format",
    "title",
    "default",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "multipleOf",
    "enum",
    "maxProperties",
    "minProperties",
    "required",
    "items",
    "allOf",
    "oneOf",
    "anyOf",
    "not",
    "properties",
    "additionalProperties",
    "externalDocs",
    "example",
    "nullable",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-int-or-string",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-list-type",
    "x-kubernetes-map-type",
];

/// Fields v1 CRD validation forbids outright.
const FORBIDDEN_FIELDS: [&str; 7] = [
    "$ref",
    "$schema",
    "definitions",
    "dependencies",
    "additionalItems",
    "patternProperties",
    "id",
];

/// Fields a value-validation subschema (inside anyOf/allOf/oneOf/not) must not set:
/// structural schemas specify types and defaults only outside them.
const NOT_IN_VALUE_VALIDATION: [&str; 8] = [
    "type",
    "description",
    "default",
    "nullable",
    "additionalProperties",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-int-or-string",
    "x-kubernetes-embedded-resource",
];

/// Every rule violation in `schema` (the openAPIV3Schema of one version), as
/// `path: message`. Empty means kcp will accept the schema as structural.
pub fn violations(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let Value::Object(root) = schema else {
        return vec!["<root>: must be an object".into()];
    };
    if root.get("type") != Some(&Value::from("object")) {
        out.push("<root>: type must be object".into());
    }
    for forbidden in [
        "additionalProperties",
        "nullable",
        "default",
        "anyOf",
        "oneOf",
        "allOf",
        "not",
    ] {
        if root.contains_key(forbidden) {
            out.push(format!("<root>: {forbidden} is not allowed at the root"));
        }
    }
    if let Some(metadata) = root.get("properties").and_then(|p| p.get("metadata")) {
        if metadata != &serde_json::json!({"type": "object"}) {
            out.push("<root>.metadata: must be exactly {type: object}".into());
        }
    }
    for field in ["apiVersion", "kind"] {
        if let Some(prop) = root.get("properties").and_then(|p| p.get(field)) {
            if prop.get("type") != Some(&Value::from("string")) {
                out.push(format!("<root>.{field}: type must be string"));
            }
        }
    }
    check_node(root, "<root>", &mut out);
    out
}

fn check_node(node: &Map<String, Value>, path: &str, out: &mut Vec<String>) {
    check_fields(node, path, out);
    let int_or_string = flag(node, "x-kubernetes-int-or-string");
    let preserve = flag(node, "x-kubernetes-preserve-unknown-fields");
    if !node.contains_key("type") && !int_or_string && !preserve {
        out.push(format!("{path}: type must be set"));
    }
    if node.contains_key("properties") && node.contains_key("additionalProperties") {
        out.push(format!(
            "{path}: properties and additionalProperties are mutually exclusive"
        ));
    }
    if node.get("additionalProperties") == Some(&Value::Bool(false)) {
        out.push(format!("{path}: additionalProperties: false is not allowed"));
    }
    if node.get("uniqueItems") == Some(&Value::Bool(true)) {
        out.push(format!("{path}: uniqueItems: true is not allowed"));
    }
    match node.get("type").and_then(Value::as_str) {
        Some("array") => match node.get("items") {
            Some(Value::Object(items)) => check_node(items, &format!("{path}[]"), out),
            _ => out.push(format!("{path}: an array needs a single items schema")),
        },
        Some("object" | "string" | "integer" | "number" | "boolean") | None => {}
        Some(other) => out.push(format!("{path}: unknown type {other}")),
    }
    if let Some(Value::Object(props)) = node.get("properties") {
        for (name, prop) in props {
            match prop {
                Value::Object(prop) => check_node(prop, &format!("{path}.{name}"), out),
                _ => out.push(format!("{path}.{name}: must be a schema object")),
            }
        }
    }
    if let Some(additional) = node.get("additionalProperties") {
        match additional {
            Value::Object(additional) => check_node(additional, &format!("{path}{{}}"), out),
            Value::Bool(true) => {}
            _ => out.push(format!("{path}: additionalProperties must be a schema")),
        }
    }
    check_list_map_keys(node, path, out);
    for keyword in ["anyOf", "allOf", "oneOf"] {
        if let Some(list) = node.get(keyword) {
            let Value::Array(list) = list else {
                out.push(format!("{path}: {keyword} must be a list"));
                continue;
            };
            if keyword == "anyOf" && int_or_string && is_int_or_string_any_of(list) {
                continue;
            }
            for (i, sub) in list.iter().enumerate() {
                check_value_validation(sub, node, &format!("{path}.{keyword}[{i}]"), out);
            }
        }
    }
    if let Some(not) = node.get("not") {
        check_value_validation(not, node, &format!("{path}.not"), out);
    }
}

fn check_fields(node: &Map<String, Value>, path: &str, out: &mut Vec<String>) {
    for key in node.keys() {
        if FORBIDDEN_FIELDS.contains(&key.as_str()) {
            out.push(format!("{path}: {key} is forbidden"));
        } else if !KNOWN_FIELDS.contains(&key.as_str()) && key != "x-kubernetes-validations" {
            out.push(format!("{path}: unknown field {key}"));
        }
    }
}

/// A subschema of anyOf/allOf/oneOf/not: may only restrict what the parent specifies.
fn check_value_validation(sub: &Value, parent: &Map<String, Value>, path: &str, out: &mut Vec<String>) {
    let Value::Object(sub) = sub else {
        out.push(format!("{path}: must be a schema object"));
        return;
    };
    check_fields(sub, path, out);
    for key in NOT_IN_VALUE_VALIDATION {
        if sub.contains_key(key) {
            out.push(format!("{path}: {key} must not be set inside a value validation"));
        }
    }
    if let Some(Value::Object(props)) = sub.get("properties") {
        let declared = parent.get("properties").and_then(Value::as_object);
        for name in props.keys() {
            if name == "metadata" {
                out.push(format!(
                    "{path}.{name}: metadata must not be specified in a value validation"
                ));
            } else if !declared.is_some_and(|d| d.contains_key(name)) {
                out.push(format!("{path}.{name}: not declared by the enclosing schema"));
            }
        }
    }
}

/// `x-kubernetes-list-map-keys` fields must be required or defaulted in the item schema
/// (RequireMapListKeysMapSetValidation), or kcp refuses the schema.
fn check_list_map_keys(node: &Map<String, Value>, path: &str, out: &mut Vec<String>) {
    let list_type = node.get("x-kubernetes-list-type").and_then(Value::as_str);
    let keys = node.get("x-kubernetes-list-map-keys").and_then(Value::as_array);
    match (list_type, keys) {
        (Some("map"), Some(keys)) => {
            let item = node.get("items").and_then(Value::as_object);
            let required: Vec<&str> = item
                .and_then(|i| i.get("required"))
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for key in keys.iter().filter_map(Value::as_str) {
                let prop = item.and_then(|i| i.get("properties")).and_then(|p| p.get(key));
                match prop {
                    None => out.push(format!("{path}: list-map key {key} is not an item property")),
                    Some(p) if !required.contains(&key) && p.get("default").is_none() => out.push(format!(
                        "{path}: list-map key {key} must be required or defaulted"
                    )),
                    Some(_) => {}
                }
            }
        }
        (Some("map"), None) => out.push(format!("{path}: list-type map needs list-map-keys")),
        (_, Some(_)) => out.push(format!("{path}: list-map-keys need list-type map")),
        (Some("set"), None) => {
            let scalar = node
                .get("items")
                .and_then(|i| i.get("type"))
                .and_then(Value::as_str)
                .is_some_and(|t| t != "object" && t != "array");
            if !scalar {
                out.push(format!("{path}: list-type set needs scalar items"));
            }
        }
        (Some("atomic") | None, None) => {}
        (Some(other), None) => out.push(format!("{path}: unknown list-type {other}")),
    }
}

fn flag(node: &Map<String, Value>, key: &str) -> bool {
    node.get(key) == Some(&Value::Bool(true))
}

fn is_int_or_string_any_of(list: &[Value]) -> bool {
    list == [
        serde_json::json!({"type": "integer"}),
        serde_json::json!({"type": "string"}),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(schema: Value) -> Vec<String> {
        violations(&json!({"type": "object", "properties": {"spec": schema}}))
    }

    #[test]
    fn accepts_a_structural_schema() {
        let schema = json!({
            "type": "object",
            "properties": {
                "metadata": {"type": "object"},
                "spec": {
                    "type": "object",
                    "properties": {
                        "port": {"x-kubernetes-int-or-string": true,
                                 "anyOf": [{"type": "integer"}, {"type": "string"}]},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                        "items": {"type": "array", "x-kubernetes-list-type": "map",
                                  "x-kubernetes-list-map-keys": ["name"],
                                  "items": {"type": "object", "required": ["name"],
                                            "properties": {"name": {"type": "string"}}}},
                        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                    },
                },
            },
        });
        assert_eq!(violations(&schema), Vec::<String>::new());
    }

    #[test]
    fn rejects_the_usual_mistakes() {
        assert!(one(json!({"description": "no type"}))[0].contains("type must be set"));
        assert!(one(json!({"$ref": "#/x"}))
            .iter()
            .any(|v| v.contains("$ref is forbidden")));
        assert!(
            one(json!({"type": "object", "properties": {"a": {"type": "string"}},
                           "additionalProperties": {"type": "string"}}))
            .iter()
            .any(|v| v.contains("mutually exclusive"))
        );
        assert!(one(json!({"type": "array"}))[0].contains("items"));
        assert!(one(json!({"type": "object", "anyOf": [{"type": "string"}]}))[0]
            .contains("inside a value validation"));
        assert!(one(json!({"type": "array", "x-kubernetes-list-type": "map",
                           "x-kubernetes-list-map-keys": ["k"],
                           "items": {"type": "object", "properties": {"k": {"type": "string"}}}}))[0]
            .contains("required or defaulted"));
        assert!(one(json!({"type": "string", "const": "x"}))[0].contains("unknown field const"));
        let bad_meta = violations(&json!({"type": "object", "properties": {
            "metadata": {"type": "object", "properties": {"labels": {"type": "object"}}}}}));
        assert!(bad_meta[0].contains("metadata"));
    }
}
