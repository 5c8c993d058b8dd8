//! `procdemo quiz`: the same seed asks the same questions, the teacher's sheet agrees with the
//! real processes, and the quiz is scriptable from a pipe.

use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::harness::{procdemo, shell};
use crate::trials;

pub fn tests() -> Vec<libtest_mimic::Trial> {
    trials![
        quiz_the_same_seed_asks_the_same_questions,
        quiz_the_sheet_and_the_processes_agree,
        quiz_wrong_answers_score_zero,
        quiz_end_of_input_stops_with_the_score_so_far,
        quiz_an_invalid_answer_from_a_pipe_counts_as_wrong,
        quiz_ctrl_c_during_a_run_leaves_nothing,
    ]
}

/// The teacher's sheet for `seed`, as (command, answer) pairs, from `--json --answers`.
fn sheet(seed: u64, n: usize) -> Vec<(String, String)> {
    let out = procdemo([
        "--json",
        "quiz",
        "--seed",
        &seed.to_string(),
        "--questions",
        &n.to_string(),
        "--answers",
    ])
    .run();
    out.expect_code(0);
    let commands = out.events_of("question");
    let answers = out.events_of("answer");
    assert_eq!(commands.len(), n, "{}", out.stdout);
    commands
        .iter()
        .zip(&answers)
        .map(|(q, a)| {
            (
                q["command"].as_str().unwrap().to_owned(),
                a["given"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Play the quiz for `seed` with `input` on stdin; returns the run.
fn play(seed: u64, n: usize, input: &str) -> crate::harness::Outcome {
    shell(&format!(
        "printf '{input}' | \"$PROCDEMO\" --json --time-scale 0.1 quiz --seed {seed} --questions {n}"
    ))
    .timeout(Duration::from_secs(120))
    .run()
}

fn quiz_the_same_seed_asks_the_same_questions() {
    assert_eq!(sheet(11, 8), sheet(11, 8));
    assert_ne!(sheet(11, 8), sheet(12, 8));
    // The human sheet too, word for word.
    let human = |seed: &str| procdemo(["quiz", "--seed", seed, "--answers"]).run().stdout;
    assert_eq!(human("5"), human("5"));
}

fn quiz_the_sheet_and_the_processes_agree() {
    for seed in [1, 2] {
        let answers: Vec<String> = sheet(seed, 6).into_iter().map(|(_, a)| a).collect();
        let out = play(seed, 6, &format!("{}\\n", answers.join("\\n")));
        out.expect_code(0);
        let summary = out.summary();
        assert_eq!(summary["scenario"], "quiz");
        assert_eq!(summary["seed"], seed);
        assert_eq!(summary["answered"], 6);
        // Each outcome is what the real run did; every one matched the sheet.
        let outcomes = out.events_of("outcome");
        assert_eq!(outcomes.len(), 6, "{}", out.stdout);
        for (o, a) in outcomes.iter().zip(&answers) {
            assert_eq!(o["observed"].as_str(), Some(a.as_str()), "{}", out.stdout);
        }
        assert_eq!(summary["correct"], 6, "{}", out.stdout);
        // The real runs happened: each question's lesson ran, with its own summary.
        let runs = out
            .events_of("summary")
            .iter()
            .filter(|s| s["scenario"] != "quiz")
            .count();
        assert_eq!(runs, 6);
    }
}

/// An answer that is surely not `right`: another letter, another number.
fn wrong(right: &str) -> String {
    match right.parse::<u64>() {
        Ok(n) => (n + 1).to_string(),
        Err(_) if right == "a" => "b".into(),
        Err(_) => "a".into(),
    }
}

fn quiz_wrong_answers_score_zero() {
    let answers: Vec<String> = sheet(3, 4).into_iter().map(|(_, a)| wrong(&a)).collect();
    let out = play(3, 4, &format!("{}\\n", answers.join("\\n")));
    out.expect_code(0);
    let summary = out.summary();
    assert_eq!(summary["answered"], 4);
    assert_eq!(summary["correct"], 0, "{}", out.stdout);
}

fn quiz_end_of_input_stops_with_the_score_so_far() {
    let answers: Vec<String> = sheet(4, 5).into_iter().map(|(_, a)| a).collect();
    let out = play(4, 5, &format!("{}\\n{}\\n", answers[0], answers[1]));
    out.expect_code(0);
    let summary = out.summary();
    assert_eq!(summary["questions"], 5);
    assert_eq!(summary["answered"], 2);
    assert_eq!(summary["correct"], 2, "{}", out.stdout);
    assert_eq!(out.events_of("outcome").len(), 2);
}

fn quiz_an_invalid_answer_from_a_pipe_counts_as_wrong() {
    let answers: Vec<String> = sheet(6, 2).into_iter().map(|(_, a)| a).collect();
    let out = play(6, 2, &format!("zzz\\n{}\\n", answers[1]));
    out.expect_code(0);
    let first = &out.events_of("answer")[0];
    assert_eq!(first["given"], Value::Null, "{}", out.stdout);
    let summary = out.summary();
    assert_eq!(summary["answered"], 2);
    assert_eq!(summary["correct"], 1, "{}", out.stdout);
    // In human output the quiz says why it counted as wrong.
    let human =
        shell("printf 'zzz\\n' | \"$PROCDEMO\" --time-scale 0 quiz --seed 6 --questions 1").run();
    assert!(human.stdout.contains("counts as wrong"), "{}", human.stdout);
}

fn quiz_ctrl_c_during_a_run_leaves_nothing() {
    // A seed whose first question is about tickets with the lock: buyers taking 1 s each
    // under it.
    let seed = (0..200)
        .find(|s| {
            let command = &sheet(*s, 1)[0].0;
            command.contains(" tickets ") && !command.contains("--no-lock")
        })
        .expect("a seed that starts with tickets, locked");
    let mut run = shell(&format!(
        "(echo 2; sleep 60) | \"$PROCDEMO\" --json --time-scale 1 quiz --seed {seed} --questions 1"
    ))
    .spawn();
    let held = run.wait_for(Duration::from_secs(30), |e| e["event"] == "lock_acquired");
    // Ctrl-C reaches the terminal's foreground group: here, the shell's pipeline, procdemo
    // and its buyers with it (a buyer's parent is procdemo; its group is procdemo's).
    let buyer = held["pid"].as_i64().unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{buyer}/stat")).unwrap();
    let pgid: i32 = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();
    nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), Signal::SIGINT).unwrap();
    // The harness fails the test if any process of the run is left, alive or a zombie.
    let out = run.finish();
    out.expect_no_panic();
    // Whatever was printed is whole JSON lines (`events` panics on anything else).
    assert!(!out.events().is_empty());
}
