//! Entry points for fuzzing: each takes arbitrary bytes, feeds them to one
//! parser or decoder that reads what the outside world sends, and checks
//! what must hold whatever the input. Any panic is a bug. Used by the
//! cargo-fuzz targets in `fuzz/` and by the stable replay harness
//! (`core/tests/fuzz_corpus.rs`); not part of the core's API.

use crate::library::markdown;
use crate::library::pack::Pack;
use crate::referral::ReferralForm;

/// An areas file from the force (GeoJSON).
pub fn areas_geojson(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(areas) = crate::patrol::area::parse_areas(text) {
        for a in &areas {
            assert!(a.area_m2() > 0.0, "an accepted area has an area");
        }
    }
}

/// A track chunk as the force receives it: a decoded chunk whose fixes are
/// all valid (the backend refuses any other) encodes back to bytes that
/// decode to the same fixes. (Absurd values — a speed of 4·10¹³ m/s — need
/// not survive a round trip exactly: found by fuzzing, refused by
/// `Fix::validate` before anything is stored.)
pub fn track_chunk(data: &[u8]) {
    if let Ok(fixes) = guardian_protocol::codec::decode(data)
        && fixes.iter().all(|s| s.fix.validate().is_ok())
    {
        let again = guardian_protocol::codec::encode(&fixes);
        let back = guardian_protocol::codec::decode(&again).expect("our own encoding decodes");
        assert_eq!(back, fixes, "decode ∘ encode is the identity on decoded chunks");
    }
}

/// A reply to a sync pull, as the network delivers it.
pub fn sync_reply(data: &[u8]) {
    if let Ok(reply) = serde_json::from_slice::<guardian_protocol::wire::SyncReply>(data) {
        let _ = crate::sync::pass::plan_pull(reply, |id| id.len() % 2 == 0);
    }
}

/// A library content pack from the force, applied to an empty library and
/// rendered. Input that is not a pack is taken as a pack's JSON and given a
/// correct header and checksum, so mutations reach the parser and the
/// pack's rules instead of stopping at the checksum.
pub fn library_pack(data: &[u8]) {
    let framed;
    let bytes = if data.starts_with(b"GLP1") {
        data
    } else {
        use sha2::Digest;
        let mut f = b"GLP1\0".to_vec();
        f.extend_from_slice(&sha2::Sha256::digest(data));
        f.extend_from_slice(data);
        framed = f;
        &framed
    };
    if let Ok(pack) = Pack::decode(bytes)
        && pack.validate().is_ok()
        && let Ok(lib) = pack.apply_to(&Default::default())
    {
        for a in lib.articles.values() {
            markdown_html(a.body_md.as_bytes());
        }
    }
}

/// An article's Markdown: the HTML shown in a WebView has no tag but a
/// small safe set, no `src`, no inline event handler and no link outside
/// the safe schemes, whatever the source says.
pub fn markdown_html(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    check_html(&markdown::render_html(&text));
    let _ = markdown::plain_text(&text);
}

/// The oracle of [`markdown_html`]: panics on anything unsafe in `html`.
pub fn check_html(html: &str) {
    for (tag, attrs) in tags(html) {
        assert!(SAFE_TAGS.contains(&tag.as_str()), "<{tag}> in rendered HTML");
        for (name, value) in attrs {
            assert!(
                matches!(
                    name.as_str(),
                    "href" | "title" | "start" | "style" | "type" | "checked" | "disabled"
                ) && (name != "style" || value.starts_with("text-align:")),
                "attribute {name}={value:?} on <{tag}>"
            );
            if name == "href" {
                assert!(markdown::is_safe_url(&unescape(&value)), "a link to {value:?}");
            }
        }
    }
}

const SAFE_TAGS: &[&str] = &[
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "a",
    "em",
    "strong",
    "del",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "hr",
    "br",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "input",
];

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The opening tags of `html` with their attributes, read the way a browser
/// would (quoted values may hold spaces and `>`).
fn tags(html: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    let b = html.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' || b.get(i + 1).is_some_and(|c| *c == b'/') {
            i += 1;
            continue;
        }
        i += 1;
        let name_end = (i..b.len()).find(|&j| !b[j].is_ascii_alphanumeric()).unwrap_or(b.len());
        let name = html[i..name_end].to_ascii_lowercase();
        i = name_end;
        let mut attrs = Vec::new();
        loop {
            while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
                i += 1;
            }
            if i >= b.len() || b[i] == b'>' {
                i += 1;
                break;
            }
            let a_end = (i..b.len())
                .find(|&j| b[j] == b'=' || b[j] == b'>' || b[j].is_ascii_whitespace())
                .unwrap_or(b.len());
            let attr = html[i..a_end].to_ascii_lowercase();
            i = a_end;
            let mut value = String::new();
            if b.get(i) == Some(&b'=') {
                i += 1;
                match b.get(i) {
                    Some(&q) if q == b'"' || q == b'\'' => {
                        let v_end = (i + 1..b.len()).find(|&j| b[j] == q).unwrap_or(b.len());
                        value = html[i + 1..v_end].to_string();
                        i = v_end + 1;
                    }
                    _ => {
                        let v_end = (i..b.len())
                            .find(|&j| b[j] == b'>' || b[j].is_ascii_whitespace())
                            .unwrap_or(b.len());
                        value = html[i..v_end].to_string();
                        i = v_end;
                    }
                }
            }
            attrs.push((attr, value));
        }
        out.push((name, attrs));
    }
    out
}

/// A referral form as a shell hands it over (JSON), validated whole.
pub fn referral_form(data: &[u8]) {
    if let Ok(form) = serde_json::from_slice::<ReferralForm>(data) {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap_or_default();
        let routed = crate::referral::Authority::parse("birmingham");
        match crate::referral::form::validate(&form, today, routed, "outside") {
            Ok(_) => assert!(!form.subject.name.trim().is_empty(), "a valid referral names someone"),
            Err(errors) => assert!(!errors.is_empty(), "a refusal names its fields"),
        }
    }
}

/// SQLCipher's calls into the core's crypto provider.
pub fn cipher_provider(data: &[u8]) {
    crate::store::cipher::fuzz_calls(data);
}

/// A fuzz target: any bytes in, a panic if something that must hold does not.
pub type Target = fn(&[u8]);

/// Every target, by the name its corpus directory has.
pub const TARGETS: &[(&str, Target)] = &[
    ("areas_geojson", areas_geojson),
    ("track_chunk", track_chunk),
    ("sync_reply", sync_reply),
    ("library_pack", library_pack),
    ("markdown_html", markdown_html),
    ("referral_form", referral_form),
    ("cipher_provider", cipher_provider),
];

/// What a replay ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replayed {
    pub corpus: usize,
    pub mutants: usize,
}

/// The stable-toolchain harness: every file of `corpus` through `target`,
/// then `mutants` seeded mutations of them (bit flips, interesting bytes,
/// cuts, repeats, splices). A panic names the input, saved under `crashes`
/// to become a corpus file and a regression test.
pub fn replay(
    corpus: &std::path::Path,
    crashes: &std::path::Path,
    mutants: usize,
    seed: u64,
    target: Target,
) -> std::io::Result<Replayed> {
    let mut paths: Vec<_> = std::fs::read_dir(corpus)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    let inputs: Vec<Vec<u8>> = paths.iter().map(std::fs::read).collect::<Result<_, _>>()?;
    let run = |input: &[u8]| {
        if std::panic::catch_unwind(|| target(input)).is_err() {
            let name = format!("crash-{:016x}", crate::patrol::saved::fingerprint(input));
            let _ = std::fs::create_dir_all(crashes);
            let _ = std::fs::write(crashes.join(&name), input);
            panic!(
                "{} crashed on an input saved as {}",
                corpus.display(),
                crashes.join(name).display()
            );
        }
    };
    for input in &inputs {
        run(input);
    }
    let mut rng = seed | 1;
    let mut next = move |n: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % n.max(1) as u64) as usize
    };
    for _ in 0..mutants {
        let mut m = inputs.get(next(inputs.len())).cloned().unwrap_or_default();
        for _ in 0..1 + next(4) {
            let len = m.len();
            match next(7) {
                0 if len > 0 => {
                    let i = next(len);
                    m[i] ^= 1 << next(8);
                }
                1 if len > 0 => {
                    const INTERESTING: [u8; 9] = [0, 0xff, 0x7f, 0x80, b'"', b'{', b'<', b'-', b'9'];
                    let i = next(len);
                    m[i] = INTERESTING[next(INTERESTING.len())];
                }
                2 if len > 0 => m.truncate(next(len)),
                3 if len > 0 => {
                    let (a, b) = (next(len), next(len));
                    let (a, b) = (a.min(b), a.max(b));
                    m.drain(a..b.min(a + 64));
                }
                4 if len > 0 => {
                    let (a, n) = (next(len), 1 + next(32));
                    let piece: Vec<u8> = m[a..(a + n).min(len)].to_vec();
                    let at = next(len);
                    m.splice(at..at, piece.iter().cycle().take(piece.len() * (1 + next(8))).copied());
                }
                5 => {
                    let other = inputs.get(next(inputs.len())).cloned().unwrap_or_default();
                    let cut = next(other.len() + 1);
                    let at = next(len + 1);
                    m.truncate(at);
                    m.extend_from_slice(&other[cut..]);
                }
                _ => {
                    let at = next(len + 1);
                    let n = 1 + next(8);
                    let bytes: Vec<u8> = (0..n).map(|_| next(256) as u8).collect();
                    m.splice(at..at, bytes);
                }
            }
        }
        run(&m);
    }
    Ok(Replayed {
        corpus: inputs.len(),
        mutants,
    })
}
