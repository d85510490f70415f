//! One file's spanned TOML tree → its declarations ([`FileDecls`]): docs/design.md#schema, value
//! types, unknown keys (with suggestions), name and length rules and per-value rules. Every
//! problem is recorded with its location and the walk goes on, so that all of them are reported.
//! Merging files together is `merge`'s job.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use crate::limits::{
    ACCESS_KEY_DESCRIPTION_MAX, NameKind, PROJECT_DESCRIPTION_MAX, PROJECT_NICKNAME_MAX,
    check_declared_key_name, check_length, check_name,
};
use crate::model::{LockBackend, MaxAge, Provider, SecretsSink, Status};

use super::diagnostic::{Loc, Problem};
use super::duration::parse_max_age;
use super::rules::{self, MAX_PARALLELISM};
use super::suggest::closest;

type Key<'i> = Spanned<DeString<'i>>;
type Value<'i> = Spanned<DeValue<'i>>;

const ROOT_KEYS: &[&str] = &["provider", "secrets", "lock", "project"];
const PROVIDER_KEYS: &[&str] = &["endpoint", "parallelism"];
const SECRETS_KEYS: &[&str] = &["dir", "command"];
const LOCK_KEYS: &[&str] = &["backend"];
const PROJECT_KEYS: &[&str] = &["nickname", "description", "ignore", "service_account"];
const SERVICE_ACCOUNT_KEYS: &[&str] = &["status", "protect", "access_key"];
const ACCESS_KEY_KEYS: &[&str] = &["description", "rotation", "max_age"];

/// A top-level section (`[provider]`, `[secrets]`, `[lock]`) as declared in one file.
#[derive(Debug)]
pub(crate) struct Section<T> {
    pub value: T,
    /// The `[header]`, or the key for dotted keys and inline tables.
    pub origin: Loc,
}

/// What one file declares.
#[derive(Debug, Default)]
pub(crate) struct FileDecls {
    pub provider: Option<Section<Provider>>,
    pub secrets: Option<Section<SecretsSink>>,
    pub lock: Option<Section<LockBackend>>,
    pub projects: Vec<ProjectFrag>,
}

/// A project's declarations: a `project.<name>` table as it appears in one file, and the same
/// type for all files merged (`merge` folds each file's into one).
#[derive(Debug)]
pub(crate) struct ProjectFrag {
    pub name: String,
    /// The `[header]`, or the key when the table has no header of its own.
    pub origin: Loc,
    /// This file declares the project itself (see the merge rules in `config`), rather than
    /// only naming it on the way to its service accounts.
    pub declared: bool,
    pub nickname: Option<String>,
    /// `nickname` is written, even if invalid (so that "missing nickname" is not reported too).
    pub nickname_written: bool,
    pub description: Option<String>,
    pub ignore: Vec<String>,
    pub service_accounts: BTreeMap<String, ServiceAccountFrag>,
}

/// A service account's declarations: as in one file, and merged over all files.
#[derive(Debug)]
pub(crate) struct ServiceAccountFrag {
    pub name: String,
    pub key: Loc,
    pub origin: Loc,
    pub declared: bool,
    /// The status and where it is written.
    pub status: Option<(Status, Loc)>,
    pub protect: bool,
    pub access_keys: BTreeMap<String, AccessKeyFrag>,
}

/// An `access_key.<name>` table (always a declaration).
#[derive(Debug, Clone)]
pub(crate) struct AccessKeyFrag {
    pub name: String,
    pub key: Loc,
    pub origin: Loc,
    pub description: Option<String>,
    pub rotation: Option<String>,
    pub max_age: Option<MaxAge>,
}

/// How a table is written, which decides whether it declares its object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `[a.b]` (its span is the header).
    Header,
    /// `b = { … }`.
    Inline,
    /// Created on the way to a deeper header or by dotted keys (its span is the key).
    Implicit,
}

/// Walks one file's tree, recording problems.
pub(crate) struct Walker<'a> {
    file: usize,
    text: &'a str,
    problems: &'a mut Vec<Problem>,
}

impl<'a> Walker<'a> {
    pub fn new(file: usize, text: &'a str, problems: &'a mut Vec<Problem>) -> Self {
        Walker {
            file,
            text,
            problems,
        }
    }

    fn loc(&self, span: Range<usize>) -> Loc {
        Loc {
            file: self.file,
            span,
        }
    }

    fn report(&mut self, problem: Problem) {
        self.problems.push(problem);
    }

    fn error(&mut self, span: Range<usize>, message: String, label: &str) {
        let problem = Problem::at(self.loc(span), message).label(label);
        self.report(problem);
    }

    // `toml` keeps whether a table is implicit or inline private (`is_implicit` is crate-only),
    // but its spans tell: a `[header]` table spans its header, an inline table starts at `{`, an
    // implicit one spans its key. The origin and merge tests fail if that ever changes.
    fn form(&self, value: &Value<'_>) -> Form {
        match self.text.as_bytes().get(value.span().start) {
            Some(b'[') => Form::Header,
            Some(b'{') => Form::Inline,
            _ => Form::Implicit,
        }
    }

    /// Where a table declaration is: its header, else its key.
    fn origin(&self, key: &Key<'_>, value: &Value<'_>) -> Loc {
        match self.form(value) {
            Form::Header => self.loc(value.span()),
            Form::Inline | Form::Implicit => self.loc(key.span()),
        }
    }

    /// `[[a.b]]` (each element's span is its header), not an inline array of inline tables.
    fn is_array_of_tables(&self, array: &toml::de::DeArray<'_>) -> bool {
        array
            .iter()
            .next()
            .is_some_and(|first| first.get_ref().is_table() && self.form(first) == Form::Header)
    }

    fn type_error(&mut self, value: &Value<'_>, what: &str, expected: &str) {
        let found = match value.get_ref() {
            DeValue::Array(array) if self.is_array_of_tables(array) => "an array of tables",
            DeValue::Array(_) => "an array",
            DeValue::Table(_) => "a table",
            DeValue::String(_) => "a string",
            DeValue::Integer(_) => "an integer",
            DeValue::Float(_) => "a float",
            DeValue::Boolean(_) => "a boolean",
            DeValue::Datetime(_) => "a date-time",
        };
        let mut problem = if found == "an array of tables" {
            Problem::at(
                self.loc(value.span()),
                format!("{what} must be {expected}, not an array of tables"),
            )
            .help("`[[…]]` declares an array of tables; use a single `[…]` header")
        } else {
            Problem::at(
                self.loc(value.span()),
                format!("{what} must be {expected}, found {found}"),
            )
        };
        problem = problem.label(format!("expected {expected}"));
        self.report(problem);
    }

    /// A table of named objects (`project`, a project's `service_account`, an account's
    /// `access_key`): like [`Walker::table`], but `[[…]]` is answered with how to name them.
    fn collection<'v, 'i>(
        &mut self,
        value: &'v Value<'i>,
        shape: &Collection,
    ) -> Option<&'v DeTable<'i>> {
        let table = value.get_ref().as_table();
        if table.is_some() {
            return table;
        }
        let array_of_tables =
            matches!(value.get_ref(), DeValue::Array(array) if self.is_array_of_tables(array));
        if array_of_tables {
            let (message, help) = shape.array_of_tables();
            let problem = Problem::at(self.loc(value.span()), message)
                .label(format!("expected {}", shape.expected))
                .help(help);
            self.report(problem);
        } else {
            self.type_error(value, &shape.what, &shape.expected);
        }
        None
    }

    fn table<'v, 'i>(
        &mut self,
        value: &'v Value<'i>,
        what: &str,
        expected: &str,
    ) -> Option<&'v DeTable<'i>> {
        let table = value.get_ref().as_table();
        if table.is_none() {
            self.type_error(value, what, expected);
        }
        table
    }

    fn string<'v>(&mut self, value: &'v Value<'_>, what: &str) -> Option<&'v str> {
        let string = value.get_ref().as_str();
        if string.is_none() {
            self.type_error(value, what, "a string");
        }
        string
    }

    fn boolean(&mut self, value: &Value<'_>, what: &str) -> Option<bool> {
        let boolean = value.get_ref().as_bool();
        if boolean.is_none() {
            self.type_error(value, what, "a boolean (`true` or `false`)");
        }
        boolean
    }

    fn integer(&mut self, value: &Value<'_>, what: &str) -> Option<i64> {
        let Some(integer) = value.get_ref().as_integer() else {
            self.type_error(value, what, "an integer");
            return None;
        };
        let parsed = i64::from_str_radix(integer.as_str(), integer.radix()).ok();
        if parsed.is_none() {
            self.error(value.span(), format!("{what} is out of range"), "too large");
        }
        parsed
    }

    /// An array of strings, each with its span.
    fn strings(&mut self, value: &Value<'_>, what: &str) -> Option<Vec<(String, Range<usize>)>> {
        let Some(array) = value.get_ref().as_array() else {
            self.type_error(value, what, "an array of strings");
            return None;
        };
        let mut out = Vec::with_capacity(array.len());
        let mut ok = true;
        for element in array.iter() {
            match element.get_ref().as_str() {
                Some(s) => out.push((s.to_string(), element.span())),
                None => {
                    self.type_error(element, &format!("each element of {what}"), "a string");
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    fn unknown_key(&mut self, key: &Key<'_>, context: &str, valid: &[&str], help: Option<String>) {
        let name = key.get_ref().as_ref();
        let suggestion = closest(name, valid);
        let label = match suggestion {
            Some(s) => format!("did you mean `{s}`?"),
            None => "unknown key".to_string(),
        };
        let help = help.or_else(|| {
            if name == "name" {
                Some(format!(
                    "names are table keys, e.g. `[project.<name>]`; valid keys in {context}: {}",
                    quoted(valid)
                ))
            } else if suggestion.is_none() {
                Some(format!("valid keys in {context}: {}", quoted(valid)))
            } else {
                None
            }
        });
        let mut problem = Problem::at(
            self.loc(key.span()),
            format!("unknown key `{name}` in {context}"),
        )
        .label(label);
        if let Some(help) = help {
            problem = problem.help(help);
        }
        self.report(problem);
    }

    fn length(
        &mut self,
        span: Range<usize>,
        field: &str,
        value: &str,
        min: usize,
        max: usize,
    ) -> bool {
        match check_length(field, value, min, max) {
            Ok(()) => true,
            Err(message) => {
                let label = if value.chars().count() < min {
                    "too short"
                } else {
                    "too long"
                };
                self.error(span, message, label);
                false
            }
        }
    }

    fn name(&mut self, kind: NameKind, key: &Key<'_>) {
        let checked = match kind {
            NameKind::AccessKey => check_declared_key_name(key.get_ref()),
            _ => check_name(kind, key.get_ref()),
        };
        if let Err(message) = checked {
            self.error(key.span(), message, &format!("invalid {}", kind.noun()));
        }
    }

    /// Walks the whole document.
    pub fn document(&mut self, root: &DeTable<'_>) -> FileDecls {
        let mut decls = FileDecls::default();
        for (key, value) in root.iter() {
            match key.get_ref().as_ref() {
                "provider" => decls.provider = self.provider(key, value),
                "secrets" => decls.secrets = self.secrets(key, value),
                "lock" => decls.lock = self.lock(key, value),
                "project" => decls.projects = self.projects(value),
                other => {
                    let home = [
                        (PROVIDER_KEYS, "`[provider]`"),
                        (SECRETS_KEYS, "`[secrets]`"),
                        (LOCK_KEYS, "`[lock]`"),
                        (PROJECT_KEYS, "a `[project.<name>]` table"),
                        (
                            SERVICE_ACCOUNT_KEYS,
                            "a `[project.<name>.service_account.<name>]` table",
                        ),
                        (ACCESS_KEY_KEYS, "an `[….access_key.<name>]` table"),
                    ]
                    .into_iter()
                    .find(|(keys, _)| keys.contains(&other));
                    let help = match home {
                        Some((_, table)) => format!("`{other}` belongs in {table}"),
                        None => "the top level holds `[provider]`, `[secrets]`, `[lock]` and `[project.<name>]` tables".into(),
                    };
                    self.unknown_key(key, "the top level", ROOT_KEYS, Some(help));
                }
            }
        }
        decls
    }

    fn provider(&mut self, key: &Key<'_>, value: &Value<'_>) -> Option<Section<Provider>> {
        let table = self.table(value, "`provider`", "a table `[provider]`")?;
        let mut provider = Provider::default();
        for (k, v) in table.iter() {
            match k.get_ref().as_ref() {
                "endpoint" => {
                    if let Some(text) = self.string(v, "`provider.endpoint`") {
                        match rules::endpoint(text) {
                            Ok(endpoint) => provider.endpoint = endpoint,
                            Err(rejection) => {
                                let mut problem =
                                    Problem::at(self.loc(v.span()), rejection.message)
                                        .label("invalid endpoint");
                                if let Some(help) = rejection.help {
                                    problem = problem.help(help);
                                }
                                self.report(problem);
                            }
                        }
                    }
                }
                "parallelism" => {
                    if let Some(n) = self.integer(v, "`provider.parallelism`") {
                        match usize::try_from(n) {
                            Ok(n) if (1..=MAX_PARALLELISM).contains(&n) => provider.parallelism = n,
                            _ => self.error(
                                v.span(),
                                format!("`provider.parallelism` is {n}; it must be from 1 to {MAX_PARALLELISM}"),
                                "out of range",
                            ),
                        }
                    }
                }
                _ => self.unknown_key(k, "`[provider]`", PROVIDER_KEYS, None),
            }
        }
        Some(Section {
            value: provider,
            origin: self.origin(key, value),
        })
    }

    fn secrets(&mut self, key: &Key<'_>, value: &Value<'_>) -> Option<Section<SecretsSink>> {
        let table = self.table(value, "`secrets`", "a table `[secrets]`")?;
        let mut dir: Option<(String, Range<usize>)> = None;
        let mut command: Option<(Vec<String>, Range<usize>)> = None;
        for (k, v) in table.iter() {
            match k.get_ref().as_ref() {
                "dir" => {
                    if let Some(text) = self.string(v, "`secrets.dir`") {
                        if text.trim().is_empty() {
                            self.error(v.span(), "`secrets.dir` is empty".into(), "empty");
                        } else {
                            dir = Some((text.to_string(), k.span()));
                        }
                    }
                }
                "command" => {
                    if let Some(args) = self.strings(v, "`secrets.command`") {
                        match args.first() {
                            None => self.error(
                                v.span(),
                                "`secrets.command` is empty; it needs at least the program to run"
                                    .into(),
                                "empty",
                            ),
                            Some((program, span)) if program.trim().is_empty() => self.error(
                                span.clone(),
                                "the program of `secrets.command` is empty".into(),
                                "empty",
                            ),
                            Some(_) => {
                                let mut usable = true;
                                for (arg, span) in &args {
                                    if let Err(problem) = crate::placeholders::check(arg) {
                                        usable = false;
                                        self.error(
                                            span.clone(),
                                            format!(
                                                "`secrets.command`: {problem}; the placeholders are {}",
                                                crate::placeholders::NAMES
                                                    .map(|n| format!("`{{{n}}}`"))
                                                    .join(", ")
                                            ),
                                            "here",
                                        );
                                    }
                                }
                                if usable {
                                    command = Some((
                                        args.into_iter().map(|(s, _)| s).collect(),
                                        k.span(),
                                    ));
                                }
                            }
                        }
                    }
                }
                _ => self.unknown_key(k, "`[secrets]`", SECRETS_KEYS, None),
            }
        }
        let sink = match (dir, command) {
            (Some((_, dir_span)), Some((_, command_span))) => {
                let problem = Problem::at(
                    self.loc(command_span),
                    "`[secrets]` sets both `dir` and `command`",
                )
                .label("second delivery method")
                .related(self.loc(dir_span), "first delivery method")
                .help("new secrets go either to files under `dir` or to `command`; keep one");
                self.report(problem);
                SecretsSink::default()
            }
            (Some((dir, _)), None) => SecretsSink::Dir(dir.into()),
            (None, Some((command, _))) => SecretsSink::Command(command),
            (None, None) => SecretsSink::default(),
        };
        Some(Section {
            value: sink,
            origin: self.origin(key, value),
        })
    }

    fn lock(&mut self, key: &Key<'_>, value: &Value<'_>) -> Option<Section<LockBackend>> {
        let table = self.table(value, "`lock`", "a table `[lock]`")?;
        let mut backend = LockBackend::default();
        for (k, v) in table.iter() {
            match k.get_ref().as_ref() {
                "backend" => {
                    if let Some(text) = self.string(v, "`lock.backend`") {
                        match rules::lock_backend(text) {
                            Ok(b) => backend = b,
                            Err(rejection) => {
                                let mut problem =
                                    Problem::at(self.loc(v.span()), rejection.message)
                                        .label("invalid lock backend");
                                if let Some(help) = rejection.help {
                                    problem = problem.help(help);
                                }
                                self.report(problem);
                            }
                        }
                    }
                }
                _ => self.unknown_key(k, "`[lock]`", LOCK_KEYS, None),
            }
        }
        Some(Section {
            value: backend,
            origin: self.origin(key, value),
        })
    }

    fn projects(&mut self, value: &Value<'_>) -> Vec<ProjectFrag> {
        let Some(table) = self.collection(value, &Collection::of(&["project"])) else {
            return Vec::new();
        };
        table
            .iter()
            .filter_map(|(key, value)| self.project(key, value))
            .collect()
    }

    fn project(&mut self, key: &Key<'_>, value: &Value<'_>) -> Option<ProjectFrag> {
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

    fn service_account(
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

    fn access_key(
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

/// A table of named objects in the schema, and how to talk about it.
pub(crate) struct Collection {
    /// The table, e.g. "`service_account` of project `web`".
    pub what: String,
    /// What it must be, e.g. "a table of named projects (`[project.<name>]`)".
    pub expected: String,
    /// The objects it holds, e.g. "project".
    noun: &'static str,
    /// A header declaring one, e.g. `[project.analytics]`.
    example: String,
}

impl Collection {
    /// The collection at this table path (`project`, `project.<p>.service_account`,
    /// `project.<p>.service_account.<s>.access_key`), if it is one.
    pub fn at(path: &[&str]) -> Option<Collection> {
        let (what, noun, name, example) = match path {
            ["project"] => ("`project`".to_string(), "project", "projects", "analytics"),
            ["project", p, "service_account"] => (
                format!("`service_account` of project `{p}`"),
                "service account",
                "service accounts",
                "etl-runner",
            ),
            ["project", p, "service_account", s, "access_key"] => (
                format!("`access_key` of service account `{p}/{s}`"),
                "access key",
                "access keys",
                "ci",
            ),
            _ => return None,
        };
        let path = path.join(".");
        Some(Collection {
            what,
            expected: format!("a table of named {name} (`[{path}.<name>]`)"),
            noun,
            example: format!("[{path}.{example}]"),
        })
    }

    /// [`Collection::at`] for a path the walker knows is a collection.
    fn of(path: &[&str]) -> Collection {
        Collection::at(path).expect("a collection path")
    }

    /// The message and help when it is written as an array of tables (`[[…]]`).
    pub fn array_of_tables(&self) -> (String, String) {
        (
            format!(
                "{} must be {}, not an array of tables",
                self.what, self.expected
            ),
            format!(
                "`[[…]]` declares an array of tables; declare each {} as its own table, named in \
                 its header, e.g. `{}`",
                self.noun, self.example
            ),
        )
    }
}

fn quoted(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
