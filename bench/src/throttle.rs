//! CPU throttling like Lambda's: a cgroup v1 `cpu` group with a CFS quota in
//! proportion to the memory size (1,769 MB = 1 vCPU), for `bench --throttled`.
//! Only the function process goes into the group (through a shell wrapper that moves
//! itself in before it `exec`s the bootstrap, so the init is throttled too).

use std::io;
use std::path::{Path, PathBuf};

/// Where cgroup v1 mounts the `cpu` controller.
pub const CPU_ROOT: &str = "/sys/fs/cgroup/cpu";
/// The CFS period of the groups, microseconds (the kernel's default).
pub const PERIOD_US: u64 = 100_000;
/// Lambda's memory size that gets one full vCPU.
pub const MB_PER_VCPU: f64 = 1769.0;
/// The smallest quota the kernel accepts, microseconds.
const MIN_QUOTA_US: u64 = 1_000;

/// The vCPUs Lambda gives a function of `memory_mb`.
pub fn vcpus(memory_mb: u32) -> f64 {
    f64::from(memory_mb) / MB_PER_VCPU
}

/// The CFS quota (microseconds per `period_us`) of a function of `memory_mb`,
/// rounded to the nearest microsecond, at least the kernel's minimum.
pub fn quota_us(memory_mb: u32, period_us: u64) -> u64 {
    let q = (vcpus(memory_mb) * period_us as f64).round() as u64;
    q.max(MIN_QUOTA_US)
}

/// (nr_periods, nr_throttled, throttled_time ns) from the text of `cpu.stat`.
pub fn parse_cpu_stat(text: &str) -> Option<(u64, u64, u64)> {
    let get = |key: &str| {
        text.lines().find_map(|l| {
            let (k, v) = l.split_once(' ')?;
            (k == key).then(|| v.trim().parse::<u64>().ok()).flatten()
        })
    };
    Some((
        get("nr_periods")?,
        get("nr_throttled")?,
        get("throttled_time")?,
    ))
}

/// A `cpu` cgroup of our own; removed on drop (any process left in it is moved to
/// the root group first, so the removal cannot fail on a straggler).
#[derive(Debug)]
pub struct CpuCgroup {
    path: PathBuf,
    root: PathBuf,
}

impl CpuCgroup {
    /// Creates `root/name` with `quota_us` per `period_us` (`None`: no limit, -1).
    /// A group of that name left over from an earlier run is reused.
    pub fn create(
        root: &Path,
        name: &str,
        quota_us: Option<u64>,
        period_us: u64,
    ) -> io::Result<Self> {
        let path = root.join(name);
        match std::fs::create_dir(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        let group = Self {
            path,
            root: root.to_path_buf(),
        };
        // The period first: a quota is checked against it.
        std::fs::write(group.path.join("cpu.cfs_period_us"), period_us.to_string())?;
        let quota = quota_us.map_or("-1".to_owned(), |q| q.to_string());
        std::fs::write(group.path.join("cpu.cfs_quota_us"), quota)?;
        Ok(group)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file a process writes its pid into to join the group.
    pub fn procs_file(&self) -> PathBuf {
        self.path.join("cgroup.procs")
    }

    /// The quota as the kernel holds it (-1 for none).
    pub fn quota_us(&self) -> io::Result<i64> {
        read_i64(&self.path.join("cpu.cfs_quota_us"))
    }

    pub fn period_us(&self) -> io::Result<i64> {
        read_i64(&self.path.join("cpu.cfs_period_us"))
    }

    /// Writes the quota again: the kernel then refills the group's runtime for the
    /// current period, so the next process starts with a whole period's budget (as a
    /// fresh sandbox would) instead of what the previous one left.
    pub fn refill(&self) -> io::Result<()> {
        let quota = self.quota_us()?;
        std::fs::write(self.path.join("cpu.cfs_quota_us"), quota.to_string())
    }

    /// The pids in the group now.
    pub fn pids(&self) -> Vec<u32> {
        std::fs::read_to_string(self.procs_file())
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// (nr_periods, nr_throttled, throttled_time ns) so far.
    pub fn stat(&self) -> Option<(u64, u64, u64)> {
        parse_cpu_stat(&std::fs::read_to_string(self.path.join("cpu.stat")).ok()?)
    }

    /// Removes the group (see the type's docs).
    pub fn remove(mut self) -> io::Result<()> {
        self.remove_now()
    }

    fn remove_now(&mut self) -> io::Result<()> {
        if !self.path.exists() {
            return Ok(());
        }
        for pid in self.pids() {
            let _ = std::fs::write(self.root.join("cgroup.procs"), pid.to_string());
        }
        std::fs::remove_dir(&self.path)
    }

    /// A command that runs `bin` inside this group from its first instruction on:
    /// `/bin/sh -c 'echo $$ > PROCS && shift && exec "$@"' sh PROCS BIN [ARGS...]`
    /// (the shell moves itself in, then becomes the bootstrap, keeping the pid; further
    /// arguments added to the command go to `BIN`).
    pub fn wrap(&self, bin: &Path) -> (PathBuf, Vec<String>) {
        wrap_command(&self.procs_file(), bin)
    }
}

impl Drop for CpuCgroup {
    fn drop(&mut self) {
        if let Err(e) = self.remove_now() {
            eprintln!(
                "bench: could not remove cgroup {}: {e}",
                self.path.display()
            );
        }
    }
}

/// See [`CpuCgroup::wrap`].
pub fn wrap_command(procs_file: &Path, bin: &Path) -> (PathBuf, Vec<String>) {
    (
        PathBuf::from("/bin/sh"),
        vec![
            "-c".into(),
            r#"echo $$ > "$1" && shift && exec "$@""#.into(),
            "sh".into(),
            procs_file.display().to_string(),
            bin.display().to_string(),
        ],
    )
}

fn read_i64(path: &Path) -> io::Result<i64> {
    std::fs::read_to_string(path)?
        .trim()
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Whether `root` can take a group of ours (creates and removes a probe group).
pub fn writable(root: &Path) -> bool {
    let probe = root.join(format!("bench-probe-{}", std::process::id()));
    if std::fs::create_dir(&probe).is_err() {
        return false;
    }
    std::fs::remove_dir(&probe).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_is_proportional_to_memory() {
        assert_eq!(quota_us(1769, PERIOD_US), 100_000);
        assert_eq!(quota_us(128, PERIOD_US), 7_236);
        assert_eq!(quota_us(1024, PERIOD_US), 57_886);
        assert_eq!(quota_us(3538, PERIOD_US), 200_000);
        assert_eq!(quota_us(10_240, 100_000), 578_858);
        // Never below the kernel's minimum.
        assert_eq!(quota_us(1, PERIOD_US), 1_000);
        assert!((vcpus(128) - 0.0724).abs() < 1e-4);
        assert!((vcpus(1024) - 0.5789).abs() < 1e-4);
    }

    #[test]
    fn cpu_stat_is_parsed() {
        let text =
            "nr_periods 12\nnr_throttled 3\nthrottled_time 456789\nnr_bursts 0\nburst_time 0\n";
        assert_eq!(parse_cpu_stat(text), Some((12, 3, 456_789)));
        assert_eq!(parse_cpu_stat("nr_periods 1\n"), None);
    }

    #[test]
    fn wrapper_joins_the_group_then_execs() {
        let (prog, args) = wrap_command(Path::new("/g/cgroup.procs"), Path::new("/b/boot strap"));
        assert_eq!(prog, PathBuf::from("/bin/sh"));
        assert_eq!(args.first().map(String::as_str), Some("-c"));
        assert_eq!(args.get(3).map(String::as_str), Some("/g/cgroup.procs"));
        assert_eq!(args.get(4).map(String::as_str), Some("/b/boot strap"));
    }

    #[test]
    fn cgroup_is_created_limited_joined_and_removed() {
        let root = Path::new(CPU_ROOT);
        if !writable(root) {
            eprintln!(
                "skipped: {CPU_ROOT} is not writable here (no cgroup v1 cpu controller of ours)"
            );
            return;
        }
        let name = format!("bench-test-{}", std::process::id());
        let group = CpuCgroup::create(root, &name, Some(quota_us(128, PERIOD_US)), PERIOD_US)
            .expect("create");
        let path = group.path().to_path_buf();
        assert!(path.is_dir());
        assert_eq!(group.quota_us().unwrap(), 7_236);
        assert_eq!(group.period_us().unwrap(), 100_000);
        assert!(group.stat().is_some());
        group.refill().expect("refill");
        assert_eq!(group.quota_us().unwrap(), 7_236);
        // A process started through the wrapper is in the group from its start on.
        let (prog, args) = group.wrap(Path::new("/bin/sleep"));
        let mut child = std::process::Command::new(prog)
            .args(&args)
            .arg("5")
            .spawn()
            .expect("spawn");
        let wait = std::time::Instant::now();
        while !group.pids().contains(&child.id())
            && wait.elapsed() < std::time::Duration::from_secs(5)
        {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(group.pids().contains(&child.id()));
        let cgroup = std::fs::read_to_string(format!("/proc/{}/cgroup", child.id())).unwrap();
        assert!(cgroup.contains(&format!("/{name}")), "{cgroup}");
        // Removal moves a straggler out first.
        group.remove().expect("remove");
        assert!(!path.exists());
        let _ = child.kill();
        let _ = child.wait();
        // Unlimited, and removed on drop.
        let group = CpuCgroup::create(root, &name, None, PERIOD_US).expect("create");
        assert_eq!(group.quota_us().unwrap(), -1);
        drop(group);
        assert!(!path.exists());
    }
}
