//! What the officer typed, made into a safe FTS5 query.
//!
//! User text never becomes FTS syntax: it is split into words (letters and
//! digits only), and every word is written as a double-quoted FTS5 string,
//! so quotes, `*`, `NEAR(`, `AND`/`OR`, column filters and unbalanced
//! parentheses are just characters that separate words. The words are
//! joined with AND (every word must match); the last word, from three
//! letters, is a prefix, so results appear while the officer is still typing. Common words ("what",
//! "to", "the") are left out when there are others, so a question typed as
//! a sentence still finds the article.
//!
//! British and American spellings meet: the index holds, beside the text,
//! the American form of each British spelling it contains (see
//! [`normalise`]), and a query word with a British spelling also asks for
//! the American form. So "behavior" finds "behaviour" and "organise" finds
//! "organize", while highlights still fall on the article's own words. The
//! porter stemmer then joins "behaviours"/"behavioural" and the like.

use serde::Serialize;

/// Longer than this is not a search but a paste; refused with a typed
/// error rather than quietly searching for part of it.
pub const MAX_QUERY_CHARS: usize = 500;
/// Words used from one query; more narrow nothing and cost time.
pub const MAX_TERMS: usize = 12;
/// Word length cap: FTS tokens beyond this are not real words.
const MAX_TERM_CHARS: usize = 40;
/// The last word is matched as a prefix from this many letters.
pub const MIN_PREFIX_CHARS: usize = 3;

/// Left out of a query that has other words: they are in nearly every
/// article, so requiring them would only hide answers.
const STOP_WORDS: &[&str] = &[
    "a", "about", "an", "and", "are", "as", "at", "be", "but", "by", "can", "do", "does", "for", "from", "has", "have",
    "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "of", "on", "or", "our", "should", "so", "that",
    "the", "their", "them", "they", "this", "to", "was", "we", "what", "when", "where", "which", "who", "why", "will",
    "with", "you", "your",
];

/// One word of the query and its American spelling, if it differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Term {
    pub word: String,
    pub alt: Option<String>,
}

/// A query ready for FTS5, or nothing to search for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub terms: Vec<Term>,
    /// Every word required.
    pub all: String,
    /// Any word (the fallback when no article has them all).
    pub any: String,
    /// Words beyond [`MAX_TERMS`] were ignored.
    pub truncated: bool,
}

/// Splits text into lower-case words of letters and digits.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// Builds the query; `None` when the text holds no words at all.
pub fn build(text: &str) -> Option<Query> {
    let mut all_words: Vec<String> = Vec::new();
    for w in words(text) {
        // Single letters are mostly the tails of contractions ("don't").
        if w.chars().count() < 2 && !w.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let w: String = w.chars().take(MAX_TERM_CHARS).collect();
        if !all_words.contains(&w) {
            all_words.push(w);
        }
    }
    let content: Vec<String> = all_words
        .iter()
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .cloned()
        .collect();
    let mut chosen = if content.is_empty() { all_words } else { content };
    if chosen.is_empty() {
        return None;
    }
    let truncated = chosen.len() > MAX_TERMS;
    chosen.truncate(MAX_TERMS);
    let terms: Vec<Term> = chosen
        .into_iter()
        .map(|word| {
            let alt = normalise(&word).filter(|a| a != &word);
            Term { word, alt }
        })
        .collect();
    let last = terms.len() - 1;
    let parts: Vec<String> = terms
        .iter()
        .enumerate()
        .map(|(i, t)| {
            // A prefix of one or two letters matches most of the library:
            // slow, and no help to the officer. From three letters it is.
            let star = if i == last && t.word.chars().count() >= MIN_PREFIX_CHARS {
                "*"
            } else {
                ""
            };
            match &t.alt {
                Some(alt) => format!("({}{star} OR {}{star})", quote(&t.word), quote(alt)),
                None => format!("{}{star}", quote(&t.word)),
            }
        })
        .collect();
    Some(Query {
        all: parts.join(" AND "),
        any: parts.join(" OR "),
        terms,
        truncated,
    })
}

/// An FTS5 string: double-quoted, any `"` doubled. (Words here never hold
/// one, but the quoting does not rely on that.)
pub fn quote(word: &str) -> String {
    format!("\"{}\"", word.replace('"', "\"\""))
}

/// British spellings and the American form they are indexed under. Each
/// entry is a stem; the suffixes it may take are given by its class.
const SPELLINGS: &[(&str, &str, Class)] = &[
    ("behaviour", "behavior", Class::Our),
    ("colour", "color", Class::Our),
    ("neighbour", "neighbor", Class::Our),
    ("favour", "favor", Class::Our),
    ("honour", "honor", Class::Our),
    ("labour", "labor", Class::Our),
    ("rumour", "rumor", Class::Our),
    ("humour", "humor", Class::Our),
    ("harbour", "harbor", Class::Our),
    ("endeavour", "endeavor", Class::Our),
    ("saviour", "savior", Class::Our),
    ("vigour", "vigor", Class::Our),
    ("rigour", "rigor", Class::Our),
    ("armour", "armor", Class::Our),
    ("odour", "odor", Class::Our),
    ("organis", "organiz", Class::Ise),
    ("recognis", "recogniz", Class::Ise),
    ("realis", "realiz", Class::Ise),
    ("apologis", "apologiz", Class::Ise),
    ("prioritis", "prioritiz", Class::Ise),
    ("traumatis", "traumatiz", Class::Ise),
    ("retraumatis", "retraumatiz", Class::Ise),
    ("criticis", "criticiz", Class::Ise),
    ("emphasis", "emphasiz", Class::Ise),
    ("minimis", "minimiz", Class::Ise),
    ("normalis", "normaliz", Class::Ise),
    ("summaris", "summariz", Class::Ise),
    ("specialis", "specializ", Class::Ise),
    ("sympathis", "sympathiz", Class::Ise),
    ("stabilis", "stabiliz", Class::Ise),
    ("mobilis", "mobiliz", Class::Ise),
    ("utilis", "utiliz", Class::Ise),
    ("familiaris", "familiariz", Class::Ise),
    ("categoris", "categoriz", Class::Ise),
    ("authoris", "authoriz", Class::Ise),
    ("stigmatis", "stigmatiz", Class::Ise),
    ("socialis", "socializ", Class::Ise),
    ("victimis", "victimiz", Class::Ise),
    ("characteris", "characteriz", Class::Ise),
    ("scrutinis", "scrutiniz", Class::Ise),
    ("sensitis", "sensitiz", Class::Ise),
    ("desensitis", "desensitiz", Class::Ise),
    ("radicalis", "radicaliz", Class::Ise),
    ("criminalis", "criminaliz", Class::Ise),
    ("institutionalis", "institutionaliz", Class::Ise),
    ("hospitalis", "hospitaliz", Class::Ise),
    ("empathis", "empathiz", Class::Ise),
    ("analys", "analyz", Class::Yse),
    ("paralys", "paralyz", Class::Yse),
    ("defence", "defense", Class::Ence),
    ("offence", "offense", Class::Ence),
    ("licence", "license", Class::Ence),
    ("pretence", "pretense", Class::Ence),
    ("practis", "practic", Class::Ise),
    ("counsell", "counsel", Class::Ll),
    ("travell", "travel", Class::Ll),
    ("cancell", "cancel", Class::Ll),
    ("labell", "label", Class::Ll),
    ("modell", "model", Class::Ll),
    ("signall", "signal", Class::Ll),
    ("judgement", "judgment", Class::Plural),
    ("acknowledgement", "acknowledgment", Class::Plural),
    ("programme", "program", Class::Plural),
    ("centre", "center", Class::Re),
    ("theatre", "theater", Class::Re),
    ("fulfil", "fulfill", Class::Ment),
    ("enrol", "enroll", Class::Ment),
    ("skilful", "skillful", Class::Ly),
    ("wilful", "willful", Class::Ly),
    ("ageing", "aging", Class::Exact),
    ("paediatric", "pediatric", Class::Plural),
    ("paediatrician", "pediatrician", Class::Plural),
    ("anaesthetic", "anesthetic", Class::Plural),
    ("foetal", "fetal", Class::Exact),
    ("manoeuvre", "maneuver", Class::Re),
    ("catalogue", "catalog", Class::Plural),
    ("dialogue", "dialog", Class::Plural),
    ("grey", "gray", Class::Exact),
    ("mould", "mold", Class::Plural),
    ("sceptic", "skeptic", Class::Ly),
    ("aluminium", "aluminum", Class::Exact),
    ("tyre", "tire", Class::Plural),
    ("kerb", "curb", Class::Plural),
    ("mum", "mom", Class::Plural),
];

#[derive(Debug, Clone, Copy)]
enum Class {
    /// behaviour, behaviours, behavioural, behaviourally, neighbourhood, favourite, honourable
    Our,
    /// organise, organised, organises, organising, organiser, organisation
    Ise,
    /// analyse, analysed, analyses, analysing
    Yse,
    /// offence, offences
    Ence,
    /// counselling, counsellor, travelled, travelling
    Ll,
    /// the word and its plural
    Plural,
    /// centre, centres, centred
    Re,
    /// fulfil, fulfilment
    Ment,
    /// skilful, skilfully; sceptic, sceptical
    Ly,
    Exact,
}

impl Class {
    fn suffixes(self) -> &'static [&'static str] {
        match self {
            Class::Our => &[
                "", "s", "al", "ally", "ed", "ing", "ful", "less", "able", "ably", "ite", "ites", "er", "ers", "ist",
                "ists", "hood", "hoods", "ly",
            ],
            Class::Ise => &[
                "e",
                "es",
                "ed",
                "ing",
                "er",
                "ers",
                "ation",
                "ations",
                "ational",
                "ationally",
            ],
            Class::Yse => &["e", "es", "ed", "ing", "er", "ers"],
            Class::Ence => &["", "s", "less"],
            Class::Ll => &["ing", "ed", "or", "ors", "er", "ers"],
            Class::Plural => &["", "s"],
            Class::Re => &["", "s", "d"],
            Class::Ment => &["", "s", "ment", "ments"],
            Class::Ly => &["", "ly", "al", "ally", "ism", "s"],
            Class::Exact => &[""],
        }
    }
}

/// The American form of a British spelling (`behaviours` → `behaviors`),
/// or `None` when the word has no other spelling we know. Lower-case input.
pub fn normalise(word: &str) -> Option<String> {
    for (british, american, class) in SPELLINGS {
        match word.strip_prefix(british) {
            Some(rest) if class.suffixes().contains(&rest) => return Some(format!("{american}{rest}")),
            _ => {}
        }
    }
    None
}

/// The American forms of every British spelling in `text`, space separated:
/// the index's extra column.
pub fn alternates(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for w in words(text) {
        match normalise(&w) {
            Some(a) if !out.contains(&a) => out.push(a),
            _ => {}
        }
    }
    out.join(" ")
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    pub id: String,
    pub title: String,
    /// The title with matches in `<mark>`; everything else escaped.
    pub title_html: String,
    pub summary: String,
    /// A short extract around the matches, `<mark>`ed and escaped.
    pub snippet_html: String,
    /// The same extract as plain text.
    pub snippet: String,
    pub topics: Vec<String>,
    pub reading_minutes: u32,
    /// Higher is better (bm25, title weighted over body).
    pub score: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResults {
    /// The words searched for, after dropping punctuation and common words.
    pub terms: Vec<String>,
    pub hits: Vec<SearchHit>,
    /// False when no article had every word and the hits have any of them.
    pub matched_all_terms: bool,
    /// Some words were ignored (more than [`MAX_TERMS`]).
    pub truncated: bool,
}

impl SearchResults {
    pub fn empty() -> Self {
        Self {
            terms: Vec::new(),
            hits: Vec::new(),
            matched_all_terms: true,
            truncated: false,
        }
    }
}

/// Marks FTS5 puts around highlighted words (control characters never
/// appear in indexed text, which is cleaned of them).
pub const MARK_OPEN: char = '\u{2}';
pub const MARK_CLOSE: char = '\u{3}';

/// Highlighted FTS text to (html, plain).
pub fn marks_to_html(s: &str) -> (String, String) {
    let html = super::markdown::escape_html(s)
        .replace(MARK_OPEN, "<mark>")
        .replace(MARK_CLOSE, "</mark>");
    let plain = s.replace([MARK_OPEN, MARK_CLOSE], "");
    (html, plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_is_quoted_and_the_last_is_a_prefix() {
        let q = build("young pers").expect("query");
        assert_eq!(q.all, "\"young\" AND \"pers\"*");
        assert_eq!(q.any, "\"young\" OR \"pers\"*");
        let q = build("young pe").expect("query");
        assert_eq!(q.all, "\"young\" AND \"pe\"", "two letters are a word, not a prefix");
    }

    #[test]
    fn fts_syntax_in_user_text_is_only_separators() {
        for text in [
            "\"unbalanced",
            "NEAR(trauma custody",
            "trauma* OR (custody",
            "title:trauma",
            "-trauma ^custody",
            "a AND OR NOT b",
        ] {
            let q = build(text).expect("words");
            for part in q.all.split(" AND ") {
                let inner = part.trim_start_matches('(').trim_end_matches(')');
                for alt in inner.split(" OR ") {
                    let alt = alt.trim_end_matches('*');
                    assert!(alt.starts_with('"') && alt.ends_with('"'), "{text}: {}", q.all);
                }
            }
        }
    }

    #[test]
    fn punctuation_only_or_empty_text_is_no_query() {
        for text in ["", "   ", "\"\"\"", "*", "()", "NEAR(", "—…!?"] {
            let q = build(text);
            assert!(q.is_none() || text.contains("NEAR"), "{text:?}: {q:?}");
        }
    }

    #[test]
    fn common_words_are_dropped_unless_nothing_else_is_left() {
        let q = build("what should I do when a child is scared").expect("query");
        let words: Vec<&str> = q.terms.iter().map(|t| t.word.as_str()).collect();
        assert_eq!(words, ["child", "scared"]);
        let q = build("what is the").expect("query");
        assert_eq!(q.terms.len(), 3);
    }

    #[test]
    fn british_spellings_meet_american_ones() {
        assert_eq!(normalise("behaviour").as_deref(), Some("behavior"));
        assert_eq!(normalise("behavioural").as_deref(), Some("behavioral"));
        assert_eq!(normalise("organisations").as_deref(), Some("organizations"));
        assert_eq!(normalise("traumatised").as_deref(), Some("traumatized"));
        assert_eq!(normalise("offences").as_deref(), Some("offenses"));
        assert_eq!(normalise("counselling").as_deref(), Some("counseling"));
        // Words that only look alike are left alone.
        for w in [
            "organism",
            "realistic",
            "four",
            "hour",
            "your",
            "emphasis",
            "behavior",
            "centrepiece",
        ] {
            assert_eq!(normalise(w), None, "{w}");
        }
        let q = build("behaviour").expect("query");
        assert_eq!(q.all, "(\"behaviour\"* OR \"behavior\"*)");
        assert_eq!(alternates("Behaviour, colour and behaviour."), "behavior color");
    }

    #[test]
    fn too_many_words_are_cut_and_flagged() {
        let text: Vec<String> = (0..40).map(|i| format!("word{i}")).collect();
        let q = build(&text.join(" ")).expect("query");
        assert_eq!(q.terms.len(), MAX_TERMS);
        assert!(q.truncated);
    }
}
