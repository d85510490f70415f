//! Placeholders in a `[secrets] command`'s arguments: `{project}`, `{service_account}`,
//! `{access_key}`, `{address}` and `{access_key_id}` are replaced by the key being delivered,
//! so one command can store each key at its own path of a secret store. A lower-case word in
//! braces that is not one of them (`{projekt}`) is refused as a likely typo; every other brace
//! is literal, so shell (`${HOME}`, `{ print $1 }`) and JSON in arguments pass unchanged. The
//! configuration is checked with [`check`] when it is read, so a misspelt placeholder is a
//! located configuration error, never a surprise during an apply.

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
    /// `{word}` with a lower-case word that is not one of [`NAMES`].
    #[error("unknown placeholder `{{{name}}}`")]
    Unknown {
        /// The word between the braces.
        name: String,
        /// Byte offset of the `{` in the argument.
        at: usize,
    },
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
    let mut rest = argument;
    let mut offset = 0;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let word = after
            .find('}')
            .map(|close| &after[..close])
            .filter(|word| is_placeholder_shaped(word));
        match word {
            Some(name) => {
                let value = values.get(name).ok_or_else(|| PlaceholderError::Unknown {
                    name: name.to_string(),
                    at: offset + open,
                })?;
                out.push_str(value);
                let used = open + name.len() + 2;
                rest = &rest[used..];
                offset += used;
            }
            None => {
                out.push('{');
                rest = after;
                offset += open + 1;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// A lower-case word (letters, digits, `_`, starting with a letter): what a placeholder looks
/// like, misspelt or not.
fn is_placeholder_shaped(word: &str) -> bool {
    word.starts_with(|c: char| c.is_ascii_lowercase())
        && word
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
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
    fn placeholders_are_replaced_and_other_braces_are_literal() {
        assert_eq!(
            expand("kcform/{project}/{service_account}/{access_key}", &KEY).unwrap(),
            "kcform/analytics/etl/ci"
        );
        assert_eq!(
            expand("{address}:{access_key_id}", &KEY).unwrap(),
            "access_key.analytics/etl/ci:0123abcd"
        );
        for literal in [
            "plain",
            "",
            "${HOME}/{ print $1 }",
            "{\"a\": {\"b\": 1}}",
            "}{",
            "{",
            "{Project}",
            "{1x}",
        ] {
            assert_eq!(expand(literal, &KEY).unwrap(), literal);
        }
        assert_eq!(
            expand("{{access_key}}", &KEY).unwrap(),
            "{ci}",
            "the inner braces are the placeholder"
        );
    }

    #[test]
    fn a_misspelt_placeholder_is_located() {
        assert_eq!(
            check("a/{secret}"),
            Err(PlaceholderError::Unknown {
                name: "secret".into(),
                at: 2
            })
        );
        assert_eq!(
            check("${HOME} {projekt}"),
            Err(PlaceholderError::Unknown {
                name: "projekt".into(),
                at: 8
            })
        );
        assert_eq!(check("{project}{access_key_id}"), Ok(()));
    }
}
