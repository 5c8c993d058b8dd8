#[allow(dead_code)]
mod lock;
#[allow(dead_code)]
mod ticketfile;

fn main() {}
