//! Placeholders in a `[secrets] command`'s arguments: `{project}`, `{service_account}`,
//! `{access_key}`, `{address}` and `{access_key_id}` are replaced by the key being delivered,
//! so one command can store each key at its own path of a secret store. `{{` and `}}` stand for
//! literal braces. The configuration is checked with [`check`] when it is read, so an unknown
//! placeholder is a located configuration error, never a surprise during an apply.

/// The placeholder names, in the order the documentation lists them.
pub const NAMES: [&str; 5] = [
    "project",
    "service_account",
    "access_key",
    "address",
    "access_key_id",
];

/// What a placeholder stands for, for one key.
#[derive(Debug, Clone, Copy)]
pub struct Values<'a> {
    /// The project's name.
    pub project: &'a str,
    /// The service account's name.
    pub service_account: &'a str,
    /// The declared key name.
    pub access_key: &'a str,
    /// `access_key.<project>/<service_account>/<access_key>`.
    pub address: &'a str,
    /// The access key ID (not secret).
    pub access_key_id: &'a str,
}

impl Values<'_> {
    /// What the placeholder `name` stands for (`None`: not a placeholder).
    pub fn get(&self, name: &str) -> Option<&str> {
        Some(match name {
            "project" => self.project,
            "service_account" => self.service_account,
            "access_key" => self.access_key,
            "address" => self.address,
            "access_key_id" => self.access_key_id,
            _ => return None,
        })
    }
}

/// Why an argument's placeholders cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceholderError {
    /// `{name}` with a name that is not one of [`NAMES`].
    #[error("unknown placeholder `{{{name}}}`")]
    Unknown {
        /// The name between the braces.
        name: String,
        /// Byte offset of the `{` in the argument.
        at: usize,
    },
    /// A `{` without its `}`, or a lone `}`.
    #[error("unbalanced `{brace}`; write `{brace}{brace}` for a literal brace")]
    Unbalanced {
        /// The brace.
        brace: char,
        /// Byte offset of the brace in the argument.
        at: usize,
    },
}

impl PlaceholderError {
    /// Byte offset of the problem in the argument.
    pub fn at(&self) -> usize {
        match self {
            PlaceholderError::Unknown { at, .. } | PlaceholderError::Unbalanced { at, .. } => *at,
        }
    }
}

/// Checks an argument's placeholders without expanding them.
pub fn check(argument: &str) -> Result<(), PlaceholderError> {
    let values = Values {
        project: "",
        service_account: "",
        access_key: "",
        address: "",
        access_key_id: "",
    };
    expand(argument, &values).map(drop)
}

/// The argument with its placeholders replaced by `values`.
pub fn expand(argument: &str, values: &Values<'_>) -> Result<String, PlaceholderError> {
    let mut out = String::with_capacity(argument.len());
    let mut rest = argument.char_indices().peekable();
    while let Some((at, c)) = rest.next() {
        match c {
            '{' if rest.peek().is_some_and(|&(_, next)| next == '{') => {
                rest.next();
                out.push('{');
            }
            '}' if rest.peek().is_some_and(|&(_, next)| next == '}') => {
                rest.next();
                out.push('}');
            }
            '{' => {
                let Some(end) = argument[at + 1..].find('}').map(|i| at + 1 + i) else {
                    return Err(PlaceholderError::Unbalanced { brace: '{', at });
                };
                let name = &argument[at + 1..end];
                let value = values.get(name).ok_or_else(|| PlaceholderError::Unknown {
                    name: name.to_string(),
                    at,
                })?;
                out.push_str(value);
                while rest.peek().is_some_and(|&(i, _)| i <= end) {
                    rest.next();
                }
            }
            '}' => return Err(PlaceholderError::Unbalanced { brace: '}', at }),
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: Values<'static> = Values {
        project: "analytics",
        service_account: "etl",
        access_key: "ci",
        address: "access_key.analytics/etl/ci",
        access_key_id: "0123abcd",
    };

    #[test]
    fn placeholders_are_replaced_and_doubled_braces_are_literal() {
        assert_eq!(
            expand("kcform/{project}/{service_account}/{access_key}", &KEY).unwrap(),
            "kcform/analytics/etl/ci"
        );
        assert_eq!(
            expand("{address}:{access_key_id}", &KEY).unwrap(),
            "access_key.analytics/etl/ci:0123abcd"
        );
        assert_eq!(
            expand("{{\"k\": \"{access_key}\"}}", &KEY).unwrap(),
            "{\"k\": \"ci\"}"
        );
        assert_eq!(expand("plain", &KEY).unwrap(), "plain");
        assert_eq!(expand("", &KEY).unwrap(), "");
    }

    #[test]
    fn unknown_names_and_lone_braces_are_located() {
        assert_eq!(
            check("a/{secret}"),
            Err(PlaceholderError::Unknown {
                name: "secret".into(),
                at: 2
            })
        );
        assert_eq!(
            check("x{project"),
            Err(PlaceholderError::Unbalanced { brace: '{', at: 1 })
        );
        assert_eq!(
            check("x}y"),
            Err(PlaceholderError::Unbalanced { brace: '}', at: 1 })
        );
        assert_eq!(check("{project}{{}}"), Ok(()));
    }
}
