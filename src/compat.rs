//! Whether two `begin` records describe the same scan: the same tool version, command,
//! sources, hash sets (by SHA-256), known-file lists and every setting that can change
//! a record. Used before a report is continued (`scan --resume`) and before reports
//! are merged (`phscan report merge`). It compares JSON, field by field, and names the
//! first field that differs; it knows nothing of what the fields mean beyond the list
//! of those to ignore that its callers give.

use serde_json::Value;

/// Fields of `begin` that differ between runs of one scan without changing its records:
/// when it started, and how many threads ran it (the report is the same whatever the
/// thread count).
pub const VOLATILE: &[&str] = &["started_at", "config.threads"];

/// The first difference between `a` and `b` outside the fields `ignore` (dotted paths,
/// as in [`VOLATILE`]): the field's path (`config.limits.max_pixels`,
/// `hashsets[0].sha256`) and its values in `a` and in `b` (`absent` where missing),
/// shortened for a message. `None` when they agree.
pub fn first_difference(a: &Value, b: &Value, ignore: &[&str]) -> Option<Difference> {
    diff(a, b, String::new(), ignore)
}

/// A field that differs between two `begin` records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub field: String,
    pub a: String,
    pub b: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} against {}", self.field, self.a, self.b)
    }
}

fn diff(a: &Value, b: &Value, at: String, ignore: &[&str]) -> Option<Difference> {
    if ignore.contains(&at.as_str()) {
        return None;
    }
    let join = |k: &str| {
        if at.is_empty() {
            k.to_owned()
        } else {
            format!("{at}.{k}")
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| {
                let (p, q) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                if x.contains_key(k) != y.contains_key(k) && !ignore.contains(&join(k).as_str()) {
                    return Some(Difference {
                        field: join(k),
                        a: shown(x.get(k)),
                        b: shown(y.get(k)),
                    });
                }
                diff(p, q, join(k), ignore)
            })
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(Difference {
                    field: at.clone(),
                    a: format!("{} entries", x.len()),
                    b: format!("{} entries", y.len()),
                });
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (p, q))| diff(p, q, format!("{at}[{i}]"), ignore))
        }
        _ if a == b => None,
        _ => Some(Difference {
            field: at,
            a: shown(Some(a)),
            b: shown(Some(b)),
        }),
    }
}

/// A value for a message: its JSON, cut at 100 characters.
fn shown(v: Option<&Value>) -> String {
    let Some(v) = v else {
        return "absent".into();
    };
    let s = v.to_string();
    match s.char_indices().nth(100) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_the_first_field_that_differs() {
        let a = json!({"started_at": "x", "config": {"threads": 2, "limits": {"max_pixels": 5}},
                       "hashsets": [{"name": "s", "sha256": "aa"}]});
        let mut b = a.clone();
        b["started_at"] = json!("y");
        b["config"]["threads"] = json!(8);
        assert_eq!(first_difference(&a, &b, VOLATILE), None);
        b["hashsets"][0]["sha256"] = json!("bb");
        let d = first_difference(&a, &b, VOLATILE).unwrap();
        assert_eq!(d.field, "hashsets[0].sha256");
        assert_eq!((d.a.as_str(), d.b.as_str()), ("\"aa\"", "\"bb\""));
        b = a.clone();
        b["config"]["limits"]["max_pixels"] = json!(6);
        assert_eq!(
            first_difference(&a, &b, VOLATILE).unwrap().to_string(),
            "config.limits.max_pixels: 5 against 6"
        );
        b = a.clone();
        b["config"]["shard"] = json!("0/2");
        let d = first_difference(&a, &b, VOLATILE).unwrap();
        assert_eq!((d.field.as_str(), d.a.as_str()), ("config.shard", "absent"));
        assert_eq!(first_difference(&a, &b, &["config.shard"]), None);
        b = a.clone();
        b["hashsets"] = json!([]);
        assert_eq!(
            first_difference(&a, &b, VOLATILE).unwrap().to_string(),
            "hashsets: 1 entries against 0 entries"
        );
    }
}
