//! Terraform's machine-readable plan representation (`--format terraform-json`, format 1.2), so
//! that plan-JSON tools and OPA/Rego policies written for Terraform read kcform plans. Objects
//! are `for_each`-style instances: `kakaocloud_access_key.this["analytics/etl/ci"]`. A new
//! key's secret is only ever `after_unknown` and `*_sensitive`, never a value. The document is
//! written from borrowed, typed views of the plan (no intermediate JSON tree), so rendering
//! tens of thousands of objects stays cheap.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::address::Address;
use crate::plan::{Action, Attributes, Change, Plan, ReplaceOrder};

/// Terraform's plan format version this renderer follows.
pub const FORMAT_VERSION: &str = "1.2";
/// The provider the resource types belong to.
pub const PROVIDER: &str = "registry.terraform.io/kakaoenterprise/kakaocloud";
/// The resource name every instance shares; the object's kcform name is its `index`.
const RESOURCE_NAME: &str = "this";
/// Attributes whose change forces a key's replacement.
const REPLACE_PATHS: &[&str] = &["description", "rotation", "created_at", "status"];

fn resource_type(address: &Address) -> &'static str {
    match address {
        Address::Project { .. } => "kakaocloud_project",
        Address::ServiceAccount { .. } => "kakaocloud_service_account",
        Address::AccessKey { .. } => "kakaocloud_access_key",
    }
}

/// `kakaocloud_<type>.this["<name>"]`, the name quoted as a JSON/HCL string.
fn terraform_address(address: &Address) -> String {
    format!(
        "{}.{RESOURCE_NAME}[{}]",
        resource_type(address),
        serde_json::Value::String(address.name())
    )
}

fn actions(action: Action) -> &'static [&'static str] {
    match action {
        Action::Create => &["create"],
        Action::Update | Action::Activate | Action::Deactivate => &["update"],
        Action::Delete => &["delete"],
        Action::Replace(ReplaceOrder::DestroyBeforeCreate) => &["delete", "create"],
        Action::Replace(ReplaceOrder::CreateBeforeDestroy) => &["create", "delete"],
    }
}

/// `{"secret": true}` for keys, `{}` otherwise; `false` where there is no value at all.
#[derive(Serialize)]
#[serde(untagged)]
enum Sensitive {
    Map(BTreeMap<&'static str, bool>),
    Absent(bool),
}

fn sensitive(address: &Address, present: bool) -> Sensitive {
    if !present {
        return Sensitive::Absent(false);
    }
    let mut map = BTreeMap::new();
    if let Address::AccessKey { .. } = address {
        map.insert("secret", true);
    }
    Sensitive::Map(map)
}

/// After a create or replace, what the API decides is unknown; a key's secret always is.
fn after_unknown(change: &Change) -> BTreeMap<&'static str, bool> {
    let mut unknown = BTreeMap::new();
    if matches!(change.action, Action::Create | Action::Replace(_)) {
        unknown.insert("id", true);
        match change.address {
            Address::AccessKey { .. } => {
                unknown.insert("secret", true);
                unknown.insert("created_at", true);
                unknown.insert("status", true);
            }
            Address::ServiceAccount { .. } => {
                unknown.insert("email", true);
            }
            Address::Project { .. } => {}
        }
    }
    unknown
}

#[derive(Serialize)]
struct Instance {
    address: String,
    mode: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'static str,
    index: String,
    provider_name: &'static str,
}

impl Instance {
    fn of(address: &Address) -> Instance {
        Instance {
            address: terraform_address(address),
            mode: "managed",
            kind: resource_type(address),
            name: RESOURCE_NAME,
            index: address.name(),
            provider_name: PROVIDER,
        }
    }
}

#[derive(Serialize)]
struct ChangeBody<'a> {
    actions: &'static [&'static str],
    before: Option<&'a Attributes>,
    after: Option<&'a Attributes>,
    after_unknown: BTreeMap<&'static str, bool>,
    before_sensitive: Sensitive,
    after_sensitive: Sensitive,
    #[serde(skip_serializing_if = "Option::is_none")]
    replace_paths: Option<Vec<[&'static str; 1]>>,
}

#[derive(Serialize)]
struct ResourceChange<'a> {
    #[serde(flatten)]
    instance: Instance,
    #[serde(skip_serializing_if = "Option::is_none")]
    deposed: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    action_reason: Option<&'static str>,
    change: ChangeBody<'a>,
}

fn resource_change(change: &Change) -> ResourceChange<'_> {
    let replacing = matches!(change.action, Action::Replace(_));
    let replace_paths = replacing.then(|| {
        REPLACE_PATHS
            .iter()
            .filter(|name| {
                change.before.as_ref().and_then(|b| b.get(**name))
                    != change.after.as_ref().and_then(|a| a.get(**name))
            })
            .map(|name| [*name])
            .collect()
    });
    ResourceChange {
        instance: Instance::of(&change.address),
        deposed: change.deposed.as_deref(),
        action_reason: replacing.then_some("replace_because_cannot_update"),
        change: ChangeBody {
            actions: actions(change.action),
            before: change.before.as_ref(),
            after: change.after.as_ref(),
            after_unknown: after_unknown(change),
            before_sensitive: sensitive(&change.address, change.before.is_some()),
            after_sensitive: sensitive(&change.address, change.after.is_some()),
            replace_paths,
        },
    }
}

fn no_op<'a>(address: &Address, attributes: &'a Attributes) -> ResourceChange<'a> {
    ResourceChange {
        instance: Instance::of(address),
        deposed: None,
        action_reason: None,
        change: ChangeBody {
            actions: &["no-op"],
            before: Some(attributes),
            after: Some(attributes),
            after_unknown: BTreeMap::new(),
            before_sensitive: sensitive(address, true),
            after_sensitive: sensitive(address, true),
            replace_paths: None,
        },
    }
}

#[derive(Serialize)]
struct PlannedResource<'a> {
    #[serde(flatten)]
    instance: Instance,
    schema_version: u32,
    values: &'a Attributes,
    sensitive_values: Sensitive,
}

#[derive(Serialize)]
struct RootModule<'a> {
    resources: Vec<PlannedResource<'a>>,
}

#[derive(Serialize)]
struct PlannedValues<'a> {
    root_module: RootModule<'a>,
}

#[derive(Serialize)]
struct Document<'a> {
    format_version: &'static str,
    terraform_version: &'static str,
    planned_values: PlannedValues<'a>,
    resource_drift: Vec<ResourceChange<'a>>,
    resource_changes: Vec<ResourceChange<'a>>,
    configuration: serde_json::Value,
    applyable: bool,
    destructive: bool,
    complete: bool,
    errored: bool,
}

/// Renders the plan in Terraform's JSON plan format 1.2 (pretty, newline-terminated).
pub fn render(plan: &Plan) -> String {
    let mut resource_changes: Vec<ResourceChange> =
        plan.changes.iter().map(resource_change).collect();
    resource_changes.extend(
        plan.unchanged
            .iter()
            .map(|u| no_op(&u.address, &u.attributes)),
    );

    let planned = plan
        .changes
        .iter()
        .filter(|c| c.deposed.is_none())
        .filter_map(|change| {
            change.after.as_ref().map(|after| PlannedResource {
                instance: Instance::of(&change.address),
                schema_version: 0,
                values: after,
                sensitive_values: sensitive(&change.address, true),
            })
        })
        .chain(plan.unchanged.iter().map(|u| PlannedResource {
            instance: Instance::of(&u.address),
            schema_version: 0,
            values: &u.attributes,
            sensitive_values: sensitive(&u.address, true),
        }))
        .collect();

    // Drift is reported by address only: what changed is in kcform's own formats.
    let resource_drift = plan
        .drift
        .iter()
        .map(|drift| ResourceChange {
            instance: Instance::of(&drift.address),
            deposed: None,
            action_reason: None,
            change: ChangeBody {
                actions: &["update"],
                before: None,
                after: None,
                after_unknown: BTreeMap::new(),
                before_sensitive: sensitive(&drift.address, true),
                after_sensitive: sensitive(&drift.address, true),
                replace_paths: None,
            },
        })
        .collect();

    let document = Document {
        format_version: FORMAT_VERSION,
        terraform_version: env!("CARGO_PKG_VERSION"),
        planned_values: PlannedValues {
            root_module: RootModule { resources: planned },
        },
        resource_drift,
        resource_changes,
        configuration: serde_json::json!({
            "provider_config": {
                "kakaocloud": {"name": "kakaocloud", "full_name": PROVIDER}
            },
            "root_module": {}
        }),
        applyable: !plan.is_empty(),
        destructive: plan.is_destructive(),
        complete: true,
        errored: false,
    };
    let mut text = serde_json::to_string_pretty(&document).expect("plan serializes");
    text.push('\n');
    text
}
