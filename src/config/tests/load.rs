//! Reading files from disk: directory order, missing paths, symlinks, FIFOs, unreadable files.

use super::*;

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
