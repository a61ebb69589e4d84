//! `conf/datasources/master-datasources.xml`: the JDBC datasources of a node.

use crate::core::check::Check;
use secrecy::{ExposeSecret, SecretString};

use super::model::{ActualDatasource, ActualPool};
use super::xml::{Attribute, Changed, ConfError, Document, Editor, Element, NewElement};
use super::Edited;
use crate::core::drift::Difference;
use crate::core::node_files::{bool_text, Datasource};

const ROOT: &str = "datasources-configuration";
const SECURE_VAULT_NAMESPACE: &str = "http://org.wso2.securevault/configuration";
const SECURE_VAULT_PREFIX: &str = "svns";
const PASSWORD: &str = "password";

/// Makes each desired datasource present with the desired values, matched by `<name>`, else by
/// its JNDI name. Only the owned values change (name, JNDI name, URL, credentials, driver and
/// pool settings); everything else in the file, other datasources included, stays as it was.
pub fn edit_master_datasources(
    original: &str,
    desired: &[Datasource],
) -> Result<Edited, ConfError> {
    let doc = Document::parse(original)?;
    let root = doc.expect_root(ROOT)?;
    let list = doc.required_child(root, "datasources")?;
    let existing: Vec<&Element> = list.children_named("datasource").collect();
    let matches = match_existing(&doc, &existing, desired)?;
    let mut editor = Editor::new(&doc);
    let alias_prefix = if desired
        .iter()
        .any(|datasource| datasource.secret_alias.is_some())
    {
        secure_vault_prefix(&doc, root, &mut editor)?
    } else {
        SECURE_VAULT_PREFIX.to_owned()
    };
    let mut differences = Vec::new();
    for (datasource, found) in desired.iter().zip(matches) {
        match found {
            Some(element) => update(
                &doc,
                &mut editor,
                element,
                datasource,
                &alias_prefix,
                &mut differences,
            )?,
            None => {
                differences.push(
                    Difference::new(
                        Check::DatasourceMissing,
                        None,
                        format!("datasource {} ({})", datasource.name, datasource.jndi_name),
                        None,
                    )
                    .at(list.span.start),
                );
                editor.insert(
                    list,
                    existing.last().copied(),
                    new_datasource(datasource, &alias_prefix),
                )
            }
        }
    }
    Ok(Edited {
        text: editor.finish()?,
        differences,
    })
}

/// Every datasource in the file (commented-out ones are not datasources).
pub fn read_master_datasources(xml: &str) -> Result<Vec<ActualDatasource>, ConfError> {
    let doc = Document::parse(xml)?;
    let list = doc.required_child(doc.expect_root(ROOT)?, "datasources")?;
    Ok(list
        .children_named("datasource")
        .map(read_datasource)
        .collect())
}

fn read_datasource(datasource: &Element) -> ActualDatasource {
    let configuration = configuration_of(datasource);
    let setting =
        |name: &str| configuration.and_then(|configuration| configuration.child_text(name));
    let password = configuration.and_then(|configuration| configuration.child(PASSWORD));
    ActualDatasource {
        name: datasource.child_text("name"),
        jndi_name: jndi_name(datasource).map(str::to_owned),
        url: setting("url"),
        username: setting("username"),
        has_password: password.is_some_and(|password| !password.text().is_empty()),
        secret_alias: password
            .and_then(secret_alias_attribute)
            .map(|alias| alias.value.clone()),
        driver_class: setting("driverClassName"),
        pool: ActualPool {
            max_active: setting("maxActive"),
            max_wait: setting("maxWait"),
            test_on_borrow: setting("testOnBorrow"),
            validation_query: setting("validationQuery"),
            validation_interval: setting("validationInterval"),
        },
    }
}

/// The plain password of each datasource with a JNDI name, for checking that the nodes can log in
/// (`verify --ei-home`). Aliased (Secure Vault) passwords are `None`: their values are not in this file.
pub fn read_datasource_passwords(
    xml: &str,
) -> Result<Vec<(String, Option<SecretString>)>, ConfError> {
    let doc = Document::parse(xml)?;
    let list = doc.required_child(doc.expect_root(ROOT)?, "datasources")?;
    Ok(list
        .children_named("datasource")
        .filter_map(|datasource| {
            let jndi = jndi_name(datasource)?.to_owned();
            let password = configuration_of(datasource).and_then(|c| c.child(PASSWORD));
            let plain = password
                .filter(|p| secret_alias_attribute(p).is_none())
                .map(|p| p.text().to_owned())
                .filter(|text| !text.is_empty())
                .map(SecretString::from);
            Some((jndi, plain))
        })
        .collect())
}

/// WSO2's shipped password of the embedded H2 database: known to everyone, so not a secret to protect.
pub const SHIPPED_H2_PASSWORD: &str = "wso2carbon";

/// The datasources whose `<password>` holds a real password in plain text (no `secretAlias`, not empty,
/// not WSO2's shipped H2 default), by name (or JNDI name), for messages. A file that does not parse holds
/// none that eidb can tell.
pub fn plaintext_password_holders(xml: &str) -> Vec<String> {
    let Ok(doc) = Document::parse(xml) else {
        return Vec::new();
    };
    let Some(list) = doc
        .expect_root(ROOT)
        .ok()
        .and_then(|root| doc.required_child(root, "datasources").ok())
    else {
        return Vec::new();
    };
    list.children_named("datasource")
        .filter(|datasource| {
            let Some(configuration) = configuration_of(datasource) else {
                return false;
            };
            let Some(password) = configuration.child(PASSWORD) else {
                return false;
            };
            let text = password.text().trim();
            let url = configuration.child("url").map(Element::text).unwrap_or("");
            let shipped_default = text == SHIPPED_H2_PASSWORD && url.trim().starts_with("jdbc:h2:");
            secret_alias_attribute(password).is_none() && !text.is_empty() && !shipped_default
        })
        .map(|datasource| {
            name_of(datasource)
                .or_else(|| jndi_name(datasource))
                .unwrap_or("(unnamed)")
                .to_string()
        })
        .collect()
}

fn configuration_of(datasource: &Element) -> Option<&Element> {
    datasource.child("definition")?.child("configuration")
}

fn name_of(datasource: &Element) -> Option<&str> {
    datasource.child("name").map(Element::text)
}

fn jndi_name(datasource: &Element) -> Option<&str> {
    Some(datasource.child("jndiConfig")?.child("name")?.text())
}

/// `password`'s `secretAlias` attribute, whatever prefix it was written with.
fn secret_alias_attribute(password: &Element) -> Option<&Attribute> {
    password
        .attributes
        .iter()
        .find(|attribute| attribute.name.rsplit(':').next() == Some("secretAlias"))
}

type Key = (
    fn(&Element) -> Option<&str>,
    fn(&Datasource) -> &str,
    &'static str,
);

/// The existing datasource for each desired one: by name first, for all of them, then by JNDI
/// name among those not taken, so that one element never stands for two desired datasources.
fn match_existing<'d>(
    doc: &Document<'_>,
    existing: &[&'d Element],
    desired: &[Datasource],
) -> Result<Vec<Option<&'d Element>>, ConfError> {
    let mut matches: Vec<Option<&'d Element>> = vec![None; desired.len()];
    let mut taken = vec![false; existing.len()];
    let keys: [Key; 2] = [
        (name_of, |datasource| &datasource.name, "named"),
        (
            jndi_name,
            |datasource| &datasource.jndi_name,
            "with JNDI name",
        ),
    ];
    for (key_of, wanted_of, what) in keys {
        for (found, datasource) in matches.iter_mut().zip(desired) {
            if found.is_some() {
                continue;
            }
            let wanted = wanted_of(datasource);
            let hits: Vec<usize> = (0..existing.len())
                .filter(|&i| !taken[i] && key_of(existing[i]) == Some(wanted))
                .collect();
            match hits[..] {
                [] => {}
                [only] => {
                    taken[only] = true;
                    *found = Some(existing[only]);
                }
                [_, second, ..] => {
                    let message =
                        format!("a second datasource {what} {wanted}; remove one of them");
                    return Err(doc.error(existing[second], message));
                }
            }
        }
    }
    Ok(matches)
}

/// The prefix bound to the Secure Vault namespace on the root, declaring `svns` if none is.
fn secure_vault_prefix<'d>(
    doc: &Document<'_>,
    root: &'d Element,
    editor: &mut Editor<'d>,
) -> Result<String, ConfError> {
    let declared = root
        .attributes
        .iter()
        .filter(|attribute| attribute.value == SECURE_VAULT_NAMESPACE)
        .find_map(|attribute| attribute.name.strip_prefix("xmlns:"));
    if let Some(prefix) = declared {
        return Ok(prefix.to_owned());
    }
    let declaration = format!("xmlns:{SECURE_VAULT_PREFIX}");
    if let Some(other) = root.attribute(&declaration) {
        let message = format!(
            "the prefix {SECURE_VAULT_PREFIX} is bound to {other}, not to the Secure Vault namespace \
             {SECURE_VAULT_NAMESPACE} that password aliases need"
        );
        return Err(doc.error(root, message));
    }
    editor.set_attribute(root, &declaration, SECURE_VAULT_NAMESPACE)?;
    Ok(SECURE_VAULT_PREFIX.to_owned())
}

fn update<'d>(
    doc: &Document<'_>,
    editor: &mut Editor<'d>,
    datasource: &'d Element,
    desired: &Datasource,
    alias_prefix: &str,
    differences: &mut Vec<Difference>,
) -> Result<(), ConfError> {
    let item = Some(desired.name.as_str());
    let name = editor.set_child_text(datasource, "name", &desired.name)?;
    if name.is_changed() {
        let at = datasource
            .child("name")
            .map_or(datasource.span.start, |child| child.span.start);
        differences.push(
            Difference::new(
                Check::DatasourceName,
                Some(&desired.jndi_name),
                desired.name.clone(),
                name.found(),
            )
            .at(at),
        );
    }
    let jndi = match datasource.child("jndiConfig") {
        Some(jndi_config) => editor.set_child_text(jndi_config, "name", &desired.jndi_name)?,
        None => {
            let before_definition = datasource
                .children
                .iter()
                .take_while(|child| child.name != "definition")
                .last();
            editor.insert(datasource, before_definition, new_jndi_config(desired));
            Changed::Added
        }
    };
    if jndi.is_changed() {
        let at = datasource
            .child("jndiConfig")
            .and_then(|jndi_config| jndi_config.child("name"))
            .map_or(datasource.span.start, |child| child.span.start);
        differences.push(
            Difference::new(
                Check::DatasourceJndi,
                item,
                desired.jndi_name.clone(),
                jndi.found(),
            )
            .at(at),
        );
    }
    let configuration = configuration_of(datasource).ok_or_else(|| {
        let message = format!(
            "datasource {} has no <definition><configuration>; add one or remove the datasource",
            desired.name
        );
        doc.error(datasource, message)
    })?;
    for (name, value) in owned_settings(desired) {
        let mut changed = Changed::Unchanged;
        for setting in configuration.children_named(name) {
            let text = editor.set_text(setting, &value)?;
            let alias = if name == PASSWORD {
                set_secret_alias(
                    editor,
                    setting,
                    desired.secret_alias.as_deref(),
                    alias_prefix,
                )?
            } else {
                false
            };
            if (text || alias) && changed == Changed::Unchanged {
                // A password is said only as there or not: its text is not copied out.
                let found = match name {
                    PASSWORD if !setting.text().is_empty() => "(set)".to_owned(),
                    _ => setting.text().to_owned(),
                };
                changed = Changed::From(found);
            }
        }
        if configuration.child(name).is_none() {
            let setting = new_setting(name, value.clone(), desired, alias_prefix);
            editor.insert(configuration, configuration.children.last(), setting);
            changed = Changed::Added;
        }
        if changed.is_changed() {
            let at = configuration
                .child(name)
                .map_or(configuration.span.start, |child| child.span.start);
            differences.push(setting_difference(desired, name, value, changed).at(at));
        }
    }
    Ok(())
}

/// How a changed owned setting is reported. A password is never shown: only whether there is one,
/// and where it comes from.
fn setting_difference(
    desired: &Datasource,
    name: &'static str,
    value: String,
    changed: Changed,
) -> Difference {
    let item = Some(desired.name.as_str());
    let (check, expected, found) = match name {
        "url" => (Check::DatasourceUrl, value, changed.found()),
        "username" => (Check::DatasourceUser, value, changed.found()),
        "driverClassName" => (Check::DatasourceDriver, value, changed.found()),
        PASSWORD => {
            let expected = match &desired.secret_alias {
                Some(alias) => format!("the password from Secure Vault alias {alias}"),
                None if desired.password.expose_secret().is_empty() => "no password".to_owned(),
                None => "the spec's password".to_owned(),
            };
            let found = match changed {
                Changed::Added => None,
                Changed::From(text) if text.is_empty() => Some("no password".to_owned()),
                _ => Some(
                    "another password, or the same one with another Secure Vault alias".to_owned(),
                ),
            };
            return Difference::new(Check::DatasourcePassword, item, expected, found);
        }
        pool => (
            Check::DatasourcePool,
            format!("{pool} {value}"),
            changed.found().map(|found| format!("{pool} {found}")),
        ),
    };
    Difference::new(check, item, expected, found)
}

/// `true` when the alias changes.
fn set_secret_alias(
    editor: &mut Editor<'_>,
    password: &Element,
    alias: Option<&str>,
    prefix: &str,
) -> Result<bool, ConfError> {
    Ok(match (secret_alias_attribute(password), alias) {
        (Some(existing), Some(alias)) => editor
            .set_attribute(password, &existing.name, alias)?
            .is_changed(),
        (None, Some(alias)) => editor
            .set_attribute(password, &format!("{prefix}:secretAlias"), alias)?
            .is_changed(),
        (Some(existing), None) => {
            editor.remove_attribute(password, &existing.name);
            true
        }
        (None, None) => false,
    })
}

/// The `<configuration>` children eidb owns, in the order WSO2 writes them.
fn owned_settings(desired: &Datasource) -> [(&'static str, String); 9] {
    let pool = &desired.pool;
    [
        ("url", desired.url.clone()),
        ("username", desired.username.clone()),
        (PASSWORD, desired.password.expose_secret().to_owned()),
        ("driverClassName", desired.driver_class.clone()),
        ("maxActive", pool.max_active.to_string()),
        ("maxWait", pool.max_wait.to_string()),
        ("testOnBorrow", bool_text(pool.test_on_borrow).to_owned()),
        ("validationQuery", pool.validation_query.clone()),
        ("validationInterval", pool.validation_interval.to_string()),
    ]
}

fn new_setting(
    name: &'static str,
    value: String,
    desired: &Datasource,
    alias_prefix: &str,
) -> NewElement {
    let setting = NewElement::leaf(name, value);
    match &desired.secret_alias {
        Some(alias) if name == PASSWORD => {
            setting.with_attribute(format!("{alias_prefix}:secretAlias"), alias)
        }
        _ => setting,
    }
}

fn new_jndi_config(desired: &Datasource) -> NewElement {
    NewElement::parent(
        "jndiConfig",
        vec![NewElement::leaf("name", &desired.jndi_name)],
    )
}

fn new_datasource(desired: &Datasource, alias_prefix: &str) -> NewElement {
    let settings = owned_settings(desired)
        .into_iter()
        .map(|(name, value)| new_setting(name, value, desired, alias_prefix))
        .collect();
    let configuration = NewElement::parent("configuration", settings);
    NewElement::parent(
        "datasource",
        vec![
            NewElement::leaf("name", &desired.name),
            NewElement::leaf("description", &desired.description),
            new_jndi_config(desired),
            NewElement::parent("definition", vec![configuration]).with_attribute("type", "RDBMS"),
        ],
    )
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use secrecy::SecretString;

    use super::super::test_support::{
        assert_no_bare_lf, assert_only_owned_lines_changed, real_conf, to_crlf, xml_text,
    };
    use super::super::xml::mask_passwords;
    use super::*;
    use crate::core::node_files::Pool;

    #[test]
    fn plaintext_passwords_are_found_but_not_aliases_empties_or_the_shipped_h2_default() {
        let ds = |name: &str, url: &str, password: &str| {
            format!(
                "<datasource><name>{name}</name><definition type=\"RDBMS\"><configuration><url>{url}</url>\
                 {password}</configuration></definition></datasource>"
            )
        };
        let xml = format!(
            "<datasources-configuration xmlns:svns=\"http://org.wso2.securevault/configuration\"><datasources>{}{}{}{}{}</datasources></datasources-configuration>",
            ds("H2", "jdbc:h2:./repository/database/WSO2CARBON_DB", "<password>wso2carbon</password>"),
            ds("ALIAS", "jdbc:mysql://db/A", "<password svns:secretAlias=\"A.Password\">password</password>"),
            ds("EMPTY", "jdbc:mysql://db/E", "<password></password>"),
            ds("MYSQL", "jdbc:mysql://db/M", "<password>wso2carbon</password>"),
            ds("OTHER_H2", "jdbc:h2:mem:x", "<password>s3cret</password>"),
        );
        assert_eq!(plaintext_password_holders(&xml), ["MYSQL", "OTHER_H2"]);
        assert!(plaintext_password_holders("<not-xml").is_empty());
    }

    const FIXTURE: &str =
        include_str!("../../../tests/fixtures/ei-home/conf/datasources/master-datasources.xml");
    const OWNED: &[&str] = &[
        "<name>",
        "<url",
        "<username",
        "<password",
        "<driverClassName",
        "<maxActive",
        "<maxWait",
        "<testOnBorrow",
        "<validationQuery",
        "<validationInterval",
        // An empty self-closing list has to open up to take a datasource.
        "<datasources/>",
    ];
    const PASSWORD_TEXT: &str = "p'\"\\;%@&<>w";

    fn mysql(name: &str, jndi_name: &str, database: &str) -> Datasource {
        Datasource {
            name: name.into(),
            description: format!("{database} on the cluster's MySQL"),
            jndi_name: jndi_name.into(),
            url: format!(
                "jdbc:mysql://db.example.test:3306/{database}?useSSL=false&autoReconnect=true"
            ),
            username: "wso2".into(),
            password: SecretString::from(PASSWORD_TEXT),
            secret_alias: None,
            driver_class: "com.mysql.jdbc.Driver".into(),
            pool: Pool {
                max_active: 80,
                max_wait: 60000,
                test_on_borrow: true,
                validation_query: "SELECT 1".into(),
                validation_interval: 30000,
            },
        }
    }

    fn cluster() -> Vec<Datasource> {
        let mut registry = mysql("WSO2_REGISTRY_DB", "jdbc/WSO2RegistryDB", "REGISTRY_DB");
        registry.secret_alias = Some("Registry.DB.Password".into());
        vec![
            mysql("WSO2_CARBON_DB", "jdbc/WSO2CarbonDB", "CARBON_NODE1"),
            registry,
            mysql("WSO2_UM_DB", "jdbc/WSO2UMDB", "UM_DB"),
        ]
    }

    fn edit(original: &str, desired: &[Datasource]) -> String {
        edit_master_datasources(original, desired)
            .unwrap_or_else(|e| panic!("edit failed: {e}"))
            .text
    }

    fn read(xml: &str) -> Vec<ActualDatasource> {
        read_master_datasources(xml)
            .unwrap_or_else(|e| panic!("edited file does not read: {e}\n{xml}"))
    }

    fn named<'a>(all: &'a [ActualDatasource], name: &str) -> &'a ActualDatasource {
        all.iter()
            .find(|datasource| datasource.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no datasource {name} in {all:#?}"))
    }

    /// Checks (1) the edit reads back as desired, (2) editing again is a fixed point and (3)
    /// only owned lines changed; returns the edited text.
    fn assert_edits_cleanly(original: &str, desired: &[Datasource]) -> String {
        let edited = edit(original, desired);
        let actual = read(&edited);
        for datasource in desired {
            assert_eq!(
                named(&actual, &datasource.name),
                &ActualDatasource::from(datasource)
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
    fn fixture_gets_the_desired_datasources_and_keeps_the_rest() {
        let before = read(FIXTURE);
        let edited = assert_edits_cleanly(FIXTURE, &cluster());
        let after = read(&edited);
        let names: Vec<_> = after
            .iter()
            .map(|datasource| datasource.name.as_deref().unwrap_or("?"))
            .collect();
        assert_eq!(
            names,
            [
                "WSO2_CARBON_DB",
                "WSO2_METRICS_DB",
                "WSO2_REGISTRY_DB",
                "WSO2_UM_DB"
            ]
        );
        assert_eq!(
            named(&after, "WSO2_METRICS_DB"),
            named(&before, "WSO2_METRICS_DB")
        );
        assert!(edited.contains("REGISTRY_DB?useSSL=false&amp;autoReconnect=true</url>"));
        assert!(edited.contains("<password>p'\"\\;%@&amp;&lt;&gt;w</password>"));
        for kept in [
            "<description>Embedded H2 store of this node (local registry and users)</description>",
            "<defaultAutoCommit>false</defaultAutoCommit>",
            "<name>EXAMPLE_MYSQL_DB</name>",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
        ] {
            assert!(edited.contains(kept), "{kept} is gone");
        }
    }

    #[test]
    fn new_datasources_follow_the_last_one_with_its_layout() {
        let edited = edit(FIXTURE, &cluster()[2..]);
        let expected = "        </datasource>\n\
            \x20       <datasource>\n\
            \x20           <name>WSO2_UM_DB</name>\n\
            \x20           <description>UM_DB on the cluster's MySQL</description>\n\
            \x20           <jndiConfig>\n\
            \x20               <name>jdbc/WSO2UMDB</name>\n\
            \x20           </jndiConfig>\n\
            \x20           <definition type=\"RDBMS\">\n\
            \x20               <configuration>\n\
            \x20                   <url>jdbc:mysql://db.example.test:3306/UM_DB?useSSL=false&amp;autoReconnect=true</url>\n\
            \x20                   <username>wso2</username>\n\
            \x20                   <password>p'\"\\;%@&amp;&lt;&gt;w</password>\n\
            \x20                   <driverClassName>com.mysql.jdbc.Driver</driverClassName>\n\
            \x20                   <maxActive>80</maxActive>\n\
            \x20                   <maxWait>60000</maxWait>\n\
            \x20                   <testOnBorrow>true</testOnBorrow>\n\
            \x20                   <validationQuery>SELECT 1</validationQuery>\n\
            \x20                   <validationInterval>30000</validationInterval>\n\
            \x20               </configuration>\n\
            \x20           </definition>\n\
            \x20       </datasource>\n\
            \n        <!-- Disabled example.";
        assert!(edited.contains(expected), "{edited}");
    }

    #[test]
    fn an_empty_list_gets_the_indentation_of_the_file() {
        let spaces = "<datasources-configuration>\n    <datasources>\n    </datasources>\n</datasources-configuration>\n";
        let edited = assert_edits_cleanly(spaces, &cluster()[..1]);
        assert!(edited.contains("\n    <datasources>\n        <datasource>\n            <name>WSO2_CARBON_DB</name>\n"), "{edited}");
        assert!(edited.contains("\n                    <url>"), "{edited}");
        assert!(
            edited.ends_with(
                "        </datasource>\n    </datasources>\n</datasources-configuration>\n"
            ),
            "{edited}"
        );

        let tabs = "<datasources-configuration>\n\t<datasources/>\n</datasources-configuration>\n";
        let edited = assert_edits_cleanly(tabs, &cluster()[..1]);
        assert!(
            edited.starts_with(
                "<datasources-configuration>\n\t<datasources>\n\t\t<datasource>\n\t\t\t<name>"
            ),
            "{edited}"
        );
        assert!(edited.contains("\n\t\t\t\t\t<url>"), "{edited}");
        assert!(
            edited.ends_with("\t\t</datasource>\n\t</datasources>\n</datasources-configuration>\n"),
            "{edited}"
        );
    }

    #[test]
    fn missing_empty_and_self_closing_settings_are_filled_in() {
        let original = "<datasources-configuration>\n  <datasources>\n    <datasource>\n      <name>WSO2_UM_DB</name>\n      <jndiConfig><name>jdbc/Old</name></jndiConfig>\n      <definition type=\"RDBMS\">\n        <configuration>\n          <url/>\n          <username></username>\n          <password>old</password>\n          <defaultAutoCommit>false</defaultAutoCommit> <!-- keep -->\n        </configuration>\n      </definition>\n    </datasource>\n  </datasources>\n</datasources-configuration>\n";
        let desired = &cluster()[2..];
        let edited = assert_edits_cleanly(original, desired);
        assert!(
            edited.contains("<jndiConfig><name>jdbc/WSO2UMDB</name></jndiConfig>"),
            "{edited}"
        );
        assert!(edited.contains("<url>jdbc:mysql://db.example.test:3306/UM_DB?useSSL=false&amp;autoReconnect=true</url>"));
        assert!(
            edited.contains("<defaultAutoCommit>false</defaultAutoCommit> <!-- keep -->\n          <driverClassName>com.mysql.jdbc.Driver</driverClassName>\n          <maxActive>80</maxActive>\n"),
            "{edited}"
        );
        assert!(
            edited.contains(
                "<validationInterval>30000</validationInterval>\n        </configuration>"
            ),
            "{edited}"
        );
    }

    #[test]
    fn equal_values_in_another_spelling_are_left_alone() {
        let edited = edit(FIXTURE, &cluster());
        let respelled = edited.replacen(
            "useSSL=false&amp;autoReconnect",
            "useSSL=false&#38;autoReconnect",
            1,
        );
        assert_ne!(respelled, edited);
        assert_eq!(edit(&respelled, &cluster()), respelled);
    }

    #[test]
    fn a_hand_edited_url_and_pool_are_put_back() {
        let edited = edit(FIXTURE, &cluster());
        let drifted = edited
            .replacen(
                "3306/CARBON_NODE1?useSSL=false&amp;",
                "3306/CARBON_NODE2?",
                1,
            )
            .replacen("<maxActive>80</maxActive>", "<maxActive>5</maxActive>", 1);
        assert_ne!(drifted, edited);
        assert_eq!(edit(&drifted, &cluster()), edited);

        // The edit says what it put right, value by value, naming the datasource.
        let repaired = edit_master_datasources(&drifted, &cluster()).unwrap();
        let said: Vec<(&str, String, Option<String>)> = repaired
            .differences
            .iter()
            .map(|d| (d.check.as_str(), d.expected_text(), d.found_text()))
            .collect();
        assert_eq!(said.len(), 2, "{said:#?}");
        assert_eq!(said[0].0, "datasource_url");
        assert!(
            said[0].1.starts_with("WSO2_CARBON_DB: jdbc:mysql://"),
            "{said:#?}"
        );
        assert!(
            said[0].1.contains("/CARBON_NODE1?useSSL=false&"),
            "unescaped: {said:#?}"
        );
        assert!(
            said[0]
                .2
                .as_deref()
                .is_some_and(|f| f.contains("/CARBON_NODE2?")),
            "{said:#?}"
        );
        assert_eq!(
            (said[1].0, said[1].1.as_str(), said[1].2.as_deref()),
            (
                "datasource_pool",
                "WSO2_CARBON_DB: maxActive 80",
                Some("WSO2_CARBON_DB: maxActive 5")
            )
        );
        assert!(edit_master_datasources(&edited, &cluster())
            .unwrap()
            .differences
            .is_empty());
    }

    #[test]
    fn a_changed_password_is_a_difference_that_shows_neither_password() {
        let edited = edit(FIXTURE, &cluster());
        let secret = cluster()[0].password.expose_secret().to_owned();
        let start = edited.find("<password>").unwrap() + "<password>".len();
        let end = start + edited[start..].find("</password>").unwrap();
        let drifted = format!("{}typed-by-hand{}", &edited[..start], &edited[end..]);
        assert_ne!(
            drifted, edited,
            "the fixture's password is where the test looks"
        );
        let repaired = edit_master_datasources(&drifted, &cluster()).unwrap();
        assert_eq!(repaired.text, edited);
        let [difference] = repaired.differences.as_slice() else {
            panic!("{:#?}", repaired.differences)
        };
        assert_eq!(difference.check, Check::DatasourcePassword);
        let said = format!("{difference:?}");
        assert!(
            !said.contains("typed-by-hand") && !said.contains(&secret),
            "{said}"
        );
    }

    #[test]
    fn a_missing_datasource_is_one_difference() {
        let only_carbon = &cluster()[..1];
        let mut all = cluster();
        all[1].name = "WSO2_EXTRA_DB".into();
        all[1].jndi_name = "jdbc/WSO2ExtraDB".into();
        let base = edit(FIXTURE, only_carbon);
        let added = edit_master_datasources(&base, &all).unwrap();
        let checks: Vec<&str> = added.differences.iter().map(|d| d.check.as_str()).collect();
        assert!(checks.contains(&"datasource_missing"), "{checks:?}");
        assert!(added
            .differences
            .iter()
            .any(|d| d.check == Check::DatasourceMissing
                && d.expected.contains("WSO2_EXTRA_DB (jdbc/WSO2ExtraDB)")));
    }

    #[test]
    fn secret_aliases_are_declared_added_and_removed() {
        let original = "<datasources-configuration>\n    <datasources>\n        <datasource>\n            <name>WSO2_CARBON_DB</name>\n            <jndiConfig>\n                <name>jdbc/WSO2CarbonDB</name>\n            </jndiConfig>\n            <definition type=\"RDBMS\">\n                <configuration>\n                    <password>x</password>\n                </configuration>\n            </definition>\n        </datasource>\n    </datasources>\n</datasources-configuration>\n";
        let mut desired = cluster()[..1].to_vec();
        desired[0].secret_alias = Some("Carbon.DB.Password".into());
        let edited = edit(original, &desired);
        assert!(edited.starts_with("<datasources-configuration xmlns:svns=\"http://org.wso2.securevault/configuration\">\n"), "{edited}");
        assert!(
            edited.contains("<password svns:secretAlias=\"Carbon.DB.Password\">p'"),
            "{edited}"
        );
        assert_eq!(read(&edited)[0], ActualDatasource::from(&desired[0]));
        assert_eq!(edit(&edited, &desired), edited);

        desired[0].secret_alias = None;
        let unaliased = edit(&edited, &desired);
        assert!(unaliased.contains("<password>p'"), "{unaliased}");
        assert_eq!(read(&unaliased)[0].secret_alias, None);
    }

    #[test]
    fn another_prefix_for_the_secure_vault_is_used_as_declared() {
        let original = FIXTURE.replace("xmlns:svns=", "xmlns:vault=");
        let edited = assert_edits_cleanly(&original, &cluster());
        assert!(
            edited.contains("<password vault:secretAlias=\"Registry.DB.Password\">"),
            "{edited}"
        );
        let clash = FIXTURE.replace("securevault/configuration", "example/other");
        let error = edit_master_datasources(&clash, &cluster()).unwrap_err();
        assert_eq!(error.line, 3, "{error}");
    }

    #[test]
    fn a_datasource_found_by_its_jndi_name_gets_the_desired_name() {
        let mut desired = cluster()[..1].to_vec();
        desired[0].name = "CARBON".into();
        let edited = assert_edits_cleanly(FIXTURE, &desired);
        assert_eq!(read(&edited).len(), 2);
    }

    #[test]
    fn a_datasource_taken_by_name_is_not_taken_again_by_jndi_name() {
        let mut desired = cluster()[..1].to_vec();
        let mut sharing_jndi = cluster().remove(2);
        sharing_jndi.jndi_name = desired[0].jndi_name.clone();
        desired.push(sharing_jndi);
        let edited = assert_edits_cleanly(FIXTURE, &desired);
        assert_eq!(read(&edited).len(), 3);
    }

    #[test]
    fn files_eidb_cannot_edit_safely_are_errors_with_their_line() {
        let broken = FIXTURE.replacen("</username>", "</usernme>", 1);
        let error = edit_master_datasources(&broken, &cluster()).unwrap_err();
        assert_eq!(error.line, 20, "{error}");
        assert_eq!(read_master_datasources(&broken).unwrap_err().line, 20);

        let twice = FIXTURE.replacen("WSO2_METRICS_DB", "WSO2_CARBON_DB", 1);
        let error = edit_master_datasources(&twice, &cluster()).unwrap_err();
        assert_eq!(error.line, 33, "{error}");
        assert!(error.message.contains("WSO2_CARBON_DB"), "{error}");

        let no_list = "<datasources-configuration>\n  <providers/>\n</datasources-configuration>";
        let error = edit_master_datasources(no_list, &cluster()).unwrap_err();
        assert_eq!(error.line, 1, "{error}");
        assert!(error.message.contains("<datasources>"), "{error}");

        let no_configuration = "<datasources-configuration><datasources>\n<datasource><name>WSO2_UM_DB</name></datasource>\n</datasources></datasources-configuration>";
        let error = edit_master_datasources(no_configuration, &cluster()).unwrap_err();
        assert_eq!(error.line, 2, "{error}");

        let wrong_file = "<UserManager/>";
        assert!(edit_master_datasources(wrong_file, &cluster()).is_err());
    }

    #[test]
    fn a_password_xml_cannot_hold_is_refused_without_showing_it() {
        let mut desired = cluster();
        desired[0].password = SecretString::from("top\u{1}secret");
        let error = edit_master_datasources(FIXTURE, &desired).unwrap_err();
        assert!(!error.to_string().contains("secret"), "{error}");
        desired[0].url = "jdbc:mysql://x/\u{1}".into();
        assert!(edit_master_datasources(FIXTURE, &desired[..1]).is_err());
    }

    #[test]
    fn crlf_file_stays_crlf() {
        let original = to_crlf(FIXTURE);
        let edited = assert_edits_cleanly(&original, &cluster());
        assert_no_bare_lf(&edited);
        assert_eq!(edited, to_crlf(&edit(FIXTURE, &cluster())));
    }

    #[test]
    fn masked_output_shows_no_password() {
        let masked = mask_passwords(&edit(FIXTURE, &cluster()));
        for secret in [
            "p'\"\\;%@&amp;&lt;&gt;w",
            "metrics-pw",
            "wso2carbon</password>",
            "example-secret",
        ] {
            assert!(!masked.contains(secret), "{secret} is visible:\n{masked}");
        }
        assert_eq!(masked.matches("********").count(), 5, "{masked}");
        assert!(masked
            .contains("<password svns:secretAlias=\"Registry.DB.Password\">********</password>"));
    }

    #[test]
    fn real_wso2_file_is_edited_in_place() {
        let original = real_conf("datasources/master-datasources.xml");
        let edited = assert_edits_cleanly(&original, &cluster());
        assert_eq!(
            read(&edited).len(),
            3,
            "the commented-out sample is not a datasource"
        );
        assert!(edited.contains("<!--datasource>\n            <name>SAMPLE_DATA_SOURCE</name>"));
        let crlf = assert_edits_cleanly(&to_crlf(&original), &cluster());
        assert_no_bare_lf(&crlf);
    }

    #[test]
    fn a_correct_real_file_comes_back_byte_identical() {
        let original = real_conf("datasources/master-datasources.xml");
        let mut h2 = mysql("WSO2_CARBON_DB", "jdbc/WSO2CarbonDB", "");
        h2.url =
            "jdbc:h2:./repository/database/WSO2CARBON_DB;DB_CLOSE_ON_EXIT=FALSE;LOCK_TIMEOUT=60000"
                .into();
        h2.username = "wso2carbon".into();
        h2.password = SecretString::from("wso2carbon");
        h2.driver_class = "org.h2.Driver".into();
        h2.pool.max_active = 50;
        assert_eq!(edit(&original, &[h2]), original);
    }

    fn arbitrary_datasource() -> impl Strategy<Value = Datasource> {
        (
            xml_text(),
            xml_text(),
            xml_text(),
            proptest::option::of(xml_text()),
            xml_text(),
        )
            .prop_map(
                |(url, username, password, secret_alias, validation_query)| {
                    let mut datasource = mysql("WSO2_CARBON_DB", "jdbc/WSO2CarbonDB", "X");
                    datasource.url = url;
                    datasource.username = username;
                    datasource.password = SecretString::from(password);
                    datasource.secret_alias = secret_alias;
                    datasource.pool.validation_query = validation_query;
                    datasource
                },
            )
    }

    proptest! {
        #[test]
        fn damaged_files_give_errors_or_edits_never_panics(
            at in 0..FIXTURE.len(),
            removed in 0usize..40,
            inserted in prop::sample::select(vec!["", "<", ">", "</a>", "<b>", "&", "\"", "<!--", "-->", "/>", "\u{FEFF}", "é"]),
        ) {
            let end = (at + removed).min(FIXTURE.len());
            let damaged = format!("{}{inserted}{}", &FIXTURE[..at], &FIXTURE[end..]);
            if let Ok(edited) = edit_master_datasources(&damaged, &cluster()) {
                let again = edit_master_datasources(&edited.text, &cluster()).unwrap();
                prop_assert_eq!(&again.text, &edited.text);
                prop_assert!(again.differences.is_empty(), "{:?}", again.differences);
                prop_assert!(read_master_datasources(&edited.text).is_ok());
            }
            let _ = mask_passwords(&damaged);
        }

        #[test]
        fn any_values_round_trip_idempotently_touching_only_owned_lines(
            carbon in arbitrary_datasource(),
            password in xml_text(),
            crlf in any::<bool>(),
        ) {
            let mut registry = cluster().remove(1);
            registry.password = SecretString::from(password.clone());
            let original = if crlf { to_crlf(FIXTURE) } else { FIXTURE.to_owned() };
            let desired = [carbon, registry];
            let edited = assert_edits_cleanly(&original, &desired);
            if crlf {
                assert_no_bare_lf(&edited);
            }
            if !password.is_empty() {
                let masked = mask_passwords(&edited);
                prop_assert_eq!(masked.matches("<password svns:secretAlias=\"Registry.DB.Password\">********</password>").count(), 1);
            }
        }
    }
}
