//! The node files on disk: reading them once (in their declared encoding, with their modes) for the node
//! plan (`super::plan`), and writing the plan's edits, each atomically (temp file in the same folder,
//! fsync, rename) after a one-time backup of the original. Either every file is written, or none is
//! changed.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::xattrs::Keep;
use crate::core::desired::DesiredNode;
use crate::core::plan::Change;
use crate::error::{Error, Result};
use crate::node::cipher_text;

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

/// The clustering files eidb owns parts of, relative to EI_HOME: read and written only when the spec
/// has `[clustering]` or `[load_balancer]` ([`clustering_files`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterFile {
    Axis2,
    Carbon,
    Catalina,
    /// May be missing: eidb creates it.
    Hazelcast,
    Log4j,
}

impl ClusterFile {
    pub fn relative_path(self) -> &'static str {
        match self {
            ClusterFile::Axis2 => "conf/axis2/axis2.xml",
            ClusterFile::Carbon => "conf/carbon.xml",
            ClusterFile::Catalina => "conf/tomcat/catalina-server.xml",
            ClusterFile::Hazelcast => "conf/hazelcast.properties",
            ClusterFile::Log4j => "conf/log4j.properties",
        }
    }
}

/// A file that, when present, makes the Carbon kernel ignore axis2.xml's clustering settings.
pub const HAZELCAST_XML: &str = "conf/etc/hazelcast.xml";

/// The clustering files a spec has eidb edit: axis2.xml and carbon.xml with either section, the
/// Hazelcast properties and log4j with `[clustering]`, catalina-server.xml with `[load_balancer]`.
pub fn clustering_files(spec: &crate::core::spec::Spec) -> Vec<ClusterFile> {
    let (clustered, fronted) = (spec.clustering.is_some(), spec.load_balancer.is_some());
    let mut files = Vec::new();
    if clustered || fronted {
        files.extend([ClusterFile::Axis2, ClusterFile::Carbon]);
    }
    if fronted {
        files.push(ClusterFile::Catalina);
    }
    if clustered {
        files.extend([ClusterFile::Hazelcast, ClusterFile::Log4j]);
    }
    files
}

/// Adds the clustering files `wanted` to what was observed of a node (a missing
/// hazelcast.properties is `None`: eidb creates it), and whether `conf/etc/hazelcast.xml` exists.
pub fn observe_clustering(
    mut seen: ObservedNode,
    ei_home: &Path,
    wanted: &[ClusterFile],
) -> Result<ObservedNode> {
    let name = seen.name.clone();
    let context = |e: Error| e.context(format!("node {name}"));
    for &file in wanted {
        let path = ei_home.join(file.relative_path());
        if file == ClusterFile::Hazelcast && !path.exists() {
            seen.clustering.push((file, path, None));
            continue;
        }
        let text = TextFile::read(&path).map_err(context)?;
        let found = observed(&path, text).map_err(context)?;
        seen.clustering.push((file, path, Some(found)));
    }
    seen.hazelcast_xml = (!wanted.is_empty() && ei_home.join(HAZELCAST_XML).exists())
        .then(|| ei_home.join(HAZELCAST_XML));
    Ok(seen)
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
fn check_ei_home(name: &str, ei_home: &Path) -> Result<()> {
    if !ei_home.is_dir() {
        return Err(Error::input(format!(
            "node {name}: EI_HOME {} does not exist",
            ei_home.display()
        ))
        .with_hint(
            "fix nodes.ei_home in the spec (relative paths are relative to the spec file)",
        ));
    }
    if !ei_home.join("conf").is_dir() {
        return Err(Error::input(format!(
            "node {name}: {} has no conf/ folder",
            ei_home.display()
        ))
        .with_hint(
            "ei_home must be the EI installation folder (the one holding conf/, lib/, dbscripts/)",
        ));
    }
    Ok(())
}

/// A file as observed: its content and who may read it.
#[derive(Debug, Clone)]
pub struct Observed<T> {
    pub path: PathBuf,
    pub content: T,
    /// Permission bits (`0o7777`).
    pub mode: u32,
    pub owner_uid: u32,
    /// The owning group's name (or `gid N`), for messages.
    pub group: String,
    /// Who else may read the file through its POSIX ACL (named users and groups whose entry, limited
    /// by the mask, grants read: see [`super::xattrs::acl_readers`]), said for people.
    pub acl_readers: Vec<String>,
}

/// One node's files, read once: the three XML files, Secure Vault's `cipher-text.properties` and the
/// one-time backups eidb made. Everything the node plan needs, so that the plan itself reads nothing.
pub struct ObservedNode {
    pub name: String,
    pub conf: Vec<(ConfFile, Observed<TextFile>)>,
    /// `None` when the file does not exist.
    pub cipher_text: Option<Observed<Vec<u8>>>,
    /// The backups that exist, each with the path of the live file it backs up.
    pub backups: Vec<(PathBuf, Observed<Vec<u8>>)>,
    /// The embedded H2 databases the datasources name that hold a data file: (the datasource's URL as the
    /// file has it, the data file). A node moved off one leaves that data behind.
    pub h2_data: Vec<(String, PathBuf)>,
    /// The clustering files ([`observe_clustering`]): each with its path, `None` when it does not exist.
    pub clustering: Vec<(ClusterFile, PathBuf, Option<Observed<TextFile>>)>,
    /// `conf/etc/hazelcast.xml`, when it exists and the spec clusters the node.
    pub hazelcast_xml: Option<PathBuf>,
}

impl ObservedNode {
    /// The text of one of the three XML files.
    pub fn text(&self, file: ConfFile) -> &str {
        self.conf
            .iter()
            .find(|(kind, _)| *kind == file)
            .map_or("", |(_, seen)| seen.content.text.as_str())
    }
}

fn observed<T>(path: &Path, content: T) -> Result<Observed<T>> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = fs::metadata(path)
        .map_err(|e| Error::input(format!("cannot read {}: {e}", path.display())))?;
    Ok(Observed {
        path: path.to_path_buf(),
        content,
        mode: meta.permissions().mode() & 0o7777,
        owner_uid: meta.uid(),
        group: group_name(meta.gid()),
        acl_readers: super::xattrs::readers_of(path, meta.uid(), meta.gid()),
    })
}

/// Read what the node plan needs of the node `name` (which names it in errors) at `ei_home`.
pub fn observe(name: &str, ei_home: &Path) -> Result<ObservedNode> {
    check_ei_home(name, ei_home)?;
    let context = |e: Error| e.context(format!("node {name}"));
    let mut conf = Vec::new();
    for file in ConfFile::ALL {
        let path = ei_home.join(file.relative_path());
        let text = TextFile::read(&path).map_err(context)?;
        conf.push((file, observed(&path, text).map_err(context)?));
    }
    let cipher_path = ei_home.join(cipher_text::RELATIVE_PATH);
    let cipher_text = match fs::read(&cipher_path) {
        Ok(bytes) => Some(observed(&cipher_path, bytes).map_err(context)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(Error::input(format!(
                "node {name}: cannot read {}: {e}",
                cipher_path.display()
            )))
        }
    };
    let mut backups = Vec::new();
    for live in [
        ei_home.join(ConfFile::Datasources.relative_path()),
        cipher_path,
    ] {
        let backup = backup_path(&live);
        if let Ok(bytes) = fs::read(&backup) {
            backups.push((live, observed(&backup, bytes).map_err(context)?));
        }
    }
    let datasources = conf
        .iter()
        .find(|(kind, _)| *kind == ConfFile::Datasources)
        .and_then(|(_, seen)| crate::node::conf::read_master_datasources(&seen.content.text).ok())
        .unwrap_or_default();
    let h2_data = datasources
        .iter()
        .filter_map(|d| {
            let url = d.url.as_deref()?;
            Some((url.to_string(), h2_data_file(url, ei_home)?))
        })
        .collect();
    Ok(ObservedNode {
        name: name.to_string(),
        conf,
        cipher_text,
        backups,
        h2_data,
        clustering: Vec::new(),
        hazelcast_xml: None,
    })
}

/// The data file of an embedded H2 database URL (`jdbc:h2:./repository/database/WSO2CARBON_DB;...`, a
/// relative path being relative to the EI_HOME the node starts in), when it exists: `<path>.h2.db`
/// (H2 1.3, which Carbon 4.4 ships) or `<path>.mv.db` (H2 1.4).
fn h2_data_file(url: &str, ei_home: &Path) -> Option<PathBuf> {
    let rest = url.trim().strip_prefix("jdbc:h2:")?;
    let rest = rest.strip_prefix("file:").unwrap_or(rest);
    let path = rest.split(';').next()?;
    if path.is_empty()
        || path.starts_with("mem:")
        || path.starts_with("tcp:")
        || path.starts_with("ssl:")
        || path.starts_with('~')
    {
        return None;
    }
    let path = Path::new(path);
    let base = if path.is_absolute() {
        path.to_path_buf()
    } else {
        // `./repository/...`: the node's EI_HOME, said without the `./`.
        ei_home.join(
            path.components()
                .filter(|c| *c != std::path::Component::CurDir)
                .collect::<PathBuf>(),
        )
    };
    [".h2.db", ".mv.db"].iter().find_map(|extension| {
        let mut name = base.as_os_str().to_owned();
        name.push(extension);
        let file = PathBuf::from(name);
        file.is_file().then_some(file)
    })
}

/// A file that holds a password in plain text, as found, for verify.
#[derive(Debug, Clone)]
pub struct SecretFile {
    pub path: PathBuf,
    pub mode: u32,
    /// What holds a plaintext password: datasource names or property keys.
    pub holders: Vec<String>,
    /// Named users and groups that may read it through its ACL.
    pub acl_readers: Vec<String>,
}

/// The files under EI_HOME that hold a plaintext password (master-datasources.xml, cipher-text.properties
/// and their `.eidb-orig` backups), read only.
pub fn secret_files(ei_home: &Path) -> Vec<SecretFile> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let mut out = Vec::new();
    for live in [
        ei_home.join(ConfFile::Datasources.relative_path()),
        ei_home.join(cipher_text::RELATIVE_PATH),
    ] {
        for path in [backup_path(&live), live.clone()] {
            let (Ok(meta), Ok(bytes)) = (fs::metadata(&path), fs::read(&path)) else {
                continue;
            };
            let holders = secret_holders(&live, &bytes);
            if !holders.is_empty() {
                out.push(SecretFile {
                    acl_readers: super::xattrs::readers_of(&path, meta.uid(), meta.gid()),
                    path,
                    mode: meta.permissions().mode() & 0o7777,
                    holders,
                });
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------------------
// Writing: every new file is written in full (temp file beside it, final owner and mode from creation,
// fsync) before any is renamed into place, so that a full disk or a failing folder is found while every
// file is still as it was. Each replaced file's old inode is kept under a temp name (a hard link: no space
// needed) until all are renamed, so that a failure half way puts the old files back by renaming alone.
// ---------------------------------------------------------------------------------------------------------

/// eidb's temp files are named `.eidb-<kind>-<pid>-<start>-<boot>-XXXXXX.tmp` (earlier versions:
/// `.eidb-<kind>-<pid>-XXXXXX.tmp` and `.eidb-XXXXXX.tmp`), in the folder of the file they belong to;
/// nothing else is ever named so. The writer is named by what a restarted container or host cannot
/// fake: its process id, the process's start time (clock ticks since boot, `/proc/PID/stat`) and the
/// boot (`/proc/sys/kernel/random/boot_id`). A temp file is a live run's only while that very process
/// runs; a run killed while it was PID 1 (a container's entrypoint) leaves files that a later PID 1 does
/// not keep alive.
const TEMP_PREFIX: &str = ".eidb-";
const TEMP_SUFFIX: &str = ".tmp";
const TEMP_RANDOM_LEN: usize = 6;
/// `new`: a file's new content; `orig`: its one-time backup; `undo`: the replaced file, kept until every
/// file is in place; `probe`: the check, before any change, that a file can be replaced.
const TEMP_KINDS: [&str; 4] = ["new", "orig", "undo", "probe"];

/// Test hook: when set to a path, the file phase stops after the first file is renamed into place (every
/// other new file and backup is then written, not yet renamed), creates that path and waits until it is
/// removed. Lets the tests look at the temp files' modes and kill a run in the file phase.
const PAUSE_ENV: &str = "EIDB_TEST_PAUSE_IN_FILE_PHASE";

/// Whether a file name is one of eidb's temp files.
#[cfg(test)]
fn is_eidb_temp(name: &str) -> bool {
    temp_name_parts(name).is_some()
}

/// Who wrote an eidb temp file, as its name says.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TempWriter {
    /// `.eidb-XXXXXX.tmp`: the first versions named no writer.
    Unnamed,
    /// `.eidb-<kind>-<pid>-XXXXXX.tmp`: the process id alone (earlier versions).
    Pid(u32),
    /// This version: the process id, its start time in clock ticks since boot, and the boot.
    Process { pid: u32, start: u64, boot: String },
}

/// The writer of an eidb temp file, or `None` for a name that is not one.
fn temp_name_parts(name: &str) -> Option<TempWriter> {
    let middle = name.strip_prefix(TEMP_PREFIX)?.strip_suffix(TEMP_SUFFIX)?;
    let random_ok =
        |r: &str| r.len() == TEMP_RANDOM_LEN && r.chars().all(|c| c.is_ascii_alphanumeric());
    if random_ok(middle) {
        return Some(TempWriter::Unnamed);
    }
    let rest = TEMP_KINDS
        .iter()
        .find_map(|kind| middle.strip_prefix(kind)?.strip_prefix('-'))?;
    let number = |n: &str| !n.is_empty() && n.len() <= 20 && n.chars().all(|c| c.is_ascii_digit());
    let parts: Vec<&str> = rest.split('-').collect();
    match parts.as_slice() {
        [pid, random] if number(pid) && pid.len() <= 10 && random_ok(random) => {
            Some(TempWriter::Pid(pid.parse().ok()?))
        }
        [pid, start, boot, random]
            if number(pid)
                && pid.len() <= 10
                && number(start)
                && !boot.is_empty()
                && boot.len() <= 16
                && boot.chars().all(|c| c.is_ascii_hexdigit())
                && random_ok(random) =>
        {
            Some(TempWriter::Process {
                pid: pid.parse().ok()?,
                start: start.parse().ok()?,
                boot: boot.to_string(),
            })
        }
        _ => None,
    }
}

/// The start of a process, in clock ticks since boot (field 22 of `/proc/PID/stat`), if it runs.
fn process_start(pid: &str) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from the last `)`.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

/// This boot, as the first 8 hex digits of the kernel's boot id ("0" where it cannot be read).
fn boot_id() -> String {
    fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|id| {
            id.chars()
                .filter(char::is_ascii_hexdigit)
                .take(8)
                .collect::<String>()
        })
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| "0".to_string())
}

/// Whether the run that wrote this temp file still runs: the very process, not one that got its id.
fn writer_runs(writer: &TempWriter, file: &Path) -> bool {
    match writer {
        TempWriter::Unnamed => false,
        TempWriter::Process { pid, start, boot } => {
            *boot == boot_id() && process_start(&pid.to_string()) == Some(*start)
        }
        // Only the id: the process with that id runs, and ran already when the file was last written
        // (a process that started after it, such as the PID 1 of a restarted container, did not write it).
        TempWriter::Pid(pid) => {
            let Some(start) = process_start(&pid.to_string()).and_then(started_at) else {
                return false;
            };
            let written = fs::symlink_metadata(file).and_then(|m| m.modified());
            // A second of slack: the boot time is known to the second.
            written.is_ok_and(|w| w + std::time::Duration::from_secs(1) >= start)
        }
    }
}

/// Wall-clock time of a process start given in clock ticks since boot.
fn started_at(ticks: u64) -> Option<std::time::SystemTime> {
    let stat = fs::read_to_string("/proc/stat").ok()?;
    let boot: u64 = stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let per_second = if per_second > 0 {
        per_second as u64
    } else {
        100
    };
    Some(
        std::time::UNIX_EPOCH
            + std::time::Duration::from_secs(boot)
            + std::time::Duration::from_millis(ticks * 1000 / per_second),
    )
}

/// The start of this process's temp file names of a kind.
fn temp_prefix(kind: &str) -> String {
    static WRITER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let writer = WRITER.get_or_init(|| {
        let pid = std::process::id();
        let start = process_start("self").unwrap_or(0);
        format!("{pid}-{start}-{}", boot_id())
    });
    format!("{TEMP_PREFIX}{kind}-{writer}-")
}

fn temp_builder(prefix: &str) -> tempfile::Builder<'_, 'static> {
    let mut builder = tempfile::Builder::new();
    builder
        .prefix(prefix)
        .suffix(TEMP_SUFFIX)
        .rand_bytes(TEMP_RANDOM_LEN);
    builder
}

/// Every file eidb may write under a node's EI_HOME (the three conf files and cipher-text.properties).
fn written_files() -> impl Iterator<Item = &'static str> {
    ConfFile::ALL
        .into_iter()
        .map(ConfFile::relative_path)
        .chain([cipher_text::RELATIVE_PATH])
}

/// What a path is on disk: the file it reaches (device and inode, after every symlink, so a hard link is
/// the same file too), or, for a file not there yet, the real folder it would be made in and its name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum FileIdentity {
    Inode(u64, u64),
    ToBeMade(PathBuf),
}

fn identity(path: &Path) -> Option<FileIdentity> {
    use std::os::unix::fs::MetadataExt;
    match fs::metadata(path) {
        Ok(meta) => Some(FileIdentity::Inode(meta.dev(), meta.ino())),
        Err(_) => {
            let folder = path.parent()?.canonicalize().ok()?;
            Some(FileIdentity::ToBeMade(folder.join(path.file_name()?)))
        }
    }
}

/// Two nodes whose files are one file on disk (a symlink, a hard link, a symlinked conf/ folder, as
/// configuration management makes them) would each rewrite the other's: refused as bad input before
/// anything changes, naming both nodes and the file. `nodes` are (name, EI_HOME) in spec order.
pub fn distinct_files(nodes: &[(&str, &Path)]) -> Result<()> {
    let mut seen: std::collections::HashMap<FileIdentity, (&str, PathBuf)> = Default::default();
    for (name, home) in nodes {
        for relative in written_files() {
            let path = home.join(relative);
            let Some(id) = identity(&path) else { continue };
            if let Some((other, other_path)) = seen.get(&id) {
                return Err(Error::input(format!(
                    "nodes {other} and {name} edit the same file: {} and {} are one file on disk (a link)",
                    other_path.display(),
                    path.display()
                ))
                .with_hint(
                    "every node needs its own copy of its conf files (each names its own local registry): replace the link \
                     with a copy, or keep the shared file out of eidb's hands",
                ));
            }
            seen.insert(id, (name, path));
        }
    }
    Ok(())
}

/// The folders eidb writes in under a node's EI_HOME.
fn node_folders(ei_home: &Path) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = ConfFile::ALL
        .iter()
        .map(|f| f.relative_path())
        .chain([cipher_text::RELATIVE_PATH])
        .chain([
            ClusterFile::Axis2.relative_path(),
            ClusterFile::Catalina.relative_path(),
        ])
        .filter_map(|f| ei_home.join(f).parent().map(Path::to_path_buf))
        .collect();
    folders.sort();
    folders.dedup();
    folders
}

/// The temp files interrupted runs (killed in their file phase) left in the nodes' folders: eidb's own (by
/// name), not those of the very process that wrote them while it still runs (another eidb writing the
/// same files now; see `writer_runs`). Read only.
pub fn leftovers(nodes: &[DesiredNode]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for node in nodes {
        for folder in node_folders(&node.ei_home) {
            let Ok(entries) = fs::read_dir(&folder) else {
                continue;
            };
            for entry in entries.flatten() {
                let Some(writer) = entry.file_name().to_str().and_then(temp_name_parts) else {
                    continue;
                };
                let running = writer_runs(&writer, &entry.path());
                if !running && entry.file_type().is_ok_and(|t| t.is_file()) {
                    found.push(entry.path());
                }
            }
        }
    }
    found
}

/// Remove the [`leftovers`]; provision only. Returns what was removed.
pub fn remove_leftovers(nodes: &[DesiredNode]) -> Vec<PathBuf> {
    leftovers(nodes)
        .into_iter()
        .filter(|path| fs::remove_file(path).is_ok())
        .collect()
}

/// Before any change (database or file): can every file of the plan be replaced as the write will do
/// it? In the file's folder: create a temp file, give it the file's owner and group, and rename it over
/// a second link to the file (so the file itself is untouched). Finds a read-only folder, an immutable or
/// append-only file (`chattr +i`/`+a`), a file of another owner that eidb's user cannot give a new file
/// to, a sticky folder. Provision only: verify and --dry-run create no file.
pub fn check_replaceable(changes: &[Change]) -> Result<()> {
    for change in changes {
        let Change::EditFile { node, file, .. } = change else {
            continue;
        };
        let path = fs::canonicalize(file).unwrap_or_else(|_| file.clone());
        probe(&path).map_err(|e| e.context(format!("node {node}")))?;
    }
    Ok(())
}

fn probe(path: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    // A file eidb creates may sit in a folder it creates too: try the nearest folder that exists.
    let mut dir = path.parent().unwrap_or(Path::new("."));
    while !dir.exists() {
        dir = dir.parent().unwrap_or(Path::new("."));
    }
    let temp = temp_builder(&temp_prefix("probe")).tempfile_in(dir).map_err(|e| {
        Error::input(format!("cannot create a file in {}: {e}", dir.display())).with_hint(format!(
            "eidb replaces each file through a temp file in its folder: run eidb as the owner of the EI installation, or make the folder writable (`lsattr -d {}` shows an immutable folder); nothing was changed",
            dir.display()
        ))
    })?;
    let Ok(meta) = fs::metadata(path) else {
        return Ok(()); // a new file: creating one in its folder is all the write needs
    };
    if meta.permissions().readonly() {
        return Err(
            Error::input(format!("{} is read-only", path.display())).with_hint(
                "make it writable (chmod u+w) or run eidb as its owner; nothing was changed",
            ),
        );
    }
    let me = fs::metadata(temp.path())
        .map(|m| (m.uid(), m.gid()))
        .unwrap_or_default();
    if me != (meta.uid(), meta.gid()) {
        std::os::unix::fs::chown(temp.path(), Some(meta.uid()), Some(meta.gid())).map_err(|e| {
            Error::input(format!(
                "{} belongs to {} (group {}) and eidb runs as {}: it cannot give the new file that owner and group ({e})",
                path.display(),
                user_name(meta.uid()),
                group_name(meta.gid()),
                user_name(me.0),
            ))
            .with_hint(if meta.uid() == 0 {
                format!(
                    "run eidb as root (sudo), or give the file back to the account that runs the node \
                     (chown {} {}); nothing was changed",
                    id_name("/etc/passwd", me.0).unwrap_or_else(|| me.0.to_string()),
                    path.display()
                )
            } else {
                format!(
                    "run eidb as {} (the file's owner) or as root; nothing was changed",
                    user_name(meta.uid())
                )
            })
        })?;
    }
    // Replacing a file is a rename over its directory entry: try one over a second link to it.
    let link = match temp_builder(&temp_prefix("probe")).make_in(dir, |p| fs::hard_link(path, p)) {
        Ok(link) => link,
        Err(e)
            if e.kind() == std::io::ErrorKind::PermissionDenied || e.raw_os_error() == Some(1) =>
        {
            return Err(Error::input(format!("{} cannot be replaced: {e}", path.display()))
                .with_hint(format!(
                    "it is probably immutable or append-only (`lsattr {0}` shows `i` or `a`); remove the flag (chattr -i {0}) if eidb should change it; nothing was changed",
                    path.display()
                )));
        }
        // A file system without hard links: the rename cannot be tried beforehand.
        Err(_) => return Ok(()),
    };
    fs::rename(temp.path(), link.path()).map_err(|e| {
        Error::input(format!("{} cannot be replaced: {e}", path.display())).with_hint(format!(
            "eidb renames a new file over it; in a folder with the sticky bit only the owner of the file or folder (or root) may: run eidb as {}; nothing was changed",
            user_name(meta.uid())
        ))
    })?;
    drop(link); // removes the probe, now under the link's name
    drop(temp); // its name is gone already
    Ok(())
}

/// `name (uid N)` from /etc/passwd, or `uid N`.
fn user_name(uid: u32) -> String {
    id_name("/etc/passwd", uid).map_or_else(|| format!("uid {uid}"), |n| format!("{n} (uid {uid})"))
}

fn group_name(gid: u32) -> String {
    id_name("/etc/group", gid).unwrap_or_else(|| format!("gid {gid}"))
}

fn id_name(file: &str, id: u32) -> Option<String> {
    fs::read_to_string(file).ok()?.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)?.parse::<u32>().ok()? == id).then(|| name.to_string())
    })
}

/// One file's write, prepared: the new content and the backup written in full beside the file, the
/// file's current inode kept under a temp name.
struct Staged<'a> {
    path: &'a Path,
    new: tempfile::TempPath,
    backup: Option<tempfile::TempPath>,
    undo: Option<Undo>,
}

/// The file as it was, to put back by a rename.
enum Undo {
    /// A second link to the file's inode (the file itself: owner, mode, content).
    Link(tempfile::NamedTempFile<()>),
    /// A copy, where hard links cannot be made.
    Copy(tempfile::TempPath),
}

impl Undo {
    fn path(&self) -> &Path {
        match self {
            Undo::Link(t) => t.path(),
            Undo::Copy(t) => t,
        }
    }
}

/// Write every file edit, or none. Each file is backed up once (`<file>.eidb-orig`, the content before
/// eidb first changed it); its new content keeps the file's owner and group and gets its final mode from
/// creation. Every new file and backup is written and fsynced before the first is renamed into place;
/// should a rename fail, the files already replaced get their old inodes back and this run's backups go.
pub fn write_all(changes: &[Change]) -> Result<usize> {
    use std::os::unix::fs::PermissionsExt;
    // A conf file that is a symlink is written where it points, and stays a symlink.
    let edits: Vec<(PathBuf, &Change)> = changes
        .iter()
        .filter_map(|c| match c {
            Change::EditFile { file, .. } => {
                Some((fs::canonicalize(file).unwrap_or_else(|_| file.clone()), c))
            }
            _ => None,
        })
        .collect();
    let mut pending = Vec::with_capacity(edits.len());
    for (path, change) in &edits {
        let Change::EditFile {
            node,
            before,
            after,
            mode,
            private_backup,
            ..
        } = change
        else {
            continue;
        };
        // Another run (which held the lock while this one waited) may have done the same.
        let mode_now = fs::metadata(path)
            .ok()
            .map(|m| m.permissions().mode() & 0o7777);
        let mode_done = mode.as_ref().is_none_or(|m| mode_now == Some(m.to));
        if current_content(path)? == *after && mode_done {
            continue;
        }
        check_unchanged(path, before)?;
        let final_mode = mode.as_ref().map(|m| m.to).or(mode_now);
        pending.push(Pending {
            node,
            path,
            before,
            after,
            final_mode,
            private_backup: *private_backup,
        });
    }
    if pending.is_empty() {
        return Ok(0);
    }

    // 1. Everything written in full, nothing renamed: a failure here leaves every file as it was.
    let staged = stage(&pending).map_err(|e| {
        e.with_hint(
            "no node file was changed: every new file is written in full before any is renamed; make room \
             (or fix the folder) and run eidb again",
        )
    })?;
    sync_folders(staged.iter().map(|s| s.path));

    // 2. Every rename; a failure puts back the files already replaced.
    let mut done: Vec<(&Path, Option<Undo>, bool)> = Vec::new();
    let mut staged = staged.into_iter();
    let mut first = true;
    let failure = loop {
        let Some(Staged {
            path,
            new,
            backup,
            undo,
        }) = staged.next()
        else {
            break None;
        };
        let mut backed_up = false;
        if let Some(backup) = backup {
            match backup.persist_noclobber(backup_path(path)) {
                Ok(_) => backed_up = true,
                // Made meanwhile: the first backup stays.
                Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    break Some(Error::failure(format!(
                        "cannot write {}: {}",
                        backup_path(path).display(),
                        e.error
                    )))
                }
            }
        }
        if let Err(e) = new.persist(path) {
            if backed_up {
                let _ = fs::remove_file(backup_path(path));
            }
            break Some(Error::failure(format!(
                "cannot write {}: {}",
                path.display(),
                e.error
            )));
        }
        done.push((path, undo, backed_up));
        if first {
            first = false;
            pause_for_tests();
        }
    };
    if let Some(e) = failure {
        drop(staged); // removes the temp files not renamed
        let mut not_restored = Vec::new();
        for (path, undo, backed_up) in done.into_iter().rev() {
            let restored = match &undo {
                Some(undo) => fs::rename(undo.path(), path),
                None => fs::remove_file(path), // a file eidb created
            };
            if let Err(why) = restored {
                not_restored.push(format!("{} ({why})", path.display()));
            } else if backed_up {
                let _ = fs::remove_file(backup_path(path));
            }
        }
        let hint = if not_restored.is_empty() {
            "no file was left changed: the files replaced before this one were put back".to_string()
        } else {
            format!(
                "these files could not be put back and hold eidb's new content: {}",
                not_restored.join(", ")
            )
        };
        return Err(e.with_hint(hint));
    }
    let written: Vec<&Path> = done.iter().map(|(path, ..)| *path).collect();
    sync_folders(written.iter().copied());
    Ok(written.len())
    // `done` drops here: the kept old inodes' names are removed.
}

/// A write waiting to happen.
struct Pending<'a> {
    node: &'a str,
    path: &'a Path,
    before: &'a [u8],
    after: &'a [u8],
    final_mode: Option<u32>,
    /// The backup, if one is made, loses the others' permissions (it holds a real password).
    private_backup: bool,
}

/// Write every new file and backup beside its file and keep each file's current inode; rename nothing.
fn stage<'a>(pending: &[Pending<'a>]) -> Result<Vec<Staged<'a>>> {
    use std::os::unix::fs::PermissionsExt;
    let mut staged = Vec::with_capacity(pending.len());
    for write in pending {
        let in_node = |e: Error| e.context(format!("node {}", write.node));
        let (path, before, after) = (write.path, write.before, write.after);
        let owner = fs::metadata(path).ok();
        let dir = path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(|e| {
            in_node(Error::failure(format!(
                "cannot create {}: {e}",
                dir.display()
            )))
        })?;
        // A file eidb creates that holds no secret (conf/hazelcast.properties) is the node's like its
        // folder: the folder's owner and group, readable as the folder is. cipher-text.properties, the
        // one secret file eidb may create, stays owner-only (the temp file's own mode).
        let folder = (owner.is_none() && !path.ends_with(cipher_text::RELATIVE_PATH))
            .then(|| fs::metadata(dir).ok())
            .flatten();
        let new_mode = write.final_mode.or_else(|| {
            folder
                .as_ref()
                .map(|m| 0o666 & m.permissions().mode() & !0o111 & 0o7777)
        });
        let keep_all = owner.as_ref().map(|_| Keep::All);
        let new = write_temp(dir, "new", after, new_mode, owner.as_ref(), path, keep_all)
            .map_err(in_node)?;
        if let Some(folder) = &folder {
            // Best effort: only root may give a file away; anyone else's new file stays theirs.
            use std::os::unix::fs::MetadataExt;
            let _ = std::os::unix::fs::chown(&new, Some(folder.uid()), Some(folder.gid()));
        }
        let backup = if owner.is_some() && before != after && !backup_path(path).exists() {
            // A backup holding a plaintext password is read by nobody but its owner and group, and by
            // the group no more than the file lets it: not by others, and not by the users and groups
            // the file's ACL names (the node reads the live file, never the backup).
            let (mode, keep) = match owner.as_ref().map(|m| m.permissions().mode() & 0o7777) {
                Some(m) if write.private_backup => (
                    Some(super::xattrs::without_acl_mode(path, m) & !OTHERS),
                    Keep::AllButAcl,
                ),
                m => (m, Keep::All),
            };
            Some(
                write_temp(dir, "orig", before, mode, owner.as_ref(), path, Some(keep))
                    .map_err(in_node)?,
            )
        } else {
            None
        };
        let undo = match &owner {
            None => None,
            Some(meta) => Some(keep_old(dir, path, before, meta).map_err(in_node)?),
        };
        staged.push(Staged {
            path,
            new,
            backup,
            undo,
        });
    }
    Ok(staged)
}

/// A temp file in `dir` holding `content`, with `mode` from its creation and `owner`'s owner and group
/// (when they differ from eidb's), fsynced and closed (a run over many nodes holds no file open); the
/// path is removed when dropped unless persisted.
fn write_temp(
    dir: &Path,
    kind: &str,
    content: &[u8],
    mode: Option<u32>,
    owner: Option<&fs::Metadata>,
    for_file: &Path,
    attributes: Option<Keep>,
) -> Result<tempfile::TempPath> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let fail =
        |e: std::io::Error| Error::failure(format!("cannot write {}: {e}", for_file.display()));
    let prefix = temp_prefix(kind);
    let mut builder = temp_builder(&prefix);
    if let Some(mode) = mode {
        // Created with the final mode (the umask may only take bits away), so the new content is never
        // readable by more users than the finished file.
        builder.permissions(fs::Permissions::from_mode(mode));
    }
    let mut temp = builder.tempfile_in(dir).map_err(fail)?;
    if let Some(meta) = owner {
        // Keep owner and group too: a file of the WSO2 service account edited by eidb under sudo must stay
        // readable by the node.
        let created = temp.as_file().metadata().map_err(fail)?;
        if (created.uid(), created.gid()) != (meta.uid(), meta.gid()) {
            std::os::unix::fs::fchown(temp.as_file(), Some(meta.uid()), Some(meta.gid())).map_err(
                |e| {
                    Error::failure(format!(
                        "cannot keep the owner {}:{} of {}: {e}",
                        user_name(meta.uid()),
                        group_name(meta.gid()),
                        for_file.display()
                    ))
                    .with_hint("run eidb as the file's owner or as root")
                },
            )?;
        }
    }
    if let Some(keep) = attributes {
        // The file's ACL and other extended attributes (before the mode: a chmod then keeps the ACL's
        // named entries and sets its mask and `other` entry from the mode).
        super::xattrs::copy_onto(for_file, temp.as_file(), keep)?;
    }
    if let Some(mode) = mode {
        // Exactly the mode (the umask took bits away; a chown clears set-id bits).
        temp.as_file()
            .set_permissions(fs::Permissions::from_mode(mode))
            .map_err(fail)?;
    }
    temp.write_all(content).map_err(fail)?;
    temp.as_file().sync_all().map_err(fail)?;
    Ok(temp.into_temp_path())
}

/// Keep the file's current inode under a temp name until every file is replaced: a second hard link
/// (no space needed, owner and mode kept as they are), or a copy where links cannot be made.
fn keep_old(dir: &Path, path: &Path, before: &[u8], meta: &fs::Metadata) -> Result<Undo> {
    use std::os::unix::fs::PermissionsExt;
    let linked = temp_builder(&temp_prefix("undo")).make_in(dir, |p| fs::hard_link(path, p));
    match linked {
        Ok(link) => Ok(Undo::Link(link)),
        Err(_) => {
            let mode = meta.permissions().mode() & 0o7777;
            write_temp(
                dir,
                "undo",
                before,
                Some(mode),
                Some(meta),
                path,
                Some(Keep::All),
            )
            .map(Undo::Copy)
        }
    }
}

fn sync_folders<'p>(paths: impl Iterator<Item = &'p Path>) {
    let mut folders: Vec<&Path> = paths.filter_map(Path::parent).collect();
    folders.sort();
    folders.dedup();
    for folder in folders {
        if let Ok(dir) = fs::File::open(folder) {
            let _ = dir.sync_all();
        }
    }
}

fn pause_for_tests() {
    let Some(marker) = std::env::var_os(PAUSE_ENV) else {
        return;
    };
    let marker = PathBuf::from(marker);
    if fs::write(&marker, b"paused in the file phase\n").is_err() {
        return;
    }
    while marker.exists() {
        std::thread::sleep(std::time::Duration::from_millis(20));
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

/// Find the MySQL Connector/J jar in `<ei_home>/lib` (`mysql-connector-java-5.1.49.jar`,
/// `mysql-connector-j-8.0.33.jar`, ...). The newest wins when there are several. Read once per node, by
/// the code that reads the node; the desired state is derived from what it found.
pub fn find_driver(ei_home: &Path) -> crate::core::desired::Driver {
    let mut best: Option<(u32, PathBuf)> = None;
    if let Ok(entries) = fs::read_dir(ei_home.join("lib")) {
        for entry in entries.flatten() {
            let file_name = entry.file_name().to_string_lossy().to_string();
            if let Some(major) = crate::core::desired::connector_j_major(&file_name) {
                if best.as_ref().is_none_or(|(m, _)| major > *m) {
                    best = Some((major, entry.path()));
                }
            }
        }
    }
    crate::core::desired::Driver {
        major: best.as_ref().map(|(major, _)| *major),
        jar: best.map(|(_, jar)| jar),
    }
}

/// What in a file's content is a password in plain text (by the live file's name: a backup is judged
/// as the file it backs up).
pub(crate) fn secret_holders(live: &Path, bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    if live.ends_with(cipher_text::RELATIVE_PATH) {
        cipher_text::plaintext_holders(&text)
    } else {
        crate::node::conf::plaintext_password_holders(&text)
    }
}

/// Permission bits for "other users": a file holding a plaintext password has none of them.
pub(crate) const OTHERS: u32 = 0o007;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::plan::ModeChange;

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
            differences: Vec::new(),
            node: "n".into(),
            repoints: Vec::new(),
            file: path.clone(),
            diff: String::new(),
            before: before.into(),
            after: after.into(),
            mode: None,
            private_backup: false,
            carries_password: false,
            takes_over_from: Vec::new(),
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

    #[test]
    fn temp_names_are_recognised_and_nothing_else() {
        for name in [
            ".eidb-new-1-Ab3dE1.tmp",
            ".eidb-orig-4194304-000000.tmp",
            ".eidb-undo-77-zzzzzz.tmp",
            ".eidb-probe-123-Q1w2E3.tmp",
            ".eidb-Ab3dE1.tmp",
            ".eidb-new-1-123456-3f2a9c1d-Ab3dE1.tmp",
        ] {
            assert!(is_eidb_temp(name), "{name}");
        }
        for name in [
            "master-datasources.xml",
            "registry.xml.eidb-orig",
            ".eidb-new-Ab3dE1.tmp",
            ".eidb-new-12-Ab3dE.tmp",
            ".eidb-new-12-Ab3dE12.tmp",
            ".eidb-new-x1-Ab3dE1.tmp",
            ".eidb-new--Ab3dE1.tmp",
            ".eidb-mine-12-Ab3dE1.tmp",
            "x.eidb-new-12-Ab3dE1.tmp",
            ".eidb-new-12-Ab3dE1.tmp~",
            ".eidb-new-1-123456-Ab3dE1.tmp",
            ".eidb-new-1-123456-xyz-Ab3dE1.tmp",
            ".eidb-new-1--3f2a9c1d-Ab3dE1.tmp",
        ] {
            assert!(!is_eidb_temp(name), "{name}");
        }
    }

    /// Issue 28 point 6: a temp file is a live run's only while the very process that wrote it runs.
    #[test]
    fn a_temp_file_is_live_only_while_its_very_writer_runs() {
        let dir = tempfile::tempdir().unwrap();
        let writer_of = |name: &str| temp_name_parts(name).unwrap();
        let mine = format!("{}Ab3dE1.tmp", temp_prefix("new"));
        fs::write(dir.path().join(&mine), "x").unwrap();
        assert!(writer_runs(&writer_of(&mine), &dir.path().join(&mine)));
        // The same process id with another start time (a restarted container's PID 1), or another boot.
        let TempWriter::Process { pid, start, boot } = writer_of(&mine) else {
            panic!("{mine}")
        };
        for other in [
            format!(".eidb-new-{pid}-{}-{boot}-Ab3dE1.tmp", start + 1),
            format!(
                ".eidb-new-{pid}-{start}-{}-Ab3dE1.tmp",
                if boot == "0" { "1" } else { "0" }
            ),
        ] {
            let path = dir.path().join(&other);
            fs::write(&path, "x").unwrap();
            assert!(!writer_runs(&writer_of(&other), &path), "{other}");
        }
        // An earlier version's name (the process id alone) of PID 1, which runs, written before PID 1
        // started: PID 1 did not write it.
        let old = dir.path().join(".eidb-new-1-Ab3dE1.tmp");
        let file = fs::File::create(&old).unwrap();
        file.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(86_400))
            .unwrap();
        assert!(!writer_runs(&writer_of(".eidb-new-1-Ab3dE1.tmp"), &old));
        // The same name written now by this process (which runs) is live.
        let now = dir
            .path()
            .join(format!(".eidb-new-{}-Ab3dE1.tmp", std::process::id()));
        fs::write(&now, "x").unwrap();
        assert!(writer_runs(&TempWriter::Pid(std::process::id()), &now));
    }

    #[test]
    fn a_mode_change_is_written_with_a_private_backup_and_no_temp_left() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.xml");
        fs::write(&path, "old secret").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let edit = Change::EditFile {
            differences: Vec::new(),
            node: "n".into(),
            repoints: Vec::new(),
            file: path.clone(),
            diff: String::new(),
            before: b"old secret".to_vec(),
            after: b"new secret".to_vec(),
            mode: Some(ModeChange {
                holders: Vec::new(),
                from: 0o644,
                to: 0o640,
                reason: "test".into(),
            }),
            private_backup: true,
            carries_password: false,
            takes_over_from: Vec::new(),
        };
        assert_eq!(write_all(&[edit]).unwrap(), 1);
        assert_eq!(fs::read_to_string(&path).unwrap(), "new secret");
        assert_eq!(mode(&path), 0o640);
        assert_eq!(mode(&backup_path(&path)), 0o640);
        // The mode alone: the content stays, no second backup.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o604)).unwrap();
        let mode_only = Change::EditFile {
            differences: Vec::new(),
            node: "n".into(),
            repoints: Vec::new(),
            file: path.clone(),
            diff: String::new(),
            before: b"new secret".to_vec(),
            after: b"new secret".to_vec(),
            mode: Some(ModeChange {
                holders: Vec::new(),
                from: 0o604,
                to: 0o600,
                reason: "test".into(),
            }),
            private_backup: false,
            carries_password: false,
            takes_over_from: Vec::new(),
        };
        assert_eq!(write_all(std::slice::from_ref(&mode_only)).unwrap(), 1);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(write_all(&[mode_only]).unwrap(), 0, "done already");
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["f.xml", "f.xml.eidb-orig"]);
    }
}
