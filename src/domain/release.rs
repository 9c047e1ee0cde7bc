//! Releases: each saved change to a product's delivery is a release, numbered 1, 2, … per
//! product and kept as it was. A save that changes nothing is not a new release.

use super::{Delivery, DeliveryMode};

/// A delivery reduced to what a release freezes and what tells two saves apart: the mode,
/// the link and the instructions (kept whatever the mode), and the file list in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseContent {
    /// How it is delivered.
    pub mode: DeliveryMode,
    /// The link, kept in every mode.
    pub external_url: Option<String>,
    /// Instructions.
    pub instructions: String,
    /// (file id, display name), in order.
    pub files: Vec<(String, String)>,
}

impl ReleaseContent {
    /// What saving `delivery` freezes.
    pub fn of(delivery: &Delivery) -> ReleaseContent {
        ReleaseContent {
            mode: delivery.mode(),
            external_url: delivery.external_url().map(|u| u.as_str().to_owned()),
            instructions: delivery.instructions().as_str().to_owned(),
            files: delivery.files().iter().map(|f| (f.file_id.clone(), f.display_name.as_str().to_owned())).collect(),
        }
    }

    /// Nothing at all: a new product's delivery, which stands for "no release yet".
    pub fn is_empty(&self) -> bool {
        self.mode == DeliveryMode::None
            && self.external_url.is_none()
            && self.instructions.is_empty()
            && self.files.is_empty()
    }
}

/// Whether saving `saved` makes a new release after `latest` (`None`: the product has no
/// release yet, which is the same as an empty delivery).
pub fn is_new_release(latest: Option<&ReleaseContent>, saved: &ReleaseContent) -> bool {
    match latest {
        Some(latest) => latest != saved,
        None => !saved.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(mode: DeliveryMode, files: &[(&str, &str)]) -> ReleaseContent {
        ReleaseContent {
            mode,
            external_url: None,
            instructions: String::new(),
            files: files.iter().map(|(id, name)| (id.to_string(), name.to_string())).collect(),
        }
    }

    #[test]
    fn only_a_change_is_a_new_release() {
        let empty = content(DeliveryMode::None, &[]);
        let one = content(DeliveryMode::Files, &[("a", "a.pdf")]);
        assert!(!is_new_release(None, &empty), "nothing saved over nothing");
        assert!(is_new_release(None, &one));
        assert!(!is_new_release(Some(&one), &one.clone()));
        let renamed = content(DeliveryMode::Files, &[("a", "b.pdf")]);
        assert!(is_new_release(Some(&one), &renamed), "a display name is part of it");
        let reordered = content(DeliveryMode::Files, &[("b", "b.pdf"), ("a", "a.pdf")]);
        let ordered = content(DeliveryMode::Files, &[("a", "a.pdf"), ("b", "b.pdf")]);
        assert!(is_new_release(Some(&ordered), &reordered), "the order is part of it");
        let mut instructions = one.clone();
        instructions.instructions = "Read me".into();
        assert!(is_new_release(Some(&one), &instructions));
        let mut drafted = one.clone();
        drafted.mode = DeliveryMode::None;
        assert!(is_new_release(Some(&one), &drafted), "the mode is part of it");
        assert!(is_new_release(Some(&one), &empty), "emptied after a release: a release of nothing");
    }
}
