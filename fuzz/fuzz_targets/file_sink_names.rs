//! The file sink under hostile naming: sequences of objects created, written, committed,
//! aborted and abandoned, under names that collide (the same name, `x` and `x.part`, names of
//! the sink's temporary form, nested directories), beside files a user already has, then the
//! sweep a restart does.
//!
//! Invariants, after every step: a final name holds exactly the bytes of the last object
//! committed under it (or the user's file, if none was); a user's file no object was committed
//! over is untouched; no two objects in flight share a temporary file. At the end, once every
//! object is dropped: no temporary file is left, the sweep removes nothing a user or a commit
//! put there, and no directory the sink made is left empty.
#![no_main]

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use xflute::io::file_sink::{FileSink, FileSinkObject, is_temp_name};
use xflute::receiver::{ObjectDescription, ObjectSink, SafeRelativePath, SinkObject};

#[derive(Arbitrary, Debug)]
enum Name {
    Pick(u8),
    Any(String),
}

const NAMES: [&str; 10] = [
    "x",
    "x.part",
    "d/x",
    "d/x.part",
    "d/e/f/y",
    ".x.xflute-1-2-00000000000000aa.part",
    "d/.x.xflute-1-2-00000000000000aa.part",
    "report",
    "report.part",
    "d",
];

impl Name {
    fn path(&self) -> Option<SafeRelativePath> {
        let text = match self {
            Name::Pick(i) => NAMES[usize::from(*i) % NAMES.len()].to_owned(),
            Name::Any(s) => s.chars().take(64).collect(),
        };
        SafeRelativePath::from_content_location(&text).ok()
    }
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// A file a user already has in the output directory.
    UserFile { name: Name, byte: u8 },
    Create { name: Name, len: u8, tsi: u8, toi: u8 },
    Write { object: u8, byte: u8 },
    Commit { object: u8 },
    Abort { object: u8 },
}

struct InFlight {
    object: FileSinkObject,
    target: PathBuf,
    bytes: Vec<u8>,
}

fn files_below(dir: &Path, out: &mut Vec<PathBuf>, dirs: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => {
                dirs.push(path.clone());
                files_below(&path, out, dirs);
            }
            _ => out.push(path),
        }
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let root = std::env::temp_dir().join(format!("xflute-fuzz-names-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let Ok(mut sink) = FileSink::new(&root, 1 << 16) else {
        return;
    };
    let root = sink.root().to_path_buf();
    // What each final name must hold, and which of them a user put there.
    let mut expected: BTreeMap<PathBuf, Vec<u8>> = BTreeMap::new();
    let mut user_dirs: HashSet<PathBuf> = HashSet::new();
    let mut in_flight: Vec<InFlight> = Vec::new();
    for op in ops.iter().take(64) {
        match op {
            Op::UserFile { name, byte } => {
                let Some(path) = name.path() else { continue };
                let target = root.join(path.to_relative_string());
                if is_temp_name(target.file_name().unwrap_or_default())
                    || expected.contains_key(&target)
                {
                    continue;
                }
                if let Some(parent) = target.parent()
                    && std::fs::create_dir_all(parent).is_ok()
                {
                    let mut dir = parent.to_path_buf();
                    while dir != root {
                        user_dirs.insert(dir.clone());
                        if !dir.pop() {
                            break;
                        }
                    }
                }
                if std::fs::write(&target, [*byte]).is_ok() {
                    expected.insert(target, vec![*byte]);
                }
            }
            Op::Create {
                name,
                len,
                tsi,
                toi,
            } => {
                let desc = ObjectDescription {
                    tsi: u64::from(*tsi),
                    toi: u128::from(*toi),
                    path: name.path(),
                    len: u64::from(*len),
                    content_type: None,
                };
                if let Ok(object) = sink.create(&desc) {
                    let target = object.target().to_path_buf();
                    assert!(is_temp_name(
                        object.temp_path().file_name().unwrap_or_default()
                    ));
                    assert!(
                        in_flight
                            .iter()
                            .all(|o| o.object.temp_path() != object.temp_path()),
                        "two objects share a temporary file"
                    );
                    in_flight.push(InFlight {
                        object,
                        target,
                        bytes: vec![0; usize::from(*len)],
                    });
                }
            }
            Op::Write { object, byte } => {
                let n = in_flight.len();
                if let Some(o) = in_flight.get_mut(usize::from(*object) % n.max(1)) {
                    let len = o.bytes.len();
                    if o.object.reserve(0..len).is_ok() {
                        o.object.data_mut().fill(*byte);
                        o.bytes.fill(*byte);
                    }
                }
            }
            Op::Commit { object } | Op::Abort { object } => {
                if in_flight.is_empty() {
                    continue;
                }
                let o = in_flight.swap_remove(usize::from(*object) % in_flight.len());
                if matches!(op, Op::Commit { .. }) {
                    let target = o.target.clone();
                    let bytes = o.bytes.clone();
                    if o.object.commit().is_ok() {
                        expected.insert(target, bytes);
                    }
                } else {
                    o.object.abort();
                }
            }
        }
        for (path, bytes) in &expected {
            assert_eq!(
                std::fs::read(path).ok().as_ref(),
                Some(bytes),
                "{} does not hold what was last put there",
                path.display()
            );
        }
    }
    drop(in_flight);
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    files_below(&root, &mut files, &mut dirs);
    for file in &files {
        assert!(
            !is_temp_name(file.file_name().unwrap_or_default()),
            "{} left behind",
            file.display()
        );
        assert!(expected.contains_key(file), "{} appeared", file.display());
    }
    assert_eq!(sink.remove_stale_parts().ok(), Some(0));
    for dir in dirs {
        let holds_a_file = expected.keys().any(|f| f.starts_with(&dir));
        assert!(
            holds_a_file || user_dirs.contains(&dir),
            "{} made and left empty",
            dir.display()
        );
    }
    let _ = std::fs::remove_dir_all(&root);
});
