//! Terraform's machine-readable plan representation (`--format terraform-json`, format 1.2), so
//! that plan-JSON tools and OPA/Rego policies written for Terraform read kcform plans. Objects
//! are `for_each`-style instances: `kakaocloud_access_key.this["analytics/etl/ci"]`. A new
//! key's secret is only ever `after_unknown` and `*_sensitive`, never a value.

use serde_json::{Map, Value, json};

use crate::address::Address;
use crate::plan::{Action, Attributes, Change, Plan, ReplaceOrder};

/// Terraform's plan format version this renderer follows.
pub const FORMAT_VERSION: &str = "1.2";
/// The provider the resource types belong to.
pub const PROVIDER: &str = "registry.terraform.io/kakaoenterprise/kakaocloud";
/// The resource name every instance shares; the object's kcform name is its `index`.
const RESOURCE_NAME: &str = "this";

fn resource_type(address: &Address) -> &'static str {
    match address {
        Address::Project { .. } => "kakaocloud_project",
        Address::ServiceAccount { .. } => "kakaocloud_service_account",
        Address::AccessKey { .. } => "kakaocloud_access_key",
    }
}

fn terraform_address(address: &Address) -> String {
    format!(
        "{}.{RESOURCE_NAME}[{}]",
        resource_type(address),
        Value::String(address.name())
    )
}

fn actions(action: Action) -> Vec<&'static str> {
    match action {
        Action::Create => vec!["create"],
        Action::Update | Action::Activate | Action::Deactivate => vec!["update"],
        Action::Delete => vec!["delete"],
        Action::Replace(ReplaceOrder::DestroyBeforeCreate) => vec!["delete", "create"],
        Action::Replace(ReplaceOrder::CreateBeforeDestroy) => vec!["create", "delete"],
    }
}

fn values(attributes: Option<&Attributes>) -> Value {
    match attributes {
        Some(attributes) => Value::Object(attributes.clone().into_iter().collect()),
        None => Value::Null,
    }
}

/// After a create or replace, what the API decides is unknown; a key's secret always is.
fn after_unknown(change: &Change) -> Value {
    let mut unknown = Map::new();
    if matches!(change.action, Action::Create | Action::Replace(_)) {
        unknown.insert("id".into(), Value::Bool(true));
        match change.address {
            Address::AccessKey { .. } => {
                unknown.insert("secret".into(), Value::Bool(true));
                unknown.insert("created_at".into(), Value::Bool(true));
                unknown.insert("status".into(), Value::Bool(true));
            }
            Address::ServiceAccount { .. } => {
                unknown.insert("email".into(), Value::Bool(true));
            }
            Address::Project { .. } => {}
        }
    }
    Value::Object(unknown)
}

fn sensitive(address: &Address) -> Value {
    match address {
        Address::AccessKey { .. } => json!({"secret": true}),
        _ => json!({}),
    }
}

fn instance(address: &Address) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("address".into(), json!(terraform_address(address)));
    map.insert("mode".into(), json!("managed"));
    map.insert("type".into(), json!(resource_type(address)));
    map.insert("name".into(), json!(RESOURCE_NAME));
    map.insert("index".into(), json!(address.name()));
    map.insert("provider_name".into(), json!(PROVIDER));
    map
}

fn resource_change(change: &Change) -> Value {
    let mut entry = instance(&change.address);
    if let Some(deposed) = &change.deposed {
        entry.insert("deposed".into(), json!(deposed));
    }
    let mut body = Map::new();
    body.insert("actions".into(), json!(actions(change.action)));
    body.insert("before".into(), values(change.before.as_ref()));
    body.insert("after".into(), values(change.after.as_ref()));
    body.insert("after_unknown".into(), after_unknown(change));
    body.insert(
        "before_sensitive".into(),
        if change.before.is_some() {
            sensitive(&change.address)
        } else {
            Value::Bool(false)
        },
    );
    body.insert(
        "after_sensitive".into(),
        if change.after.is_some() {
            sensitive(&change.address)
        } else {
            Value::Bool(false)
        },
    );
    if let Action::Replace(_) = change.action {
        let paths: Vec<Value> = ["description", "rotation", "created_at", "status"]
            .iter()
            .filter(|name| {
                change.before.as_ref().and_then(|b| b.get(**name))
                    != change.after.as_ref().and_then(|a| a.get(**name))
            })
            .map(|name| json!([name]))
            .collect();
        body.insert("replace_paths".into(), Value::Array(paths));
        entry.insert(
            "action_reason".into(),
            json!("replace_because_cannot_update"),
        );
    }
    entry.insert("change".into(), Value::Object(body));
    Value::Object(entry)
}

fn no_op(address: &Address, attributes: &Attributes) -> Value {
    let mut entry = instance(address);
    let value = values(Some(attributes));
    entry.insert(
        "change".into(),
        json!({
            "actions": ["no-op"],
            "before": value,
            "after": value,
            "after_unknown": {},
            "before_sensitive": sensitive(address),
            "after_sensitive": sensitive(address),
        }),
    );
    Value::Object(entry)
}

/// Renders the plan in Terraform's JSON plan format 1.2 (pretty, newline-terminated).
pub fn render(plan: &Plan) -> String {
    let mut resource_changes: Vec<Value> = plan.changes.iter().map(resource_change).collect();
    resource_changes.extend(
        plan.unchanged
            .iter()
            .map(|u| no_op(&u.address, &u.attributes)),
    );

    let mut planned = Vec::new();
    for change in plan.changes.iter().filter(|c| c.deposed.is_none()) {
        if let Some(after) = &change.after {
            let mut resource = instance(&change.address);
            resource.insert("schema_version".into(), json!(0));
            resource.insert("values".into(), values(Some(after)));
            resource.insert("sensitive_values".into(), sensitive(&change.address));
            planned.push(Value::Object(resource));
        }
    }
    for unchanged in &plan.unchanged {
        let mut resource = instance(&unchanged.address);
        resource.insert("schema_version".into(), json!(0));
        resource.insert("values".into(), values(Some(&unchanged.attributes)));
        resource.insert("sensitive_values".into(), sensitive(&unchanged.address));
        planned.push(Value::Object(resource));
    }

    let drift: Vec<Value> = plan
        .drift
        .iter()
        .map(|drift| {
            let mut entry = instance(&drift.address);
            entry.insert(
                "change".into(),
                json!({"actions": ["update"], "before": null, "after": null, "after_unknown": {},
                       "before_sensitive": {}, "after_sensitive": {}}),
            );
            Value::Object(entry)
        })
        .collect();

    let document = json!({
        "format_version": FORMAT_VERSION,
        "terraform_version": env!("CARGO_PKG_VERSION"),
        "planned_values": {"root_module": {"resources": planned}},
        "resource_drift": drift,
        "resource_changes": resource_changes,
        "configuration": {
            "provider_config": {
                "kakaocloud": {"name": "kakaocloud", "full_name": PROVIDER}
            },
            "root_module": {}
        },
        "applyable": !plan.is_empty(),
        "destructive": plan.is_destructive(),
        "complete": true,
        "errored": false,
    });
    let mut text = serde_json::to_string_pretty(&document).expect("plan serializes");
    text.push('\n');
    text
}
