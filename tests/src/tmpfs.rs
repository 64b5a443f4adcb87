//! A private tmpfs mounted on a fresh temporary directory and unmounted on drop — also when the
//! test or benchmark fails. Needs root (the tests that use it run as root on CI).
//!
//! Two uses: a small one (`size=8m`) makes "disk full" real for the file sink; one with
//! `huge=always` is the RAM spool a headend hands files to its packager from, where writing the
//! received objects costs a page fault per 2 MiB instead of per 4 KiB.
//!
//! [`Ext2`] is a small ext2 file system in an image file, loop-mounted: a disk without
//! `fallocate`, where a sparse file's pages are only allocated when written.

use std::path::{Path, PathBuf};
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

/// An ext2 file system of a few MiB in an image file, loop-mounted on its own temporary
/// directory; unmounted and its image removed on drop, also when the test fails.
#[derive(Debug)]
pub struct Ext2 {
    dir: TempDir,
    /// Held for its drop, after the unmount.
    _image: RemoveOnDrop,
}

/// A file removed on drop.
#[derive(Debug)]
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Ext2 {
    /// Makes an ext2 image of `size_mib` MiB (no blocks reserved for root, so the free space is
    /// the same for every writer) and mounts it on a new directory named after `name`.
    ///
    /// # Panics
    /// When `mkfs.ext2` (e2fsprogs) is missing or the mount fails (root is needed), with the
    /// reason.
    pub fn mount(name: &str, size_mib: u64) -> Self {
        let image = RemoveOnDrop(
            std::env::temp_dir().join(format!("xflute-{name}-{}.ext2", std::process::id())),
        );
        let file = std::fs::File::create(&image.0)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", image.0.display()));
        file.set_len(size_mib << 20)
            .unwrap_or_else(|e| panic!("cannot size {}: {e}", image.0.display()));
        drop(file);
        let run = |program: &str, args: &[&std::ffi::OsStr]| {
            let output = Command::new(program)
                .args(args)
                .output()
                .unwrap_or_else(|e| panic!("cannot run {program} (e2fsprogs, mount): {e}"));
            assert!(
                output.status.success(),
                "{program} {args:?} failed (root is needed): {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        };
        run(
            "mkfs.ext2",
            &[
                "-F".as_ref(),
                "-q".as_ref(),
                "-m".as_ref(),
                "0".as_ref(),
                image.0.as_os_str(),
            ],
        );
        let dir = TempDir::new(name);
        run(
            "mount",
            &[
                "-t".as_ref(),
                "ext2".as_ref(),
                "-o".as_ref(),
                "loop".as_ref(),
                image.0.as_os_str(),
                dir.path().as_os_str(),
            ],
        );
        Self { dir, _image: image }
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Bytes free on it.
    pub fn free_bytes(&self) -> u64 {
        free_bytes(self.dir.path())
    }
}

/// Bytes free on the file system of `path`, for any writer (`stat -f`).
pub fn free_bytes(path: &Path) -> u64 {
    let output = Command::new("stat")
        .args(["-f", "-c", "%a %S"])
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run stat: {e}"));
    let text = String::from_utf8_lossy(&output.stdout);
    let mut fields = text
        .split_whitespace()
        .map(|f| f.parse::<u64>().unwrap_or(0));
    fields.next().unwrap_or(0) * fields.next().unwrap_or(0)
}

impl Drop for Ext2 {
    fn drop(&mut self) {
        // Lazy, as for tmpfs; `mount -o loop` set the loop device to detach itself once the
        // file system is gone. The image is removed after (its field drops last).
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

    #[test]
    fn an_ext2_image_mounts_has_no_fallocate_and_is_gone_on_drop() {
        crate::netns::require_root();
        let fs = Ext2::mount("ext2-probe", 4);
        let path = fs.path().to_path_buf();
        assert!(mounted(&path));
        assert!(fs.free_bytes() > 2 << 20);
        let status = Command::new("fallocate")
            .args(["-l", "1M"])
            .arg(path.join("x"))
            .output()
            .unwrap();
        assert!(!status.status.success(), "ext2 has no fallocate");
        drop(fs);
        assert!(!mounted(&path));
        assert!(!path.exists());
    }
}
