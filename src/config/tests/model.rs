//! The model a configuration parses into: the full example, the digest, the defaults.

use super::*;

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
