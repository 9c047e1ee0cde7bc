//! The purchase email: what it says (askama templates under `templates/mail/`) and the
//! RFC 5322 message lettre makes of it (plain text and HTML alternatives).

use askama::Template;
use lettre::Message;
use lettre::message::{Mailbox, MessageBuilder, MultiPart};

use super::{BadAddress, MailError};
use crate::config::MailConfig;
use crate::db::merchants::Merchant;
use crate::db::orders::OrderDetail;
use crate::domain::{AccentColour, CustomerName, DownloadToken, human_date, human_price, purchase_subject};
use crate::orders::contents::{DeliveredItem, delivered_items};

/// Everything the templates show, with the links already made.
#[derive(Debug, Clone)]
pub struct PurchaseView {
    /// Subject line.
    pub subject: String,
    /// Merchant's display name (escaped by the HTML template, as is all merchant text).
    pub merchant: String,
    /// Customer's name ("" when unknown).
    pub customer_name: String,
    /// Short order reference.
    pub order_ref: String,
    /// Payment date.
    pub paid_on: String,
    /// Amount paid.
    pub total: String,
    /// `/d/{token}`.
    pub delivery_url: String,
    /// `/portal/{merchant}`.
    pub portal_url: String,
    /// When the links expire, if they do.
    pub expires_on: Option<String>,
    /// Downloads allowed per file, if limited.
    pub max_downloads: Option<i64>,
    /// The products.
    pub items: Vec<DeliveredItem>,
    /// A copy asked for by the merchant.
    pub resend: bool,
    /// A test order: the subject says `[Test]` and the body says no payment was taken.
    pub test: bool,
    /// The shop's logo, an absolute URL (its alt text is the shop's name).
    pub logo_url: Option<String>,
    /// Where customers write for help.
    pub support_email: Option<String>,
    /// Button colour, `#rrggbb` (checked: it goes into `style` attributes).
    pub accent: String,
    /// Text colour on buttons.
    pub accent_ink: &'static str,
    /// Colour of text links: the accent when it reads well on white.
    pub link_colour: String,
}

#[derive(Template)]
#[template(path = "mail/purchase.html")]
struct HtmlPart<'a> {
    v: &'a PurchaseView,
}

#[derive(Template)]
#[template(path = "mail/purchase.txt", escape = "none")]
struct TextPart<'a> {
    v: &'a PurchaseView,
}

impl PurchaseView {
    /// The view of an order's email, with links under `public_url` carrying `token`.
    pub fn new(
        merchant: &Merchant,
        detail: &OrderDetail,
        token: &DownloadToken,
        public_url: &str,
        resend: bool,
    ) -> Self {
        let base = format!("{public_url}/d/{}", token.expose());
        let names: Vec<&str> = detail.items.iter().map(|i| i.product_name.as_str()).collect();
        let order = &detail.order;
        let subject = purchase_subject(&merchant.name, &names);
        let brand = merchant.brand(public_url);
        let accent = brand.accent.unwrap_or_else(|| AccentColour::parse("accent", DEFAULT_ACCENT).expect("a colour"));
        let link_colour = if accent.ink() == "#ffffff" { accent.as_str() } else { "#1d2126" }.to_owned();
        PurchaseView {
            subject: if order.test { format!("{TEST_PREFIX}{subject}") } else { subject },
            merchant: merchant.name.clone(),
            customer_name: order.customer_name.clone(),
            // The id is a UUIDv7 whose first characters are a timestamp: its end tells orders apart.
            order_ref: order.id.rsplit('-').next().unwrap_or(&order.id).to_uppercase(),
            paid_on: human_date(order.created_at),
            total: human_price(order.amount_minor, &order.currency),
            portal_url: format!("{public_url}/portal/{}", merchant.slug),
            expires_on: order.link_expires_at.map(human_date),
            max_downloads: order.max_downloads_per_file,
            items: delivered_items(detail, &base),
            delivery_url: base,
            resend,
            test: order.test,
            logo_url: brand.logo_url,
            support_email: brand.support_email,
            accent_ink: accent.ink(),
            accent: accent.as_str().to_owned(),
            link_colour,
        }
    }

    /// The HTML part.
    pub fn html(&self) -> Result<String, askama::Error> {
        HtmlPart { v: self }.render()
    }

    /// The plain text part.
    pub fn text(&self) -> Result<String, askama::Error> {
        TextPart { v: self }.render()
    }
}

/// The buttons' colour when the shop has set none.
const DEFAULT_ACCENT: &str = "#1f6f5c";

/// What the subject of a test order's email starts with, so that neither the merchant nor a
/// customer takes it for a real sale.
pub const TEST_PREFIX: &str = "[Test] ";

/// Who an email is from: the merchant's sender settings, else the server's address under the
/// merchant's name (customers recognise the shop, not the delivery service).
pub fn sender(merchant: &Merchant, config: &MailConfig, public_url: &str) -> Result<Mailbox, MailError> {
    let default = default_from_address(config, public_url);
    let address = merchant.sender_email.as_deref().filter(|a| !a.trim().is_empty()).unwrap_or(&default);
    let name = merchant
        .sender_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .or_else(|| config.from_name.clone())
        .unwrap_or_else(|| merchant.name.clone());
    header_mailbox(&name, address).map_err(MailError::Sender)
}

/// The address `[mail] from_address` has when the operator did not set one.
pub const PLACEHOLDER_FROM: &str = "satchel@localhost";

/// The address a shop's mail comes from when the shop has not set one: the operator's
/// `[mail] from_address`, else `no-reply@` the public URL's host when that is a domain name
/// (a shop at `https://shop.example.org` mails from `no-reply@shop.example.org`), else the
/// placeholder (Settings warns that it will not be delivered).
pub fn default_from_address(config: &MailConfig, public_url: &str) -> String {
    if config.from_address.trim() != PLACEHOLDER_FROM {
        return config.from_address.trim().to_owned();
    }
    let host = url::Url::parse(public_url).ok().and_then(|u| match u.host() {
        Some(url::Host::Domain(d)) if d.contains('.') && !d.ends_with(".localhost") => Some(d.to_owned()),
        _ => None,
    });
    host.map_or_else(|| PLACEHOLDER_FROM.to_owned(), |h| format!("no-reply@{h}"))
}

/// A mailbox safe to write into a header, whatever was stored: the name cleaned of control and
/// bidi characters (a line break in it once stopped all mail; lettre RFC 2047-encodes what is
/// not ASCII), the domain in its ASCII form (`bücher.example` → `xn--bcher-kva.example`), since
/// a raw UTF-8 domain is understood by few mail servers. A non-ASCII local part has no ASCII
/// form: it is written as is (RFC 6532) and lettre asks the server for SMTPUTF8.
pub fn header_mailbox(name: &str, address: &str) -> Result<Mailbox, BadAddress> {
    let address = address.trim();
    let (user, domain) = address.rsplit_once('@').ok_or_else(|| BadAddress::NoAt(address.to_owned()))?;
    let domain = if domain.is_ascii() {
        domain.to_owned()
    } else {
        idna::domain_to_ascii(domain).map_err(|_| BadAddress::Domain(address.to_owned()))?
    };
    let address = lettre::Address::new(user, &domain).map_err(|e| BadAddress::Invalid(address.to_owned(), e))?;
    let name = CustomerName::clean(name).into_string();
    Ok(Mailbox::new(Some(name).filter(|n| !n.is_empty()), address))
}

/// The message as sent: `Message-ID` is `<{email id}@{host}>`, so a copy sent again after a
/// crash carries the same id and receiving systems can recognise it.
pub fn build(
    view: &PurchaseView,
    email_id: &str,
    from: Mailbox,
    to_address: &str,
    to_name: &str,
    host: &str,
) -> Result<Message, MailError> {
    let text = view.text().map_err(MailError::render("text part"))?;
    let html = view.html().map_err(MailError::render("HTML part"))?;
    let parts = Parts { subject: &view.subject, text, html };
    build_parts(parts, email_id, from, to_address, to_name, host)
}

/// A rendered email of any kind: subject, plain text and HTML.
pub struct Parts<'a> {
    /// Subject line.
    pub subject: &'a str,
    /// Plain text part.
    pub text: String,
    /// HTML part.
    pub html: String,
}

/// The message of rendered `parts`, with the same headers as [`build`].
pub fn build_parts(
    parts: Parts<'_>,
    email_id: &str,
    from: Mailbox,
    to_address: &str,
    to_name: &str,
    host: &str,
) -> Result<Message, MailError> {
    let Parts { subject, text, html } = parts;
    headers(subject, email_id, from, to_address, to_name, host)?
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(MailError::Build)
}

/// The headers every email carries: from, to (`to_name` cleaned for a header), subject, and
/// `Message-ID: <{email id}@{host}>`; an email with headers of its own adds them to these.
pub fn headers(
    subject: &str,
    email_id: &str,
    from: Mailbox,
    to_address: &str,
    to_name: &str,
    host: &str,
) -> Result<MessageBuilder, MailError> {
    let to = header_mailbox(to_name, to_address).map_err(MailError::Recipient)?;
    Ok(Message::builder()
        .from(from)
        .to(to)
        .subject(subject.to_owned())
        .message_id(Some(format!("<{email_id}@{host}>"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> PurchaseView {
        let file = |name: &str, n: i64| crate::orders::contents::DeliveredFile {
            name: name.into(),
            size: "1.2 MB".into(),
            url: format!("https://shop.example/d/T/files/{n}"),
        };
        PurchaseView {
            subject: purchase_subject("Acme", &["Atlas", "Maps"]),
            merchant: "Acme".into(),
            customer_name: "Ada".into(),
            order_ref: "ABC123".into(),
            paid_on: "24 November 2026".into(),
            total: "$19.99".into(),
            delivery_url: "https://shop.example/d/T".into(),
            portal_url: "https://shop.example/portal/acme".into(),
            expires_on: Some("1 December 2026".into()),
            max_downloads: Some(5),
            items: vec![
                DeliveredItem {
                    name: "Atlas".into(),
                    quantity: 2,
                    files: vec![file("atlas.pdf", 1), file("atlas.epub", 2)],
                    link_url: None,
                    instructions: "Open the PDF first.\n\nEnjoy!".into(),
                },
                DeliveredItem {
                    name: "Maps".into(),
                    quantity: 1,
                    files: vec![],
                    link_url: Some("https://shop.example/d/T/link/2".into()),
                    instructions: String::new(),
                },
            ],
            resend: false,
            test: false,
            logo_url: None,
            support_email: None,
            accent: DEFAULT_ACCENT.into(),
            accent_ink: "#ffffff",
            link_colour: DEFAULT_ACCENT.into(),
        }
    }

    #[test]
    fn text_part_lists_every_file_link_and_the_portal() {
        let text = view().text().unwrap();
        let expected = "Order ABC123 - 24 November 2026 - $19.99\n\
            \n\
            Atlas (x 2)\n  \
            - atlas.pdf (1.2 MB)\n    https://shop.example/d/T/files/1\n  \
            - atlas.epub (1.2 MB)\n    https://shop.example/d/T/files/2\n  \
            Open the PDF first.\n  Enjoy!\n\
            \n\
            Maps\n  Download link: https://shop.example/d/T/link/2\n\
            \n\
            All downloads of this order: https://shop.example/d/T\n\
            These links work until 1 December 2026.\n\
            Each file can be downloaded 5 times through these links.\n";
        assert!(text.contains(expected), "{text}");
        assert!(text.starts_with("Hello Ada,\n\nThank you for your purchase from Acme."), "{text}");
        assert!(text.contains("https://shop.example/portal/acme"), "{text}");
    }

    #[test]
    fn html_part_links_every_file_and_the_portal() {
        let html = view().html().unwrap();
        for link in ["/d/T/files/1", "/d/T/files/2", "/d/T/link/2", "/portal/acme", "https://shop.example/d/T\""] {
            assert!(html.contains(link), "{link} in {html}");
        }
        assert!(html.contains("&times; 2") && html.contains("Open the PDF first.<br>Enjoy!"), "{html}");
        // `SATCHEL_MAIL_PREVIEW=/tmp/mail.html cargo test --lib mail::` writes the HTML out, to
        // look at the email in a browser after changing the templates.
        if let Ok(path) = std::env::var("SATCHEL_MAIL_PREVIEW") {
            std::fs::write(path, &html).unwrap();
        }
    }

    #[test]
    fn message_has_both_parts_and_a_stable_message_id() {
        let from = Mailbox::new(Some("Acme".into()), "shop@example.com".parse().unwrap());
        let message = build(&view(), "0193-abc", from, "ada@example.com", "Ada", "shop.example").unwrap();
        let raw = String::from_utf8(message.formatted()).unwrap();
        assert!(raw.contains("Message-ID: <0193-abc@shop.example>"), "{raw}");
        assert!(raw.contains("multipart/alternative") && raw.contains("text/plain") && raw.contains("text/html"));
        assert!(raw.contains("Subject: Your purchase from Acme: Atlas and 1 more"), "{raw}");
    }

    fn to_header(name: &str, address: &str) -> String {
        let from = Mailbox::new(Some("Acme".into()), "shop@example.com".parse().unwrap());
        let message = build(&view(), "0193-abc", from, address, name, "shop.example").unwrap();
        let raw = String::from_utf8(message.formatted()).unwrap();
        let head = &raw[..raw.find("\r\n\r\n").unwrap()];
        crate::mail::mailbox::header(head, "To").unwrap()
    }

    #[test]
    fn stored_names_with_line_breaks_or_nul_cannot_break_the_to_header() {
        let to = to_header("Eve\r\nBcc: x@evil.example", "eve@example.com");
        let (name, address) = to.rsplit_once(' ').unwrap();
        let name = crate::mail::mailbox::decode_words(name);
        assert_eq!((name.as_str(), address), ("Eve Bcc: x@evil.example", "<eve@example.com>"), "{to}");
        assert_eq!(to_header("Nul\u{0}Name", "nul@example.com"), "\"Nul Name\" <nul@example.com>");
        assert_eq!(to_header("\r\n", "ada@example.com"), "ada@example.com");
    }

    #[test]
    fn address_errors_say_whose_address_and_why() {
        let to = |address| MailError::Recipient(header_mailbox("Ada", address).unwrap_err()).to_string();
        assert_eq!(to("ada.example.com"), "recipient address \"ada.example.com\": no @");
        let from = |address| MailError::Sender(header_mailbox("Ada", address).unwrap_err()).to_string();
        assert!(
            from("ada@exa mple.com").starts_with("sender address \"ada@exa mple.com\": "),
            "{}",
            from("ada@exa mple.com")
        );
        let from = Mailbox::new(None, "shop@example.com".parse().unwrap());
        let built = build(&view(), "0193-abc", from, "nobody", "", "shop.example");
        assert_eq!(built.unwrap_err().to_string(), "recipient address \"nobody\": no @");
    }

    #[test]
    fn international_domains_are_punycoded_and_names_encoded() {
        let to = to_header("Zoë Ünal", "zoe@bücher.example");
        assert!(to.ends_with(" <zoe@xn--bcher-kva.example>"), "{to}");
        assert!(to.is_ascii() && to.starts_with("=?utf-8?"), "{to}");
        assert_eq!(crate::mail::mailbox::decode_words(to.split(" <").next().unwrap()), "Zoë Ünal");
    }

    #[test]
    fn the_default_sender_is_the_operators_else_no_reply_at_the_public_host() {
        let mut config = MailConfig::default();
        let default = |config: &MailConfig, url: &str| default_from_address(config, url);
        assert_eq!(default(&config, "https://shop.pinepress.co.uk"), "no-reply@shop.pinepress.co.uk");
        assert_eq!(default(&config, "https://shop.pinepress.co.uk:8443/"), "no-reply@shop.pinepress.co.uk");
        // No domain name to send from: the placeholder, which Settings warns about.
        for url in ["http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:80", "http://app.localhost"] {
            assert_eq!(default(&config, url), PLACEHOLDER_FROM, "{url}");
        }
        config.from_address = "orders@operator.example.org".into();
        assert_eq!(default(&config, "https://shop.pinepress.co.uk"), "orders@operator.example.org");
    }
}
