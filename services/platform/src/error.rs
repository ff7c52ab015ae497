//! One error type for the gRPC boundary and its single mapping to `tonic::Status`.
//! Services convert their own typed errors into [`ApiError`]; clients get a stable code and a
//! short message, people get the details in the logs.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

use crate::storage::StorageError;

/// Errors as clients see them.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Bad input; every offending field is named.
    #[error("invalid argument: {}", .0.summary())]
    InvalidArgument(FieldViolations),
    /// The record does not exist (or is outside the caller's jurisdiction).
    #[error("{0} not found")]
    NotFound(String),
    /// The record already exists, or a request id was reused with other content.
    #[error("{0}")]
    AlreadyExists(String),
    /// The record is not in a state that allows the operation.
    #[error("{0}")]
    FailedPrecondition(String),
    /// The caller is known but may not do this.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The caller did not present valid credentials.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// A dependency (database, Redis, another service) cannot be reached; retrying may help.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected failure; details are logged, not returned.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    /// An internal error from any error value.
    pub fn internal(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(err.into())
    }

    /// A single invalid field.
    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        let mut violations = FieldViolations::default();
        violations.add(field, description);
        Self::InvalidArgument(violations)
    }
}

/// Collects the invalid fields of one request, so the client learns all of them at once.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldViolations {
    violations: Vec<(String, String)>,
}

impl FieldViolations {
    /// Records that `field` is invalid and why.
    pub fn add(&mut self, field: &str, description: impl Into<String>) {
        self.violations.push((field.to_owned(), description.into()));
    }

    /// Requires a non-blank string.
    pub fn require_non_empty(&mut self, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.add(field, "must not be empty");
        }
    }

    /// Requires a string of at most `max` characters.
    pub fn require_max_chars(&mut self, field: &str, value: &str, max: usize) {
        if value.chars().count() > max {
            self.add(field, format!("must be at most {max} characters"));
        }
    }

    /// Requires a latitude/longitude pair in WGS-84 range.
    pub fn require_coordinates(&mut self, field: &str, lat: f64, lon: f64) {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            self.add(&format!("{field}.lat"), "must be between -90 and 90");
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            self.add(&format!("{field}.lon"), "must be between -180 and 180");
        }
    }

    /// True when no field was found invalid.
    pub fn is_empty(&self) -> bool {
        self.violations.is_empty()
    }

    /// The offending field names.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.violations.iter().map(|(field, _)| field.as_str())
    }

    /// `Ok(())` when valid, otherwise `ApiError::InvalidArgument` with every violation.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(ApiError::InvalidArgument(self))
        }
    }

    fn summary(&self) -> String {
        self.violations
            .iter()
            .map(|(field, description)| format!("{field} {description}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl From<ApiError> for Status {
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::InvalidArgument(violations) => {
                let message = format!("invalid argument: {}", violations.summary());
                let details = ErrorDetails::with_bad_request(
                    violations
                        .violations
                        .into_iter()
                        .map(|(field, description)| FieldViolation::new(field, description))
                        .collect::<Vec<_>>(),
                );
                Status::with_error_details(Code::InvalidArgument, message, details)
            }
            ApiError::NotFound(what) => Status::not_found(format!("{what} not found")),
            ApiError::AlreadyExists(message) => Status::already_exists(message),
            ApiError::FailedPrecondition(message) => Status::failed_precondition(message),
            ApiError::PermissionDenied(message) => Status::permission_denied(message),
            ApiError::Unauthenticated(message) => Status::unauthenticated(message),
            ApiError::Unavailable(message) => {
                tracing::warn!(error = %message, "dependency unavailable");
                Status::unavailable(message)
            }
            ApiError::Internal(source) => {
                tracing::error!(error = %source, "internal error");
                Status::internal("internal error")
            }
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::NotFound => ApiError::NotFound("record".into()),
            StorageError::Conflict(what) => ApiError::AlreadyExists(what),
            StorageError::Unavailable(source) => ApiError::Unavailable(source.to_string()),
            StorageError::Other(source) => ApiError::Internal(source),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_names_every_field_in_bad_request_details() {
        let mut violations = FieldViolations::default();
        violations.require_non_empty("description", "  ");
        violations.require_coordinates("location", 91.0, 200.0);
        let status: Status = violations.finish().unwrap_err().into();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains("description"));
        let bad_request = status
            .get_details_bad_request()
            .expect("bad request details");
        let fields: Vec<_> = bad_request
            .field_violations
            .iter()
            .map(|v| v.field.as_str())
            .collect();
        assert_eq!(fields, ["description", "location.lat", "location.lon"]);
    }

    #[test]
    fn internal_errors_do_not_leak_details() {
        let status: Status = ApiError::internal("secret connection string").into();
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("secret"));
    }

    #[test]
    fn valid_input_passes() {
        let mut violations = FieldViolations::default();
        violations.require_non_empty("name", "绒乡派出所");
        violations.require_max_chars("name", "绒乡派出所", 5);
        violations.require_coordinates("location", 29.25, 88.86);
        assert!(violations.finish().is_ok());
    }
}
