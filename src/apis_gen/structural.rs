//! Structural OpenAPI v3 schemas from Rust types, as kcp (and CRDs) require them.
//!
//! kcp validates an APIResourceSchema exactly like a CRD with `RequireStructuralSchema`:
//! every node has a `type` (or is int-or-string / preserve-unknown-fields), there are no
//! `$ref`s, `metadata` at the root is only `type: object`, and so on. schemars gives us the
//! schemas (kube-derive's for our kinds, k8s-openapi's for Deployment/Service); this module
//! inlines them and reuses kube-core's structural rewriters, adding only what those do
//! not cover for the Kubernetes built-in types:
//!
//! * `$ref`s are inlined here rather than by schemars, so that a definition can be patched by
//!   *name* first (Quantity and IntOrString are indistinguishable once inlined), and
//!   `Option<$ref>` is collapsed to `nullable` as schemars does for inline types;
//! * Quantity/IntOrString get the `anyOf: [integer, string]` that kube-apiserver's own
//!   OpenAPI and controller-gen emit (and Quantity its canonical pattern);
//! * a free-form `type: object` (no properties, no additionalProperties, e.g. `FieldsV1`)
//!   becomes `x-kubernetes-preserve-unknown-fields`, since a structural schema would
//!   otherwise prune its content to `{}`.

use schemars::generate::SchemaSettings;
use schemars::transform::{RemoveRefSiblings, Transform};
use schemars::JsonSchema;
use serde_json::{json, Map, Value};

/// schemars name of k8s-openapi's `Quantity`.
const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";
/// The pattern kube-apiserver's OpenAPI (and controller-gen) put on every Quantity.
const QUANTITY_PATTERN: &str = r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$";

/// Keywords whose value is one subschema.
const SCHEMA_KEYWORDS: [&str; 3] = ["items", "additionalProperties", "not"];
/// Keywords whose value is a list of subschemas.
const SCHEMA_LIST_KEYWORDS: [&str; 3] = ["anyOf", "allOf", "oneOf"];

/// The structural schema of the whole object `T` (root of an APIResourceSchema version).
///
/// `apiVersion`, `kind` and `metadata` are (re)declared the way CRDs declare them, so
/// `kubectl explain` documents them and kcp accepts the root.
pub fn object_schema<T: JsonSchema>() -> Value {
    let mut schema = inlined_schema::<T>();
    let root = schema
        .as_object_mut()
        .expect("an object kind has an object schema");
    root.remove("title");
    if let Some(Value::Array(required)) = root.get_mut("required") {
        // k8s-openapi marks `metadata` required (Rust has no Option there); CRDs never do.
        required.retain(|r| r != "metadata");
        if required.is_empty() {
            root.remove("required");
        }
    }
    let properties = root
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .expect("properties is an object");
    properties.insert(
        "apiVersion".into(),
        json!({"type": "string", "description": API_VERSION_DOC}),
    );
    properties.insert("kind".into(), json!({"type": "string", "description": KIND_DOC}));
    // The root metadata may say nothing but `type: object` (not even a description): the
    // apiserver validates ObjectMeta itself.
    properties.insert("metadata".into(), json!({"type": "object"}));
    root.insert("type".into(), "object".into());
    schema
}

const API_VERSION_DOC: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const KIND_DOC: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";

/// The schema of `T` with every `$ref` inlined and the structural rewrites applied.
///
/// Panics on a recursive type (a structural schema cannot express recursion); that is a
/// programming error caught by the unit tests, not a runtime condition.
pub fn inlined_schema<T: JsonSchema>() -> Value {
    let mut generator = SchemaSettings::openapi3()
        .with(|s| {
            s.inline_subschemas = false;
            s.meta_schema = None;
            // `$ref` siblings (a field's description) are merged when inlining below; moving
            // them into `allOf` first would only add a level to undo.
            s.transforms.retain(|t| !t.is::<RemoveRefSiblings>());
        })
        .into_generator();
    let root = generator.subschema_for::<T>().to_value();
    let mut definitions = generator.take_definitions(true);
    if let Some(Value::Object(quantity)) = definitions.get_mut(QUANTITY) {
        quantity.insert("pattern".into(), QUANTITY_PATTERN.into());
    }
    let mut inlined = inline_refs(&root, &definitions, &mut Vec::new());
    collapse_optional(&mut inlined);

    // The same rewriters, in the same order, kube-derive runs for `CustomResource` schemas.
    let mut schema: schemars::Schema =
        serde_json::from_value(inlined).expect("inlined schema is a JSON schema");
    kube::core::schema::StructuralSchemaRewriter.transform(&mut schema);
    kube::core::schema::OptionalEnum.transform(&mut schema);
    kube::core::schema::OptionalIntOrString.transform(&mut schema);
    let mut value = schema.to_value();
    add_int_or_string_any_of(&mut value);
    preserve_free_form_objects(&mut value);
    value
}

/// Turns `anyOf: [T, null]` (schemars' `Option<T>` when `T` was a `$ref`) into `T` plus
/// `nullable: true`, which is what schemars emits for an inline `T` and what kube-derive's
/// CRDs contain. Without this, kube's rewriter strips the `type` out of the `anyOf` branch
/// and the node ends up untyped. Keys already on the node (the field's description) win.
fn collapse_optional(schema: &mut Value) {
    let Value::Object(obj) = schema else { return };
    for_each_subschema(obj, collapse_optional);
    let Some(Value::Array(any_of)) = obj.get("anyOf") else {
        return;
    };
    let [a, b] = any_of.as_slice() else { return };
    let inner = match (is_null_only(a), is_null_only(b)) {
        (false, true) => a.clone(),
        (true, false) => b.clone(),
        _ => return,
    };
    let Value::Object(inner) = inner else { return };
    obj.remove("anyOf");
    for (key, value) in inner {
        obj.entry(key).or_insert(value);
    }
    obj.insert("nullable".into(), true.into());
}

/// Whether `schema` admits only `null` (`type: null`, `enum: [null]` or `const: null`).
fn is_null_only(schema: &Value) -> bool {
    let Value::Object(obj) = schema else {
        return false;
    };
    let null_type = obj.get("type") == Some(&Value::from("null"));
    let null_enum = obj.get("enum") == Some(&json!([null]));
    let null_const = obj.get("const") == Some(&Value::Null);
    (null_type || null_enum || null_const)
        && obj
            .keys()
            .all(|k| matches!(k.as_str(), "type" | "enum" | "const" | "nullable"))
}

/// Gives every int-or-string node the `anyOf: [integer, string]` kube-apiserver's OpenAPI
/// and controller-gen emit (the one `anyOf` structural schemas allow types in). Done after
/// kube's rewriter, which strips `type` out of `anyOf` branches.
fn add_int_or_string_any_of(schema: &mut Value) {
    let Value::Object(obj) = schema else { return };
    if obj.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        obj.insert("anyOf".into(), json!([{"type": "integer"}, {"type": "string"}]));
    }
    for_each_subschema(obj, add_int_or_string_any_of);
}

/// The definition name a `$ref` points at (`#/components/schemas/<name>`).
fn ref_name(reference: &str) -> String {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    last.replace("~1", "/").replace("~0", "~")
}

/// Copy of `schema` with every `$ref` replaced by its definition; keys next to the
/// `$ref` (a field's own description) win over the definition's.
fn inline_refs(schema: &Value, definitions: &Map<String, Value>, stack: &mut Vec<String>) -> Value {
    let Value::Object(obj) = schema else {
        return schema.clone();
    };
    if let Some(Value::String(reference)) = obj.get("$ref") {
        let name = ref_name(reference);
        assert!(
            !stack.contains(&name),
            "recursive schema through {name}: structural schemas cannot express recursion"
        );
        let definition = definitions
            .get(&name)
            .unwrap_or_else(|| panic!("schema references unknown definition {name}"));
        stack.push(name);
        let mut resolved = inline_refs(definition, definitions, stack);
        stack.pop();
        if let Value::Object(resolved_obj) = &mut resolved {
            for (key, value) in obj {
                if key != "$ref" {
                    resolved_obj.insert(key.clone(), inline_refs(value, definitions, stack));
                }
            }
        }
        return resolved;
    }
    let mut out = Map::new();
    for (key, value) in obj {
        let value = match (key.as_str(), value) {
            ("properties" | "patternProperties", Value::Object(props)) => Value::Object(
                props
                    .iter()
                    .map(|(k, v)| (k.clone(), inline_refs(v, definitions, stack)))
                    .collect(),
            ),
            (k, Value::Array(list)) if SCHEMA_LIST_KEYWORDS.contains(&k) || k == "items" => {
                Value::Array(list.iter().map(|v| inline_refs(v, definitions, stack)).collect())
            }
            (k, v) if SCHEMA_KEYWORDS.contains(&k) => inline_refs(v, definitions, stack),
            _ => value.clone(),
        };
        out.insert(key.clone(), value);
    }
    Value::Object(out)
}

/// Marks objects without any declared fields as free-form, so the apiserver keeps their
/// content instead of pruning it.
fn preserve_free_form_objects(schema: &mut Value) {
    let Value::Object(obj) = schema else { return };
    let is_free_form = obj.get("type") == Some(&Value::from("object"))
        && !obj.contains_key("properties")
        && !obj.contains_key("additionalProperties");
    if is_free_form {
        obj.insert("x-kubernetes-preserve-unknown-fields".into(), true.into());
    }
    for_each_subschema(obj, preserve_free_form_objects);
}

/// Joins the hard-wrapped lines of Rust doc comments in every `description`, so
/// `kubectl explain` can wrap the text itself instead of showing our line breaks. Blank
/// lines (paragraphs) and lines that start a list item or are indented are kept.
pub fn unwrap_doc_lines(schema: &mut Value) {
    let Value::Object(obj) = schema else { return };
    if let Some(Value::String(description)) = obj.get_mut("description") {
        *description = unwrap_lines(description);
    }
    for_each_subschema(obj, unwrap_doc_lines);
}

fn unwrap_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut previous_blank = true;
    for (i, line) in text.split('\n').enumerate() {
        let starts_block = line.is_empty()
            || line.starts_with(char::is_whitespace)
            || line.starts_with(['-', '*', '|', '`']);
        if i > 0 {
            out.push(if previous_blank || starts_block { '\n' } else { ' ' });
        }
        out.push_str(line);
        previous_blank = line.is_empty();
    }
    out
}

/// Calls `f` on every direct subschema of `obj`.
pub(crate) fn for_each_subschema(obj: &mut Map<String, Value>, mut f: impl FnMut(&mut Value)) {
    for (key, value) in obj.iter_mut() {
        match (key.as_str(), value) {
            ("properties" | "patternProperties", Value::Object(props)) => props.values_mut().for_each(&mut f),
            (k, Value::Array(list)) if SCHEMA_LIST_KEYWORDS.contains(&k) || k == "items" => {
                list.iter_mut().for_each(&mut f)
            }
            (k, v) if SCHEMA_KEYWORDS.contains(&k) => f(v),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_lines_are_joined_but_paragraphs_and_lists_kept() {
        assert_eq!(
            unwrap_lines("one\ntwo\n\nthree\n- a\n- b"),
            "one two\n\nthree\n- a\n- b"
        );
        assert_eq!(unwrap_lines("single"), "single");
        let mut schema = json!({"description": "a\nb", "properties": {"x": {"description": "c\nd"}}});
        unwrap_doc_lines(&mut schema);
        assert_eq!(
            schema,
            json!({"description": "a b", "properties": {"x": {"description": "c d"}}})
        );
    }

    #[test]
    fn optional_ref_collapses_to_nullable() {
        let mut schema = json!({"description": "field", "anyOf": [
            {"type": "string", "format": "date-time", "description": "Time"},
            {"enum": [null], "nullable": true}]});
        collapse_optional(&mut schema);
        assert_eq!(
            schema,
            json!({"description": "field", "type": "string",
                                  "format": "date-time", "nullable": true})
        );
        let mut both = json!({"anyOf": [{"type": "string"}, {"type": "integer"}]});
        let before = both.clone();
        collapse_optional(&mut both);
        assert_eq!(both, before, "a real union is left alone");
    }

    #[test]
    fn refs_are_inlined_with_sibling_overrides() {
        let defs: Map<String, Value> = serde_json::from_value(json!({
            "A": {"type": "object", "description": "A doc", "properties": {"b": {"$ref": "#/components/schemas/B"}}},
            "B": {"type": "string", "description": "B doc"},
        })).unwrap();
        let root = json!({"$ref": "#/components/schemas/A", "description": "field doc"});
        assert_eq!(
            inline_refs(&root, &defs, &mut Vec::new()),
            json!({
            "type": "object", "description": "field doc",
            "properties": {"b": {"type": "string", "description": "B doc"}}})
        );
    }

    #[test]
    #[should_panic(expected = "recursive schema")]
    fn recursion_is_refused() {
        let defs: Map<String, Value> = serde_json::from_value(json!({
            "A": {"type": "object", "properties": {"a": {"$ref": "#/components/schemas/A"}}},
        }))
        .unwrap();
        inline_refs(&json!({"$ref": "#/components/schemas/A"}), &defs, &mut Vec::new());
    }

    #[test]
    fn free_form_objects_are_preserved_and_int_or_string_typed() {
        let mut schema = json!({"type": "object", "properties": {
            "free": {"type": "object"},
            "map": {"type": "object", "additionalProperties": {"type": "string"}},
            "port": {"x-kubernetes-int-or-string": true}}});
        preserve_free_form_objects(&mut schema);
        add_int_or_string_any_of(&mut schema);
        assert_eq!(
            schema["properties"]["free"]["x-kubernetes-preserve-unknown-fields"],
            true
        );
        assert!(schema["properties"]["map"]
            .get("x-kubernetes-preserve-unknown-fields")
            .is_none());
        assert!(schema.get("x-kubernetes-preserve-unknown-fields").is_none());
        assert_eq!(
            schema["properties"]["port"]["anyOf"],
            json!([{"type": "integer"}, {"type": "string"}])
        );
    }
}
