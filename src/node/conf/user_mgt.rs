//! `conf/user-mgt.xml`: which datasource the user store of the realm uses.

use super::model::ActualUserMgt;
use super::xml::{Changed, ConfError, Document, Editor, Element, NewElement};
use super::Edited;
use crate::core::check::Check;
use crate::core::drift::Difference;

const PROPERTY: &str = "Property";
const DATA_SOURCE: &str = "dataSource";

/// Points `<Property name="dataSource">` of `<UserManager><Realm><Configuration>` at
/// `user_store_jndi`, adding the property after the last one if it is missing. Nothing else
/// changes, the user store managers' own properties included.
pub fn edit_user_mgt(original: &str, user_store_jndi: &str) -> Result<Edited, ConfError> {
    let doc = Document::parse(original)?;
    let configuration = realm_configuration(&doc)?;
    let mut editor = Editor::new(&doc);
    let mut changed = Changed::Unchanged;
    let at = data_source_properties(configuration)
        .next()
        .map_or(configuration.span.start, |property| property.span.start);
    for property in data_source_properties(configuration) {
        if editor.set_text(property, user_store_jndi)? && changed == Changed::Unchanged {
            changed = Changed::From(property.text().to_owned());
        }
    }
    if data_source_properties(configuration).next().is_none() {
        let last_property = configuration.children_named(PROPERTY).last();
        let property =
            NewElement::leaf(PROPERTY, user_store_jndi).with_attribute("name", DATA_SOURCE);
        editor.insert(
            configuration,
            last_property.or(configuration.children.last()),
            property,
        );
        changed = Changed::Added;
    }
    let differences = if changed.is_changed() {
        vec![Difference::new(
            Check::UserMgtDatasource,
            None,
            user_store_jndi,
            changed.found(),
        )
        .at(at)]
    } else {
        Vec::new()
    };
    Ok(Edited {
        text: editor.finish()?,
        differences,
    })
}

pub fn read_user_mgt(xml: &str) -> Result<ActualUserMgt, ConfError> {
    let doc = Document::parse(xml)?;
    let data_source = data_source_properties(realm_configuration(&doc)?)
        .next()
        .map(|property| property.text().to_owned());
    Ok(ActualUserMgt { data_source })
}

fn realm_configuration<'d>(doc: &'d Document<'_>) -> Result<&'d Element, ConfError> {
    let realm = doc.required_child(doc.expect_root("UserManager")?, "Realm")?;
    doc.required_child(realm, "Configuration")
}

fn data_source_properties(configuration: &Element) -> impl Iterator<Item = &Element> {
    configuration
        .children_named(PROPERTY)
        .filter(|property| property.attribute("name") == Some(DATA_SOURCE))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::test_support::{
        assert_no_bare_lf, assert_only_owned_lines_changed, real_conf, to_crlf, xml_text,
    };
    use super::*;

    const FIXTURE: &str = include_str!("../../../tests/fixtures/ei-home/conf/user-mgt.xml");
    const OWNED: &[&str] = &["<Property name=\"dataSource\">"];
    const UM_JNDI: &str = "jdbc/WSO2UMDB";

    fn edit(original: &str, jndi: &str) -> String {
        edit_user_mgt(original, jndi)
            .unwrap_or_else(|e| panic!("edit failed: {e}"))
            .text
    }

    fn assert_edits_cleanly(original: &str, jndi: &str) -> String {
        let edited = edit(original, jndi);
        let actual =
            read_user_mgt(&edited).unwrap_or_else(|e| panic!("edited file does not read: {e}"));
        assert_eq!(actual.data_source.as_deref(), Some(jndi));
        assert_eq!(
            edit(&edited, jndi),
            edited,
            "a second edit changed the file"
        );
        assert_only_owned_lines_changed(original, &edited, OWNED);
        edited
    }

    #[test]
    fn fixture_points_the_realm_at_the_user_store_and_nothing_else() {
        assert_eq!(
            read_user_mgt(FIXTURE).unwrap().data_source.as_deref(),
            Some("jdbc/WSO2CarbonDB")
        );
        let edited = assert_edits_cleanly(FIXTURE, UM_JNDI);
        assert_eq!(
            edited,
            FIXTURE.replace(
                "<Property name=\"dataSource\">jdbc/WSO2CarbonDB</Property>",
                "<Property name=\"dataSource\">jdbc/WSO2UMDB</Property>"
            )
        );
    }

    #[test]
    fn a_correct_file_comes_back_byte_identical() {
        assert_eq!(edit(FIXTURE, "jdbc/WSO2CarbonDB"), FIXTURE);
    }

    #[test]
    fn a_missing_property_is_added_after_the_last_property() {
        let original = FIXTURE.replace(
            "            <Property name=\"dataSource\">jdbc/WSO2CarbonDB</Property>\n",
            "",
        );
        assert_eq!(read_user_mgt(&original).unwrap().data_source, None);
        let edited = assert_edits_cleanly(&original, UM_JNDI);
        assert!(
            edited.contains("<Property name=\"initializeNewClaimManager\">true</Property>\n            <Property name=\"dataSource\">jdbc/WSO2UMDB</Property>\n        </Configuration>"),
            "{edited}"
        );
    }

    #[test]
    fn a_configuration_without_properties_gets_one_after_its_last_child() {
        let original = "<UserManager>\n    <Realm>\n        <Configuration>\n            <AddAdmin>true</AddAdmin> <!-- first run -->\n        </Configuration>\n    </Realm>\n</UserManager>\n";
        let edited = assert_edits_cleanly(original, UM_JNDI);
        assert_eq!(
            edited,
            "<UserManager>\n    <Realm>\n        <Configuration>\n            <AddAdmin>true</AddAdmin> <!-- first run -->\n            <Property name=\"dataSource\">jdbc/WSO2UMDB</Property>\n        </Configuration>\n    </Realm>\n</UserManager>\n"
        );
    }

    #[test]
    fn user_store_properties_named_data_source_are_not_the_realms() {
        let original = FIXTURE.replace(
            "<Property name=\"ReadOnly\">false</Property>",
            "<Property name=\"dataSource\">jdbc/StoreOwn</Property>",
        );
        let edited = edit(&original, UM_JNDI);
        assert!(edited.contains("<Property name=\"dataSource\">jdbc/StoreOwn</Property>"));
        assert_eq!(
            read_user_mgt(&edited).unwrap().data_source.as_deref(),
            Some(UM_JNDI)
        );
    }

    #[test]
    fn a_drifted_value_is_put_back_and_escaped() {
        let edited = edit(FIXTURE, UM_JNDI);
        let drifted = edited.replace(UM_JNDI, "jdbc/Hand&amp;Edited");
        assert_eq!(
            read_user_mgt(&drifted).unwrap().data_source.as_deref(),
            Some("jdbc/Hand&Edited")
        );
        assert_eq!(edit(&drifted, UM_JNDI), edited);
        assert!(edit(FIXTURE, "jdbc/a&b").contains(">jdbc/a&amp;b</Property>"));
    }

    #[test]
    fn a_file_without_realm_or_configuration_is_an_error_with_its_line() {
        let no_configuration =
            "<UserManager>\n    <Realm>\n        <UserStoreManager/>\n    </Realm>\n</UserManager>";
        let error = edit_user_mgt(no_configuration, UM_JNDI).unwrap_err();
        assert_eq!((error.line, error.column), (2, 5), "{error}");
        assert!(error.message.contains("<Configuration>"), "{error}");
        let error = read_user_mgt("<UserManager>\n</UserManager>").unwrap_err();
        assert!(error.message.contains("<Realm>"), "{error}");
        let broken = FIXTURE.replacen("</AdminUser>", "</AdminUsr>", 1);
        assert_eq!(edit_user_mgt(&broken, UM_JNDI).unwrap_err().line, 13);
        let error = edit_user_mgt("<wso2registry/>", UM_JNDI).unwrap_err();
        assert!(error.message.contains("<UserManager>"), "{error}");
    }

    #[test]
    fn real_wso2_file_is_edited_in_place() {
        let original = real_conf("user-mgt.xml");
        assert_eq!(
            read_user_mgt(&original).unwrap().data_source.as_deref(),
            Some("jdbc/WSO2CarbonDB")
        );
        let edited = assert_edits_cleanly(&original, UM_JNDI);
        assert_eq!(original.lines().count(), edited.lines().count());
        assert_eq!(edit(&original, "jdbc/WSO2CarbonDB"), original);
        assert_no_bare_lf(&assert_edits_cleanly(&to_crlf(&original), UM_JNDI));
    }

    proptest! {
        #[test]
        fn any_jndi_name_round_trips(jndi in xml_text(), crlf in any::<bool>()) {
            let original = if crlf { to_crlf(FIXTURE) } else { FIXTURE.to_owned() };
            let edited = assert_edits_cleanly(&original, &jndi);
            if crlf {
                assert_no_bare_lf(&edited);
            }
        }
    }
}
