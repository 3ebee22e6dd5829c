//! Helpers shared by the CLI tests.
#![allow(dead_code)]

use assert_cmd::Command;

/// The `regml` binary of this build.
pub fn regml() -> Command {
    Command::cargo_bin("regml").unwrap()
}

/// Runs `regml args`, expects exit status 1 without a panic and `needle` on stderr.
pub fn fails_with(args: &[&str], needle: &str) {
    let out = regml().args(args).assert().failure();
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains(needle),
        "args {args:?}: stderr should contain {needle:?}, got:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    assert_eq!(out.get_output().status.code(), Some(1), "{stderr}");
}
