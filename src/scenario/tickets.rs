//! # tickets (being written)

use std::path::Path;

use anyhow::{bail, Result};

use crate::cli::{Global, TicketsArgs};
use crate::event::Out;
use crate::time::TimeScale;

pub fn run(_g: &Global, _args: &TicketsArgs) -> Result<()> {
    bail!("the tickets scenario is not written yet")
}

pub fn buyer(_out: &Out, _scale: TimeScale, _data: &Path, _lock: bool) -> Result<()> {
    bail!("the tickets scenario is not written yet")
}
