//! The bench's command line.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use clap::Parser;

/// Benchmarks every function binary against DynamoDB Local
/// (`AWS_ENDPOINT_URL_DYNAMODB`) through a Runtime API of its own.
///
/// `--throttled`: cold start and warm latency under the cgroup v1 CPU quota of a
/// 128 MB and a 1024 MB Lambda (needs a writable /sys/fs/cgroup/cpu).
#[derive(Parser, Debug)]
#[command(name = "bench")]
pub struct Args {
    /// A few iterations (the debug binaries by default).
    #[arg(long)]
    pub quick: bool,
    /// The folder of the binaries [default: $CARGO_TARGET_DIR/debug with
    /// --quick, $CARGO_TARGET_DIR/lambda otherwise].
    #[arg(long = "bin-dir", value_name = "DIR")]
    bin_dir_arg: Option<PathBuf>,
    /// Write the report there (keeping its hand-written analysis) instead of
    /// printing it.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Warm invocations per endpoint instead of the mode's default.
    #[arg(long, value_name = "N")]
    pub warm: Option<usize>,
    /// Cold starts per binary instead of the mode's default.
    #[arg(long, value_name = "N")]
    pub cold: Option<usize>,
    /// Only compare the warm latency of every endpoint with the binaries of this
    /// folder, invocation by invocation (an A/B test of a change), and exit.
    #[arg(long, value_name = "OTHER_DIR")]
    pub compare: Option<PathBuf>,
    /// Only run the CPU-throttled comparison and exit.
    #[arg(long)]
    pub throttled: bool,
    /// `--throttled`: do not refill the group's budget before each cold start.
    #[arg(long)]
    pub shared_budget: bool,
    /// The folder of the binaries (resolved).
    #[arg(skip)]
    pub bin_dir: PathBuf,
    /// The workspace root (for `events/`).
    #[arg(skip)]
    pub root: PathBuf,
}

impl Args {
    /// The command line, with the defaults that depend on the environment filled in.
    pub fn from_env() -> Result<Self> {
        let mut args = Self::parse();
        args.root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map(Path::to_path_buf)
            .ok_or_else(|| anyhow!("no workspace root"))?;
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| args.root.join("target"));
        args.bin_dir = match &args.bin_dir_arg {
            Some(dir) => dir.clone(),
            None if args.quick => target.join("debug"),
            None => target.join("lambda"),
        };
        Ok(args)
    }

    /// (cold starts per binary, warm invocations per endpoint, history entries of
    /// the creator) of the mode, with `--cold` and `--warm` applied.
    pub fn counts(&self) -> (usize, usize, usize) {
        let (n_cold, n_warm, history) = if self.quick {
            (3, 20, 25)
        } else {
            (30, 500, 40)
        };
        (
            self.cold.unwrap_or(n_cold),
            self.warm.unwrap_or(n_warm),
            history,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flags_of_scripts_bench_sh_and_the_docs_parse() {
        let a = Args::try_parse_from(["bench", "--quick", "--bin-dir", "t/debug"]).unwrap();
        assert!(a.quick && !a.throttled);
        assert_eq!(a.bin_dir_arg, Some(PathBuf::from("t/debug")));
        assert_eq!(a.counts(), (3, 20, 25));
        let a = Args::try_parse_from(["bench", "--bin-dir", "t/lambda", "--out", "b.md"]).unwrap();
        assert_eq!(a.out, Some(PathBuf::from("b.md")));
        assert_eq!(a.counts(), (30, 500, 40));
        let a = Args::try_parse_from([
            "bench",
            "--throttled",
            "--cold",
            "30",
            "--warm",
            "200",
            "--shared-budget",
        ])
        .unwrap();
        assert!(a.throttled && a.shared_budget);
        assert_eq!((a.cold, a.warm), (Some(30), Some(200)));
        let a = Args::try_parse_from(["bench", "--compare", "other", "--warm", "9"]).unwrap();
        assert_eq!(a.compare, Some(PathBuf::from("other")));
        assert!(Args::try_parse_from(["bench", "--nope"]).is_err());
    }
}
