//! The declared objects of one file: `[project.<name>]` tables, their service accounts and
//! access keys, with their names, lengths and value rules.

use std::collections::BTreeMap;

use toml::de::DeValue;

use crate::limits::{
    ACCESS_KEY_DESCRIPTION_MAX, NameKind, PROJECT_DESCRIPTION_MAX, PROJECT_NICKNAME_MAX,
};
use crate::model::Status;

use super::{
    ACCESS_KEY_KEYS, AccessKeyFrag, Collection, Form, Key, PROJECT_KEYS, ProjectFrag,
    SERVICE_ACCOUNT_KEYS, ServiceAccountFrag, Value, Walker,
};
use crate::config::diagnostic::Problem;
use crate::config::duration::parse_max_age;
use crate::config::suggest::closest;

impl Walker<'_> {
    pub(super) fn projects(&mut self, value: &Value<'_>) -> Vec<ProjectFrag> {
        let Some(table) = self.collection(value, &Collection::of(&["project"])) else {
            return Vec::new();
        };
        table
            .iter()
            .filter_map(|(key, value)| self.project(key, value))
            .collect()
    }

    pub(super) fn project(&mut self, key: &Key<'_>, value: &Value<'_>) -> Option<ProjectFrag> {
        let name = key.get_ref().to_string();
        self.name(NameKind::Project, key);
        let table = self.table(
            value,
            &format!("project `{name}`"),
            &format!("a table `[project.{name}]`"),
        )?;
        let context = format!("`project.{name}`");
        let mut project = ProjectFrag {
            origin: self.origin(key, value),
            declared: self.form(value) != Form::Implicit
                || table.keys().any(|k| k.get_ref() != "service_account"),
            nickname: None,
            nickname_written: false,
            description: None,
            ignore: Vec::new(),
            service_accounts: BTreeMap::new(),
            name,
        };
        for (k, v) in table.iter() {
            match k.get_ref().as_ref() {
                "nickname" => {
                    project.nickname_written = true;
                    let what = format!("`nickname` of project `{}`", project.name);
                    if let Some(text) = self.string(v, &what)
                        && self.length(v.span(), &what, text, 1, PROJECT_NICKNAME_MAX)
                    {
                        project.nickname = Some(text.to_string());
                    }
                }
                "description" => {
                    let what = format!("`description` of project `{}`", project.name);
                    if let Some(text) = self.string(v, &what)
                        && self.length(v.span(), &what, text, 0, PROJECT_DESCRIPTION_MAX)
                        && !text.is_empty()
                    {
                        project.description = Some(text.to_string());
                    }
                }
                "ignore" => {
                    let what = format!("`ignore` of project `{}`", project.name);
                    for (pattern, span) in self.strings(v, &what).unwrap_or_default() {
                        match glob::Pattern::new(&pattern) {
                            Ok(_) => project.ignore.push(pattern),
                            Err(e) => self.error(
                                span,
                                format!("invalid glob pattern `{pattern}` in {what}: {} at character {}", e.msg, e.pos + 1),
                                "invalid glob pattern",
                            ),
                        }
                    }
                }
                "service_account" => {
                    let shape = Collection::of(&["project", project.name.as_str(), "service_account"]);
                    if let Some(accounts) = self.collection(v, &shape) {
                        for (sa_key, sa_value) in accounts.iter() {
                            if let Some(sa) = self.service_account(&project.name, sa_key, sa_value) {
                                project.service_accounts.insert(sa.name.clone(), sa);
                            }
                        }
                    }
                }
                "access_key" => self.unknown_key(
                    k,
                    &context,
                    PROJECT_KEYS,
                    Some(format!(
                        "access keys belong to a service account: `[project.{}.service_account.<name>.access_key.<key>]`",
                        project.name
                    )),
                ),
                _ => self.unknown_key(k, &context, PROJECT_KEYS, None),
            }
        }
        Some(project)
    }

    pub(super) fn service_account(
        &mut self,
        project: &str,
        key: &Key<'_>,
        value: &Value<'_>,
    ) -> Option<ServiceAccountFrag> {
        let name = key.get_ref().to_string();
        self.name(NameKind::ServiceAccount, key);
        let table = self.table(
            value,
            &format!("service account `{project}/{name}`"),
            &format!("a table `[project.{project}.service_account.{name}]`"),
        )?;
        let context = format!("`project.{project}.service_account.{name}`");
        let mut sa = ServiceAccountFrag {
            key: self.loc(key.span()),
            origin: self.origin(key, value),
            declared: self.form(value) != Form::Implicit
                || table.keys().any(|k| k.get_ref() != "access_key"),
            status: None,
            protect: false,
            access_keys: BTreeMap::new(),
            name,
        };
        for (k, v) in table.iter() {
            match k.get_ref().as_ref() {
                "status" => {
                    let what = format!("`status` of service account `{project}/{}`", sa.name);
                    if let Some(text) = self.string(v, &what) {
                        let status = match text {
                            "active" => Some(Status::Active),
                            "inactive" => Some(Status::Inactive),
                            _ => None,
                        };
                        match status {
                            Some(status) => sa.status = Some((status, self.loc(v.span()))),
                            None => {
                                let label = match closest(text, &["active", "inactive"]) {
                                    Some(s) => format!("did you mean `{s}`?"),
                                    None => "invalid status".into(),
                                };
                                self.error(
                                    v.span(),
                                    format!(
                                        "{what} is `{text}`; it must be `active` or `inactive`"
                                    ),
                                    &label,
                                );
                            }
                        }
                    }
                }
                "protect" => {
                    let what = format!("`protect` of service account `{project}/{}`", sa.name);
                    if let Some(protect) = self.boolean(v, &what) {
                        sa.protect = protect;
                    }
                }
                "access_key" => {
                    let shape = Collection::of(&[
                        "project",
                        project,
                        "service_account",
                        sa.name.as_str(),
                        "access_key",
                    ]);
                    if let Some(keys) = self.collection(v, &shape) {
                        for (ak_key, ak_value) in keys.iter() {
                            if let Some(ak) = self.access_key(project, &sa.name, ak_key, ak_value) {
                                sa.access_keys.insert(ak.name.clone(), ak);
                            }
                        }
                    }
                }
                _ => self.unknown_key(k, &context, SERVICE_ACCOUNT_KEYS, None),
            }
        }
        Some(sa)
    }

    pub(super) fn access_key(
        &mut self,
        project: &str,
        sa: &str,
        key: &Key<'_>,
        value: &Value<'_>,
    ) -> Option<AccessKeyFrag> {
        let name = key.get_ref().to_string();
        self.name(NameKind::AccessKey, key);
        let address = format!("{project}/{sa}/{name}");
        let table = self.table(
            value,
            &format!("access key `{address}`"),
            &format!("a table `[project.{project}.service_account.{sa}.access_key.{name}]`"),
        )?;
        let context = format!("`project.{project}.service_account.{sa}.access_key.{name}`");
        let mut ak = AccessKeyFrag {
            key: self.loc(key.span()),
            origin: self.origin(key, value),
            description: None,
            rotation: None,
            max_age: None,
            name,
        };
        for (k, v) in table.iter() {
            match k.get_ref().as_ref() {
                "description" => {
                    let what = format!("`description` of access key `{address}`");
                    if let Some(text) = self.string(v, &what)
                        && self.length(v.span(), &what, text, 0, ACCESS_KEY_DESCRIPTION_MAX)
                        && !text.is_empty()
                    {
                        ak.description = Some(text.to_string());
                    }
                }
                "rotation" => {
                    let what = format!("`rotation` of access key `{address}`");
                    if let Some(text) = self.string(v, &what) {
                        if text.is_empty() {
                            let problem = Problem::at(self.loc(v.span()), format!("{what} is empty"))
                                .label("empty")
                                .help("`rotation` is a keeper: any non-empty value, e.g. `\"2026-11\"`; changing it replaces the key. Remove it if unused");
                            self.report(problem);
                        } else {
                            ak.rotation = Some(text.to_string());
                        }
                    }
                }
                "max_age" => {
                    let what = format!("`max_age` of access key `{address}`");
                    if let DeValue::Integer(number) = v.get_ref() {
                        let example = i64::from_str_radix(number.as_str(), number.radix())
                            .ok()
                            .filter(|n| *n > 0)
                            .unwrap_or(90);
                        let problem = Problem::at(
                            self.loc(v.span()),
                            format!("{what} must be a string with a unit, found an integer"),
                        )
                        .label("expected a string such as \"90d\"")
                        .help(format!(
                            "a number needs a unit, `h` (hours), `d` (days) or `w` (weeks), and \
                             quotes: e.g. `max_age = \"{example}d\"`"
                        ));
                        self.report(problem);
                    } else if let Some(text) = self.string(v, &what) {
                        match parse_max_age(text) {
                            Ok(max_age) => ak.max_age = Some(max_age),
                            Err(e) => {
                                let problem = Problem::at(self.loc(v.span()), e.message)
                                    .label("invalid duration")
                                    .help(e.help);
                                self.report(problem);
                            }
                        }
                    }
                }
                _ => self.unknown_key(k, &context, ACCESS_KEY_KEYS, None),
            }
        }
        Some(ak)
    }
}
