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
    OrderDetail { order: detail.order.clone(), items: detail.items.clone(), files, sharing: detail.sharing }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::orders::{Order, OrderItem};
    use crate::domain::{DeliveryMode, OrderStatus, PaymentSource};

    fn detail(files: &[(i64, Option<i64>)]) -> OrderDetail {
        let order = Order {
            id: "o".into(),
            merchant_id: "m".into(),
            customer_id: "c".into(),
            customer_email: "a@example.com".into(),
            customer_name: String::new(),
            provider: PaymentSource::Test,
            payment_id: "p".into(),
            amount_minor: 0,
            currency: "USD".into(),
            status: OrderStatus::Paid,
            link_expires_at: None,
            max_downloads_per_file: None,
            created_at: 0,
            refunded_at: None,
            revoked_at: None,
            token_salt: String::new(),
            test: true,
            link_locked_at: None,
        };
        let item = OrderItem {
            position: 1,
            product_id: "prod".into(),
            product_name: "Guide".into(),
            quantity: 1,
            delivery_mode: DeliveryMode::Files,
            external_url: None,
            instructions: String::new(),
            link_clicks: 0,
        };
        let files = files
            .iter()
            .map(|&(position, release_number)| OrderFile {
                position,
                item_position: 1,
                blob_id: String::new(),
                display_name: format!("f{position}"),
                size: 1,
                content_type: "text/plain".into(),
                sha256: String::new(),
                storage_key: String::new(),
                download_count: 0,
                release_number,
            })
            .collect();
        OrderDetail { order, items: vec![item], files, sharing: Default::default() }
    }

    fn owned(number: i64, granted: bool, downloaded: bool, label: Option<&str>) -> OwnedRelease {
        OwnedRelease {
            order_id: "o".into(),
            item_position: 1,
            number,
            label: label.map(str::to_owned),
            changelog: None,
            created_at: 0,
            published_at: None,
            granted,
            granted_at: 0,
            downloaded,
        }
    }

    fn positions(v: &ReleaseView<i64>) -> Vec<i64> {
        v.files.clone()
    }

    #[test]
    fn the_latest_release_comes_first_with_its_files_and_the_others_below() {
        let d = detail(&[(1, Some(1)), (2, Some(2)), (3, Some(2)), (4, Some(9))]);
        let owned = [owned(1, false, true, None), owned(2, true, false, Some("2.0"))];
        let v = item_versions(&d, &owned, 1, |f| f.position);
        assert_eq!((v.latest.title.as_str(), v.latest.new, v.heading), ("2.0", true, true));
        assert_eq!(positions(&v.latest), [2, 3, 4], "a file of a release not owned stays with the latest");
        assert_eq!(
            v.previous.iter().map(|r| (r.title.clone(), positions(r))).collect::<Vec<_>>(),
            [("Release 1".to_owned(), vec![1])]
        );
        assert_eq!(latest_only(&d, &owned).files.iter().map(|f| f.position).collect::<Vec<_>>(), [2, 3, 4]);
    }

    #[test]
    fn new_only_for_a_granted_release_with_files_none_downloaded() {
        let d = detail(&[(1, Some(1)), (2, Some(2))]);
        let new =
            |latest: OwnedRelease| item_versions(&d, &[owned(1, false, false, None), latest], 1, |_| ()).latest.new;
        assert!(new(owned(2, true, false, None)));
        assert!(!new(owned(2, true, true, None)), "downloaded");
        assert!(!new(owned(2, false, false, None)), "bought, not granted");
        let only_1 = detail(&[(1, Some(1))]);
        let owned = [owned(1, false, false, None), owned(2, true, false, None)];
        assert!(!item_versions(&only_1, &owned, 1, |_| ()).latest.new, "no files of it in the order");
    }

    #[test]
    fn one_plain_release_or_none_shows_no_heading() {
        let d = detail(&[(1, Some(1)), (2, Some(1))]);
        let v = item_versions(&d, &[owned(1, false, false, None)], 1, |f| f.position);
        assert!(!v.heading && v.previous.is_empty() && !v.latest.new);
        let v = item_versions(&d, &[owned(1, false, false, Some("1.0"))], 1, |f| f.position);
        assert!(v.heading, "a label is shown");
        let bare = detail(&[(1, None)]);
        let v = item_versions(&bare, &[], 1, |f| f.position);
        assert_eq!((v.heading, positions(&v.latest), v.previous.len()), (false, vec![1], 0));
    }
}
