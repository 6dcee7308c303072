//! The core's `tracing` events, forwarded to the shell's log (logcat,
//! os_log) through a [`LogSink`], and panics logged the same way.
//!
//! Personal data never leaves through here: only an event's level, target
//! and message go out, never its fields (a field could hold a name or a
//! place), and a panic is logged by its location only.

use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Once, RwLock};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber, span};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl From<&Level> for LogLevel {
    fn from(l: &Level) -> Self {
        match *l {
            Level::ERROR => LogLevel::Error,
            Level::WARN => LogLevel::Warn,
            Level::INFO => LogLevel::Info,
            Level::DEBUG => LogLevel::Debug,
            _ => LogLevel::Trace,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LogRecord {
    pub level: LogLevel,
    /// The Rust module that logged, e.g. "guardian_core::sync::engine".
    pub target: String,
    pub message: String,
}

/// The shell's log. Called on whichever thread logged; keep it quick.
#[uniffi::export(callback_interface)]
pub trait LogSink: Send + Sync {
    fn log(&self, record: LogRecord);
}

static SINK: RwLock<Option<Arc<dyn LogSink>>> = RwLock::new(None);
/// The most verbose level forwarded, as `LogLevel as u8`.
static MAX_LEVEL: AtomicU8 = AtomicU8::new(LogLevel::Info as u8);
static INSTALL: Once = Once::new();

/// Forwards the core's logs at `max_level` and above to `sink`, replacing
/// any earlier sink. Also logs panics (by location) before they are turned
/// into an exception.
#[uniffi::export]
pub fn set_log_sink(sink: Box<dyn LogSink>, max_level: LogLevel) {
    MAX_LEVEL.store(max_level as u8, Ordering::Relaxed);
    *SINK.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::from(sink));
    INSTALL.call_once(|| {
        // Another global subscriber (a test harness's) wins; nothing to do then.
        let _ = tracing::subscriber::set_global_default(Forwarder);
        tracing::callsite::rebuild_interest_cache();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let at = info
                .location()
                .map_or_else(|| "unknown place".to_string(), |l| format!("{}:{}", l.file(), l.line()));
            tracing::error!(target: "guardian_ffi::panic", "panic at {at}");
            previous(info);
        }));
    });
}

/// Stops forwarding logs.
#[uniffi::export]
pub fn clear_log_sink() {
    *SINK.write().unwrap_or_else(|p| p.into_inner()) = None;
}

fn sink() -> Option<Arc<dyn LogSink>> {
    SINK.read().unwrap_or_else(|p| p.into_inner()).clone()
}

fn wanted(level: &Level) -> bool {
    LogLevel::from(level) as u8 <= MAX_LEVEL.load(Ordering::Relaxed)
}

/// A minimal subscriber: no spans, no fields, just the message.
struct Forwarder;

impl Subscriber for Forwarder {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        // The level and the sink can change at run time: ask every time.
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.is_event() && wanted(metadata.level())
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::TRACE)
    }

    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }

    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}

    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}

    fn event(&self, event: &Event<'_>) {
        let Some(sink) = sink() else { return };
        let mut message = MessageOnly(String::new());
        event.record(&mut message);
        let record = LogRecord {
            level: event.metadata().level().into(),
            target: event.metadata().target().to_string(),
            message: message.0,
        };
        // A sink that throws must not break the code that logged.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sink.log(record)));
    }

    fn enter(&self, _: &span::Id) {}

    fn exit(&self, _: &span::Id) {}
}

/// Keeps the `message` field and drops every other.
struct MessageOnly(String);

impl Visit for MessageOnly {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            use fmt::Write as _;
            let _ = write!(self.0, "{value:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Collect(Arc<Mutex<Vec<LogRecord>>>);

    impl LogSink for Collect {
        fn log(&self, record: LogRecord) {
            self.0.lock().unwrap_or_else(|p| p.into_inner()).push(record);
        }
    }

    #[test]
    fn only_the_message_and_target_are_forwarded() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        set_log_sink(Box::new(Collect(Arc::clone(&seen))), LogLevel::Info);
        let name = "Jane Doe";
        tracing::info!(target: "guardian_core::test", name, "checked in");
        tracing::debug!(target: "guardian_core::test", "too verbose");
        clear_log_sink();
        let seen = seen.lock().unwrap_or_else(|p| p.into_inner());
        let ours: Vec<_> = seen.iter().filter(|r| r.target == "guardian_core::test").collect();
        assert_eq!(ours.len(), 1);
        assert_eq!(ours[0].message, "checked in");
        assert_eq!(ours[0].level, LogLevel::Info);
        assert!(!format!("{ours:?}").contains("Jane"));
    }
}
