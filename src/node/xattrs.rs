//! Extended attributes of node files: kept across eidb's atomic rewrite (a new inode renamed into place
//! would otherwise lose them), and the POSIX ACL read to say who may read a file.
//!
//! A hardened installation keeps `master-datasources.xml` at `0640 root:root` and lets the WSO2 service
//! account read it through an ACL entry (`setfacl -m u:wso2:r`): a rewrite that dropped the ACL would
//! leave the node unable to read its file at its next start. The ACL lives in the extended attribute
//! `system.posix_acl_access`; `user.*` and `security.*` attributes (SELinux labels among them) go the
//! same way.

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::error::{Error, Result};

/// The POSIX access ACL.
pub const ACL_ACCESS: &str = "system.posix_acl_access";

/// Every extended attribute of `path` (the file itself; a symlink is followed): name and value. A file
/// system without extended attributes has none.
pub fn read_all(path: &Path) -> io::Result<Vec<(CString, Vec<u8>)>> {
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let names = match sized(|buf, len| unsafe {
        // SAFETY: a NUL-terminated path and a buffer of `len` bytes (or null with 0).
        libc::listxattr(c_path.as_ptr(), buf.cast(), len)
    }) {
        Ok(names) => names,
        Err(e) if unsupported(&e) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for name in names.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
        let value = sized(|buf, len| unsafe {
            // SAFETY: NUL-terminated path and name; a buffer of `len` bytes (or null with 0).
            libc::getxattr(c_path.as_ptr(), name.as_ptr(), buf.cast(), len)
        });
        match value {
            Ok(value) => out.push((name, value)),
            // Gone meanwhile.
            Err(e) if e.raw_os_error() == Some(libc::ENODATA) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The value of one extended attribute, `None` when the file has none of that name.
pub fn read_one(path: &Path, name: &str) -> Option<Vec<u8>> {
    let c_path = CString::new(path.as_os_str().as_bytes()).ok()?;
    let c_name = CString::new(name).ok()?;
    sized(|buf, len| unsafe {
        // SAFETY: NUL-terminated path and name; a buffer of `len` bytes (or null with 0).
        libc::getxattr(c_path.as_ptr(), c_name.as_ptr(), buf.cast(), len)
    })
    .ok()
}

/// Call a size-then-fill libc function (listxattr, getxattr): first for the size, then for the bytes,
/// again if the value grew in between.
fn sized(mut call: impl FnMut(*mut u8, usize) -> isize) -> io::Result<Vec<u8>> {
    loop {
        let size = call(std::ptr::null_mut(), 0);
        if size < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut buffer = vec![0u8; size as usize];
        let got = call(buffer.as_mut_ptr(), buffer.len());
        if got < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ERANGE) {
                continue;
            }
            return Err(e);
        }
        buffer.truncate(got as usize);
        return Ok(buffer);
    }
}

fn unsupported(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOTSUP))
}

/// Which attributes go onto a copy of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Every attribute, the ACL as it is: the new content of the file, or its old inode put back.
    All,
    /// A copy that holds a password in plain text and that nobody but its owner needs (the one-time
    /// backup): every attribute but the ACL, so that no named user or group reads it.
    AllButAcl,
}

/// Put the extended attributes of `from` onto the open file `to` (a temp file that will replace or back
/// up `from`); with [`Keep::All`] the ACL too, and an ACL `to` inherited from its folder's default ACL
/// that `from` does not have is removed. Call before setting `to`'s mode: a chmod after the ACL keeps its
/// named entries and sets its mask and `other` entry from the mode (the ACL's `other` entry would otherwise
/// give back what a mode change takes away). Attributes of the `security.` and `trusted.` namespaces are
/// copied where permitted (they need privileges, and the system may set its own label); a failure to keep
/// the ACL or a `user.` attribute is an error: the file would lose what lets its readers read it.
pub fn copy_onto(from: &Path, to: &File, keep: Keep) -> Result<()> {
    let fail = |what: &str, e: io::Error| {
        Error::failure(format!(
            "cannot keep the extended attribute {what} of {}: {e}",
            from.display()
        ))
        .with_hint("run eidb as the file's owner or as root, on a file system with extended attributes; no file was changed")
    };
    let attributes = read_all(from).map_err(|e| fail("list", e))?;
    let fd = to.as_raw_fd();
    let has_acl = attributes
        .iter()
        .any(|(name, _)| name.as_bytes() == ACL_ACCESS.as_bytes());
    if !has_acl || keep == Keep::AllButAcl {
        // A folder's default ACL may have given the new file one the original does not have.
        let name = CString::new(ACL_ACCESS).expect("no NUL");
        // SAFETY: an open descriptor and a NUL-terminated name.
        let rc = unsafe { libc::fremovexattr(fd, name.as_ptr()) };
        let e = io::Error::last_os_error();
        if rc != 0 && !matches!(e.raw_os_error(), Some(libc::ENODATA | libc::ENOTSUP)) {
            return Err(fail(ACL_ACCESS, e));
        }
    }
    for (name, value) in &attributes {
        let text = name.to_string_lossy();
        if keep == Keep::AllButAcl && text == ACL_ACCESS {
            continue;
        }
        // SAFETY: an open descriptor, a NUL-terminated name and a value of the given length.
        let rc =
            unsafe { libc::fsetxattr(fd, name.as_ptr(), value.as_ptr().cast(), value.len(), 0) };
        if rc != 0 {
            let e = io::Error::last_os_error();
            if optional(name) {
                tracing::debug!("{}: {text} not kept: {e}", from.display());
                continue;
            }
            return Err(fail(&text, e));
        }
    }
    Ok(())
}

/// Attributes kept where the system permits: labels and trusted data need privileges.
fn optional(name: &CStr) -> bool {
    let name = name.to_bytes();
    name.starts_with(b"security.") || name.starts_with(b"trusted.")
}

/// A POSIX ACL entry that lets a user or group other than the file's owner and owning group read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AclReader {
    User(u32),
    Group(u32),
}

// The kernel's xattr form of a POSIX ACL (linux/posix_acl_xattr.h): a little-endian u32 version (2),
// then entries of u16 tag, u16 permissions, u32 id.
const ACL_XATTR_VERSION: u32 = 2;
const ACL_USER: u16 = 0x02;
const ACL_GROUP: u16 = 0x08;
const ACL_MASK: u16 = 0x10;
const ACL_READ: u16 = 0x04;

/// Who, beyond the owner, the owning group and everyone (`other`, the mode's last digit), may read a file
/// through its ACL: each named user (`user:NAME:r`) and named group (`group:NAME:r`) entry whose
/// permissions, limited by the mask, include read. A named entry for the owner or the owning group
/// grants nothing beyond what the owner and group already have, and a mask without read (`mask::---`)
/// disables every named entry. Malformed or absent ACL: nobody.
pub fn acl_readers(acl: &[u8], owner_uid: u32, owner_gid: u32) -> Vec<AclReader> {
    let Some(entries) = parse(acl) else {
        return Vec::new();
    };
    // Without named entries there is no mask; with them the mask limits them.
    let mask = entries
        .iter()
        .find(|(tag, ..)| *tag == ACL_MASK)
        .map_or(0o7, |(_, perm, _)| *perm);
    entries
        .iter()
        .filter(|(_, perm, _)| perm & mask & ACL_READ != 0)
        .filter_map(|(tag, _, id)| match *tag {
            ACL_USER if *id != owner_uid => Some(AclReader::User(*id)),
            ACL_GROUP if *id != owner_gid => Some(AclReader::Group(*id)),
            _ => None,
        })
        .collect()
}

/// The mode a copy of the file at `path` (mode `mode`) needs to give the owning group what the file
/// gives it when the copy has no ACL: with an ACL the mode's group bits are the mask, and the owning
/// group's own entry may grant less (`group::---` with `mask::r--` shows as 0640 but the group reads
/// nothing). Without an ACL, `mode` as it is.
pub fn without_acl_mode(path: &Path, mode: u32) -> u32 {
    match read_one(path, ACL_ACCESS).and_then(|acl| owning_group_permissions(&acl)) {
        Some(group) => (mode & !0o070) | (u32::from(group) << 3),
        None => mode,
    }
}

/// The owning group's permissions under an ACL: its entry limited by the mask.
fn owning_group_permissions(acl: &[u8]) -> Option<u16> {
    const GROUP_OBJ: u16 = 0x04;
    let entries = parse(acl)?;
    let group = entries.iter().find(|(tag, ..)| *tag == GROUP_OBJ)?.1;
    let mask = entries
        .iter()
        .find(|(tag, ..)| *tag == ACL_MASK)
        .map_or(0o7, |(_, perm, _)| *perm);
    Some(group & mask & 0o7)
}

/// The entries of an ACL in its xattr form: (tag, permissions, id); `None` when it is not one.
fn parse(acl: &[u8]) -> Option<Vec<(u16, u16, u32)>> {
    let version = acl.get(..4)?;
    if u32::from_le_bytes(version.try_into().ok()?) != ACL_XATTR_VERSION {
        return None;
    }
    Some(
        acl[4..]
            .chunks_exact(8)
            .map(|e| {
                (
                    u16::from_le_bytes([e[0], e[1]]),
                    u16::from_le_bytes([e[2], e[3]]),
                    u32::from_le_bytes([e[4], e[5], e[6], e[7]]),
                )
            })
            .collect(),
    )
}

/// The named readers of the file at `path` through its ACL, said for people: `user wso2 (uid 1001)`.
pub fn readers_of(path: &Path, owner_uid: u32, owner_gid: u32) -> Vec<String> {
    let Some(acl) = read_one(path, ACL_ACCESS) else {
        return Vec::new();
    };
    acl_readers(&acl, owner_uid, owner_gid)
        .into_iter()
        .map(|reader| match reader {
            AclReader::User(uid) => format!("user {} (uid {uid})", name_of(uid, true)),
            AclReader::Group(gid) => format!("group {} (gid {gid})", name_of(gid, false)),
        })
        .collect()
}

fn name_of(id: u32, user: bool) -> String {
    let file = if user { "/etc/passwd" } else { "/etc/group" };
    std::fs::read_to_string(file)
        .ok()
        .and_then(|text| {
            text.lines().find_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                (fields.nth(1)?.parse::<u32>().ok()? == id).then(|| name.to_string())
            })
        })
        .unwrap_or_else(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(entries: &[(u16, u16, u32)]) -> Vec<u8> {
        let mut bytes = ACL_XATTR_VERSION.to_le_bytes().to_vec();
        for (tag, perm, id) in entries {
            bytes.extend(tag.to_le_bytes());
            bytes.extend(perm.to_le_bytes());
            bytes.extend(id.to_le_bytes());
        }
        bytes
    }

    const USER_OBJ: u16 = 0x01;
    const GROUP_OBJ: u16 = 0x04;
    const OTHER: u16 = 0x20;
    const ANY: u32 = u32::MAX;

    #[test]
    fn named_entries_read_through_the_mask() {
        let base = [(USER_OBJ, 6, ANY), (GROUP_OBJ, 4, ANY), (OTHER, 0, ANY)];
        let with = |extra: &[(u16, u16, u32)]| {
            let mut all = base.to_vec();
            all.extend_from_slice(extra);
            acl_readers(&acl(&all), 0, 0)
        };
        assert_eq!(with(&[]), []);
        assert_eq!(
            with(&[(ACL_USER, 4, 1001), (ACL_MASK, 4, ANY)]),
            [AclReader::User(1001)]
        );
        assert_eq!(with(&[(ACL_USER, 4, 1001), (ACL_MASK, 0, ANY)]), []);
        assert_eq!(with(&[(ACL_USER, 2, 1001), (ACL_MASK, 7, ANY)]), []);
        assert_eq!(
            with(&[(ACL_GROUP, 4, 65534), (ACL_MASK, 7, ANY)]),
            [AclReader::Group(65534)]
        );
        // The owner and the owning group named again add nobody.
        assert_eq!(
            with(&[(ACL_USER, 4, 0), (ACL_GROUP, 4, 0), (ACL_MASK, 7, ANY)]),
            []
        );
        assert_eq!(
            owning_group_permissions(&acl(&[(GROUP_OBJ, 0, ANY), (ACL_MASK, 4, ANY)])),
            Some(0)
        );
        assert_eq!(
            owning_group_permissions(&acl(&[(GROUP_OBJ, 6, ANY), (ACL_MASK, 4, ANY)])),
            Some(4)
        );
        assert_eq!(acl_readers(b"\x01\x00\x00\x00", 0, 0), []);
        assert_eq!(acl_readers(b"", 0, 0), []);
    }
}
