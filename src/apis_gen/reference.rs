//! The field-by-field API reference of the `tmc.kcp.io` kinds, in Markdown, generated from
//! the same [`ResourceDefinition`]s as `apis/`, discovery and OpenAPI, so the documentation
//! cannot drift from what kcp and tmc-server serve (`tests/apis_drift.rs` checks the
//! committed [`REFERENCE_DIR`]). Pure and deterministic: schema properties are sorted maps
//! and the kinds come in [`definitions`] then [`view_definitions`] order.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::Value;

use super::{definitions, view_definitions, GeneratedFile, ResourceDefinition, MARKDOWN_HEADER};
use crate::api::{TMC_EXPORT, WORKLOAD_EXPORT};
use crate::resources::served;

/// Where the reference is written, relative to the repository root. Holds only generated
/// files, so a stale one is recognizable.
pub const REFERENCE_DIR: &str = "docs/reference";

/// The Kubernetes API reference, for the upstream kinds TMC serves unchanged.
const KUBERNETES_REFERENCE: &str = "https://kubernetes.io/docs/reference/kubernetes-api/";

/// Fields every object has, documented once per kind rather than walked.
const STANDARD_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// One row of a kind's field table.
#[derive(Clone, Debug, PartialEq)]
struct FieldRow {
    /// Dotted path from the object's root; `[]` marks array items, `<key>` map values.
    path: String,
    /// What the field holds, e.g. `string`, `array of object`, `map of Quantity`.
    type_name: String,
    /// Listed in the parent object's `required`.
    required: bool,
    /// The schema's `default`, as JSON.
    default: Option<String>,
    description: String,
}

/// The TMC kinds, stored ones then views, in reference order.
fn tmc_definitions() -> Vec<ResourceDefinition> {
    let mut all: Vec<ResourceDefinition> = definitions()
        .into_iter()
        .filter(|d| d.export == TMC_EXPORT)
        .collect();
    all.extend(view_definitions());
    all
}

/// The contents of [`REFERENCE_DIR`]: one file per group version,
/// `tmc.kcp.io-v1alpha1.md`.
pub fn render_reference() -> Vec<GeneratedFile> {
    let defs = tmc_definitions();
    let Some(first) = defs.first() else {
        return Vec::new();
    };
    let (group, version) = (first.group.clone(), first.version.clone());
    debug_assert!(defs.iter().all(|d| d.group == group && d.version == version));
    vec![GeneratedFile {
        path: format!("{group}-{version}.md"),
        contents: render_document(&first.api_version(), &defs),
    }]
}

fn render_document(api_version: &str, defs: &[ResourceDefinition]) -> String {
    let mut out = String::from(MARKDOWN_HEADER);
    let _ = writeln!(out, "# API reference: `{api_version}`\n");
    out.push_str(
        "Every kind of the group, field by field, generated from the Rust types (`src/api/`) \
         by `tmc-gen-apis`: regenerate with `cargo run --bin tmc-gen-apis` (`make apis`). \
         What each request does: [What tmc-server serves](../api.md).\n\n",
    );
    let upstream: Vec<String> = definitions()
        .iter()
        .filter(|d| d.export == WORKLOAD_EXPORT)
        .map(|d| format!("{} (`{}`)", d.names.kind, d.api_version()))
        .collect();
    if !upstream.is_empty() {
        let _ = writeln!(
            out,
            "The workload kinds of the `{WORKLOAD_EXPORT}` export, {}, are Kubernetes' own types, \
             served unchanged: see the [Kubernetes API reference]({KUBERNETES_REFERENCE}).\n",
            upstream.join(" and ")
        );
    }
    for d in defs {
        let _ = writeln!(out, "- [{}](#{})", d.names.kind, d.names.kind.to_lowercase());
    }
    for d in defs {
        out.push('\n');
        out.push_str(&render_kind(d));
    }
    out
}

/// One kind: heading, description, summary, `kubectl get` columns and fields.
fn render_kind(d: &ResourceDefinition) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## {}\n", d.names.kind);
    if let Some(desc) = d.schema["description"].as_str() {
        let _ = writeln!(out, "{}\n", desc.trim());
    }
    out.push_str(&summary_table(d));
    out.push('\n');
    if !d.printer_columns.is_empty() {
        let _ = writeln!(out, "### `kubectl get {}` columns\n", d.names.plural);
        out.push_str(&columns_table(d));
        out.push('\n');
    }
    let _ = writeln!(out, "### Fields\n");
    let _ = writeln!(
        out,
        "`apiVersion` and `kind` as on every object; `metadata` is the standard `ObjectMeta`.\n"
    );
    out.push_str(&fields_table(&d.schema));
    out
}

fn summary_table(d: &ResourceDefinition) -> String {
    let served = served()
        .into_iter()
        .find(|r| r.group == d.group && r.plural == d.names.plural);
    let storage = match &served {
        Some(r) if r.stored_in_kcp => format!(
            "stored in kcp; tmc-server serves {} (writes are forwarded to kcp)",
            r.verbs.join(", ")
        ),
        Some(r) => format!(
            "a read-only view tmc-server computes, never stored; verbs {}",
            r.verbs.join(", ")
        ),
        None => "not served by tmc-server".to_owned(),
    };
    let code = |s: &str| format!("`{s}`");
    let short_names: Vec<String> = d.names.short_names.iter().flatten().map(|s| code(s)).collect();
    let mut subresources = Vec::new();
    if let Some(s) = &d.subresources {
        if s.status.is_some() {
            subresources.push(code("status"));
        }
        if s.scale.is_some() {
            subresources.push(code("scale"));
        }
    }
    let or_none = |v: Vec<String>| {
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.join(", ")
        }
    };
    let mut out = String::from("| | |\n|---|---|\n");
    let _ = writeln!(out, "| apiVersion | `{}` |", d.api_version());
    let _ = writeln!(out, "| scope | {} |", d.scope);
    let _ = writeln!(out, "| plural | `{}` |", d.names.plural);
    let _ = writeln!(
        out,
        "| singular | {} |",
        d.names.singular.as_deref().map_or_else(|| "none".into(), code)
    );
    let _ = writeln!(out, "| short names | {} |", or_none(short_names));
    let _ = writeln!(out, "| storage | {storage} |");
    let _ = writeln!(out, "| subresources | {} |", or_none(subresources));
    out
}

fn columns_table(d: &ResourceDefinition) -> String {
    let mut out = String::from("| column | JSONPath | shown | description |\n|---|---|---|---|\n");
    for c in &d.printer_columns {
        let shown = if c.priority.unwrap_or(0) > 0 {
            "with `-o wide`"
        } else {
            "always"
        };
        let _ = writeln!(
            out,
            "| {} | `{}` | {shown} | {} |",
            escape(&c.name),
            escape(&c.json_path),
            escape(c.description.as_deref().unwrap_or_default())
        );
    }
    out
}

/// The field table of an object schema (see [`field_rows`]).
fn fields_table(schema: &Value) -> String {
    let mut out =
        String::from("| field | type | required | default | description |\n|---|---|---|---|---|\n");
    for row in field_rows(schema) {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} |",
            row.path,
            escape(&row.type_name),
            if row.required { "yes" } else { "" },
            row.default
                .as_deref()
                .map_or_else(String::new, |d| format!("`{}`", escape(d))),
            escape(&row.description)
        );
    }
    out
}

/// Every field of the object schema but `apiVersion`, `kind` and `metadata`, depth first
/// (each field right before its own fields), properties in sorted order.
fn field_rows(schema: &Value) -> Vec<FieldRow> {
    let mut rows = Vec::new();
    walk_properties(schema, "", &mut rows);
    rows
}

fn walk_properties(schema: &Value, prefix: &str, rows: &mut Vec<FieldRow>) {
    let Some(props) = schema["properties"].as_object() else {
        return;
    };
    let required: BTreeSet<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (name, field) in props {
        if prefix.is_empty() && STANDARD_FIELDS.contains(&name.as_str()) {
            continue;
        }
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        rows.push(FieldRow {
            path: path.clone(),
            type_name: type_name(field),
            required: required.contains(name.as_str()),
            default: field.get("default").map(Value::to_string),
            description: field["description"]
                .as_str()
                .unwrap_or_default()
                .trim()
                .to_owned(),
        });
        walk_nested(field, &path, rows);
    }
}

/// Descends into an object's properties, array items and map values; not into free-form
/// objects, whose fields the schema does not know.
fn walk_nested(field: &Value, path: &str, rows: &mut Vec<FieldRow>) {
    if is_free_form(field) {
        return;
    }
    match field["type"].as_str() {
        Some("array") => walk_nested(&field["items"], &format!("{path}[]"), rows),
        Some("object") if map_values(field).is_some() => {
            walk_nested(&field["additionalProperties"], &format!("{path}.<key>"), rows);
        }
        Some("object") => walk_properties(field, path, rows),
        _ => {}
    }
}

fn is_free_form(field: &Value) -> bool {
    field["x-kubernetes-preserve-unknown-fields"] == true
}

/// The value schema of a map (`additionalProperties` with a schema).
fn map_values(field: &Value) -> Option<&Value> {
    field.get("additionalProperties").filter(|v| v.is_object())
}

/// What a field holds, in words: `string`, `integer (int32)`, `array of object`,
/// `map of Quantity`, `object (free-form)`, with the allowed values of an enum.
fn type_name(field: &Value) -> String {
    let base = if field["x-kubernetes-int-or-string"] == true {
        // Quantities carry their canonical pattern (structural.rs); other int-or-strings
        // (IntOrString) do not.
        if field.get("pattern").is_some() {
            "Quantity".to_owned()
        } else {
            "integer or string".to_owned()
        }
    } else {
        match field["type"].as_str() {
            Some("array") => format!("array of {}", type_name(&field["items"])),
            Some("object") if is_free_form(field) => "object (free-form)".to_owned(),
            Some("object") => match map_values(field) {
                Some(values) => format!("map of {}", type_name(values)),
                None => "object".to_owned(),
            },
            Some(t) => match field["format"].as_str() {
                Some(f) => format!("{t} ({f})"),
                None => t.to_owned(),
            },
            None if is_free_form(field) => "any (free-form)".to_owned(),
            None => "any".to_owned(),
        }
    };
    match field["enum"].as_array() {
        Some(values) if !values.is_empty() => {
            let listed: Vec<String> = values
                .iter()
                .map(|v| format!("`{}`", v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                .collect();
            format!("{base}, one of {}", listed.join(", "))
        }
        _ => base,
    }
}

/// Text safe inside a Markdown table cell: pipes escaped, line breaks as `<br>` (a blank
/// line between paragraphs as two).
fn escape(text: &str) -> String {
    text.trim()
        .replace("\r\n", "\n")
        .replace('|', "\\|")
        .replace('\n', "<br>")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn document() -> String {
        let files = render_reference();
        assert_eq!(files.len(), 1);
        files.into_iter().next().unwrap().contents
    }

    /// The part of the document about one kind.
    fn section<'a>(text: &'a str, kind: &str) -> &'a str {
        let start = text
            .find(&format!("\n## {kind}\n"))
            .unwrap_or_else(|| panic!("no section for {kind}"))
            + 1;
        let rest = &text[start..];
        let end = rest[1..].find("\n## ").map_or(rest.len(), |i| i + 2);
        &rest[..end]
    }

    /// The cells of a table row, split on unescaped pipes.
    fn cells(line: &str) -> Vec<String> {
        let mut out = vec![String::new()];
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&'|') => {
                    out.last_mut().unwrap().push_str("\\|");
                    chars.next();
                }
                '|' => out.push(String::new()),
                c => out.last_mut().unwrap().push(c),
            }
        }
        assert!(out.len() >= 3, "not a table row: {line}");
        out[1..out.len() - 1]
            .iter()
            .map(|c| c.trim().to_owned())
            .collect()
    }

    /// The rows of the field table of a kind's section, by path (without backticks).
    fn field_table(section: &str) -> Vec<(String, Vec<String>)> {
        let fields = &section[section.find("### Fields").expect("a field table")..];
        fields
            .lines()
            .filter(|l| l.starts_with("| `"))
            .map(|l| {
                let c = cells(l);
                assert_eq!(c.len(), 5, "malformed field row: {l}");
                (c[0].trim_matches('`').to_owned(), c)
            })
            .collect()
    }

    /// Every field path of a schema and whether its parent requires it, computed
    /// independently of [`field_rows`].
    fn schema_paths(schema: &Value, prefix: &str, out: &mut Vec<(String, bool)>) {
        let required = schema["required"].as_array().cloned().unwrap_or_default();
        for (name, field) in schema["properties"].as_object().into_iter().flatten() {
            if prefix.is_empty() && ["apiVersion", "kind", "metadata"].contains(&name.as_str()) {
                continue;
            }
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            out.push((path.clone(), required.contains(&json!(name))));
            let (mut inner, mut inner_path) = (field, path);
            loop {
                if inner["type"] == "array" {
                    inner = &inner["items"];
                    inner_path.push_str("[]");
                } else if inner["additionalProperties"].is_object() {
                    inner = &inner["additionalProperties"];
                    inner_path.push_str(".<key>");
                } else {
                    break;
                }
            }
            if inner["x-kubernetes-preserve-unknown-fields"] != true {
                schema_paths(inner, &inner_path, out);
            }
        }
    }

    #[test]
    fn every_field_path_of_cluster_registration_appears_exactly_once() {
        let def = ResourceDefinition::from_custom_resource::<crate::api::ClusterRegistration>(TMC_EXPORT);
        let mut expected = Vec::new();
        schema_paths(&def.schema, "", &mut expected);
        assert!(expected.len() > 20, "{expected:?}");
        let text = document();
        let rows = field_table(section(&text, "ClusterRegistration"));
        for (path, _) in &expected {
            let n = rows.iter().filter(|(p, _)| p == path).count();
            assert_eq!(n, 1, "{path} appears {n} times");
        }
        assert_eq!(rows.len(), expected.len(), "rows for paths not in the schema");
        for path in [
            "spec.location",
            "spec.kubeconfigSecretRef.name",
            "status.conditions[].type",
        ] {
            assert!(rows.iter().any(|(p, _)| p == path), "{path}");
        }
        assert!(!rows
            .iter()
            .any(|(p, _)| p == "metadata" || p == "kind" || p == "apiVersion"));
    }

    #[test]
    fn required_fields_are_marked_and_only_those() {
        let text = document();
        for d in tmc_definitions() {
            let mut expected = Vec::new();
            schema_paths(&d.schema, "", &mut expected);
            let rows = field_table(section(&text, &d.names.kind));
            for (path, required) in expected {
                let (_, row) = rows.iter().find(|(p, _)| *p == path).unwrap();
                let mark = if required { "yes" } else { "" };
                assert_eq!(row[2], mark, "{} {path}", d.names.kind);
            }
        }
        let rows = field_table(section(&text, "ClusterRegistration"));
        let required = |path: &str| rows.iter().find(|(p, _)| p == path).unwrap().1[2] == "yes";
        assert!(required("spec") && required("spec.location") && required("spec.kubeconfigSecretRef.name"));
        assert!(
            !required("status")
                && !required("spec.unschedulable")
                && !required("spec.kubeconfigSecretRef.key")
        );
    }

    #[test]
    fn pipes_and_line_breaks_are_escaped_in_cells() {
        let schema = json!({"type": "object", "properties": {
            "a": {"type": "string", "description": "either x | y\n\nor z", "default": "p|q"}}});
        let table = fields_table(&schema);
        let row = table.lines().find(|l| l.starts_with("| `a`")).unwrap();
        assert_eq!(
            row,
            "| `a` | string |  | `\"p\\|q\"` | either x \\| y<br><br>or z |"
        );
        assert_eq!(cells(row).len(), 5);
        // The real Ready column's JSONPath has no pipe but quotes and brackets, kept as is.
        let text = document();
        assert!(text.contains("| Ready | `.status.conditions[?(@.type==\"Ready\")].status` | always |"));
    }

    #[test]
    fn nested_arrays_render_with_brackets() {
        let text = document();
        let rows = field_table(section(&text, "Placement"));
        let (_, row) = rows
            .iter()
            .find(|(p, _)| p == "status.clusters[].name")
            .expect("clusters[].name");
        assert_eq!((row[1].as_str(), row[2].as_str()), ("string", "yes"));
        let (_, row) = rows.iter().find(|(p, _)| p == "status.clusters").unwrap();
        assert_eq!(row[1], "array of object");

        let schema = json!({"type": "object", "properties": {"grid": {"type": "array", "items": {
            "type": "array", "items": {"type": "object", "required": ["x"], "properties": {
                "x": {"type": "integer", "format": "int32"}}}}}}});
        let rows = field_rows(&schema);
        assert_eq!(rows[0].type_name, "array of array of object");
        assert_eq!(
            (rows[1].path.as_str(), rows[1].type_name.as_str()),
            ("grid[][].x", "integer (int32)")
        );
        assert!(rows[1].required);
    }

    #[test]
    fn every_print_column_of_every_kind_appears_in_its_section() {
        let text = document();
        for d in tmc_definitions() {
            let section = section(&text, &d.names.kind);
            assert!(section.contains(&format!("### `kubectl get {}` columns", d.names.plural)));
            assert!(!d.printer_columns.is_empty(), "{}", d.names.kind);
            for c in &d.printer_columns {
                let shown = if c.priority.unwrap_or(0) > 0 {
                    "with `-o wide`"
                } else {
                    "always"
                };
                let row = format!(
                    "| {} | `{}` | {shown} | {} |",
                    c.name,
                    c.json_path,
                    c.description.as_deref().unwrap_or_default()
                );
                assert!(section.contains(&row), "{}: {row}", d.names.kind);
            }
        }
    }

    #[test]
    fn types_are_named_and_never_empty() {
        let schema = json!({"type": "object", "properties": {
            "n": {"type": "string", "enum": ["On", "Off"]},
            "m": {"type": "object", "additionalProperties": {"type": "integer", "format": "int32"}},
            "q": {"x-kubernetes-int-or-string": true, "pattern": "^[0-9]+$"},
            "port": {"x-kubernetes-int-or-string": true},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                     "properties": {"hidden": {"type": "string"}}}}});
        let rows = field_rows(&schema);
        let ty = |p: &str| rows.iter().find(|r| r.path == p).unwrap().type_name.clone();
        assert_eq!(ty("n"), "string, one of `On`, `Off`");
        assert_eq!(ty("m"), "map of integer (int32)");
        assert_eq!(ty("q"), "Quantity");
        assert_eq!(ty("port"), "integer or string");
        assert_eq!(ty("free"), "object (free-form)");
        assert!(
            !rows.iter().any(|r| r.path.starts_with("free.")),
            "free-form objects are not walked"
        );

        let text = document();
        let cr = field_table(section(&text, "ClusterRegistration"));
        let ty = |p: &str| cr.iter().find(|(q, _)| q == p).unwrap().1[1].clone();
        assert_eq!(ty("status.capacity"), "map of Quantity");
        assert_eq!(
            ty("status.conditions[].status"),
            "string, one of `True`, `False`, `Unknown`"
        );
        assert_eq!(ty("spec.kubeconfigSecretRef.key"), "string");
        for d in tmc_definitions() {
            for (path, row) in field_table(section(&text, &d.names.kind)) {
                assert!(
                    !row[1].is_empty() && row[1] != "any",
                    "{}: {path} has no type",
                    d.names.kind
                );
            }
        }
    }

    #[test]
    fn the_document_covers_the_tmc_kinds_only_and_is_deterministic() {
        let files = render_reference();
        assert_eq!(files[0].path, "tmc.kcp.io-v1alpha1.md");
        assert_eq!(files, render_reference());
        let text = &files[0].contents;
        assert!(text.starts_with(MARKDOWN_HEADER));
        let kinds: Vec<String> = tmc_definitions().into_iter().map(|d| d.names.kind).collect();
        assert_eq!(
            kinds,
            [
                "ClusterRegistration",
                "WorkloadPlacement",
                "Placement",
                "SharedCluster"
            ]
        );
        for kind in &kinds {
            assert!(
                text.contains(&format!("- [{kind}](#{})", kind.to_lowercase())),
                "toc: {kind}"
            );
        }
        assert!(!text.contains("## Deployment") && !text.contains("## Service\n"));
        assert!(text.contains(KUBERNETES_REFERENCE) && text.contains("Deployment (`apps/v1`)"));
        let cr = section(text, "ClusterRegistration");
        assert!(cr.contains("| scope | Cluster |") && cr.contains("| storage | stored in kcp;"));
        let pl = section(text, "Placement");
        assert!(pl.contains("| scope | Namespaced |") && pl.contains("| short names | `pl` |"));
        assert!(pl.contains(
            "| storage | a read-only view tmc-server computes, never stored; verbs get, list, watch |"
        ));
        assert!(section(text, "SharedCluster").contains("read-only view"));
    }
}
