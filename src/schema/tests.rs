//! The schema against the configuration parser: the shipped examples validate, invalid files
//! fail both, edge values pass both, and every table lists exactly the parser's keys.

use std::path::Path;

use super::*;

fn validator() -> jsonschema::Validator {
    jsonschema::draft202012::new(&schema()).expect("the schema is a valid draft 2020-12 schema")
}

fn as_json(text: &str) -> Value {
    let table: toml::Table = toml::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    serde_json::to_value(table).unwrap()
}

fn schema_errors(text: &str) -> Vec<String> {
    validator()
        .iter_errors(&as_json(text))
        .map(|e| e.to_string())
        .collect()
}

fn config_accepts(text: &str) -> Result<(), String> {
    crate::config::load_sources(
        vec![("kcform.toml".into(), text.to_string())],
        Path::new("."),
    )
    .map(|_| ())
    .map_err(|e| e.rendered)
}

#[test]
fn the_schema_is_draft_2020_12_json() {
    let value: Value = serde_json::from_str(&to_json()).unwrap();
    assert_eq!(
        value["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    validator();
}

#[test]
fn every_example_file_validates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut checked = 0;
    for dir in std::fs::read_dir(root).unwrap() {
        for file in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(&path).unwrap();
                let errors = schema_errors(&text);
                assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
                checked += 1;
            }
        }
    }
    assert!(checked >= 4, "only {checked} example files found");
}

const PROJECT: &str = "[project.analytics]\nnickname = \"Analytics\"\n";

#[test]
fn invalid_files_fail_the_schema_and_the_configuration_alike() {
    let sa = "[project.analytics.service_account.etl]\n";
    let cases = [
        ("unknown key", format!("{PROJECT}nicknme = \"A\"\n")),
        ("unknown root key", format!("providers = 1\n{PROJECT}")),
        (
            "bad project name",
            "[project.Analytics]\nnickname = \"A\"\n".to_string(),
        ),
        (
            "short project name",
            "[project.ab]\nnickname = \"A\"\n".to_string(),
        ),
        (
            "bad account name",
            format!("{PROJECT}[project.analytics.service_account.etl-]\n"),
        ),
        (
            "three keys",
            format!(
                "{PROJECT}{sa}[project.analytics.service_account.etl.access_key.a]\n[project.analytics.service_account.etl.access_key.b]\n[project.analytics.service_account.etl.access_key.c]\n"
            ),
        ),
        (
            "key name with --",
            format!("{PROJECT}{sa}[project.analytics.service_account.etl.access_key.ci--x]\n"),
        ),
        (
            "key name too long for a generation",
            format!(
                "{PROJECT}{sa}[project.analytics.service_account.etl.access_key.{}]\n",
                "k".repeat(DECLARED_ACCESS_KEY_NAME_MAX + 1)
            ),
        ),
        (
            "key on an inactive account",
            format!(
                "{PROJECT}{sa}status = \"inactive\"\n[project.analytics.service_account.etl.access_key.ci]\n"
            ),
        ),
        ("bad status", format!("{PROJECT}{sa}status = \"on\"\n")),
        (
            "zero max_age",
            format!(
                "{PROJECT}{sa}[project.analytics.service_account.etl.access_key.ci]\nmax_age = \"0d\"\n"
            ),
        ),
        (
            "months",
            format!(
                "{PROJECT}{sa}[project.analytics.service_account.etl.access_key.ci]\nmax_age = \"6m\"\n"
            ),
        ),
        (
            "long key description",
            format!(
                "{PROJECT}{sa}[project.analytics.service_account.etl.access_key.ci]\ndescription = \"{}\"\n",
                "d".repeat(ACCESS_KEY_DESCRIPTION_MAX + 1)
            ),
        ),
        (
            "empty nickname",
            "[project.analytics]\nnickname = \"\"\n".to_string(),
        ),
        (
            "both sinks",
            format!("[secrets]\ndir = \"s\"\ncommand = [\"x\"]\n{PROJECT}"),
        ),
        (
            "empty command",
            format!("[secrets]\ncommand = []\n{PROJECT}"),
        ),
        (
            "remote http",
            format!("[provider]\nendpoint = \"http://iam.example.com\"\n{PROJECT}"),
        ),
        (
            "parallelism 0",
            format!("[provider]\nparallelism = 0\n{PROJECT}"),
        ),
        (
            "parallelism too high",
            format!(
                "[provider]\nparallelism = {}\n{PROJECT}",
                MAX_PARALLELISM + 1
            ),
        ),
        (
            "bad lock",
            format!("[lock]\nbackend = \"gs://b\"\n{PROJECT}"),
        ),
        (
            "protect as string",
            format!("{PROJECT}{sa}protect = \"yes\"\n"),
        ),
    ];
    for (what, text) in cases {
        assert!(
            !schema_errors(&text).is_empty(),
            "the schema accepts {what}:\n{text}"
        );
        assert!(
            config_accepts(&text).is_err(),
            "the configuration accepts {what}:\n{text}"
        );
    }
}

#[test]
fn edge_values_pass_the_schema_and_the_configuration_alike() {
    let sa = "[project.analytics.service_account.etl]\n";
    let cases = [
        format!(
            "[provider]\nendpoint = \"http://127.0.0.1:8787\"\nparallelism = {MAX_PARALLELISM}\n{PROJECT}"
        ),
        format!("[provider]\nendpoint = \"http://[::1]:80/\"\n{PROJECT}"),
        format!("[provider]\nendpoint = \"HTTPS://iam.example.com:8443/base\"\n{PROJECT}"),
        format!(
            "[provider]\nendpoint = \"emulator\"\n[lock]\nbackend = \"s3://bucket/team/prod\"\n{PROJECT}"
        ),
        format!("[secrets]\ncommand = [\"vault\", \"kv\", \"put\", \"-\"]\n{PROJECT}"),
        format!("{PROJECT}description = \"\"\nignore = [\"legacy-*\"]\n"),
        format!(
            "{PROJECT}{sa}protect = true\n[project.analytics.service_account.etl.access_key.{}]\ndescription = \"{}\"\nrotation = \"2026-11\"\nmax_age = \"12w\"\n",
            "k".repeat(DECLARED_ACCESS_KEY_NAME_MAX),
            "d".repeat(ACCESS_KEY_DESCRIPTION_MAX)
        ),
        format!("{PROJECT}{sa}status = \"inactive\"\n"),
        // A file may add service accounts to a project another file declares.
        "[project.analytics.service_account.etl]\n".to_string(),
    ];
    for text in cases {
        let errors = schema_errors(&text);
        assert!(
            errors.is_empty(),
            "the schema refuses:\n{text}\n{errors:#?}"
        );
        if !text.starts_with("[project.analytics.service_account") {
            config_accepts(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        }
    }
}

/// The keys the parser lists as valid for the table that `prefix` opens, from its message on
/// an unknown key.
fn parser_keys(prefix: &str) -> Vec<String> {
    let text = format!("{prefix}zzqqxxww = 1\n");
    let error = crate::config::load_sources(vec![("kcform.toml".into(), text)], Path::new("."))
        .expect_err("an unknown key is refused");
    let help = error
        .diagnostics
        .iter()
        .find_map(|d| d.help.clone().filter(|h| h.contains('`')))
        .unwrap_or_else(|| panic!("no list of valid keys:\n{}", error.rendered));
    // "valid keys in `<table>`: `a`, `b`", or for the top level "holds `[a]`, … tables".
    let list = match help.rsplit_once("`: ") {
        Some((_, list)) => list,
        None => help.as_str(),
    };
    let mut keys: Vec<String> = list
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|k| {
            let k = k.trim_start_matches('[').trim_end_matches(']');
            k.split('.').next().unwrap().to_string()
        })
        .collect();
    keys.sort();
    keys
}

fn schema_keys(pointer: &str) -> Vec<String> {
    let schema = schema();
    let mut keys: Vec<String> = schema
        .pointer(pointer)
        .unwrap_or_else(|| panic!("no {pointer}"))
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

#[test]
fn every_table_has_exactly_the_keys_the_parser_accepts() {
    let sa = "[project.analytics.service_account.etl]\n";
    let tables = [
        (String::new(), "/properties"),
        (
            "[provider]\n".to_string(),
            "/properties/provider/properties",
        ),
        ("[secrets]\n".to_string(), "/properties/secrets/properties"),
        ("[lock]\n".to_string(), "/properties/lock/properties"),
        (PROJECT.to_string(), "/$defs/project/properties"),
        (
            format!("{PROJECT}{sa}"),
            "/$defs/service_account/properties",
        ),
        (
            format!("{PROJECT}{sa}[project.analytics.service_account.etl.access_key.ci]\n"),
            "/$defs/access_key/properties",
        ),
    ];
    for (prefix, pointer) in tables {
        assert_eq!(parser_keys(&prefix), schema_keys(pointer), "{pointer}");
    }
    // Every table rejects unknown keys, and so does the schema.
    let text = serde_json::to_string(&schema()).unwrap();
    assert_eq!(
        text.matches("\"additionalProperties\":false").count(),
        7,
        "root, provider, secrets, lock, project, service account and access key are closed"
    );
}

#[test]
fn every_key_has_a_description() {
    fn walk(value: &Value, path: &str, missing: &mut Vec<String>) {
        if let Some(properties) = value.get("properties").and_then(Value::as_object) {
            for (name, property) in properties {
                let here = format!("{path}.{name}");
                if property.get("description").is_none() {
                    missing.push(here.clone());
                }
                walk(property, &here, missing);
            }
        }
        if let Some(defs) = value.get("$defs").and_then(Value::as_object) {
            for (name, def) in defs {
                walk(def, &format!("$defs.{name}"), missing);
            }
        }
    }
    let mut missing = Vec::new();
    walk(&schema(), "", &mut missing);
    assert!(missing.is_empty(), "{missing:?}");
}
