//! One measured case, its machine-readable line (printed by the bench, parsed by the CI smoke
//! test) and the table of all cases.

/// One measured case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// Case name.
    pub name: String,
    /// Objects at the scale of the case.
    pub objects: usize,
    /// API requests the emulator counted during the run.
    pub requests: u64,
    /// Requests refused by the rate limit (included in `requests`).
    pub rate_limited: u64,
    /// The fewest requests the API allows.
    pub min_requests: usize,
    /// Wall time of the kcform run.
    pub wall_ms: u64,
    /// min_requests × latency ÷ parallelism (or ÷ the rate limit, if slower).
    pub bound_ms: u64,
    /// kcform's user + system CPU time.
    pub cpu_ms: u64,
    /// kcform's peak resident memory.
    pub peak_rss_mb: f64,
    /// kcform's exit code.
    pub exit_code: i32,
    /// For the rate-limited cases: the share of the rate limit kcform reached (requests the
    /// server accepted per second of the time it allowed requests, ÷ the limit).
    pub limit_share: Option<f64>,
    /// kcform's standard output.
    pub stdout: String,
    /// kcform's standard error.
    pub stderr: String,
}

impl CaseResult {
    /// The machine-readable line.
    pub fn line(&self) -> String {
        let share = self
            .limit_share
            .map_or(String::new(), |share| format!(" limit_share={share:.3}"));
        format!(
            "bench case={} objects={} requests={} min_requests={} wall_ms={} bound_ms={} cpu_ms={} peak_rss_mb={:.1}{share}",
            self.name,
            self.objects,
            self.requests,
            self.min_requests,
            self.wall_ms,
            self.bound_ms,
            self.cpu_ms,
            self.peak_rss_mb
        )
    }
}

/// Parses a line printed by [`CaseResult::line`] into its fields, in order; `None` if it is
/// not such a line.
pub fn parse_line(line: &str) -> Option<Vec<(String, String)>> {
    const FIELDS: [&str; 8] = [
        "case",
        "objects",
        "requests",
        "min_requests",
        "wall_ms",
        "bound_ms",
        "cpu_ms",
        "peak_rss_mb",
    ];
    let rest = line.strip_prefix("bench ")?;
    let pairs: Vec<(String, String)> = rest
        .split(' ')
        .map(|field| {
            let (k, v) = field.split_once('=')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect::<Option<_>>()?;
    let names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    if names != FIELDS && names[..] != [&FIELDS[..], &["limit_share"]].concat()[..] {
        return None;
    }
    for (key, value) in &pairs[1..] {
        let numeric = if key == "peak_rss_mb" || key == "limit_share" {
            value.parse::<f64>().is_ok()
        } else {
            value.parse::<u64>().is_ok()
        };
        if !numeric {
            return None;
        }
    }
    Some(pairs)
}

/// The results as a table.
pub fn table(results: &[CaseResult]) -> String {
    let mut out = format!(
        "{:<20} {:>8} {:>9} {:>9} {:>6} {:>9} {:>9} {:>6} {:>8} {:>8}\n",
        "case",
        "objects",
        "requests",
        "minimum",
        "ratio",
        "wall ms",
        "bound ms",
        "ratio",
        "cpu ms",
        "peak MB"
    );
    for r in results {
        out.push_str(&format!(
            "{:<20} {:>8} {:>9} {:>9} {:>6.3} {:>9} {:>9} {:>6.2} {:>8} {:>8.1}\n",
            r.name,
            r.objects,
            r.requests,
            r.min_requests,
            r.requests as f64 / r.min_requests.max(1) as f64,
            r.wall_ms,
            r.bound_ms,
            r.wall_ms as f64 / r.bound_ms.max(1) as f64,
            r.cpu_ms,
            r.peak_rss_mb
        ));
    }
    out
}
