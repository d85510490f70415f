//! The desired state: the typed model that `config` produces from TOML and that `plan` diffs
//! against the live state. Pure data, ordered deterministically (BTreeMap by name).

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where a declaration stands in the configuration, for messages.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    /// The file the declaration is in.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// The whole configuration after merging every file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Desired {
    /// `[provider]`.
    pub provider: Provider,
    /// `[secrets]`.
    pub secrets: SecretsSink,
    /// `[lock]`.
    pub lock: LockBackend,
    /// Declared projects by name.
    pub projects: BTreeMap<String, ProjectSpec>,
    /// The directory the configuration was read from; relative paths resolve against it.
    pub config_dir: PathBuf,
    /// Every file that was read, in read order.
    pub files: Vec<PathBuf>,
    /// `sha256:<hex>` over every file's name and text, in read order: what a saved plan was
    /// made from.
    pub digest: String,
}

/// Where the IAM API is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// The built-in emulator, started in-process.
    Emulator,
    /// A real (or standalone emulator) base URL, e.g. `https://iam.kakaocloud.com`.
    Url(String),
}

/// Default production endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://iam.kakaocloud.com";

/// `[provider]` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    /// The API endpoint.
    pub endpoint: Endpoint,
    /// Operations run at once.
    pub parallelism: usize,
}

impl Default for Provider {
    fn default() -> Self {
        Provider {
            endpoint: Endpoint::Url(DEFAULT_ENDPOINT.to_string()),
            parallelism: crate::limits::DEFAULT_PARALLELISM,
        }
    }
}

/// `[secrets]`: where new access-key secrets are delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretsSink {
    /// A directory (relative paths are relative to the configuration directory).
    Dir(PathBuf),
    /// A command run once per new key with the secret JSON on stdin.
    Command(Vec<String>),
}

impl Default for SecretsSink {
    fn default() -> Self {
        SecretsSink::Dir(PathBuf::from(".kcform/secrets"))
    }
}

/// `[lock]` backend.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LockBackend {
    /// A lock file under `.kcform/`.
    #[default]
    Local,
    /// `s3://bucket/prefix`.
    S3 {
        /// Bucket name.
        bucket: String,
        /// Key prefix (may be empty).
        prefix: String,
    },
}

/// `[project.<name>]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectSpec {
    /// The immutable project name (the table key).
    pub name: String,
    /// Display name.
    pub nickname: String,
    /// Optional description; `None` means "empty".
    pub description: Option<String>,
    /// Glob patterns of service-account names kcform leaves alone.
    pub ignore: Vec<String>,
    /// Declared service accounts by name.
    pub service_accounts: BTreeMap<String, ServiceAccountSpec>,
    /// Where `[project.<name>]` is declared.
    pub origin: Origin,
}

impl ProjectSpec {
    /// True when the project's `ignore` globs match a service-account name: kcform leaves that
    /// account (and its keys) alone.
    pub fn ignores(&self, service_account: &str) -> bool {
        self.ignore.iter().any(|pattern| {
            glob::Pattern::new(pattern).is_ok_and(|pattern| pattern.matches(service_account))
        })
    }
}

/// Service-account status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Status {
    /// Active (default).
    #[default]
    Active,
    /// Inactive: its keys and tokens are expired.
    Inactive,
}

impl Status {
    /// The API/config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Inactive => "inactive",
        }
    }
}

/// `[project.<p>.service_account.<name>]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceAccountSpec {
    /// Service-account name.
    pub name: String,
    /// Desired status.
    pub status: Status,
    /// Refuse to delete or deactivate it.
    pub protect: bool,
    /// Declared keys by name.
    pub access_keys: BTreeMap<String, AccessKeySpec>,
    /// Where it is declared.
    pub origin: Origin,
}

/// `[project.<p>.service_account.<s>.access_key.<name>]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessKeySpec {
    /// Access-key name.
    pub name: String,
    /// Optional description; `None` means "empty".
    pub description: Option<String>,
    /// Keeper: changing it replaces the key.
    pub rotation: Option<String>,
    /// Maximum age; an older key is replaced.
    pub max_age: Option<MaxAge>,
    /// Where it is declared.
    pub origin: Origin,
}

/// A key's maximum age, as written (`90d`) and in seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaxAge {
    /// As written in the configuration, e.g. `90d`.
    pub text: String,
    /// The same in seconds.
    pub seconds: i64,
}
