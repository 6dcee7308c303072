//! The track's wire format: a chunk of fixes, delta-encoded and deflated.
//!
//! A walking officer moves a metre or two a second, so each fix differs from
//! the one before by a few hundred units of 1e-7° and almost exactly 1,000 ms:
//! small zig-zag varints, which deflate then squeezes further. One JSON
//! object per fix costs ~100+ bytes; this costs a few.
//!
//! Lossless to the stored precision: fixes are stored quantised
//! ([`Fix::quantised`]) to 1e-7° (1.1 cm), 0.1 m accuracy and altitude,
//! 0.01 m/s speed, 0.1° bearing and whole milliseconds of monotonic time, and
//! decode gives back exactly the stored values.
//!
//! Layout (format 1): `b"GTC1"`, then a deflate stream of: varint count;
//! per fix a flags byte (bit 0 altitude, 1 speed, 2 bearing; bits 3–7 the
//! verdict code), then zig-zag varints of the deltas of time (ms), monotonic
//! time minus wall-time delta (ms), latitude and longitude (1e-7°) and
//! accuracy (dm), then the optional fields present, absolute.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;

use crate::fix::{Fix, RejectReason, Verdict};

pub const MAGIC: &[u8; 4] = b"GTC1";
pub const FORMAT: u32 = 1;
/// Hostile-input limits for decoding. A handset packs 600 fixes a chunk;
/// this is well above any real one.
pub const MAX_FIXES: usize = 10_000;
/// The most one fix can take once inflated: a flags byte and eight varints.
const MAX_FIX_BYTES: u64 = 1 + 8 * 10;
/// A real chunk inflates to about three times its size; deflate can reach
/// a thousand. Beyond this it is not a track, it is a bomb.
const MAX_RATIO: u64 = 64;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CodecError {
    #[error("not a track chunk (bad magic)")]
    BadMagic,
    #[error("track chunk is truncated")]
    Truncated,
    #[error("track chunk is corrupt: {0}")]
    Corrupt(&'static str),
    #[error("track chunk has {0} fixes, more than allowed")]
    TooLarge(usize),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoredFix {
    pub fix: Fix,
    pub verdict: Verdict,
}

pub fn verdict_code(v: Verdict) -> u8 {
    match v {
        Verdict::Accepted => 0,
        Verdict::Rejected(r) => 1 + RejectReason::ALL.iter().position(|x| *x == r).unwrap_or(0) as u8,
    }
}

fn verdict_from_code(c: u8) -> Result<Verdict, CodecError> {
    match c {
        0 => Ok(Verdict::Accepted),
        n => RejectReason::ALL
            .get(usize::from(n) - 1)
            .copied()
            .map(Verdict::Rejected)
            .ok_or(CodecError::Corrupt("unknown verdict")),
    }
}

fn e7(x: f64) -> i64 {
    (x * 1e7).round() as i64
}

fn tenths(x: f64) -> i64 {
    (x * 10.0).round() as i64
}

pub fn encode(fixes: &[StoredFix]) -> Vec<u8> {
    let mut body = Vec::with_capacity(fixes.len() * 8 + 8);
    put_varint(&mut body, fixes.len() as u64);
    let (mut t, mut m, mut la, mut lo, mut ac) = (0i64, 0i64, 0i64, 0i64, 0i64);
    for s in fixes {
        let f = &s.fix;
        let flags = u8::from(f.altitude_m.is_some())
            | u8::from(f.speed_mps.is_some()) << 1
            | u8::from(f.bearing_deg.is_some()) << 2
            | verdict_code(s.verdict) << 3;
        body.push(flags);
        let mono_ms = f.mono_ns / 1_000_000;
        let (lat, lon, acc) = (e7(f.lat), e7(f.lon), tenths(f.accuracy_m));
        let dt = f.time_ms.wrapping_sub(t);
        put_zigzag(&mut body, dt);
        put_zigzag(&mut body, mono_ms.wrapping_sub(m).wrapping_sub(dt));
        put_zigzag(&mut body, lat - la);
        put_zigzag(&mut body, lon - lo);
        put_zigzag(&mut body, acc - ac);
        if let Some(a) = f.altitude_m {
            put_zigzag(&mut body, tenths(a));
        }
        if let Some(v) = f.speed_mps {
            put_zigzag(&mut body, (v * 100.0).round() as i64);
        }
        if let Some(b) = f.bearing_deg {
            put_zigzag(&mut body, tenths(b));
        }
        (t, m, la, lo, ac) = (f.time_ms, mono_ms, lat, lon, acc);
    }
    let mut out = MAGIC.to_vec();
    let mut enc = DeflateEncoder::new(&mut out, Compression::best());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(&body);
    let _ = enc.finish();
    out
}

/// Decodes a chunk. The stream is inflated only as far as its declared
/// fix count can need (and never past [`MAX_RATIO`] times its own size), so
/// a chunk of compressed zeros costs no more memory than a real one.
pub fn decode(bytes: &[u8]) -> Result<Vec<StoredFix>, CodecError> {
    let rest = bytes.strip_prefix(MAGIC.as_slice()).ok_or(CodecError::BadMagic)?;
    let mut inflated = DeflateDecoder::new(rest);
    let n = read_count(&mut inflated)?;
    if n > MAX_FIXES {
        return Err(CodecError::TooLarge(n));
    }
    let cap = (n as u64 * MAX_FIX_BYTES).min(rest.len() as u64 * MAX_RATIO + 4_096);
    let mut body = Vec::new();
    inflated
        .take(cap + 1)
        .read_to_end(&mut body)
        .map_err(|_| CodecError::Corrupt("deflate stream"))?;
    if body.len() as u64 > cap {
        return Err(CodecError::Corrupt("inflates beyond what its fixes need"));
    }
    let mut r = Reader { buf: &body, pos: 0 };
    let mut out = Vec::with_capacity(n);
    let (mut t, mut m, mut la, mut lo, mut ac) = (0i64, 0i64, 0i64, 0i64, 0i64);
    for _ in 0..n {
        let flags = r.byte()?;
        let dt = r.zigzag()?;
        t = t.wrapping_add(dt);
        m = m.wrapping_add(dt).wrapping_add(r.zigzag()?);
        la = la.checked_add(r.zigzag()?).ok_or(CodecError::Corrupt("latitude"))?;
        lo = lo.checked_add(r.zigzag()?).ok_or(CodecError::Corrupt("longitude"))?;
        ac = ac.checked_add(r.zigzag()?).ok_or(CodecError::Corrupt("accuracy"))?;
        let altitude_m = if flags & 1 != 0 {
            Some(r.zigzag()? as f64 / 10.0)
        } else {
            None
        };
        let speed_mps = if flags & 2 != 0 {
            Some(r.zigzag()? as f64 / 100.0)
        } else {
            None
        };
        let bearing_deg = if flags & 4 != 0 {
            Some(r.zigzag()? as f64 / 10.0)
        } else {
            None
        };
        let fix = Fix {
            time_ms: t,
            mono_ns: m.checked_mul(1_000_000).ok_or(CodecError::Corrupt("monotonic time"))?,
            lat: la as f64 / 1e7,
            lon: lo as f64 / 1e7,
            accuracy_m: ac as f64 / 10.0,
            altitude_m,
            speed_mps,
            bearing_deg,
        };
        out.push(StoredFix {
            fix,
            verdict: verdict_from_code(flags >> 3)?,
        });
    }
    if r.pos != body.len() {
        return Err(CodecError::Corrupt("trailing bytes"));
    }
    Ok(out)
}

/// The fix count at the head of the inflated stream, read byte by byte.
fn read_count(inflated: &mut impl Read) -> Result<usize, CodecError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let mut b = [0u8; 1];
        match inflated.read(&mut b) {
            Ok(1) => {}
            Ok(_) => return Err(CodecError::Truncated),
            Err(_) => return Err(CodecError::Corrupt("deflate stream")),
        }
        v |= u64::from(b[0] & 0x7f) << shift;
        if b[0] & 0x80 == 0 {
            return usize::try_from(v).map_err(|_| CodecError::TooLarge(usize::MAX));
        }
    }
    Err(CodecError::Corrupt("varint too long"))
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_zigzag(out: &mut Vec<u8>, v: i64) {
    put_varint(out, ((v << 1) ^ (v >> 63)) as u64);
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, CodecError> {
        let b = *self.buf.get(self.pos).ok_or(CodecError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, CodecError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(CodecError::Corrupt("varint too long"))
    }

    fn zigzag(&mut self) -> Result<i64, CodecError> {
        let v = self.varint()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1 Hz walk with realistic GPS noise, quantised as the store keeps it.
    pub(crate) fn walk(n: usize) -> Vec<StoredFix> {
        let mut rng = fastrand::Rng::with_seed(11);
        let mut rnd = || rng.f64();
        let (mut lat, mut lon, mut h) = (52.4785f64, -1.8985f64, 0.2f64);
        (0..n)
            .map(|i| {
                h += (rnd() - 0.5) * 0.4;
                lat += (1.4 * h.cos() + (rnd() - 0.5) * 1.5) / 111_195.0;
                lon += (1.4 * h.sin() + (rnd() - 0.5) * 1.5) / 67_700.0;
                let i = i as i64;
                let jitter = (rnd() * 3.0) as i64;
                let f = Fix::new(
                    1_700_000_000_000 + i * 1000 + jitter,
                    7_200_000_000_000 + i * 1_000_000_000 + jitter * 1_000_000 + 123_456,
                    lat,
                    lon,
                    4.0 + rnd() * 6.0,
                );
                StoredFix {
                    fix: f.quantised(),
                    verdict: Verdict::Accepted,
                }
            })
            .collect()
    }

    #[test]
    fn a_walk_round_trips_exactly_and_costs_under_eight_bytes_a_fix() {
        let fixes = walk(600);
        let bytes = encode(&fixes);
        assert_eq!(decode(&bytes).expect("decode"), fixes);
        let per_fix = bytes.len() as f64 / fixes.len() as f64;
        assert!(per_fix <= 8.0, "{per_fix} bytes per fix");
        let naive: usize = fixes
            .iter()
            .map(|s| {
                serde_json::json!({"time_ms": s.fix.time_ms, "lat": s.fix.lat, "lon": s.fix.lon, "accuracy_m": s.fix.accuracy_m})
                    .to_string()
                    .len()
            })
            .sum();
        assert!(naive as f64 / fixes.len() as f64 > 60.0);
    }

    #[test]
    fn optional_fields_verdicts_and_extremes_round_trip() {
        let mut fixes = walk(5);
        fixes[1].fix.altitude_m = Some(142.3);
        fixes[2].fix.speed_mps = Some(1.37);
        fixes[3].fix.bearing_deg = Some(359.9);
        fixes[3].verdict = Verdict::Rejected(RejectReason::ImplausibleTime);
        fixes[4].fix = Fix {
            time_ms: -2_177_452_800_000,
            lat: -90.0,
            lon: 180.0,
            ..fixes[4].fix
        };
        fixes[4].verdict = Verdict::Rejected(RejectReason::ClockJump);
        assert_eq!(decode(&encode(&fixes)).expect("decode"), fixes);
        assert_eq!(decode(&encode(&[])).expect("empty"), vec![]);
    }

    fn deflated(body: &[u8]) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        let mut enc = DeflateEncoder::new(&mut bytes, Compression::best());
        enc.write_all(body).expect("write");
        enc.finish().expect("finish");
        bytes
    }

    #[test]
    fn a_bomb_is_refused_before_it_inflates() {
        // A plausible count, then megabytes of zeros: far more than the
        // count's fixes can take.
        let mut body = Vec::new();
        put_varint(&mut body, 600);
        body.resize(64 * 1024 * 1024, 0);
        let bomb = deflated(&body);
        assert!(bomb.len() < 100_000, "{} bytes", bomb.len());
        assert_eq!(
            decode(&bomb),
            Err(CodecError::Corrupt("inflates beyond what its fixes need"))
        );
        // The largest count allowed still bounds it.
        let mut body = Vec::new();
        put_varint(&mut body, MAX_FIXES as u64);
        body.resize(16 * 1024 * 1024, 0);
        assert!(decode(&deflated(&body)).is_err());
    }

    #[test]
    fn a_full_chunk_of_the_largest_fixes_is_within_the_limits() {
        let mut fixes = walk(600);
        for s in &mut fixes {
            s.fix.altitude_m = Some(-999.9);
            s.fix.speed_mps = Some(999.99);
            s.fix.bearing_deg = Some(359.9);
        }
        assert_eq!(decode(&encode(&fixes)).expect("decode"), fixes);
    }

    #[test]
    fn hostile_bytes_are_typed_errors() {
        let good = encode(&walk(50));
        assert_eq!(decode(b"nope"), Err(CodecError::BadMagic));
        assert!(decode(&good[..good.len() / 2]).is_err());
        // Flipped bits anywhere must never panic (the result may or may not
        // still parse: deflate has no checksum, the HTTP layer's TLS does).
        for i in 4..good.len() {
            let mut flipped = good.clone();
            flipped[i] ^= 0x5a;
            let _ = decode(&flipped);
        }
        // A count far above the limit.
        let mut body = Vec::new();
        put_varint(&mut body, (MAX_FIXES + 1) as u64);
        let mut bytes = MAGIC.to_vec();
        let mut enc = DeflateEncoder::new(&mut bytes, Compression::fast());
        enc.write_all(&body).expect("write");
        enc.finish().expect("finish");
        assert_eq!(decode(&bytes), Err(CodecError::TooLarge(MAX_FIXES + 1)));
        // A count with no fixes behind it.
        let mut body = Vec::new();
        put_varint(&mut body, 3);
        let mut bytes = MAGIC.to_vec();
        let mut enc = DeflateEncoder::new(&mut bytes, Compression::fast());
        enc.write_all(&body).expect("write");
        enc.finish().expect("finish");
        assert_eq!(decode(&bytes), Err(CodecError::Truncated));
    }
}
