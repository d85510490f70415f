//! The schema's tables of named objects (`project`, `service_account`, `access_key`) and how
//! diagnostics talk about them.

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
    pub(super) fn of(path: &[&str]) -> Collection {
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
