//! `cargo bench --bench scale`: the scale benchmark (see `harness/` and docs/scale.md).
//! Prints progress on stderr, then one table and one machine-readable line per case on
//! stdout: `bench case=<name> objects=<n> requests=<r> min_requests=<m> wall_ms=<w>
//! bound_ms=<b> cpu_ms=<c> peak_rss_mb=<p>`. Parameters: `KCFORM_BENCH_SCALE` (`PxMxK`,
//! default `100x100x2`), `KCFORM_BENCH_LATENCY_MS` (20), `KCFORM_BENCH_PARALLELISM` (10),
//! `KCFORM_BENCH_CASES` (comma-separated, default all), `KCFORM_BENCH_RATE` (200 requests/s)
//! and `KCFORM_BENCH_RATE_SCALE` (`10x20x2`) for `apply-rate-limited`, `KCFORM_BENCH_RUNS` (5:
//! each plan case runs that many times and the run with the median wall time is reported),
//! `KCFORM_BENCH_BIN` (the kcform to measure) and `KCFORM_BENCH_COMPARE` (another kcform: the
//! plan cases alternate between the two and report both, as `<case>@compare`).

mod harness;

use std::time::Instant;

fn main() {
    let options = match harness::options_from_env(env!("CARGO_BIN_EXE_kcform").into()) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(2);
        }
    };
    let started = Instant::now();
    eprintln!(
        "scale {}x{}x{}, latency {} ms, parallelism {}, kcform {}",
        options.scale.projects,
        options.scale.accounts,
        options.scale.keys,
        options.latency_ms,
        options.parallelism,
        options.kcform.display()
    );
    let mut progress = |step: &str| {
        eprintln!("[{:>6.1}s] {step}", started.elapsed().as_secs_f64());
    };
    match harness::run(&options, &mut progress) {
        Ok(results) => {
            print!("{}", harness::results::table(&results));
            for result in &results {
                println!("{}", result.line());
            }
            eprintln!("done in {:.1}s", started.elapsed().as_secs_f64());
        }
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(1);
        }
    }
}
