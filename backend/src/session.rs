//! The web pages' server-side sessions, and the sign-ins in progress that
//! lead to them.
//!
//! A browser holds only a random 256-bit session id in an `HttpOnly`
//! cookie; this table holds its SHA-256 (a copy of the table names no live
//! session), who it is and until when. Signing out deletes the row, so the
//! cookie is dead at once on every instance, not merely forgotten by one
//! browser. Expired rows go whenever a new session or sign-in is made.
//!
//! A sign-in in progress (`web_sign_ins`) lives at most [`SIGN_IN_TTL_MS`]
//! and is taken once: the callback deletes it as it reads it.

use crate::backend::{Backend, now_ms};
use crate::error::BackendError;
use crate::oidc::WebAttempt;
use crate::oidc::web_digest as digest;
use crate::sql::p;
use crate::token::{Claims, Role};

const SCHEMA: &str = "
CREATE TABLE web_sessions (
    session_hash TEXT PRIMARY KEY,
    pages        TEXT NOT NULL,
    subject      TEXT NOT NULL,
    role         TEXT NOT NULL,
    created_ms   INTEGER NOT NULL,
    expires_ms   INTEGER NOT NULL
);
CREATE INDEX web_sessions_subject ON web_sessions (subject);
CREATE TABLE web_sign_ins (
    state        TEXT PRIMARY KEY,
    binding_hash TEXT NOT NULL,
    nonce        TEXT NOT NULL,
    verifier     TEXT NOT NULL,
    next         TEXT NOT NULL,
    created_ms   INTEGER NOT NULL
);
";

/// Version 2: why the reader said they were looking, given at sign-in and
/// written into every access-log entry the session makes.
const PURPOSE: &str = "
ALTER TABLE web_sessions ADD COLUMN purpose TEXT;
ALTER TABLE web_sign_ins ADD COLUMN purpose TEXT;
";

pub(crate) const TABLES: crate::db::Schema = crate::db::Schema {
    name: "sessions",
    stored: crate::db::Stored::Meta("sessions_schema"),
    first: &[SCHEMA],
    fresh: &[SCHEMA, PURPOSE],
    upgrades: &[purpose_columns],
};

fn purpose_columns(tx: &crate::sql::Tx<'_>) -> Result<(), BackendError> {
    Ok(tx.execute_batch(PURPOSE)?)
}

/// A sign-in taken at the callback: the attempt, where to go next and the
/// purpose given.
pub(crate) type TakenSignIn = (WebAttempt, String, Option<String>);

/// A live page session: who, and the purpose they gave when signing in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WebSession {
    pub who: Claims,
    pub purpose: Option<String>,
}

/// How long a browser has to come back from the provider.
pub const SIGN_IN_TTL_MS: i64 = 10 * 60 * 1000;

/// Which pages a session opens (its cookie's path is theirs too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pages {
    Review,
    Navigator,
    Audit,
}

impl Pages {
    fn as_str(self) -> &'static str {
        match self {
            Pages::Review => "review",
            Pages::Navigator => "navigator",
            Pages::Audit => "audit",
        }
    }
}

impl Backend {
    /// Keeps a sign-in in progress until the browser comes back.
    pub(crate) fn save_web_sign_in(
        &self,
        attempt: &WebAttempt,
        next: &str,
        purpose: Option<&str>,
    ) -> Result<(), BackendError> {
        let now = now_ms();
        self.write(|tx| {
            tx.execute(
                "DELETE FROM web_sign_ins WHERE created_ms < ?1",
                p![now - SIGN_IN_TTL_MS],
            )?;
            tx.execute(
                "INSERT INTO web_sign_ins (state, binding_hash, nonce, verifier, next, created_ms, purpose)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                p![
                    attempt.state,
                    digest(&attempt.binding),
                    attempt.nonce,
                    attempt.verifier,
                    next,
                    now,
                    purpose
                ],
            )?;
            Ok(())
        })
    }

    /// The sign-in `state` names, taken (it is gone after this, whatever
    /// follows), if it is still in time and `binding` is the cookie of the
    /// browser that began it. Returns the attempt, where to go next and the
    /// purpose given.
    pub(crate) fn take_web_sign_in(&self, state: &str, binding: &str) -> Result<Option<TakenSignIn>, BackendError> {
        let now = now_ms();
        self.write(|tx| {
            let row = tx.query_opt(
                "SELECT binding_hash, nonce, verifier, next, created_ms, purpose FROM web_sign_ins WHERE state = ?1",
                p![state],
                |r| {
                    Ok((
                        (r.get::<String>(0)?, r.get::<String>(1)?, r.get::<String>(2)?),
                        (r.get::<String>(3)?, r.get::<i64>(4)?, r.get::<Option<String>>(5)?),
                    ))
                },
            )?;
            tx.execute("DELETE FROM web_sign_ins WHERE state = ?1", p![state])?;
            Ok(row.and_then(|((bound, nonce, verifier), (next, created, purpose))| {
                (created >= now - SIGN_IN_TTL_MS && bound == digest(binding)).then(|| {
                    (
                        WebAttempt {
                            state: state.to_string(),
                            nonce,
                            verifier,
                            binding: binding.to_string(),
                        },
                        next,
                        purpose,
                    )
                })
            }))
        })
    }

    /// A new session for `who` on `pages`, ending at `expires_ms`; the
    /// cookie's value.
    pub(crate) fn open_web_session(
        &self,
        pages: Pages,
        who: &Claims,
        purpose: Option<&str>,
        expires_ms: i64,
    ) -> Result<String, BackendError> {
        let id = crate::oidc::web_random();
        let now = now_ms();
        self.write(|tx| {
            tx.execute("DELETE FROM web_sessions WHERE expires_ms <= ?1", p![now])?;
            tx.execute(
                "INSERT INTO web_sessions (session_hash, pages, subject, role, created_ms, expires_ms, purpose)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                p![
                    digest(&id),
                    pages.as_str(),
                    who.sub,
                    who.role.as_str(),
                    now,
                    expires_ms,
                    purpose
                ],
            )?;
            Ok::<_, BackendError>(())
        })?;
        Ok(id)
    }

    /// Who a live session cookie on `pages` is.
    pub(crate) fn web_session(&self, pages: Pages, cookie: &str) -> Result<Option<WebSession>, BackendError> {
        let now = now_ms();
        let row = self
            .read(|tx| {
                Ok(tx.query_opt(
                    "SELECT subject, role, expires_ms, purpose FROM web_sessions
                 WHERE session_hash = ?1 AND pages = ?2 AND expires_ms > ?3",
                    p![digest(cookie), pages.as_str(), now],
                    |r| {
                        Ok((
                            r.get::<String>(0)?,
                            r.get::<String>(1)?,
                            r.get::<i64>(2)?,
                            r.get::<Option<String>>(3)?,
                        ))
                    },
                )?)
            })
            .map_err(|e: BackendError| e)?;
        Ok(row.and_then(|(sub, role, expires_ms, purpose)| {
            Some(WebSession {
                who: Claims {
                    sub,
                    // A role this build no longer knows opens nothing.
                    role: Role::parse(&role)?,
                    exp: expires_ms / 1000,
                },
                purpose,
            })
        }))
    }

    /// Ends a session (sign-out); whether there was one.
    pub(crate) fn end_web_session(&self, cookie: &str) -> Result<bool, BackendError> {
        self.write(|tx| Ok(tx.execute("DELETE FROM web_sessions WHERE session_hash = ?1", p![digest(cookie)])? > 0))
    }

    /// Ends every page session of `subject` (a leaver, a removed
    /// Navigator); how many.
    pub fn end_web_sessions_of(&self, subject: &str) -> Result<u64, BackendError> {
        self.write(|tx| Ok(tx.execute("DELETE FROM web_sessions WHERE subject = ?1", p![subject])?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend() -> (tempfile::TempDir, Backend) {
        let dir = tempfile::tempdir().expect("tempdir");
        let b = Backend::open(&dir.path().join("s.db")).expect("open");
        (dir, b)
    }

    fn supervisor() -> Claims {
        Claims {
            sub: "sup-1".into(),
            role: Role::Supervisor,
            exp: 0,
        }
    }

    #[test]
    fn a_session_opens_its_pages_until_it_ends_or_expires() {
        let (_d, b) = backend();
        let later = now_ms() + 60_000;
        let id = b
            .open_web_session(Pages::Review, &supervisor(), Some("Weekly compliance review"), later)
            .expect("open");
        let live = b.web_session(Pages::Review, &id).expect("read").expect("live");
        assert_eq!((live.who.sub.as_str(), live.who.role), ("sup-1", Role::Supervisor));
        assert_eq!(live.purpose.as_deref(), Some("Weekly compliance review"));
        assert!(
            b.web_session(Pages::Navigator, &id).expect("read").is_none(),
            "its own pages only"
        );
        assert!(b.web_session(Pages::Review, "made-up").expect("read").is_none());
        assert!(b.end_web_session(&id).expect("end"));
        assert!(b.web_session(Pages::Review, &id).expect("read").is_none(), "ended");
        assert!(!b.end_web_session(&id).expect("end again"));

        let past = b
            .open_web_session(Pages::Review, &supervisor(), None, now_ms() - 1)
            .expect("open");
        assert!(b.web_session(Pages::Review, &past).expect("read").is_none(), "expired");
        let a = b
            .open_web_session(Pages::Review, &supervisor(), None, later)
            .expect("open");
        let c = b
            .open_web_session(Pages::Review, &supervisor(), None, later)
            .expect("open");
        assert_eq!(
            b.end_web_sessions_of("sup-1").expect("end all"),
            2,
            "the expired row was swept"
        );
        assert!(b.web_session(Pages::Review, &a).expect("read").is_none());
        assert!(b.web_session(Pages::Review, &c).expect("read").is_none());
    }

    #[test]
    fn a_sign_in_is_taken_once_and_only_by_the_browser_that_began_it() {
        let (_d, b) = backend();
        let attempt = WebAttempt::new();
        b.save_web_sign_in(&attempt, "/review?date=2026-12-01", None)
            .expect("save");
        assert!(
            b.take_web_sign_in(&attempt.state, "another-browser")
                .expect("take")
                .is_none(),
            "another browser's cookie"
        );
        // That try used it up: login CSRF cannot be retried into success.
        assert!(
            b.take_web_sign_in(&attempt.state, &attempt.binding)
                .expect("take")
                .is_none()
        );

        let attempt = WebAttempt::new();
        b.save_web_sign_in(&attempt, "/review", Some("Checking last night's patrols"))
            .expect("save");
        let (got, next, purpose) = b
            .take_web_sign_in(&attempt.state, &attempt.binding)
            .expect("take")
            .expect("in time");
        assert_eq!((got, next.as_str()), (attempt.clone(), "/review"));
        assert_eq!(purpose.as_deref(), Some("Checking last night's patrols"));
        assert!(
            b.take_web_sign_in(&attempt.state, &attempt.binding)
                .expect("again")
                .is_none(),
            "once"
        );
    }
}
