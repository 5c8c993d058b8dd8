//! The integration tests: one libtest-mimic binary that runs procdemo as a user would.

mod tickets;

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let mut trials = Vec::new();
    trials.extend(tickets::tests());
    libtest_mimic::run(&args, trials).exit();
}
