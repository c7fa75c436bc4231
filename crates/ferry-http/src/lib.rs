//! Ferry's one HTTP front door. Every service is served on one listener:
//! this crate picks the service (`X-Amz-Target`, the SigV4 credential
//! scope, `/_ferry/` for Ferry's own endpoints), authenticates the request
//! with `ferry-sigv4` against keys resolved by `ferry-core`, hands the typed
//! request to the service's adapter, renders errors in the service's
//! protocol, and writes the audit record and the metrics.
//!
//! Adapters (`ferry-api-*`) implement [`Service`]; they translate and
//! decide nothing. This crate decides nothing either, beyond "is this
//! request authentic".
//!
//! S3 is different: its adapter implements [`RestService`] and gets the
//! request itself with a streaming, checked body ([`RestBody`]); see the
//! `rest` module.
//!
//! Layout: `service` (the adapter trait and wire types), `protocol`
//! (rendering per protocol), `auth` (SigV4 -> principal), `dispatch` (one
//! request's way), `rest` (the streaming REST route for S3), `admin` (the `/_ferry/` endpoints), `server` (listener,
//! shutdown), `metrics`.

mod admin;
mod auth;
mod dispatch;
mod metrics;
mod protocol;
mod rest;
mod server;
mod service;

pub use metrics::install_metrics;
pub use protocol::{Protocol, xml_escape};
pub use rest::{
    AnonymousRequest, AuthInfo, AuthType, RestAudit, RestBody, RestBodyError, RestCaller,
    RestResponse, RestService, TrailerHandle, s3_error_response,
};
pub use server::{FrontDoor, Limits, serve};
pub use service::{ApiError, ApiRequest, ApiResult, Params, Service, Success};
