//! The pure diff: (desired, live, now) → [`Plan`], or every reason the plan is refused
//! (a protected account that would be deactivated, a project that looks renamed).

use serde_json::json;
use time::OffsetDateTime;

use crate::address::Address;
use crate::limits::MAX_SERVICE_ACCOUNTS_PER_PROJECT;
use crate::live::{KeyStatus, Live, LiveAccessKey, LiveProject, LiveServiceAccount};
use crate::model::{AccessKeySpec, Desired, ProjectSpec, ServiceAccountSpec, Status};

use super::slots::replace_order;
use super::{
    Action, Attributes, Change, Plan, RemoteIds, ReplaceOrder, Unchanged, UnrecordedRotation,
    display_order,
};

/// Why a key whose create kcform never settled is replaced (see `LiveAccessKey::undelivered`).
pub const UNDELIVERED_REASON: &str = "its secret was never delivered: the apply that created it was aborted or failed before it could deliver or delete it";

/// Reasons the configuration cannot be planned; each names the address and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.join("\n\n"))]
pub struct PlanRefused {
    /// One message per problem.
    pub problems: Vec<String>,
    /// At least one problem is a safety rail's refusal (a protected account), not an error in
    /// the configuration: the command exits 5 rather than 1.
    pub by_safety_rail: bool,
}

/// Diffs the desired state against the live state at time `now` (for `max_age`).
pub fn diff(desired: &Desired, live: &Live, now: OffsetDateTime) -> Result<Plan, PlanRefused> {
    assemble(desired.projects.values().map(|project| {
        diff_project(
            project,
            live.projects.get(&project.name),
            &live.undeclared_projects,
            now,
        )
    }))
}

/// One declared project's share of the plan, already in plan order. Projects are
/// independent, so each is diffed as soon as its objects have been read, while the others are
/// still being read.
#[derive(Debug)]
pub struct ProjectDiff {
    project: String,
    changes: Vec<Change>,
    unchanged: Vec<Unchanged>,
    problems: Vec<String>,
    by_safety_rail: bool,
    unrecorded_rotations: Vec<UnrecordedRotation>,
}

impl ProjectDiff {
    /// The project's changes, in plan order.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }
}

/// Diffs one declared project against its live objects (`None`: it does not exist yet, and
/// `undeclared` — the live projects not in the configuration, with their nicknames — tells
/// whether it looks renamed).
pub fn diff_project(
    project: &ProjectSpec,
    live: Option<&LiveProject>,
    undeclared: &[(String, String)],
    now: OffsetDateTime,
) -> ProjectDiff {
    let mut differ = Differ {
        now,
        changes: Vec::new(),
        unchanged: Vec::new(),
        problems: Vec::new(),
        by_safety_rail: false,
        unrecorded_rotations: Vec::new(),
    };
    match live {
        Some(live_project) => differ.existing_project(project, live_project),
        None => {
            differ.check_not_renamed(project, undeclared);
            differ.new_project(project);
        }
    }
    let mut changes = differ.changes;
    changes.sort_by(display_order);
    let mut unchanged = differ.unchanged;
    unchanged.sort_by(|a, b| a.address.cmp(&b.address));
    ProjectDiff {
        project: project.name.clone(),
        changes,
        unchanged,
        problems: differ.problems,
        by_safety_rail: differ.by_safety_rail,
        unrecorded_rotations: differ.unrecorded_rotations,
    }
}

/// The plan made of every declared project's diff, or every reason it is refused.
///
/// Both plan orders compare the project name first (unchanged objects after their kind), so
/// the whole plan is each project's sorted share, project after project, kind by kind: the
/// parts are put together without comparing a single address, which matters once the last
/// project of a large organization has arrived.
pub fn assemble(parts: impl IntoIterator<Item = ProjectDiff>) -> Result<Plan, PlanRefused> {
    let mut parts: Vec<ProjectDiff> = parts.into_iter().collect();
    parts.sort_by(|a, b| a.project.cmp(&b.project));
    let problems: Vec<String> = parts
        .iter_mut()
        .flat_map(|part| std::mem::take(&mut part.problems))
        .collect();
    if !problems.is_empty() {
        return Err(PlanRefused {
            problems,
            by_safety_rail: parts.iter().any(|part| part.by_safety_rail),
        });
    }
    let mut changes = Vec::with_capacity(parts.iter().map(|part| part.changes.len()).sum());
    let mut unchanged = Vec::with_capacity(parts.iter().map(|part| part.unchanged.len()).sum());
    let mut by_kind = Vec::with_capacity(parts.len());
    let mut unrecorded_rotations = Vec::new();
    for part in parts {
        changes.extend(part.changes);
        unrecorded_rotations.extend(part.unrecorded_rotations);
        let objects = &part.unchanged;
        let projects = objects.partition_point(|object| kind_rank(&object.address) < 1);
        let accounts = objects.partition_point(|object| kind_rank(&object.address) < 2) - projects;
        let keys = objects.len() - projects - accounts;
        by_kind.push((part.unchanged.into_iter(), [projects, accounts, keys]));
    }
    for rank in 0..3 {
        for (objects, counts) in &mut by_kind {
            unchanged.extend(objects.by_ref().take(counts[rank]));
        }
    }
    debug_assert!(changes.is_sorted_by(|a, b| display_order(a, b).is_le()));
    debug_assert!(unchanged.is_sorted_by(|a, b| a.address <= b.address));
    Ok(Plan {
        changes,
        unchanged,
        drift: Vec::new(),
        unmanaged: Vec::new(),
        unrecorded_rotations,
        denied: Vec::new(),
    })
}

/// Where an address's kind sorts among addresses (`Address` orders by kind first).
fn kind_rank(address: &Address) -> usize {
    match address {
        Address::Project { .. } => 0,
        Address::ServiceAccount { .. } => 1,
        Address::AccessKey { .. } => 2,
    }
}

struct Differ {
    now: OffsetDateTime,
    changes: Vec<Change>,
    unchanged: Vec<Unchanged>,
    problems: Vec<String>,
    by_safety_rail: bool,
    unrecorded_rotations: Vec<UnrecordedRotation>,
}

fn project_attributes(name: &str, nickname: &str, description: &str) -> Attributes {
    Attributes::from([
        ("name".to_string(), json!(name)),
        ("nickname".to_string(), json!(nickname)),
        ("description".to_string(), json!(description)),
    ])
}

fn desired_project_attributes(project: &ProjectSpec) -> Attributes {
    project_attributes(
        &project.name,
        &project.nickname,
        project.description.as_deref().unwrap_or(""),
    )
}

fn live_project_attributes(project: &LiveProject) -> Attributes {
    let mut attributes = project_attributes(&project.name, &project.nickname, &project.description);
    attributes.insert("id".to_string(), json!(project.id));
    attributes
}

fn account_attributes(name: &str, status: Status) -> Attributes {
    Attributes::from([
        ("name".to_string(), json!(name)),
        ("status".to_string(), json!(status.as_str())),
    ])
}

fn live_account_attributes(account: &LiveServiceAccount) -> Attributes {
    let mut attributes = account_attributes(&account.name, account.status);
    attributes.insert("id".to_string(), json!(account.id));
    attributes.insert("email".to_string(), json!(account.email));
    attributes
}

fn desired_key_attributes(key: &AccessKeySpec) -> Attributes {
    let mut attributes = Attributes::from([
        ("name".to_string(), json!(key.name)),
        (
            "description".to_string(),
            json!(key.description.as_deref().unwrap_or("")),
        ),
    ]);
    if let Some(rotation) = &key.rotation {
        attributes.insert("rotation".to_string(), json!(rotation));
    }
    if let Some(max_age) = &key.max_age {
        attributes.insert("max_age".to_string(), json!(max_age.text));
    }
    attributes
}

fn live_key_attributes(key: &LiveAccessKey) -> Attributes {
    let mut attributes = Attributes::from([
        ("name".to_string(), json!(key.name)),
        ("description".to_string(), json!(key.description)),
        ("id".to_string(), json!(key.id)),
        (
            "status".to_string(),
            json!(match key.status {
                KeyStatus::Active => "active",
                KeyStatus::Expired => "expired",
            }),
        ),
    ]);
    if let Some(rotation) = &key.rotation {
        attributes.insert("rotation".to_string(), json!(rotation));
    }
    if key.remote_name != key.name {
        attributes.insert("remote_name".to_string(), json!(key.remote_name));
    }
    if let Some(created_at) = key.created_at
        && let Ok(text) = created_at.format(&time::format_description::well_known::Rfc3339)
    {
        attributes.insert("created_at".to_string(), json!(text));
    }
    attributes
}

impl Differ {
    fn push(
        &mut self,
        address: Address,
        action: Action,
        before: Option<Attributes>,
        after: Option<Attributes>,
        reasons: Vec<String>,
        remote: RemoteIds,
    ) {
        self.changes.push(Change {
            address,
            deposed: None,
            action,
            before,
            after,
            reasons,
            remote,
        });
    }

    fn keep(&mut self, address: Address, attributes: Attributes) {
        self.unchanged.push(Unchanged {
            address,
            attributes,
        });
    }

    fn check_not_renamed(&mut self, project: &ProjectSpec, undeclared: &[(String, String)]) {
        let lookalike = undeclared
            .iter()
            .find(|(_, nickname)| nickname == &project.nickname);
        if let Some((old_name, _)) = lookalike {
            self.problems.push(format!(
                "{}: project `{}` does not exist, but the undeclared project `{old_name}` has the same nickname `{}`.\n\
                 A project's name cannot be changed after creation, and kcform never deletes projects \
                 (deletion is a request to the KakaoCloud Help Desk).\n\
                 hint: to keep managing `{old_name}`, declare it as `[project.{old_name}]`; to create a \
                 second project, give it a different nickname.",
                project.origin, project.name, project.nickname
            ));
        }
    }

    fn new_project(&mut self, project: &ProjectSpec) {
        self.push(
            Address::project(&project.name),
            Action::Create,
            None,
            Some(desired_project_attributes(project)),
            vec!["projects cannot be deleted through the API once created".to_string()],
            RemoteIds::default(),
        );
        for account in project.service_accounts.values() {
            self.new_account(project, account, RemoteIds::default());
        }
    }

    fn new_account(&mut self, project: &ProjectSpec, account: &ServiceAccountSpec, ids: RemoteIds) {
        self.push(
            Address::service_account(&project.name, &account.name),
            Action::Create,
            None,
            Some(account_attributes(&account.name, account.status)),
            Vec::new(),
            ids.clone(),
        );
        for key in account.access_keys.values() {
            self.new_key(project, account, key, ids.clone());
        }
    }

    fn new_key(
        &mut self,
        project: &ProjectSpec,
        account: &ServiceAccountSpec,
        key: &AccessKeySpec,
        ids: RemoteIds,
    ) {
        self.push(
            Address::access_key(&project.name, &account.name, &key.name),
            Action::Create,
            None,
            Some(desired_key_attributes(key)),
            Vec::new(),
            ids,
        );
    }

    fn existing_project(&mut self, project: &ProjectSpec, live: &LiveProject) {
        let ids = RemoteIds {
            project_id: Some(live.id.clone()),
            ..RemoteIds::default()
        };
        let wanted_description = project.description.as_deref().unwrap_or("");
        if live.nickname != project.nickname || live.description != wanted_description {
            let mut after = desired_project_attributes(project);
            after.insert("id".to_string(), json!(live.id));
            self.push(
                Address::project(&project.name),
                Action::Update,
                Some(live_project_attributes(live)),
                Some(after),
                Vec::new(),
                ids.clone(),
            );
        } else {
            self.keep(
                Address::project(&project.name),
                live_project_attributes(live),
            );
        }
        for account in project.service_accounts.values() {
            match live.service_accounts.get(&account.name) {
                Some(live_account) => self.existing_account(project, account, live_account, &ids),
                None => self.new_account(project, account, ids.clone()),
            }
        }
        let mut deleted = 0;
        for live_account in live.service_accounts.values() {
            if project.service_accounts.contains_key(&live_account.name)
                || project.ignores(&live_account.name)
            {
                continue;
            }
            self.undeclared_account(&project.name, live_account, &ids);
            deleted += 1;
        }
        let created = project
            .service_accounts
            .keys()
            .filter(|name| !live.service_accounts.contains_key(*name))
            .count();
        let total = live.service_accounts.len() - deleted + created;
        if created > 0 && total > MAX_SERVICE_ACCOUNTS_PER_PROJECT {
            self.problems.push(format!(
                "{}: project `{}` would have {total} service accounts, but a project holds at most \
                 {MAX_SERVICE_ACCOUNTS_PER_PROJECT} (inactive and ignored ones count): it has {} live, \
                 this plan deletes {deleted} and creates {created}.\n\
                 hint: delete service accounts that are no longer needed, or stop ignoring them so kcform can delete them.",
                project.origin,
                project.name,
                live.service_accounts.len()
            ));
        }
    }

    fn undeclared_account(&mut self, project: &str, live: &LiveServiceAccount, ids: &RemoteIds) {
        let account_ids = RemoteIds {
            service_account_id: Some(live.id.clone()),
            service_account_email: Some(live.email.clone()),
            ..ids.clone()
        };
        for key in live.access_keys.values() {
            self.delete_key(
                project,
                &live.name,
                key,
                &account_ids,
                "its service account is not declared in the configuration",
            );
        }
        self.delete_deposed(project, live, &account_ids);
        self.push(
            Address::service_account(project, &live.name),
            Action::Delete,
            Some(live_account_attributes(live)),
            None,
            vec!["not declared in the configuration".to_string()],
            account_ids,
        );
    }

    fn delete_key(
        &mut self,
        project: &str,
        account: &str,
        key: &LiveAccessKey,
        account_ids: &RemoteIds,
        reason: &str,
    ) {
        self.push(
            Address::access_key(project, account, &key.name),
            Action::Delete,
            Some(live_key_attributes(key)),
            None,
            vec![reason.to_string()],
            key_ids(key, account_ids),
        );
    }

    fn delete_deposed(
        &mut self,
        project: &str,
        account: &LiveServiceAccount,
        account_ids: &RemoteIds,
    ) {
        for key in &account.deposed_keys {
            self.delete_key(
                project,
                &account.name,
                key,
                account_ids,
                "an older generation of this key, left by an interrupted replacement",
            );
            if let Some(change) = self.changes.last_mut() {
                change.deposed = Some(key.id.clone());
            }
        }
    }

    fn existing_account(
        &mut self,
        project: &ProjectSpec,
        account: &ServiceAccountSpec,
        live: &LiveServiceAccount,
        project_ids: &RemoteIds,
    ) {
        let ids = RemoteIds {
            service_account_id: Some(live.id.clone()),
            service_account_email: Some(live.email.clone()),
            ..project_ids.clone()
        };
        let address = Address::service_account(&project.name, &account.name);
        if account.status != live.status {
            let action = match account.status {
                Status::Active => Action::Activate,
                Status::Inactive => Action::Deactivate,
            };
            if action == Action::Deactivate && account.protect {
                self.by_safety_rail = true;
                self.problems.push(format!(
                    "{}: {address} is protected (`protect = true`) and cannot be deactivated.\n\
                     hint: remove `protect = true` in a reviewed change first if the deactivation is intended.",
                    account.origin
                ));
            }
            let mut reasons = Vec::new();
            if action == Action::Deactivate {
                reasons.push(
                    "deactivation immediately expires all of its access keys and tokens"
                        .to_string(),
                );
            }
            self.push(
                address,
                action,
                Some(live_account_attributes(live)),
                Some({
                    let mut after = account_attributes(&account.name, account.status);
                    after.insert("id".to_string(), json!(live.id));
                    after.insert("email".to_string(), json!(live.email));
                    after
                }),
                reasons,
                ids.clone(),
            );
        } else {
            self.keep(address.clone(), live_account_attributes(live));
        }

        self.delete_deposed(&project.name, live, &ids);
        let mut deleted = live.deposed_keys.len();
        for key in live.access_keys.values() {
            // An inactive account's expired keys are dead already and cannot be declared (an
            // inactive account declares no keys): they stay until the account is deleted or
            // activated, instead of showing as deletions in every plan.
            let dormant = account.status == Status::Inactive && key.status == KeyStatus::Expired;
            if !account.access_keys.contains_key(&key.name) && !dormant {
                self.delete_key(
                    &project.name,
                    &account.name,
                    key,
                    &ids,
                    "not declared in the configuration",
                );
                deleted += 1;
            }
        }
        let created = account
            .access_keys
            .keys()
            .filter(|name| !live.access_keys.contains_key(*name))
            .count();
        let (order, _) = replace_order(
            live.access_keys.len() + live.deposed_keys.len(),
            deleted,
            created,
        );
        for key in account.access_keys.values() {
            match live.access_keys.get(&key.name) {
                None => self.new_key(project, account, key, ids.clone()),
                Some(live_key) => {
                    let reasons = self.replace_reasons(key, live_key);
                    if reasons.is_empty() {
                        if let (Some(rotation), None) = (&key.rotation, &live_key.rotation) {
                            self.unrecorded_rotations.push(UnrecordedRotation {
                                address: Address::access_key(
                                    &project.name,
                                    &account.name,
                                    &key.name,
                                ),
                                rotation: rotation.clone(),
                            });
                        }
                        self.keep(
                            Address::access_key(&project.name, &account.name, &key.name),
                            live_key_attributes(live_key),
                        );
                    } else {
                        self.replace_key(project, account, key, live_key, &ids, order, reasons);
                    }
                }
            }
        }
    }

    fn replace_reasons(&self, key: &AccessKeySpec, live: &LiveAccessKey) -> Vec<String> {
        let mut reasons = Vec::new();
        let wanted_description = key.description.as_deref().unwrap_or("");
        if live.description != wanted_description {
            reasons.push("description changed; access keys cannot be edited".to_string());
        }
        if let (Some(wanted), Some(recorded)) = (&key.rotation, &live.rotation)
            && wanted != recorded
        {
            reasons.push(format!("rotation changed from {recorded:?} to {wanted:?}"));
        }
        if let (Some(max_age), Some(created_at)) = (&key.max_age, live.created_at) {
            let age = self.now - created_at;
            if age.whole_seconds() > max_age.seconds {
                reasons.push(format!(
                    "key is {} days old; max_age is {}",
                    age.whole_days(),
                    max_age.text
                ));
            }
        }
        if live.undelivered {
            reasons.push(UNDELIVERED_REASON.to_string());
        }
        if live.status == KeyStatus::Expired {
            reasons.push("key is expired (its service account was deactivated)".to_string());
        }
        reasons
    }

    #[allow(clippy::too_many_arguments)]
    fn replace_key(
        &mut self,
        project: &ProjectSpec,
        account: &ServiceAccountSpec,
        key: &AccessKeySpec,
        live: &LiveAccessKey,
        ids: &RemoteIds,
        order: ReplaceOrder,
        mut reasons: Vec<String>,
    ) {
        if order == ReplaceOrder::DestroyBeforeCreate {
            reasons.push(format!(
                "service account {} has no free key slot (at most {} keys), so the old key is deleted before the new one is created",
                account.name,
                crate::limits::MAX_ACCESS_KEYS_PER_SERVICE_ACCOUNT
            ));
        }
        self.push(
            Address::access_key(&project.name, &account.name, &key.name),
            Action::Replace(order),
            Some(live_key_attributes(live)),
            Some(desired_key_attributes(key)),
            reasons,
            key_ids(live, ids),
        );
    }
}

fn key_ids(key: &LiveAccessKey, account_ids: &RemoteIds) -> RemoteIds {
    RemoteIds {
        access_key_id: Some(key.id.clone()),
        access_key_name: Some(key.remote_name.clone()),
        ..account_ids.clone()
    }
}
