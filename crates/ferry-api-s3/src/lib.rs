//! Ferry's S3 adapter: S3's REST-XML wire (path-style and virtual-hosted
//! requests, as boto3, the `aws` CLI and the SDKs send them) translated into
//! calls on ferry-core's object store, and the answers rendered back.
//!
//! The protocol work (routing a request to one of S3's operations, reading
//! its headers, query and XML body, writing the XML answer and S3's error
//! document) is done by [`s3s`], configured without its own authentication:
//! Ferry's front door (`ferry-http`'s REST route) has already verified the
//! signature (header, presigned URL, `aws-chunked` chunks), resolved the
//! principal, removed the credentials from the request and put the caller's
//! [`RequestContext`](ferry_core::RequestContext) in its extensions. s3s
//! copies the extensions into each `S3Request`, where the operations here
//! find the context and hand it to ferry-core, which makes every
//! authorization decision. Nothing here decides who may do what: an unsigned
//! request arrives with the anonymous principal's context, and the core's
//! policies (a grant to `*`) decide, as for anyone else.
//!
//! Each response carries a [`ferry_http::RestAudit`] (operation name, bucket
//! owner, error code) for the front door's audit record.

mod audit;
mod backend;
mod control;
mod error;
mod host;
mod ops;
mod service;
mod token;

pub use backend::Backend;
pub use host::FerryHost;
pub use service::S3Service;

#[cfg(test)]
mod tests;
