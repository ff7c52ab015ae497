//! Idempotent requests: the first response to a `request_id` is stored in the same transaction
//! as the change it made; a repeat gets that response back, and a repeat with other content is
//! refused with INVALID_ARGUMENT naming `request_id`.

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
        let hash = request_hash(method, request);
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
                "was already used for a different request",
            ));
        }
        let response = Resp::decode(response.as_slice()).map_err(ApiError::internal)?;
        Ok(Previous::Same(response))
    }
}

/// A digest of the method and the request's encoding (the request id itself included).
fn request_hash<Req: prost::Message>(method: &str, request: &Req) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update([0]);
    hasher.update(request.encode_to_vec());
    hex::encode(hasher.finalize())
}
