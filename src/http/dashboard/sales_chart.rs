//! The Overview's 30-day sales chart: one bar a day, drawn as SVG by the page's template, with
//! a text summary for screen readers and a tooltip (`<title>`) on each bar.

use crate::db::sales::{DAY_MS, DaySales};
use crate::domain::{Millis, human_price};

/// Days the chart covers, today included.
pub const DAYS: i64 = 30;
/// The SVG's drawing box: `viewBox="0 0 WIDTH HEIGHT"`; the page stretches it to its width.
pub const WIDTH: i64 = 300;
/// See [`WIDTH`].
pub const HEIGHT: i64 = 100;

/// One day's bar, in viewBox units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    /// Left edge.
    pub x: i64,
    /// Top edge.
    pub y: i64,
    /// Width.
    pub width: i64,
    /// Height (0 on a day without sales).
    pub height: i64,
    /// `24 Nov: $19.99 (1 sale)`.
    pub label: String,
}

/// The chart of one currency's sales over the last [`DAYS`] days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesChart {
    /// The currency drawn: the one with the most sales in the period.
    pub currency: String,
    /// Its total over the period, formatted.
    pub total: String,
    /// Sales in the period, in that currency.
    pub orders: i64,
    /// One bar a day, oldest first.
    pub bars: Vec<Bar>,
    /// Totals of the period in the other currencies, formatted (`49,00 €`).
    pub others: Vec<String>,
    /// The first day's date, under the chart's left end.
    pub first_day: String,
    /// The last day's date (today), under its right end.
    pub last_day: String,
    /// What the chart shows, in words, for screen readers.
    pub summary: String,
}

/// The first moment the chart covers when it is `now`: midnight (UTC) [`DAYS`] - 1 days ago.
pub fn since(now: Millis) -> Millis {
    (now / DAY_MS - (DAYS - 1)) * DAY_MS
}

fn short_date(day: i64) -> String {
    let format = time::macros::format_description!("[day padding:none] [month repr:short]");
    time::OffsetDateTime::from_unix_timestamp(day * 86_400)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

fn sales_word(n: i64) -> &'static str {
    if n == 1 { "sale" } else { "sales" }
}

/// The chart of `sales` (per day and currency, since [`since`]`(now)`), or `None` when there
/// were none.
pub fn chart(sales: &[DaySales], now: Millis) -> Option<SalesChart> {
    let today = now / DAY_MS;
    let first = today - (DAYS - 1);
    let in_period = |s: &&DaySales| (first..=today).contains(&s.day);
    // Totals per currency; the chart draws the currency with the most sales.
    let mut totals: Vec<(String, i64, i64)> = Vec::new();
    for s in sales.iter().filter(in_period) {
        match totals.iter_mut().find(|(c, ..)| *c == s.currency) {
            Some((_, amount, orders)) => {
                *amount = amount.saturating_add(s.amount_minor);
                *orders += s.orders;
            }
            None => totals.push((s.currency.clone(), s.amount_minor, s.orders)),
        }
    }
    totals.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    let (currency, total, orders) = totals.first()?.clone();
    let day_sales = |day: i64| sales.iter().find(|s| s.day == day && s.currency == currency);
    let highest = (first..=today).filter_map(|d| day_sales(d).map(|s| s.amount_minor)).max().unwrap_or(0).max(1);
    let slot = WIDTH / DAYS;
    let bars = (first..=today)
        .enumerate()
        .map(|(i, day)| {
            let (amount, n) = day_sales(day).map_or((0, 0), |s| (s.amount_minor, s.orders));
            // Scaled in 128 bits: amounts may be as large as an i64 holds. A day with any sale
            // shows at least a sliver.
            let mut height = (i128::from(amount) * i128::from(HEIGHT - 4) / i128::from(highest)) as i64;
            if n > 0 {
                height = height.max(2);
            }
            let price = human_price(amount, &currency);
            Bar {
                x: i as i64 * slot + 1,
                y: HEIGHT - height,
                width: slot - 2,
                height,
                label: format!("{}: {price} ({n} {})", short_date(day), sales_word(n)),
            }
        })
        .collect();
    let total_text = human_price(total, &currency);
    let others: Vec<String> = totals[1..].iter().map(|(c, amount, _)| human_price(*amount, c)).collect();
    let mut summary = format!(
        "{total_text} from {orders} {} in the last {DAYS} days, {} to {}.",
        sales_word(orders),
        short_date(first),
        short_date(today)
    );
    if !others.is_empty() {
        summary.push_str(&format!(" Also {} in other currencies.", others.join(", ")));
    }
    Some(SalesChart {
        currency,
        total: total_text,
        orders,
        bars,
        others,
        first_day: short_date(first),
        last_day: short_date(today),
        summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(day: i64, currency: &str, amount_minor: i64, orders: i64) -> DaySales {
        DaySales { day, currency: currency.into(), amount_minor, orders }
    }

    #[test]
    fn bars_scale_to_the_best_day_of_the_busiest_currency() {
        // 18 November 2026, noon UTC.
        let now = 1_795_000_000_000;
        let today = now / DAY_MS;
        let sales = [
            day(today, "USD", 1999, 1),
            day(today - 2, "USD", 3998, 2),
            day(today - 40, "USD", 100_000, 5),
            day(today, "EUR", 4900, 1),
        ];
        let chart = chart(&sales, now).unwrap();
        assert_eq!((chart.currency.as_str(), chart.total.as_str(), chart.orders), ("USD", "$59.97", 3));
        assert_eq!(chart.bars.len(), 30);
        let last = chart.bars.last().unwrap();
        assert_eq!((last.x, last.width, last.height, last.y), (291, 8, 48, 52));
        assert_eq!(last.label, "18 Nov: $19.99 (1 sale)");
        assert_eq!(chart.bars[27].height, 96, "the best day is full height");
        assert_eq!((chart.bars[0].height, chart.bars[0].label.as_str()), (0, "20 Oct: $0.00 (0 sales)"));
        assert_eq!(chart.others, ["49,00 €"]);
        assert_eq!(
            chart.summary,
            "$59.97 from 3 sales in the last 30 days, 20 Oct to 18 Nov. Also 49,00 € in other currencies."
        );
        assert_eq!(since(now), (today - 29) * DAY_MS);
        assert!(super::chart(&sales[2..3], now).is_none(), "nothing in the period: no chart");
    }

    #[test]
    fn a_huge_day_does_not_overflow_and_a_tiny_one_still_shows() {
        let now = 1_795_000_000_000;
        let today = now / DAY_MS;
        let chart = chart(&[day(today, "USD", i64::MAX, 1), day(today - 1, "USD", 1, 1)], now).unwrap();
        assert_eq!(chart.bars[29].height, 96);
        assert_eq!(chart.bars[28].height, 2);
    }
}
