//! `eidb provision`, node part (issue 4): the built binary edits each node's master-datasources.xml,
//! user-mgt.xml and registry.xml. Every result is checked through a second path: the written XML is parsed
//! here with quick-xml (never with eidb's own readers), files are compared byte for byte, and databases
//! are looked up with SQL on the admin connection.

use crate::common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::check::{self, snapshot_differences, snapshot_files};
use common::cluster::{Cluster, Conf, ACCOUNT_PASSWORD};
use common::{admin_pool, server};
use quick_xml::events::{BytesStart, Event};

const DATASOURCES: &str = "conf/datasources/master-datasources.xml";
const USER_MGT: &str = "conf/user-mgt.xml";
const REGISTRY: &str = "conf/registry.xml";
const FILES: [&str; 3] = [DATASOURCES, USER_MGT, REGISTRY];

const CARBON_JNDI: &str = "jdbc/WSO2CarbonDB";
const REGISTRY_JNDI: &str = "jdbc/WSO2RegistryDB";
const UM_JNDI: &str = "jdbc/WSO2UMDB";

/// The pool settings WSO2 ships in master-datasources.xml, which every datasource eidb writes carries.
const POOL: [(&str, &str); 5] = [
    ("validationQuery", "SELECT 1"),
    ("testOnBorrow", "true"),
    ("maxActive", "50"),
    ("maxWait", "60000"),
    ("validationInterval", "30000"),
];

const CONNECTOR_J_8: &str = "mysql-connector-j-8.0.33.jar";
const CONNECTOR_J_5: &str = "mysql-connector-java-5.1.49.jar";
const DRIVER_8: &str = "com.mysql.cj.jdbc.Driver";
const DRIVER_5: &str = "com.mysql.jdbc.Driver";

// ---------------------------------------------------------------------------------------------------
// An independent reading of the XML: a small tree built from quick-xml events.
// ---------------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    /// The element's own text (entities resolved), trimmed.
    text: String,
    children: Vec<Element>,
    /// Byte range of the element in the parsed text.
    span: (usize, usize),
}

impl Element {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The only child called `name`; panics (naming the path) when there is none or more than one.
    fn one(&self, name: &str) -> &Element {
        let found: Vec<_> = self.children.iter().filter(|c| c.name == name).collect();
        assert_eq!(
            found.len(),
            1,
            "<{}> should have exactly one <{name}>, has {}:\n{self:#?}",
            self.name,
            found.len()
        );
        found[0]
    }

    /// The text of the only child `name`.
    fn value(&self, name: &str) -> &str {
        &self.one(name).text
    }

    /// Tree equality without byte positions.
    fn same(&self, other: &Element) -> bool {
        self.name == other.name
            && self.attrs == other.attrs
            && self.text == other.text
            && self.children.len() == other.children.len()
            && self
                .children
                .iter()
                .zip(&other.children)
                .all(|(a, b)| a.same(b))
    }

    /// A copy without the descendants `drop` selects (given the element and its parent).
    fn pruned(&self, drop: &dyn Fn(&Element, &Element) -> bool) -> Element {
        let mut copy = self.clone();
        copy.children = self
            .children
            .iter()
            .filter(|c| !drop(c, self))
            .map(|c| c.pruned(drop))
            .collect();
        copy
    }
}

struct Doc {
    text: String,
    root: Element,
    /// Every comment, in order, as written.
    comments: Vec<String>,
    /// The XML declaration as written, when there is one.
    decl: Option<String>,
}

fn element_from(start: &BytesStart, at: usize) -> Element {
    let name = start.name().as_ref().to_string();
    let attrs = start
        .attributes()
        .map(|a| {
            let a = a.unwrap_or_else(|e| panic!("bad attribute in <{name}>: {e}"));
            (
                a.key.as_ref().to_string(),
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .unwrap()
                    .into_owned(),
            )
        })
        .collect();
    Element {
        name,
        attrs,
        text: String::new(),
        children: Vec::new(),
        span: (at, at),
    }
}

fn parse(text: &str, what: &str) -> Doc {
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    let mut comments = Vec::new();
    let mut decl = None;
    let finish = |el: Element, stack: &mut Vec<Element>, root: &mut Option<Element>| match stack
        .last_mut()
    {
        Some(parent) => parent.children.push(el),
        None => {
            assert!(root.is_none(), "{what}: more than one root element");
            *root = Some(el);
        }
    };
    loop {
        let before = reader.buffer_position() as usize;
        let event = reader.read_event().unwrap_or_else(|e| {
            panic!(
                "{what} is not well-formed XML at byte {}: {e}",
                reader.error_position()
            )
        });
        let after = reader.buffer_position() as usize;
        match event {
            Event::Start(e) => stack.push(element_from(&e, before)),
            Event::Empty(e) => {
                let mut el = element_from(&e, before);
                el.span.1 = after;
                finish(el, &mut stack, &mut root);
            }
            Event::End(_) => {
                let mut el = stack
                    .pop()
                    .unwrap_or_else(|| panic!("{what}: unbalanced end tag at byte {before}"));
                el.span.1 = after;
                el.text = el.text.trim().to_string();
                finish(el, &mut stack, &mut root);
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(c) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&c.into_inner());
                }
            }
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .unwrap()
                        .expect("a character reference")
                        .to_string()
                } else {
                    match &*r.into_inner() {
                        "amp" => "&".to_string(),
                        "lt" => "<".to_string(),
                        "gt" => ">".to_string(),
                        "quot" => "\"".to_string(),
                        "apos" => "'".to_string(),
                        other => panic!("{what}: unknown entity &{other};"),
                    }
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::Comment(c) => comments.push(c.into_inner().into_owned()),
            Event::Decl(_) => decl = Some(text[before..after].to_string()),
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(
        stack.is_empty(),
        "{what}: unclosed elements {:?}",
        stack.iter().map(|e| &e.name).collect::<Vec<_>>()
    );
    Doc {
        text: text.to_string(),
        root: root.unwrap_or_else(|| panic!("{what}: no root element")),
        comments,
        decl,
    }
}

/// A file's text: UTF-8, or ISO-8859-1 (one byte per character) when it is not valid UTF-8.
fn decode(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec())
        .unwrap_or_else(|_| bytes.iter().map(|&b| char::from(b)).collect())
}

fn read_doc(path: &Path) -> Doc {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    parse(&decode(&bytes), &path.display().to_string())
}

fn node_doc(cluster: &Cluster, node: usize, file: &str) -> Doc {
    read_doc(&cluster.node_file(node, file))
}

fn real_file(file: &str) -> PathBuf {
    common::shared_wso2_dir().join(file)
}

// ---------------------------------------------------------------------------------------------------
// What the files must say.
// ---------------------------------------------------------------------------------------------------

/// The datasources (not commented out) whose JNDI name is `jndi`.
fn datasources<'a>(doc: &'a Doc, jndi: &str) -> Vec<&'a Element> {
    assert_eq!(doc.root.name, "datasources-configuration");
    doc.root
        .one("datasources")
        .all("datasource")
        .filter(|ds| {
            ds.all("jndiConfig")
                .any(|j| j.all("name").any(|n| n.text == jndi))
        })
        .collect()
}

fn datasource<'a>(doc: &'a Doc, jndi: &str) -> &'a Element {
    let found = datasources(doc, jndi);
    assert_eq!(
        found.len(),
        1,
        "exactly one datasource with JNDI name {jndi}:\n{}",
        doc.text
    );
    found[0]
}

/// The `<configuration>` of a datasource's RDBMS definition.
fn configuration(ds: &Element) -> &Element {
    let definition = ds.one("definition");
    assert_eq!(definition.attr("type"), Some("RDBMS"), "{ds:#?}");
    definition.one("configuration")
}

/// The JDBC URL the nodes must use for `database` on the test server (host and port of the spec's server
/// url, eidb's default for `jdbc_host`/`jdbc_port`).
fn expected_url(database: &str, public_key_retrieval: bool) -> String {
    let server = server();
    let extra = if public_key_retrieval {
        "&allowPublicKeyRetrieval=true"
    } else {
        ""
    };
    format!(
        "jdbc:mysql://{}:{}/{database}?autoReconnect=true&useSSL=false{extra}",
        server.host, server.port
    )
}

/// Connector/J 8 on MySQL 8 without TLS needs `allowPublicKeyRetrieval=true` (issue 4); not on MariaDB.
fn needs_public_key_retrieval(driver: &str) -> bool {
    let flavour = server().flavour();
    driver == DRIVER_8 && flavour.is_mysql() && flavour.at_least(8, 0)
}

/// One datasource as eidb must write it.
fn assert_datasource(doc: &Doc, jndi: &str, url: &str, account: &str, driver: &str) {
    let ds = datasource(doc, jndi);
    let conf = configuration(ds);
    assert_eq!(conf.value("url"), url, "url of {jndi}");
    assert_eq!(conf.value("username"), account, "username of {jndi}");
    assert_eq!(
        conf.value("password"),
        ACCOUNT_PASSWORD,
        "password of {jndi} (after XML-unescaping)"
    );
    assert_eq!(
        conf.value("driverClassName"),
        driver,
        "driverClassName of {jndi}"
    );
    for (tag, value) in POOL {
        assert_eq!(conf.value(tag), value, "{tag} of {jndi}");
    }
    // The URL's `&` is written as `&amp;` (checked on the raw text, not only through the parser).
    let raw = &doc.text[conf.one("url").span.0..conf.one("url").span.1];
    assert_eq!(
        raw,
        format!("<url>{}</url>", url.replace('&', "&amp;")),
        "raw url element of {jndi}"
    );
}

/// The realm's `<Property name="dataSource">` of user-mgt.xml.
fn realm_data_source(doc: &Doc) -> &Element {
    assert_eq!(doc.root.name, "UserManager");
    let configuration = doc.root.one("Realm").one("Configuration");
    let found: Vec<_> = configuration
        .all("Property")
        .filter(|p| p.attr("name") == Some("dataSource"))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "exactly one realm Property dataSource:\n{configuration:#?}"
    );
    found[0]
}

fn db_config<'a>(registry: &'a Doc, name: &str) -> &'a Element {
    let found: Vec<_> = registry
        .root
        .all("dbConfig")
        .filter(|d| d.attr("name") == Some(name))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "exactly one dbConfig named {name}:\n{}",
        registry.text
    );
    found[0]
}

/// registry.xml as eidb must write it for the default `[registry]` settings.
fn assert_registry(registry: &Doc, account: &str, shared_url: &str) {
    assert_eq!(registry.root.name, "wso2registry");
    assert_eq!(registry.root.value("currentDBConfig"), "wso2registry");
    assert_eq!(
        db_config(registry, "wso2registry").value("dataSource"),
        CARBON_JNDI
    );
    assert_eq!(
        db_config(registry, "sharedregistry").value("dataSource"),
        REGISTRY_JNDI
    );

    let remote = registry.root.one("remoteInstance");
    assert_eq!(remote.attr("url"), Some("https://localhost:9443/registry"));
    assert_eq!(remote.value("id"), "instanceid");
    assert_eq!(remote.value("dbConfig"), "sharedregistry");
    assert_eq!(remote.value("readOnly"), "false");
    assert_eq!(remote.value("enableCache"), "true");
    assert_eq!(remote.value("registryRoot"), "/");
    assert_eq!(
        remote.value("cacheId"),
        format!("{account}@{shared_url}"),
        "cacheId, character for character"
    );

    let mounts: Vec<_> = registry.root.all("mount").collect();
    assert_eq!(mounts.len(), 2, "two mounts: {mounts:#?}");
    for (path, target) in [
        ("/_system/config", "/_system/eiconfig"),
        ("/_system/governance", "/_system/governance"),
    ] {
        let mount = mounts
            .iter()
            .find(|m| m.attr("path") == Some(path))
            .unwrap_or_else(|| panic!("no mount of {path}: {mounts:#?}"));
        assert_eq!(mount.attr("overwrite"), Some("true"), "overwrite of {path}");
        assert_eq!(
            mount.value("instanceId"),
            "instanceid",
            "instanceId of {path}"
        );
        assert_eq!(mount.value("targetPath"), target, "targetPath of {path}");
    }
}

/// A cluster whose nodes start from the real WSO2 files, made writable as an EI distribution ships
/// them (the copies in ../shared are read-only).
fn real_cluster(nodes: usize) -> Cluster {
    let cluster = Cluster::new(nodes, Conf::RealWso2);
    cluster.set_conf_mode(0o644);
    cluster
}

fn outputs(output: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn snapshot(cluster: &Cluster) -> BTreeMap<PathBuf, check::FileState> {
    snapshot_files(cluster.dir.path())
}

fn assert_nothing_changed(
    before: &BTreeMap<PathBuf, check::FileState>,
    cluster: &Cluster,
    what: &str,
) {
    let differences = snapshot_differences(before, &snapshot(cluster));
    assert!(
        differences.is_empty(),
        "{what} changed files:\n{}",
        differences.join("\n")
    );
}

async fn assert_no_database_created(cluster: &Cluster) {
    cluster.assert_nothing_created().await;
}

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn backup_of(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap().to_os_string();
    name.push(".eidb-orig");
    path.with_file_name(name)
}

// ---------------------------------------------------------------------------------------------------
// 1. The real WSO2 files of two nodes get a correct, consistent configuration from one command.
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn real_wso2_two_nodes_get_correct_consistent_files() {
    let cluster = real_cluster(2).with_driver_jar(CONNECTOR_J_8);
    cluster.eidb_ok(&["provision"]);

    let pkr = needs_public_key_retrieval(DRIVER_8);
    let shared_url = expected_url(&cluster.shared_registry, pkr);
    let um_url = expected_url(&cluster.user_store, pkr);
    let original_user_mgt = read_doc(&real_file(USER_MGT));
    let original_realm = original_user_mgt.root.one("Realm").one("Configuration");

    let pool = admin_pool().await;
    let mut seen = Vec::new();
    for node in 0..2 {
        let i = node + 1;
        let local_db = format!("{}{i}", cluster.local_prefix);
        assert!(
            check::database_exists(&pool, &local_db).await,
            "node {i}'s local registry {local_db} exists"
        );

        let ds = node_doc(&cluster, node, DATASOURCES);
        let local_url = expected_url(&local_db, pkr);
        assert_datasource(&ds, CARBON_JNDI, &local_url, &cluster.account, DRIVER_8);
        assert_eq!(datasource(&ds, CARBON_JNDI).value("name"), "WSO2_CARBON_DB");
        assert_datasource(&ds, REGISTRY_JNDI, &shared_url, &cluster.account, DRIVER_8);
        assert_datasource(&ds, UM_JNDI, &um_url, &cluster.account, DRIVER_8);
        let names: Vec<_> = ds
            .root
            .one("datasources")
            .all("datasource")
            .map(|d| d.value("name").to_string())
            .collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            unique.len(),
            names.len(),
            "datasource names are unique: {names:?}"
        );

        let um = node_doc(&cluster, node, USER_MGT);
        assert_eq!(realm_data_source(&um).text, UM_JNDI);
        let realm = um.root.one("Realm").one("Configuration");
        assert!(
            realm.one("AdminUser").same(original_realm.one("AdminUser")),
            "AdminUser untouched: {:#?}",
            realm.one("AdminUser")
        );
        assert_eq!(realm.one("AdminUser").value("UserName"), "admin");
        assert_eq!(realm.one("AdminUser").value("Password"), "admin");

        let registry = node_doc(&cluster, node, REGISTRY);
        // The cacheId must repeat the shared-registry datasource's URL as this very file set writes it.
        let written_shared_url = configuration(datasource(&ds, REGISTRY_JNDI))
            .value("url")
            .to_string();
        assert_registry(&registry, &cluster.account, &written_shared_url);

        seen.push((
            local_url,
            written_shared_url,
            configuration(datasource(&ds, UM_JNDI))
                .value("url")
                .to_string(),
            registry
                .root
                .one("remoteInstance")
                .value("cacheId")
                .to_string(),
        ));
    }
    let (n1, n2) = (&seen[0], &seen[1]);
    assert_ne!(n1.0, n2.0, "the nodes have different local registries");
    assert_eq!(n1.1, n2.1, "the nodes share the shared-registry URL");
    assert_eq!(n1.2, n2.2, "the nodes share the user-store URL");
    assert_eq!(n1.3, n2.3, "the nodes share the cacheId");
}

// ---------------------------------------------------------------------------------------------------
// 2. The diff of each real file touches only what eidb owns.
// ---------------------------------------------------------------------------------------------------

/// Tags of the values eidb owns; a line eidb removes must hold one of them.
const OWNED_TAGS: [&str; 22] = [
    "url",
    "username",
    "password",
    "driverClassName",
    "validationQuery",
    "testOnBorrow",
    "maxActive",
    "maxWait",
    "validationInterval",
    "name",
    "Property name=\"dataSource\"",
    "dataSource",
    "cacheId",
    "remoteInstance",
    "id",
    "dbConfig",
    "readOnly",
    "enableCache",
    "registryRoot",
    "mount",
    "instanceId",
    "targetPath",
];

/// The value tags of a datasource's configuration that eidb owns.
const OWNED_CONFIGURATION_TAGS: [&str; 9] = [
    "url",
    "username",
    "password",
    "driverClassName",
    "validationQuery",
    "testOnBorrow",
    "maxActive",
    "maxWait",
    "validationInterval",
];

fn is_owned_datasource(el: &Element) -> bool {
    el.name == "datasource"
        && el.all("jndiConfig").any(|j| {
            j.all("name")
                .any(|n| [CARBON_JNDI, REGISTRY_JNDI, UM_JNDI].contains(&n.text.as_str()))
        })
}

/// Byte ranges, in a file's original text, of the elements eidb owns there.
fn owned_spans(file: &str, doc: &Doc) -> Vec<(usize, usize)> {
    let root = &doc.root;
    match file {
        DATASOURCES => root
            .one("datasources")
            .all("datasource")
            .filter(|d| is_owned_datasource(d))
            .map(|d| d.span)
            .collect(),
        USER_MGT => vec![realm_data_source(doc).span],
        REGISTRY => root
            .children
            .iter()
            .filter(|c| {
                (c.name == "dbConfig" && c.attr("name") == Some("sharedregistry"))
                    || c.name == "remoteInstance"
                    || c.name == "mount"
            })
            .map(|c| c.span)
            .collect(),
        _ => unreachable!(),
    }
}

/// The tree without what eidb owns: new datasources, registry sharing elements, the realm's dataSource
/// property, and the owned values of WSO2_CARBON_DB. What remains must be equal before and after.
fn without_owned(file: &str, doc: &Doc) -> Element {
    let drop = |el: &Element, parent: &Element| -> bool {
        match file {
            DATASOURCES => {
                (is_owned_datasource(el)
                    && !el
                        .all("jndiConfig")
                        .any(|j| j.all("name").any(|n| n.text == CARBON_JNDI)))
                    || (parent.name == "configuration"
                        && OWNED_CONFIGURATION_TAGS.contains(&el.name.as_str()))
            }
            USER_MGT => {
                parent.name == "Configuration"
                    && el.name == "Property"
                    && el.attr("name") == Some("dataSource")
            }
            REGISTRY => {
                parent.name == "wso2registry"
                    && ((el.name == "dbConfig" && el.attr("name") == Some("sharedregistry"))
                        || el.name == "remoteInstance"
                        || el.name == "mount")
            }
            _ => unreachable!(),
        }
    };
    doc.root.pruned(&drop)
}

/// The longest common subsequence of two line lists, as the indexes of `a`'s lines that are kept.
fn kept_lines(a: &[&str], b: &[&str]) -> Vec<bool> {
    let (n, m) = (a.len(), b.len());
    let mut table = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            table[i][j] = if a[i] == b[j] {
                table[i + 1][j + 1] + 1
            } else {
                table[i + 1][j].max(table[i][j + 1])
            };
        }
    }
    let mut kept = vec![false; n];
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if a[i] == b[j] {
            kept[i] = true;
            i += 1;
            j += 1;
        } else if table[i + 1][j] >= table[i][j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    kept
}

/// The edit of `file` from `original` to `written` changed only what eidb owns: every line it removed
/// holds an owned tag inside an owned element of the original, every other line is still there in order
/// (a longest common subsequence); without the owned elements both trees are the same; comments, the
/// XML declaration and the final newline are unchanged.
fn assert_only_owned_changes(file: &str, original: &str, written: &str, what: &str) {
    let before = parse(original, &format!("original of {what}"));
    let after = parse(written, what);
    let spans = owned_spans(file, &before);

    let old_lines: Vec<&str> = original.split('\n').collect();
    let new_lines: Vec<&str> = written.split('\n').collect();
    let kept = kept_lines(&old_lines, &new_lines);
    let mut offset = 0;
    for (line, (text, kept)) in old_lines.iter().zip(&kept).enumerate() {
        let (start, end) = (offset, offset + text.len());
        offset = end + 1;
        if *kept {
            continue;
        }
        let has_owned_tag = OWNED_TAGS
            .iter()
            .any(|t| text.contains(&format!("<{t}>")) || text.contains(&format!("<{t} ")));
        let in_owned_element = spans.iter().any(|&(s, e)| start < e && s < end);
        assert!(
            has_owned_tag && in_owned_element,
            "{what}: eidb removed or changed line {} of the original, which it does not own:\n{text:?}",
            line + 1
        );
    }

    assert!(
        without_owned(file, &before).same(&without_owned(file, &after)),
        "{what}: elements eidb does not own changed"
    );
    assert_eq!(after.comments, before.comments, "{what}: comments");
    assert_eq!(after.decl, before.decl, "{what}: XML declaration");
    if let Some(decl) = &before.decl {
        assert!(
            written.starts_with(decl.as_str()),
            "{what}: the declaration stays first, as written"
        );
    }
    assert_eq!(
        written.ends_with('\n'),
        original.ends_with('\n'),
        "{what}: final newline"
    );
}

#[tokio::test]
async fn real_wso2_diff_touches_only_owned_elements() {
    let cluster = real_cluster(2).with_driver_jar(CONNECTOR_J_8);
    cluster.eidb_ok(&["provision"]);

    for file in FILES {
        let original = decode(&std::fs::read(real_file(file)).unwrap());
        for node in 0..2 {
            let path = cluster.node_file(node, file);
            let written = decode(&std::fs::read(&path).unwrap());
            assert_ne!(written, original, "{} was not edited", path.display());
            assert_only_owned_changes(file, &original, &written, &path.display().to_string());
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// 3. A second run changes nothing, and verify agrees.
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn second_run_reports_no_changes_and_verify_passes() {
    let cluster = real_cluster(2).with_driver_jar(CONNECTOR_J_8);
    let (code, first) = cluster.eidb_json(&["provision"]);
    assert_eq!(code, 0, "{first:#}");
    assert_eq!(first["status"], "changed", "{first:#}");
    let edits = first["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["change"] == "edit_file")
        .count();
    assert_eq!(edits, 6, "three files on each of two nodes: {first:#}");

    let after_first = snapshot(&cluster);
    let (code, second) = cluster.eidb_json(&["provision"]);
    assert_eq!(code, 0, "{second:#}");
    assert_eq!(second["status"], "unchanged", "{second:#}");
    let changes = second
        .get("changes")
        .and_then(|c| c.as_array())
        .map_or(0, Vec::len);
    assert_eq!(changes, 0, "a second run has no changes: {second:#}");
    assert_nothing_changed(&after_first, &cluster, "the second provision");

    let output = cluster.eidb(&["verify"]);
    let (stdout, stderr) = outputs(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "verify after provision:\n{stdout}\n{stderr}"
    );
    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["status"], "in_sync", "{report:#}");
    assert_eq!(
        report["findings"].as_array().map_or(0, Vec::len),
        0,
        "{report:#}"
    );
    assert_nothing_changed(&after_first, &cluster, "verify");
}

// ---------------------------------------------------------------------------------------------------
// 4. A CRLF file stays CRLF, with its ISO-8859-1 declaration.
// ---------------------------------------------------------------------------------------------------

/// Every line ends with CRLF: no bare LF, no bare CR.
fn assert_crlf_only(bytes: &[u8], what: &str) {
    for (at, &byte) in bytes.iter().enumerate() {
        if byte == b'\n' {
            assert!(
                at > 0 && bytes[at - 1] == b'\r',
                "{what}: bare LF at byte {at}:\n{}",
                decode(bytes).replace('\r', "\\r")
            );
        }
        if byte == b'\r' {
            assert_eq!(
                bytes.get(at + 1),
                Some(&b'\n'),
                "{what}: bare CR at byte {at}"
            );
        }
    }
}

#[tokio::test]
async fn crlf_registry_stays_crlf_with_its_declaration() {
    let cluster = Cluster::new(1, Conf::Fixture);
    let original =
        std::fs::read(common::cluster::fixture_path("ei-home/conf/registry.xml")).unwrap();
    let declaration = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\r\n";
    assert!(
        original.starts_with(declaration),
        "the fixture starts with a CRLF ISO-8859-1 declaration"
    );
    assert!(
        original.windows(2).filter(|w| w == b"\r\n").count() > 10,
        "the fixture is CRLF"
    );
    assert_crlf_only(&original, "the fixture registry.xml");

    cluster.eidb_ok(&["provision"]);
    let path = cluster.node_file(0, REGISTRY);
    let written = std::fs::read(&path).unwrap();
    assert_ne!(written, original, "registry.xml was edited");
    assert!(
        written.starts_with(declaration),
        "declaration unchanged:\n{}",
        decode(&written[..80.min(written.len())])
    );
    assert_crlf_only(&written, "registry.xml after provision");
    assert_only_owned_changes(
        REGISTRY,
        &decode(&original),
        &decode(&written),
        "CRLF registry.xml",
    );
    // What eidb added is there (the test is not passing on an unedited file).
    let shared_url = expected_url(&cluster.shared_registry, false);
    assert_registry(
        &parse(&decode(&written), "registry.xml"),
        &cluster.account,
        &shared_url,
    );
    // The LF files stay LF.
    for file in [DATASOURCES, USER_MGT] {
        let bytes = std::fs::read(cluster.node_file(0, file)).unwrap();
        assert!(!bytes.contains(&b'\r'), "{file} was LF and must stay LF");
    }

    // A hand edit (with the editor's CRLF) is put back, still CRLF and byte for byte as before.
    let text = decode(&written);
    let cache_id = format!(
        "<cacheId>{}@{}</cacheId>",
        cluster.account,
        shared_url.replace('&', "&amp;")
    );
    assert_eq!(text.matches(&cache_id).count(), 1, "{text}");
    let drifted = text.replacen(
        &cache_id,
        "<cacheId>someone@jdbc:mysql://10.0.0.9:3306/REGISTRY_DB</cacheId>",
        1,
    );
    std::fs::write(&path, drifted.as_bytes()).unwrap();
    cluster.eidb_ok(&["provision", "--files-only"]);
    let repaired = std::fs::read(&path).unwrap();
    assert_crlf_only(&repaired, "registry.xml after a drift repair");
    assert_eq!(
        decode(&repaired),
        text,
        "the repaired registry.xml equals the first run's, byte for byte"
    );
}

// ---------------------------------------------------------------------------------------------------
// 5. Drift is put back, and only the drifted files are rewritten.
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn drifted_url_and_cache_id_are_put_back_touching_only_those_files() {
    let cluster = real_cluster(2).with_driver_jar(CONNECTOR_J_5);
    cluster.eidb_ok(&["provision"]);
    let good = snapshot(&cluster);

    let host = server().host.clone();
    let other_host = if host == "127.0.0.1" {
        "localhost".to_string()
    } else {
        "127.0.0.1".to_string()
    };
    let shared_url = expected_url(&cluster.shared_registry, false);
    let drifted_url = shared_url.replacen(&format!("//{host}:"), &format!("//{other_host}:"), 1);
    assert_ne!(drifted_url, shared_url);
    let escaped = |s: &str| s.replace('&', "&amp;");
    let registry = cluster.node_file(1, REGISTRY);
    let datasources = cluster.node_file(1, DATASOURCES);

    // Round 1: only the cacheId of node 2 drifts (a host instead of an IP); only that file is rewritten.
    let text = std::fs::read_to_string(&registry).unwrap();
    let cache_id = format!(
        "<cacheId>{}@{}</cacheId>",
        cluster.account,
        escaped(&shared_url)
    );
    assert_eq!(
        text.matches(&cache_id).count(),
        1,
        "the written cacheId:\n{text}"
    );
    std::fs::write(
        &registry,
        text.replace(
            &cache_id,
            &format!(
                "<cacheId>{}@{}</cacheId>",
                cluster.account,
                escaped(&drifted_url)
            ),
        ),
    )
    .unwrap();
    let drifted = snapshot(&cluster);

    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 1, "verify sees the drift: {report:#}");
    assert_eq!(report["status"], "drift", "{report:#}");

    cluster.eidb_ok(&["provision"]);
    let repaired = snapshot(&cluster);
    let changed = snapshot_differences(&drifted, &repaired);
    assert_eq!(
        changed,
        vec![format!("content changed: {}", registry.display())],
        "only node 2's registry.xml is rewritten"
    );
    assert_eq!(
        repaired[&registry].bytes, good[&registry].bytes,
        "registry.xml is back, byte for byte"
    );

    // Round 2: node 2's shared-registry URL and cacheId both drift; both files are put back, nothing else moves.
    let ds_text = std::fs::read_to_string(&datasources).unwrap();
    let url_element = format!("<url>{}</url>", escaped(&shared_url));
    assert_eq!(ds_text.matches(&url_element).count(), 1, "{ds_text}");
    std::fs::write(
        &datasources,
        ds_text.replace(
            &url_element,
            &format!("<url>{}</url>", escaped(&drifted_url)),
        ),
    )
    .unwrap();
    let text = std::fs::read_to_string(&registry).unwrap();
    std::fs::write(
        &registry,
        text.replace(
            &cache_id,
            &format!(
                "<cacheId>{}@{}</cacheId>",
                cluster.account,
                escaped(&drifted_url)
            ),
        ),
    )
    .unwrap();
    let drifted = snapshot(&cluster);

    cluster.eidb_ok(&["provision"]);
    let repaired = snapshot(&cluster);
    let mut changed = snapshot_differences(&drifted, &repaired);
    changed.sort();
    let mut expected = vec![
        format!("content changed: {}", datasources.display()),
        format!("content changed: {}", registry.display()),
    ];
    expected.sort();
    assert_eq!(
        changed, expected,
        "only node 2's master-datasources.xml and registry.xml are rewritten"
    );
    for path in [&datasources, &registry] {
        assert_eq!(
            repaired[path].bytes,
            good[path].bytes,
            "{} is back, byte for byte",
            path.display()
        );
    }
    let ds = read_doc(&datasources);
    assert_eq!(
        configuration(datasource(&ds, REGISTRY_JNDI)).value("url"),
        shared_url
    );
    assert_registry(&read_doc(&registry), &cluster.account, &shared_url);
}

// ---------------------------------------------------------------------------------------------------
// 6. The driver class follows the Connector/J jar in <ei_home>/lib.
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn driver_class_follows_the_connector_jar() {
    for (jar, driver) in [(CONNECTOR_J_8, DRIVER_8), (CONNECTOR_J_5, DRIVER_5)] {
        let cluster = Cluster::new(1, Conf::Fixture).with_driver_jar(jar);
        let (code, report) = cluster.eidb_json(&["provision"]);
        assert_eq!(code, 0, "{jar}: {report:#}");
        let ds = node_doc(&cluster, 0, DATASOURCES);
        let pkr = needs_public_key_retrieval(driver);
        for (jndi, db) in [
            (CARBON_JNDI, format!("{}1", cluster.local_prefix)),
            (REGISTRY_JNDI, cluster.shared_registry.clone()),
            (UM_JNDI, cluster.user_store.clone()),
        ] {
            assert_datasource(&ds, jndi, &expected_url(&db, pkr), &cluster.account, driver);
        }
        let lib = cluster.nodes[0].join("lib").display().to_string();
        let warned = report["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.to_string().contains(&lib));
        assert!(
            !warned,
            "{jar} is in lib/, so no missing-driver warning: {report:#}"
        );
    }
}

#[tokio::test]
async fn no_driver_jar_is_a_warning_naming_the_lib_folder() {
    // JSON output: a warning per node naming its <ei_home>/lib.
    let cluster = Cluster::new(2, Conf::Fixture);
    let (code, report) = cluster.eidb_json(&["provision"]);
    assert_eq!(code, 0, "no jar is not a failure: {report:#}");
    let warnings: Vec<String> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.to_string())
        .collect();
    for home in &cluster.nodes {
        let lib = home.join("lib").display().to_string();
        assert!(
            warnings.iter().any(|w| w.contains(&lib)),
            "a warning names {lib}: {warnings:#?}"
        );
    }
    // The files are written all the same, with one of the two driver classes throughout.
    let ds = node_doc(&cluster, 0, DATASOURCES);
    let drivers: Vec<_> = [CARBON_JNDI, REGISTRY_JNDI, UM_JNDI]
        .iter()
        .map(|j| {
            configuration(datasource(&ds, j))
                .value("driverClassName")
                .to_string()
        })
        .collect();
    assert!(
        drivers
            .iter()
            .all(|d| d == &drivers[0] && [DRIVER_5, DRIVER_8].contains(&d.as_str())),
        "{drivers:?}"
    );

    // Human output: the same warning, on stdout or stderr.
    let cluster = Cluster::new(1, Conf::Fixture);
    let output = cluster.eidb(&["provision"]);
    let (stdout, stderr) = outputs(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let lib = cluster.nodes[0].join("lib").display().to_string();
    assert!(
        stdout.contains(&lib) || stderr.contains(&lib),
        "the human output names {lib}:\n{stdout}\n{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------------
// 7. The local registries may stay on the embedded H2.
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn h2_local_registry_creates_no_local_database_and_keeps_carbon_db() {
    let cluster = real_cluster(2)
        .with_driver_jar(CONNECTOR_J_5)
        .with_databases("local_registry = \"h2\"");
    cluster.eidb_ok(&["provision"]);

    let pool = admin_pool().await;
    for i in 1..=2 {
        let local = format!("{}{i}", cluster.local_prefix);
        assert!(
            !check::database_exists(&pool, &local).await,
            "{local} must not be created with local_registry = h2"
        );
    }
    for db in [&cluster.user_store, &cluster.shared_registry] {
        assert!(check::database_exists(&pool, db).await, "{db} is created");
    }
    let granted = check::granted_databases(&pool, &cluster.account, "%").await;
    let expected: std::collections::BTreeSet<String> =
        [cluster.user_store.clone(), cluster.shared_registry.clone()].into();
    assert_eq!(
        granted, expected,
        "the account is granted the two shared databases only"
    );

    let original = read_doc(&real_file(DATASOURCES));
    let original_carbon = datasource(&original, CARBON_JNDI);
    let shared_url = expected_url(&cluster.shared_registry, false);
    for node in 0..2 {
        let ds = node_doc(&cluster, node, DATASOURCES);
        let carbon = datasource(&ds, CARBON_JNDI);
        assert!(
            carbon.same(original_carbon),
            "WSO2_CARBON_DB is left as it is:\n{carbon:#?}"
        );
        assert!(
            configuration(carbon).value("url").starts_with("jdbc:h2:"),
            "{carbon:#?}"
        );
        assert_datasource(&ds, REGISTRY_JNDI, &shared_url, &cluster.account, DRIVER_5);
        assert_datasource(
            &ds,
            UM_JNDI,
            &expected_url(&cluster.user_store, false),
            &cluster.account,
            DRIVER_5,
        );
        assert_eq!(
            realm_data_source(&node_doc(&cluster, node, USER_MGT)).text,
            UM_JNDI
        );
        assert_registry(
            &node_doc(&cluster, node, REGISTRY),
            &cluster.account,
            &shared_url,
        );
    }
}

// ---------------------------------------------------------------------------------------------------
// 8. --db-only and --files-only.
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn db_only_touches_no_file() {
    let cluster = real_cluster(2);
    let before = snapshot(&cluster);
    cluster.eidb_ok(&["provision", "--db-only"]);
    assert_nothing_changed(&before, &cluster, "provision --db-only");
    let pool = admin_pool().await;
    for db in cluster.databases() {
        assert!(
            check::database_exists(&pool, &db).await,
            "--db-only creates {db}"
        );
    }
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn files_only_creates_no_database_and_needs_no_server() {
    let cluster = real_cluster(2).with_driver_jar(CONNECTOR_J_5);
    let server = server();
    let port = closed_port();
    let url_line = format!(
        "url = \"mysql://{}@{}:{}\"",
        server.admin_user, server.host, server.port
    );
    let spec = cluster.spec_text();
    assert!(spec.contains(&url_line), "{spec}");
    // Nor the admin's password: it names a variable that is not set (and there is no prompt to answer).
    let spec: String = spec
        .lines()
        .filter(|l| !l.starts_with("password_env = \"EIDB_IT_ADMIN_PASSWORD\""))
        .map(|l| format!("{l}\n"))
        .collect();
    let spec = spec.replace(
        &url_line,
        &format!("url = \"mysql://{}@127.0.0.1:{port}\"\npassword_env = \"EIDB_IT_NEVER_SET\"\njdbc_host = \"carbondb.mysql-wso2.com\"\njdbc_port = 3306", server.admin_user),
    );
    std::fs::write(&cluster.spec_path, spec).unwrap();

    let output = cluster.eidb(&["provision", "--files-only"]);
    let (stdout, stderr) = outputs(&output);
    assert!(
        output.status.success(),
        "--files-only needs no server (its url points at closed port {port}) and no admin password:\n{stdout}\n{stderr}"
    );
    // The same spec needs the admin's password as soon as the server is in the run.
    let output = cluster.eidb(&["provision", "--db-only", "--dry-run"]);
    let (stdout, stderr) = outputs(&output);
    assert_eq!(output.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("EIDB_IT_NEVER_SET") || stdout.contains("EIDB_IT_NEVER_SET"),
        "{stdout}\n{stderr}"
    );

    let url = |db: &str| {
        format!("jdbc:mysql://carbondb.mysql-wso2.com:3306/{db}?autoReconnect=true&useSSL=false")
    };
    for node in 0..2 {
        let ds = node_doc(&cluster, node, DATASOURCES);
        assert_datasource(
            &ds,
            CARBON_JNDI,
            &url(&format!("{}{}", cluster.local_prefix, node + 1)),
            &cluster.account,
            DRIVER_5,
        );
        assert_datasource(
            &ds,
            REGISTRY_JNDI,
            &url(&cluster.shared_registry),
            &cluster.account,
            DRIVER_5,
        );
        assert_datasource(
            &ds,
            UM_JNDI,
            &url(&cluster.user_store),
            &cluster.account,
            DRIVER_5,
        );
        assert_registry(
            &node_doc(&cluster, node, REGISTRY),
            &cluster.account,
            &url(&cluster.shared_registry),
        );
    }
    assert_no_database_created(&cluster).await;
}

// ---------------------------------------------------------------------------------------------------
// 9. A failure found on any node changes nothing anywhere.
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn malformed_xml_on_node_2_changes_nothing_and_names_file_and_line() {
    let cluster = real_cluster(2).with_driver_jar(CONNECTOR_J_5);
    let registry = cluster.node_file(1, REGISTRY);
    let text = std::fs::read_to_string(&registry).unwrap();
    let good = "<registryRoot>/</registryRoot>";
    // The first one is the live element near the top (the others are in comments further down).
    let at = text.find(good).unwrap();
    assert!(at < text.find("<dbConfig name=\"wso2registry\">").unwrap());
    let line = text[..at].matches('\n').count() + 1;
    std::fs::write(
        &registry,
        text.replacen(good, "<registryRoot>/</registryRot>", 1),
    )
    .unwrap();
    let before = snapshot(&cluster);

    let output = cluster.eidb(&["provision"]);
    let (stdout, stderr) = outputs(&output);
    assert_eq!(
        output.status.code(),
        Some(2),
        "malformed XML is bad input:\n{stdout}\n{stderr}"
    );
    let file = registry.display().to_string();
    assert!(stderr.contains(&file), "stderr names {file}:\n{stderr}");
    assert!(
        stderr.contains(&format!("{file}:{line}")) || stderr.contains(&format!("line {line}")),
        "stderr names line {line}:\n{stderr}"
    );
    assert_nothing_changed(&before, &cluster, "a run that found malformed XML");
    assert_no_database_created(&cluster).await;
}

#[tokio::test]
async fn missing_ei_home_changes_nothing_and_names_the_node() {
    let cluster = real_cluster(2).with_driver_jar(CONNECTOR_J_5);
    std::fs::remove_dir_all(&cluster.nodes[1]).unwrap();
    let before = snapshot(&cluster);

    let output = cluster.eidb(&["provision"]);
    let (stdout, stderr) = outputs(&output);
    assert_eq!(
        output.status.code(),
        Some(2),
        "a missing EI_HOME is bad input:\n{stdout}\n{stderr}"
    );
    assert!(stderr.contains("node2"), "stderr names the node:\n{stderr}");
    assert!(
        stderr.contains(&cluster.nodes[1].display().to_string()),
        "stderr names the missing folder:\n{stderr}"
    );
    assert_nothing_changed(&before, &cluster, "a run with a missing EI_HOME");
    assert_no_database_created(&cluster).await;
}

#[tokio::test]
async fn read_only_file_on_node_2_changes_nothing() {
    let cluster = real_cluster(2).with_driver_jar(CONNECTOR_J_5);
    let read_only = cluster.node_file(1, DATASOURCES);
    set_mode(&read_only, 0o444);
    let before = snapshot(&cluster);

    let output = cluster.eidb(&["provision"]);
    let (stdout, stderr) = outputs(&output);
    assert_eq!(
        output.status.code(),
        Some(2),
        "a read-only file is bad input:\n{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains(&read_only.display().to_string()),
        "stderr names the file:\n{stderr}"
    );
    assert_nothing_changed(&before, &cluster, "a run that found a read-only file");
    assert_eq!(mode_of(&read_only), 0o444);
    assert_no_database_created(&cluster).await;
}

#[tokio::test]
async fn missing_file_on_node_2_changes_nothing_and_names_it() {
    let cluster = real_cluster(2).with_driver_jar(CONNECTOR_J_5);
    let missing = cluster.node_file(1, USER_MGT);
    std::fs::remove_file(&missing).unwrap();
    let before = snapshot(&cluster);

    let output = cluster.eidb(&["provision"]);
    let (stdout, stderr) = outputs(&output);
    assert_eq!(
        output.status.code(),
        Some(2),
        "a missing file is bad input:\n{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains(&missing.display().to_string()),
        "stderr names the file:\n{stderr}"
    );
    assert_nothing_changed(&before, &cluster, "a run that found a missing file");
    assert_no_database_created(&cluster).await;
}

// ---------------------------------------------------------------------------------------------------
// 10. --dry-run shows masked diffs and changes nothing.
// ---------------------------------------------------------------------------------------------------

/// Every diff line (context, added or removed, with the output's indentation trimmed) holding a
/// `<password>` element, and whether its value is masked (`****` or longer, nothing but `*`).
fn password_lines(diff: &str) -> Vec<(String, bool)> {
    diff.lines()
        .map(str::trim_start)
        .filter(|l| l.contains("<password>"))
        .map(|l| {
            let value = l
                .split("<password>")
                .nth(1)
                .and_then(|rest| rest.split("</password>").next())
                .unwrap_or("");
            (
                l.to_string(),
                value.len() >= 4 && value.chars().all(|c| c == '*'),
            )
        })
        .collect()
}

#[tokio::test]
async fn dry_run_prints_masked_diffs_and_changes_nothing() {
    let cluster = real_cluster(2).with_driver_jar(CONNECTOR_J_5);
    let before = snapshot(&cluster);
    let escaped_password = ACCOUNT_PASSWORD
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");

    let output = cluster.eidb(&["provision", "--dry-run", "-vvv"]);
    let (stdout, stderr) = outputs(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    for file in FILES {
        assert_eq!(
            stdout.matches(&format!("--- a/{file}")).count(),
            2,
            "one diff of {file} per node:\n{stdout}"
        );
        assert_eq!(
            stdout.matches(&format!("+++ b/{file}")).count(),
            2,
            "one diff of {file} per node:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("+                    <url>jdbc:mysql://"),
        "the diff shows the new URLs:\n{stdout}"
    );
    let passwords = password_lines(&stdout);
    // Each node gets two new datasources, each with a password.
    assert_eq!(
        passwords.iter().filter(|(l, _)| l.starts_with('+')).count(),
        4,
        "{passwords:#?}\n{stdout}"
    );
    let unmasked: Vec<_> = passwords.iter().filter(|(_, masked)| !masked).collect();
    assert!(
        unmasked.is_empty(),
        "every password in the diffs is masked: {unmasked:#?}"
    );
    for output_text in [&stdout, &stderr] {
        assert!(
            !output_text.contains(ACCOUNT_PASSWORD),
            "password leaked:\n{output_text}"
        );
        assert!(
            !output_text.contains(&escaped_password),
            "XML-escaped password leaked:\n{output_text}"
        );
    }
    assert_nothing_changed(&before, &cluster, "provision --dry-run");

    let output = cluster.eidb(&["provision", "--dry-run", "--output", "json"]);
    let (stdout, stderr) = outputs(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        !stdout.contains(ACCOUNT_PASSWORD) && !stdout.contains(&escaped_password),
        "password leaked:\n{stdout}"
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["status"], "planned");
    let diffs: Vec<&str> = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["change"] == "edit_file")
        .map(|c| c["diff"].as_str().unwrap())
        .collect();
    assert_eq!(diffs.len(), 6, "{report:#}");
    for diff in diffs {
        assert!(
            password_lines(diff).iter().all(|(_, masked)| *masked),
            "{diff}"
        );
    }
    assert_nothing_changed(&before, &cluster, "provision --dry-run --output json");
    assert_no_database_created(&cluster).await;
}

// ---------------------------------------------------------------------------------------------------
// 11. One-time backup of the original; permissions kept.
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn backup_keeps_the_original_and_permissions_are_kept() {
    let cluster = real_cluster(1).with_driver_jar(CONNECTOR_J_5);
    cluster.set_conf_mode(0o640);
    let originals: Vec<(PathBuf, Vec<u8>)> = FILES
        .iter()
        .map(|f| cluster.node_file(0, f))
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect();
    let files_before: Vec<(PathBuf, Vec<String>)> = [
        cluster.nodes[0].join("conf"),
        cluster.nodes[0].join("conf/datasources"),
    ]
    .into_iter()
    .map(|dir| {
        let names = regular_files(&dir);
        (dir, names)
    })
    .collect();

    cluster.eidb_ok(&["provision"]);
    for (path, original) in &originals {
        let backup = backup_of(path);
        assert_eq!(
            &std::fs::read(&backup).unwrap_or_else(|e| panic!("{}: {e}", backup.display())),
            original,
            "{}",
            backup.display()
        );
        assert_ne!(
            &std::fs::read(path).unwrap(),
            original,
            "{} was edited",
            path.display()
        );
        assert_eq!(mode_of(path), 0o640, "{} keeps its mode", path.display());
        assert_eq!(
            mode_of(&backup) & !0o640,
            0,
            "{} is no more readable than the file it backs up",
            backup.display()
        );
    }

    // Drift in registry.xml, repaired: the backup still holds the original, not the drifted content.
    let registry = cluster.node_file(0, REGISTRY);
    let text = std::fs::read_to_string(&registry).unwrap();
    let drifted = text.replace(
        "<targetPath>/_system/eiconfig</targetPath>",
        "<targetPath>/_system/nodes</targetPath>",
    );
    assert_ne!(drifted, text);
    std::fs::write(&registry, &drifted).unwrap();
    assert_eq!(mode_of(&registry), 0o640);

    cluster.eidb_ok(&["provision"]);
    assert_eq!(
        std::fs::read_to_string(&registry).unwrap(),
        text,
        "the drift is repaired"
    );
    for (path, original) in &originals {
        assert_eq!(
            &std::fs::read(backup_of(path)).unwrap(),
            original,
            "{} still holds the original",
            backup_of(path).display()
        );
        assert_eq!(mode_of(path), 0o640, "{} keeps its mode", path.display());
    }
    // No stray temp files or second backups: each folder holds what it held before the first run (the
    // release's other files, whichever they are) plus one backup of each file eidb edited there.
    for (dir, before) in &files_before {
        let mut expected = before.clone();
        for file in FILES {
            let path = cluster.node_file(0, file);
            if path.parent() == Some(dir.as_path()) {
                expected.push(format!(
                    "{}.eidb-orig",
                    path.file_name().unwrap().to_string_lossy()
                ));
            }
        }
        expected.sort();
        assert_eq!(&regular_files(dir), &expected, "files in {}", dir.display());
    }
}

/// The names of the regular files in `dir`, sorted.
fn regular_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

// ---------------------------------------------------------------------------------------------------
// 12. Removed elements: verify names each one, provision puts each one back.
// ---------------------------------------------------------------------------------------------------

/// `text` without the given elements, each taken out with its whole line(s) (indentation and newline).
fn without_elements(text: &str, spans: &[(usize, usize)]) -> String {
    let mut out = text.to_string();
    let mut spans = spans.to_vec();
    spans.sort();
    for &(start, end) in spans.iter().rev() {
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
        assert!(text[line_start..start].trim().is_empty() && text[end..line_end].trim().is_empty());
        out.replace_range(line_start..line_end, "");
    }
    out
}

#[tokio::test]
async fn removed_datasources_and_mounts_are_each_reported_and_put_back() {
    let cluster = Cluster::new(1, Conf::Fixture).with_driver_jar(CONNECTOR_J_5);
    cluster.eidb_ok(&["provision"]);
    let datasources_path = cluster.node_file(0, DATASOURCES);
    let registry_path = cluster.node_file(0, REGISTRY);
    let good_datasources = std::fs::read(&datasources_path).unwrap();
    let good_registry = std::fs::read(&registry_path).unwrap();

    // Take out both datasources eidb added, and both mounts.
    let ds = parse(&decode(&good_datasources), "master-datasources.xml");
    let spans: Vec<_> = [REGISTRY_JNDI, UM_JNDI]
        .iter()
        .map(|j| datasource(&ds, j).span)
        .collect();
    std::fs::write(&datasources_path, without_elements(&ds.text, &spans)).unwrap();
    let registry = parse(&decode(&good_registry), "registry.xml");
    let spans: Vec<_> = registry.root.all("mount").map(|m| m.span).collect();
    assert_eq!(spans.len(), 2);
    std::fs::write(&registry_path, without_elements(&registry.text, &spans)).unwrap();

    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 1, "{report:#}");
    let findings: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["subject"] == "node node1")
        .collect();
    let reported = |check: &str, name: &str| {
        findings
            .iter()
            .any(|f| f["check"] == check && f["expected"].as_str().unwrap_or("").contains(name))
    };
    let mut missing = Vec::new();
    for jndi in [REGISTRY_JNDI, UM_JNDI] {
        if !reported("datasource_missing", jndi) {
            missing.push(format!("datasource_missing for {jndi}"));
        }
    }
    for path in ["/_system/config", "/_system/governance"] {
        if !reported("mount", path) {
            missing.push(format!("mount for {path}"));
        }
    }
    assert!(missing.is_empty(), "verify must report every removed element; not reported: {missing:?}\nfindings: {findings:#?}");

    cluster.eidb_ok(&["provision"]);
    assert_eq!(
        std::fs::read(&datasources_path).unwrap(),
        good_datasources,
        "both datasources are back, byte for byte"
    );
    assert_eq!(
        std::fs::read(&registry_path).unwrap(),
        good_registry,
        "both mounts are back, byte for byte"
    );
    let (code, report) = cluster.eidb_json(&["verify"]);
    assert_eq!(code, 0, "{report:#}");
}

// ---------------------------------------------------------------------------------------------------
// 13. What else a rewrite must keep: a UTF-8 byte order mark, the file's owner and group.
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn utf8_byte_order_mark_is_kept() {
    const BOM: &[u8] = b"\xef\xbb\xbf";
    let cluster = Cluster::new(1, Conf::Fixture).with_driver_jar(CONNECTOR_J_5);
    let path = cluster.node_file(0, DATASOURCES);
    let without_bom = std::fs::read(&path).unwrap();
    // As a Windows editor saves it.
    std::fs::write(&path, [BOM, &without_bom].concat()).unwrap();

    cluster.eidb_ok(&["provision"]);
    let written = std::fs::read(&path).unwrap();
    assert!(
        written.starts_with(BOM),
        "the byte order mark is part of the bytes eidb does not own; the file now starts with {:?}",
        decode(&written[..40.min(written.len())])
    );
    let body = written.strip_prefix(BOM).unwrap();
    assert_only_owned_changes(
        DATASOURCES,
        &decode(&without_bom),
        &decode(body),
        "master-datasources.xml with a BOM",
    );
    assert_datasource(
        &parse(&decode(body), "master-datasources.xml"),
        UM_JNDI,
        &expected_url(&cluster.user_store, false),
        &cluster.account,
        DRIVER_5,
    );
}

#[tokio::test]
#[ignore = "root group: needs root; run as root: cargo test --locked -- --ignored (README, Tests)"]
async fn rewritten_files_keep_their_owner_and_group() {
    common::require_root("giving the node files to another account (chown)");
    use std::os::unix::fs::MetadataExt;
    // An EI installation is owned by its service account; eidb is often run with sudo. Files left
    // root-owned with mode 0640 cannot be read by the node any more.
    let (uid, gid) = (4242, 4343);
    let cluster = Cluster::new(1, Conf::Fixture).with_driver_jar(CONNECTOR_J_5);
    cluster.set_conf_mode(0o640);
    for file in FILES {
        let path = cluster.node_file(0, file);
        // Only root can give a file away: a missing prerequisite is a failure that says how to get it.
        std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap_or_else(|e| {
            panic!(
                "chown {}: {e}: this test sets up files owned by another account, which needs root; \
                 run the suite as root (CI does), e.g. `sudo -E cargo test --locked`",
                path.display()
            )
        });
    }

    cluster.eidb_ok(&["provision"]);
    for file in FILES {
        let path = cluster.node_file(0, file);
        let meta = std::fs::metadata(&path).unwrap();
        assert!(
            std::fs::read_to_string(&path).unwrap()
                != std::fs::read_to_string(backup_of(&path)).unwrap(),
            "{} was rewritten",
            path.display()
        );
        assert_eq!(
            (
                meta.uid(),
                meta.gid(),
                format!("{:o}", meta.mode() & 0o7777)
            ),
            (uid, gid, "640".to_string()),
            "{} keeps its owner, group and mode",
            path.display()
        );
    }
}
