//! What the command-line tests share: running the built binary in a folder and reading what it
//! printed. Each test crate uses a part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `loopwise ARGS` in `folder`, with no cache folder inherited from the environment.
pub fn loopwise(folder: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loopwise"))
        .current_dir(folder)
        .env_remove("LOOPWISE_CACHE_DIR")
        .args(args)
        .output()
        .expect("the loopwise binary runs")
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
