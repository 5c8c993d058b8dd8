//! Hardening of `procdemo tickets`: device nodes, the stale-temp cleaner beside unlocked
//! writers, big files, paths in messages, checks before anything is written, random files and
//! a chaos of SIGKILLs.
//!
//! Each test works in a fresh temporary directory and runs the real binary under the reaper.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::sys::stat::{makedev, mknod, Mode, SFlag};
use nix::unistd::Pid;
use serde_json::Value;

use crate::harness::{self, names_in, procdemo, s, shell, success, ticket_count, Outcome};
use crate::trials;

pub fn tests() -> Vec<libtest_mimic::Trial> {
    trials![
        device_nodes_and_other_non_files_are_refused_untouched,
        a_buyer_never_renames_over_a_device_node,
        the_cleaner_spares_temp_files_of_live_writers,
        a_locked_run_beside_an_unlocked_writer_leaves_its_temp_file,
        big_files_keep_their_keys_and_too_big_is_an_error,
        paths_in_messages_are_one_line_and_name_the_right_file,
        a_missing_directory_is_named_not_reset,
        a_read_only_directory_fails_once_naming_the_file,
        a_name_too_long_for_the_temporary_file_fails_once,
        random_ticket_files_are_accepted_or_refused_untouched,
        chaos_sigkill_buyers_and_mains,
        a_hand_typed_child_never_panics,
    ]
}

// ---------------------------------------------------------------------------------------------
// 3. No child command line may panic: every number is bounded where it is decoded.

fn a_hand_typed_child_never_panics() {
    let base = "name=P parent=1 epoch=0 scale=1000 out=json";
    for extra in [
        "sleep=18446744073709551",
        "sleep=18446744073709551615",
        "sleep=-1",
    ] {
        let args: Vec<String> = ["--child", "join"]
            .iter()
            .map(|s| s.to_string())
            .chain(base.split(' ').chain([extra]).map(str::to_owned))
            .collect();
        let out = procdemo(args).run();
        out.expect_code(2).expect_no_panic();
        assert!(
            out.stderr.contains("out of range") || out.stderr.contains("not a valid"),
            "{}",
            out.stderr
        );
        assert_eq!(out.stderr.lines().count(), 2, "{}", out.stderr);
    }
    // Every lesson's own keys, pushed to their limits, the same.
    for line in [
        "--child daemon name=P parent=1 epoch=0 scale=1000 out=json ticks=18446744073709551615",
        "--child isolate name=P parent=1 epoch=0 scale=1 out=json value=1 pipe=99999999999",
        "--child spawn name=P parent=1 epoch=18446744073709551616 scale=1 out=json",
    ] {
        let out = procdemo(line.split(' ')).run();
        out.expect_code(2).expect_no_panic();
    }
}

/// How long a test waits for an event before it gives up.
const WAIT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// 1. Device nodes, and one rule for everything that is not a regular file.

/// A device node of our own, never the real /dev/null.
fn make_node(path: &Path, kind: SFlag, major: u64, minor: u64) {
    mknod(
        path,
        kind,
        Mode::from_bits_truncate(0o666),
        makedev(major, minor),
    )
    .expect("mknod: the tests run as root, as CI does");
}

/// `--tickets 5` over a character device with /dev/null's numbers (1:3) used to turn it into
/// `{"ticket": 4}`; without `--tickets` a block device read as "an empty file". Every kind of
/// non-regular file now gets the same refusal: exit 1, one line, nothing touched or created.
fn device_nodes_and_other_non_files_are_refused_untouched() {
    let kinds: [(&str, &str); 5] = [
        ("chr", "a character device"),
        ("blk", "a block device"),
        ("fifo", "a FIFO"),
        ("sock", "a socket"),
        ("dir", "a directory"),
    ];
    for (what, kind) in kinds {
        for reset in [true, false] {
            let dir = harness::temp_dir();
            let data = dir.path().join("data.json");
            match what {
                "chr" => make_node(&data, SFlag::S_IFCHR, 1, 3),
                "blk" => make_node(&data, SFlag::S_IFBLK, 7, 0),
                "fifo" => nix::unistd::mkfifo(&data, Mode::from_bits_truncate(0o644)).unwrap(),
                "sock" => std::mem::forget(std::os::unix::net::UnixListener::bind(&data).unwrap()),
                _ => fs::create_dir(&data).unwrap(),
            }
            let before = fs::symlink_metadata(&data).unwrap();
            let mut args = vec!["--json", "tickets", "--buyers", "1", "--data", s(&data)];
            if reset {
                args.extend(["--tickets", "5"]);
            }
            let out = procdemo(args).run();
            let case = format!("{what}, --tickets: {reset}");
            out.expect_code(1).expect_no_panic();
            assert_eq!(
                out.stderr,
                format!(
                    "procdemo: error: {}: is {kind}, not a ticket file\n",
                    data.display()
                ),
                "{case}"
            );
            assert!(out.events_of("spawned").is_empty(), "{case}");
            let after = fs::symlink_metadata(&data).unwrap();
            assert_eq!(
                (after.file_type(), after.ino(), after.rdev()),
                (before.file_type(), before.ino(), before.rdev()),
                "{case}: replaced"
            );
            assert_eq!(names_in(dir.path()), ["data.json"], "{case}");
        }
    }
}

/// A buyer holds the lock and sleeps between reading and writing; meanwhile someone puts a
/// device node at the name. The buyer looks again before its rename and leaves the node be.
fn a_buyer_never_renames_over_a_device_node() {
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    fs::write(&data, "{\"ticket\": 3}\n").unwrap();
    let mut live = procdemo([
        "--json",
        "--time-scale",
        "2",
        "tickets",
        "--buyers",
        "1",
        "--data",
        s(&data),
    ])
    .spawn();
    live.wait_for(WAIT, |e| e["event"] == "lock_acquired");
    // The buyer reads at once, then sleeps 2 s: swap the file for a node inside that sleep.
    std::thread::sleep(Duration::from_millis(600));
    fs::remove_file(&data).unwrap();
    make_node(&data, SFlag::S_IFCHR, 1, 3);
    let out = live.finish();
    out.expect_code(1).expect_no_panic();
    let meta = fs::symlink_metadata(&data).unwrap();
    assert!(
        meta.file_type().is_char_device() && meta.rdev() == makedev(1, 3),
        "the node was replaced"
    );
    assert!(out.events_of("bought").is_empty());
    let buyer_line = format!(
        "procdemo: error: buyer-0: {}: is a character device now, not a ticket file; left as it is",
        data.display()
    );
    assert!(
        out.stderr.lines().any(|l| l == buyer_line),
        "{}",
        out.stderr
    );
    assert_eq!(names_in(dir.path()), ["data.json", "data.json.lock"]);
}

// ---------------------------------------------------------------------------------------------
// 4. The stale-temp cleaner and unlocked writers.

/// The cleaner removes a temporary file only when its writer is provably gone. A file named
/// after a live process that started before it was written (here: this test) stays; one named
/// after no process, or after a process that started after the file was written (pid 1, with
/// a file dated 1970), goes.
fn the_cleaner_spares_temp_files_of_live_writers() {
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    fs::write(&data, "{\"ticket\": 2}\n").unwrap();
    let live = dir
        .path()
        .join(format!(".data.json.tmp.{}", std::process::id()));
    fs::write(&live, "{\"tick").unwrap();
    let dead = {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    };
    fs::write(dir.path().join(format!(".data.json.tmp.{dead}")), "").unwrap();
    let reused = dir.path().join(".data.json.tmp.1");
    fs::write(&reused, "").unwrap();
    fs::File::options()
        .write(true)
        .open(&reused)
        .unwrap()
        .set_modified(std::time::UNIX_EPOCH)
        .unwrap();

    let out = procdemo([
        "--json",
        "--time-scale",
        "0",
        "tickets",
        "--buyers",
        "2",
        "--data",
        s(&data),
    ])
    .run();
    success(&out);
    let cleaned = out.temps_cleaned();
    assert_eq!(cleaned, 2, "{}", out.stdout);
    assert_eq!(
        names_in(dir.path()),
        [
            format!(".data.json.tmp.{}", std::process::id()),
            "data.json".into(),
            "data.json.lock".into()
        ]
    );
    assert_eq!(fs::read(&live).unwrap(), b"{\"tick");
}

/// The issue's own scenario: an unlocked buyer is between its temporary file and its rename
/// (strace holds its rename(2) for 15 s, long enough for a locked run on a loaded machine)
/// when a locked run's buyer sweeps stale temporary files.
/// The sweep used to delete the live file, and the unlocked buyer then failed with "renaming
/// .data.json.tmp.N: No such file or directory".
fn a_locked_run_beside_an_unlocked_writer_leaves_its_temp_file() {
    if !harness::have_strace() {
        eprintln!("strace not installed: test skipped (CI installs it)");
        return;
    }
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    fs::write(&data, "{\"ticket\": 5}\n").unwrap();
    let unlocked = harness::command(
        "strace",
        [
            "-f",
            "-qq",
            "-o",
            "/dev/null",
            "-e",
            "trace=rename,renameat,renameat2",
            "-e",
            "inject=rename,renameat,renameat2:delay_enter=15000000",
            harness::procdemo_bin(),
            "--json",
            "--time-scale",
            "0",
            "tickets",
            "--no-lock",
            "--buyers",
            "1",
            "--data",
            s(&data),
        ],
    )
    .spawn();
    // Wait for the unlocked buyer's temporary file: written, fsynced, its rename held. Not
    // empty: the main's preflight creates and at once removes an empty probe of the same
    // form, which a loaded machine can leave in view long enough to be found here.
    let deadline = Instant::now() + WAIT;
    let temp = loop {
        let found = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.metadata().is_ok_and(|m| m.len() > 0))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| n.starts_with(".data.json.tmp."));
        if found.is_some() || Instant::now() > deadline {
            break found;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // Meanwhile, a locked run: its buyers take the lock and sweep. (Every check waits until
    // the unlocked run has ended too, so that a failure leaves no process behind.)
    let locked = temp.as_ref().map(|_| {
        procdemo([
            "--json",
            "--time-scale",
            "0",
            "tickets",
            "--buyers",
            "2",
            "--data",
            s(&data),
        ])
        .run()
    });
    let temp_survived = temp.as_ref().map(|t| dir.path().join(t).exists());
    let out = unlocked.finish();

    let (Some(temp), Some(locked)) = (temp, locked) else {
        panic!("the unlocked buyer wrote no temporary file: {}", out.stdout);
    };
    success(&locked);
    assert!(
        locked.events_of("temps_cleaned").is_empty(),
        "the live writer's {temp} was taken for a stale file"
    );
    assert_eq!(temp_survived, Some(true), "{temp} is gone");
    out.expect_code(0);
    assert!(
        out.stderr.is_empty(),
        "the unlocked buyer failed: {}",
        out.stderr
    );
    assert_eq!(out.events_of("bought").len(), 1);
    // Both runs read 5; the unlocked buyer, renaming last, wrote 4: the race of --no-lock.
    assert_eq!(ticket_count(&data), 4);
    assert_eq!(names_in(dir.path()), ["data.json", "data.json.lock"]);
}

// ---------------------------------------------------------------------------------------------
// 7. Big files: keys are kept, the limit is an error.

fn big_files_keep_their_keys_and_too_big_is_an_error() {
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    let notes = "♪".repeat(40 * 1024); // 120 KiB of UTF-8
    fs::write(
        &data,
        format!(r#"{{"ticket": 5, "owner": "alice", "notes": "{notes}"}}"#),
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "--json",
            "--time-scale",
            "0",
            "tickets",
            "--buyers",
            "1",
            "--data",
            s(&data),
        ];
        args.extend_from_slice(extra);
        procdemo(args).run()
    };

    // --tickets keeps every other key of a valid file over 64 KiB.
    let out = run(&["--tickets", "3"]);
    success(&out);
    let file: Value = serde_json::from_slice(&fs::read(&data).unwrap()).unwrap();
    assert_eq!(file["ticket"], 2);
    assert_eq!(file["owner"], "alice", "a key was dropped");
    assert_eq!(file["notes"].as_str().map(str::len), Some(notes.len()));
    // And so does a plain run.
    success(&run(&[]));
    let file: Value = serde_json::from_slice(&fs::read(&data).unwrap()).unwrap();
    assert_eq!(
        (file["ticket"].as_u64(), &file["owner"]),
        (Some(1), &"alice".into())
    );

    // Over 1 MiB: an error that names the file and the limit, with or without --tickets, and
    // the file stays as it was.
    let huge = format!(
        r#"{{"ticket": 5, "owner": "bob", "notes": "{}"}}"#,
        "x".repeat(1024 * 1024)
    );
    fs::write(&data, &huge).unwrap();
    for extra in [&["--tickets", "3"][..], &[]] {
        let out = run(extra);
        out.expect_code(1).expect_no_panic();
        assert_eq!(
            out.stderr,
            format!(
                "procdemo: error: {}: file too large to be a ticket file (over 1 MiB, \
                 procdemo's limit)\n",
                data.display()
            ),
            "{extra:?}"
        );
        assert!(out.events_of("reset").is_empty());
        assert!(out.events_of("spawned").is_empty());
        assert_eq!(fs::read_to_string(&data).unwrap(), huge, "{extra:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// 8. Errors are one clear line, and checked once, up front.

/// `$'\xHH...'` for every byte: how the test itself hands bash a file name.
fn bash_bytes(name: &[u8]) -> String {
    let mut out = String::from("$'");
    for b in name {
        out.push_str(&format!("\\x{b:02x}"));
    }
    out.push('\'');
    out
}

/// stderr is exactly one line, and nothing in it can move the cursor or recolour the terminal.
fn assert_one_printable_line(stderr: &str, case: &str) {
    let body = stderr
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("{case}: {stderr:?}"));
    assert!(
        !body
            .chars()
            .any(|c| c.is_control() || ('\u{2028}'..='\u{202e}').contains(&c)),
        "{case}: not one printable line: {stderr:?}"
    );
}

/// A path with a newline used to give a four-line error, one with an escape sequence wrote it
/// raw to the terminal, and a name that is not UTF-8 was shown with U+FFFD, so that the
/// suggested `--tickets 1` command named another file. Now each path is one shell word, and
/// pasting the suggested command creates exactly the file the run wanted.
fn paths_in_messages_are_one_line_and_name_the_right_file() {
    let names: [&[u8]; 4] = [
        b"bad\nname.json",
        b"\x1b[31mred\x1b[0m.json",
        b"d\xffta.json",
        "x\u{202e}nosj.json".as_bytes(),
    ];
    for name in names {
        let case = String::from_utf8_lossy(name).escape_debug().to_string();
        let dir = harness::temp_dir();
        let data = dir.path().join(OsStr::from_bytes(name));
        let script = format!(
            "\"$PROCDEMO\" --json tickets --buyers 1 --data {}",
            bash_bytes(name)
        );
        let out = shell(&script).cwd(dir.path()).run();
        out.expect_code(1).expect_no_panic();
        assert_one_printable_line(&out.stderr, &case);
        assert!(
            out.stderr.starts_with("procdemo: error: $'") && out.stderr.contains(": no such file"),
            "{case}: {:?}",
            out.stderr
        );
        // The suggested command, pasted into a shell (quicker: no sleeping, one buyer).
        let suggested = out
            .stderr
            .split('`')
            .nth(1)
            .unwrap_or_else(|| panic!("{case}: no command in {:?}", out.stderr));
        let rest = suggested
            .strip_prefix("procdemo tickets ")
            .unwrap_or_else(|| panic!("{case}: {suggested}"));
        let pasted = format!("\"$PROCDEMO\" --json --time-scale 0 tickets --buyers 1 {rest}");
        let out = shell(&pasted).cwd(dir.path()).run();
        success(&out);
        assert_eq!(
            fs::read_to_string(&data).unwrap_or_else(|e| panic!("{case}: {e}; ran {pasted}")),
            "{\"ticket\": 0}\n",
            "{case}"
        );
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            2,
            "{case}: another file was created"
        );

        // Any other error names it the same way: an invalid file.
        fs::write(&data, "{\"ticket\": oops}").unwrap();
        let out = shell(&script).cwd(dir.path()).run();
        out.expect_code(1);
        assert_one_printable_line(&out.stderr, &case);
        assert!(
            out.stderr.contains(": invalid JSON"),
            "{case}: {}",
            out.stderr
        );
    }
}

/// `--data nodir/data.json` used to suggest `--tickets 1`, which then failed on the lock file.
/// Both say the directory is missing, in one line, and create nothing.
fn a_missing_directory_is_named_not_reset() {
    let dir = harness::temp_dir();
    for extra in [&[][..], &["--tickets", "1"]] {
        let mut args = vec!["--json", "tickets", "--data", "nodir/data.json"];
        args.extend_from_slice(extra);
        let out = procdemo(args).cwd(dir.path()).run();
        out.expect_code(1).expect_no_panic();
        assert_eq!(
            out.stderr, "procdemo: error: nodir/data.json: the directory nodir does not exist\n",
            "{extra:?}"
        );
        assert!(out.stdout.lines().all(|l| !l.contains("spawned")));
        assert!(names_in(dir.path()).is_empty());
    }
}

/// procdemo copied where another user can run it.
fn copy_of_the_binary(dir: &Path) -> String {
    let bin = dir.join("procdemo");
    fs::copy(harness::procdemo_bin(), &bin).unwrap();
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
    bin.to_str().unwrap().to_owned()
}

fn am_root() -> bool {
    fs::metadata("/proc/self").unwrap().uid() == 0
}

/// Run procdemo where the directory of the data is not writable: as `nobody` when we are root
/// (root writes anywhere), as ourselves otherwise.
fn run_without_write_permission(bin_dir: &Path, args: &[&str]) -> Outcome {
    if am_root() {
        let bin = copy_of_the_binary(bin_dir);
        let mut all = vec!["--reuid=65534", "--regid=65534", "--clear-groups", &bin];
        all.extend_from_slice(args);
        harness::command("setpriv", all).run()
    } else {
        procdemo(args.iter().copied()).run()
    }
}

/// A directory the user cannot write to used to give one error per buyer plus a summary that
/// looked like success. The main now checks the lock file and a temporary file up front and
/// fails once, naming the data file.
fn a_read_only_directory_fails_once_naming_the_file() {
    let bin_dir = harness::temp_dir();
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    fs::write(&data, "{\"ticket\": 3}").unwrap();
    let mode = if am_root() { 0o755 } else { 0o555 };
    let lock = dir.path().join("data.json.lock");
    let args = [
        "--json",
        "--time-scale",
        "0",
        "tickets",
        "--buyers",
        "3",
        "--data",
        s(&data),
    ];
    // No lock file yet: it cannot be created. Then a lock file anyone may open: the
    // temporary file still cannot be created.
    for (lock_exists, expected) in [
        (false, "cannot open or create the lock file beside it: "),
        (true, "cannot create a temporary file beside it ("),
    ] {
        if lock_exists {
            fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
            fs::write(&lock, "").unwrap();
            fs::set_permissions(&lock, fs::Permissions::from_mode(0o666)).unwrap();
        }
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(mode)).unwrap();
        let out = run_without_write_permission(bin_dir.path(), &args);
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        out.expect_code(1).expect_no_panic();
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        let prefix = format!("procdemo: error: {}: {expected}", data.display());
        assert!(
            out.stderr.starts_with(&prefix) && out.stderr.contains("Permission denied"),
            "{}",
            out.stderr
        );
        assert!(out.events_of("spawned").is_empty());
        assert!(out.events_of("summary").is_empty());
        assert_eq!(fs::read_to_string(&data).unwrap(), "{\"ticket\": 3}");
    }
}

/// A name so long that `.NAME.tmp.PID` passes NAME_MAX (255 bytes): the lock file fits, the
/// temporary file does not. Every buyer used to fail at its write; now the main fails once.
fn a_name_too_long_for_the_temporary_file_fails_once() {
    let dir = harness::temp_dir();
    let data = dir.path().join(format!("{}.json", "t".repeat(245)));
    fs::write(&data, "{\"ticket\": 3}").unwrap();
    for extra in [&[][..], &["--tickets", "2"]] {
        let mut args = vec![
            "--json",
            "--time-scale",
            "0",
            "tickets",
            "--buyers",
            "3",
            "--data",
            s(&data),
        ];
        args.extend_from_slice(extra);
        let out = procdemo(args).run();
        out.expect_code(1).expect_no_panic();
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(
            out.stderr.starts_with(&format!(
                "procdemo: error: {}: the name is too long: ",
                data.display()
            )) && out
                .stderr
                .contains("over the 255 a file name may have there"),
            "{}",
            out.stderr
        );
        assert!(out.events_of("spawned").is_empty());
        assert_eq!(fs::read_to_string(&data).unwrap(), "{\"ticket\": 3}");
    }
}

// ---------------------------------------------------------------------------------------------
// Property: random ticket files through the real binary.

/// An independent judge of a ticket file: serde_json alone, on the text without a byte order
/// mark. `Some(count)` for a valid file.
fn judge(bytes: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(bytes).ok()?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    serde_json::from_str::<Value>(text)
        .ok()?
        .as_object()?
        .get("ticket")?
        .as_u64()
}

/// Every file is either accepted (the run sells from it and keeps its other keys) or refused
/// with exit 1, one printable line naming it, the bytes unchanged and nothing created.
fn random_ticket_files_are_accepted_or_refused_untouched() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestCaseError, TestRunner};

    let piece = prop_oneof![
        Just("{"),
        Just("}"),
        Just("\"ticket\""),
        Just("\"owner\""),
        Just(": "),
        Just(", "),
        Just("["),
        Just("]"),
        Just("\""),
        Just("0"),
        Just("7"),
        Just("-1"),
        Just("1.0"),
        Just("18446744073709551616"),
        Just("null"),
        Just("\u{feff}"),
        Just("\u{1b}[31m"),
        Just("\n"),
    ];
    let near = prop::collection::vec(piece, 0..12).prop_map(|p| p.concat().into_bytes());
    let valid = (
        any::<u64>(),
        prop::collection::vec(("[a-z]{1,5}", any::<i32>()), 0..3),
    )
        .prop_map(|(n, others)| {
            let mut members = vec![format!("\"ticket\": {n}")];
            members.extend(others.iter().map(|(k, v)| format!("\"{k}\": {v}")));
            format!("{{{}}}", members.join(", ")).into_bytes()
        });
    let files = prop_oneof![
        2 => near,
        1 => valid,
        1 => prop::collection::vec(any::<u8>(), 0..48),
    ];

    let config = Config {
        cases: 40,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let (accepted, refused) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
    let result = runner.run(&files, |bytes| {
        let dir = harness::temp_dir();
        let data = dir.path().join("data.json");
        fs::write(&data, &bytes).unwrap();
        let out = procdemo([
            "--json",
            "--time-scale",
            "0",
            "tickets",
            "--buyers",
            "1",
            "--data",
            s(&data),
        ])
        .run();
        let after = fs::read(&data).unwrap();
        match judge(&bytes) {
            Some(count) => {
                accepted.set(accepted.get() + 1);
                prop_assert_eq!(out.code(), Some(0), "{}", out.stderr);
                prop_assert_eq!(&out.summary()["initial"], count);
                let before: Value = serde_json::from_str(
                    std::str::from_utf8(&bytes)
                        .unwrap()
                        .trim_start_matches('\u{feff}'),
                )
                .unwrap();
                let now: Value = serde_json::from_slice(&after).unwrap();
                let mut expected = before.clone();
                expected["ticket"] = count.saturating_sub(1).into();
                prop_assert_eq!(now, expected);
            }
            None => {
                refused.set(refused.get() + 1);
                prop_assert_eq!(out.code(), Some(1), "{}", out.stdout);
                let body = out.stderr.strip_suffix('\n').unwrap_or("");
                prop_assert!(
                    body.starts_with(&format!("procdemo: error: {}: ", data.display()))
                        && !body.chars().any(|c| c.is_control()),
                    "not one clear line: {:?}",
                    out.stderr
                );
                prop_assert_eq!(&after, &bytes, "the file was changed");
                prop_assert_eq!(names_in(dir.path()), ["data.json"]);
            }
        }
        Ok::<(), TestCaseError>(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (accepted, refused) = (accepted.get(), refused.get());
    assert!(
        accepted > 0 && refused > 0,
        "{accepted} accepted, {refused} refused"
    );
}

// ---------------------------------------------------------------------------------------------
// Chaos: SIGKILL random buyers and mains of concurrent locked runs on one file.

/// xorshift64*: enough randomness for choosing victims, and reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn sleep_ms(&mut self, max: u64) {
        std::thread::sleep(Duration::from_millis(self.below(max + 1)));
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The children of `pid`, from /proc.
fn children_of(pid: Pid) -> Vec<Pid> {
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .map(Pid::from_raw)
        .collect()
}

/// Several locked runs at once on one file; random buyers and mains are SIGKILLed at random
/// moments (in the lock, between the temporary file and the rename, after the rename but
/// before the `bought` line). Afterwards, and after one last run that sweeps: the file is
/// valid and keeps its other key; no ticket was sold twice (each `remaining` reported once,
/// and `bought` lines ≤ how far the count went down: a buyer killed after its rename but
/// before its line sold a ticket nobody heard of); no temporary file is left; and every run
/// left no process behind (the reaper's check; runs whose main was killed get 1 s of grace).
///
/// `CHAOS_ITERATIONS` (default 150) and `CHAOS_SECONDS` (default 40, 0 = no limit) bound it;
/// `CHAOS_SEED` replays a run. `tests/chaos.sh` runs the full length.
fn chaos_sigkill_buyers_and_mains() {
    let iterations = env_number("CHAOS_ITERATIONS", 150);
    let seconds = env_number("CHAOS_SECONDS", 40);
    let seed = env_number(
        "CHAOS_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            | 1,
    );
    let mut rng = Rng(seed);
    let started = Instant::now();
    let dir = harness::temp_dir();
    let data = dir.path().join("data.json");
    const INITIAL: u64 = 1_000_000;
    fs::write(
        &data,
        format!("{{\"ticket\": {INITIAL}, \"owner\": \"chaos\"}}\n"),
    )
    .unwrap();

    let mut remaining_sold: Vec<u64> = Vec::new();
    let (mut runs, mut buyers_killed, mut mains_killed, mut done, mut swept) = (0, 0, 0, 0, 0);
    for _ in 0..iterations {
        if seconds > 0 && started.elapsed() > Duration::from_secs(seconds) {
            break;
        }
        done += 1;
        let mut live: Vec<_> = (0..2 + rng.below(2))
            .map(|_| {
                let buyers = (2 + rng.below(5)).to_string();
                let scale = ["0", "0.01", "0.03"][rng.below(3) as usize];
                procdemo([
                    "--json",
                    "--time-scale",
                    scale,
                    "tickets",
                    "--buyers",
                    &buyers,
                    "--data",
                    s(&data),
                ])
                .grace(Duration::from_secs(1))
                .spawn()
            })
            .collect();
        runs += live.len();
        let mains: Vec<Pid> = live.iter_mut().map(|l| l.main_pid()).collect();
        rng.sleep_ms(40);
        for main in &mains {
            match rng.below(10) {
                0..=1 => {
                    rng.sleep_ms(30);
                    if kill(*main, Signal::SIGKILL).is_ok() {
                        mains_killed += 1;
                    }
                }
                2..=7 => {
                    for _ in 0..1 + rng.below(2) {
                        let children = children_of(*main);
                        if children.is_empty() {
                            break;
                        }
                        let victim = children[rng.below(children.len() as u64) as usize];
                        if kill(victim, Signal::SIGKILL).is_ok() {
                            buyers_killed += 1;
                        }
                        rng.sleep_ms(15);
                    }
                }
                _ => {}
            }
        }
        for run in live {
            let out = run.finish();
            out.expect_no_panic();
            // Killed (SIGKILL) or ended on its own (0): never a failure, never an oversell.
            if out.signal() != Some("SIGKILL") {
                out.expect_code(0);
                assert!(out.stderr.is_empty(), "seed {seed}: {}", out.stderr);
                assert_eq!(out.summary()["oversold"], false, "seed {seed}");
            }
            remaining_sold.extend(
                out.events_of("bought")
                    .iter()
                    .map(|e| e["remaining"].as_u64().expect("a count")),
            );
            swept += out.temps_cleaned();
        }
    }

    // One last locked run, left alone: it sweeps what killed writers left.
    let out = procdemo([
        "--json",
        "--time-scale",
        "0",
        "tickets",
        "--buyers",
        "1",
        "--data",
        s(&data),
    ])
    .run();
    success(&out);
    remaining_sold.extend(
        out.events_of("bought")
            .iter()
            .map(|e| e["remaining"].as_u64().unwrap()),
    );
    swept += out.temps_cleaned();

    let file: Value = serde_json::from_slice(&fs::read(&data).unwrap())
        .unwrap_or_else(|e| panic!("seed {seed}: the file is not valid JSON: {e}"));
    let left = file["ticket"].as_u64().expect("a count");
    assert_eq!(file["owner"], "chaos", "seed {seed}: {file}");
    assert_eq!(file.as_object().unwrap().len(), 2, "seed {seed}: {file}");
    let decrease = INITIAL - left;
    let sold = remaining_sold.len() as u64;
    assert!(
        sold <= decrease,
        "seed {seed}: {sold} buyers told they bought, the count went down by {decrease}"
    );
    let mut unique = remaining_sold.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(
        unique.len(),
        remaining_sold.len(),
        "seed {seed}: a count was sold twice"
    );
    assert!(unique.iter().all(|&r| r >= left && r < INITIAL));
    assert_eq!(
        names_in(dir.path()),
        ["data.json", "data.json.lock"],
        "seed {seed}: debris left"
    );
    assert!(
        buyers_killed + mains_killed > 0,
        "seed {seed}: nothing was killed"
    );
    eprintln!(
        "chaos: seed {seed}: {done} iterations, {runs} runs, {buyers_killed} buyers and \
         {mains_killed} mains killed, {sold} bought, count down by {decrease}, {swept} \
         temporary files swept, {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
