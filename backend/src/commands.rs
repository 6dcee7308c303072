//! Device commands (`commands`): queued by the force for an officer's
//! handsets (a wipe, for a lost or stolen phone), delivered in the sync
//! reply, done once a handset acknowledges them.

use crate::sql::{Tx, p};
use guardian_protocol::wire::{CommandKind, DeviceCommand};

use crate::backend::{Backend, now_ms};
use crate::error::BackendError;
use crate::officers::{officer, require_officer};

impl Backend {
    /// Queues a command for the officer's handsets; it stays pending until a
    /// handset acknowledges it.
    pub fn queue_command(&self, officer_id: &str, kind: CommandKind) -> Result<String, BackendError> {
        let id = uuid::Uuid::now_v7().to_string();
        let now = now_ms();
        self.write(|tx| {
            if officer(tx, officer_id)?.is_none() {
                return Err(BackendError::UnknownOfficer(officer_id.to_string()));
            }
            tx.execute(
                "INSERT INTO commands (command_id, officer_id, kind, created_ms) VALUES (?1, ?2, ?3, ?4)",
                p![id, officer_id, kind.as_str(), now],
            )?;
            Ok(())
        })?;
        Ok(id)
    }

    /// Marks the officer's own command done. Acking twice is a success (a
    /// retried ack); another officer's command looks like no command at all.
    pub(crate) fn ack_command(&self, sub: &str, command_id: &str, now: i64) -> Result<(), BackendError> {
        self.write(|tx| {
            require_officer(tx, sub)?;
            let n = tx.execute(
                "UPDATE commands SET acked_ms = coalesce(acked_ms, ?3)
                 WHERE command_id = ?1 AND officer_id = ?2",
                p![command_id, sub, now],
            )?;
            if n == 0 {
                return Err(BackendError::NotFound {
                    slug: "unknown-command",
                    reason: "no such command for this officer".into(),
                });
            }
            Ok(())
        })
    }
}

/// The officer's commands not yet acknowledged, oldest first.
pub(crate) fn pending(tx: &Tx<'_>, officer_id: &str) -> Result<Vec<DeviceCommand>, BackendError> {
    let rows = tx.query_all(
        "SELECT command_id, kind FROM commands WHERE officer_id = ?1 AND acked_ms IS NULL
         ORDER BY created_ms, command_id",
        p![officer_id],
        |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)),
    )?;
    rows.into_iter()
        .map(|row| {
            let (id, kind) = row;
            let kind = CommandKind::parse(&kind)
                .ok_or_else(|| BackendError::Corrupt(format!("unknown command kind {kind:?}")))?;
            Ok(DeviceCommand { id, kind })
        })
        .collect()
}
