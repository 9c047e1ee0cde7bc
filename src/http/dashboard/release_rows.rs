//! The product page's list of releases: what each delivered, what changed, who got it and
//! where its update emails stand.

use super::orders::when;
use crate::db::releases::ReleaseDetail;
use crate::db::update_emails::EmailCounts;
use crate::domain::{Audience, ChangelogHtml, DeliveryMode, changelog_html};

/// One release in the product page's list.
pub(super) struct ReleaseRow {
    pub(super) number: i64,
    /// Its version label, once published.
    pub(super) label: Option<String>,
    /// When it was saved.
    pub(super) saved: String,
    /// "3 files", "Link", "Nothing (draft)".
    pub(super) what: String,
    /// What changed, rendered safely.
    pub(super) changelog: Option<ChangelogHtml>,
    /// A long changelog starts collapsed.
    pub(super) long: bool,
    /// When it was published (None: not yet).
    pub(super) published: Option<String>,
    /// Who among past buyers it went to, in words.
    pub(super) audience: Option<String>,
    /// How many past orders publishing granted it to.
    pub(super) granted: i64,
    /// The product's latest release (what future buyers get).
    pub(super) latest: bool,
    /// Where its update emails stand, in words (None: it had none).
    pub(super) emails: Option<String>,
}

/// "Update emails: 120 sent · 2 failed · 3 unsubscribed · 40 waiting" (parts at zero left out).
pub(super) fn emails_in_words(c: &EmailCounts) -> String {
    let parts: Vec<String> =
        [(c.sent, "sent"), (c.failed, "failed"), (c.unsubscribed, "unsubscribed"), (c.queued, "waiting")]
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}"))
            .collect();
    if parts.is_empty() {
        "Update emails: none to send".to_owned()
    } else {
        format!("Update emails: {}", parts.join(" · "))
    }
}

/// A changelog longer than this (characters or lines) starts collapsed on the product page.
const LONG_CHANGELOG: (usize, usize) = (400, 8);

impl ReleaseRow {
    pub(super) fn of(detail: ReleaseDetail) -> ReleaseRow {
        let n = detail.files.len();
        let what = match detail.release.delivery_mode {
            DeliveryMode::Files => format!("{n} file{}", if n == 1 { "" } else { "s" }),
            DeliveryMode::ExternalLink => "External link".to_owned(),
            DeliveryMode::None => "Nothing (draft)".to_owned(),
        };
        let r = detail.release;
        let source = r.changelog.as_deref().filter(|c| !c.trim().is_empty());
        ReleaseRow {
            number: r.number,
            label: r.label,
            saved: when(r.created_at),
            what,
            changelog: source.map(changelog_html),
            long: source.is_some_and(|c| c.chars().count() > LONG_CHANGELOG.0 || c.lines().count() > LONG_CHANGELOG.1),
            published: r.published_at.map(when),
            audience: r.audience.as_deref().and_then(Audience::from_stored).map(Audience::describe),
            granted: r.granted_orders,
            latest: false,
            emails: None,
        }
    }
}
