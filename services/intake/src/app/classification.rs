//! Triage's `Classification` message to and from the stored record: the answer of Classify is
//! kept as a `ClassificationRecord`, and given back as the message in answers and events (the
//! conversion is the catalogue crate's, shared with triage).

pub use pingan_catalogue::classification::{from_message, to_message};
