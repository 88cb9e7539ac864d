//! rprov's entry point: parse the command line, run, and turn the outcome into
//! an exit status. Fatal errors are printed here and nowhere else.
//!
//! Exit status: 0 all well, 2 a task failed on some host, 4 some host was
//! unreachable (and no task failed), 1 a usage or configuration error found
//! before any host was touched.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let (args, persona) = rprov::cli::command_line();
    // Usage errors exit 1 like every error found before a host is touched
    // (clap's own default is 2, which rprov reserves for failed tasks); as
    // ansible-playbook or ansible-inventory, 2, as their argument parser does.
    let cli = match rprov::cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = match (e.use_stderr(), persona.is_ansible()) {
                (false, _) => 0,
                (true, false) => 1,
                (true, true) => 2,
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match rprov::run::run(cli) {
        Ok(outcome) => ExitCode::from(outcome.exit_code() as u8),
        Err(err) => {
            // The chain, once: "error: ..." then one "caused by:" line per
            // cause; as one of Ansible's programs, its `[ERROR]: ` (scripts
            // grep it), a playbook's error with its `Origin:` line.
            use rprov::cli::Persona;
            let mut msg = match (persona, err.downcast_ref::<rprov::diag::LoadError>()) {
                (Persona::AnsiblePlaybook | Persona::Ansible, Some(load)) => load.as_ansible(),
                (Persona::Rprov, _) => format!("error: {err}"),
                _ => format!("[ERROR]: {err}"),
            };
            for cause in err.chain().skip(1) {
                msg.push_str(&format!("\n  caused by: {cause}"));
            }
            eprintln!("{msg}");
            ExitCode::from(rprov::run::error_exit_code(&err, persona))
        }
    }
}
