//! `eidb lb-config`: the load balancer's nginx VHost files (`crate::core::lb_nginx`) written into a
//! folder. Reads the spec only: no server, no node file, no password.

use std::path::PathBuf;

use crate::core::lb_nginx;
use crate::core::spec::Spec;
use crate::error::{Error, Result};

use super::LbConfigArgs;

/// Writes the three files (each through a temp file renamed into place) and returns their paths.
pub fn run(args: &LbConfigArgs) -> Result<Vec<PathBuf>> {
    let text = std::fs::read_to_string(&args.config).map_err(|e| {
        Error::input(format!(
            "cannot read the spec {}: {e}",
            args.config.display()
        ))
        .with_hint("pass the cluster spec with --config FILE")
    })?;
    let spec = Spec::parse(&text, &args.config)?;
    let files = lb_nginx::vhost_files(&spec)?;
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&out).map_err(|e| {
        Error::input(format!("cannot create {}: {e}", out.display()))
            .with_hint("pass a folder eidb may write with --out DIR")
    })?;
    let mut written = Vec::new();
    for file in files {
        let path = out.join(file.name);
        let fail =
            |e: std::io::Error| Error::failure(format!("cannot write {}: {e}", path.display()));
        let mut temp = tempfile::Builder::new()
            .prefix(".eidb-lb-")
            .suffix(".tmp")
            .tempfile_in(&out)
            .map_err(fail)?;
        std::io::Write::write_all(&mut temp, file.text.as_bytes()).map_err(fail)?;
        {
            use std::os::unix::fs::PermissionsExt;
            temp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644))
                .map_err(fail)?;
        }
        temp.persist(&path).map_err(|e| fail(e.error))?;
        written.push(path);
    }
    Ok(written)
}
