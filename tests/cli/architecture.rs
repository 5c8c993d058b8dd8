//! What the lesson-as-a-module architecture promised beyond the lessons themselves: a failed
//! child fails the run, closed standard streams are repaired, and every child command line
//! the registry can build decodes again.

use crate::harness::{command, procdemo, procdemo_bin, shell};
use crate::trials;

pub fn tests() -> Vec<libtest_mimic::Trial> {
    trials![
        a_failed_child_fails_spawn_join_and_daemon,
        closed_stdout_with_a_timeline_still_runs_every_child,
    ]
}

/// Make every child fail at its very first step: strace injects EPERM into prctl(2), which
/// only children call (`PR_SET_PDEATHSIG`, before their first event). The main never calls it.
fn with_failing_children(args: &[&str]) -> crate::harness::Outcome {
    let mut argv = vec![
        "-f",
        "-o",
        "/dev/null",
        "-e",
        "trace=prctl",
        "-e",
        "inject=prctl:error=EPERM",
        procdemo_bin(),
    ];
    argv.extend_from_slice(args);
    command("strace", argv).run()
}

fn a_failed_child_fails_spawn_join_and_daemon() {
    for args in [
        &["--json", "--time-scale", "0", "spawn", "--count", "2"][..],
        &["--json", "--time-scale", "0", "join", "--count", "2"],
        // An ordinary child is waited for, so its failure is seen whatever the timing.
        &["--json", "--time-scale", "0", "daemon", "--no-daemon"],
    ] {
        let out = with_failing_children(args);
        out.expect_code(1).expect_no_panic();
        // The children said why, and the main's one line names the first that failed.
        assert!(
            out.stderr.contains("prctl(PR_SET_PDEATHSIG)"),
            "{args:?}: {}",
            out.stderr
        );
        let last = out.stderr.lines().last().unwrap_or("");
        assert!(
            last.starts_with("procdemo: error: ") && last.contains("Process-1"),
            "{args:?}: {}",
            out.stderr
        );
        // The summary still came, and every child has its `exit`, with code 1.
        let summary = out.summary();
        let exits = out.events_of("exit");
        assert!(!exits.is_empty(), "{}", out.stdout);
        assert!(exits.iter().all(|e| e["code"] == 1), "{}", out.stdout);
        assert!(summary["scenario"].is_string());
    }
    // The same runs without the fault succeed: the failure above is the children's.
    procdemo(["--json", "--time-scale", "0", "spawn", "--count", "2"])
        .run()
        .expect_code(0);
}

fn closed_stdout_with_a_timeline_still_runs_every_child() {
    // `>&-`: procdemo starts with descriptor 1 closed. It must not give that number to the
    // timeline record (the children would find "stdout" to be the record, and fail).
    let out = shell(
        r#""$PROCDEMO" --json --timeline --time-scale 0 join --count 2 >&-; echo "code=$?" >&2"#,
    )
    .run();
    out.expect_code(0);
    assert!(out.stderr.contains("code=0"), "{}", out.stderr);
    assert!(!out.stderr.contains("error"), "{}", out.stderr);
    // The chart still shows both children, which ended with exit code 0.
    assert_eq!(out.stderr.matches("exit 0").count(), 2, "{}", out.stderr);
}
