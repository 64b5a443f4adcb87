//! GPAC (<https://gpac.io>) as a process, the independent FLUTE peer of the interop tests: the
//! static build at `../shared/tools/gpac/gpac` beside the workspace, run with a fresh `HOME`
//! of its own (it writes its profile there), killed and reaped when dropped.
//!
//! A missing binary fails the test with a message saying where it was looked for: the interop
//! tests are never skipped.

// Each test binary that includes this module uses a different part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use xflute_tests::TempDir;

/// The folder of the GPAC build: `$XFLUTE_GPAC_DIR` when set (a checkout placed elsewhere), else
/// `../shared/tools/gpac` from the workspace root.
pub fn gpac_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XFLUTE_GPAC_DIR") {
        return PathBuf::from(dir);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tools crate sits in the workspace");
    workspace.join("../shared/tools/gpac")
}

/// The GPAC binary; panics (failing the test) when it is not there.
pub fn gpac_bin() -> PathBuf {
    let bin = gpac_dir().join("gpac");
    assert!(
        bin.is_file(),
        "the GPAC binary is missing: {} (a static build of GPAC commit d34570e3d994; set \
         XFLUTE_GPAC_DIR to the folder holding it); the GPAC interop tests need it",
        bin.display()
    );
    bin
}

/// `-js-dirs=...`: where GPAC finds its JavaScript filters (such as `avgen`).
pub fn js_dirs_arg() -> String {
    format!(
        "-js-dirs={}",
        gpac_dir().join("share/scripts/jsf").display()
    )
}

/// A running `gpac`, killed (SIGKILL) and reaped when dropped, its temporary `HOME` removed.
pub struct Gpac {
    child: Option<Child>,
    log: PathBuf,
    _home: TempDir,
}

impl Gpac {
    /// Starts `gpac ARGS` inside the network namespace `netns` (`ip netns exec` execs it, so
    /// the child's pid is gpac's), or here with `None`; stdout and stderr go to `log`.
    pub fn spawn(netns: Option<&str>, args: &[&str], log: &Path) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let home = TempDir::new(&format!(
            "gpac-home-{}",
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let bin = gpac_bin();
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(&bin);
                c
            }
            None => Command::new(&bin),
        };
        let file = std::fs::File::create(log).unwrap();
        let child = cmd
            .args(args)
            .env("HOME", home.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        Self {
            child: Some(child),
            log: log.to_owned(),
            _home: home,
        }
    }

    /// Waits up to `limit` for it to end; its status, or `None` if it still runs.
    pub fn wait_for(&mut self, limit: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let give_up = Instant::now() + limit;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= give_up {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What it printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Gpac {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
