//! The gRPC edge: thin handlers (decode, validate, authorise, call a use case, map errors) and
//! the domain ↔ protobuf mapping.

pub mod clear_reads;
pub mod convert;
pub mod exchange_report;
pub mod grpc;
pub mod service_calls;
