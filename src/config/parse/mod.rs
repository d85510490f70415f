//! One file's spanned TOML tree → its declarations ([`FileDecls`]): docs/design.md#schema, value
//! types, unknown keys (with suggestions), name and length rules and per-value rules. Every
//! problem is recorded with its location and the walk goes on, so that all of them are reported.
//! Merging files together is `merge`'s job.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use crate::limits::{NameKind, check_declared_key_name, check_length, check_name};
use crate::model::{LockBackend, MaxAge, Provider, SecretsSink, Status};

use super::diagnostic::{Loc, Problem};
use super::suggest::closest;

mod collection;
mod objects;
mod sections;

pub(crate) use collection::Collection;

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
}

fn quoted(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
