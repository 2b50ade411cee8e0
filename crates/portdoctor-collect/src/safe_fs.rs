//! Evidence folders come from machines that may be hostile (a hijacked instance wrote its own
//! snapshot) and are written where someone else may have planted links. Every file portdoctor
//! reads from a snapshot or case folder, and every file it writes into one, goes through here:
//!
//! - reading stays inside the folder: a symbolic link that resolves outside it, a loop of links,
//!   a link to nothing, a FIFO, a device or a socket is an input error naming the file — never
//!   opened in a way that could block, never followed out, never echoed;
//! - reading is bounded: a file larger than `MAX_FILE_BYTES` is an input error, not an attempt
//!   to hold it in memory (the same bound applies to the output of the tools portdoctor runs);
//! - writing never follows a link: each file is created exclusively under a fresh name inside
//!   the folder (opened by descriptor, not by path) and renamed over the final name, so a link
//!   planted there is replaced, not written through.

use crate::snapshot::SnapshotError;
use nix::fcntl::{OFlag, open, openat, renameat};
use nix::sys::stat::Mode;
use nix::unistd::unlinkat;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The most portdoctor reads from one evidence file or one tool's output: a 100k-rule ruleset
/// is ~20 MB as `iptables-save` and ~150 MB as `nft -j`; a whole region's security groups a few
/// hundred MB at most.
pub const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;

fn err(path: &Path, message: impl Into<String>) -> SnapshotError {
    SnapshotError { path: path.to_path_buf(), message: message.into() }
}

/// Reads at most `limit` bytes; more is an error (`InvalidData`), not a bigger buffer.
pub fn read_bounded(r: impl Read, limit: u64) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    r.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(io::Error::new(io::ErrorKind::InvalidData, too_large(limit)));
    }
    Ok(buf)
}

fn too_large(limit: u64) -> String {
    format!("larger than {} MB, the most portdoctor reads from one file: refused", limit / (1024 * 1024))
}

/// What a path inside an evidence folder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Folder,
}

/// Resolves `rel` inside `root` without leaving it: `None` when nothing is there; an error when
/// it is a link out of the folder, a loop, a dangling link, or neither a file nor a folder.
/// Returns the resolved path (to open) and what it is.
pub fn resolve(root: &Path, rel: &Path) -> Result<Option<(PathBuf, Kind)>, SnapshotError> {
    let shown = root.join(rel);
    match fs::symlink_metadata(&shown) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(err(&shown, format!("cannot read: {e}"))),
        Ok(_) => {}
    }
    let base = fs::canonicalize(root).map_err(|e| err(root, format!("cannot read the folder: {e}")))?;
    let real = fs::canonicalize(&shown).map_err(|e| {
        err(
            &shown,
            match (e.raw_os_error(), e.kind()) {
                (Some(libc::ELOOP), _) => "a loop of symbolic links: refused".to_string(),
                (_, io::ErrorKind::NotFound) => "a symbolic link to nothing: refused".to_string(),
                _ => format!("cannot read: {e}"),
            },
        )
    })?;
    if !real.starts_with(&base) {
        // The target is not named: it is the outside file's business, not this report's.
        return Err(err(
            &shown,
            format!(
                "a symbolic link out of the folder {}: refused (copy the file into the folder instead)",
                root.display()
            ),
        ));
    }
    let ty = fs::metadata(&real).map_err(|e| err(&shown, format!("cannot read: {e}")))?.file_type();
    let kind = if ty.is_dir() {
        Kind::Folder
    } else if ty.is_file() {
        Kind::File
    } else {
        return Err(err(&shown, format!("{}, not a regular file: refused", odd_kind(&ty))));
    };
    Ok(Some((real, kind)))
}

fn odd_kind(ty: &fs::FileType) -> &'static str {
    if ty.is_fifo() {
        "a FIFO"
    } else if ty.is_socket() {
        "a socket"
    } else if ty.is_char_device() || ty.is_block_device() {
        "a device"
    } else {
        "not a file"
    }
}

/// Reads the file `rel` of the evidence folder `root` (`None` when it is absent), within the
/// folder and the size bound. Errors name the path as given, never the target of a link.
pub fn read_file(root: &Path, rel: &Path) -> Result<Option<Vec<u8>>, SnapshotError> {
    let shown = root.join(rel);
    let Some((real, kind)) = resolve(root, rel)? else { return Ok(None) };
    if kind == Kind::Folder {
        return Err(err(&shown, "a folder, where a file was expected"));
    }
    // O_NONBLOCK: a FIFO swapped in after the check must not block the open; O_NOFOLLOW: nor may a
    // link swapped in after resolving.
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(&real)
        .map_err(|e| err(&shown, format!("cannot read: {e}")))?;
    let meta = file.metadata().map_err(|e| err(&shown, format!("cannot read: {e}")))?;
    if !meta.file_type().is_file() {
        return Err(err(&shown, format!("{}, not a regular file: refused", odd_kind(&meta.file_type()))));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(err(&shown, format!("{} bytes: {}", meta.len(), too_large(MAX_FILE_BYTES))));
    }
    read_bounded(file, MAX_FILE_BYTES).map(Some).map_err(|e| err(&shown, e.to_string()))
}

/// Writes `files` (plain names) into the folder `dir`, creating it (private: 0700) when it does
/// not exist. `dir` itself must be a folder, not a link to one; each file is created exclusively
/// under a temporary name and renamed into place, so nothing planted in the folder is followed.
pub fn write_files<'a>(dir: &Path, files: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Result<(), SnapshotError> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| err(parent, format!("cannot create: {e}")))?;
    }
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(err(dir, format!("cannot create: {e}"))),
    }
    let dirfd = open(dir, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| {
        err(
            dir,
            match e {
                nix::errno::Errno::ELOOP | nix::errno::Errno::ENOTDIR => {
                    "not a folder (or a symbolic link to one): refused; give a new or empty folder".to_string()
                }
                e => format!("cannot open: {e}"),
            },
        )
    })?;
    for (name, content) in files {
        let path = dir.join(name);
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(err(&path, "not a plain file name"));
        }
        let tmp = format!(".{name}.portdoctor-{}.tmp", std::process::id());
        let fd = openat(
            &dirfd,
            tmp.as_str(),
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o600),
        )
        .map_err(|e| err(&dir.join(&tmp), format!("cannot create: {e}")))?;
        let written = fs::File::from(fd).write_all(content);
        let placed = written
            .map_err(|e| e.to_string())
            .and_then(|()| renameat(&dirfd, tmp.as_str(), &dirfd, name).map_err(|e| e.to_string()));
        if let Err(e) = placed {
            let _ = unlinkat(&dirfd, tmp.as_str(), nix::unistd::UnlinkatFlags::NoRemoveDir);
            return Err(err(&path, format!("cannot write: {e}")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("pd-safefs-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn reads_inside_refuses_outside_loops_and_fifos() {
        let d = scratch("read");
        let snap = d.join("snap");
        fs::create_dir(&snap).unwrap();
        fs::write(d.join("secret"), "root:x:0:0").unwrap();
        fs::write(snap.join("a.txt"), "hello").unwrap();
        symlink("a.txt", snap.join("inside")).unwrap();
        symlink("../secret", snap.join("outside")).unwrap();
        symlink("loop2", snap.join("loop1")).unwrap();
        symlink("loop1", snap.join("loop2")).unwrap();
        nix::unistd::mkfifo(&snap.join("fifo"), Mode::from_bits_truncate(0o600)).unwrap();
        assert_eq!(read_file(&snap, Path::new("a.txt")).unwrap().unwrap(), b"hello");
        assert_eq!(read_file(&snap, Path::new("inside")).unwrap().unwrap(), b"hello");
        assert_eq!(read_file(&snap, Path::new("absent")).unwrap(), None);
        for (name, why) in [("outside", "out of the folder"), ("loop1", "loop"), ("fifo", "FIFO")] {
            let e = read_file(&snap, Path::new(name)).unwrap_err().to_string();
            assert!(e.contains(why) && !e.contains("root:x"), "{name}: {e}");
        }
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn bounded_read_refuses_more() {
        assert_eq!(read_bounded(&b"12345"[..], 5).unwrap(), b"12345");
        assert!(read_bounded(&b"123456"[..], 5).is_err());
    }

    #[test]
    fn writing_replaces_a_planted_link_instead_of_following_it() {
        let d = scratch("write");
        let out = d.join("out");
        fs::create_dir(&out).unwrap();
        fs::write(d.join("victim"), "keep me").unwrap();
        symlink("../victim", out.join("a.txt")).unwrap();
        write_files(&out, [("a.txt", &b"new"[..])]).unwrap();
        assert_eq!(fs::read_to_string(d.join("victim")).unwrap(), "keep me");
        assert_eq!(fs::read_to_string(out.join("a.txt")).unwrap(), "new");
        symlink(&out, d.join("link")).unwrap();
        assert!(write_files(&d.join("link"), [("b.txt", &b"x"[..])]).is_err());
        write_files(&d.join("fresh"), [("c.txt", &b"y"[..])]).unwrap();
        let _ = fs::remove_dir_all(&d);
    }
}
