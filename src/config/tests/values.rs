//! Rules on single values and tables: provider, secrets, lock, names, types, limits, unknown keys.

use super::*;

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
