//! What the kernel says about a process in `/proc` (proc(5)): its state letter, its parent,
//! its name. Plain reads of text files; nothing here changes anything.

use std::io;

use nix::unistd::Pid;

/// The fields of `/proc/<pid>/stat` that procdemo looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    /// Field 3: `R` running, `S` sleeping, `Z` zombie (exited, not yet reaped), ...
    pub state: char,
    /// Field 4: the parent's pid.
    pub ppid: Pid,
    /// Field 20: how many threads.
    pub threads: u64,
}

/// `/proc/<pid>/stat`, or `/proc/self/stat` for `None`.
pub fn stat(pid: Option<Pid>) -> io::Result<Stat> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let text = std::fs::read_to_string(&path)?;
    parse_stat(&text).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{path}: unexpected format"),
        )
    })
}

fn parse_stat(text: &str) -> Option<Stat> {
    // Field 2, the command name, is in parentheses and may itself hold spaces or ')': count
    // the fields from the last ')'. What follows it is field 3 onwards.
    let (_, rest) = text.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(Stat {
        state: fields.first()?.chars().next()?,
        ppid: Pid::from_raw(fields.get(1)?.parse().ok()?),
        threads: fields.get(17)?.parse().ok()?,
    })
}

/// `/proc/<pid>/comm`: the process's name, as `ps -o comm` shows it.
pub fn comm(pid: Pid) -> io::Result<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/comm"))?;
    Ok(text.trim_end_matches('\n').to_string())
}

/// Does `/proc/<pid>` exist? A process has one from its creation until it is reaped, zombie
/// included.
pub fn exists(pid: Pid) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Every process whose parent is `parent`, found by walking `/proc`.
pub fn children_of(parent: Pid) -> Vec<Pid> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .map(Pid::from_raw)
        .filter(|&pid| stat(Some(pid)).is_ok_and(|s| s.ppid == parent))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_with_parentheses_does_not_shift_the_fields() {
        let text = "42 (a) b (c)) Z 7 42 42 0 -1 4194828 0 0 0 0 0 0 0 0 20 0 3 0 1 0 0";
        let s = parse_stat(text).unwrap();
        assert_eq!(s.state, 'Z');
        assert_eq!(s.ppid, Pid::from_raw(7));
        assert_eq!(s.threads, 3);
        assert_eq!(parse_stat("42 (no end"), None);
    }

    #[test]
    fn this_process_is_found_as_its_parents_child() {
        let me = stat(None).unwrap();
        assert_eq!(me.ppid, nix::unistd::getppid());
        assert!(me.threads >= 1);
        assert!(exists(nix::unistd::getpid()));
        assert!(children_of(me.ppid).contains(&nix::unistd::getpid()));
        assert!(!comm(nix::unistd::getpid()).unwrap().is_empty());
    }
}
