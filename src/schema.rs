//! The JSON Schema (draft 2020-12) of one configuration file, for TOML editors (Taplo, Even
//! Better TOML): completion, hover text and validation while typing. Every number comes from
//! `crate::limits`, so the schema and `kcform validate` cannot disagree on them; the tests check
//! that each table's keys are exactly the ones the configuration parser accepts.
//!
//! The schema describes a single file. Rules that span files stay with `kcform validate`: a
//! project declared in one file may be extended by another, so `nickname` is not required here,
//! and the per-project and per-account counts are checked per file only.

use serde_json::{Value, json};

use crate::limits::{
    ACCESS_KEY_DESCRIPTION_MAX, DECLARED_ACCESS_KEY_NAME_MAX, DEFAULT_PARALLELISM,
    MAX_ACCESS_KEYS_PER_SERVICE_ACCOUNT, MAX_PARALLELISM, MAX_SERVICE_ACCOUNTS_PER_PROJECT,
    PROJECT_DESCRIPTION_MAX, PROJECT_NAME_MAX, PROJECT_NAME_MIN, PROJECT_NICKNAME_MAX,
    SERVICE_ACCOUNT_NAME_MAX,
};
use crate::model::DEFAULT_ENDPOINT;

/// Project and service-account names: `a-z 0-9 -`, a letter first, no `-` last.
const NAME_PATTERN: &str = "^[a-z]([a-z0-9-]*[a-z0-9])?$";
/// Declared access-key names: the same, and no `--` (kept for key generations).
const KEY_NAME_PATTERN: &str = "^[a-z](-?[a-z0-9])*$";
/// `max_age`: a positive whole number and `h`, `d` or `w`.
const MAX_AGE_PATTERN: &str = "^0*[1-9][0-9]*[hdw]$";
/// `provider.endpoint`: `emulator`, an `https://` URL, or `http://` to a loopback address — an
/// editor's approximation of the rule of `crate::endpoint`, which decides.
const ENDPOINT_PATTERN: &str = r"^(emulator|[Hh][Tt][Tt][Pp][Ss]://[^\s/@?#]+(/[^\s?#]*)?|[Hh][Tt][Tt][Pp]://([Ll][Oo][Cc][Aa][Ll][Hh][Oo][Ss][Tt]|127(\.[0-9]{1,3}){3}|\[::1\])(:[0-9]+)?(/[^\s?#]*)?)$";
/// `lock.backend`: `local` or `s3://bucket/prefix`.
const LOCK_BACKEND_PATTERN: &str = r"^(local|s3://[A-Za-z0-9._-]+(/\S*)?)$";

fn name_rule(what: &str, min: usize, max: usize, pattern: &str, rule: &str) -> Value {
    json!({
        "type": "string",
        "description": format!("{what}: {min} to {max} characters, {rule}."),
        "minLength": min,
        "maxLength": max,
        "pattern": pattern,
    })
}

fn access_key() -> Value {
    json!({
        "type": "object",
        "description": "An IAM access key of the service account (at most one generation of it lives at a time). Its secret is delivered once, to `[secrets]`.",
        "additionalProperties": false,
        "properties": {
            "description": {
                "type": "string",
                "description": format!("Optional, up to {ACCESS_KEY_DESCRIPTION_MAX} characters. Keys cannot be edited, so changing it replaces the key."),
                "maxLength": ACCESS_KEY_DESCRIPTION_MAX,
            },
            "rotation": {
                "type": "string",
                "description": "Keeper: any non-empty value, e.g. \"2026-11\". Changing it replaces the key (the new secret is delivered before the old key is deleted when a key slot is free).",
                "minLength": 1,
            },
            "max_age": {
                "type": "string",
                "description": "Maximum age: a whole number and `h` (hours), `d` (days) or `w` (weeks), e.g. \"90d\". An older key is replaced on the next apply.",
                "pattern": MAX_AGE_PATTERN,
                "examples": ["90d", "12w"],
            },
        },
    })
}

fn service_account() -> Value {
    json!({
        "type": "object",
        "description": "A service account of the project. A live account that is not declared (and not ignored) is deleted.",
        "additionalProperties": false,
        "properties": {
            "status": {
                "description": "\"active\" (default) or \"inactive\". Deactivating expires all of its keys and tokens at once; an inactive account declares no keys.",
                "enum": ["active", "inactive"],
                "default": "active",
            },
            "protect": {
                "type": "boolean",
                "description": "Refuse to delete or deactivate this service account.",
                "default": false,
            },
            "access_key": {
                "type": "object",
                "description": format!("The account's access keys by name (at most {MAX_ACCESS_KEYS_PER_SERVICE_ACCOUNT})."),
                "maxProperties": MAX_ACCESS_KEYS_PER_SERVICE_ACCOUNT,
                "propertyNames": name_rule(
                    "Access-key name",
                    1,
                    DECLARED_ACCESS_KEY_NAME_MAX,
                    KEY_NAME_PATTERN,
                    "`a-z 0-9 -`, starting with a letter, not ending with `-`, without `--`",
                ),
                "additionalProperties": { "$ref": "#/$defs/access_key" },
            },
        },
        "if": {
            "properties": { "status": { "const": "inactive" } },
            "required": ["status"],
        },
        "then": {
            "properties": { "access_key": { "maxProperties": 0 } },
        },
    })
}

fn project() -> Value {
    json!({
        "type": "object",
        "description": "A project, by its immutable name. kcform creates it if missing and never deletes it (there is no API for that).",
        "additionalProperties": false,
        "properties": {
            "nickname": {
                "type": "string",
                "description": format!("Display name, 1 to {PROJECT_NICKNAME_MAX} characters. Required once per project (in any file)."),
                "minLength": 1,
                "maxLength": PROJECT_NICKNAME_MAX,
            },
            "description": {
                "type": "string",
                "description": format!("Optional, up to {PROJECT_DESCRIPTION_MAX} characters."),
                "maxLength": PROJECT_DESCRIPTION_MAX,
            },
            "ignore": {
                "type": "array",
                "description": "Glob patterns of service-account names kcform leaves alone (never deleted, never changed), e.g. [\"legacy-*\"].",
                "items": { "type": "string" },
            },
            "service_account": {
                "type": "object",
                "description": format!("The project's service accounts by name (at most {MAX_SERVICE_ACCOUNTS_PER_PROJECT} per project, inactive and ignored ones included)."),
                "maxProperties": MAX_SERVICE_ACCOUNTS_PER_PROJECT,
                "propertyNames": name_rule(
                    "Service-account name",
                    1,
                    SERVICE_ACCOUNT_NAME_MAX,
                    NAME_PATTERN,
                    "`a-z 0-9 -`, starting with a letter, not ending with `-`",
                ),
                "additionalProperties": { "$ref": "#/$defs/service_account" },
            },
        },
    })
}

/// The schema.
pub fn schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "kcform configuration",
        "description": "KakaoCloud IAM as code: projects, service accounts and access keys. Every *.toml file of a directory is read and merged.",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "provider": {
                "type": "object",
                "description": "Where the IAM API is (at most once across files). Credentials never live here: set KAKAOCLOUD_APPLICATION_CREDENTIAL_ID and KAKAOCLOUD_APPLICATION_CREDENTIAL_SECRET.",
                "additionalProperties": false,
                "properties": {
                    "endpoint": {
                        "type": "string",
                        "description": format!("\"emulator\" (the built-in emulator) or the API's URL: https://, or http:// to a loopback address only. Default \"{DEFAULT_ENDPOINT}\"; KCFORM_ENDPOINT overrides it."),
                        "pattern": ENDPOINT_PATTERN,
                        "default": DEFAULT_ENDPOINT,
                        "examples": ["emulator", DEFAULT_ENDPOINT],
                    },
                    "parallelism": {
                        "type": "integer",
                        "description": format!("Operations and requests at once, 1 to {MAX_PARALLELISM} (default {DEFAULT_PARALLELISM})."),
                        "minimum": 1,
                        "maximum": MAX_PARALLELISM,
                        "default": DEFAULT_PARALLELISM,
                    },
                },
            },
            "secrets": {
                "type": "object",
                "description": "Where new access-key secrets are delivered, once: files under `dir` (default) or a `command` (at most once across files).",
                "additionalProperties": false,
                "properties": {
                    "dir": {
                        "type": "string",
                        "description": "Directory of secret files <dir>/<project>/<sa>/<key>.json (0600), relative to the configuration directory. Default \".kcform/secrets\".",
                        "pattern": r"\S",
                        "default": ".kcform/secrets",
                    },
                    "command": {
                        "type": "array",
                        "description": "A program and its arguments, run once per new key with the secret JSON on stdin, e.g. [\"vault\", \"kv\", \"put\", \"-\"].",
                        "minItems": 1,
                        "prefixItems": [{ "type": "string", "pattern": r"\S" }],
                        "items": { "type": "string" },
                    },
                },
                "not": { "required": ["dir", "command"] },
            },
            "lock": {
                "type": "object",
                "description": "Where apply takes its lock (at most once across files).",
                "additionalProperties": false,
                "properties": {
                    "backend": {
                        "type": "string",
                        "description": "\"local\" (default: a file under .kcform/) or \"s3://bucket/prefix\" (S3-compatible object storage).",
                        "pattern": LOCK_BACKEND_PATTERN,
                        "default": "local",
                    },
                },
            },
            "project": {
                "type": "object",
                "description": "Declared projects by name. A declared project is authoritative for its service accounts and keys; undeclared projects are never touched.",
                "propertyNames": name_rule(
                    "Project name (immutable)",
                    PROJECT_NAME_MIN,
                    PROJECT_NAME_MAX,
                    NAME_PATTERN,
                    "`a-z 0-9 -`, starting with a letter, not ending with `-`",
                ),
                "additionalProperties": { "$ref": "#/$defs/project" },
            },
        },
        "$defs": {
            "project": project(),
            "service_account": service_account(),
            "access_key": access_key(),
        },
    })
}

/// The schema as pretty-printed JSON.
pub fn to_json() -> String {
    serde_json::to_string_pretty(&schema()).expect("a JSON value serializes")
}

#[cfg(test)]
mod tests;
