//! `application/x-www-form-urlencoded`: the query strings of every route
//! and the review pages' forms, decoded one way. Anything not valid
//! percent-encoded UTF-8 is a 400, never a guess.

use super::ApiFailure;

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// `application/x-www-form-urlencoded` pairs (a query string or a form).
pub(super) fn pairs(s: Option<&str>) -> Result<Vec<(String, String)>, ApiFailure> {
    let mut out = Vec::new();
    for kv in s.unwrap_or("").split('&').filter(|kv| !kv.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        let (Some(k), Some(v)) = (percent_decode(k), percent_decode(v)) else {
            return Err(ApiFailure::bad_request(
                "the query or form is not valid percent-encoded UTF-8",
            ));
        };
        out.push((k, v));
    }
    Ok(out)
}

pub(super) fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_percent_and_plus() {
        let p = pairs(Some("token=v1.a-b_c.d%3D&next=%2Freview%3Fdate%3D2026-07-03&x=a+b")).expect("pairs");
        assert_eq!(get(&p, "token"), Some("v1.a-b_c.d="));
        assert_eq!(get(&p, "next"), Some("/review?date=2026-07-03"));
        assert_eq!(get(&p, "x"), Some("a b"));
        assert!(pairs(Some("a=%zz")).is_err());
        assert!(pairs(Some("a=%ff")).is_err());
        assert!(pairs(Some("a=%4")).is_err());
    }
}
