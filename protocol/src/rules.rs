//! Field errors, and the id and free-text rules every record uses.
//!
//! A [`FieldError`] names a stable field path (`subject.name`) and a typed
//! problem, never the value: values may be a child's details, and errors
//! reach logs and screens.

use serde::{Deserialize, Serialize};

/// Ids are client-made UUIDs or short force codes.
pub const MAX_ID_LEN: usize = 64;
/// Display names of officers and Navigators.
pub const MAX_DISPLAY_NAME: usize = 200;

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

/// An id: present, at most `max` characters, no control characters.
pub fn id_problem(value: &str, max: usize) -> Option<FieldProblem> {
    if value.trim().is_empty() {
        Some(FieldProblem::Required)
    } else if value.chars().count() > max {
        Some(FieldProblem::TooLong { max })
    } else if value.chars().any(char::is_control) {
        Some(FieldProblem::ControlCharacters)
    } else {
        None
    }
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
        if trimmed.chars().any(|c| c.is_control() && !allowed(c)) {
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
    fn ids_must_be_short_printable_and_present() {
        assert_eq!(id_problem("abc", 64), None);
        assert_eq!(id_problem("", 64), Some(FieldProblem::Required));
        assert_eq!(id_problem("  ", 64), Some(FieldProblem::Required));
        assert_eq!(id_problem(&"x".repeat(65), 64), Some(FieldProblem::TooLong { max: 64 }));
        assert_eq!(id_problem("a\nb", 64), Some(FieldProblem::ControlCharacters));
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
