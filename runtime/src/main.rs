//! The `eventdriven` binary: the image entrypoint of every Job and of the Lambda, and the
//! local runner.

fn main() -> std::process::ExitCode {
    limit_malloc_arenas();
    eventdriven_runtime::cli::main()
}

/// glibc gives each thread that allocates its own arena, up to eight per core, and keeps what
/// is freed in each: rows parsed on many threads then hold the RSS of a run high. Two arenas
/// keep it low at no measured cost (`make bench`).
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called first in main, before any other thread exists or allocates.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
