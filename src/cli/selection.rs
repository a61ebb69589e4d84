//! Which nodes' files a run reads and writes (`--node NAME`, repeatable), decided before anything is read.
//!
//! A cluster's nodes usually live on hosts of their own, often at the same EI_HOME path. A run on one
//! host works on the nodes it is given; without `--node` it works on every node, and a machine that holds
//! only some of the EI_HOMEs is refused (no guessing which part was meant), naming the nodes it cannot
//! reach and how to select one. `verify` on a machine that holds none of them reads what each node
//! recorded in the database instead (see `crate::server::node_records`).

use crate::core::spec::Spec;
use crate::error::{Error, Result};

/// The nodes of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Per spec node, in spec order: are its files part of this run?
    pub chosen: Vec<bool>,
    /// `verify` without any EI_HOME here: the nodes' records in the database stand in for their files.
    pub from_records: bool,
    /// The nodes were named with `--node`.
    pub named: bool,
}

impl Selection {
    /// Every node of the spec.
    pub fn all(spec: &Spec) -> Selection {
        Selection {
            chosen: vec![true; spec.nodes.len()],
            from_records: false,
            named: false,
        }
    }
}

/// The selection for `--node` names `named` (empty: every node). `with_files`: the run includes the node
/// part. `verify`: a verify, which may read the nodes' records instead of their files. Bad input (exit
/// 2) for an unknown name, and for a run without `--node` on a machine that holds only some EI_HOMEs.
pub fn select(spec: &Spec, named: &[String], with_files: bool, verify: bool) -> Result<Selection> {
    let listed = || {
        spec.nodes
            .iter()
            .map(|n| n.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !named.is_empty() {
        for name in named {
            if !spec.nodes.iter().any(|n| &n.name == name) {
                return Err(Error::input(format!(
                    "--node {name}: the spec has no node of that name; its nodes are: {}",
                    listed()
                ))
                .with_hint("pass the `name` of one of the spec's [[nodes]] entries"));
            }
        }
        return Ok(Selection {
            chosen: spec.nodes.iter().map(|n| named.contains(&n.name)).collect(),
            from_records: false,
            named: true,
        });
    }
    let mut selection = Selection::all(spec);
    if !with_files || spec.nodes.len() < 2 {
        // One node: its EI_HOME missing is the node files' own error, as it always was.
        return Ok(selection);
    }
    // Only whether the folder is there: what is in it is read (and judged) later, for the chosen nodes.
    let (here, elsewhere): (Vec<_>, Vec<_>) = spec.nodes.iter().partition(|n| n.ei_home.is_dir());
    if elsewhere.is_empty() {
        return Ok(selection);
    }
    if here.is_empty() && verify {
        selection.chosen = vec![false; spec.nodes.len()];
        selection.from_records = true;
        return Ok(selection);
    }
    let missing: Vec<String> = elsewhere
        .iter()
        .map(|n| format!("{} ({})", n.name, n.ei_home.display()))
        .collect();
    let message = if here.is_empty() {
        format!(
            "none of the nodes' EI_HOMEs is on this machine: {}",
            missing.join(", ")
        )
    } else {
        format!(
            "this machine holds the EI_HOME of {} but not of {}: eidb does not guess which part you meant",
            here.iter()
                .map(|n| n.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            missing.join(", ")
        )
    };
    let example = here.first().map_or("NAME", |n| n.name.as_str());
    Err(Error::input(message).with_hint(format!(
        "run the node part on each node's own host with `--node {example}` (repeatable; with --files-only it \
         needs no admin password), and the database part once with --db-only; or fix nodes.ei_home in the spec"
    )))
}
