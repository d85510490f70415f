//! Tests of the whole configuration pipeline, through `load_sources` (pure) and `load` (files).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::rules::MAX_PARALLELISM;
use super::*;
use crate::limits::{
    ACCESS_KEY_DESCRIPTION_MAX, MAX_ACCESS_KEYS_PER_SERVICE_ACCOUNT,
    MAX_SERVICE_ACCOUNTS_PER_PROJECT, PROJECT_DESCRIPTION_MAX, PROJECT_NICKNAME_MAX,
};
use crate::model::{
    AccessKeySpec, Endpoint, LockBackend, MaxAge, Origin, ProjectSpec, Provider, SecretsSink,
    ServiceAccountSpec, Status,
};

fn load_files(files: &[(&str, &str)]) -> Result<Desired, ConfigError> {
    load_sources(
        files
            .iter()
            .map(|(path, text)| (PathBuf::from(path), text.to_string()))
            .collect(),
        Path::new("infra"),
    )
}

fn load_one(text: &str) -> Result<Desired, ConfigError> {
    load_files(&[("kc.toml", text)])
}

fn errors_of(files: &[(&str, &str)]) -> Vec<Diagnostic> {
    match load_files(files) {
        Ok(desired) => panic!("expected errors, got {desired:#?}"),
        Err(e) => {
            assert_eq!(e.diagnostics.len(), count_in_summary(&e.rendered));
            e.diagnostics
        }
    }
}

fn errors(text: &str) -> Vec<Diagnostic> {
    errors_of(&[("kc.toml", text)])
}

fn count_in_summary(rendered: &str) -> usize {
    let last = rendered.lines().last().unwrap_or_default();
    last.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no summary line in {rendered}"))
}

/// The only diagnostic whose message contains `needle`.
fn find<'a>(diagnostics: &'a [Diagnostic], needle: &str) -> &'a Diagnostic {
    let found: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.message.contains(needle))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one diagnostic containing {needle:?} in {:#?}",
        diagnostics
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
    );
    found[0]
}

fn place(d: &Diagnostic) -> (String, usize, usize) {
    (d.file.display().to_string(), d.line, d.column)
}

fn related_place(d: &Diagnostic) -> (String, usize, usize) {
    let r = d.related.first().expect("a related location");
    (r.file.display().to_string(), r.line, r.column)
}

fn origin(file: &str, line: usize, column: usize) -> Origin {
    Origin {
        file: file.into(),
        line,
        column,
    }
}

const SPEC_EXAMPLE: &str = r#"[provider]                       # optional, at most once
endpoint = "emulator"            # "emulator" = built-in emulator; else a URL; default "https://iam.kakaocloud.com"
parallelism = 10                 # optional, default 10

[secrets]                        # optional: where new access-key secrets are delivered
dir = ".kcform/secrets"          # default, relative to the config directory
# command = ["vault", "kv", "put", "-"]   # alternative: run once per new key, secret JSON on stdin

[lock]                           # optional
backend = "local"                # default; or "s3://bucket/prefix" (S3-compatible object storage)

[project.analytics]
nickname = "Analytics"
description = "Data platform"    # optional
ignore = ["legacy-*"]            # optional: glob patterns of service-account names kcform leaves alone

[project.analytics.service_account.etl-runner]
status = "active"                # "active" (default) or "inactive"
protect = true                   # optional: refuse to delete or deactivate it

[project.analytics.service_account.etl-runner.access_key.ci]
description = "GitHub Actions"   # optional, up to 30 characters
rotation = "2026-11"             # optional keeper: changing the value replaces the key
max_age = "90d"                  # optional: a key older than this is replaced on the next apply
"#;

#[test]
fn the_spec_example_parses_into_the_exact_model() {
    let desired = load_files(&[("infra/kc.toml", SPEC_EXAMPLE)]).unwrap();
    let key = AccessKeySpec {
        name: "ci".into(),
        description: Some("GitHub Actions".into()),
        rotation: Some("2026-11".into()),
        max_age: Some(MaxAge {
            text: "90d".into(),
            seconds: 90 * 24 * 60 * 60,
        }),
        origin: origin("infra/kc.toml", 21, 1),
    };
    let sa = ServiceAccountSpec {
        name: "etl-runner".into(),
        status: Status::Active,
        protect: true,
        access_keys: BTreeMap::from([("ci".to_string(), key)]),
        origin: origin("infra/kc.toml", 17, 1),
    };
    let project = ProjectSpec {
        name: "analytics".into(),
        nickname: "Analytics".into(),
        description: Some("Data platform".into()),
        ignore: vec!["legacy-*".into()],
        service_accounts: BTreeMap::from([("etl-runner".to_string(), sa)]),
        origin: origin("infra/kc.toml", 12, 1),
    };
    let expected = Desired {
        provider: Provider {
            endpoint: Endpoint::Emulator,
            parallelism: 10,
        },
        secrets: SecretsSink::Dir(".kcform/secrets".into()),
        lock: LockBackend::Local,
        projects: BTreeMap::from([("analytics".to_string(), project)]),
        config_dir: "infra".into(),
        files: vec!["infra/kc.toml".into()],
        digest: desired.digest.clone(),
    };
    assert_eq!(desired, expected);
    assert!(desired.digest.starts_with("sha256:") && desired.digest.len() == 71);
}

#[test]
fn the_digest_follows_the_text_and_file_names_but_not_their_directory() {
    let text = "[project.web]\nnickname = \"Web\"\n";
    let digest = |path: &str, text: &str| {
        load_sources(vec![(path.into(), text.to_string())], Path::new("."))
            .unwrap()
            .digest
    };
    assert_eq!(digest("a/kc.toml", text), digest("b/kc.toml", text));
    assert_ne!(digest("a/kc.toml", text), digest("a/other.toml", text));
    assert_ne!(
        digest("a/kc.toml", text),
        digest("a/kc.toml", &text.replace("Web", "Web2"))
    );
}

#[test]
fn omitted_sections_take_the_defaults() {
    let desired = load_one("[project.web]\nnickname = \"Web\"\n").unwrap();
    assert_eq!(desired.provider, Provider::default());
    assert_eq!(
        desired.provider.endpoint,
        Endpoint::Url("https://iam.kakaocloud.com".into())
    );
    assert_eq!(desired.secrets, SecretsSink::Dir(".kcform/secrets".into()));
    assert_eq!(desired.lock, LockBackend::Local);
    let web = &desired.projects["web"];
    assert_eq!(web.description, None);
    assert!(web.ignore.is_empty() && web.service_accounts.is_empty());
}

#[test]
fn provider_values_are_checked_where_they_are_written() {
    let ds = errors(
        "[provider]\nendpoint = \"http://iam.kakaocloud.com\"\nparallelism = 0\n\n[project.web]\nnickname = \"Web\"\n",
    );
    assert_eq!(ds.len(), 2);
    let endpoint = find(&ds, "not a loopback address");
    assert_eq!(place(endpoint), ("kc.toml".into(), 2, 12));
    assert_eq!(endpoint.width, "\"http://iam.kakaocloud.com\"".len());
    let parallelism = find(&ds, "parallelism");
    assert_eq!(place(parallelism), ("kc.toml".into(), 3, 15));
    assert!(
        parallelism
            .message
            .contains(&format!("from 1 to {MAX_PARALLELISM}")),
        "{parallelism}"
    );

    let over = format!("[provider]\nparallelism = {}\n", MAX_PARALLELISM + 1);
    assert!(errors(&over)[0].message.contains("must be from 1 to"));
    let float = errors("[provider]\nparallelism = 10.5\n");
    assert_eq!(
        float[0].message,
        "`provider.parallelism` must be an integer, found a float"
    );
    let text = format!(
        "[provider]\nendpoint = \"http://127.0.0.1:8080/\"\nparallelism = {MAX_PARALLELISM}\n"
    );
    let desired = load_one(&text).unwrap();
    assert_eq!(
        desired.provider,
        Provider {
            endpoint: Endpoint::Url("http://127.0.0.1:8080".into()),
            parallelism: MAX_PARALLELISM
        }
    );
    assert!(
        errors("[provider]\nendpoint = \"ftp://x\"\n")[0]
            .message
            .contains("scheme `ftp`")
    );
}

#[test]
fn secrets_take_a_dir_or_a_command_but_not_both() {
    let both = errors("[secrets]\ndir = \"s\"\ncommand = [\"vault\", \"kv\", \"put\", \"-\"]\n");
    let d = find(&both, "both `dir` and `command`");
    assert_eq!((d.line, d.column), (3, 1));
    assert_eq!((d.related[0].line, d.related[0].column), (2, 1));

    let desired = load_one("[secrets]\ncommand = [\"vault\", \"kv\", \"put\", \"-\"]\n").unwrap();
    assert_eq!(
        desired.secrets,
        SecretsSink::Command(vec!["vault".into(), "kv".into(), "put".into(), "-".into()])
    );
    assert!(find(&errors("[secrets]\ncommand = []\n"), "is empty").line == 2);
    let mixed = errors("[secrets]\ncommand = [\"vault\", 3]\n");
    assert_eq!(place(&mixed[0]), ("kc.toml".into(), 2, 21));
    assert!(
        mixed[0]
            .message
            .contains("must be a string, found an integer")
    );
    assert!(!errors("[secrets]\ndir = \"\"\n").is_empty());
}

#[test]
fn lock_backends_are_local_or_s3_with_a_bucket() {
    let desired = load_one("[lock]\nbackend = \"s3://tfstate/kcform/prod\"\n").unwrap();
    assert_eq!(
        desired.lock,
        LockBackend::S3 {
            bucket: "tfstate".into(),
            prefix: "kcform/prod".into()
        }
    );
    let d = &errors("[lock]\nbackend = \"s3:///prefix\"\n")[0];
    assert!(d.message.contains("no bucket"), "{d}");
    assert_eq!((d.line, d.column), (2, 11));
    assert!(!errors("[lock]\nbackend = \"remote\"\n").is_empty());
}

#[test]
fn project_fields_are_checked() {
    let long_nickname = "n".repeat(PROJECT_NICKNAME_MAX + 1);
    let long_description = "d".repeat(PROJECT_DESCRIPTION_MAX + 1);
    let text = format!(
        "[project.web]\nnickname = \"{long_nickname}\"\ndescription = \"{long_description}\"\nignore = [\"ok-*\", \"[bad\"]\n\n[project.api]\ndescription = \"API\"\n"
    );
    let ds = errors(&text);
    assert_eq!(ds.len(), 4, "{ds:#?}");
    assert_eq!((find(&ds, "`nickname` of project `web`").line), 2);
    assert_eq!(find(&ds, "`description` of project `web`").line, 3);
    let glob = find(&ds, "invalid glob pattern `[bad`");
    assert_eq!((glob.line, glob.column), (4, 19));
    let missing = find(&ds, "project `api` has no `nickname`");
    assert_eq!((missing.line, missing.column), (6, 1));

    // The bounds themselves are accepted.
    let text = format!(
        "[project.web]\nnickname = \"{}\"\ndescription = \"{}\"\n",
        "n".repeat(PROJECT_NICKNAME_MAX),
        "d".repeat(PROJECT_DESCRIPTION_MAX)
    );
    load_one(&text).unwrap();
    assert!(!errors("[project.web]\nnickname = \"\"\n").is_empty());
    let desired = load_one("[project.web]\nnickname = \"W\"\ndescription = \"\"\n").unwrap();
    assert_eq!(desired.projects["web"].description, None);
}

#[test]
fn names_are_checked_at_the_table_key() {
    let ds = errors(
        "[project.Web]\nnickname = \"Web\"\n\n[project.Web.service_account.etl_runner]\n\n[project.Web.service_account.ok.access_key.-ci]\n",
    );
    assert_eq!(ds.len(), 3, "{ds:#?}");
    let project = find(&ds, "project name `Web`");
    assert_eq!((project.line, project.column, project.width), (1, 10, 3));
    let sa = find(&ds, "service account name `etl_runner`");
    assert_eq!((sa.line, sa.column), (4, 30));
    let key = find(&ds, "access key name `-ci`");
    assert_eq!((key.line, key.column), (6, 44));
    assert!(
        errors("[project.ab]\nnickname = \"x\"\n")[0]
            .message
            .contains("3 to 30")
    );
}

#[test]
fn declared_key_names_leave_room_for_a_replacement_generation() {
    let long = "k".repeat(28);
    let ds = errors(&format!(
        "[project.web]\nnickname = \"Web\"\n\n[project.web.service_account.ok.access_key.ci--2]\n\n[project.web.service_account.ok.access_key.{long}]\n"
    ));
    assert_eq!(ds.len(), 2, "{ds:#?}");
    let dashes = find(&ds, "must not contain `--`");
    assert_eq!((dashes.line, dashes.column), (4, 44));
    let too_long = find(&ds, "at most 27");
    assert_eq!(too_long.line, 6);
    assert!(
        load_one(&format!(
            "[project.web]\nnickname = \"Web\"\n\n[project.web.service_account.ok.access_key.{}]\n",
            "k".repeat(27)
        ))
        .is_ok()
    );
}

#[test]
fn types_are_checked_at_the_value() {
    let ds = errors(
        "[project.web]\nnickname = 42\n\n[project.web.service_account.etl]\nprotect = \"yes\"\nstatus = \"paused\"\n\n[project.web.service_account.etl.access_key.ci]\nrotation = \"\"\nmax_age = \"6m\"\ndescription = 1979-05-27\n",
    );
    assert_eq!(ds.len(), 6, "{ds:#?}");
    let nickname = find(
        &ds,
        "`nickname` of project `web` must be a string, found an integer",
    );
    assert_eq!((nickname.line, nickname.column), (2, 12));
    let protect = find(&ds, "must be a boolean");
    assert_eq!((protect.line, protect.column), (5, 11));
    let status = find(&ds, "it must be `active` or `inactive`");
    assert_eq!((status.line, status.column), (6, 10));
    assert_eq!(find(&ds, "`rotation`").line, 9);
    let max_age = find(&ds, "max_age");
    assert_eq!((max_age.line, max_age.column), (10, 11));
    assert!(max_age.help.as_deref().unwrap().contains("180d"));
    // The date-time description is reported too, and a wrong nickname is not also "missing".
    assert!(find(&ds, "found a date-time").line == 11);
}

#[test]
fn key_descriptions_are_limited() {
    let text = format!(
        "[project.web]\nnickname = \"W\"\n[project.web.service_account.etl.access_key.ci]\ndescription = \"{}\"\n",
        "한".repeat(ACCESS_KEY_DESCRIPTION_MAX + 1)
    );
    let d = &errors(&text)[0];
    assert!(
        d.message
            .contains(&format!("{} characters", ACCESS_KEY_DESCRIPTION_MAX + 1)),
        "{d}"
    );
    assert_eq!((d.line, d.column), (4, 15));
    let text = format!(
        "[project.web]\nnickname = \"W\"\n[project.web.service_account.etl.access_key.ci]\ndescription = \"{}\"\n",
        "한".repeat(ACCESS_KEY_DESCRIPTION_MAX)
    );
    load_one(&text).unwrap();
}

#[test]
fn unknown_keys_suggest_the_closest_valid_key() {
    let files = [(
        "infra/projects.toml",
        "[project.analytics]\n# the data team\nnicknme = \"Analytics\"\n",
    )];
    let err = load_files(&files).unwrap_err();
    let d = find(&err.diagnostics, "unknown key `nicknme`");
    assert_eq!(d.message, "unknown key `nicknme` in `project.analytics`");
    assert_eq!(place(d), ("infra/projects.toml".into(), 3, 1));
    assert_eq!(d.label, "did you mean `nickname`?");
    assert!(err.rendered.contains(
        "error: unknown key `nicknme` in `project.analytics`\n --> infra/projects.toml:3:1\n  |\n3 | nicknme = \"Analytics\"\n  | ^^^^^^^ did you mean `nickname`?\n"
    ), "{}", err.rendered);
    // The project is also missing its nickname: both are reported.
    assert_eq!(err.diagnostics.len(), 2);

    let ds = errors(
        "projects = 1\n[provider]\nendpiont = \"emulator\"\n[project.web]\nnickname = \"W\"\nname = \"web\"\n[project.web.service_account.etl]\nstatuss = \"active\"\n[project.web.service_account.etl.access_key.ci]\nmaxage = \"1d\"\n",
    );
    assert_eq!(find(&ds, "`projects`").label, "did you mean `project`?");
    assert_eq!(find(&ds, "`endpiont`").label, "did you mean `endpoint`?");
    assert!(
        find(&ds, "`name`")
            .help
            .as_deref()
            .unwrap()
            .contains("table keys")
    );
    assert_eq!(find(&ds, "`statuss`").label, "did you mean `status`?");
    let max_age = find(&ds, "`maxage`");
    assert_eq!(max_age.label, "did you mean `max_age`?");
    assert_eq!((max_age.line, max_age.column), (10, 1));
    let top = errors("nickname = \"W\"\n");
    let misplaced = find(&top, "`nickname`");
    assert_eq!(
        misplaced.help.as_deref(),
        Some("`nickname` belongs in a `[project.<name>]` table")
    );
    let unrelated = &errors("[lock]\nowner = \"me\"\n")[0];
    assert_eq!(unrelated.label, "unknown key");
    assert!(unrelated.help.as_deref().unwrap().contains("`backend`"));
}

#[test]
fn counts_are_limited_and_the_first_one_over_is_pointed_at() {
    let mut text = String::from("[project.web]\nnickname = \"W\"\n");
    for i in 0..=MAX_SERVICE_ACCOUNTS_PER_PROJECT {
        // Names out of alphabetical order: "first over" is by position, not by name.
        text.push_str(&format!(
            "[project.web.service_account.sa-{}]\n",
            MAX_SERVICE_ACCOUNTS_PER_PROJECT * 2 - i
        ));
    }
    let ds = errors(&text);
    assert_eq!(ds.len(), 1);
    assert!(ds[0].message.contains(&format!(
        "declares {} service accounts",
        MAX_SERVICE_ACCOUNTS_PER_PROJECT + 1
    )));
    assert_eq!(ds[0].line, 3 + MAX_SERVICE_ACCOUNTS_PER_PROJECT);
    assert_eq!(ds[0].column, 30);

    let mut text = String::from("[project.web]\nnickname = \"W\"\n");
    for i in 0..=MAX_ACCESS_KEYS_PER_SERVICE_ACCOUNT {
        let key = format!("k{}", MAX_ACCESS_KEYS_PER_SERVICE_ACCOUNT - i);
        text.push_str(&format!(
            "[project.web.service_account.etl.access_key.{key}]\n"
        ));
    }
    let d = &errors(&text)[0];
    assert!(
        d.message.contains(&format!(
            "declares {} access keys",
            MAX_ACCESS_KEYS_PER_SERVICE_ACCOUNT + 1
        )),
        "{d}"
    );
    assert_eq!(
        (d.line, d.column),
        (3 + MAX_ACCESS_KEYS_PER_SERVICE_ACCOUNT, 45)
    );
    // Exactly at the limits is fine.
    let mut text = String::from("[project.web]\nnickname = \"W\"\n");
    for i in 0..MAX_SERVICE_ACCOUNTS_PER_PROJECT {
        text.push_str(&format!("[project.web.service_account.sa-{i}]\n"));
    }
    for i in 0..MAX_ACCESS_KEYS_PER_SERVICE_ACCOUNT {
        text.push_str(&format!(
            "[project.web.service_account.sa-0.access_key.k{i}]\n"
        ));
    }
    load_one(&text).unwrap();
}

#[test]
fn inactive_service_accounts_cannot_declare_keys_even_from_another_file() {
    let ds = errors_of(&[
        (
            "a.toml",
            "[project.web]\nnickname = \"W\"\n[project.web.service_account.etl]\nstatus = \"inactive\"\n",
        ),
        (
            "b.toml",
            "[project.web.service_account.etl.access_key.ci]\n",
        ),
    ]);
    assert_eq!(ds.len(), 1);
    let d = &ds[0];
    assert_eq!(place(d), ("b.toml".into(), 1, 45));
    assert_eq!(related_place(d), ("a.toml".into(), 4, 10));
    assert!(
        d.help
            .as_deref()
            .unwrap()
            .contains("expires all its access keys")
    );
    let desired = load_one(
        "[project.web]\nnickname = \"W\"\n[project.web.service_account.etl]\nstatus = \"inactive\"\n",
    )
    .unwrap();
    assert_eq!(
        desired.projects["web"].service_accounts["etl"].status,
        Status::Inactive
    );
}

#[test]
fn duplicates_across_files_name_both_places() {
    let ds = errors_of(&[
        ("a.toml", "[project.web]\nnickname = \"Web\"\n"),
        (
            "b.toml",
            "# more\n[project.web]\nnickname = \"Web 2\"\n\n[project.web.service_account.etl]\n[project.web.service_account.etl.access_key.ci]\n",
        ),
        (
            "c.toml",
            "[project.web.service_account.etl]\nprotect = true\n[project.web.service_account.etl.access_key.ci]\n",
        ),
    ]);
    assert_eq!(ds.len(), 3, "{ds:#?}");
    let project = find(&ds, "project `web` is declared twice");
    assert_eq!(place(project), ("b.toml".into(), 2, 1));
    assert_eq!(related_place(project), ("a.toml".into(), 1, 1));
    let sa = find(&ds, "service account `web/etl` is declared twice");
    assert_eq!(place(sa), ("c.toml".into(), 1, 1));
    assert_eq!(related_place(sa), ("b.toml".into(), 5, 1));
    let key = find(&ds, "access key `web/etl/ci` is declared twice");
    assert_eq!(place(key), ("c.toml".into(), 3, 1));
    assert_eq!(related_place(key), ("b.toml".into(), 6, 1));

    let err = load_files(&[
        ("a.toml", "[provider]\nparallelism = 4\n"),
        ("b.toml", "[provider]\nparallelism = 8\n"),
    ])
    .unwrap_err();
    assert!(err.rendered.contains(" --> b.toml:1:1"), "{}", err.rendered);
    assert!(err.rendered.contains("::: a.toml:1:1"), "{}", err.rendered);
    assert!(err.rendered.contains("first declared here"));

    let ds = errors_of(&[
        ("a.toml", "lock.backend = \"local\"\n[secrets]\n"),
        ("b.toml", "[lock]\n[secrets]\ndir = \"x\"\n"),
    ]);
    assert_eq!(ds.len(), 2);
    let lock = find(&ds, "`[lock]` is declared twice");
    assert_eq!(
        (place(lock), related_place(lock)),
        (("b.toml".into(), 1, 1), ("a.toml".into(), 1, 1))
    );
    let secrets = find(&ds, "`[secrets]` is declared twice");
    assert_eq!(
        (place(secrets), related_place(secrets)),
        (("b.toml".into(), 2, 1), ("a.toml".into(), 2, 1))
    );
}

#[test]
fn a_file_with_syntax_errors_does_not_cause_false_never_declared_errors() {
    // The declaration of `web` may be in the file that cannot be read as TOML.
    let ds = errors_of(&[
        ("a.toml", "[project.web]\nnickname = \"W\n"),
        (
            "b.toml",
            "[project.web.service_account.etl]\nprotect = \"no\"\n",
        ),
    ]);
    let messages: Vec<_> = ds.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(ds.len(), 2, "{messages:?}");
    assert_eq!(place(&ds[0]), ("a.toml".into(), 2, 14));
    assert!(ds[1].message.contains("must be a boolean"));
}

#[test]
fn duplicates_inside_one_file_are_reported_by_toml_and_reworded() {
    let ds = errors(
        "[project.web]\nnickname = \"W\"\nnickname = \"X\"\n\n[project.api]\nnickname = \"A\"\n\n[project.web]\nnickname = \"Y\"\n",
    );
    assert_eq!(ds.len(), 2, "{ds:#?}");
    let key = find(&ds, "key `nickname` is defined twice");
    assert_eq!((key.line, key.column), (3, 1));
    assert_eq!((key.related[0].line, key.related[0].column), (2, 1));
    let table = find(&ds, "table `[project.web]` is defined twice");
    assert_eq!((table.line, table.column, table.width), (8, 1, 13));
    assert_eq!((table.related[0].line, table.related[0].column), (1, 1));
}

#[test]
fn a_project_may_be_split_across_files() {
    let desired = load_files(&[
        (
            "a.toml",
            "[project.web]\nnickname = \"Web\"\n[project.web.service_account.etl]\nprotect = true\n",
        ),
        (
            "b.toml",
            "[project.web.service_account.api]\n\n[project.web.service_account.etl.access_key.ci]\nmax_age = \"2w\"\n",
        ),
    ])
    .unwrap();
    let web = &desired.projects["web"];
    assert_eq!(web.origin, origin("a.toml", 1, 1));
    assert_eq!(web.nickname, "Web");
    let etl = &web.service_accounts["etl"];
    assert!(etl.protect);
    assert_eq!(etl.origin, origin("a.toml", 3, 1));
    assert_eq!(etl.access_keys["ci"].origin, origin("b.toml", 3, 1));
    assert_eq!(
        etl.access_keys["ci"].max_age.as_ref().unwrap().seconds,
        14 * 86_400
    );
    assert_eq!(web.service_accounts["api"].origin, origin("b.toml", 1, 1));
    assert_eq!(
        desired.files,
        [PathBuf::from("a.toml"), PathBuf::from("b.toml")]
    );
}

#[test]
fn a_project_that_is_only_named_is_not_declared() {
    let d = &errors_of(&[("b.toml", "[project.web.service_account.etl]\n")])[0];
    assert_eq!(d.message, "project `web` is used but never declared");
    assert_eq!(place(d), ("b.toml".into(), 1, 10));
}

#[test]
fn all_errors_of_all_files_are_reported_at_once_in_order() {
    let err = load_files(&[
        (
            "a.toml",
            "[project.web]\nnickname = \"W\"\ncolour = \"red\"\n",
        ),
        ("b.toml", "[lock]\nbackend = \"s3://\"\n[provider\n"),
        (
            "c.toml",
            "[project.api]\nnickname = \"A\"\n[project.api.service_account.x]\nprotect = 1\n",
        ),
    ])
    .unwrap_err();
    let places: Vec<_> = err.diagnostics.iter().map(place).collect();
    assert_eq!(
        places,
        [
            ("a.toml".into(), 3, 1),
            ("b.toml".into(), 3, 10),
            ("c.toml".into(), 4, 11),
        ],
        "{}",
        err.rendered
    );
    // b.toml has a syntax error, so its (invalid) lock backend is not checked.
    assert!(err.diagnostics[1].message.starts_with("invalid TOML"));
    assert!(err.rendered.ends_with("3 errors in configuration\n"));
    assert_eq!(err.to_string(), err.rendered);
}

#[test]
fn odd_toml_shapes_work_or_give_located_errors() {
    // Inline tables and dotted keys declare the same model as headers.
    let inline = load_one(
        "project.web.nickname = \"W\"\nproject.web.service_account.etl = { protect = true, access_key = { ci = { max_age = \"12h\" } } }\n",
    )
    .unwrap();
    let web = &inline.projects["web"];
    assert_eq!(web.origin, origin("kc.toml", 1, 9));
    let etl = &web.service_accounts["etl"];
    assert!(etl.protect);
    assert_eq!(etl.origin, origin("kc.toml", 2, 29));
    assert_eq!(etl.access_keys["ci"].origin, origin("kc.toml", 2, 68));
    let whole = load_one("project = { web = { nickname = \"W\" } }\n").unwrap();
    assert_eq!(whole.projects["web"].nickname, "W");

    let aot = &errors("[[project.web]]\nnickname = \"W\"\n")[0];
    assert_eq!((aot.line, aot.column), (1, 1));
    assert!(aot.message.ends_with("not an array of tables"), "{aot}");
    assert!(aot.help.as_deref().unwrap().contains("`[[…]]`"));
    let scalar = &errors("project = \"web\"\n")[0];
    assert_eq!((scalar.line, scalar.column), (1, 11));
    let sa_scalar = &errors("[project.web]\nnickname = \"W\"\nservice_account = [\"etl\"]\n")[0];
    assert_eq!((sa_scalar.line, sa_scalar.column), (3, 19));
    assert!(sa_scalar.message.ends_with("found an array"), "{sa_scalar}");
    assert_eq!(sa_scalar.help, None);
    let inline_tables = &errors("project = [{ web = { nickname = \"W\" } }]\n")[0];
    assert!(
        inline_tables.message.ends_with("found an array"),
        "{inline_tables}"
    );
    let not_table =
        &errors("[project.web]\nnickname = \"W\"\n[project.web.service_account]\netl = true\n")[0];
    assert!(
        not_table
            .message
            .contains("service account `web/etl` must be"),
        "{not_table}"
    );
    let misplaced = &errors("[project.web]\nnickname = \"W\"\n[project.web.access_key.ci]\n")[0];
    assert!(
        misplaced
            .help
            .as_deref()
            .unwrap()
            .contains("belong to a service account")
    );
}

#[test]
fn columns_count_characters_not_bytes() {
    let d = &errors(
        "[project.web]\nnickname = \"분석\"\nx = { a = 1 }\ndescription = { \"한\" = 1 }\n",
    );
    let description = find(d, "`description` of project `web` must be a string");
    assert_eq!((description.line, description.column), (4, 15));
    let inline = &errors("project.web = { nickname = \"분석팀\", nicknam = 1 }\n")[0];
    assert_eq!((inline.line, inline.column), (1, 35));
    assert!(load_one("\u{feff}[project.web]\r\nnickname = \"W\"\r\nbad = 1\r\n").is_err());
    let crlf = &errors("\u{feff}[project.web]\r\nnickname = \"W\"\r\nbad = 1\r\n")[0];
    assert_eq!(
        (crlf.line, crlf.column, crlf.source_line.as_str()),
        (3, 1, "bad = 1")
    );
}

#[test]
fn nothing_panics_on_odd_input() {
    let inputs = [
        "",
        "\n\n",
        "[",
        "[[",
        "]]",
        "=",
        "a.b.c",
        "[project]\n",
        "[project.\"\"]\nnickname = \"x\"\n",
        "[project.web]\nnickname = \"W\"\n[project.web.service_account.\"\"]\n",
        "[project.web.service_account.x.access_key]\n",
        "[project.web.service_account.x.access_key.k.deeper]\n",
        "project.web.service_account.x.access_key.k.max_age = 5\n",
        "[project.web]\nnickname = '''\nmulti\nline'''\nignore = [\n  \"a\",\n  3,\n]\n",
        "[project.web]\nnickname = \"W\"\nignore = [[\"a\"]]\n",
        "[provider]\nparallelism = 0x7fffffffffffffff\n",
        "[provider]\nparallelism = -1\nendpoint = \"http://[::1\"\n",
        "[provider]\nendpoint = \"https://[::1]:x\"\n",
        "[secrets]\ncommand = \"vault\"\n",
        "[secrets]\ncommand = [\"\"]\n",
        "a = 1\n[a]\n",
        "[x]\n[x.y]\n[x]\n",
        "\"\u{1F600}\" = \"\u{1F600}\"\n",
        "nickname = \"top\"\n",
        "[project.web]\nnickname = \"W\"\n\t\tbad\t= 1\n",
        "x = \"\\uD800\"\n",
    ];
    for input in inputs {
        match load_one(input) {
            Ok(_) => {}
            Err(e) => {
                assert!(!e.diagnostics.is_empty(), "{input:?}");
                for d in &e.diagnostics {
                    assert!(d.line >= 1 && d.column >= 1, "{input:?}: {d}");
                }
                assert!(e.rendered.contains("in configuration"));
            }
        }
    }
}

#[test]
fn load_reads_a_directory_in_name_order_and_not_recursively() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("b.toml"), "[project.web.service_account.etl]\n").unwrap();
    std::fs::write(root.join("a.toml"), "[project.web]\nnickname = \"W\"\n").unwrap();
    std::fs::write(root.join("notes.txt"), "not toml").unwrap();
    std::fs::create_dir(root.join("nested")).unwrap();
    std::fs::write(root.join("nested/c.toml"), "this is = not valid").unwrap();

    let desired = load(root).unwrap();
    assert_eq!(desired.files, [root.join("a.toml"), root.join("b.toml")]);
    assert_eq!(desired.config_dir, root);
    assert_eq!(
        desired.projects["web"].service_accounts["etl"].origin,
        Origin {
            file: root.join("b.toml"),
            line: 1,
            column: 1
        }
    );

    // A duplicate across the two files names both of them.
    std::fs::write(root.join("c.toml"), "[project.web]\nnickname = \"again\"\n").unwrap();
    let err = load(root).unwrap_err();
    let d = find(&err.diagnostics, "declared twice");
    assert_eq!(d.file, root.join("c.toml"));
    assert_eq!(d.related[0].file, root.join("a.toml"));
    assert!(
        err.rendered
            .contains(&format!("{}:1:1", root.join("a.toml").display()))
    );

    // A single file: its parent is the configuration directory.
    let desired = load(&root.join("a.toml")).unwrap();
    assert_eq!(desired.files, [root.join("a.toml")]);
    assert_eq!(desired.config_dir, root);
}

#[test]
fn load_reports_missing_paths_and_empty_directories() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let err = load(&missing).unwrap_err();
    assert_eq!(err.diagnostics.len(), 1);
    assert_eq!(err.diagnostics[0].file, missing);
    assert!(
        err.diagnostics[0]
            .message
            .contains("cannot read configuration")
    );
    assert!(err.rendered.contains(&missing.display().to_string()));

    let err = load(dir.path()).unwrap_err();
    assert!(
        err.diagnostics[0].message.contains("no `.toml` files"),
        "{err}"
    );
    assert!(load_sources(Vec::new(), Path::new(".")).is_err());

    std::fs::write(dir.path().join("bin.toml"), [0xff, 0xfe, 0x00]).unwrap();
    let err = load(dir.path()).unwrap_err();
    assert!(
        err.diagnostics[0].message.contains("not valid UTF-8"),
        "{err}"
    );
}

/// Runs `load(path)` on a thread and fails if it has not returned within a few seconds (opening
/// a FIFO for reading blocks until a writer comes).
#[cfg(unix)]
fn load_within_seconds(path: &Path) -> Result<Desired, ConfigError> {
    let (done, result) = std::sync::mpsc::channel();
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let _ = done.send(load(&path));
    });
    result
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("load returns instead of blocking on the file")
}

#[cfg(unix)]
fn make_fifo(path: &Path) {
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a file system entry.
    let rc = unsafe { libc::mkfifo(c_path.as_ptr(), 0o644) };
    assert_eq!(rc, 0, "mkfifo {}", path.display());
}

#[cfg(unix)]
#[test]
fn a_dangling_toml_symlink_is_an_error_naming_it_not_a_skipped_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("a.toml"),
        "[project.web]\nnickname = \"W\"\n[project.web.service_account.etl]\n",
    )
    .unwrap();
    std::fs::write(root.join("b.toml"), "[project.web.service_account.api]\n").unwrap();
    let desired = load(root).unwrap();
    assert_eq!(desired.projects["web"].service_accounts.len(), 2);

    // b.toml now points at a file that is gone: before, its account silently vanished from
    // the configuration (and was planned for deletion).
    let link = root.join("b.toml");
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink("shared/accounts.toml", &link).unwrap();
    let err = load(root).unwrap_err();
    assert_eq!(err.diagnostics.len(), 1, "{}", err.rendered);
    let d = &err.diagnostics[0];
    assert_eq!(d.file, link);
    assert_eq!((d.line, d.column), (0, 0));
    assert_eq!(
        d.message,
        format!(
            "`{}` is a symbolic link to `shared/accounts.toml`, which does not exist",
            link.display()
        )
    );
    assert!(
        d.help
            .as_deref()
            .unwrap()
            .contains("restore the link's target")
    );
    assert!(err.rendered.contains(&link.display().to_string()));
    assert!(err.rendered.ends_with("1 error in configuration\n"));

    // Given as PATH itself, the same message.
    let err = load(&link).unwrap_err();
    assert_eq!(err.diagnostics.len(), 1, "{}", err.rendered);
    assert!(
        err.diagnostics[0]
            .message
            .ends_with("is a symbolic link to `shared/accounts.toml`, which does not exist"),
        "{}",
        err.rendered
    );

    // A link to an existing file still counts as that file.
    std::fs::create_dir(root.join("shared")).unwrap();
    std::fs::write(
        root.join("shared/accounts.toml"),
        "[project.web.service_account.api]\n",
    )
    .unwrap();
    let desired = load(root).unwrap();
    assert_eq!(desired.projects["web"].service_accounts.len(), 2);
}

#[cfg(unix)]
#[test]
fn toml_entries_that_are_not_readable_files_are_errors_reported_together() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("a.toml"),
        "[project.web]\nnickname = \"W\"\nbad = 1\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("gone.toml", root.join("b-link.toml")).unwrap();
    std::fs::create_dir(root.join("c-dir.toml")).unwrap();
    make_fifo(&root.join("d-pipe.toml"));
    std::os::unix::fs::symlink("d-pipe.toml", root.join("e-to-pipe.toml")).unwrap();
    std::os::unix::fs::symlink("f-loop.toml", root.join("f-loop.toml")).unwrap();

    let err = load_within_seconds(root).unwrap_err();
    let got: Vec<String> = err.diagnostics.iter().map(ToString::to_string).collect();
    let at = |name: &str| root.join(name).display().to_string();
    assert_eq!(
        got,
        [
            format!(
                "{}: `{}` is a symbolic link to `gone.toml`, which does not exist",
                at("b-link.toml"),
                at("b-link.toml")
            ),
            format!(
                "{}: `{}` is a directory, not a configuration file",
                at("c-dir.toml"),
                at("c-dir.toml")
            ),
            format!(
                "{}: `{}` is a FIFO (named pipe), not a regular file",
                at("d-pipe.toml"),
                at("d-pipe.toml")
            ),
            format!(
                "{}: `{}` is a FIFO (named pipe), not a regular file",
                at("e-to-pipe.toml"),
                at("e-to-pipe.toml")
            ),
            format!(
                "{}: cannot read `{}`: {}",
                at("f-loop.toml"),
                at("f-loop.toml"),
                std::fs::metadata(root.join("f-loop.toml")).unwrap_err()
            ),
            // The readable file is still checked: every error at once.
            format!("{}:3:1: unknown key `bad` in `project.web`", at("a.toml")),
        ],
        "{}",
        err.rendered
    );
    let d = find(&err.diagnostics, "is a directory");
    assert!(
        d.help
            .as_deref()
            .unwrap()
            .contains("does not descend into directories"),
        "{d:?}"
    );
    assert!(err.rendered.ends_with("6 errors in configuration\n"));

    // A FIFO given as PATH is refused, not opened (opening it would block).
    let err = load_within_seconds(&root.join("d-pipe.toml")).unwrap_err();
    assert_eq!(err.diagnostics.len(), 1, "{}", err.rendered);
    assert!(
        err.diagnostics[0]
            .message
            .contains("is a FIFO (named pipe), not a regular file"),
        "{}",
        err.rendered
    );
}

#[cfg(unix)]
#[test]
fn an_unreadable_toml_file_is_an_error_naming_it() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.toml");
    std::fs::write(&file, "[project.web]\nnickname = \"W\"\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&file).is_ok() {
        // Root (as in CI containers) reads whatever the mode says; the FIFO and directory
        // cases above cover unreadable entries there.
        // Straight to the process's stderr, so the skip shows in plain `cargo test` output.
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"note: skipped: running as a user that can read a file with mode 000 (root)\n",
        );
        return;
    }
    let err = load(dir.path()).unwrap_err();
    assert_eq!(err.diagnostics.len(), 1, "{}", err.rendered);
    assert_eq!(err.diagnostics[0].file, file);
    assert!(
        err.diagnostics[0]
            .message
            .starts_with(&format!("cannot read `{}`: ", file.display())),
        "{}",
        err.rendered
    );
}

#[test]
fn rendering_can_be_styled_on_request_only() {
    let err = load_one("[project.web]\nnickname = \"W\"\nbad = 1\n").unwrap_err();
    assert!(!err.rendered.contains('\x1b'));
    assert!(err.render(true).contains('\x1b'));
    assert!(err.rendered.ends_with("1 error in configuration\n"));
}

#[test]
fn the_projects_named_are_announced_once_every_file_parses() {
    let files = |texts: &[(&str, &str)]| -> Vec<(PathBuf, String)> {
        texts
            .iter()
            .map(|(path, text)| (PathBuf::from(path), text.to_string()))
            .collect()
    };
    let mut heard = None;
    let desired = check(
        files(&[
            ("a.toml", "[project.web]\nnickname = \"Web\"\n"),
            (
                "b.toml",
                "[project.web.service_account.api]\n[project.data]\nnickname = \"D\"\n",
            ),
        ]),
        Path::new("infra"),
        Vec::new(),
        |names| heard = Some(names),
    )
    .unwrap();
    let names: std::collections::BTreeSet<String> = desired.projects.keys().cloned().collect();
    assert_eq!(heard, Some(names));

    // Announced before the merge: a configuration that parses but is invalid still announces.
    let mut heard = None;
    let invalid = check(
        files(&[("a.toml", "[project.web.service_account.api]\n")]),
        Path::new("infra"),
        Vec::new(),
        |names| heard = Some(names),
    );
    assert!(invalid.is_err());
    assert_eq!(heard, Some(["web".to_string()].into()));

    // A file that does not parse announces nothing.
    let mut heard = None;
    let broken = check(
        files(&[("a.toml", "[project.web\n")]),
        Path::new("infra"),
        Vec::new(),
        |names| heard = Some(names),
    );
    assert!(broken.is_err());
    assert_eq!(heard, None);
}

/// Runs `f` on a thread with a 1 MiB stack, half of what the threads that parse files get.
fn on_a_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .expect("no stack overflow")
}

#[test]
fn deep_nesting_is_reported_where_it_is_without_overflowing_the_stack() {
    const PREFIX: &str = "[project.web]\nnickname = \"W\"\n\n";
    for parts in [10_000, 100_000] {
        let key = vec!["a"; parts].join(".");
        let too_deep = format!(
            "invalid TOML: this dotted key has {parts} parts; at most 80 are supported (each part \
             is a nested table)"
        );

        // A dotted key.
        let text = format!("{PREFIX}{key}=1\n");
        let d = on_a_small_stack(move || errors(&text));
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].to_string(), format!("kc.toml:4:1: {too_deep}"));
        assert_eq!(d[0].source_line, format!("{key}=1"));
        assert_eq!(d[0].label, "nested too deeply");

        // A table header, and a second deep key in an inline table: each where it is.
        let text = format!("{PREFIX}[{key}]\nx = {{ y = 1, {key} = 2 }}\n");
        let d = on_a_small_stack(move || errors(&text));
        let got: Vec<String> = d.iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            [
                format!("kc.toml:4:2: {too_deep}"),
                format!("kc.toml:5:14: {too_deep}")
            ]
        );
        assert_eq!(d[1].source_line, format!("x = {{ y = 1, {key} = 2 }}"));

        // Inline tables and arrays nested that deep: at the bracket past the limit.
        let tables = format!("x = {}1{}", "{a=".repeat(parts), "}".repeat(parts));
        let arrays = format!("y = {}1{}", "[".repeat(parts), "]".repeat(parts));
        let text = format!("{PREFIX}{tables}\n{arrays}\n");
        let d = on_a_small_stack(move || errors(&text));
        let got: Vec<String> = d.iter().map(ToString::to_string).collect();
        let nested = "invalid TOML: inline tables and arrays are nested more than 80 levels deep";
        assert_eq!(
            got,
            [
                format!("kc.toml:4:{}: {nested}", 5 + 80 * 3),
                format!("kc.toml:5:{}: {nested}", 5 + 80)
            ]
        );
        assert_eq!(d[0].source_line, tables);
        assert_eq!(d[1].source_line, arrays);
    }

    // The deepest nesting toml accepts (80-part keys in 80 nested inline tables under an
    // 80-part header: 6,480 tables) is checked and dropped without overflowing either.
    let key = vec!["a"; 80].join(".");
    let text = format!(
        "{PREFIX}[{key}]\n{key} = {}1{}\n",
        format!("{{{key} = ").repeat(79),
        "}".repeat(79)
    );
    let d = on_a_small_stack(move || errors(&text));
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(
        d[0].to_string(),
        "kc.toml:4:2: unknown key `a` in the top level"
    );
}

#[test]
fn a_max_age_without_a_unit_says_that_it_needs_one() {
    let text = "[project.web]\nnickname = \"W\"\n\n[project.web.service_account.etl.access_key.ci]\nmax_age = \"90\"\n";
    let d = errors(text);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(
        d[0].to_string(),
        "kc.toml:5:11: invalid `max_age` `90`: a number needs a unit, `h` (hours), `d` (days) \
         or `w` (weeks)"
    );
    assert_eq!(
        d[0].help.as_deref(),
        Some("e.g. `max_age = \"90d\"` for 90 days, or `\"90h\"` for 90 hours")
    );
    assert_eq!(d[0].source_line, "max_age = \"90\"");

    let d = errors(&text.replace("\"90\"", "90"));
    assert_eq!(
        d[0].to_string(),
        "kc.toml:5:11: `max_age` of access key `web/etl/ci` must be a string with a unit, found \
         an integer"
    );
    assert_eq!(
        d[0].help.as_deref(),
        Some(
            "a number needs a unit, `h` (hours), `d` (days) or `w` (weeks), and quotes: e.g. \
             `max_age = \"90d\"`"
        )
    );
}

#[test]
fn an_array_of_projects_says_that_project_is_a_table_of_named_projects() {
    let message = "`project` must be a table of named projects (`[project.<name>]`), not an \
                   array of tables";
    let help = "`[[…]]` declares an array of tables; declare each project as its own table, \
                named in its header, e.g. `[project.analytics]`";

    // After `[project.<name>]`: TOML itself refuses it (a duplicate key for `toml`).
    let d = errors("[project.web]\nnickname = \"W\"\n\n[[project]]\nnickname = \"X\"\n");
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].to_string(), format!("kc.toml:4:1: {message}"));
    assert_eq!(d[0].source_line, "[[project]]");
    assert_eq!(d[0].width, "[[project]]".len());
    assert_eq!(d[0].help.as_deref(), Some(help));
    assert_eq!(related_place(&d[0]), ("kc.toml".into(), 1, 1));
    assert_eq!(d[0].related[0].label, "`project` is a table here");
    assert!(!d[0].message.contains("defined twice"));

    // Before it, or alone: the same words.
    for text in [
        "[[project]]\nnickname = \"X\"\n\n[project.web]\nnickname = \"W\"\n",
        "[[project]]\nnickname = \"X\"\n",
    ] {
        let d = errors(text);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].to_string(), format!("kc.toml:1:1: {message}"));
        assert_eq!(d[0].help.as_deref(), Some(help));
    }

    // Service accounts and access keys likewise.
    let d = errors(
        "[project.web]\nnickname = \"W\"\n[project.web.service_account.etl]\n\
         [[project.web.service_account]]\n",
    );
    assert_eq!(
        d[0].to_string(),
        "kc.toml:4:1: `service_account` of project `web` must be a table of named service \
         accounts (`[project.web.service_account.<name>]`), not an array of tables"
    );
    assert_eq!(related_place(&d[0]), ("kc.toml".into(), 3, 1));
    let d =
        errors("[project.web]\nnickname = \"W\"\n[[project.web.service_account.etl.access_key]]\n");
    assert_eq!(
        d[0].to_string(),
        "kc.toml:3:1: `access_key` of service account `web/etl` must be a table of named access \
         keys (`[project.web.service_account.etl.access_key.<name>]`), not an array of tables"
    );
    assert!(
        d[0].help
            .as_deref()
            .unwrap()
            .ends_with("e.g. `[project.web.service_account.etl.access_key.ci]`")
    );

    // Any other table written both ways names the table.
    let d = errors("[project.web]\nnickname = \"W\"\n[[project.web]]\n");
    assert_eq!(
        d[0].to_string(),
        "kc.toml:3:1: `project.web` must be a table, not an array of tables"
    );
}

#[test]
fn an_unknown_placeholder_in_the_secrets_command_is_located() {
    let files = [(
        "kcform.toml",
        "[secrets]\ncommand = [\"aws\", \"--secret-id\", \"kcform/{projekt}/{access_key}\"]\n\n[project.analytics]\nnickname = \"A\"\n",
    )];
    let err = load_files(&files).unwrap_err();
    let d = find(&err.diagnostics, "unknown placeholder `{projekt}`");
    assert_eq!(place(d), ("kcform.toml".into(), 2, 34));
    assert!(d.message.contains("`{project}`"), "{}", d.message);
    assert_eq!(err.diagnostics.len(), 1);
}
