//! The cores a thread may run on, as a set: `core_affinity` pins a thread to one core only,
//! and a service keeps its other threads (HTTP API, directory watchers, repairs) off the cores
//! its engine workers are pinned to.

use std::io;

/// The cores this machine has online (those the kernel schedules on), in order.
pub fn online_cores() -> Vec<usize> {
    core_affinity::get_core_ids()
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.id)
        .collect()
}

/// Lets the calling thread, and the threads it starts from now on, run only on `cores`.
/// Refused with `InvalidInput` when `cores` is empty or names a core the kernel cannot
/// represent in its CPU set.
pub fn set_current_thread_cores(cores: &[usize]) -> io::Result<()> {
    let bits = 8 * std::mem::size_of::<libc::cpu_set_t>();
    if cores.is_empty() || cores.iter().any(|&c| c >= bits) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("no core, or a core number of {bits} or more, in {cores:?}"),
        ));
    }
    // SAFETY: cpu_set_t is a plain bit array for which all zeros is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &core in cores {
        // SAFETY: `core` is below the set's size in bits (checked above); CPU_SET writes the
        // one bit inside `set`.
        unsafe { libc::CPU_SET(core, &mut set) };
    }
    // SAFETY: pid 0 is the calling thread; the pointer and size describe `set`, which lives
    // through the call.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The cores the calling thread may run on.
pub fn current_thread_cores() -> io::Result<Vec<usize>> {
    // SAFETY: as above, all zeros is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: pid 0 is the calling thread; the kernel writes at most the given size into
    // `set`.
    let rc = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let bits = 8 * std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: every index is below the set's size in bits.
    Ok((0..bits)
        .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_limited_to_some_cores_runs_on_those_and_its_children_inherit_them() {
        let all = online_cores();
        assert!(!all.is_empty());
        let first = all[0];
        std::thread::spawn(move || {
            set_current_thread_cores(&[first]).unwrap();
            assert_eq!(current_thread_cores().unwrap(), vec![first]);
            let child = std::thread::spawn(|| current_thread_cores().unwrap());
            assert_eq!(child.join().unwrap(), vec![first]);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn no_core_or_an_impossible_one_is_refused() {
        for cores in [&[][..], &[usize::MAX][..]] {
            let e = set_current_thread_cores(cores).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        }
    }
}
