//! Field errors, and the id and free-text rules every record uses.
//!
//! A [`FieldError`] names a stable field path (`subject.name`) and a typed
//! problem, never the value: values may be a child's details, and errors
//! reach logs and screens.

use serde::{Deserialize, Serialize};

/// Wire enums are read from their names only. serde's derive would also
/// take a variant's index (`"urgency": 0`), a second spelling nobody
/// documents; with this an enum deserialises through its `parse`.
macro_rules! names_only {
    ($($t:ty),+ $(,)?) => {$(
        impl TryFrom<String> for $t {
            type Error = String;

            fn try_from(s: String) -> Result<Self, String> {
                <$t>::parse(&s).ok_or_else(|| format!("{s:?} is not a known {}", stringify!($t)))
            }
        }
    )+};
}
pub(crate) use names_only;

/// Ids are client-made UUIDs or short force codes.
pub const MAX_ID_LEN: usize = 64;
/// Display names of officers and Navigators.
pub const MAX_DISPLAY_NAME: usize = 200;
/// A display name: one line, 1 to 200 characters.
pub const DISPLAY_NAME: Text = Text::line(1, MAX_DISPLAY_NAME);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct FieldError {
    /// Stable field path, e.g. `subject.date_of_birth`.
    pub field: String,
    pub problem: FieldProblem,
}

impl FieldError {
    pub fn new(field: impl Into<String>, problem: FieldProblem) -> Self {
        Self {
            field: field.into(),
            problem,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldProblem {
    #[error("is required")]
    Required,
    #[error("is too long (at most {max} characters)")]
    TooLong { max: usize },
    #[error("is too short (at least {min} characters)")]
    TooShort { min: usize },
    #[error("contains control characters")]
    ControlCharacters,
    #[error("may hold only letters, digits and . _ : - and must start with a letter or digit")]
    NotAnId,
    #[error("is not a plausible time")]
    ImplausibleTime,
    #[error("is not a date (YYYY-MM-DD)")]
    NotADate,
    #[error("is in the future")]
    InFuture,
    #[error("must be between {min} and {max}")]
    OutOfRange { min: i32, max: i32 },
    #[error("does not agree with the date of birth")]
    Inconsistent,
    #[error("lists the same reason twice")]
    Duplicate,
    #[error("has more than {max} entries")]
    TooMany { max: usize },
    #[error("is not one of the allowed values")]
    Unknown,
    #[error("is not expected here")]
    Unexpected,
    #[error("needs a reason when consent is not given")]
    NeedsReason,
    #[error("without consent, a referral can only proceed as a safeguarding concern")]
    NeedsConsentOrSafeguarding,
    #[error("is not a usable location")]
    BadLocation,
    #[error("{0}")]
    ChooseAuthority(String),
}

/// An id: 1 to `max` characters of ASCII letters, digits and `. _ : -`,
/// starting with a letter or digit. UUIDs and force codes fit; look-alikes
/// (zero-width or bidirectional characters, other scripts' letters) and
/// cells a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) do
/// not.
pub fn id_problem(value: &str, max: usize) -> Option<FieldProblem> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
    match value.chars().next() {
        None => Some(FieldProblem::Required),
        Some(_) if value.chars().count() > max => Some(FieldProblem::TooLong { max }),
        Some(first) if !first.is_ascii_alphanumeric() || !value.chars().all(allowed) => Some(FieldProblem::NotAnId),
        Some(_) => None,
    }
}

/// Characters that make text read other than it is stored: bidirectional
/// embeddings, overrides and isolates, and zero-width spaces. (Joiners
/// stay: emoji and several scripts need them.)
pub fn is_invisible_trick(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}' | '\u{2060}' | '\u{FEFF}')
}

/// [`id_problem`] as a field error.
pub fn check_id(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    id_problem(value, max).map_or(Ok(()), |p| Err(FieldError::new(field, p)))
}

/// Free text typed by an officer: counted in characters after trimming;
/// `multiline` allows line breaks and tabs (a narrative, an address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text {
    pub min: usize,
    pub max: usize,
    pub multiline: bool,
}

impl Text {
    pub const fn line(min: usize, max: usize) -> Self {
        Self {
            min,
            max,
            multiline: false,
        }
    }

    pub const fn lines(min: usize, max: usize) -> Self {
        Self {
            min,
            max,
            multiline: true,
        }
    }

    /// [`Text::problem`] as a field error.
    pub fn check(&self, field: &str, value: &str) -> Result<(), FieldError> {
        self.problem(value).map_or(Ok(()), |p| Err(FieldError::new(field, p)))
    }

    pub fn problem(&self, value: &str) -> Option<FieldProblem> {
        let trimmed = value.trim();
        let n = trimmed.chars().count();
        if n == 0 && self.min > 0 {
            return Some(FieldProblem::Required);
        }
        if n > self.max {
            return Some(FieldProblem::TooLong { max: self.max });
        }
        if n < self.min {
            return Some(FieldProblem::TooShort { min: self.min });
        }
        let allowed = |c: char| self.multiline && matches!(c, '\n' | '\t' | '\r');
        if trimmed
            .chars()
            .any(|c| (c.is_control() && !allowed(c)) || is_invisible_trick(c))
        {
            return Some(FieldProblem::ControlCharacters);
        }
        None
    }
}

/// A slug: lowercase ASCII letters, digits and inner hyphens (and, for a
/// topic path, inner single slashes), at most [`MAX_ID_LEN`] bytes. Library
/// article and topic ids are slugs: they appear in URLs and file names.
pub fn is_slug(id: &str, allow_slash: bool) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || (allow_slash && b == b'/'))
        && !id.starts_with(['-', '/'])
        && !id.ends_with(['-', '/'])
        && !id.contains("//")
}

/// Collects every problem of a record or a form, so a screen (or a force
/// system reading a 422) sees them all at once.
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, problem: FieldProblem) {
        self.0.push(FieldError::new(field, problem));
    }

    pub fn check(&mut self, field: &str, problem: Option<FieldProblem>) {
        if let Some(p) = problem {
            self.add(field, p);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result<T>(self, ok: impl FnOnce() -> T) -> Result<T, Vec<FieldError>> {
        if self.0.is_empty() { Ok(ok()) } else { Err(self.0) }
    }

    pub fn into_vec(self) -> Vec<FieldError> {
        self.0
    }
}

/// Field names and problems, joined for a sentence: never a value.
pub fn describe(errors: &[FieldError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_short_plain_ascii_and_present() {
        for ok in [
            "abc",
            "wm-4471",
            "0190a0b0-0000-7000-8000-00000000beef",
            "VRP-1A2B",
            "a.b_c:d",
            "7",
        ] {
            assert_eq!(id_problem(ok, 64), None, "{ok}");
        }
        assert_eq!(id_problem("", 64), Some(FieldProblem::Required));
        assert_eq!(id_problem(&"x".repeat(65), 64), Some(FieldProblem::TooLong { max: 64 }));
        for bad in [
            "  ",
            "a\nb",
            "a b",
            "wm\u{200B}4471",
            "wm-4471\u{202E}",
            "\u{0430}dmin",
            "=HYPERLINK(\"x\")",
            "+1",
            "-2",
            "@sum",
            "_x",
            "a/b",
        ] {
            assert_eq!(id_problem(bad, 64), Some(FieldProblem::NotAnId), "{bad:?}");
        }
    }

    #[test]
    fn text_may_not_hide_or_reorder_what_it_says() {
        let t = Text::line(1, 100);
        assert_eq!(t.problem("PC Amira Shah"), None);
        assert_eq!(t.problem("👩\u{200D}⚕️ nurse"), None, "joiners stay");
        for bad in ["Shah\u{202E}evil", "A\u{200B}B", "\u{2066}x\u{2069}", "x\u{FEFF}"] {
            assert_eq!(t.problem(bad), Some(FieldProblem::ControlCharacters), "{bad:?}");
        }
    }

    #[test]
    fn free_text_allows_line_breaks_only_where_multiline() {
        assert_eq!(Text::lines(1, 100).problem("line one\nline two\tend"), None);
        assert_eq!(
            Text::line(1, 100).problem("line one\nline two"),
            Some(FieldProblem::ControlCharacters)
        );
        assert_eq!(
            Text::lines(1, 100).problem("nul\u{0}"),
            Some(FieldProblem::ControlCharacters)
        );
        assert_eq!(Text::lines(1, 100).problem(" "), Some(FieldProblem::Required));
        assert_eq!(Text::lines(0, 100).problem(""), None);
        assert_eq!(
            Text::lines(10, 100).problem("short"),
            Some(FieldProblem::TooShort { min: 10 })
        );
        // Characters, not bytes.
        assert_eq!(Text::line(0, 100).problem(&"é".repeat(100)), None);
        assert_eq!(
            Text::line(0, 100).problem(&"é".repeat(101)),
            Some(FieldProblem::TooLong { max: 100 })
        );
    }

    #[test]
    fn a_field_error_names_the_field_not_the_value() {
        let name = "Jane Doe ".repeat(20);
        let e = FieldError::new("subject.name", Text::line(1, 100).problem(&name).expect("too long"));
        assert_eq!(e.to_string(), "subject.name: is too long (at most 100 characters)");
    }

    #[test]
    fn field_errors_round_trip_through_json() {
        let e = FieldError::new("subject.estimated_age", FieldProblem::OutOfRange { min: 0, max: 25 });
        let json = serde_json::to_string(&e).expect("json");
        assert_eq!(serde_json::from_str::<FieldError>(&json).expect("back"), e);
    }

    #[test]
    fn slugs_are_lowercase_with_inner_separators() {
        for ok in ["a", "trauma-informed", "practice/street", "x1"] {
            assert!(is_slug(ok, true), "{ok}");
        }
        for bad in ["", "A", "-a", "a-", "a//b", "a/b/", "a b", &"a".repeat(65)] {
            assert!(!is_slug(bad, true), "{bad}");
        }
        assert!(!is_slug("practice/street", false));
    }
}
