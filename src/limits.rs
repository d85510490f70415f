//! Every KakaoCloud limit and naming rule in one place: the documented ones and the ones
//! kcform assumes (marked *assumed*; KakaoCloud does not publish them). `config` validation
//! and the `emulator` both read these, so the local and remote checks can never disagree.

/// Service accounts per project, inactive ones included (documented).
pub const MAX_SERVICE_ACCOUNTS_PER_PROJECT: usize = 100;
/// Access keys per service account (documented).
pub const MAX_ACCESS_KEYS_PER_SERVICE_ACCOUNT: usize = 2;
/// Service-account name length (documented).
pub const SERVICE_ACCOUNT_NAME_MAX: usize = 30;
/// Access-key description length (documented).
pub const ACCESS_KEY_DESCRIPTION_MAX: usize = 30;
/// Access-key name length (*assumed*).
pub const ACCESS_KEY_NAME_MAX: usize = 30;
/// Key names are unique per service account, so a create-before-destroy replacement gives the
/// new key this suffix (and the next replacement drops it again). Declared key names may not
/// contain `--` and are shorter by the suffix's length (*kcform's rule*).
pub const KEY_GENERATION_SUFFIX: &str = "--2";
/// The longest declared access-key name: the API limit less the generation suffix.
pub const DECLARED_ACCESS_KEY_NAME_MAX: usize = ACCESS_KEY_NAME_MAX - KEY_GENERATION_SUFFIX.len();

/// The declared key name a remote key name stands for.
pub fn declared_key_name(remote_name: &str) -> &str {
    remote_name
        .strip_suffix(KEY_GENERATION_SUFFIX)
        .unwrap_or(remote_name)
}

/// The remote name a create-before-destroy replacement of `remote_name` gets.
pub fn next_key_generation(remote_name: &str) -> String {
    match remote_name.strip_suffix(KEY_GENERATION_SUFFIX) {
        Some(plain) => plain.to_string(),
        None => format!("{remote_name}{KEY_GENERATION_SUFFIX}"),
    }
}

/// Checks a declared access-key name: the API rule plus room for the generation suffix.
pub fn check_declared_key_name(name: &str) -> Result<(), String> {
    // The declared bound first: a name over the API's own limit must not be told that limit,
    // which is not the one that applies to it.
    let len = name.chars().count();
    if len > DECLARED_ACCESS_KEY_NAME_MAX {
        return Err(format!(
            "access key name `{name}` is {len} characters long; declared key names may have at most {DECLARED_ACCESS_KEY_NAME_MAX} so that a replacement key fits the API's limit of {ACCESS_KEY_NAME_MAX}"
        ));
    }
    check_name(NameKind::AccessKey, name)?;
    if name.contains("--") {
        return Err(format!(
            "access key name `{name}` must not contain `--` (kcform reserves it for key generations)"
        ));
    }
    Ok(())
}

/// Project name length bounds (*assumed*).
pub const PROJECT_NAME_MIN: usize = 3;
/// Project name length upper bound (*assumed*).
pub const PROJECT_NAME_MAX: usize = 30;
/// Project nickname length bounds (*assumed*).
pub const PROJECT_NICKNAME_MAX: usize = 50;
/// Project description length (*assumed*).
pub const PROJECT_DESCRIPTION_MAX: usize = 200;
/// Page size of a list route when `limit` is not given (kcform's API, docs/api.md).
pub const PAGE_LIMIT_DEFAULT: usize = 100;
/// Largest `limit` a list route accepts; the client always asks for this many.
pub const PAGE_LIMIT_MAX: usize = 1000;
/// Keystone token lifetime (documented: 12 h).
pub const TOKEN_LIFETIME_SECS: i64 = 12 * 60 * 60;
/// The largest request body the emulator reads, in bytes: Keystone's default
/// `max_request_body_size` (112 KiB), which answers `413` beyond it (*assumed* for KakaoCloud).
pub const REQUEST_BODY_MAX: usize = 114_688;
/// Default number of operations kcform runs at once.
pub const DEFAULT_PARALLELISM: usize = 10;
/// The most operations kcform runs at once (`provider.parallelism`, `--parallelism`).
pub const MAX_PARALLELISM: usize = 256;
/// Mass-deletion safety rail: a plan deleting more than this share of a project's existing
/// service accounts or keys is refused without `--force` …
pub const MASS_DELETE_RATIO: f64 = 0.30;
/// … when the project has at least this many of them.
pub const MASS_DELETE_MIN_OBJECTS: usize = 10;

/// Which kind of name a rule is about; used in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// A project's immutable `name`.
    Project,
    /// A service account's name.
    ServiceAccount,
    /// An access key's name.
    AccessKey,
}

impl NameKind {
    /// Human noun for messages.
    pub fn noun(self) -> &'static str {
        match self {
            NameKind::Project => "project name",
            NameKind::ServiceAccount => "service account name",
            NameKind::AccessKey => "access key name",
        }
    }

    fn bounds(self) -> (usize, usize) {
        match self {
            NameKind::Project => (PROJECT_NAME_MIN, PROJECT_NAME_MAX),
            NameKind::ServiceAccount => (1, SERVICE_ACCOUNT_NAME_MAX),
            NameKind::AccessKey => (1, ACCESS_KEY_NAME_MAX),
        }
    }
}

/// Checks a name against its rule: length bounds, `a-z 0-9 -`, starts with a letter, does not
/// end with `-`. Returns the reason it is invalid.
pub fn check_name(kind: NameKind, name: &str) -> Result<(), String> {
    let (min, max) = kind.bounds();
    let len = name.chars().count();
    if len < min || len > max {
        return Err(format!(
            "{} `{name}` is {} long; it must be {min} to {max} characters",
            kind.noun(),
            characters(len)
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "{} `{name}` contains `{bad}`; only lowercase letters a-z, digits 0-9 and `-` are allowed",
            kind.noun()
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(format!(
            "{} `{name}` must start with a letter a-z",
            kind.noun()
        ));
    }
    if name.ends_with('-') {
        return Err(format!("{} `{name}` must not end with `-`", kind.noun()));
    }
    Ok(())
}

/// Checks a free-text field's length in characters.
pub fn check_length(field: &str, value: &str, min: usize, max: usize) -> Result<(), String> {
    let len = value.chars().count();
    if len < min || len > max {
        if min == 0 {
            return Err(format!(
                "{field} is {} long; at most {max} are allowed",
                characters(len)
            ));
        }
        return Err(format!(
            "{field} is {} long; it must be {min} to {max} characters",
            characters(len)
        ));
    }
    Ok(())
}

fn characters(count: usize) -> String {
    if count == 1 {
        "1 character".to_string()
    } else {
        format!("{count} characters")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_charset_and_length_rules() {
        assert!(check_name(NameKind::Project, "analytics").is_ok());
        assert!(check_name(NameKind::Project, "ab").is_err());
        assert!(check_name(NameKind::ServiceAccount, "a").is_ok());
        assert!(check_name(NameKind::ServiceAccount, &"a".repeat(31)).is_err());
        assert!(check_name(NameKind::ServiceAccount, "Etl").is_err());
        assert!(check_name(NameKind::ServiceAccount, "1etl").is_err());
        assert!(check_name(NameKind::ServiceAccount, "etl-").is_err());
        assert!(check_name(NameKind::AccessKey, "ci_key").is_err());
    }

    #[test]
    fn key_generations_alternate_and_map_back_to_the_declared_name() {
        assert_eq!(next_key_generation("ci"), "ci--2");
        assert_eq!(next_key_generation("ci--2"), "ci");
        assert_eq!(declared_key_name("ci--2"), "ci");
        assert_eq!(declared_key_name("ci"), "ci");
        assert!(check_declared_key_name("ci--x").is_err());
        assert!(check_declared_key_name(&"k".repeat(27)).is_ok());
        // Over the API's own limit too: the limit named is still the declared one.
        let message = check_declared_key_name(&"k".repeat(44)).unwrap_err();
        assert!(message.contains("at most 27"), "{message}");
        assert!(check_declared_key_name(&"k".repeat(28)).is_err());
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        assert!(check_length("description", &"한".repeat(30), 0, 30).is_ok());
        assert!(check_length("description", &"한".repeat(31), 0, 30).is_err());
    }
}
