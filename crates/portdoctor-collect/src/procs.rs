//! Which processes hold a socket: /proc/PID/fd/* links of the form `socket:[INODE]` (proc(5)).

use portdoctor_model::host::Process;
use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::Path;

#[derive(Debug, Default)]
pub struct SocketOwners {
    pub by_inode: HashMap<u64, Vec<Process>>,
    /// Some process's fds could not be read (not root): an inode we did not find may belong to it.
    pub denied: bool,
}

pub fn scan(proc_root: &Path) -> SocketOwners {
    let mut owners = SocketOwners::default();
    let Ok(entries) = fs::read_dir(proc_root) else {
        owners.denied = true;
        return owners;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let fd_dir = entry.path().join("fd");
        let fds = match fs::read_dir(&fd_dir) {
            Ok(fds) => fds,
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                owners.denied = true;
                continue;
            }
            Err(_) => continue, // the process exited meanwhile
        };
        let mut name: Option<String> = None;
        for fd in fds.flatten() {
            let Ok(target) = fs::read_link(fd.path()) else { continue };
            let Some(inode) = target
                .to_str()
                .and_then(|t| t.strip_prefix("socket:["))
                .and_then(|t| t.strip_suffix(']'))
                .and_then(|t| t.parse::<u64>().ok())
            else {
                continue;
            };
            let name = name
                .get_or_insert_with(|| {
                    fs::read_to_string(entry.path().join("comm"))
                        .map(|s| s.trim().to_string())
                        .unwrap_or_else(|_| "?".into())
                })
                .clone();
            let list = owners.by_inode.entry(inode).or_default();
            if !list.iter().any(|p| p.pid == pid) {
                list.push(Process { pid, name });
            }
        }
    }
    for list in owners.by_inode.values_mut() {
        list.sort_by_key(|p| p.pid);
    }
    owners
}
