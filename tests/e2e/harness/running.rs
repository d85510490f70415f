//! A kcform run in the background, its output read line by line as it is printed.

use super::*;

/// A kcform run in progress (see [`World::start_kcform`]).
pub struct RunningKcform {
    pub(super) child: Child,
    /// Each line of its stdout and stderr, as it is printed.
    pub(super) lines: mpsc::Receiver<String>,
    pub(super) stdout: std::thread::JoinHandle<Vec<u8>>,
    pub(super) stderr: std::thread::JoinHandle<Vec<u8>>,
}

impl RunningKcform {
    /// Waits until `count` lines of its output (stdout or stderr) satisfied `wanted`; false if
    /// it ended first or `limit` passed.
    pub fn wait_for_lines(
        &mut self,
        count: usize,
        wanted: impl Fn(&str) -> bool,
        limit: Duration,
    ) -> bool {
        let deadline = Instant::now() + limit;
        let mut seen = 0;
        while seen < count {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if wanted(&line) => seen += 1,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
        true
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Kills it with SIGKILL.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
    }
}

/// Reads a child's pipe to its end on a thread of its own, sending each line to `line` as it
/// comes; returns everything read.
pub(super) fn read_lines_in_background<R: std::io::Read + Send + 'static>(
    pipe: Option<R>,
    line: mpsc::Sender<String>,
) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(pipe) = pipe {
            let mut reader = std::io::BufReader::new(pipe);
            loop {
                let start = bytes.len();
                match reader.read_until(b'\n', &mut bytes) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let text = String::from_utf8_lossy(&bytes[start..]);
                        // Nobody may be listening any more; the output is kept all the same.
                        let _ = line.send(text.trim_end().to_string());
                    }
                }
            }
        }
        bytes
    })
}
