//! The `loopwise` command: `check`, `server` and `rule`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use loopwise::cli::{self, CheckArgs, RuleFormat};

#[derive(Parser)]
#[command(name = "loopwise", version, about = "Finds asyncio pitfalls in Python code")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check files or folders (default: the current folder); `-` reads standard input.
    // Boxed: the check's many flags would make every `Command` as large as they are.
    Check(Box<CheckArgs>),
    /// Run the language server on standard input and output.
    Server,
    /// Explain a rule, or list every rule.
    Rule {
        /// A code, alias or rule name: `LW101`, `ASYNC251`, `blocking-sleep`.
        code: Option<String>,
        /// List every rule.
        #[arg(long)]
        all: bool,
        /// `markdown` with `--all`: every explanation as one document (`docs/rules.md`).
        #[arg(long, value_enum, default_value_t = RuleFormat::Text)]
        output_format: RuleFormat,
    },
}

/// mimalloc 3's numbers for two of its options (`mi_option_e` in its `mimalloc.h`, which the
/// bindings do not name); the assertion below stops the build if the bundled list changes.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
const ALLOW_THP: libmimalloc_sys::mi_option_t = 43;
const _: () = assert!(libmimalloc_sys::_mi_option_last == 47, "mimalloc's option numbers changed: check them");

fn main() -> ExitCode {
    // tree-sitter's allocations (every parse builds and frees a whole tree) go to mimalloc:
    // HA cold, CPU 8.69 -> 7.32 s. Freed memory goes back at once and no huge pages are used,
    // or the peak grows (33.6 MiB with mimalloc's defaults, 27.4 with these, 29.7 with malloc).
    // SAFETY: called first, on the only thread, before any tree-sitter object exists;
    // mimalloc's functions keep malloc's contract (alignment, null only on failure).
    unsafe {
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
        libmimalloc_sys::mi_option_set(ALLOW_THP, 0);
        tree_sitter::set_allocator(Some(tree_sitter::Allocator {
            malloc: libmimalloc_sys::mi_malloc,
            calloc: libmimalloc_sys::mi_calloc,
            realloc: libmimalloc_sys::mi_realloc,
            free: libmimalloc_sys::mi_free,
        }));
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => cli::check(&args),
        Command::Server => {
            limit_malloc_arenas();
            serve()
        }
        Command::Rule { code, all, output_format } => cli::rule(code.as_deref(), all, output_format),
    }
}

/// The server analyses on whichever of tokio's blocking threads is free, and glibc's malloc
/// gives each thread its own arena, which keeps what the thread freed: after 1,000 edits of
/// the 20k-line file the server held 72 MiB with one arena per thread and 39 MiB with one in
/// all (100k lines: 225 and 138 MiB), at the same latency per keystroke. A document's updates
/// take its lock one at a time, so the threads seldom contend for the one arena.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called before the runtime starts, while this is the only thread; `mallopt`
    // only sets an option of glibc's allocator (a failure leaves the default).
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

fn serve() -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => {
            let shut_down = runtime.block_on(loopwise::lsp::run_stdio());
            // Tokio reads stdin on a blocking thread that no one can interrupt; waiting for
            // it on drop would keep the process alive after `exit` until the editor closes
            // the pipe.
            runtime.shutdown_timeout(std::time::Duration::from_millis(100));
            // LSP: `exit` without a `shutdown` first (or the input ending) exits with 1.
            if shut_down { ExitCode::SUCCESS } else { ExitCode::from(1) }
        }
        Err(error) => {
            eprintln!("error: cannot start the language server's runtime: {error}");
            ExitCode::from(2)
        }
    }
}
