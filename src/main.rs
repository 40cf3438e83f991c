//! The `promoter` binary: parse the command line, run, turn the outcome into an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    promoter::main_with(std::env::args_os(), &|name| std::env::var(name).ok())
}
