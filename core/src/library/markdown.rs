//! Markdown to what the shells show and what the index holds.
//!
//! Rendering is done here, once, so Android and iOS show the same thing and
//! neither shell needs its own sanitiser. The rules, applied to the parser's
//! events before pulldown-cmark's HTML writer sees them:
//! - raw HTML (blocks and inline) is shown as text, escaped: a `<script>` in
//!   an article appears as the words `<script>`, never as a tag;
//! - links keep only `https:`, `http:`, `mailto:`, `tel:` and the internal
//!   `article:ID` scheme; any other link (`javascript:`, `data:`, relative
//!   paths, …) is dropped and its text kept;
//! - images become their alt text: the library is read offline, and a remote
//!   image would be a request the officer did not choose to make;
//! - a fenced code block's info string is dropped: it would become an
//!   author-chosen `class` on the HTML (found by fuzzing).

use pulldown_cmark::{CodeBlockKind, CowStr, Event, Options, Parser, Tag, TagEnd};

/// Words a minute for reading time: a calm reading pace for guidance.
const WORDS_PER_MINUTE: usize = 200;

fn options() -> Options {
    // Tables and strikethrough only: no heading attributes (they would let
    // an author set ids and classes), no footnotes, maths or wiki links.
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH
}

/// The schemes a link may use. `article:` links point at another article;
/// the shells open them in the reader.
const SAFE_SCHEMES: [&str; 5] = ["https", "http", "mailto", "tel", "article"];

/// Whether `url` may be a link target. Browsers ignore whitespace and
/// control characters inside a scheme (`java\tscript:`), so they are removed
/// before the scheme is read; no scheme (a relative path) is refused too,
/// because an offline article has no base to resolve it against.
pub fn is_safe_url(url: &str) -> bool {
    let cleaned = clean_url(url);
    let Some((scheme, rest)) = cleaned.split_once(':') else {
        return false;
    };
    let scheme = scheme.to_ascii_lowercase();
    SAFE_SCHEMES.contains(&scheme.as_str()) && !rest.is_empty()
}

/// `url` without whitespace or control characters: what [`is_safe_url`]
/// judges, and so exactly what a link may point at (a DEL before the
/// scheme was once judged without it and emitted with it, percent-encoded).
fn clean_url(url: &str) -> String {
    url.chars().filter(|c| !c.is_whitespace() && !c.is_control()).collect()
}

/// Renders `md` to sanitised HTML (see the module notes).
pub fn render_html(md: &str) -> String {
    let mut dropped_links: Vec<bool> = Vec::new();
    let events = Parser::new_ext(md, options()).filter_map(|event| match event {
        Event::Html(text) | Event::InlineHtml(text) => Some(Event::Text(text)),
        // An HTML block becomes a paragraph of its text.
        Event::Start(Tag::HtmlBlock) => Some(Event::Start(Tag::Paragraph)),
        Event::End(TagEnd::HtmlBlock) => Some(Event::End(TagEnd::Paragraph)),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let dest_url = clean_url(&dest_url);
            let safe = is_safe_url(&dest_url);
            dropped_links.push(!safe);
            safe.then(|| {
                Event::Start(Tag::Link {
                    link_type,
                    dest_url: CowStr::from(dest_url),
                    title,
                    id,
                })
            })
        }
        Event::End(TagEnd::Link) => match dropped_links.pop() {
            Some(true) => None,
            _ => Some(Event::End(TagEnd::Link)),
        },
        // The alt text (the events between these two) stays as text.
        Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => None,
        Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(_))) => {
            Some(Event::Start(Tag::CodeBlock(CodeBlockKind::Indented)))
        }
        other => Some(other),
    });
    let mut html = String::with_capacity(md.len() + md.len() / 4);
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

/// The words of `md` as plain text, for the search index and snippets: no
/// markup, blocks separated by line breaks, control characters removed (the
/// search uses two of them to mark highlights).
pub fn plain_text(md: &str) -> String {
    let mut out = String::with_capacity(md.len());
    let push = |s: &str, out: &mut String| {
        out.extend(s.chars().map(|c| if c.is_control() { ' ' } else { c }));
    };
    for event in Parser::new_ext(md, options()) {
        match event {
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => push(&t, &mut out),
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::CodeBlock
                | TagEnd::BlockQuote(_)
                | TagEnd::TableCell
                | TagEnd::HtmlBlock,
            ) if !out.ends_with('\n') => out.push('\n'),
            _ => {}
        }
    }
    out.trim().to_string()
}

/// Minutes to read `md` at a calm pace; at least one.
pub fn reading_minutes(md: &str) -> u32 {
    let words = plain_text(md).split_whitespace().count();
    u32::try_from(words.div_ceil(WORDS_PER_MINUTE).max(1)).unwrap_or(u32::MAX)
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fenced_blocks_info_string_sets_no_class() {
        let html = render_html("```quote onclick\nsay <b>\n```\n");
        assert_eq!(html, "<pre><code>say &lt;b&gt;\n</code></pre>\n");
    }

    #[test]
    fn a_script_in_markdown_never_reaches_the_html() {
        let md = "Hello\n\n<script>alert('x')</script>\n\nInline <script>alert(1)</script> and <img src=x onerror=alert(1)>.\n\n<div onclick=\"evil()\">block</div>\n";
        let html = render_html(md);
        assert!(!html.to_ascii_lowercase().contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<div"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "shown as text: {html}");
    }

    #[test]
    fn dangerous_links_are_dropped_and_their_text_kept() {
        for url in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            " javascript:alert(1)",
            "java\tscript:alert(1)",
            "&#106;avascript:alert(1)",
            "data:text/html;base64,PHNjcmlwdD4=",
            "vbscript:msgbox",
            "file:///etc/passwd",
            "relative/path",
            "//evil.example/x",
        ] {
            let html = render_html(&format!("Read [the guide]({url}) now."));
            assert!(!html.contains("<a"), "{url}: {html}");
            assert!(html.contains("the guide"), "{url}: {html}");
            let lower = html.to_ascii_lowercase();
            assert!(
                !lower.contains("javascript:") && !lower.contains("data:"),
                "{url}: {html}"
            );
        }
        // Autolinks and reference links go through the same check.
        let html = render_html("<javascript:alert(1)>\n\n[x][r]\n\n[r]: javascript:alert(2)\n");
        assert!(!html.contains("<a"), "{html}");
    }

    #[test]
    fn safe_links_and_internal_article_links_are_kept() {
        let html = render_html(
            "See [ACEs](article:aces), [the force](https://www.west-midlands.police.uk) or [call](tel:101).",
        );
        assert!(html.contains("<a href=\"article:aces\">ACEs</a>"), "{html}");
        assert!(html.contains("href=\"https://www.west-midlands.police.uk\""), "{html}");
        assert!(html.contains("href=\"tel:101\""), "{html}");
    }

    #[test]
    fn a_link_points_exactly_where_it_was_judged_safe() {
        // Found by the fuzzer: a DEL before the scheme was judged without it
        // and written with it (percent-encoded), so the href was not the
        // URL that had been checked.
        let html = render_html("[ok](\u{7f}https://example.org)");
        assert!(html.contains("<a href=\"https://example.org\">ok</a>"), "{html}");
    }

    #[test]
    fn images_become_their_alt_text() {
        let html = render_html("![a calm room](https://example.org/x.png)");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("a calm room"), "{html}");
    }

    #[test]
    fn attribute_breaking_titles_are_escaped() {
        let html = render_html("[x](https://ok.example \"a\\\" onmouseover=\\\"evil()\")");
        assert!(!html.contains("\" onmouseover"), "{html}");
    }

    #[test]
    fn ordinary_markdown_renders() {
        let html = render_html("## Safety\n\n- **Stay calm**\n- *Explain* what happens next\n");
        assert!(html.contains("<h2>Safety</h2>"), "{html}");
        assert!(html.contains("<strong>Stay calm</strong>"), "{html}");
        assert!(html.contains("<em>Explain</em>"), "{html}");
    }

    #[test]
    fn plain_text_has_no_markup_and_reading_time_is_at_least_a_minute() {
        let text = plain_text("# Title\n\nSome **bold** and [link](https://x.example).\n\n- one\n- two\n");
        assert_eq!(text, "Title\nSome bold and link.\none\ntwo");
        assert_eq!(reading_minutes("short"), 1);
        assert_eq!(reading_minutes(&"word ".repeat(401)), 3);
    }
}
