//! The end-to-end tests of `tamis`, one binary (as wasmtime's `tests/all`): each module runs the binary
//! cargo built for these tests (`CARGO_BIN_EXE_tamis`) on real data from `../shared/data` and checks what
//! it wrote. The helpers come from the `tamis-tests` library; the four that start `tamis` are wrapped
//! here so that they start this binary.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

use anyhow::Result;
pub use tamis_tests::*;

mod accounting;
mod decontaminate;
mod dedup;
mod engines;
mod fasttext;
mod format;
mod formats;
mod hardening;
mod hostile;
mod lineage;
mod report;
mod resume;
mod s3;
mod sample;
mod select;
mod shard;
mod tokenize;
mod warc;

fn this_binary() {
    use_binary(env!("CARGO_BIN_EXE_tamis"));
}

/// [`tamis_tests::tamis`] with this package's binary.
pub fn tamis(args: &[&OsStr]) -> Result<Output> {
    this_binary();
    tamis_tests::tamis(args)
}

/// [`tamis_tests::tamis_command`] with this package's binary.
pub fn tamis_command() -> Result<Command> {
    this_binary();
    tamis_tests::tamis_command()
}

/// [`tamis_tests::tamis_job`] with this package's binary.
pub fn tamis_job(
    command: &str,
    config: &Path,
    input: &Path,
    output: &Path,
    extra: &[&str],
) -> Result<Output> {
    this_binary();
    tamis_tests::tamis_job(command, config, input, output, extra)
}

/// [`tamis_tests::tamis_job_ok`] with this package's binary.
pub fn tamis_job_ok(
    command: &str,
    config: &Path,
    input: &Path,
    output: &Path,
    extra: &[&str],
) -> Result<String> {
    this_binary();
    tamis_tests::tamis_job_ok(command, config, input, output, extra)
}
