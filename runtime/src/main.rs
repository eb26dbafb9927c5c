//! The `eventdriven` binary: the image entrypoint of every Job and of the Lambda, and the
//! local runner.

fn main() -> std::process::ExitCode {
    eventdriven_runtime::cli::main()
}
