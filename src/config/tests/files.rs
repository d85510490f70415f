//! Configurations split over files: duplicates naming both places, syntax errors, merging, reporting order.

use super::*;

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
