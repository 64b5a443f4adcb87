//! Processes and files of the benchmarks that run other binaries (`xflute` for `serve_bench`
//! and `repair_bench`, `flute_peer` for the harness): each built with the benchmark's own
//! profile, a child killed when dropped, a scratch directory removed when dropped, a free
//! loopback port.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Kills a child process when dropped (also when the benchmark fails half-way).
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        // SIGTERM first, so that serve stops its sessions cleanly.
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let give_up = Instant::now() + Duration::from_secs(5);
        while Instant::now() < give_up {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A directory removed when dropped.
pub struct Scratch(pub PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The `xflute` binary next to this one, built first with the same profile when run by cargo.
pub fn xflute_binary() -> Result<PathBuf, String> {
    sibling_binary("xflute-cli", "xflute")
}

/// Binary `bin` of `package`, next to this executable. `cargo run` builds only the binary it
/// runs, so when started by cargo (which sets `CARGO`) this builds `bin` with the same profile
/// first (a no-op when it is up to date).
pub fn sibling_binary(package: &str, bin: &str) -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let path = exe.with_file_name(bin);
    if let Some(cargo) = std::env::var_os("CARGO") {
        let profile = exe
            .parent()
            .and_then(|d| d.file_name())
            .and_then(|n| n.to_str())
            .unwrap_or("release");
        let profile = if profile == "debug" { "dev" } else { profile };
        let ok = Command::new(cargo)
            .args(["build", "--profile", profile, "-p", package, "--bin", bin])
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Err(format!("building {bin} failed"));
        }
    }
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} is missing: build it with `cargo build --release -p {package} --bins`",
            path.display()
        ))
    }
}

/// A loopback TCP port free now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_or(19464, |a| a.port())
}
