//! `verify --ei-home DIR ...`: checking a WSO2 EI cluster eidb did not set up, without a spec.

use crate::core::check::Check;
use std::time::{Duration, Instant};

use sqlx::Row;

use crate::cli::report::Report;
use crate::core::drift::Finding;
use crate::error::{Error, Result, EXIT_FAILURE, EXIT_OK};
use crate::node::wiring::{self, NodeState};
use crate::progress::Progress;
use crate::server::connect::statement_error;
use crate::server::members;

/// `verify --ei-home DIR ...`: check a cluster eidb did not set up, from its nodes' files alone, and
/// (with `--server-url`) that the databases and accounts they name exist and let the nodes in.
pub async fn run(
    args: &crate::cli::VerifyArgs,
    progress: &Progress,
    report: &mut Report,
) -> Result<i32> {
    let started = Instant::now();
    report.command = crate::cli::report::CommandName::Verify;
    report.without_spec = Some(if args.server_url.is_some() {
        "the nodes' files are consistent, agree with each other, and their databases and logins work on the server"
    } else {
        "the nodes' files are consistent and agree with each other"
    });
    let mut states = Vec::new();
    for (i, home) in args.ei_home.iter().enumerate() {
        let name = format!("{} ({})", i + 1, home.display());
        states.push(NodeState::read(&name, home)?);
    }
    let mut findings: Vec<Finding> = states.iter().flat_map(wiring::node_consistency).collect();
    findings.extend(states.iter().flat_map(wiring::secrets_at_rest));
    findings.extend(wiring::cross_node(&states));
    let clustering: Vec<_> = states
        .iter()
        .map(|s| crate::node::clustering::read_found(&s.name, &s.ei_home))
        .collect();
    findings.extend(crate::node::clustering::cross_node(&clustering));
    if let Some(url) = &args.server_url {
        findings.extend(check_referenced_databases(args, url, &states, progress, report).await?);
    }
    report.status = if findings.is_empty() {
        crate::cli::report::Status::InSync
    } else {
        crate::cli::report::Status::Drift
    };
    let code = if findings.is_empty() {
        EXIT_OK
    } else {
        EXIT_FAILURE
    };
    report.findings = findings;
    report.elapsed_ms = started.elapsed().as_millis();
    Ok(code)
}

/// The databases and accounts the nodes' MySQL datasources name: do they exist, and do the nodes'
/// credentials (read from their files) log in to them?
async fn check_referenced_databases(
    args: &crate::cli::VerifyArgs,
    url: &str,
    states: &[NodeState],
    progress: &Progress,
    report: &mut Report,
) -> Result<Vec<Finding>> {
    let admin_password = match (&args.admin_password_env, &args.admin_password_file) {
        (Some(var), _) => crate::secret::load(&crate::secret::SecretSource::Env(var.clone()))
            .map_err(Error::input)?,
        (None, Some(file)) => crate::secret::load(&crate::secret::SecretSource::File(file.clone()))
            .map_err(Error::input)?,
        (None, None) => secrecy::SecretString::from(String::new()),
    };
    let server = crate::core::spec::Server::from_url(url)?;
    let admins = crate::server::connect::Endpoint::admins(&server, &admin_password);
    let (endpoint, mut admin) =
        members::connect_first_usable(&admins, Duration::from_secs(args.wait), progress).await?;
    let mut findings = Vec::new();
    let mut checked = std::collections::BTreeSet::new();
    for state in states {
        let text = crate::node::files::TextFile::read(
            &state
                .ei_home
                .join(crate::node::files::ConfFile::Datasources.relative_path()),
        )?
        .text;
        let passwords = crate::node::conf::read_datasource_passwords(&text).unwrap_or_default();
        for datasource in &state.datasources {
            let (Some(url), Some(user)) = (&datasource.url, &datasource.username) else {
                continue;
            };
            if !url.starts_with("jdbc:mysql") {
                continue;
            }
            let Some(database) = crate::core::plan::mysql_database(url).map(str::to_string) else {
                continue;
            };
            if !checked.insert((database.clone(), user.clone())) {
                continue;
            }
            let subject = format!("database {database}");
            let exists: Option<i64> = sqlx::query(
                "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
            )
            .bind(&database)
            .fetch_one(&mut admin)
            .await
            .map_err(|e| statement_error(&e, "reading the databases"))?
            .try_get(0)
            .ok();
            if exists != Some(1) {
                findings.push(Finding {
                    subject,
                    check: Check::NodeDatabaseMissing,
                    expected: Some(format!("database {database}, named by node {}", state.name)),
                    found: None,
                    fix: "create it and load the dbscript (eidb provision with a spec does both)"
                        .into(),
                    location: None,
                });
                continue;
            }
            let password = datasource
                .jndi_name
                .as_ref()
                .and_then(|jndi| passwords.iter().find(|(j, _)| j == jndi))
                .and_then(|(_, p)| p.clone());
            let Some(password) = password else {
                progress.line(&format!(
                    "{database}: no plain password for {user} in node {}'s files (a Secure Vault alias, or none); its login is not tried",
                    state.name
                ));
                continue;
            };
            crate::redact::register(secrecy::ExposeSecret::expose_secret(&password));
            let login = endpoint
                .as_account(user, &password)
                .connect(Some(&database))
                .await;
            match login {
                Ok(conn) => crate::server::connect::close(conn).await,
                Err(e) => findings.push(Finding {
                    subject,
                    check: Check::NodeLoginRefused,
                    expected: Some(format!("{user} logs in to {database} with the password in node {}'s files", state.name)),
                    found: Some(e.message),
                    fix: "create the account or set its password and grants to match the datasource (eidb provision with a spec does this)".into(),
                    location: None,
                }),
            }
        }
    }
    // The nodes' mount records, planned and rendered as a spec run does (one comparer).
    let inputs: Vec<crate::core::mounts::NodeInput> = states
        .iter()
        .filter_map(|state| {
            let registry_xml = crate::node::files::TextFile::read(
                &state
                    .ei_home
                    .join(crate::node::files::ConfFile::Registry.relative_path()),
            )
            .ok()
            .map(|file| file.text);
            crate::node::mounts::input_for_home(state, registry_xml.as_deref())
        })
        .collect();
    let mut plan = crate::core::plan::Plan::default();
    crate::server::mounts::plan_into(&mut admin, &inputs, &mut plan).await?;
    crate::server::connect::close(admin).await;
    findings.extend(crate::core::findings::findings(&plan));
    // As in a spec run, a mount Carbon will fail to make with no record in the way is a warning.
    report
        .warnings
        .extend(plan.warnings.iter().map(crate::core::findings::of_conflict));
    report.mount_records = plan.mount_records;
    Ok(findings)
}
