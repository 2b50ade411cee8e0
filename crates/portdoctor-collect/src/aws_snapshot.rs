//! AWS snapshot folders: every `*.json` file below the folder (region sub-folders allowed), read
//! as text for portdoctor_parse::aws, which recognises each by its top-level key.

use crate::safe_fs;
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
    // Folders by their resolved path: a link back to a folder already read is not read again.
    let mut seen: std::collections::BTreeSet<_> = fs::canonicalize(dir).into_iter().collect();
    let mut stack = vec![std::path::PathBuf::new()];
    while let Some(rel_dir) = stack.pop() {
        let d = dir.join(&rel_dir);
        let entries =
            fs::read_dir(&d).map_err(|e| SnapshotError { path: d.clone(), message: format!("cannot list: {e}") })?;
        let mut names: Vec<_> = entries.flatten().map(|e| rel_dir.join(e.file_name())).collect();
        names.sort();
        for rel in names {
            let shown = rel.display().to_string();
            let is_json = rel.extension().is_some_and(|x| x.eq_ignore_ascii_case("json"));
            // Links are followed only within the folder; FIFOs, devices and loops are refused.
            match safe_fs::resolve(dir, &rel)? {
                Some((real, safe_fs::Kind::Folder)) if seen.insert(real.clone()) => stack.push(rel),
                Some((_, safe_fs::Kind::Folder)) => {}
                Some((_, safe_fs::Kind::File)) if is_json => {
                    let bytes = safe_fs::read_file(dir, &rel)?.unwrap_or_default();
                    let text = String::from_utf8(bytes).map_err(|e| SnapshotError {
                        path: dir.join(&rel),
                        message: format!("byte {}: not UTF-8 text", e.utf8_error().valid_up_to()),
                    })?;
                    docs.push((shown, text));
                }
                Some(_) => notes.push(format!("{shown}: not a .json file, not read")),
                None => {}
            }
        }
    }
    docs.sort();
    if docs.is_empty() {
        return Err(SnapshotError { path: dir.into(), message: "no .json files: not an AWS snapshot".into() });
    }
    Ok((docs, notes))
}
