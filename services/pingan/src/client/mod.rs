//! The command center's client commands (`pingan call|incidents|units|dispatch|board|transfers|
//! complaints|audit|completions`): one file per command group over a shared connection and
//! output module. Exit codes are documented in docs/cli.md and mapped here in one place.

pub mod audit;
pub mod board;
pub mod board_view;
pub mod call;
pub mod complaints;
pub mod completions;
pub mod conn;
pub mod dispatch;
pub mod incidents;
pub mod output;
pub mod transfers;
pub mod units;

use clap::Subcommand;

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: anything not listed below (local I/O, an unexpected server error).
pub const EXIT_OTHER: u8 = 1;
/// Exit code: bad command line (clap's own code; also a missing flag without a terminal).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: the server refused the request (INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS,
/// FAILED_PRECONDITION, OUT_OF_RANGE).
pub const EXIT_REFUSED: u8 = 3;
/// Exit code: UNAUTHENTICATED or PERMISSION_DENIED.
pub const EXIT_AUTH: u8 = 4;
/// Exit code: the endpoint could not be reached or answered UNAVAILABLE, DEADLINE_EXCEEDED or
/// RESOURCE_EXHAUSTED (worth retrying later).
pub const EXIT_UNAVAILABLE: u8 = 5;
/// Exit code: `audit verify` found a broken link in the audit chain.
pub const EXIT_AUDIT_BROKEN: u8 = 6;

/// The client command groups, flattened into `pingan`'s own subcommands.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Report a call to intake (as the 110 call taker would).
    #[command(subcommand)]
    Call(call::CallCommand),
    /// Units: list, find the nearest, set a status, report a position.
    #[command(subcommand)]
    Units(units::UnitsCommand),
    /// Dispatches: assign a unit, acknowledge, arrive, close; list and show.
    #[command(subcommand)]
    Dispatch(dispatch::DispatchCommand),
    /// The command board: open dispatches by priority, units by status, live.
    #[command(subcommand)]
    Board(board::BoardCommand),
    /// The 12345 transfer ledger.
    #[command(subcommand)]
    Transfers(transfers::TransfersCommand),
    /// Complaints against officers.
    #[command(subcommand)]
    Complaints(complaints::ComplaintsCommand),
    /// The tamper-evident audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
}

/// A usage error found after parsing (e.g. a missing flag with no terminal to ask on): exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// `audit verify` found the chain broken: exit 6 (the report is already printed).
#[derive(Debug, thiserror::Error)]
#[error("audit chain broken at sequence {0}")]
pub struct AuditChainBroken(pub i64);

/// Runs a client command on the runtime and exits with its documented code on error.
pub fn main(runtime: &tokio::runtime::Runtime, command: ClientCommand) -> anyhow::Result<()> {
    let result = runtime.block_on(async move {
        match command {
            ClientCommand::Call(command) => call::run(command).await,
            ClientCommand::Units(command) => units::run(command).await,
            ClientCommand::Dispatch(command) => dispatch::run(command).await,
            ClientCommand::Board(command) => board::run(command).await,
            ClientCommand::Transfers(command) => transfers::run(command).await,
            ClientCommand::Complaints(command) => complaints::run(command).await,
            ClientCommand::Audit(command) => audit::run(command).await,
        }
    });
    finish(result)
}

/// Prints an error to stderr (with the gRPC status code and message) and exits with its code;
/// `Ok` passes through.
pub fn finish(result: anyhow::Result<()>) -> anyhow::Result<()> {
    if let Err(err) = result {
        // The reader went away (`pingan incidents list | head`): nothing left to tell anyone.
        let broken_pipe = err.chain().any(|cause| {
            cause
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        });
        if broken_pipe {
            std::process::exit(i32::from(EXIT_OK));
        }
        eprintln!("error: {}", describe(&err));
        std::process::exit(i32::from(exit_code(&err)));
    }
    Ok(())
}

/// The exit code of an error (see the `EXIT_*` constants and docs/cli.md).
pub fn exit_code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(status) = cause.downcast_ref::<tonic::Status>() {
            return status_exit_code(status.code());
        }
        if cause.downcast_ref::<tonic::transport::Error>().is_some() {
            return EXIT_UNAVAILABLE;
        }
        if cause.downcast_ref::<UsageError>().is_some()
            || matches!(
                cause.downcast_ref::<pingan_platform::tls::ClientChannelError>(),
                Some(pingan_platform::tls::ClientChannelError::Usage(_))
            )
        {
            return EXIT_USAGE;
        }
        if cause.downcast_ref::<AuditChainBroken>().is_some() {
            return EXIT_AUDIT_BROKEN;
        }
    }
    EXIT_OTHER
}

/// The exit code of a gRPC status code.
pub fn status_exit_code(code: tonic::Code) -> u8 {
    use tonic::Code;
    match code {
        Code::Ok => EXIT_OK,
        Code::InvalidArgument
        | Code::NotFound
        | Code::AlreadyExists
        | Code::FailedPrecondition
        | Code::OutOfRange => EXIT_REFUSED,
        Code::Unauthenticated | Code::PermissionDenied => EXIT_AUTH,
        Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted => EXIT_UNAVAILABLE,
        _ => EXIT_OTHER,
    }
}

/// One line: every context, a gRPC status as `CODE: message`.
pub fn describe(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let part = match cause.downcast_ref::<tonic::Status>() {
            Some(status) => format!("{}: {}", code_name(status.code()), status.message()),
            None => cause.to_string(),
        };
        // A transport error repeats its source's text: keep each part once.
        if parts.last() != Some(&part) {
            parts.push(part);
        }
        if cause.downcast_ref::<tonic::Status>().is_some() {
            break;
        }
    }
    parts.join(": ")
}

/// `INVALID_ARGUMENT` for `Code::InvalidArgument`: the names grpcurl and the gRPC docs use.
pub fn code_name(code: tonic::Code) -> String {
    let mut name = String::new();
    for (i, c) in format!("{code:?}").chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_map_to_the_documented_exit_codes() {
        let cases = [
            (tonic::Code::InvalidArgument, 3),
            (tonic::Code::NotFound, 3),
            (tonic::Code::FailedPrecondition, 3),
            (tonic::Code::Unauthenticated, 4),
            (tonic::Code::PermissionDenied, 4),
            (tonic::Code::Unavailable, 5),
            (tonic::Code::DeadlineExceeded, 5),
            (tonic::Code::Internal, 1),
        ];
        for (code, exit) in cases {
            let err = anyhow::Error::new(tonic::Status::new(code, "x")).context("calling");
            assert_eq!(exit_code(&err), exit, "{code:?}");
        }
        assert_eq!(exit_code(&anyhow::anyhow!("local")), 1);
        assert_eq!(exit_code(&UsageError("missing --lat".into()).into()), 2);
    }

    #[test]
    fn an_error_reads_as_context_code_and_message() {
        let err = anyhow::Error::new(tonic::Status::invalid_argument("location.lat out of range"))
            .context("ReportCall");
        assert_eq!(
            describe(&err),
            "ReportCall: INVALID_ARGUMENT: location.lat out of range"
        );
        assert_eq!(
            code_name(tonic::Code::FailedPrecondition),
            "FAILED_PRECONDITION"
        );
    }
}
