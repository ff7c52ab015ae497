//! Idempotent requests: the first response to a `request_id` is stored in the same transaction
//! as the change it made; a repeat gets that response back, and a repeat with other content, or
//! by another caller, is refused with INVALID_ARGUMENT naming `request_id`.
//!
//! The caller is part of what a request id is bound to: a stored response is the first
//! caller's, and handing it to someone else who replays the same bytes would skip the
//! authorization the handler does inside the change (another station's unit, complaint, …).
//! The server wraps every call in [`scope_request`]; authentication notes the subject there.

use std::cell::RefCell;

use sha2::{Digest, Sha256};

use crate::clock::SharedClock;
use crate::error::ApiError;
use crate::storage::{Db, StorageError, Tx};
use crate::{with_db, with_tx};

const SELECT: &str =
    "SELECT method, request_hash, response FROM pingan_request_log WHERE request_id = $1";
const INSERT: &str = "INSERT INTO pingan_request_log \
    (request_id, method, request_hash, response, created_at) VALUES ($1, $2, $3, $4, $5)";

/// Longest accepted request id.
pub const MAX_REQUEST_ID_CHARS: usize = 128;

tokio::task_local! {
    /// The authenticated subject of the RPC this task is serving, once authentication ran.
    static REQUEST_CALLER: RefCell<Option<String>>;
}

/// Runs one RPC's future with a place for its caller (the server does this for every call).
pub async fn scope_request<F: std::future::Future>(future: F) -> F::Output {
    REQUEST_CALLER.scope(RefCell::new(None), future).await
}

/// Records the authenticated subject of the RPC being served (no-op outside [`scope_request`]).
pub fn note_caller(subject: &str) {
    let _ = REQUEST_CALLER.try_with(|caller| *caller.borrow_mut() = Some(subject.to_owned()));
}

/// The subject noted for the RPC being served.
fn current_caller() -> Option<String> {
    REQUEST_CALLER
        .try_with(|caller| caller.borrow().clone())
        .ok()
        .flatten()
}

/// The request log of one service.
#[derive(Debug, Clone)]
pub struct RequestLog {
    db: Db,
    clock: SharedClock,
}

enum Previous<Resp> {
    None,
    Same(Resp),
}

impl RequestLog {
    /// The log in the service's database.
    pub fn new(db: Db, clock: SharedClock) -> Self {
        Self { db, clock }
    }

    /// Runs `change` once per `request_id`: inside a transaction that also records its response.
    /// `method` and `request` identify the content, so a reused id with other content is refused.
    pub async fn run<Req, Resp>(
        &self,
        method: &str,
        request_id: &str,
        request: &Req,
        change: impl AsyncFnOnce(&mut Tx) -> Result<Resp, ApiError>,
    ) -> Result<Resp, ApiError>
    where
        Req: prost::Message,
        Resp: prost::Message + Default,
    {
        if request_id.trim().is_empty() {
            return Err(ApiError::invalid("request_id", "must not be empty"));
        }
        if request_id.chars().count() > MAX_REQUEST_ID_CHARS {
            return Err(ApiError::invalid(
                "request_id",
                format!("must be at most {MAX_REQUEST_ID_CHARS} characters"),
            ));
        }
        let hash = request_hash(method, request, current_caller().as_deref());
        if let Previous::Same(response) = self.previous(method, request_id, &hash).await? {
            return Ok(response);
        }

        let mut tx = self.db.begin_write().await?;
        let response = match change(&mut tx).await {
            Ok(response) => response,
            Err(err) => {
                let _ = tx.rollback().await;
                return Err(err);
            }
        };
        let recorded = with_tx!(&mut tx, conn => sqlx::query(INSERT)
            .bind(request_id)
            .bind(method)
            .bind(&hash)
            .bind(response.encode_to_vec())
            .bind(self.clock.now())
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected()))
        .map_err(StorageError::from);
        match recorded {
            Ok(_) => {
                tx.commit().await?;
                Ok(response)
            }
            // The same id raced us and won: its change stands, ours is rolled back.
            Err(StorageError::Conflict(_)) => {
                let _ = tx.rollback().await;
                match self.previous(method, request_id, &hash).await? {
                    Previous::Same(response) => Ok(response),
                    Previous::None => Err(ApiError::Unavailable(
                        "concurrent request with the same request_id; retry".into(),
                    )),
                }
            }
            Err(err) => {
                let _ = tx.rollback().await;
                Err(err.into())
            }
        }
    }

    async fn previous<Resp: prost::Message + Default>(
        &self,
        method: &str,
        request_id: &str,
        hash: &str,
    ) -> Result<Previous<Resp>, ApiError> {
        let row: Option<(String, String, Vec<u8>)> =
            with_db!(&self.db, pool => sqlx::query_as(SELECT)
            .bind(request_id)
            .fetch_optional(pool)
            .await)
            .map_err(StorageError::from)?;
        let Some((previous_method, previous_hash, response)) = row else {
            return Ok(Previous::None);
        };
        if previous_method != method || previous_hash != hash {
            return Err(ApiError::invalid(
                "request_id",
                "was already used for a different request or by another caller",
            ));
        }
        let response = Resp::decode(response.as_slice()).map_err(ApiError::internal)?;
        Ok(Previous::Same(response))
    }
}

/// A digest of the method, the request's encoding (the request id itself included) and the
/// caller, when one was authenticated.
fn request_hash<Req: prost::Message>(method: &str, request: &Req, caller: Option<&str>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update([0]);
    hasher.update(request.encode_to_vec());
    if let Some(caller) = caller {
        hasher.update(b"\0caller\0");
        hasher.update(caller.as_bytes());
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_caller_noted_for_a_request_is_part_of_its_hash() {
        let request = prost_types::Timestamp {
            seconds: 7,
            nanos: 0,
        };
        let anonymous = request_hash("m", &request, current_caller().as_deref());
        let (a, b, again) = (
            scope_request(async {
                note_caller("officer-a");
                request_hash("m", &request, current_caller().as_deref())
            })
            .await,
            scope_request(async {
                note_caller("officer-b");
                request_hash("m", &request, current_caller().as_deref())
            })
            .await,
            scope_request(async {
                note_caller("officer-a");
                request_hash("m", &request, current_caller().as_deref())
            })
            .await,
        );
        assert_ne!(a, b, "two callers share a request hash");
        assert_eq!(a, again, "one caller's repeat changed its hash");
        assert_ne!(anonymous, a);
        // Outside a request nothing is noted, and noting is harmless.
        note_caller("nobody");
        assert_eq!(current_caller(), None);
    }
}
