//! What the command-line tests share: running the built binary in a folder and reading what it
//! printed. Each test crate uses a part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `loopwise ARGS` in `folder`, with no cache folder nor colour choice inherited from the
/// environment (a CI runner may set `FORCE_COLOR`).
pub fn loopwise(folder: &Path, args: &[&str]) -> Output {
    loopwise_with_env(folder, args, &[])
}

/// `loopwise ARGS` in `folder` with the variables `env` set, and otherwise as [`loopwise`].
pub fn loopwise_with_env(folder: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_loopwise"));
    command.current_dir(folder);
    for name in ["LOOPWISE_CACHE_DIR", "NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "CLICOLOR"] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied()).args(args).output().expect("the loopwise binary runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Writes `root/name`, making its folders.
pub fn write(root: &Path, name: &str, content: &[u8]) -> PathBuf {
    let path = root.join(name);
    std::fs::create_dir_all(path.parent().expect("a file has a parent")).expect("create folders");
    std::fs::write(&path, content).expect("write file");
    path
}
