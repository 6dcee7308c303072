//! The map tiles the patrol view may draw under a track: off unless the
//! force sets a template, and then only an `https://` one that cannot break
//! out of an attribute or the Content-Security-Policy.

use crate::sql::p;

use crate::backend::Backend;
use crate::error::BackendError;

pub(super) const SCHEMA: &str = "
CREATE TABLE review_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

impl Backend {
    /// The tile layer the patrol view draws under the track, if the force
    /// set one (off by default: tiles come from outside and would tell the
    /// tile server where a patrol was).
    pub fn review_tile_layer(&self) -> Result<Option<String>, BackendError> {
        self.read(|tx| {
            Ok(tx.query_opt(
                "SELECT value FROM review_settings WHERE key = 'tile_layer'",
                p![],
                |r| r.get(0),
            )?)
        })
    }

    /// Sets (or with `None` removes) the tile layer: an `https://` URL
    /// template with `{z}`, `{x}` and `{y}`.
    pub fn set_review_tile_layer(&self, template: Option<&str>) -> Result<(), BackendError> {
        if let Some(t) = template {
            check_tile_template(t)?;
        }
        self.write(|tx| {
            match template {
                Some(t) => tx.execute(
                    "INSERT INTO review_settings (key, value) VALUES ('tile_layer', ?1)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    p![t],
                )?,
                None => tx.execute("DELETE FROM review_settings WHERE key = 'tile_layer'", p![])?,
            };
            Ok(())
        })
    }
}

/// A tile URL template the page may load: `https://host[:port]/…` with
/// `{z}`, `{x}` and `{y}`, and nothing that could break out of an
/// attribute or a Content-Security-Policy.
pub fn check_tile_template(t: &str) -> Result<(), BackendError> {
    let bad = |why: &str| BackendError::Invalid(format!("tile layer {why}"));
    if t.len() > 300 {
        return Err(bad("is longer than 300 characters"));
    }
    let rest = t
        .strip_prefix("https://")
        .ok_or_else(|| bad("must start with https://"))?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
    {
        return Err(bad("has no plain host name"));
    }
    if !t
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._~:/?&={}%@".contains(c))
    {
        return Err(bad("has characters a URL template does not need"));
    }
    for p in ["{z}", "{x}", "{y}"] {
        if !t.contains(p) {
            return Err(bad(&format!("has no {p}")));
        }
    }
    Ok(())
}

/// The origin (`https://host[:port]`) of a checked tile template.
pub fn tile_origin(t: &str) -> &str {
    let after = t.find("://").map_or(0, |i| i + 3);
    match t[after..].find('/') {
        Some(i) => &t[..after + i],
        None => t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tile_template_must_be_https_with_its_three_placeholders() {
        assert!(check_tile_template("https://tiles.example.org/{z}/{x}/{y}.png").is_ok());
        assert!(check_tile_template("https://t.example:8443/a/{z}/{x}/{y}?k=1").is_ok());
        for bad in [
            "http://tiles.example.org/{z}/{x}/{y}.png",
            "https://tiles.example.org/{z}/{x}.png",
            "https://tiles.example.org/{z}/{x}/{y}.png\" onload=\"x",
            "https://tiles.example.org/{z}/{x}/{y}.png; script-src *",
            "https:///{z}/{x}/{y}",
            "javascript:alert(1)//{z}{x}{y}",
        ] {
            assert!(check_tile_template(bad).is_err(), "{bad}");
        }
        assert_eq!(
            tile_origin("https://t.example:8443/a/{z}/{x}/{y}"),
            "https://t.example:8443"
        );
    }
}
