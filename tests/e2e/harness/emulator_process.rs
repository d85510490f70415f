//! The emulator as a process of its own (`kcform emulator`), to be killed and restarted on its
//! data file.

use super::*;

/// How long a start of the emulator process may take before the test fails.
const EMULATOR_START_LIMIT: Duration = Duration::from_secs(20);

/// The emulator as a `kcform emulator` process (the real binary) on a fixed loopback port with
/// a data file in a directory of its own, so that a test can kill it with SIGKILL — a crash,
/// with no shutdown — and start it again on the same port and data file, where it carries on
/// from its database. Killed on drop.
pub struct EmulatorProcess {
    child: Option<Child>,
    addr: SocketAddr,
    /// `state.db` (+ SQLite's `-wal` and `-shm`, `.lock`) and `admin.json` (the bootstrap
    /// key).
    dir: tempfile::TempDir,
    /// Everything the process wrote on stderr, across restarts (for failure messages).
    log: Arc<Mutex<String>>,
}

impl EmulatorProcess {
    /// Starts one on a free port of 127.0.0.1 and waits until it answers.
    pub fn start() -> EmulatorProcess {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (child, addr) = launch(dir.path(), "127.0.0.1:0".parse().unwrap(), &log)
            .unwrap_or_else(|problem| panic!("the emulator did not start: {problem}"));
        let process = EmulatorProcess {
            child: Some(child),
            addr,
            dir,
            log,
        };
        process.wait_until_answering();
        process
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The data file.
    pub fn data_file(&self) -> PathBuf {
        self.dir.path().join("state.db")
    }

    /// The secret of the bootstrap key the current start wrote to `admin.json`.
    pub fn bootstrap_secret(&self) -> String {
        let path = self.dir.path().join("admin.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        serde_json::from_str::<AccessKeyCredential>(&text)
            .unwrap()
            .secret
    }

    /// Kills it with SIGKILL and reaps it (nothing happens if it is not running).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and data file (killing it first if it runs) and waits
    /// until it answers. The port may still be held for a moment by the killed process's
    /// socket, so a start that cannot bind is tried again, a bounded number of times.
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + EMULATOR_START_LIMIT;
        loop {
            match launch(self.dir.path(), self.addr, &self.log) {
                Ok((child, _)) => {
                    self.child = Some(child);
                    break;
                }
                Err(problem) if Instant::now() >= deadline => {
                    panic!(
                        "the emulator did not start again on {}: {problem}",
                        self.addr
                    )
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        self.wait_until_answering();
    }

    /// Polls `GET /_emulator/health` until it answers 200.
    fn wait_until_answering(&self) {
        let deadline = Instant::now() + EMULATOR_START_LIMIT;
        while !healthy(self.addr) {
            assert!(
                Instant::now() < deadline,
                "the emulator on {} does not answer; its stderr ends:\n{}",
                self.addr,
                log_tail(&self.log.lock().unwrap())
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Spawns `kcform emulator` listening on `listen` with its files in `dir` and waits for the
/// line saying where it listens; its stderr is copied to `log`. Fails with what it printed if
/// it exits first.
fn launch(
    dir: &Path,
    listen: SocketAddr,
    log: &Arc<Mutex<String>>,
) -> Result<(Child, SocketAddr), String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kcform"))
        .arg("emulator")
        .arg("--listen")
        .arg(listen.to_string())
        .arg("--data")
        .arg(dir.join("state.db"))
        .arg("--bootstrap-credentials")
        .arg(dir.join("admin.json"))
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run kcform emulator: {e}"))?;
    let stderr = child.stderr.take().expect("piped");
    let (first_line, listening) = mpsc::channel::<String>();
    let copy = Arc::clone(log);
    // The pipe is read to its end, so the emulator never blocks on (or fails writing) stderr.
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let _ = first_line.send(line.clone());
            let mut copy = copy.lock().unwrap();
            copy.push_str(&line);
            copy.push('\n');
        }
    });
    let address = listening
        .recv_timeout(EMULATOR_START_LIMIT)
        .ok()
        .and_then(|line| {
            let (_, rest) = line.split_once("listening on http://")?;
            rest.split_whitespace().next()?.parse::<SocketAddr>().ok()
        });
    match address {
        Some(addr) => Ok((child, addr)),
        None => {
            let _ = child.kill();
            let status = child.wait();
            // Let the reader thread copy the rest of what it printed.
            std::thread::sleep(Duration::from_millis(20));
            let log = log_tail(&log.lock().unwrap());
            Err(format!(
                "kcform emulator ended ({status:?}) without listening; its stderr ends:\n{log}"
            ))
        }
    }
}

/// The last lines of a log.
fn log_tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}

/// Whether the emulator at `addr` answers `GET /_emulator/health` with 200.
fn healthy(addr: SocketAddr) -> bool {
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /_emulator/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    answer.starts_with(b"HTTP/1.1 200")
}
