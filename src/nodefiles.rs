//! The node files on disk: reading them (in their declared encoding), computing every edit before any
//! write, and writing each atomically (temp file in the same folder, fsync, rename) after a one-time
//! backup of the original. Either every file is written, or none is changed.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use similar::TextDiff;

use crate::cipher_text;
use crate::conf;
use crate::desired::DesiredNode;
use crate::error::{Error, Result};
use crate::plan::Change;

/// The three files eidb owns parts of, relative to EI_HOME.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfFile {
    Datasources,
    UserMgt,
    Registry,
}

impl ConfFile {
    pub const ALL: [ConfFile; 3] = [ConfFile::Datasources, ConfFile::UserMgt, ConfFile::Registry];

    pub fn relative_path(self) -> &'static str {
        match self {
            ConfFile::Datasources => "conf/datasources/master-datasources.xml",
            ConfFile::UserMgt => "conf/user-mgt.xml",
            ConfFile::Registry => "conf/registry.xml",
        }
    }
}

/// Suffix of the one-time backup of a file's original content.
pub const BACKUP_SUFFIX: &str = ".eidb-orig";

/// A file's text and how to turn it back into bytes.
pub struct TextFile {
    pub path: PathBuf,
    /// The file's bytes as read: what an edit is checked against before it is written.
    pub bytes: Vec<u8>,
    pub text: String,
    pub encoding: Encoding,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    /// ISO-8859-1 (registry.xml declares it): one byte per character.
    Latin1,
}

impl TextFile {
    pub fn read(path: &Path) -> Result<TextFile> {
        let bytes = fs::read(path).map_err(|e| {
            Error::input(format!("cannot read {}: {e}", path.display()))
                .with_hint("check the node's ei_home in the spec")
        })?;
        let declares_latin1 = {
            let head = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).to_ascii_lowercase();
            head.starts_with("<?xml") && head.contains("iso-8859-1")
        };
        // A byte order mark stays part of the text: the XML engine keeps it, so it is written back.
        let (text, encoding) = match std::str::from_utf8(&bytes) {
            Ok(text) if !declares_latin1 || text.is_ascii() => (text.to_string(), Encoding::Utf8),
            _ if declares_latin1 => (latin1_decode(&bytes), Encoding::Latin1),
            _ => {
                return Err(Error::input(format!(
                    "{} is neither UTF-8 nor declared ISO-8859-1",
                    path.display()
                )))
            }
        };
        Ok(TextFile {
            path: path.to_path_buf(),
            bytes,
            text,
            encoding,
        })
    }

    pub fn encode(&self, text: &str) -> Result<Vec<u8>> {
        match self.encoding {
            Encoding::Utf8 => Ok(text.as_bytes().to_vec()),
            Encoding::Latin1 => text
                .chars()
                .map(|c| u8::try_from(u32::from(c)).ok())
                .collect::<Option<Vec<u8>>>()
                .ok_or_else(|| {
                    Error::input(format!(
                        "{} is ISO-8859-1 and cannot hold a character of the new content (a password?)",
                        self.path.display()
                    ))
                }),
        }
    }
}

fn latin1_decode(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// Check that a node's EI_HOME looks like one before reading its files.
pub fn check_ei_home(node: &DesiredNode) -> Result<()> {
    if !node.ei_home.is_dir() {
        return Err(Error::input(format!(
            "node {}: EI_HOME {} does not exist",
            node.name,
            node.ei_home.display()
        ))
        .with_hint(
            "fix nodes.ei_home in the spec (relative paths are relative to the spec file)",
        ));
    }
    if !node.ei_home.join("conf").is_dir() {
        return Err(Error::input(format!(
            "node {}: {} has no conf/ folder",
            node.name,
            node.ei_home.display()
        ))
        .with_hint(
            "ei_home must be the EI installation folder (the one holding conf/, lib/, dbscripts/)",
        ));
    }
    Ok(())
}

/// The edits one node needs: an `EditFile` for each file whose content must change.
pub fn plan(node: &DesiredNode) -> Result<Vec<Change>> {
    check_ei_home(node)?;
    let mut changes = Vec::new();
    for file in ConfFile::ALL {
        let path = node.ei_home.join(file.relative_path());
        let current =
            TextFile::read(&path).map_err(|e| e.context(format!("node {}", node.name)))?;
        let edited = edit(file, &current.text, node).map_err(|e| {
            Error::input(format!("node {}: {}:{}:{}: {}", node.name, path.display(), e.line, e.column, e.message))
                .with_hint("fix the XML by hand (or restore the file from the EI distribution); no file was changed")
        })?;
        if edited != current.text {
            // Found now, before anything changes anywhere, not half way through a run.
            check_writable(&path).map_err(|e| e.context(format!("node {}", node.name)))?;
            let after = current
                .encode(&edited)
                .map_err(|e| e.context(format!("node {}", node.name)))?;
            // The bytes the edit was computed from: a change made after this read is detected, not lost.
            let before = current.bytes.clone();
            changes.push(Change::EditFile {
                node: node.name.clone(),
                repoints: crate::plan::repoints(&current.text, &edited),
                diff: masked_diff(file.relative_path(), &current.text, &edited),
                file: path,
                before,
                after,
            });
        }
    }
    if !node.vault_entries.is_empty() {
        changes.extend(plan_vault(node)?);
    }
    Ok(changes)
}

/// The Secure Vault entries in conf/security/cipher-text.properties (a new file is made owner-only).
fn plan_vault(node: &DesiredNode) -> Result<Option<Change>> {
    let path = node.ei_home.join(cipher_text::RELATIVE_PATH);
    let before = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            return Err(Error::input(format!(
                "node {}: cannot read {}: {e}",
                node.name,
                path.display()
            )))
        }
    };
    let text = String::from_utf8_lossy(&before).into_owned();
    let (edited, encrypted) = cipher_text::edit(&text, &node.vault_entries);
    for alias in encrypted {
        tracing::warn!(
            "node {}: {alias} in {} is already encrypted by the cipher tool; eidb leaves it (re-run the cipher tool after changing the password)",
            node.name,
            path.display()
        );
    }
    if edited == text {
        return Ok(None);
    }
    check_writable(&path).map_err(|e| e.context(format!("node {}", node.name)))?;
    let diff = TextDiff::from_lines(&text, &edited)
        .unified_diff()
        .context_radius(2)
        .header(
            &format!("a/{}", cipher_text::RELATIVE_PATH),
            &format!("b/{}", cipher_text::RELATIVE_PATH),
        )
        .to_string();
    Ok(Some(Change::EditFile {
        node: node.name.clone(),
        repoints: Vec::new(),
        file: path,
        diff: crate::redact::redact(&cipher_text::mask(&diff)),
        before,
        after: edited.into_bytes(),
    }))
}

fn edit(file: ConfFile, text: &str, node: &DesiredNode) -> Result<String, conf::ConfError> {
    match file {
        ConfFile::Datasources => conf::edit_master_datasources(text, &node.datasources),
        ConfFile::UserMgt => conf::edit_user_mgt(text, &node.user_store_jndi),
        ConfFile::Registry => conf::edit_registry(text, &node.registry),
    }
}

/// A unified diff with every password masked; a change of password alone still shows as a changed line.
pub fn masked_diff(name: &str, before: &str, after: &str) -> String {
    let (before_masked, after_masked) = (conf::mask_passwords(before), conf::mask_passwords(after));
    let diff = TextDiff::from_lines(&before_masked, &after_masked)
        .unified_diff()
        .context_radius(2)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string();
    let diff = if diff.is_empty() && before != after {
        format!("--- a/{name}\n+++ b/{name}\n(only password values change; they are not shown)\n")
    } else {
        diff
    };
    crate::redact::redact(&diff.replace('\r', ""))
}

/// Write every file edit, or none: all folders are checked writable first, each file is backed up once
/// (`<file>.eidb-orig`, the content before eidb first changed it), written to a temp file beside it,
/// fsynced and renamed over it with its permissions kept. Should a later write fail, the files already
/// written are put back.
pub fn write_all(changes: &[Change]) -> Result<usize> {
    // A conf file that is a symlink is written where it points, and stays a symlink.
    let resolved: Vec<PathBuf> = changes
        .iter()
        .filter_map(|c| match c {
            Change::EditFile { file, .. } => {
                Some(fs::canonicalize(file).unwrap_or_else(|_| file.clone()))
            }
            _ => None,
        })
        .collect();
    let mut resolved = resolved.iter();
    let edits: Vec<(&Path, &[u8], &[u8])> = changes
        .iter()
        .filter_map(|c| match c {
            Change::EditFile { before, after, .. } => Some((
                resolved.next()?.as_path(),
                before.as_slice(),
                after.as_slice(),
            )),
            _ => None,
        })
        .collect();
    let mut pending = Vec::with_capacity(edits.len());
    for (path, before, after) in &edits {
        check_writable(path)?;
        // Another run (which held the lock while this one waited) may have written the same content.
        if current_content(path)? == *after {
            continue;
        }
        check_unchanged(path, before)?;
        pending.push((*path, *before, *after));
    }
    let mut written: Vec<(&Path, &[u8])> = Vec::new();
    for (path, before, after) in &pending {
        let outcome = backup_once(path, before).and_then(|()| write_atomically(path, after));
        if let Err(e) = outcome {
            let mut not_restored = Vec::new();
            for (done, original) in written.iter().rev() {
                // A file eidb created (nothing before) is removed; any other gets its old bytes back.
                let restored = if original.is_empty() {
                    fs::remove_file(done).map_err(|e| e.to_string())
                } else {
                    write_atomically(done, original).map_err(|e| e.message)
                };
                if let Err(why) = restored {
                    not_restored.push(format!("{} ({why})", done.display()));
                }
            }
            let hint = if not_restored.is_empty() {
                "no file was left changed: the files written before this one were restored"
                    .to_string()
            } else {
                format!(
                    "these files could not be restored and hold eidb's new content: {}",
                    not_restored.join(", ")
                )
            };
            return Err(e.with_hint(hint));
        }
        written.push((path, before));
    }
    Ok(written.len())
}

fn check_writable(path: &Path) -> Result<()> {
    // A file eidb creates may sit in a folder it creates too: check the nearest folder that exists.
    let mut dir = path.parent().unwrap_or(Path::new("."));
    while !dir.exists() {
        dir = dir.parent().unwrap_or(Path::new("."));
    }
    let probe = tempfile::Builder::new()
        .prefix(".eidb-probe")
        .tempfile_in(dir);
    let meta = fs::metadata(path);
    let read_only = meta
        .as_ref()
        .map(|m| m.permissions().readonly())
        .unwrap_or(false);
    match (probe, read_only) {
        (Ok(_), false) => Ok(()),
        (Err(e), _) => Err(
            Error::input(format!("cannot write in {}: {e}", dir.display())).with_hint(
                "run eidb as the user that owns the EI installation; no file was changed",
            ),
        ),
        (_, true) => Err(
            Error::input(format!("{} is read-only", path.display())).with_hint(
                "make it writable (chmod u+w) or run eidb as its owner; no file was changed",
            ),
        ),
    }
}

/// Someone (another run, an editor) changed the file after eidb read it: stop rather than overwrite.
fn check_unchanged(path: &Path, expected: &[u8]) -> Result<()> {
    if current_content(path)? != expected {
        return Err(
            Error::failure(format!("{} changed while eidb was running", path.display()))
                .with_hint("run eidb again; no file was changed"),
        );
    }
    Ok(())
}

/// A file's bytes now; a file that does not exist (yet) reads as empty.
fn current_content(path: &Path) -> Result<Vec<u8>> {
    match fs::read(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        other => other.map_err(|e| Error::failure(format!("cannot read {}: {e}", path.display()))),
    }
}

fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(BACKUP_SUFFIX);
    path.with_file_name(name)
}

fn backup_once(path: &Path, original: &[u8]) -> Result<()> {
    let backup = backup_path(path);
    if backup.exists() || !path.exists() {
        return Ok(());
    }
    write_atomically_new(&backup, original, path)
}

fn write_atomically(path: &Path, content: &[u8]) -> Result<()> {
    write_atomically_new(path, content, path)
}

/// Write `content` to `path` through a temp file in the same folder, taking permissions from `mode_of`.
fn write_atomically_new(path: &Path, content: &[u8], mode_of: &Path) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)
        .map_err(|e| Error::failure(format!("cannot create {}: {e}", dir.display())))?;
    let fail = |e: std::io::Error| Error::failure(format!("cannot write {}: {e}", path.display()));
    let mut temp = tempfile::Builder::new()
        .prefix(".eidb-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(fail)?;
    temp.write_all(content).map_err(fail)?;
    if let Ok(meta) = fs::metadata(mode_of) {
        // Keep owner and group too: a file of the WSO2 service account edited by eidb under sudo must stay
        // readable by the node.
        use std::os::unix::fs::MetadataExt;
        let created = fs::metadata(temp.path()).map_err(fail)?;
        if (created.uid(), created.gid()) != (meta.uid(), meta.gid()) {
            std::os::unix::fs::chown(temp.path(), Some(meta.uid()), Some(meta.gid())).map_err(
                |e| {
                    Error::failure(format!(
                        "cannot keep the owner {}:{} of {}: {e}",
                        meta.uid(),
                        meta.gid(),
                        mode_of.display()
                    ))
                    .with_hint("run eidb as the file's owner or as root")
                },
            )?;
        }
        fs::set_permissions(temp.path(), meta.permissions()).map_err(fail)?;
    }
    temp.as_file().sync_all().map_err(fail)?;
    temp.persist(path).map_err(|e| fail(e.error))?;
    if let Ok(dir) = fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.xml");
        fs::write(
            &path,
            b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<a>caf\xe9</a>\n",
        )
        .unwrap();
        let file = TextFile::read(&path).unwrap();
        assert_eq!(file.encoding, Encoding::Latin1);
        assert!(file.text.contains("caf\u{e9}"));
        assert_eq!(file.encode(&file.text).unwrap(), fs::read(&path).unwrap());
        assert!(file.encode("\u{2603}").is_err());
    }

    #[test]
    fn atomic_write_keeps_mode_and_backs_up_once() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.xml");
        fs::write(&path, "one").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let change = |before: &str, after: &str| Change::EditFile {
            node: "n".into(),
            repoints: Vec::new(),
            file: path.clone(),
            diff: String::new(),
            before: before.into(),
            after: after.into(),
        };
        write_all(&[change("one", "two")]).unwrap();
        write_all(&[change("two", "three")]).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "three");
        assert_eq!(fs::read_to_string(backup_path(&path)).unwrap(), "one");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let err = write_all(&[change("stale", "four")]).unwrap_err();
        assert!(err.message.contains("changed while"), "{}", err.message);
        assert_eq!(fs::read_to_string(&path).unwrap(), "three");
    }
}
