//! Sending one request and comparing two answers: status, the headers kcform relies on, body
//! field paths.

use super::*;

/// Sends `req` to `<identity><path>` and records what the comparison needs.
pub(super) async fn send(http: &reqwest::Client, identity: &str, req: &Req) -> Seen {
    let url = format!("{identity}{}", req.path);
    let mut builder = http.request(req.method.clone(), url);

    if let Some(token) = &req.token {
        builder = builder.header("X-Auth-Token", token);
    }
    if let Some(subject) = &req.subject {
        builder = builder.header("X-Subject-Token", subject);
    }
    builder = match &req.body {
        Body::None => builder,
        Body::Json(value) => builder.json(value),
        Body::Raw(bytes, content_type) => {
            let builder = builder.body(bytes.clone());
            match content_type {
                Some(ct) => builder.header("Content-Type", *ct),
                None => builder,
            }
        }
    };
    let response = builder
        .send()
        .await
        .unwrap_or_else(|e| panic!("{} {}: no answer: {e}", req.method, req.path));
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header("content-type").map(|ct| {
        ct.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    });
    let subject_token = header("x-subject-token");
    let headers = HEADERS
        .iter()
        .filter_map(|name| header(name).map(|value| (*name, header_value(name, &value, identity))))
        .collect();
    let bytes = response.bytes().await.expect("the body");
    let json: Option<Value> = serde_json::from_slice(&bytes).ok();
    let mut fields = BTreeSet::new();
    if let Some(json) = &json {
        field_paths(json, "", &mut fields);
    }
    Seen {
        status,
        content_type,
        headers,
        fields,
        json,
        subject_token,
    }
}

/// A header's value as compared: `Location` as a path relative to `<endpoint>/identity`,
/// `Allow` as its sorted methods without `HEAD` and `OPTIONS` (which servers add on their
/// own), any other header only as present.
pub(super) fn header_value(name: &str, value: &str, identity: &str) -> String {
    match name {
        "location" => value.strip_prefix(identity).unwrap_or(value).to_string(),
        "allow" => {
            let methods: BTreeSet<String> = value
                .split(',')
                .map(|m| m.trim().to_ascii_uppercase())
                .filter(|m| !m.is_empty() && m != "HEAD" && m != "OPTIONS")
                .collect();
            methods.into_iter().collect::<Vec<_>>().join(" ")
        }
        _ => "present".to_string(),
    }
}

/// Every field path of `value` under `prefix`: `a.b` for objects, `a[]` for array elements
/// (the union over all of them).
pub(super) fn field_paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                out.insert(path.clone());
                field_paths(child, &path, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                field_paths(item, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

/// The paths of `paths` whose parent is not in `paths` too: a whole missing object is one
/// difference, not one per field.
pub(super) fn topmost(paths: &BTreeSet<&String>) -> Vec<String> {
    paths
        .iter()
        .filter(|path| {
            let parents = path
                .char_indices()
                .filter(|(_, c)| *c == '.' || *c == '[')
                .map(|(i, _)| &path[..i]);
            !parents
                .into_iter()
                .any(|parent| paths.iter().any(|p| p.as_str() == parent))
        })
        .map(|p| p.to_string())
        .collect()
}

pub(super) fn show(value: Option<&String>) -> &str {
    value.map_or("none", String::as_str)
}

/// The differences between Keystone's answer `k` and the emulator's `e` to one case.
pub(super) fn differences(case: &str, k: &Seen, e: &Seen) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut add = |what: String| {
        out.push(Difference {
            case: case.to_string(),
            what,
        })
    };
    if k.status != e.status {
        add(format!(
            "status: Keystone {}, emulator {}",
            k.status, e.status
        ));
        return out;
    }
    for name in HEADERS {
        let (kv, ev) = (k.headers.get(name), e.headers.get(name));
        if kv != ev {
            add(format!(
                "header {name}: Keystone {}, emulator {}",
                show(kv),
                show(ev)
            ));
        }
    }
    if k.content_type != e.content_type {
        add(format!(
            "content-type: Keystone {}, emulator {}",
            show(k.content_type.as_ref()),
            show(e.content_type.as_ref())
        ));
        return out;
    }
    let only_k: BTreeSet<&String> = k.fields.difference(&e.fields).collect();
    let only_e: BTreeSet<&String> = e.fields.difference(&k.fields).collect();
    for path in topmost(&only_k) {
        add(format!("field {path}: Keystone only"));
    }
    for path in topmost(&only_e) {
        add(format!("field {path}: emulator only"));
    }
    out
}
