//! eidb entry point: parse arguments, set up logging, run, map errors to exit codes
//! (0 ok / in sync, 1 failure or drift, 2 bad input).

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use eidb::app::{self, Mode, Options};
use eidb::cli::{Cli, Command, Output};
use eidb::error::{Error, EXIT_BAD_INPUT};
use eidb::progress::Progress;
use eidb::report::{ErrorReport, Report};

fn main() -> ExitCode {
    // First of all: from here on SIGINT/SIGTERM stop the run between steps instead of killing it.
    eidb::interrupt::install_early();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                EXIT_BAD_INPUT as u8
            } else {
                0
            });
        }
    };
    eidb::logging::init(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("eidb: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let progress = Progress::new(cli.output == Output::Human);
    let mut report = Report::default();
    if let Command::Init(args) = &cli.command {
        return match eidb::init::run(args) {
            Ok(text) => {
                match &args.out {
                    Some(path) => eprintln!("eidb: wrote {}", path.display()),
                    None => print!("{text}"),
                }
                ExitCode::SUCCESS
            }
            Err(error) => {
                print_error(&error);
                ExitCode::from(error.exit_code() as u8)
            }
        };
    }
    let verify_target = match &cli.command {
        Command::Verify(args) => args.target(),
        Command::Provision(_) | Command::Init(_) => None,
    };
    if let Command::Verify(args) = &cli.command {
        if verify_target.is_none() {
            return finish(
                &cli,
                runtime.block_on(eidb::verify_homes::run(args, &progress, &mut report)),
                report,
            );
        }
    }
    let options = match &cli.command {
        Command::Provision(args) => Options {
            target: &args.target,
            mode: Mode::Provision {
                dry_run: args.dry_run,
            },
            parallel: args.parallel,
            lock_wait: Duration::from_secs(args.lock_wait),
            reapply_changed_script: args.reapply_changed_script,
            allow_destructive: args.allow_destructive,
            detailed_exitcode: args.detailed_exitcode,
            progress,
        },
        Command::Verify(_) => Options {
            target: verify_target
                .as_ref()
                .expect("a verify without a spec returned above"),
            mode: Mode::Verify,
            parallel: 1,
            lock_wait: Duration::ZERO,
            reapply_changed_script: false,
            allow_destructive: false,
            detailed_exitcode: false,
            progress,
        },
        Command::Init(_) => unreachable!("init returned above"),
    };
    let outcome = runtime.block_on(async {
        eidb::interrupt::install();
        app::run(options, &mut report).await
    });
    finish(&cli, outcome, report)
}

/// Print the report (and the error, if any) and turn the outcome into the exit code.
fn finish(cli: &Cli, outcome: eidb::error::Result<i32>, mut report: Report) -> ExitCode {
    let code = match outcome {
        Ok(code) => code,
        Err(error) => {
            report.status = "failed".to_string();
            // verify exits 0 in sync, 1 drift, 2 trouble (as `diff` does): a monitor must tell a cluster
            // that drifted from one that could not be checked.
            let code = match cli.command {
                Command::Verify(_) => EXIT_BAD_INPUT,
                Command::Provision(_) | Command::Init(_) => error.exit_code(),
            };
            report.error = Some(ErrorReport {
                message: error.message.clone(),
                hint: error.hint.clone(),
                exit_code: code,
            });
            print_error(&error);
            code
        }
    };
    let rendered = match cli.output {
        Output::Json => report.to_json() + "\n",
        Output::Human if report.error.is_none() => report.to_human(),
        Output::Human => report
            .preflight
            .as_ref()
            .map(|_| report.to_human())
            .unwrap_or_default(),
    };
    let _ = std::io::stdout().lock().write_all(rendered.as_bytes());
    ExitCode::from(code as u8)
}

fn print_error(error: &Error) {
    eprintln!("eidb: error: {}", eidb::redact::redact(&error.to_string()));
}
