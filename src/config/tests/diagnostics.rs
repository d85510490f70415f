//! Diagnostics: styling, announcing projects, deep nesting, units, `[[project]]`, placeholders.

use super::*;

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

/// Runs `f` on a 2 MiB stack: room for the loader's fixed work in a debug build (1 MiB
/// overflowed when this test ran alone, first in its process), far too little for anything
/// recursing once per part of a 100,000-part key.
fn on_a_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
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
