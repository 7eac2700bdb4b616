//! The `loopwise` command: `check`, `server` and `rule`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use loopwise::cli::{self, CheckArgs, OutputFormat};

#[derive(Parser)]
#[command(name = "loopwise", version, about = "Finds asyncio pitfalls in Python code")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check files or folders (default: the current folder); `-` reads standard input.
    Check {
        paths: Vec<PathBuf>,
        /// How to print findings.
        #[arg(long, value_enum, default_value_t = OutputFormat::Full)]
        output_format: OutputFormat,
        /// Rules to enable instead of the configured ones: codes, prefixes or aliases.
        #[arg(long, value_delimiter = ',')]
        select: Option<Vec<String>>,
        /// Rules to enable on top of the configured ones.
        #[arg(long, value_delimiter = ',')]
        extend_select: Vec<String>,
        /// Rules to disable.
        #[arg(long, value_delimiter = ',')]
        ignore: Vec<String>,
        /// The Python version to assume, e.g. 3.11 or py311.
        #[arg(long)]
        target_version: Option<String>,
        /// Use this configuration file for every file instead of discovering them.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Exit with 0 even when there are findings (errors still exit with 2).
        #[arg(long)]
        exit_zero: bool,
        /// Print counts per rule instead of the findings.
        #[arg(long)]
        statistics: bool,
        /// The file name to report (and to find configuration for) when reading standard input.
        #[arg(long)]
        stdin_filename: Option<PathBuf>,
    },
    /// Run the language server on standard input and output.
    Server,
    /// Explain a rule, or list every rule.
    Rule {
        /// A code, alias or rule name: `LW101`, `ASYNC251`, `blocking-sleep`.
        code: Option<String>,
        /// List every rule.
        #[arg(long)]
        all: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check {
            paths,
            output_format,
            select,
            extend_select,
            ignore,
            target_version,
            config,
            exit_zero,
            statistics,
            stdin_filename,
        } => cli::check(&CheckArgs {
            paths,
            output_format,
            select,
            extend_select,
            ignore,
            target_version,
            config,
            exit_zero,
            statistics,
            stdin_filename,
        }),
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
        Command::Rule { code, all } => cli::rule(code.as_deref(), all),
    }
}
