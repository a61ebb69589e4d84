//! Mount records: what a node stored about its registry mounts in its *local* registry database, compared
//! with what its `registry.xml` says. Pure: no sqlx, no file system; the reads are in
//! `eidb::server::mounts` and happen once, in the observe step.
//!
//! What Carbon 4.4 (the kernel of WSO2 EI 6.x) does, read from `org.wso2.carbon.registry.core` on the
//! 4.4.x branch (commit 605d4713):
//!
//! - `RegistryUtils.addMountEntry(registry, context, path, target, targetSubPath, author)` stores a mount
//!   record: a resource at `/_system/local/repository/components/org.wso2.carbon.registry/mount/<name>`,
//!   `<name>` being the mount path relative to the registry root with every `/` replaced by `-`
//!   (`/_system/config` -> `-_system-config`), media type `application/vnd.wso2.mount`, properties `path`,
//!   `target` (the remote instance id), `author` and `subPath` (the target path). It writes the record
//!   only when none exists (`if (!registry.resourceExists(mountPath))`): a record is never corrected.
//! - `RegistryCoreServiceComponent.defineFixedMount` adds `registry.fixedmount=true` to it.
//! - At every start, `RegistryCoreServiceComponent.setupMounts` goes through the `<mount>`s of
//!   registry.xml. `isFixedMount` is true when a record exists, its `subPath` equals the mount's
//!   `targetPath` and it has `registry.fixedmount=true` (the instance id and the path are *not*
//!   compared). Then `addFixedMount` builds the mount from the record alone
//!   (`RegistryUtils.registerHandlerForRemoteLinks(record.path, record.target, record.subPath, ..)`), and
//!   registry.xml's instance id is ignored. `registerHandlerForRemoteLinks` looks the record's `target` up
//!   among registry.xml's `<remoteInstance>` ids; when none has it, the mount is silently not made (a
//!   debug log line, "Target mount path is not found") and the node reads and writes that path in its
//!   own local registry.
//! - Otherwise (no record, or a record whose `subPath` differs or that is not fixed): when nothing exists
//!   at the mount path, `EmbeddedRegistry.createLink(path, instanceId, targetPath)` mounts from
//!   registry.xml (and `addMountEntry` writes a record only if there is none); when something exists
//!   there, `overwrite="true"` deletes it and calls `createLink`, `overwrite="virtual"` calls `createLink`
//!   over it, and without either (`Mount.isOverwrite()` false, the default) Carbon logs "Unable to create
//!   remote mount. A resource already exists at the given location" and makes no mount.
//!
//! So a record whose `subPath` differs does not stop the node from following registry.xml when
//! `overwrite` is true or virtual (the record stays stale), while a record whose instance id or path
//! differs wins over registry.xml at every start (product-ei#4800).

use std::collections::BTreeMap;

use serde::Serialize;

/// Carbon's super tenant (`MultitenantConstants.SUPER_TENANT_ID`): every EI node's own registry rows.
pub const SUPER_TENANT_ID: i32 = -1234;
/// `RegistryConstants.LOCAL_REPOSITORY_BASE_PATH + RegistryConstants.SYSTEM_MOUNT_PATH`.
pub const MOUNT_COLLECTION: &str =
    "/_system/local/repository/components/org.wso2.carbon.registry/mount";
/// `RegistryConstants.MOUNT_MEDIA_TYPE`.
pub const MOUNT_MEDIA_TYPE: &str = "application/vnd.wso2.mount";
/// `RegistryConstants.REGISTRY_FIXED_MOUNT`.
pub const FIXED_MOUNT: &str = "registry.fixedmount";

/// The record's resource name for a mount path (`RegistryUtils.addMountEntry`:
/// `relativePath.replace("/", "-")`, with the registry root `/`).
pub fn record_name(mount_path: &str) -> String {
    mount_path.replace('/', "-")
}

/// The record's full registry path.
pub fn record_path(mount_path: &str) -> String {
    format!("{MOUNT_COLLECTION}/{}", record_name(mount_path))
}

/// The `overwrite` attribute as `RegistryConfigurationProcessor` reads it: `true` (any case) overwrites,
/// else `virtual` (any case), else neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Overwrite {
    True,
    Virtual,
    No,
}

impl Overwrite {
    pub fn parse(attribute: Option<&str>) -> Overwrite {
        match attribute {
            Some(a) if a.eq_ignore_ascii_case("true") => Overwrite::True,
            Some(a) if a.eq_ignore_ascii_case("virtual") => Overwrite::Virtual,
            _ => Overwrite::No,
        }
    }
}

/// A `<mount>` of registry.xml (as eidb writes it in spec mode, as the file says without a spec).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedMount {
    pub path: String,
    pub instance_id: String,
    pub target_path: String,
    pub overwrite: Overwrite,
}

/// What a node's files say, for its mount records (known before the server is read).
#[derive(Debug, Clone)]
pub struct NodeInput {
    pub node: String,
    /// The local registry database (only MySQL ones are checked).
    pub database: String,
    /// The account the node's local registry datasource logs in with (to see whether it is connected).
    pub account: String,
    pub mounts: Vec<WantedMount>,
    /// The `<remoteInstance>` ids registry.xml defines (after eidb's edit, in spec mode).
    pub remote_instance_ids: Vec<String>,
    /// `<staticConfiguration><versioningProperties>`: `JDBCResourceDAO.addProperties` links properties to
    /// the resource's version when true (EI's default), to its path id and name when false.
    pub versioned_properties: bool,
    /// The top-level `<registryRoot>` when it is not `/`: record names and paths then depend on
    /// `RegistryUtils.getRelativePath`, which eidb does not imitate; the node is not checked.
    pub registry_root: Option<String>,
    /// The shared registry database the mounts point into, when known.
    pub shared_database: Option<String>,
}

/// One stored record: the resource's name in the mount collection, its version row, and its properties in
/// `REG_PROPERTY` order (several values of a name are possible; `Resource.getProperty` gives the first).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoredRecord {
    pub name: String,
    pub version: i64,
    pub properties: Vec<(String, String)>,
}

impl StoredRecord {
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What eidb can tell about whether the node is running, from the server alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Running {
    /// Connections of the node's account with the local registry as their database are open.
    Connected { count: u32, hosts: Vec<String> },
    /// None open, and the admin sees every account's connections (PROCESS privilege).
    NoneSeen,
    /// The admin sees only its own connections: nothing can be said.
    CannotSee,
}

impl Running {
    pub fn describe(&self, input: &NodeInput) -> String {
        match self {
            Running::Connected { count, hosts } => format!(
                "node {} appears to be running: {count} connection(s) of {} to {} are open (from {})",
                input.node,
                input.account,
                input.database,
                hosts.join(", ")
            ),
            Running::NoneSeen => format!(
                "no connection of {} to {} is open, so node {} is probably stopped; eidb cannot be sure from the \
                 database alone (a pool may have closed its idle connections)",
                input.account, input.database, input.node
            ),
            Running::CannotSee => format!(
                "eidb cannot tell whether node {} is running: the admin account lacks the PROCESS privilege and \
                 sees no other account's connections",
                input.node
            ),
        }
    }
}

/// What the observe step read from the server for one node.
#[derive(Debug, Clone)]
pub struct Observed {
    /// `Err(reason)`: the local registry database or its registry tables do not exist (yet).
    pub records: Result<Vec<StoredRecord>, String>,
    /// Mount paths at which a resource exists in the local registry (`registry.resourceExists`).
    pub existing_paths: Vec<String>,
    pub running: Running,
    /// Paths (`REG_PATH` rows, super tenant) in the shared registry at or under each target path asked for.
    pub shared_paths: BTreeMap<String, u64>,
}

/// One property the repair sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PropertyFix {
    pub name: String,
    /// The value stored now; `None`: the property is missing and is added.
    pub stored: Option<String>,
    pub wanted: String,
}

/// Rewrite a stale record's properties so that the next start rebuilds the mount registry.xml names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepairMountRecord {
    pub node: String,
    pub database: String,
    pub mount_path: String,
    /// The record's registry path.
    pub record: String,
    #[serde(skip)]
    pub record_name: String,
    #[serde(skip)]
    pub versioned_properties: bool,
    pub set: Vec<PropertyFix>,
    /// What Carbon does at the next start if the record stays as it is.
    pub at_next_start: String,
    /// What eidb knows about the node running.
    pub running: String,
}

impl RepairMountRecord {
    pub fn summary(&self) -> String {
        let set: Vec<String> = self
            .set
            .iter()
            .map(|f| match &f.stored {
                Some(stored) => format!("{} {stored} -> {}", f.name, f.wanted),
                None => format!("{} (missing) -> {}", f.name, f.wanted),
            })
            .collect();
        format!(
            "repair the mount record of {} in {} ({}); restart node {} afterwards",
            self.mount_path,
            self.database,
            set.join(", "),
            self.node
        )
    }
}

/// The state of one mount's record, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordStatus {
    pub node: String,
    pub database: String,
    pub mount_path: String,
    pub record: String,
    pub state: RecordState,
    pub detail: String,
}

/// What a mount's record says against registry.xml (JSON `mount_records[].state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordState {
    /// The node has not started with this mount on this database yet.
    NoRecord,
    Matching,
    /// The record differs from registry.xml: Carbon may follow the record.
    Stale,
    /// No registry tables yet, or a `registryRoot` other than `/`.
    NotChecked,
    /// Rewritten by this provision run.
    Repaired,
}

impl std::fmt::Display for RecordState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RecordState::NoRecord => "no_record",
            RecordState::Matching => "matching",
            RecordState::Stale => "stale",
            RecordState::NotChecked => "not_checked",
            RecordState::Repaired => "repaired",
        })
    }
}

/// What Carbon will do with one mount at the next start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextStart {
    /// `isFixedMount` is true: `addFixedMount` rebuilds the mount from the record alone.
    RebuiltFromRecord,
    /// Not a fixed mount: `createLink` mounts from registry.xml (the record is left as it is).
    Recreated,
    /// Not a fixed mount, a resource exists at the path and `overwrite` is neither true nor virtual: no mount.
    Fails,
}

/// One mount against its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The node has not started with this mount yet (or never on this database).
    NoRecord {
        next_start: NextStart,
    },
    Matching,
    Stale {
        set: Vec<PropertyFix>,
        next_start: NextStart,
    },
}

/// Compare a mount of registry.xml with its stored record, and say what Carbon does at the next start.
/// `path_exists`: a resource exists at the mount path in the local registry.
pub fn compare(wanted: &WantedMount, record: Option<&StoredRecord>, path_exists: bool) -> Verdict {
    // RegistryCoreServiceComponent.setupMounts, when the mount is not a fixed one.
    let without_record = || {
        if !path_exists || wanted.overwrite != Overwrite::No {
            NextStart::Recreated
        } else {
            NextStart::Fails
        }
    };
    let Some(record) = record else {
        return Verdict::NoRecord {
            next_start: without_record(),
        };
    };
    let want = [
        ("path", wanted.path.as_str()),
        ("target", wanted.instance_id.as_str()),
        ("subPath", wanted.target_path.as_str()),
        (FIXED_MOUNT, "true"),
    ];
    let set: Vec<PropertyFix> = want
        .iter()
        .filter(|(name, value)| record.property(name) != Some(value))
        .map(|(name, value)| PropertyFix {
            name: name.to_string(),
            stored: record.property(name).map(str::to_string),
            wanted: value.to_string(),
        })
        .collect();
    if set.is_empty() {
        return Verdict::Matching;
    }
    // RegistryCoreServiceComponent.isFixedMount (super tenant): subPath equals the targetPath, and fixed.
    let fixed = record.property("subPath") == Some(wanted.target_path.as_str())
        && record.property(FIXED_MOUNT) == Some("true");
    let next_start = if fixed {
        NextStart::RebuiltFromRecord
    } else {
        without_record()
    };
    Verdict::Stale { set, next_start }
}

/// What the next start does, in words, for a stale record.
fn next_start_text(
    input: &NodeInput,
    wanted: &WantedMount,
    record: &StoredRecord,
    next_start: &NextStart,
) -> String {
    let stored = |name: &str| record.property(name).unwrap_or("(none)").to_string();
    match next_start {
        NextStart::RebuiltFromRecord => {
            let target = stored("target");
            let mut what = format!(
                "Carbon rebuilds the mount from the record (RegistryCoreServiceComponent.addFixedMount) and ignores registry.xml's instanceId {}",
                wanted.instance_id
            );
            if !input.remote_instance_ids.contains(&target) {
                what.push_str(&format!(
                    ": no <remoteInstance> has the record's id {target}, so the mount is not made at all \
                     (RegistryUtils.registerHandlerForRemoteLinks logs it at debug level only) and the node keeps \
                     {} in its own local registry",
                    wanted.path
                ));
            } else if target != wanted.instance_id {
                what.push_str(&format!(
                    ": it mounts remote instance {target} instead of {}",
                    wanted.instance_id
                ));
            }
            let path = stored("path");
            if path != wanted.path {
                what.push_str(&format!(
                    "; the mount is made at {path} (the record's path), not at {}",
                    wanted.path
                ));
            }
            what
        }
        NextStart::Recreated => format!(
            "the record's subPath {} is not the targetPath {} (or it is not marked fixed), so Carbon mounts from \
             registry.xml at every start (EmbeddedRegistry.createLink) and leaves the record stale \
             (RegistryUtils.addMountEntry never rewrites one): the node follows registry.xml, but the record wins \
             again once registry.xml names {} as the target",
            stored("subPath"),
            wanted.target_path,
            stored("subPath"),
        ),
        NextStart::Fails => format!(
            "the record does not match, a resource exists at {} and overwrite is neither true nor virtual: Carbon \
             logs \"Unable to create remote mount. A resource already exists at the given location\" and makes no \
             mount; the node keeps {} in its own local registry",
            wanted.path, wanted.path
        ),
    }
}

/// The shared registry side of a stale record (`REG_PATH` rows under the stored and the wanted target).
fn shared_text(
    input: &NodeInput,
    observed: &Observed,
    wanted: &WantedMount,
    record: &StoredRecord,
) -> Option<String> {
    let database = input.shared_database.as_ref()?;
    let stored = record.property("subPath")?;
    if stored == wanted.target_path {
        return None;
    }
    let count = |path: &str| observed.shared_paths.get(path).copied().unwrap_or(0);
    Some(format!(
        "in {database}, {} path(s) are at or under the record's subPath {stored} and {} at or under the targetPath {}; \
         what the node wrote through the stale mount stays at {stored} after the repair",
        count(stored),
        count(&wanted.target_path),
        wanted.target_path
    ))
}

/// The target paths whose shared-registry rows the observe step should count, given the records read.
pub fn shared_paths_to_count(input: &NodeInput, records: &[StoredRecord]) -> Vec<String> {
    let mut paths: Vec<String> = Vec::new();
    for wanted in &input.mounts {
        let name = record_name(&wanted.path);
        let Some(record) = records.iter().find(|r| r.name == name) else {
            continue;
        };
        if let Some(stored) = record.property("subPath") {
            if stored != wanted.target_path {
                paths.push(stored.to_string());
                paths.push(wanted.target_path.clone());
            }
        }
    }
    paths.sort();
    paths.dedup();
    paths
}

/// The plan for one node's mount records: a repair per stale record, the state of every mount, and
/// warnings (a mount Carbon will fail to make although no record is in the way).
#[derive(Debug, Default)]
pub struct NodePlan {
    pub repairs: Vec<RepairMountRecord>,
    pub statuses: Vec<RecordStatus>,
    pub warnings: Vec<String>,
}

pub fn plan(input: &NodeInput, observed: &Observed) -> NodePlan {
    let mut out = NodePlan::default();
    let status = |mount: &WantedMount, state: RecordState, detail: String| RecordStatus {
        node: input.node.clone(),
        database: input.database.clone(),
        mount_path: mount.path.clone(),
        record: record_path(&mount.path),
        state,
        detail,
    };
    let records = match (&input.registry_root, &observed.records) {
        (Some(root), _) => {
            for mount in &input.mounts {
                out.statuses.push(status(
                    mount,
                    RecordState::NotChecked,
                    format!("registry.xml sets registryRoot {root}; eidb checks mount records only for the root /"),
                ));
            }
            return out;
        }
        (None, Err(why)) => {
            for mount in &input.mounts {
                out.statuses
                    .push(status(mount, RecordState::NotChecked, why.clone()));
            }
            return out;
        }
        (None, Ok(records)) => records,
    };
    for mount in &input.mounts {
        let name = record_name(&mount.path);
        let record = records.iter().find(|r| r.name == name);
        let path_exists = observed.existing_paths.contains(&mount.path);
        match compare(mount, record, path_exists) {
            Verdict::Matching => out.statuses.push(status(
                mount,
                RecordState::Matching,
                format!(
                    "the record names instance {} and target path {}, as registry.xml does",
                    mount.instance_id, mount.target_path
                ),
            )),
            Verdict::NoRecord { next_start } => {
                out.statuses.push(status(
                    mount,
                    RecordState::NoRecord,
                    "no record yet: the node has not started with this mount on this database; Carbon writes the \
                     record from registry.xml at its next start"
                        .to_string(),
                ));
                if next_start == NextStart::Fails {
                    out.warnings.push(format!(
                        "node {}: a resource exists at {} in {} and the mount's overwrite is neither true nor virtual: \
                         at the next start Carbon logs \"Unable to create remote mount. A resource already exists at the \
                         given location\" and makes no mount; set overwrite=\"true\" on the <mount>",
                        input.node, mount.path, input.database
                    ));
                }
            }
            Verdict::Stale { set, next_start } => {
                let record = record.expect("a stale verdict has a record");
                let mut at_next_start = next_start_text(input, mount, record, &next_start);
                if let Some(shared) = shared_text(input, observed, mount, record) {
                    at_next_start.push_str("; ");
                    at_next_start.push_str(&shared);
                }
                out.statuses
                    .push(status(mount, RecordState::Stale, at_next_start.clone()));
                out.repairs.push(RepairMountRecord {
                    node: input.node.clone(),
                    database: input.database.clone(),
                    mount_path: mount.path.clone(),
                    record: record_path(&mount.path),
                    record_name: name,
                    versioned_properties: input.versioned_properties,
                    set,
                    at_next_start,
                    running: observed.running.describe(input),
                });
            }
        }
    }
    out
}

/// After a run applied repairs: their records are now as registry.xml says, until the node restarts.
pub fn mark_repaired(statuses: &mut [RecordStatus], repaired: &[&RepairMountRecord]) {
    for status in statuses.iter_mut() {
        if let Some(repair) = repaired
            .iter()
            .find(|r| r.node == status.node && r.mount_path == status.mount_path)
        {
            status.state = RecordState::Repaired;
            status.detail = format!(
                "the record now says what registry.xml says; node {} follows it from its next start",
                repair.node
            );
        }
    }
}

/// What a person must do after a record was repaired (or must know before).
pub fn restart_warning(repair: &RepairMountRecord) -> String {
    format!(
        "node {}: restart it: Carbon reads mount records only at start (RegistryCoreServiceComponent.setupMounts), \
         so until then it keeps the mount of {} it built at its last start; {}",
        repair.node, repair.mount_path, repair.running
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// JSON and the human output name a record's state alike, as docs/json-output.md documents it.
    #[test]
    fn record_states_are_named_as_documented() {
        let readme = include_str!("../../../docs/json-output.md");
        let documented = readme
            .lines()
            .find(|l| l.starts_with("| `mount_records[]` |"))
            .expect("docs/json-output.md documents mount_records");
        for state in [
            RecordState::NoRecord,
            RecordState::Matching,
            RecordState::Stale,
            RecordState::NotChecked,
            RecordState::Repaired,
        ] {
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{state}\""));
            assert!(
                documented.contains(&format!("`{state}`")),
                "{state}: {documented}"
            );
        }
    }

    fn wanted(overwrite: Overwrite) -> WantedMount {
        WantedMount {
            path: "/_system/config".into(),
            instance_id: "gov".into(),
            target_path: "/_system/nodes".into(),
            overwrite,
        }
    }

    /// A record as `addMountEntry` then `defineFixedMount` leave it.
    fn record(target: &str, sub_path: &str) -> StoredRecord {
        StoredRecord {
            name: "-_system-config".into(),
            version: 7,
            properties: vec![
                ("path".into(), "/_system/config".into()),
                ("target".into(), target.into()),
                ("author".into(), "wso2.system.user".into()),
                ("subPath".into(), sub_path.into()),
                (FIXED_MOUNT.into(), "true".into()),
            ],
        }
    }

    fn input() -> NodeInput {
        NodeInput {
            node: "a".into(),
            database: "REGISTRY_LOCAL1".into(),
            account: "regadmin".into(),
            mounts: vec![wanted(Overwrite::True)],
            remote_instance_ids: vec!["gov".into()],
            versioned_properties: true,
            registry_root: None,
            shared_database: Some("REGISTRY_DB".into()),
        }
    }

    fn observed(records: Vec<StoredRecord>) -> Observed {
        Observed {
            records: Ok(records),
            existing_paths: vec!["/_system/config".into()],
            running: Running::NoneSeen,
            shared_paths: BTreeMap::new(),
        }
    }

    #[test]
    fn record_names_replace_every_slash() {
        assert_eq!(record_name("/_system/config"), "-_system-config");
        assert_eq!(
            record_path("/_system/governance"),
            "/_system/local/repository/components/org.wso2.carbon.registry/mount/-_system-governance"
        );
    }

    #[test]
    fn overwrite_is_read_as_carbon_reads_it() {
        assert_eq!(Overwrite::parse(Some("TRUE")), Overwrite::True);
        assert_eq!(Overwrite::parse(Some("Virtual")), Overwrite::Virtual);
        assert_eq!(Overwrite::parse(Some("false")), Overwrite::No);
        assert_eq!(Overwrite::parse(Some("yes")), Overwrite::No);
        assert_eq!(Overwrite::parse(None), Overwrite::No);
    }

    #[test]
    fn no_record_is_not_drift() {
        for exists in [false, true] {
            assert_eq!(
                compare(&wanted(Overwrite::True), None, exists),
                Verdict::NoRecord {
                    next_start: NextStart::Recreated
                }
            );
        }
        assert_eq!(
            compare(&wanted(Overwrite::No), None, true),
            Verdict::NoRecord {
                next_start: NextStart::Fails
            }
        );
        let plan = plan(&input(), &observed(vec![]));
        assert!(plan.repairs.is_empty());
        assert_eq!(plan.statuses[0].state, RecordState::NoRecord);
    }

    #[test]
    fn a_matching_record_is_matching() {
        assert_eq!(
            compare(
                &wanted(Overwrite::True),
                Some(&record("gov", "/_system/nodes")),
                true
            ),
            Verdict::Matching
        );
        let plan = plan(&input(), &observed(vec![record("gov", "/_system/nodes")]));
        assert!(plan.repairs.is_empty());
        assert_eq!(plan.statuses[0].state, RecordState::Matching);
    }

    #[test]
    fn a_stale_instance_id_is_rebuilt_from_the_record() {
        let verdict = compare(
            &wanted(Overwrite::True),
            Some(&record("old", "/_system/nodes")),
            true,
        );
        assert_eq!(
            verdict,
            Verdict::Stale {
                set: vec![PropertyFix {
                    name: "target".into(),
                    stored: Some("old".into()),
                    wanted: "gov".into()
                }],
                next_start: NextStart::RebuiltFromRecord
            }
        );
        let plan = plan(&input(), &observed(vec![record("old", "/_system/nodes")]));
        assert_eq!(plan.repairs.len(), 1);
        let text = &plan.repairs[0].at_next_start;
        assert!(text.contains("addFixedMount"), "{text}");
        assert!(
            text.contains("no <remoteInstance> has the record's id old"),
            "{text}"
        );
    }

    #[test]
    fn a_stale_instance_id_that_still_exists_mounts_the_other_instance() {
        let mut input = input();
        input.remote_instance_ids.push("old".into());
        let plan = plan(&input, &observed(vec![record("old", "/_system/nodes")]));
        let text = &plan.repairs[0].at_next_start;
        assert!(
            text.contains("it mounts remote instance old instead of gov"),
            "{text}"
        );
    }

    #[test]
    fn a_stale_target_path_is_recreated_or_fails_by_overwrite() {
        let stale = record("gov", "/_system/config");
        for (overwrite, next) in [
            (Overwrite::True, NextStart::Recreated),
            (Overwrite::Virtual, NextStart::Recreated),
            (Overwrite::No, NextStart::Fails),
        ] {
            match compare(&wanted(overwrite), Some(&stale), true) {
                Verdict::Stale { set, next_start } => {
                    assert_eq!(next_start, next, "{overwrite:?}");
                    assert_eq!(
                        set,
                        vec![PropertyFix {
                            name: "subPath".into(),
                            stored: Some("/_system/config".into()),
                            wanted: "/_system/nodes".into()
                        }]
                    );
                }
                other => panic!("{other:?}"),
            }
        }
        // Nothing at the mount path: createLink, whatever overwrite says.
        assert!(matches!(
            compare(&wanted(Overwrite::No), Some(&stale), false),
            Verdict::Stale {
                next_start: NextStart::Recreated,
                ..
            }
        ));
    }

    #[test]
    fn a_record_not_marked_fixed_or_at_another_path_is_stale() {
        let mut unfixed = record("gov", "/_system/nodes");
        unfixed.properties.retain(|(n, _)| n != FIXED_MOUNT);
        match compare(&wanted(Overwrite::True), Some(&unfixed), true) {
            Verdict::Stale { set, next_start } => {
                assert_eq!(set[0].name, FIXED_MOUNT);
                assert_eq!(set[0].stored, None);
                assert_eq!(next_start, NextStart::Recreated);
            }
            other => panic!("{other:?}"),
        }
        let mut moved = record("gov", "/_system/nodes");
        moved.properties[0].1 = "/_system/elsewhere".into();
        let plan = plan(&input(), &observed(vec![moved]));
        let text = &plan.repairs[0].at_next_start;
        assert!(text.contains("made at /_system/elsewhere"), "{text}");
    }

    #[test]
    fn the_first_value_of_a_property_counts() {
        let mut doubled = record("gov", "/_system/nodes");
        doubled.properties.push(("target".into(), "old".into()));
        assert_eq!(
            compare(&wanted(Overwrite::True), Some(&doubled), true),
            Verdict::Matching
        );
    }

    #[test]
    fn shared_side_counts_are_said_for_a_stale_target_path() {
        let input = input();
        let stale = record("gov", "/_system/config");
        assert_eq!(
            shared_paths_to_count(&input, std::slice::from_ref(&stale)),
            vec!["/_system/config".to_string(), "/_system/nodes".to_string()]
        );
        let mut seen = observed(vec![stale]);
        seen.shared_paths.insert("/_system/config".into(), 12);
        let plan = plan(&input, &seen);
        let text = &plan.repairs[0].at_next_start;
        assert!(
            text.contains("12 path(s) are at or under the record's subPath /_system/config and 0"),
            "{text}"
        );
    }

    #[test]
    fn unreadable_records_and_other_roots_are_not_checked() {
        let mut seen = observed(vec![record("old", "/_system/nodes")]);
        let mut rooted = input();
        rooted.registry_root = Some("/wso2".into());
        let plan1 = plan(&rooted, &seen);
        assert!(plan1.repairs.is_empty());
        assert_eq!(plan1.statuses[0].state, RecordState::NotChecked);
        seen.records = Err("no registry tables".into());
        let plan2 = plan(&input(), &seen);
        assert!(plan2.repairs.is_empty());
        assert_eq!(plan2.statuses[0].state, RecordState::NotChecked);
    }
}
