//! What the lesson-as-a-module architecture promised beyond the lessons themselves: a failed
//! child fails the run, closed standard streams are repaired, and every child command line
//! the registry can build decodes again.

use crate::harness::{command, procdemo, procdemo_bin, shell};
use crate::trials;

pub fn tests() -> Vec<libtest_mimic::Trial> {
    trials![
        a_failed_child_fails_spawn_join_and_daemon,
        closed_stdout_with_a_timeline_still_runs_every_child,
        procdemo_is_a_static_pie_executable,
        an_execd_child_lives_at_a_random_address_a_forked_one_at_the_parents,
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
        // The children said why, and the main's one line names the first that failed (in the
        // order they were reaped, which the scheduler decides).
        assert!(
            out.stderr.contains("prctl(PR_SET_PDEATHSIG)"),
            "{args:?}: {}",
            out.stderr
        );
        let last = out.stderr.lines().last().unwrap_or("");
        assert!(
            last.starts_with("procdemo: error: ") && last.contains(" Process-"),
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

/// A static-pie executable: position-independent (`e_type` ET_DYN, so the kernel loads it at a
/// random address, ASLR), and static (no PT_INTERP program header: no dynamic loader). What
/// `file` calls "static-pie linked", read from the ELF header itself (elf(5)).
fn procdemo_is_a_static_pie_executable() {
    let elf = std::fs::read(procdemo_bin()).unwrap();
    assert_eq!(&elf[..4], b"\x7fELF");
    assert_eq!(elf[4], 2, "a 64-bit ELF");
    let u16_at = |i: usize| u16::from_le_bytes([elf[i], elf[i + 1]]) as usize;
    let u64_at = |i: usize| u64::from_le_bytes(elf[i..i + 8].try_into().unwrap()) as usize;
    const ET_DYN: usize = 3;
    const PT_INTERP: u32 = 3;
    assert_eq!(u16_at(16), ET_DYN, "not position-independent: no ASLR");
    let (phoff, phentsize, phnum) = (u64_at(32), u16_at(54), u16_at(56));
    let interp = (0..phnum).any(|i| {
        let at = phoff + i * phentsize;
        u32::from_le_bytes(elf[at..at + 4].try_into().unwrap()) == PT_INTERP
    });
    assert!(
        !interp,
        "dynamically linked: it names a program interpreter"
    );
}

/// The addresses of `money` in one `isolate` run: (the child's, the main's).
fn money_addresses(method: &str) -> (String, String) {
    let out = procdemo(["--json", "--time-scale", "0", "isolate", "--method", method]).run();
    out.expect_code(0);
    let of = |kind: &str| {
        out.events_of(kind)[0]["address"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    (of("money_set"), of("money_read"))
}

/// After exec the kernel loads procdemo anew at a random base: the child's `money` is at
/// another address than the main's, and at another one on every run. After fork the child is
/// a copy: the same address as its parent's.
fn an_execd_child_lives_at_a_random_address_a_forked_one_at_the_parents() {
    let (child_a, main_a) = money_addresses("exec");
    let (child_b, main_b) = money_addresses("exec");
    assert_ne!(child_a, main_a);
    assert_ne!(child_a, child_b, "two runs, one address: no ASLR");
    assert_ne!(main_a, main_b, "two runs, one address: no ASLR");
    let (child, main) = money_addresses("fork");
    assert_eq!(child, main);
}
