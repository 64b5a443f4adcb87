//! A fresh directory below the system temp dir, removed on drop — also when the test fails.

use std::path::{Path, PathBuf};

/// A temporary directory named after the test and the process, removed on drop.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Create `xflute-NAME-PID` below the system temp dir, empty.
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("xflute-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("cannot create {}: {e}", dir.display());
        }
        Self(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
