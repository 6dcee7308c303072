//! The library's part of a sync pass, after the uploads and the pull: fetch
//! the content pack from the handset's version to the force's latest and
//! apply it, then adopt the officer's bookmarks and recent reads if another
//! handset changed them more recently.
//!
//! A pack that fails any check is a typed [`LibraryError`] for the pass, and
//! the library the officer was reading stays exactly as it was.

use super::LibraryError;
use super::db::{self, ApplyOutcome};
use super::pack::Pack;
use super::prefs;
use crate::error::Result;
use crate::guardian::GuardianCore;
use crate::sync::client::Client;

/// What the library's part of a pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LibraryPass {
    /// A new version was applied.
    pub applied: Option<ApplyOutcome>,
    /// The officer's bookmarks and recent reads were restored from the force.
    pub prefs_restored: bool,
}

pub(crate) async fn pass(core: &GuardianCore, client: &Client) -> Result<LibraryPass> {
    let mut out = LibraryPass::default();
    let local = core.store().read(|tx| db::status(tx))?;
    let bytes = client.library_pack(local.version).await?;
    // No body: the force has not published a library yet.
    if !bytes.is_empty() {
        let pack = Pack::decode(&bytes)?;
        let current = pack.is_noop() && pack.version == local.version;
        if current && pack.library_sha256 == local.library_sha256 {
            // Up to date.
        } else {
            out.applied = Some(match apply(core, &pack) {
                // The handset's copy and the force's history disagree (the
                // server was rebuilt, or the handset's version is not one
                // it published): start again from the full library.
                Err(LibraryError::WrongBase { .. } | LibraryError::Mismatch { .. }) => {
                    let full = Pack::decode(&client.library_pack(0).await?)?;
                    apply(core, &full)?
                }
                _ if current => {
                    let full = Pack::decode(&client.library_pack(0).await?)?;
                    apply(core, &full)?
                }
                other => other?,
            });
        }
    }
    if let Some(officer) = core.officer()? {
        let reply = client.library_prefs().await?;
        if let Some(remote) = reply.prefs {
            out.prefs_restored = core
                .store()
                .write(|tx| prefs::restore(tx, &officer.officer_id, &remote))?;
        }
    }
    Ok(out)
}

fn apply(core: &GuardianCore, pack: &Pack) -> std::result::Result<ApplyOutcome, LibraryError> {
    let now = core.now_ms();
    let outcome = core.store().write(|tx| db::apply(tx, pack, now, &mut |_| Ok(())))?;
    if !outcome.unchanged {
        tracing::info!(
            from = outcome.from_version,
            to = outcome.version,
            added = outcome.added,
            changed = outcome.changed,
            removed = outcome.removed,
            "practice library updated"
        );
    }
    Ok(outcome)
}
