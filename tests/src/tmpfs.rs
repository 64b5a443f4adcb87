//! A private tmpfs mounted on a fresh temporary directory and unmounted on drop — also when the
//! test or benchmark fails. Needs root (the tests that use it run as root on CI).
//!
//! Two uses: a small one (`size=8m`) makes "disk full" real for the file sink; one with
//! `huge=always` is the RAM spool a headend hands files to its packager from, where writing the
//! received objects costs a page fault per 2 MiB instead of per 4 KiB.

use std::path::Path;
use std::process::Command;

use crate::TempDir;

/// A tmpfs mounted on its own temporary directory.
#[derive(Debug)]
pub struct Tmpfs {
    dir: TempDir,
}

impl Tmpfs {
    /// Mount a tmpfs with `options` (as for `mount -o`, e.g. `size=8m` or
    /// `size=3g,huge=always`) on a new directory named after `name`.
    ///
    /// # Panics
    /// When the mount fails (not root, or the kernel refuses the options), with the reason.
    pub fn mount(name: &str, options: &str) -> Self {
        let dir = TempDir::new(name);
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "xflute-tmpfs"])
            .arg(dir.path())
            .output()
            .unwrap_or_else(|e| panic!("cannot run mount: {e}"));
        assert!(
            output.status.success(),
            "mount -t tmpfs -o {options} {} failed (root is needed): {}",
            dir.path().display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
        Self { dir }
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a process still holding a mapping or a file below must not keep the mount (and
        // the test's temp dir) alive; the memory goes when the last user goes.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mounted(path: &Path) -> bool {
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .any(|l| l.split(' ').nth(4) == Some(path.to_str().unwrap()))
    }

    #[test]
    fn a_small_tmpfs_fills_up_and_is_unmounted_on_drop() {
        crate::netns::require_root();
        let fs = Tmpfs::mount("tmpfs-fill", "size=1m");
        let path = fs.path().to_path_buf();
        assert!(mounted(&path));
        assert!(std::fs::write(path.join("big"), vec![1u8; 2 << 20]).is_err());
        drop(fs);
        assert!(!mounted(&path));
        assert!(!path.exists());
    }
}
