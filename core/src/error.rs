//! The core's rich internal error. Each concern owns its own error type and
//! its functions return it; this enum only gathers them, converted once, so
//! that the façade has one `Result`. The small, stable error the foreign
//! side sees is made from this in one place in the FFI crate.

use crate::library::LibraryError;
use crate::patrol::{AreaError, FixError, PatrolError};
use crate::referral::ReferralError;
use crate::store::StoreError;
use crate::sync::{self, SyncError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Area(#[from] AreaError),
    #[error(transparent)]
    Fix(#[from] FixError),
    #[error(transparent)]
    Patrol(#[from] PatrolError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error(transparent)]
    Referral(#[from] ReferralError),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Store(StoreError::from(e))
    }
}

impl From<sync::Error> for Error {
    fn from(e: sync::Error) -> Self {
        match e {
            sync::Error::Sync(e) => Error::Sync(e),
            sync::Error::Store(e) => Error::Store(e),
            sync::Error::Library(e) => Error::Library(e),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
