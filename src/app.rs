//! What the `eidb` binary does: parse arguments, set up logging, run, map errors to exit codes
//! (0 ok / in sync, 1 failure or drift, 2 bad input). In the library, so that the library exports
//! nothing else and the compiler reports every item no command reaches.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use crate::cli::report::{ErrorReport, Report};
use crate::cli::{Cli, Command, Output};
use crate::error::{Error, EXIT_BAD_INPUT};
use crate::progress::Progress;
use crate::run::{self, Mode, Options};
use clap::Parser;

/// The `eidb` command.
pub fn main() -> ExitCode {
    let started = std::time::Instant::now();
    // First of all: from here on SIGINT/SIGTERM stop the run between steps instead of killing it.
    crate::interrupt::install_early();
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
    if let Some(code) = generate(&cli.command) {
        return code;
    }
    crate::cli::logging::init(cli.verbose);
    let statement_secs = cli.statement_timeout.unwrap_or(match cli.command {
        Command::Verify(_) => crate::timeouts::DEFAULT_VERIFY_STATEMENT_SECS,
        _ => crate::timeouts::DEFAULT_PROVISION_STATEMENT_SECS,
    });
    if let Err(message) = crate::timeouts::set(
        Duration::from_secs(cli.connect_timeout),
        Duration::from_secs(statement_secs),
    ) {
        eprintln!("eidb: error: {message}");
        return ExitCode::from(EXIT_BAD_INPUT as u8);
    }
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
    if let Command::LbConfig(args) = &cli.command {
        return match crate::cli::lb_config::run(args) {
            Ok(paths) => {
                for path in paths {
                    eprintln!("eidb: wrote {}", path.display());
                }
                ExitCode::SUCCESS
            }
            Err(error) => {
                print_error(&error);
                ExitCode::from(error.exit_code() as u8)
            }
        };
    }
    if let Command::Init(args) = &cli.command {
        return match runtime.block_on(crate::cli::init::run(args)) {
            Ok((text, notes)) => {
                // Every choice init made, for the person who runs it (the spec's header and the JSON
                // report have them too).
                for note in &notes {
                    eprintln!("eidb: init: {note}");
                }
                if cli.output == Output::Json {
                    let report = serde_json::json!({
                        "command": "init",
                        "status": "written",
                        "out": args.out.as_ref().map(|p| p.display().to_string()),
                        "spec": if args.out.is_none() { Some(&text) } else { None },
                        "notes": notes,
                    });
                    println!("{report:#}");
                } else {
                    match &args.out {
                        Some(path) => eprintln!("eidb: wrote {}", path.display()),
                        None => print!("{text}"),
                    }
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
        _ => None,
    };
    if let Command::Verify(args) = &cli.command {
        if verify_target.is_none() {
            let outcome = runtime.block_on(async {
                crate::interrupt::install();
                crate::interrupt::guard(crate::cli::verify_homes::run(args, &progress, &mut report))
                    .await
            });
            return finish(&cli, outcome, report);
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
        // verify; init and the commands that only generate returned above
        _ => Options {
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
    };
    let outcome = runtime.block_on(async {
        crate::interrupt::install();
        crate::interrupt::guard(run::run(options, &mut report)).await
    });
    crate::timings::log(started.elapsed());
    finish(&cli, outcome, report)
}

/// The commands that only print what eidb generates about itself (no server, no spec, no logging).
fn generate(command: &Command) -> Option<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    let written = match command {
        Command::Completions(args) => {
            // Into memory first: clap_complete panics on a failed write (a closed pipe).
            let mut script = Vec::new();
            crate::cli::generate::completions(args.shell, &mut script);
            stdout.write_all(&script)
        }
        Command::Man(args) => match &args.dir {
            Some(dir) => crate::cli::generate::man_pages(dir).map(|pages| {
                for page in pages {
                    eprintln!("wrote {}", page.display());
                }
            }),
            None => crate::cli::generate::man_page(&mut stdout),
        },
        Command::Schema => crate::cli::generate::spec_schema(&mut stdout),
        Command::Provision(_) | Command::Verify(_) | Command::Init(_) | Command::LbConfig(_) => {
            return None
        }
    };
    Some(match written.and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`eidb man | head`) is not worth an error message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("eidb: error: cannot write: {e}");
            ExitCode::from(1)
        }
    })
}

/// Print the report (and the error, if any) and turn the outcome into the exit code.
fn finish(cli: &Cli, outcome: crate::error::Result<i32>, mut report: Report) -> ExitCode {
    let code = match outcome {
        Ok(code) => code,
        Err(error) => {
            report.status = crate::cli::report::Status::Failed;
            // verify exits 0 in sync, 1 drift, 2 trouble (as `diff` does): a monitor must tell a cluster
            // that drifted from one that could not be checked.
            let code = match cli.command {
                Command::Verify(_) => EXIT_BAD_INPUT,
                _ => error.exit_code(),
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
    // eidb's message; what the server said in it was masked where it was quoted (redact::redact).
    eprintln!(
        "eidb: error: {}",
        crate::redact::backstop(&error.to_string())
    );
}
