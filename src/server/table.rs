//! `meta.k8s.io/v1` Table responses for `kubectl get`: columns come from the
//! resource's print columns (one source: the Rust types), cells are computed
//! here, ages included, so every kubectl version prints the same thing.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::jsonpath::JsonPath;
use crate::resources::ServedResource;

/// What each row carries besides its cells (`includeObject`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncludeObject {
    None,
    Metadata,
    Object,
}

impl IncludeObject {
    pub fn parse(v: Option<&str>) -> Result<Self, String> {
        match v {
            None | Some("") | Some("Metadata") => Ok(Self::Metadata),
            Some("Object") => Ok(Self::Object),
            Some("None") => Ok(Self::None),
            Some(other) => Err(format!(
                "includeObject: Unsupported value: \"{other}\": supported values: \"None\", \"Metadata\", \"Object\""
            )),
        }
    }
}

/// Renders objects as a Table.
pub fn render(
    resource: &ServedResource,
    items: &[&Value],
    resource_version: &str,
    include: IncludeObject,
    now: DateTime<Utc>,
) -> Value {
    let columns: Vec<(JsonPath, &str)> = resource
        .print_columns
        .iter()
        .map(|c| {
            // Print columns come from our own types; a bad one is a bug caught by tests.
            (
                JsonPath::parse(&c.json_path).expect("print column JSONPath"),
                c.type_.as_str(),
            )
        })
        .collect();
    let definitions: Vec<Value> = resource
        .print_columns
        .iter()
        .map(|c| {
            json!({"name": c.name, "type": if c.type_ == "date" { "string" } else { &c.type_ },
                   "format": c.format, "description": c.description, "priority": c.priority})
        })
        .collect();
    let rows: Vec<Value> = items
        .iter()
        .map(|obj| {
            let cells: Vec<Value> = columns
                .iter()
                .map(|(path, ty)| cell(&path.eval(obj), ty, now))
                .collect();
            let mut row = json!({"cells": cells});
            match include {
                IncludeObject::None => {}
                IncludeObject::Metadata => {
                    row["object"] = json!({
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": obj["metadata"],
                    })
                }
                IncludeObject::Object => row["object"] = (*obj).clone(),
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": definitions,
        "rows": rows,
    })
}

fn cell(found: &[&Value], type_: &str, now: DateTime<Utc>) -> Value {
    match found {
        [] => Value::Null,
        [one] if type_ == "date" => match one.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()) {
            Some(t) => Value::String(human_duration(now.signed_duration_since(t.with_timezone(&Utc)))),
            None => Value::Null,
        },
        [one] => (*one).clone(),
        many => Value::String(
            many.iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
        ),
    }
}

/// kube-apiserver's `duration.HumanDuration`: the age format of `kubectl get`.
pub fn human_duration(d: chrono::TimeDelta) -> String {
    let secs = d.num_seconds();
    if secs < -1 {
        return "<invalid>".into();
    }
    let secs = secs.max(0);
    let (m, h, day, year) = (60, 3600, 86400, 365 * 86400);
    if secs < 60 * 2 {
        format!("{secs}s")
    } else if secs < 10 * m {
        let s = secs % m;
        if s == 0 {
            format!("{}m", secs / m)
        } else {
            format!("{}m{}s", secs / m, s)
        }
    } else if secs < 3 * h {
        format!("{}m", secs / m)
    } else if secs < 8 * h {
        let mm = (secs % h) / m;
        if mm == 0 {
            format!("{}h", secs / h)
        } else {
            format!("{}h{}m", secs / h, mm)
        }
    } else if secs < 48 * h {
        format!("{}h", secs / h)
    } else if secs < 8 * day {
        let hh = (secs % day) / h;
        if hh == 0 {
            format!("{}d", secs / day)
        } else {
            format!("{}d{}h", secs / day, hh)
        }
    } else if secs < 2 * year {
        format!("{}d", secs / day)
    } else if secs < 8 * year {
        let dd = (secs % year) / day;
        if dd == 0 {
            format!("{}y", secs / year)
        } else {
            format!("{}y{}d", secs / year, dd)
        }
    } else {
        format!("{}y", secs / year)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn ages_match_kubectl() {
        let s = TimeDelta::seconds;
        assert_eq!(human_duration(s(5)), "5s");
        assert_eq!(human_duration(s(119)), "119s");
        assert_eq!(human_duration(s(150)), "2m30s");
        assert_eq!(human_duration(s(600)), "10m");
        assert_eq!(human_duration(s(3 * 3600 + 120)), "3h2m");
        assert_eq!(human_duration(s(30 * 3600)), "30h");
        assert_eq!(human_duration(s(3 * 86400 + 3600)), "3d1h");
        assert_eq!(human_duration(s(100 * 86400)), "100d");
        assert_eq!(human_duration(s(-10)), "<invalid>");
    }

    #[test]
    fn renders_rows_from_print_columns() {
        let resources = crate::resources::served();
        let cr = resources
            .iter()
            .find(|r| r.plural == "clusterregistrations")
            .unwrap();
        let now = Utc::now();
        let created = (now - TimeDelta::seconds(90)).to_rfc3339();
        let obj = json!({"metadata": {"name": "east", "creationTimestamp": created},
                         "spec": {"location": "us-east"},
                         "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        let t = render(cr, &[&obj], "42", IncludeObject::Metadata, now);
        assert_eq!(t["kind"], "Table");
        let names: Vec<&str> = t["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        let cells = t["rows"][0]["cells"].as_array().unwrap();
        assert_eq!(cells.len(), names.len());
        let cell_of = |n: &str| &cells[names.iter().position(|x| x.eq_ignore_ascii_case(n)).unwrap()];
        assert_eq!(cell_of("name"), "east");
        assert_eq!(cell_of("location"), "us-east");
        assert_eq!(cell_of("ready"), "True");
        assert_eq!(cell_of("age"), "90s");
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    }
}
