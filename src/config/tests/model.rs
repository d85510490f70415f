//! The model a configuration parses into: README.md's full example, the digest, the defaults.

use super::*;

/// The configuration example README.md shows its users: the first TOML block of its
/// `## Configuration` section, so the README cannot drift from what kcform parses.
fn readme_example() -> &'static str {
    let readme = include_str!("../../../README.md");
    let section = &readme[readme
        .find("\n## Configuration\n")
        .expect("README.md has a Configuration section")..];
    let start = section.find("```toml\n").expect("a TOML block") + "```toml\n".len();
    let end = start + section[start..].find("```").expect("the block ends");
    &section[start..end]
}

#[test]
fn the_readme_example_parses_into_the_exact_model() {
    let desired = load_files(&[("infra/kc.toml", readme_example())]).unwrap();
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
