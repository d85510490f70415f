//! The scale benchmark's harness (`benches/scale/harness/`) at a small scale, so it cannot
//! rot: every case runs against the debug binary, the plans use no more requests than the
//! API's minimum (+5%), the apply from empty creates everything, and the printed lines parse.
//! Also: an apply against a rate-limited emulator finishes without failure, adapting to the
//! limit.

use crate::scale_harness::{self as harness, Options, Scale};

fn options(cases: &[&str]) -> Options {
    Options {
        scale: Scale::parse("3x5x2").unwrap(),
        latency_ms: 5,
        parallelism: 10,
        cases: cases.iter().map(|c| c.to_string()).collect(),
        rate_scale: Scale::parse("1x60x2").unwrap(),
        rate: 60,
        burst_scale: Scale::parse("1x40x1").unwrap(),
        runs: 1,
        kcform: env!("CARGO_BIN_EXE_kcform").into(),
        compare: None,
    }
}

#[test]
fn the_scale_harness_runs_every_case_at_a_small_scale() {
    let mut options = options(&["plan", "plan-drift", "apply"]);
    // Comparing with a second binary (here the same one) adds a row per plan case.
    options.compare = Some(options.kcform.clone());
    let results = harness::run(&options, &mut |_| {}).expect("the harness runs");
    let names: Vec<&str> = results.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "plan",
            "plan@compare",
            "plan-drift",
            "plan-drift@compare",
            "apply"
        ]
    );
    let scale = options.scale;
    for result in &results {
        assert_eq!(result.exit_code, 0, "{}", result.stderr);
        assert_eq!(result.objects, 3 + 15 + 30);
        let line = result.line();
        let fields =
            harness::results::parse_line(&line).unwrap_or_else(|| panic!("unparsable: {line}"));
        assert_eq!(fields[0], ("case".to_string(), result.name.clone()));
        assert!(
            result.wall_ms > 0 && result.cpu_ms > 0 && result.peak_rss_mb > 1.0,
            "{line}"
        );
        assert!(
            result.requests as f64 <= 1.05 * result.min_requests as f64,
            "{line}: more requests than the API's minimum"
        );
        assert!(
            result.requests >= result.min_requests as u64,
            "{line}: counted too few"
        );
    }
    // Token, project listing, and per project one account and one key listing.
    assert_eq!(scale.plan_min_requests(), 1 + 1 + 3 * 2);
    assert_eq!(results[0].min_requests, 8);
    assert_eq!(scale.apply_min_requests(), 2 + 48);
    for drift in &results[2..4] {
        assert!(
            drift
                .stdout
                .contains("Plan: 3 to add, 0 to change, 0 to deactivate, 3 to destroy.")
        );
    }
    assert!(harness::results::table(&results).lines().count() == 6);
    assert!(harness::results::parse_line("bench case=x objects=1").is_none());
}

#[test]
fn an_apply_against_a_rate_limit_finishes_close_to_the_limit() {
    let options = options(&["apply-rate-limited", "apply-rate-burst"]);
    let results = harness::run(&options, &mut |_| {}).expect("the harness runs");
    let burst = &results[1];
    assert_eq!(burst.name, "apply-rate-burst");
    assert_eq!(burst.exit_code, 0, "{}", burst.stderr);
    let share = burst.limit_share.expect("a rate case reports its share");
    assert!(
        harness::results::parse_line(&burst.line())
            .is_some_and(|f| f.last().unwrap().0 == "limit_share"),
        "{}",
        burst.line()
    );
    // After the burst's pause, the apply must get back to the limit, not crawl at the pace
    // of the few requests that had succeeded before the burst.
    assert!(share >= 0.6, "{}", burst.line());
    let result = &results[0];
    assert_eq!(result.exit_code, 0, "{}", result.stderr);
    assert!(!result.stdout.contains("failed"), "{}", result.stdout);
    // 60 requests/s with 10 in flight at 5 ms each would be ~2000/s: the limit binds.
    assert!(
        result.rate_limited > 0,
        "the rate limit never refused anything"
    );
    let throughput =
        (result.requests - result.rate_limited) as f64 * 1000.0 / result.wall_ms as f64;
    assert!(
        throughput >= 0.6 * f64::from(options.rate),
        "{} requests/s against a limit of {}: {}",
        throughput,
        options.rate,
        result.line()
    );
}
