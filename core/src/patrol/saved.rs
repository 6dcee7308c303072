//! A flat text form for the open patrol's running state, saved beside the
//! track so a restart resumes it instead of re-reading the shift: numbers
//! separated by commas, floats as their exact bits. Hand-written rather
//! than derived because it ships in the phone library, where every derived
//! (de)serialiser costs size, and because floats must read back bit for
//! bit (a resumed tally must equal the fold of the stored track exactly).
//!
//! A reader that meets anything unexpected answers `None`, and the caller
//! falls back to the track itself: a damaged save can cost time, never a
//! minute of evidence.

/// Writes fields in order.
#[derive(Debug, Default)]
pub struct Writer(String);

impl Writer {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn int(&mut self, v: i64) {
        if !self.0.is_empty() {
            self.0.push(',');
        }
        self.0.push_str(&v.to_string());
    }

    pub fn uint(&mut self, v: u64) {
        self.int(v as i64);
    }

    pub fn count(&mut self, v: usize) {
        self.int(i64::try_from(v).unwrap_or(i64::MAX));
    }

    pub fn float(&mut self, v: f64) {
        self.int(v.to_bits() as i64);
    }

    pub fn flag(&mut self, v: bool) {
        self.int(i64::from(v));
    }

    /// A word of `[a-z_]` (an enum's name).
    pub fn word(&mut self, v: &str) {
        if !self.0.is_empty() {
            self.0.push(',');
        }
        self.0.push_str(v);
    }

    pub fn opt<T>(&mut self, v: Option<T>, f: impl FnOnce(&mut Self, T)) {
        self.flag(v.is_some());
        if let Some(x) = v {
            f(self, x);
        }
    }

    pub fn finish(self) -> String {
        self.0
    }
}

/// Reads fields in the order they were written.
pub struct Reader<'a>(std::str::Split<'a, char>);

impl<'a> Reader<'a> {
    pub fn new(text: &'a str) -> Self {
        Self(text.split(','))
    }

    pub fn int(&mut self) -> Option<i64> {
        self.0.next()?.parse().ok()
    }

    pub fn uint(&mut self) -> Option<u64> {
        Some(self.int()? as u64)
    }

    pub fn count(&mut self) -> Option<usize> {
        usize::try_from(self.int()?).ok()
    }

    pub fn float(&mut self) -> Option<f64> {
        Some(f64::from_bits(self.int()? as u64))
    }

    pub fn flag(&mut self) -> Option<bool> {
        match self.int()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }

    pub fn word(&mut self) -> Option<&'a str> {
        self.0.next()
    }

    pub fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.flag()? { f(self).map(Some) } else { Some(None) }
    }

    /// Everything was read, and nothing is left over.
    pub fn done(mut self) -> bool {
        self.0.next().is_none()
    }
}

/// FNV-1a: a stable fingerprint (std's hasher may change between Rust
/// releases, and a save must read back after an app update).
pub fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_back_exactly_and_anything_else_is_none() {
        let mut w = Writer::new();
        w.int(-5);
        w.float(0.1 + 0.2);
        w.float(f64::NAN);
        w.opt(Some(7u64), |w, v| w.uint(v));
        w.opt(None::<i64>, |w, v| w.int(v));
        w.word("poor_accuracy");
        w.flag(true);
        let text = w.finish();
        let mut r = Reader::new(&text);
        assert_eq!(r.int(), Some(-5));
        assert_eq!(r.float().map(f64::to_bits), Some((0.1f64 + 0.2).to_bits()));
        assert!(r.float().is_some_and(f64::is_nan));
        assert_eq!(r.opt(Reader::uint), Some(Some(7)));
        assert_eq!(r.opt(Reader::int), Some(None));
        assert_eq!(r.word(), Some("poor_accuracy"));
        assert_eq!(r.flag(), Some(true));
        assert!(r.done());
        let mut r = Reader::new("1,x");
        assert_eq!(r.int(), Some(1));
        assert_eq!(r.int(), None);
        assert_eq!(Reader::new("2").flag(), None);
        assert_ne!(fingerprint(b"a"), fingerprint(b"b"));
        assert_eq!(fingerprint(b""), 0xcbf2_9ce4_8422_2325);
    }
}
