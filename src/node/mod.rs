//! The node side: the WSO2 files of each node. `conf` edits the three XML files in place (pure: text
//! in, text out, with the differences it made); `files` reads them, computes each node's edits and
//! writes them atomically; `cipher_text` is Secure Vault's properties file.

pub mod cipher_text;
pub mod clustering;
pub mod conf;
pub mod dbscripts;
pub mod files;
pub mod mounts;
pub mod plan;
pub mod wiring;
pub mod xattrs;

/// The IP addresses of this machine's network interfaces (`getifaddrs`), to tell whether a node's `host`
/// is here. Empty when they cannot be read.
pub fn local_addresses() -> Vec<std::net::IpAddr> {
    let mut found = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list that we walk read-only and free once below.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return found;
    }
    let mut at = list;
    while !at.is_null() {
        // SAFETY: `at` is a node of the list getifaddrs returned, not yet freed.
        let entry = unsafe { &*at };
        if !entry.ifa_addr.is_null() {
            // SAFETY: ifa_addr points at a sockaddr whose family says which struct it is.
            let family = i32::from(unsafe { (*entry.ifa_addr).sa_family });
            if family == libc::AF_INET {
                // SAFETY: an AF_INET address is a sockaddr_in.
                let v4 = unsafe { &*(entry.ifa_addr as *const libc::sockaddr_in) };
                found.push(std::net::IpAddr::from(
                    u32::from_be(v4.sin_addr.s_addr).to_be_bytes(),
                ));
            } else if family == libc::AF_INET6 {
                // SAFETY: an AF_INET6 address is a sockaddr_in6.
                let v6 = unsafe { &*(entry.ifa_addr as *const libc::sockaddr_in6) };
                found.push(std::net::IpAddr::from(v6.sin6_addr.s6_addr));
            }
        }
        at = entry.ifa_next;
    }
    // SAFETY: the list getifaddrs allocated, freed once.
    unsafe { libc::freeifaddrs(list) };
    found
}
