//! AWS snapshot folders: every `*.json` file below the folder (region sub-folders allowed), read
//! as text for portdoctor_parse::aws, which recognises each by its top-level key.

use crate::snapshot::SnapshotError;
use portdoctor_parse::aws::Docs;
use std::fs;
use std::path::Path;

/// `(path relative to the folder, text)` of every JSON file, in a stable order, and notes about
/// files that are not JSON.
pub fn read_aws(dir: &Path) -> Result<(Docs, Vec<String>), SnapshotError> {
    let meta = fs::metadata(dir)
        .map_err(|e| SnapshotError { path: dir.into(), message: format!("cannot read snapshot folder: {e}") })?;
    if !meta.is_dir() {
        return Err(SnapshotError {
            path: dir.into(),
            message: "not a folder (an AWS snapshot is a folder of AWS CLI JSON files)".into(),
        });
    }
    let mut docs = Vec::new();
    let mut notes = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            fs::read_dir(&d).map_err(|e| SnapshotError { path: d.clone(), message: format!("cannot list: {e}") })?;
        let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            let rel = p.strip_prefix(dir).unwrap_or(&p).display().to_string();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("json")) {
                let text = fs::read_to_string(&p)
                    .map_err(|e| SnapshotError { path: p.clone(), message: format!("cannot read: {e}") })?;
                docs.push((rel, text));
            } else {
                notes.push(format!("{rel}: not a .json file, not read"));
            }
        }
    }
    docs.sort();
    if docs.is_empty() {
        return Err(SnapshotError { path: dir.into(), message: "no .json files: not an AWS snapshot".into() });
    }
    Ok((docs, notes))
}
