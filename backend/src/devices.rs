//! Handsets (`devices`): a handset names itself in every request
//! (`x-guardian-device`) and is registered on its first sync after a sign-in.
//! A revoked one (a lost or stolen phone) is refused whatever token it
//! carries, except for one exchange: its next sync is answered with a wipe
//! command and nothing else, and once it acknowledges the wipe it is refused
//! for good.
//!
//! A token copied off the phone and sent without the device's id, or with
//! another, is not stopped here: only its expiry (access tokens are short)
//! or a sender-constrained token stops that.

use guardian_protocol::rules::check_id;
use guardian_protocol::wire::{CommandKind, DeviceCommand};
use serde::{Deserialize, Serialize};

use crate::backend::{Backend, now_ms};
use crate::error::BackendError;
use crate::sql::p;

/// A device id is a UUID the core made; the wipe command's id is made from
/// it and must itself be an id.
pub const MAX_DEVICE_ID_LEN: usize = 40;
const WIPE_PREFIX: &str = "revoked-";

const SCHEMA: &str = "
CREATE TABLE devices (
    device_id     TEXT PRIMARY KEY,
    officer_id    TEXT NOT NULL,
    first_seen_ms INTEGER NOT NULL,
    revoked_ms    INTEGER,
    revoked_by    TEXT,
    wiped_ms      INTEGER
);
CREATE INDEX devices_officer ON devices (officer_id);
";

/// This module's tables and their versions (see [`crate::db::Schema`]).
pub(crate) const TABLES: crate::db::Schema = crate::db::Schema {
    name: "devices",
    stored: crate::db::Stored::Meta("devices_schema"),
    first: &[SCHEMA],
    fresh: &[SCHEMA],
    upgrades: &[],
};

/// Where a handset stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Standing {
    /// Never synced: registered on its first sync.
    Unknown,
    Active {
        officer_id: String,
    },
    /// Revoked: one sync (the wipe) and its ack left, or none once wiped.
    Revoked {
        wiped: bool,
    },
}

/// A handset as the admin API and the CLI list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub device_id: String,
    pub officer_id: String,
    pub first_seen_ms: i64,
    pub revoked_ms: Option<i64>,
    pub revoked_by: Option<String>,
    pub wiped_ms: Option<i64>,
}

pub(crate) fn check_device_id(id: &str) -> Result<(), BackendError> {
    check_id("device id", id, MAX_DEVICE_ID_LEN).map_err(|e| BackendError::Invalid(e.to_string()))
}

/// The one command a revoked handset is sent.
pub(crate) fn wipe_command(device_id: &str) -> DeviceCommand {
    DeviceCommand {
        id: format!("{WIPE_PREFIX}{device_id}"),
        kind: CommandKind::Wipe,
    }
}

impl Backend {
    pub(crate) fn device_standing(&self, device_id: &str) -> Result<Standing, BackendError> {
        let row = self.read(|tx| {
            tx.query_opt(
                "SELECT officer_id, revoked_ms, wiped_ms FROM devices WHERE device_id = ?1",
                p![device_id],
                |r| Ok((r.get::<String>(0)?, r.get::<Option<i64>>(1)?, r.get::<Option<i64>>(2)?)),
            )
            .map_err(BackendError::from)
        })?;
        Ok(match row {
            None => Standing::Unknown,
            Some((officer_id, None, _)) => Standing::Active { officer_id },
            Some((_, Some(_), wiped)) => Standing::Revoked { wiped: wiped.is_some() },
        })
    }

    /// Registers the handset to the officer now signed in on it (a shared
    /// handset moves from one officer to the next at a shift change). A
    /// revoked handset stays revoked.
    pub(crate) fn register_device(&self, device_id: &str, officer_id: &str, now: i64) -> Result<(), BackendError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO devices (device_id, officer_id, first_seen_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (device_id) DO UPDATE SET officer_id = excluded.officer_id
                 WHERE devices.revoked_ms IS NULL",
                p![device_id, officer_id, now],
            )?;
            Ok(())
        })
    }

    /// Shuts a handset out from now on. Revoking twice keeps the first
    /// revocation's time and author.
    pub fn revoke_device(&self, device_id: &str, by: &str) -> Result<Device, BackendError> {
        check_device_id(device_id)?;
        let now = now_ms();
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE devices SET revoked_ms = coalesce(revoked_ms, ?2), revoked_by = coalesce(revoked_by, ?3)
                 WHERE device_id = ?1",
                p![device_id, now, by],
            )?;
            if n == 0 {
                return Err(BackendError::NotFound {
                    slug: "unknown-device",
                    reason: "no handset with that id has synced with this force".into(),
                });
            }
            Ok(())
        })?;
        self.device_rows(Some(("device_id", device_id)))?
            .pop()
            .ok_or_else(|| BackendError::Server("a revoked device vanished".into()))
    }

    /// The revoked handset acknowledged its wipe: nothing more is answered.
    /// Any other command id is not this handset's.
    pub(crate) fn ack_device_wipe(&self, device_id: &str, command_id: &str, now: i64) -> Result<(), BackendError> {
        if command_id != wipe_command(device_id).id {
            return Err(BackendError::NotFound {
                slug: "unknown-command",
                reason: "no such command for this device".into(),
            });
        }
        self.write(|tx| {
            tx.execute(
                "UPDATE devices SET wiped_ms = coalesce(wiped_ms, ?2) WHERE device_id = ?1 AND revoked_ms IS NOT NULL",
                p![device_id, now],
            )?;
            Ok(())
        })
    }

    /// Every handset, or one officer's, newest first.
    pub fn devices(&self, officer_id: Option<&str>) -> Result<Vec<Device>, BackendError> {
        self.device_rows(officer_id.map(|id| ("officer_id", id)))
    }

    /// The rows whose `column` equals the value, or every row.
    fn device_rows(&self, filter: Option<(&'static str, &str)>) -> Result<Vec<Device>, BackendError> {
        const COLUMNS: &str =
            "SELECT device_id, officer_id, first_seen_ms, revoked_ms, revoked_by, wiped_ms FROM devices";
        const ORDER: &str = "ORDER BY first_seen_ms DESC, device_id";
        let row = |r: &crate::sql::Row| {
            Ok(Device {
                device_id: r.get(0)?,
                officer_id: r.get(1)?,
                first_seen_ms: r.get(2)?,
                revoked_ms: r.get(3)?,
                revoked_by: r.get(4)?,
                wiped_ms: r.get(5)?,
            })
        };
        self.read(|tx| {
            match filter {
                Some((column, value)) => {
                    tx.query_all(&format!("{COLUMNS} WHERE {column} = ?1 {ORDER}"), p![value], row)
                }
                None => tx.query_all(&format!("{COLUMNS} {ORDER}"), p![], row),
            }
            .map_err(BackendError::from)
        })
    }
}
