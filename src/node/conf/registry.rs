//! `conf/registry.xml`: the shared registry a node mounts, beside its own local one.

use super::model::{ActualDbConfig, ActualMount, ActualRegistry, ActualRemoteInstance};
use super::xml::{Changed, ConfError, Document, Editor, Element, NewElement};
use super::Edited;
use crate::core::check::Check;
use crate::core::drift::Difference;
use crate::core::node_files::{bool_text, Mount, Registry, RemoteInstance};

const ROOT: &str = "wso2registry";
const DB_CONFIG: &str = "dbConfig";
const REMOTE_INSTANCE: &str = "remoteInstance";
const MOUNT: &str = "mount";

/// Makes the shared registry's `dbConfig` (by name), `remoteInstance` (by `<id>`) and each mount
/// (by path) say what `desired` says. Missing ones are added in that order after their own kind,
/// else after the one before them. The local `wso2registry` dbConfig, `currentDBConfig` and every
/// other element stay as they are.
pub fn edit_registry(original: &str, desired: &Registry) -> Result<Edited, ConfError> {
    let doc = Document::parse(original)?;
    let root = doc.expect_root(ROOT)?;
    let mut editor = Editor::new(&doc);
    let mut differences = Vec::new();

    let db_config = &desired.db_config;
    let db_configs: Vec<&Element> = root.children_named(DB_CONFIG).collect();
    let shared_db_config = doc.unique(
        db_configs.iter().copied(),
        |element| element.attribute("name") == Some(&db_config.name),
        || format!("<dbConfig name=\"{}\">", db_config.name),
    )?;
    let changed = match shared_db_config {
        Some(element) => {
            match editor.set_child_text(element, "dataSource", &db_config.data_source)? {
                Changed::Added => Changed::From("dataSource (none)".to_owned()),
                Changed::From(old) => Changed::From(format!("dataSource {old}")),
                Changed::Unchanged => Changed::Unchanged,
            }
        }
        None => {
            let new = NewElement::parent(
                DB_CONFIG,
                vec![NewElement::leaf("dataSource", &db_config.data_source)],
            )
            .with_attribute("name", &db_config.name);
            editor.insert(root, db_configs.last().copied(), new);
            Changed::Added
        }
    };
    if changed.is_changed() {
        let at = shared_db_config.map_or(root.span.start, |element| {
            element
                .child("dataSource")
                .map_or(element.span.start, |child| child.span.start)
        });
        differences.push(
            Difference::new(
                Check::RegistryDbConfig,
                None,
                format!("dbConfig {} on {}", db_config.name, db_config.data_source),
                changed.found(),
            )
            .at(at),
        );
    }
    // Where a new remoteInstance goes when there is none yet: after the shared dbConfig, or where
    // that is being added (insertions at one place keep their order).
    let after_db_config = shared_db_config.or(db_configs.last().copied());

    let remote = &desired.remote_instance;
    let remotes: Vec<&Element> = root.children_named(REMOTE_INSTANCE).collect();
    let shared_remote = doc.unique(
        remotes.iter().copied(),
        |element| element.child("id").map(Element::text) == Some(&remote.id),
        || format!("<remoteInstance> with <id>{}</id>", remote.id),
    )?;
    match shared_remote {
        Some(element) => update_remote_instance(&mut editor, element, remote, &mut differences)?,
        None => {
            differences.push(
                Difference::new(
                    Check::RemoteInstanceMissing,
                    None,
                    format!("remoteInstance {}", remote.id),
                    None,
                )
                .at(root.span.start),
            );
            editor.insert(
                root,
                remotes.last().copied().or(after_db_config),
                new_remote_instance(remote),
            )
        }
    }
    let after_remote = shared_remote
        .or(remotes.last().copied())
        .or(after_db_config);

    let mounts: Vec<&Element> = root.children_named(MOUNT).collect();
    for mount in &desired.mounts {
        let existing = doc.unique(
            mounts.iter().copied(),
            |element| element.attribute("path") == Some(&mount.path),
            || format!("<mount path=\"{}\">", mount.path),
        )?;
        let found = existing.map(describe_mount);
        let changed = match existing {
            Some(element) => update_mount(&mut editor, element, mount)?,
            None => {
                editor.insert(
                    root,
                    mounts.last().copied().or(after_remote),
                    new_mount(mount),
                );
                true
            }
        };
        if changed {
            let expected = mount_text(
                &mount.path,
                &mount.target_path,
                &mount.instance_id,
                &mount.overwrite,
            );
            let at = existing.map_or(root.span.start, |element| element.span.start);
            differences.push(
                Difference::new(Check::Mount, None, expected, found)
                    .at(at)
                    .element(format!("<mount path=\"{}\">", mount.path)),
            );
        }
    }
    Ok(Edited {
        text: editor.finish()?,
        differences,
    })
}

/// A mount as a difference shows it: `/_system/config -> /_system/eiconfig on instanceid (overwrite true)`.
fn mount_text(path: &str, target_path: &str, instance_id: &str, overwrite: &str) -> String {
    format!("{path} -> {target_path} on {instance_id} (overwrite {overwrite})")
}

fn describe_mount(element: &Element) -> String {
    let child = |name| element.child_text(name).unwrap_or_else(|| "?".to_owned());
    mount_text(
        element.attribute("path").unwrap_or("?"),
        &child("targetPath"),
        &child("instanceId"),
        element.attribute("overwrite").unwrap_or("?"),
    )
}

pub fn read_registry(xml: &str) -> Result<ActualRegistry, ConfError> {
    registry_of(&Document::parse(xml)?)
}

/// What registry.xml says and its storage settings (`read_registry_settings`), in one parse.
pub fn read_registry_with_settings(
    xml: &str,
) -> Result<(ActualRegistry, (bool, Option<String>)), ConfError> {
    let doc = Document::parse(xml)?;
    Ok((
        registry_of(&doc)?,
        super::registry_settings::settings_of(&doc)?,
    ))
}

fn registry_of(doc: &Document<'_>) -> Result<ActualRegistry, ConfError> {
    let root = doc.expect_root(ROOT)?;
    Ok(ActualRegistry {
        current_db_config: root.child_text("currentDBConfig"),
        db_configs: root
            .children_named(DB_CONFIG)
            .map(|element| ActualDbConfig {
                name: element.attribute("name").map(str::to_owned),
                data_source: element.child_text("dataSource"),
            })
            .collect(),
        remote_instances: root
            .children_named(REMOTE_INSTANCE)
            .map(|element| ActualRemoteInstance {
                url: element.attribute("url").map(str::to_owned),
                id: element.child_text("id"),
                db_config: element.child_text("dbConfig"),
                read_only: element.child_text("readOnly"),
                enable_cache: element.child_text("enableCache"),
                registry_root: element.child_text("registryRoot"),
                cache_id: element.child_text("cacheId"),
            })
            .collect(),
        mounts: root
            .children_named(MOUNT)
            .map(|element| ActualMount {
                path: element.attribute("path").map(str::to_owned),
                overwrite: element.attribute("overwrite").map(str::to_owned),
                instance_id: element.child_text("instanceId"),
                target_path: element.child_text("targetPath"),
            })
            .collect(),
    })
}

/// The children of a `remoteInstance`, in the order WSO2 documents them.
fn remote_instance_settings(remote: &RemoteInstance) -> [(&'static str, &str); 6] {
    [
        ("id", &remote.id),
        ("dbConfig", &remote.db_config),
        ("readOnly", bool_text(remote.read_only)),
        ("enableCache", bool_text(remote.enable_cache)),
        ("registryRoot", &remote.registry_root),
        ("cacheId", &remote.cache_id),
    ]
}

fn mount_settings(mount: &Mount) -> [(&'static str, &str); 2] {
    [
        ("instanceId", &mount.instance_id),
        ("targetPath", &mount.target_path),
    ]
}

fn update_remote_instance<'d>(
    editor: &mut Editor<'d>,
    element: &'d Element,
    remote: &RemoteInstance,
    differences: &mut Vec<Difference>,
) -> Result<(), ConfError> {
    let item = format!("remoteInstance {}", remote.id);
    let url = editor.set_attribute(element, "url", &remote.url)?;
    let settings = remote_instance_settings(remote);
    let mut changes = vec![("url", remote.url.as_str(), url)];
    for (name, value) in settings {
        changes.push((name, value, editor.set_child_text(element, name, value)?));
    }
    for (name, value, changed) in changes {
        if !changed.is_changed() {
            continue;
        }
        let at = match name {
            "url" => element.span.start,
            _ => element
                .child(name)
                .map_or(element.span.start, |child| child.span.start),
        };
        differences.push(
            if name == "cacheId" {
                Difference::new(Check::CacheId, None, value, changed.found())
                    .element(format!("<cacheId> of <remoteInstance> {}", remote.id))
            } else {
                Difference::new(
                    Check::RemoteInstance,
                    Some(&item),
                    format!("{name} {value}"),
                    changed.found().map(|found| format!("{name} {found}")),
                )
            }
            .at(at),
        );
    }
    Ok(())
}

/// `true` when anything of the mount changes.
fn update_mount<'d>(
    editor: &mut Editor<'d>,
    element: &'d Element,
    mount: &Mount,
) -> Result<bool, ConfError> {
    let mut changed = editor
        .set_attribute(element, "overwrite", &mount.overwrite)?
        .is_changed();
    for (name, value) in mount_settings(mount) {
        changed |= editor.set_child_text(element, name, value)?.is_changed();
    }
    Ok(changed)
}

fn leaves(settings: &[(&'static str, &str)]) -> Vec<NewElement> {
    settings
        .iter()
        .map(|&(name, value)| NewElement::leaf(name, value))
        .collect()
}

fn new_remote_instance(remote: &RemoteInstance) -> NewElement {
    NewElement::parent(REMOTE_INSTANCE, leaves(&remote_instance_settings(remote)))
        .with_attribute("url", &remote.url)
}

fn new_mount(mount: &Mount) -> NewElement {
    NewElement::parent(MOUNT, leaves(&mount_settings(mount)))
        .with_attribute("path", &mount.path)
        .with_attribute("overwrite", &mount.overwrite)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::test_support::{
        assert_no_bare_lf, assert_only_owned_lines_changed, real_conf, to_crlf, xml_text,
    };
    use super::*;
    use crate::core::node_files::DbConfig;

    const FIXTURE: &str = include_str!("../../../tests/fixtures/ei-home/conf/registry.xml");
    const OWNED: &[&str] = &[
        "<dbConfig",
        "<dataSource",
        "<remoteInstance",
        "<id>",
        "<readOnly",
        "<enableCache",
        "<registryRoot",
        "<cacheId",
        "<mount",
        "<instanceId",
        "<targetPath",
    ];

    fn shared() -> Registry {
        Registry {
            db_config: DbConfig {
                name: "sharedregistry".into(),
                data_source: "jdbc/WSO2RegistryDB".into(),
            },
            remote_instance: RemoteInstance {
                url: "https://localhost:9443/registry".into(),
                id: "instanceid".into(),
                db_config: "sharedregistry".into(),
                read_only: false,
                enable_cache: true,
                registry_root: "/".into(),
                cache_id: "regadmin@jdbc:mysql://db.example.test:3306/REGISTRY_DB?useSSL=false&autoReconnect=true".into(),
            },
            mounts: vec![
                mount("/_system/config", "/_system/nodes"),
                mount("/_system/governance", "/_system/governance"),
            ],
        }
    }

    fn mount(path: &str, target_path: &str) -> Mount {
        Mount {
            path: path.into(),
            overwrite: "true".into(),
            instance_id: "instanceid".into(),
            target_path: target_path.into(),
        }
    }

    fn edit(original: &str, desired: &Registry) -> String {
        edit_registry(original, desired)
            .unwrap_or_else(|e| panic!("edit failed: {e}"))
            .text
    }

    fn read(xml: &str) -> ActualRegistry {
        read_registry(xml).unwrap_or_else(|e| panic!("file does not read: {e}\n{xml}"))
    }

    /// Checks (1) the edit reads back as desired with the local registry kept, (2) editing again
    /// is a fixed point and (3) only owned lines changed; returns the edited text.
    fn assert_edits_cleanly(original: &str, desired: &Registry) -> String {
        let before = read(original);
        let edited = edit(original, desired);
        let after = read(&edited);
        assert_eq!(after.current_db_config, before.current_db_config);
        let shared = ActualDbConfig::from(&desired.db_config);
        assert_eq!(
            after
                .db_configs
                .iter()
                .filter(|db_config| **db_config == shared)
                .count(),
            1
        );
        for local in before
            .db_configs
            .iter()
            .filter(|db_config| db_config.name != shared.name)
        {
            assert!(after.db_configs.contains(local), "{local:?} is gone");
        }
        let remote = ActualRemoteInstance::from(&desired.remote_instance);
        assert_eq!(
            after
                .remote_instances
                .iter()
                .filter(|r| **r == remote)
                .count(),
            1,
            "{after:#?}"
        );
        for mount in &desired.mounts {
            assert!(
                after.mounts.contains(&ActualMount::from(mount)),
                "{mount:?} missing in {after:#?}"
            );
        }
        assert_eq!(
            edit(&edited, desired),
            edited,
            "a second edit changed the file"
        );
        assert_only_owned_lines_changed(original, &edited, OWNED);
        edited
    }

    #[test]
    fn the_fixture_really_has_crlf_line_endings() {
        assert!(
            FIXTURE.contains("\r\n"),
            "git turned the fixture's CRLF into LF"
        );
        assert_no_bare_lf(FIXTURE);
    }

    #[test]
    fn fixture_gets_the_shared_registry_after_the_local_one_with_crlf() {
        let edited = assert_edits_cleanly(FIXTURE, &shared());
        assert_no_bare_lf(&edited);
        let expected = "    </dbConfig>\r\n\
            \x20   <dbConfig name=\"sharedregistry\">\r\n\
            \x20       <dataSource>jdbc/WSO2RegistryDB</dataSource>\r\n\
            \x20   </dbConfig>\r\n\
            \x20   <remoteInstance url=\"https://localhost:9443/registry\">\r\n\
            \x20       <id>instanceid</id>\r\n\
            \x20       <dbConfig>sharedregistry</dbConfig>\r\n\
            \x20       <readOnly>false</readOnly>\r\n\
            \x20       <enableCache>true</enableCache>\r\n\
            \x20       <registryRoot>/</registryRoot>\r\n\
            \x20       <cacheId>regadmin@jdbc:mysql://db.example.test:3306/REGISTRY_DB?useSSL=false&amp;autoReconnect=true</cacheId>\r\n\
            \x20   </remoteInstance>\r\n\
            \x20   <mount path=\"/_system/config\" overwrite=\"true\">\r\n\
            \x20       <instanceId>instanceid</instanceId>\r\n\
            \x20       <targetPath>/_system/nodes</targetPath>\r\n\
            \x20   </mount>\r\n\
            \x20   <mount path=\"/_system/governance\" overwrite=\"true\">\r\n\
            \x20       <instanceId>instanceid</instanceId>\r\n\
            \x20       <targetPath>/_system/governance</targetPath>\r\n\
            \x20   </mount>\r\n\
            \r\n    <indexingConfiguration>";
        assert!(edited.contains(expected), "{edited}");
        assert!(edited.starts_with("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\r\n<!--\r\n"));
        let actual = read(&edited);
        assert_eq!(actual.current_db_config.as_deref(), Some("wso2registry"));
        assert_eq!(
            actual.db_configs[0].data_source.as_deref(),
            Some("jdbc/WSO2CarbonDB")
        );
        assert_eq!(
            actual.mounts.len(),
            2,
            "the commented-out mount is not a mount"
        );
    }

    #[test]
    fn hand_edited_values_are_put_back() {
        let edited = edit(FIXTURE, &shared());
        let drifted = edited
            .replacen(
                "3306/REGISTRY_DB?useSSL=false&amp;autoReconnect=true</cacheId>",
                "3306/REGISTRY_DB</cacheId>",
                1,
            )
            .replacen("overwrite=\"true\"", "overwrite='virtual'", 1)
            .replacen(
                "<targetPath>/_system/nodes</targetPath>",
                "<targetPath>/_system/ei</targetPath>",
                1,
            )
            .replacen(
                "url=\"https://localhost:9443/registry\"",
                "url=\"https://other:9443/registry\"",
                1,
            )
            .replacen(
                "<readOnly>false</readOnly>\r\n        <enableCache>",
                "<readOnly>true</readOnly>\r\n        <enableCache>",
                1,
            );
        assert_eq!(
            read(&drifted).remote_instances[0].cache_id.as_deref(),
            Some("regadmin@jdbc:mysql://db.example.test:3306/REGISTRY_DB")
        );
        let repaired = edit(&drifted, &shared());
        assert_eq!(
            repaired,
            edited.replacen("overwrite=\"true\"", "overwrite='true'", 1)
        );
        assert_no_bare_lf(&repaired);

        // Said value by value: the cacheId on its own, the other remoteInstance values named, a mount whole.
        let said = edit_registry(&drifted, &shared()).unwrap().differences;
        let checks: Vec<&str> = said.iter().map(|d| d.check.as_str()).collect();
        assert_eq!(
            checks,
            ["remote_instance", "remote_instance", "cache_id", "mount"],
            "{said:#?}"
        );
        assert_eq!(
            said[0].found_text().as_deref(),
            Some("remoteInstance instanceid: url https://other:9443/registry")
        );
        assert_eq!(
            said[1].expected_text(),
            "remoteInstance instanceid: readOnly false"
        );
        assert_eq!(
            said[2].found.as_deref(),
            Some("regadmin@jdbc:mysql://db.example.test:3306/REGISTRY_DB")
        );
        assert_eq!(
            said[3].found.as_deref(),
            Some("/_system/config -> /_system/ei on instanceid (overwrite virtual)")
        );
        assert!(edit_registry(&edited, &shared())
            .unwrap()
            .differences
            .is_empty());
    }

    #[test]
    fn existing_entries_keep_their_extras_and_get_missing_children() {
        let original = "<wso2registry>\n    <dbConfig name=\"sharedregistry\">\n    </dbConfig>\n    <remoteInstance url=\"https://old/registry\">\n        <id>instanceid</id>\n        <username>kept</username>\n    </remoteInstance>\n    <mount path=\"/_system/config\" overwrite=\"false\">\n        <instanceId>instanceid</instanceId>\n        <targetPath>/_system/nodes</targetPath>\n    </mount>\n</wso2registry>\n";
        let edited = assert_edits_cleanly(original, &shared());
        assert_eq!(
            edited,
            "<wso2registry>\n    <dbConfig name=\"sharedregistry\">\n        <dataSource>jdbc/WSO2RegistryDB</dataSource>\n    </dbConfig>\n    <remoteInstance url=\"https://localhost:9443/registry\">\n        <id>instanceid</id>\n        <username>kept</username>\n        <dbConfig>sharedregistry</dbConfig>\n        <readOnly>false</readOnly>\n        <enableCache>true</enableCache>\n        <registryRoot>/</registryRoot>\n        <cacheId>regadmin@jdbc:mysql://db.example.test:3306/REGISTRY_DB?useSSL=false&amp;autoReconnect=true</cacheId>\n    </remoteInstance>\n    <mount path=\"/_system/config\" overwrite=\"true\">\n        <instanceId>instanceid</instanceId>\n        <targetPath>/_system/nodes</targetPath>\n    </mount>\n    <mount path=\"/_system/governance\" overwrite=\"true\">\n        <instanceId>instanceid</instanceId>\n        <targetPath>/_system/governance</targetPath>\n    </mount>\n</wso2registry>\n"
        );
    }

    #[test]
    fn a_registry_without_db_configs_gets_everything_in_order_before_its_end() {
        let original =
            "<wso2registry>\n\t<currentDBConfig>wso2registry</currentDBConfig>\n</wso2registry>";
        let edited = assert_edits_cleanly(original, &shared());
        let order: Vec<usize> = [
            "<dbConfig name",
            "<remoteInstance",
            "<mount path=\"/_system/config\"",
            "<mount path=\"/_system/gov",
        ]
        .iter()
        .map(|tag| {
            edited
                .find(tag)
                .unwrap_or_else(|| panic!("{tag} missing:\n{edited}"))
        })
        .collect();
        assert!(order.windows(2).all(|pair| pair[0] < pair[1]), "{edited}");
        assert!(
            edited.contains("\n\t<dbConfig name=\"sharedregistry\">\n\t\t<dataSource>"),
            "{edited}"
        );
        assert!(edited.ends_with("\t</mount>\n</wso2registry>"), "{edited}");
    }

    #[test]
    fn non_ascii_goes_into_a_latin1_file_as_character_references() {
        let mut desired = shared();
        desired.remote_instance.cache_id = "régadmin@jdbc:mysql://hôte/€".into();
        let edited = assert_edits_cleanly(FIXTURE, &desired);
        assert!(
            edited.is_ascii(),
            "an ISO-8859-1 file must not get UTF-8 bytes"
        );
        assert!(
            edited.contains("<cacheId>r&#233;gadmin@jdbc:mysql://h&#244;te/&#8364;</cacheId>"),
            "{edited}"
        );
    }

    #[test]
    fn files_eidb_cannot_edit_safely_are_errors_with_their_line() {
        let broken = FIXTURE.replacen("<batchSize>50</batchSize>", "<batchSize>50</batchsize>", 1);
        let error = edit_registry(&broken, &shared()).unwrap_err();
        assert_eq!(error.line, 22, "{error}");
        let unclosed = FIXTURE.replacen("</indexingConfiguration>", "", 1);
        assert!(edit_registry(&unclosed, &shared()).is_err());

        let edited = edit(FIXTURE, &shared());
        let twice = edited.replacen(
            "<id>instanceid</id>",
            "<id>instanceid</id></remoteInstance><remoteInstance><id>instanceid</id>",
            1,
        );
        let error = edit_registry(&twice, &shared()).unwrap_err();
        assert!(error.message.contains("defined twice"), "{error}");
        assert_eq!(error.line, 21, "{error}");
    }

    #[test]
    fn real_wso2_file_is_edited_in_place() {
        let original = real_conf("registry.xml");
        let edited = assert_edits_cleanly(&original, &shared());
        assert!(edited.contains("    <!--mount path=\"/_system/config\" overwrite=\"true|false|virtual\">\n        <instanceId>instanceid</instanceId>"));
        let crlf = assert_edits_cleanly(&to_crlf(&original), &shared());
        assert_no_bare_lf(&crlf);
        assert_eq!(crlf, to_crlf(&edited));
    }

    fn arbitrary_registry() -> impl Strategy<Value = Registry> {
        (
            xml_text(),
            xml_text(),
            xml_text(),
            xml_text(),
            xml_text(),
            any::<(bool, bool)>(),
        )
            .prop_map(
                |(data_source, url, cache_id, path, target_path, (read_only, enable_cache))| {
                    let mut registry = shared();
                    registry.db_config.data_source = data_source;
                    registry.remote_instance.url = url;
                    registry.remote_instance.cache_id = cache_id;
                    registry.remote_instance.read_only = read_only;
                    registry.remote_instance.enable_cache = enable_cache;
                    registry.mounts = vec![Mount {
                        path,
                        target_path,
                        ..mount("", "")
                    }];
                    registry
                },
            )
    }

    proptest! {
        #[test]
        fn damaged_files_give_errors_or_edits_never_panics(
            at in 0..FIXTURE.len(),
            removed in 0usize..40,
            inserted in prop::sample::select(vec!["", "<", ">", "</mount>", "<dbConfig>", "&", "'", "<!--", "-->", "/>", "\r", "\n"]),
        ) {
            let end = (at + removed).min(FIXTURE.len());
            let damaged = format!("{}{inserted}{}", &FIXTURE[..at], &FIXTURE[end..]);
            if let Ok(edited) = edit_registry(&damaged, &shared()) {
                let again = edit_registry(&edited.text, &shared()).unwrap();
                prop_assert_eq!(&again.text, &edited.text);
                prop_assert!(again.differences.is_empty(), "{:?}", again.differences);
            }
        }

        #[test]
        fn any_values_round_trip_idempotently_touching_only_owned_lines(
            desired in arbitrary_registry(),
            drifted in arbitrary_registry(),
        ) {
            let edited = assert_edits_cleanly(FIXTURE, &desired);
            assert_no_bare_lf(&edited);
            let from_drift = edit(&edit(FIXTURE, &drifted), &desired);
            prop_assert_eq!(read(&from_drift).remote_instances, read(&edited).remote_instances);
        }
    }
}
