//! Watched directories (inotify): which files appeared or changed, once their writer closed
//! them or renamed them into place, and which left. Subdirectories are watched as they appear;
//! the files a new one already holds are reported as found, not as closed (their writers may
//! still be writing them).
//! Names that start with `.` are a writer's business (temporary files renamed into place when
//! done) and are never reported. When the kernel's event queue overflows, the caller is told to
//! look at every file again.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use inotify::{EventMask, Inotify, WatchDescriptor, WatchMask};

/// Directories below a watched one that are followed, at most: a bound on watches and on the
/// cost of a rescan.
const MAX_DEPTH: usize = 16;

/// What happened in a watched tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The file is there, complete: new, or a new version.
    Upsert(PathBuf),
    /// The file is there, seen by a scan of a directory that just appeared: it may still be
    /// open for writing (its close, if it comes later, is reported as [`Change::Upsert`]).
    Found(PathBuf),
    /// The file (or every file below this directory) is gone.
    Remove(PathBuf),
    /// Events were lost: every file must be looked at again.
    Rescan,
}

/// The inotify watches of some directory trees.
pub struct Watcher {
    inotify: Inotify,
    roots: Vec<PathBuf>,
    dirs: HashMap<WatchDescriptor, PathBuf>,
    buffer: Vec<u8>,
}

fn hidden(name: &OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}

fn mask() -> WatchMask {
    WatchMask::CLOSE_WRITE
        | WatchMask::MOVED_TO
        | WatchMask::MOVED_FROM
        | WatchMask::CREATE
        | WatchMask::DELETE
        | WatchMask::DELETE_SELF
        | WatchMask::ONLYDIR
}

impl Watcher {
    /// Watches `roots` and every directory below them (each root is created if missing).
    pub fn new(roots: &[PathBuf]) -> Result<Self> {
        let inotify = Inotify::init().context("inotify_init")?;
        let mut watcher = Self {
            inotify,
            roots: roots.to_vec(),
            dirs: HashMap::new(),
            buffer: vec![0; 64 << 10],
        };
        for root in roots {
            std::fs::create_dir_all(root)
                .with_context(|| format!("creating the watched directory {}", root.display()))?;
            watcher.watch_tree(root, 0)?;
        }
        Ok(watcher)
    }

    fn watch_tree(&mut self, dir: &Path, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            tracing::warn!(dir = %dir.display(), "too deep below the watched directory: not followed");
            return Ok(());
        }
        let wd = self
            .inotify
            .watches()
            .add(dir, mask())
            .with_context(|| format!("watching {}", dir.display()))?;
        self.dirs.insert(wd, dir.to_path_buf());
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            if !hidden(&entry.file_name()) && entry.file_type().is_ok_and(|t| t.is_dir()) {
                self.watch_tree(&entry.path(), depth + 1)?;
            }
        }
        Ok(())
    }

    /// Every visible regular file below the roots now.
    pub fn scan(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for root in &self.roots {
            scan_into(root, 0, &mut out);
        }
        out.sort();
        out
    }

    /// The watched directory `path` is below, and `path` relative to it.
    pub fn relative<'a>(&self, path: &'a Path) -> Option<(&Path, &'a Path)> {
        self.roots
            .iter()
            .find_map(|r| path.strip_prefix(r).ok().map(|rel| (r.as_path(), rel)))
    }

    /// What happened since the last call (nothing when nothing did; never blocks).
    pub fn poll(&mut self) -> Result<Vec<Change>> {
        let mut changes = Vec::new();
        let mut new_dirs = Vec::new();
        let mut gone = Vec::new();
        let events = match self.inotify.read_events(&mut self.buffer) {
            Ok(events) => events,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(changes),
            Err(e) => return Err(e).context("reading inotify events"),
        };
        for event in events {
            if event.mask.contains(EventMask::Q_OVERFLOW) {
                changes.push(Change::Rescan);
                continue;
            }
            let Some(dir) = self.dirs.get(&event.wd) else {
                continue;
            };
            if event.mask.contains(EventMask::IGNORED) {
                gone.push(event.wd.clone());
                continue;
            }
            let Some(name) = event.name else { continue };
            if hidden(name) {
                continue;
            }
            let path = dir.join(name);
            let is_dir = event.mask.contains(EventMask::ISDIR);
            if event
                .mask
                .intersects(EventMask::DELETE | EventMask::MOVED_FROM)
            {
                changes.push(Change::Remove(path));
            } else if is_dir
                && event
                    .mask
                    .intersects(EventMask::CREATE | EventMask::MOVED_TO)
            {
                new_dirs.push(path);
            } else if !is_dir
                && event
                    .mask
                    .intersects(EventMask::CLOSE_WRITE | EventMask::MOVED_TO)
            {
                changes.push(Change::Upsert(path));
            }
        }
        for wd in gone {
            self.dirs.remove(&wd);
        }
        for dir in new_dirs {
            // Files may have landed before the watch: they are reported from a scan of it.
            self.watch_tree(&dir, 1)?;
            let mut files = Vec::new();
            scan_into(&dir, 1, &mut files);
            changes.extend(files.into_iter().map(Change::Found));
        }
        Ok(changes)
    }
}

fn scan_into(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if depth > MAX_DEPTH {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if hidden(&entry.file_name()) {
            continue;
        }
        match entry.file_type() {
            Ok(t) if t.is_dir() => scan_into(&entry.path(), depth + 1, out),
            Ok(t) if t.is_file() => out.push(entry.path()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn settle(w: &mut Watcher, want: usize) -> Vec<Change> {
        let mut all = Vec::new();
        let give_up = Instant::now() + Duration::from_secs(5);
        while all.len() < want && Instant::now() < give_up {
            all.extend(w.poll().unwrap());
            std::thread::sleep(Duration::from_millis(5));
        }
        all
    }

    #[test]
    fn closed_renamed_and_deleted_files_are_reported_and_hidden_ones_are_not() {
        let dir = std::env::temp_dir().join(format!("xflute-watch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut w = Watcher::new(std::slice::from_ref(&dir)).unwrap();
        std::fs::write(dir.join("a.txt"), b"a").unwrap();
        std::fs::write(dir.join(".b.tmp"), b"b").unwrap();
        std::fs::rename(dir.join(".b.tmp"), dir.join("b.txt")).unwrap();
        std::fs::create_dir(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/c.txt"), b"c").unwrap();
        let changes = settle(&mut w, 3);
        for name in ["a.txt", "b.txt", "sub/c.txt"] {
            // sub/c.txt may have been written before sub/ was watched: then a scan finds it.
            let found =
                name.starts_with("sub/") && changes.contains(&Change::Found(dir.join(name)));
            assert!(
                changes.contains(&Change::Upsert(dir.join(name))) || found,
                "{name}: {changes:?}"
            );
        }
        assert!(
            !changes
                .iter()
                .any(|c| matches!(c, Change::Upsert(p) if p.ends_with(".b.tmp")))
        );
        std::fs::remove_file(dir.join("a.txt")).unwrap();
        assert_eq!(settle(&mut w, 1), vec![Change::Remove(dir.join("a.txt"))]);
        assert_eq!(w.scan(), vec![dir.join("b.txt"), dir.join("sub/c.txt")]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
