//! A release's changelog as customers read it: the merchant writes Markdown, pages and emails
//! show it as HTML that can carry nothing but text, lists, emphasis, code and web links.
//!
//! Raw HTML in the source is shown as the text it is (a changelog is not a place for markup a
//! merchant's compromised account could use against its customers), images become their alt
//! text (emails and pages load nothing from elsewhere), and a link keeps its target only when
//! it is `https:`, `http:` or `mailto:`.

use std::fmt;

use pulldown_cmark::{Event, LinkType, Options, Parser, Tag, TagEnd, html};

/// A changelog rendered to HTML that is safe to put in a page or an email as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChangelogHtml(String);

impl ChangelogHtml {
    /// The HTML text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChangelogHtml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// The renderer below only lets through markup it made itself, so templates may print it as is.
impl askama::filters::HtmlSafe for ChangelogHtml {}

/// Renders a changelog's Markdown `source` to safe HTML.
pub fn changelog_html(source: &str) -> ChangelogHtml {
    let options = Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES;
    // Links do not nest: while this is set, the open link had a target we do not keep.
    let mut dropped_link = false;
    let events = Parser::new_ext(source, options).filter_map(move |event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
        // An image's own events go; its alt text (the events between) stays as text.
        Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => None,
        Event::Start(Tag::Link { link_type, ref dest_url, .. }) if !is_web_target(dest_url, link_type) => {
            dropped_link = true;
            None
        }
        Event::End(TagEnd::Link) if dropped_link => {
            dropped_link = false;
            None
        }
        other => Some(other),
    });
    let mut out = String::with_capacity(source.len() * 3 / 2);
    html::push_html(&mut out, events);
    ChangelogHtml(out)
}

/// Whether a link goes to the web or to a mail address (else only its text is kept).
fn is_web_target(dest: &str, link_type: LinkType) -> bool {
    let lower = dest.trim_start().to_ascii_lowercase();
    lower.starts_with("https://")
        || lower.starts_with("http://")
        || lower.starts_with("mailto:")
        || matches!(link_type, LinkType::Email)
}

#[cfg(test)]
mod tests {
    use super::changelog_html;

    #[test]
    fn markdown_becomes_plain_markup() {
        let html = changelog_html("## 2.0\n\n- **Faster** exports\n- New `--dry-run` flag\n");
        assert_eq!(
            html.as_str(),
            "<h2>2.0</h2>\n<ul>\n<li><strong>Faster</strong> exports</li>\n<li>New <code>--dry-run</code> flag</li>\n</ul>\n"
        );
    }

    #[test]
    fn raw_html_is_shown_as_text() {
        let html = changelog_html("<script>alert(1)</script>\n\nHi <img src=x onerror=alert(1)>");
        assert!(!html.as_str().contains("<script"), "{html}");
        assert!(!html.as_str().contains("<img"), "{html}");
        assert!(html.as_str().contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
    }

    #[test]
    fn only_web_and_mail_links_keep_their_target() {
        let html = changelog_html(
            "[a](javascript:alert(1)) [b](https://example.com/x) [c](mailto:s@example.com) [d](data:text/html,x)",
        );
        assert_eq!(
            html.as_str(),
            "<p>a <a href=\"https://example.com/x\">b</a> <a href=\"mailto:s@example.com\">c</a> d</p>\n"
        );
    }

    #[test]
    fn images_load_nothing_and_keep_their_words() {
        let html = changelog_html("![New screen](https://tracker.example/pixel.png)");
        assert_eq!(html.as_str(), "<p>New screen</p>\n");
    }
}
