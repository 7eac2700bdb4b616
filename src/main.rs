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
    Check(CheckArgs),
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => cli::check(&args),
        Command::Server => match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
            Ok(runtime) => {
                runtime.block_on(loopwise::lsp::run_stdio());
                // Tokio reads stdin on a blocking thread that no one can interrupt; waiting for
                // it on drop would keep the process alive after `exit` until the editor closes
                // the pipe.
                runtime.shutdown_timeout(std::time::Duration::from_millis(100));
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: cannot start the language server's runtime: {error}");
                ExitCode::from(2)
            }
        },
        Command::Rule { code, all, output_format } => cli::rule(code.as_deref(), all, output_format),
    }
}
