//! Pingan's v1 API: generated protobuf messages, tonic clients and servers, and the encoded
//! file descriptor set that server reflection serves.

#![allow(clippy::all, clippy::pedantic, clippy::unwrap_used, missing_docs)]

pub mod pingan {
    pub mod common {
        pub mod v1 {
            tonic::include_proto!("pingan.common.v1");
        }
    }
    pub mod events {
        pub mod v1 {
            tonic::include_proto!("pingan.events.v1");
        }
    }
    pub mod intake {
        pub mod v1 {
            tonic::include_proto!("pingan.intake.v1");
        }
    }
    pub mod triage {
        pub mod v1 {
            tonic::include_proto!("pingan.triage.v1");
        }
    }
    pub mod hotline {
        pub mod v1 {
            tonic::include_proto!("pingan.hotline.v1");
        }
    }
    pub mod dispatch {
        pub mod v1 {
            tonic::include_proto!("pingan.dispatch.v1");
        }
    }
    pub mod grid {
        pub mod v1 {
            tonic::include_proto!("pingan.grid.v1");
        }
    }
    pub mod followup {
        pub mod v1 {
            tonic::include_proto!("pingan.followup.v1");
        }
    }
    pub mod audit {
        pub mod v1 {
            tonic::include_proto!("pingan.audit.v1");
        }
    }
}

pub use pingan::*;

/// Every Pingan .proto (and the well-known types they import), encoded for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/pingan_descriptor.bin"));
