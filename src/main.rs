//! rprov: the command-line entry point. Kept thin: parse, run, exit.
fn main() {}
