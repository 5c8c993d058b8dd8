//! The ticket file: `{"ticket": N}`, the tickets left, shared by every buyer.
//!
//! - [`format`]: the file's contents. [`parse`] checks bytes and gives [`Tickets`]; other
//!   keys are kept, in their order, and written back in the tutorial's `json.dump` style.
//!   Never touches the disk.
//! - [`store`]: the file on disk. [`read`] it (only a regular file, at most [`MAX_BYTES`]);
//!   [`write_atomic`] replaces it in one step (temporary file, fsync, rename, fsync of the
//!   directory); [`clean_stale_temps`] removes the temporary files of writers that were
//!   killed, and only theirs; [`preflight`] is the main's check, before anything is
//!   written, that a run can do what it is asked.
//!
//! Every message names a path as a shell word (see `quote`).

pub mod format;
pub mod store;

// What the rest of procdemo uses; the rest is reachable through `format::` and `store::`.
pub use format::Tickets;
pub use store::{
    clean_stale_temps, has_temps, preflight, read, read_raw, reset_command, write_atomic, Plan,
};
