//! Host snapshot folders: one plain file per source plus `manifest.json` (docs/host-snapshot.md).

use crate::safe_fs::read_file;
use portdoctor_parse::host::{Outcome, RawHost, RawSource, files, parse_manifest, write_manifest};
use portdoctor_parse::host_sources::HOST_SOURCES;
use std::fs;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SnapshotError {
    pub path: PathBuf,
    pub message: String,
}

fn err(path: &Path, message: impl Into<String>) -> SnapshotError {
    SnapshotError { path: path.to_path_buf(), message: message.into() }
}

/// Writes every source that was obtained as its own file, and the manifest of all of them
/// (without following anything planted in the folder: `safe_fs::write_files`).
pub fn write_host(dir: &Path, raw: &RawHost, created: Option<String>) -> Result<(), SnapshotError> {
    let manifest = write_manifest(raw, created);
    let obtained = raw.sources.iter().filter(|(_, s)| s.outcome == Outcome::Ok);
    let all =
        obtained.map(|(name, s)| (name.as_str(), s.content.as_slice())).chain([(files::MANIFEST, manifest.as_bytes())]);
    crate::safe_fs::write_files(dir, all)
}

/// Reads a snapshot folder. With a manifest, every source it lists as obtained must be there;
/// without one (a folder assembled by hand), each known file present counts as obtained.
/// Returns the evidence and notes about what was odd.
pub fn read_host(dir: &Path) -> Result<(RawHost, Vec<String>), SnapshotError> {
    let meta = fs::metadata(dir).map_err(|e| err(dir, format!("cannot read snapshot folder: {e}")))?;
    if !meta.is_dir() {
        return Err(err(
            dir,
            "not a folder (a host snapshot is a folder written by `portdoctor snapshot host --out DIR`)",
        ));
    }
    let mut notes = Vec::new();
    let manifest_path = dir.join(files::MANIFEST);
    let mut raw = RawHost::default();
    // Every read stays inside the folder and within the size bound; a file that is there but
    // cannot be read is an error, never taken as absent.
    let read = |name: &str| read_file(dir, Path::new(name));
    if let Some(bytes) = read(files::MANIFEST)? {
        let text = String::from_utf8(bytes)
            .map_err(|e| err(&manifest_path, format!("byte {}: not UTF-8 text", e.utf8_error().valid_up_to())))?;
        let sources =
            parse_manifest(&text).map_err(|e| err(&dir.join(&e.file), format!("{}: {}", e.field, e.message)))?;
        for (name, mut src) in sources {
            if name.contains('/') || name.contains("..") {
                return Err(err(&manifest_path, format!("sources.{name}: not a plain file name")));
            }
            if src.outcome == Outcome::Ok {
                src.content =
                    read(&name)?.ok_or_else(|| err(&dir.join(&name), "listed in manifest.json but missing"))?;
            }
            raw.sources.insert(name, src);
        }
    } else {
        notes.push(format!("{}: no manifest.json; reading the known files that are present", dir.display()));
        // The fixed names, and each container namespace's files (netns-NSID-…).
        let per_netns: Vec<String> = fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| n.starts_with("netns-"))
            .collect();
        let known = HOST_SOURCES.iter().map(|s| s.file);
        for name in known.chain(per_netns.iter().map(String::as_str)) {
            if let Some(content) = read(name)? {
                raw.sources.insert(
                    name.to_string(),
                    RawSource {
                        command: format!("(file {name})"),
                        outcome: Outcome::Ok,
                        exit: None,
                        stderr: String::new(),
                        content,
                    },
                );
            }
        }
        if raw.sources.is_empty() {
            return Err(err(dir, "no manifest.json and none of the host snapshot files (see docs/host-snapshot.md)"));
        }
    }
    if let Ok(entries) = fs::read_dir(dir) {
        let mut unknown: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| n != files::MANIFEST && !raw.sources.contains_key(n))
            .collect();
        unknown.sort();
        for n in unknown {
            notes.push(format!("{n}: not used by this analysis"));
        }
    }
    Ok((raw, notes))
}
