//! The releases an order's products deliver, as the customer's pages show them (the delivery
//! page and the portal): per item, the latest release the order owns, with its label, date,
//! changelog and "New" badge, and the earlier ones under "Previous versions", each with the
//! order's files that came from it. "Download all" takes the latest release's files only.

use crate::db::orders::{OrderDetail, OrderFile};
use crate::db::releases::OwnedRelease;
use crate::domain::{ChangelogHtml, changelog_html, human_date};

/// One release of an item as the customer sees it, with its files as the page shows them.
#[derive(Debug, Clone)]
pub struct ReleaseView<F> {
    /// Its number (0: the item has no release, it was bought before releases existed).
    pub number: i64,
    /// Its label, or "Release N".
    pub title: String,
    /// When it was released ("30 November 2026").
    pub date: String,
    /// What changed, rendered safely.
    pub changelog: Option<ChangelogHtml>,
    /// Granted after purchase and none of its files downloaded yet (see docs/decisions.md).
    pub new: bool,
    /// Its files in the order.
    pub files: Vec<F>,
}

/// The releases of one order item.
#[derive(Debug, Clone)]
pub struct ItemVersions<F> {
    /// Whether to show the latest release's title and date: the item owns more than one
    /// release, or the one it owns has a label or a changelog. An item with one plain
    /// release looks as it did before releases.
    pub heading: bool,
    /// The latest release the order owns (all the item's files when it owns none).
    pub latest: ReleaseView<F>,
    /// The earlier ones, newest first.
    pub previous: Vec<ReleaseView<F>>,
}

/// The releases `owned` (rows of any orders: those of `detail`'s order are used) of item
/// `item_position`, each with its files made by `file`.
pub fn item_versions<'a, F>(
    detail: &'a OrderDetail,
    owned: &[OwnedRelease],
    item_position: i64,
    mut file: impl FnMut(&'a OrderFile) -> F,
) -> ItemVersions<F> {
    let mut releases: Vec<&OwnedRelease> =
        owned.iter().filter(|r| r.order_id == detail.order.id && r.item_position == item_position).collect();
    releases.sort_by_key(|r| std::cmp::Reverse(r.number));
    let latest_number = releases.first().map_or(0, |r| r.number);
    // A file belongs to its release; one whose release the order does not list (none should)
    // stays with the latest, so no file the order has is hidden.
    let group_of = |f: &OrderFile| match f.release_number {
        Some(n) if releases.iter().any(|r| r.number == n) => n,
        _ => latest_number,
    };
    let mut views: Vec<ReleaseView<F>> = Vec::with_capacity(releases.len().max(1));
    if releases.is_empty() {
        views.push(ReleaseView {
            number: 0,
            title: String::new(),
            date: String::new(),
            changelog: None,
            new: false,
            files: Vec::new(),
        });
    }
    for r in &releases {
        views.push(ReleaseView {
            number: r.number,
            title: r.label.clone().unwrap_or_else(|| format!("Release {}", r.number)),
            date: human_date(r.published_at.unwrap_or(r.created_at)),
            changelog: r.changelog.as_deref().filter(|c| !c.trim().is_empty()).map(changelog_html),
            new: false,
            files: Vec::new(),
        });
    }
    let mut has_files = vec![false; views.len()];
    for f in detail.files_of(item_position) {
        let group = group_of(f);
        if let Some(i) = views.iter().position(|v| v.number == group) {
            views[i].files.push(file(f));
            has_files[i] = true;
        }
    }
    if let Some(latest) = releases.first() {
        views[0].new = latest.granted && !latest.downloaded && has_files[0];
    }
    let mut views = views.into_iter();
    let latest = views.next().expect("one view at least");
    let previous: Vec<ReleaseView<F>> = views.collect();
    let heading =
        !previous.is_empty() || releases.first().is_some_and(|r| r.label.is_some() || latest.changelog.is_some());
    ItemVersions { heading, latest, previous }
}

/// `detail` with only the files "Download all" takes: each item's latest release's files
/// ([`item_versions`]'s `latest`).
pub fn latest_only(detail: &OrderDetail, owned: &[OwnedRelease]) -> OrderDetail {
    let mut files = Vec::with_capacity(detail.files.len());
    for item in &detail.items {
        files.extend(item_versions(detail, owned, item.position, |f| f.clone()).latest.files);
    }
    files.sort_by_key(|f| f.position);
    OrderDetail { order: detail.order.clone(), items: detail.items.clone(), files }
}
