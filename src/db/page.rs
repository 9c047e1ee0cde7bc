//! Keyset pagination for the dashboard's lists: newest first, cut at a (time, id) pair rather
//! than an offset, so a page costs the same at any depth and rows arriving meanwhile do not
//! shift what the next page shows.

use crate::domain::Millis;

/// The (time, id) of a row a page starts after or ends before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The row's time (what the list is sorted by).
    pub at: Millis,
    /// The row's id (ties between rows of the same millisecond).
    pub id: String,
}

impl Cursor {
    /// Reads `{at}_{id}` as written by [`Cursor::encode`]; anything else is None (first page).
    pub fn parse(raw: &str) -> Option<Cursor> {
        let (at, id) = raw.split_once('_')?;
        let id_is_plain = !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        Some(Cursor { at: at.parse().ok()?, id: id.to_owned() }).filter(|_| id_is_plain)
    }

    /// The form that goes into a link's query string.
    pub fn encode(&self) -> String {
        format!("{}_{}", self.at, self.id)
    }
}

/// Which page of a list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PageAt {
    /// The newest rows.
    #[default]
    First,
    /// The rows older than this one.
    After(Cursor),
    /// The rows newer than this one.
    Before(Cursor),
}

impl PageAt {
    /// From the `after` / `before` query parameters (`after` wins; unreadable ones are ignored).
    pub fn from_query(after: Option<&str>, before: Option<&str>) -> PageAt {
        if let Some(cursor) = after.and_then(Cursor::parse) {
            return PageAt::After(cursor);
        }
        before.and_then(Cursor::parse).map_or(PageAt::First, PageAt::Before)
    }

    /// The SQL condition and ORDER BY for a list sorted newest first by (`time`, `id`), with the
    /// cursor bound at `$n` (time) and `$n+1` (id). Both are always bound ([`PageAt::bind_at`],
    /// [`PageAt::bind_id`]): NULL on the first page, where the condition lets every row through.
    pub fn sql(&self, time: &str, id: &str, n: usize) -> (String, String) {
        let (a, b) = (format!("${n}"), format!("${}", n + 1));
        match self {
            PageAt::First | PageAt::After(_) => (
                format!("({a} IS NULL OR {time} < {a} OR ({time} = {a} AND {id} < {b}))"),
                format!("{time} DESC, {id} DESC"),
            ),
            // Walking back: read the rows just above the cursor in ascending order, then flip.
            PageAt::Before(_) => (
                format!("({a} IS NULL OR {time} > {a} OR ({time} = {a} AND {id} > {b}))"),
                format!("{time} ASC, {id} ASC"),
            ),
        }
    }

    /// The cursor's time, to bind at `$n`.
    pub fn bind_at(&self) -> Option<Millis> {
        match self {
            PageAt::First => None,
            PageAt::After(c) | PageAt::Before(c) => Some(c.at),
        }
    }

    /// The cursor's id, to bind at `$n+1`.
    pub fn bind_id(&self) -> Option<String> {
        match self {
            PageAt::First => None,
            PageAt::After(c) | PageAt::Before(c) => Some(c.id.clone()),
        }
    }
}

/// One page of a list, newest first, with the cursors of the pages around it.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The rows.
    pub rows: Vec<T>,
    /// Where the page of newer rows ends (None on the first page).
    pub newer: Option<Cursor>,
    /// Where the page of older rows starts (None on the last page).
    pub older: Option<Cursor>,
}

impl<T> Page<T> {
    /// Makes a page of `rows` fetched with `LIMIT size + 1` in the order [`PageAt::sql`] gave:
    /// the extra row only tells that there is more.
    pub fn new(mut rows: Vec<T>, size: usize, at: &PageAt, cursor_of: impl Fn(&T) -> Cursor) -> Page<T> {
        let more = rows.len() > size;
        rows.truncate(size);
        if matches!(at, PageAt::Before(_)) {
            rows.reverse();
        }
        let (has_newer, has_older) = match at {
            PageAt::First => (false, more),
            PageAt::After(_) => (true, more),
            // An empty page before a cursor still has the cursor's own row after it.
            PageAt::Before(_) => (more, true),
        };
        let newer = rows.first().filter(|_| has_newer).map(&cursor_of);
        let older = match (rows.last(), at) {
            (Some(last), _) if has_older => Some(cursor_of(last)),
            (None, PageAt::Before(c)) => Some(Cursor { at: c.at + 1, id: c.id.clone() }),
            _ => None,
        };
        Page { rows, newer, older }
    }

    /// Whether there is nothing on this page and none before it.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty() && self.newer.is_none() && self.older.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(at: i64) -> Cursor {
        Cursor { at, id: format!("id-{at}") }
    }

    #[test]
    fn cursors_round_trip_and_refuse_junk() {
        let cursor = Cursor { at: 1_700_000_000_000, id: "0193a-b".into() };
        assert_eq!(Cursor::parse(&cursor.encode()), Some(cursor));
        for junk in ["", "12", "x_abc", "12_", "12_a'b", "12_a b"] {
            assert_eq!(Cursor::parse(junk), None, "{junk}");
        }
        assert_eq!(PageAt::from_query(Some("junk"), None), PageAt::First);
    }

    #[test]
    fn pages_know_their_neighbours() {
        let first = Page::new(vec![c(9), c(8), c(7)], 2, &PageAt::First, Clone::clone);
        assert_eq!((first.rows.len(), first.newer.clone(), first.older.clone()), (2, None, Some(c(8))));
        let last = Page::new(vec![c(7)], 2, &PageAt::After(c(8)), Clone::clone);
        assert_eq!((last.newer.clone(), last.older.clone()), (Some(c(7)), None));
        // Back from the last page: rows come ascending and are flipped.
        let back = Page::new(vec![c(8), c(9), c(10)], 2, &PageAt::Before(c(7)), Clone::clone);
        assert_eq!(back.rows, vec![c(9), c(8)]);
        assert_eq!((back.newer, back.older), (Some(c(9)), Some(c(8))));
        assert!(Page::new(Vec::<Cursor>::new(), 2, &PageAt::First, Clone::clone).is_empty());
    }
}
