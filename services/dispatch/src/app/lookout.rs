//! The lookout of story 1: after a dispatch is committed, grid-registry is asked to broadcast to
//! the grid's audience. Its failure never fails the dispatch: it is logged and recorded on the
//! dispatch (`lookout_error`); a repeat of the OpenDispatch request tries again (grid-registry
//! de-duplicates on the request id derived from the dispatch id).

use std::time::Duration;

use pingan_platform::ApiError;
use pingan_proto::common::v1::Actor;
use pingan_proto::dispatch::v1::{Dispatch, TimelineEntryKind};
use pingan_proto::grid::v1::grid_registry_service_client::GridRegistryServiceClient;
use pingan_proto::grid::v1::{BroadcastAudience, BroadcastToGridRequest};

use crate::app::outbound::{self, Entry};
use crate::app::records;
use crate::app::{Effects, Runtime};
use pingan_platform::time::to_timestamp;

async fn call_grid(runtime: &Runtime, dispatch: &Dispatch) -> Result<String, String> {
    let lookout = dispatch.lookout.clone().unwrap_or_default();
    let grid_id = if lookout.grid_id.is_empty() {
        dispatch.grid_id.clone()
    } else {
        lookout.grid_id.clone()
    };
    let audiences = if lookout.audiences.is_empty() {
        vec![BroadcastAudience::Residents as i32]
    } else {
        lookout.audiences.clone()
    };
    let channel = runtime
        .context
        .peers
        .channel("grid-registry")
        .map_err(|e| e.to_string())?;
    let mut request = tonic::Request::new(BroadcastToGridRequest {
        request_id: format!("lookout-{}", dispatch.dispatch_id),
        grid_id,
        audiences,
        channels: Vec::new(),
        title: "协查通报".to_owned(),
        message: lookout.message,
        dispatch_id: dispatch.dispatch_id.clone(),
        incident_id: dispatch.incident_id.clone(),
    });
    request.set_timeout(
        runtime
            .settings
            .lookout_timeout
            .max(Duration::from_millis(100)),
    );
    match GridRegistryServiceClient::new(channel)
        .broadcast_to_grid(request)
        .await
    {
        Ok(response) => Ok(response
            .into_inner()
            .broadcast
            .map(|b| b.broadcast_id)
            .unwrap_or_default()),
        Err(status) => Err(format!("{:?}: {}", status.code(), status.message())),
    }
}

/// Broadcasts the dispatch's lookout and records the outcome; returns the dispatch after it.
pub async fn broadcast(
    runtime: &Runtime,
    dispatch: &Dispatch,
    actor: &Actor,
) -> Result<Dispatch, ApiError> {
    let outcome = call_grid(runtime, dispatch).await;
    if let Err(error) = &outcome {
        tracing::warn!(dispatch_id = %dispatch.dispatch_id, error = %error, "lookout broadcast failed; dispatch goes on");
    }
    let context = &runtime.context;
    let now = runtime.now();
    let mut tx = context.db.begin_write().await?;
    let mut effects = Effects::default();
    let Some(mut current) =
        records::lock_dispatch(&*runtime.store, &mut tx, &dispatch.dispatch_id).await?
    else {
        return Err(ApiError::NotFound(format!(
            "dispatch {}",
            dispatch.dispatch_id
        )));
    };
    match outcome {
        Ok(broadcast_id) => {
            current.lookout_broadcast_id = if broadcast_id.is_empty() {
                format!("lookout-{}", dispatch.dispatch_id)
            } else {
                broadcast_id
            };
            current.lookout_error.clear();
            current.updated_at = Some(to_timestamp(now));
            records::update_dispatch(&*runtime.store, &mut tx, &current).await?;
            let description = format!("lookout broadcast {}", current.lookout_broadcast_id);
            outbound::record_entry(
                runtime,
                &mut tx,
                &mut effects,
                &current,
                Entry {
                    kind: TimelineEntryKind::LookoutBroadcast,
                    assignment: None,
                    actor,
                    note: "",
                    description,
                    location: None,
                },
                now,
            )
            .await?;
        }
        Err(error) => {
            current.lookout_error = error.chars().take(500).collect();
            current.updated_at = Some(to_timestamp(now));
            records::update_dispatch(&*runtime.store, &mut tx, &current).await?;
        }
    }
    context.outbox.commit(tx).await?;
    effects.dispatch = Some(current.clone());
    runtime.after_commit(effects).await;
    Ok(current)
}
