//! Odd TOML shapes: located errors, columns in characters, no panic on any input.

use super::*;

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
