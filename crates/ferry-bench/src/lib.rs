//! Load generators for Ferry (`ferry bench ...`), usable against any server
//! that speaks the same AWS wire protocol, so that Ferry and a peer such as
//! `moto_server` can be measured by the same client in the same run
//! (`benches/sqs.py` does that).
//!
//! A generator written in Rust, not Python, so that the client is not the
//! bottleneck. It signs every request with SigV4 (the workspace's own
//! `ferry-sigv4`) and checks every answer: a failed request, or a failed
//! entry of a batch, is counted by its error code, never hidden, and never
//! stops the run.
//!
//! - [`sqs`]: send, receive and delete throughput and latency of SQS over
//!   AWS JSON 1.0 (`ferry bench sqs`).
//! - [`s3`]: small-object PUT and GET throughput and latency, and big-object
//!   PUT and GET bandwidth, of S3 over path-style REST (`ferry bench s3`).

pub mod common;
pub mod s3;
pub mod sqs;

/// `ferry bench ...` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// SQS send/receive/delete throughput: N clients loop SendMessageBatch,
    /// ReceiveMessage, DeleteMessageBatch against --endpoint.
    Sqs(sqs::Args),
    /// S3 PUT/GET throughput: N clients PUT then GET small objects for a
    /// window each, then one big object is PUT and GET, against --endpoint.
    S3(s3::Args),
}

/// Runs a `ferry bench` subcommand.
pub async fn run(command: Command) -> Result<(), common::Error> {
    match command {
        Command::Sqs(args) => sqs::main(args).await,
        Command::S3(args) => s3::main(args).await,
    }
}
