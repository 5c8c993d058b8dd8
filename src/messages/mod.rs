//! Every human sentence procdemo prints, one file per language. JSON never goes through here.

pub mod en;
