//! The product form: what the merchant typed (kept as typed, so a refused form comes back as
//! it was sent), and its checking into the same domain types and data-layer values the JSON
//! API uses.

use std::collections::BTreeMap;

use crate::catalog::{self, CatalogError};
use crate::db::products::{NewProduct, Product, ProductChange};
use crate::domain::{
    Currency, Delivery, DeliveryError, DeliveryFile, DeliveryMode, FileProblem, Instructions, Invalid, Price,
    ProductName, external_ids, human_size, keep_extension, product_description as description,
};
use crate::state::AppState;

/// The basic fields as typed.
#[derive(Debug, Clone, Default)]
pub struct ProductFields {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Amount as typed (`19.99`).
    pub price: String,
    /// Currency code as typed.
    pub currency: String,
    /// Product id at a Standard Webhooks provider (Dodo Payments).
    pub external_id_standard: String,
    /// Product id at Stripe.
    pub external_id_stripe: String,
}

/// Digital Product Delivery as typed.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFields {
    /// `files`, `external_link`, or empty (nothing chosen yet).
    pub mode: String,
    /// The file list, in order.
    pub files: Vec<FileRow>,
    /// The external link as typed.
    pub external_url: String,
    /// Instructions as typed.
    pub instructions: String,
}

/// One file of the list on the edit page.
#[derive(Debug, Clone, Default)]
pub struct FileRow {
    /// The uploaded file (blob) id.
    pub file_id: String,
    /// The name customers see.
    pub display_name: String,
    /// Size and type, for the merchant's eyes.
    pub facts: String,
    /// What is wrong with this row.
    pub error: Option<String>,
}

/// What a submit button asked for: save, or (without JavaScript) change the list and show it
/// again before saving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// "Update product".
    Save,
    /// Move the n-th file (from 1) up.
    Up(usize),
    /// Move the n-th file down.
    Down(usize),
    /// Take the n-th file off the list.
    Remove(usize),
    /// Add the file chosen in "add a file you uploaded before".
    Add,
}

/// A posted form, read.
#[derive(Debug, Clone, Default)]
pub struct Posted {
    /// Basic fields.
    pub fields: ProductFields,
    /// Delivery.
    pub delivery: DeliveryFields,
    /// The submit button pressed.
    pub op: Option<Op>,
    /// The file picked to add.
    pub add_file_id: String,
}

/// Field errors, by form field name.
#[derive(Debug, Clone, Default)]
pub struct FieldErrors(Vec<(&'static str, String)>);

impl FieldErrors {
    /// The error of `field`, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }

    /// Whether the form was fine.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// (field, message) pairs in page order, for the summary at the top.
    pub fn all(&self) -> &[(&'static str, String)] {
        &self.0
    }

    /// Records `invalid` under `field` (the form's name for it), labelled for people.
    pub fn add(&mut self, field: &'static str, invalid: &Invalid) {
        if self.get(field).is_none() {
            self.0.push((field, format!("{}: {}", label(field), invalid.message)));
        }
    }
}

/// The label a field has on the page, so an error names the field as the merchant sees it.
fn label(field: &str) -> &'static str {
    match field {
        "name" => "Name",
        "description" => "Description",
        "price" => "Price",
        "currency" => "Currency",
        "external_id_standard" => "Dodo Payments / Standard Webhooks product id",
        "external_id_stripe" => "Stripe product id",
        "external_ids" => "External ids",
        "delivery_mode" => "Delivery",
        "files" => "Files",
        "external_url" => "Download URL",
        "instructions" => "Instructions",
        "label" => "Version label",
        "changelog" => "What changed",
        "audience" => "Who gets it",
        "email" => "Update email",
        "email_subject" => "Email subject",
        "email_message" => "Email message",
        _ => "Form",
    }
}

impl Posted {
    /// Reads the urlencoded pairs. Files are `file_id` and `display_name` repeated, in order.
    pub fn read(pairs: Vec<(String, String)>) -> Posted {
        let mut posted = Posted::default();
        let (mut ids, mut names) = (Vec::new(), Vec::new());
        for (key, value) in pairs {
            let f = &mut posted.fields;
            let d = &mut posted.delivery;
            match key.as_str() {
                "name" => f.name = value,
                "description" => f.description = value,
                "price" => f.price = value,
                "currency" => f.currency = value,
                "external_id_standard" => f.external_id_standard = value,
                "external_id_stripe" => f.external_id_stripe = value,
                "delivery_mode" => d.mode = value,
                "external_url" => d.external_url = value,
                "instructions" => d.instructions = value,
                "file_id" => ids.push(value),
                "display_name" => names.push(value),
                "add_file_id" => posted.add_file_id = value,
                "op" => posted.op = parse_op(&value),
                _ => {}
            }
        }
        // A name without its id (or the reverse) cannot come from the page; pair what pairs.
        posted.delivery.files = ids
            .into_iter()
            .zip(names.into_iter().chain(std::iter::repeat(String::new())))
            .map(|(file_id, display_name)| FileRow { file_id, display_name, ..Default::default() })
            .collect();
        posted
    }
}

fn parse_op(value: &str) -> Option<Op> {
    let number = |s: &str| s.parse::<usize>().ok().filter(|n| *n >= 1);
    match value.split_once('-') {
        None if value == "save" => Some(Op::Save),
        None if value == "add" => Some(Op::Add),
        Some(("up", n)) => number(n).map(Op::Up),
        Some(("down", n)) => number(n).map(Op::Down),
        Some(("remove", n)) => number(n).map(Op::Remove),
        _ => None,
    }
}

impl ProductFields {
    /// The fields of a stored product.
    pub fn of(product: &Product) -> ProductFields {
        let id_at = |provider: &str| {
            product.external_ids.iter().find(|(p, _)| p == provider).map(|(_, id)| id.clone()).unwrap_or_default()
        };
        ProductFields {
            name: product.row.name.clone(),
            description: product.row.description.clone(),
            price: Price::amount_text(product.row.price_minor, &product.row.currency),
            currency: product.row.currency.clone(),
            external_id_standard: id_at("standard"),
            external_id_stripe: id_at("stripe"),
        }
    }

    /// Checks every field, recording each problem; the new product if there was none.
    pub fn check(&self, errors: &mut FieldErrors) -> Option<NewProduct> {
        let name = ProductName::parse("name", &self.name).map_err(|e| errors.add("name", &e)).ok();
        let description = description(&self.description).map_err(|e| errors.add("description", &e)).ok();
        let currency = Currency::parse("currency", &self.currency).map_err(|e| errors.add("currency", &e)).ok();
        let price = match currency {
            Some(currency) => Price::parse("price", &self.price, currency).map_err(|e| errors.add("price", &e)).ok(),
            None => None,
        };
        let mut ids = Vec::new();
        for (field, provider, value) in [
            ("external_id_standard", "standard", &self.external_id_standard),
            ("external_id_stripe", "stripe", &self.external_id_stripe),
        ] {
            if value.trim().is_empty() {
                continue;
            }
            match external_ids(BTreeMap::from([(provider.to_owned(), value.clone())])) {
                Ok(mut checked) => ids.append(&mut checked),
                Err(e) => errors.add(field, &e),
            }
        }
        Some(NewProduct { name: name?, description: description?, price: price?, external_ids: ids })
    }

    /// The change these fields make to a product, if they are all valid.
    pub fn change(&self, errors: &mut FieldErrors) -> Option<ProductChange> {
        let new = self.check(errors)?;
        Some(ProductChange {
            name: Some(new.name),
            description: Some(new.description),
            price: Some(new.price),
            active: None,
            external_ids: Some(new.external_ids),
        })
    }
}

impl DeliveryFields {
    /// The delivery of a stored product.
    pub fn of(product: &Product) -> DeliveryFields {
        DeliveryFields {
            mode: match product.row.delivery_mode {
                DeliveryMode::None => String::new(),
                mode => mode.as_str().to_owned(),
            },
            files: product
                .files
                .iter()
                .map(|f| FileRow {
                    file_id: f.blob_id.clone(),
                    display_name: f.display_name.clone(),
                    facts: facts(f.size, &f.content_type),
                    error: None,
                })
                .collect(),
            external_url: product.row.external_url.clone().unwrap_or_default(),
            instructions: product.row.instructions.clone(),
        }
    }

    /// Applies a list change asked for without JavaScript (moving, removing, adding `added`).
    pub fn apply(&mut self, op: Op, added: Option<FileRow>) {
        let len = self.files.len();
        match op {
            Op::Up(n) if (2..=len).contains(&n) => self.files.swap(n - 2, n - 1),
            Op::Down(n) if (1..len).contains(&n) => self.files.swap(n - 1, n),
            Op::Remove(n) if (1..=len).contains(&n) => {
                self.files.remove(n - 1);
            }
            Op::Add => self.files.extend(added),
            _ => {}
        }
    }

    /// Checks the delivery the way `PUT /api/v1/products/{id}/delivery` does, recording each
    /// problem next to its field; fills in each file's facts for showing the form again. Both
    /// panels are saved whatever the mode (a product keeps its files and its link, the mode
    /// chooses which customers get), so a problem in either counts.
    pub async fn check(
        &mut self,
        state: &AppState,
        merchant: &str,
        errors: &mut FieldErrors,
    ) -> Result<Option<Delivery>, CatalogError> {
        let mode = match self.mode.as_str() {
            "" => Some(DeliveryMode::None),
            other => DeliveryMode::parse("delivery_mode", other).map_err(|e| errors.add("delivery_mode", &e)).ok(),
        };
        let instructions =
            Instructions::parse("instructions", &self.instructions).map_err(|e| errors.add("instructions", &e)).ok();
        let files = self.check_files(state, merchant, errors).await?;
        let (Some(mode), Some(instructions), Some(files)) = (mode, instructions, files) else { return Ok(None) };
        match Delivery::new(mode, files, Some(&self.external_url), instructions) {
            Ok(delivery) => Ok(Some(delivery)),
            Err(DeliveryError::Invalid(invalid)) => {
                let field = if invalid.field == "external_url" { "external_url" } else { "files" };
                errors.add(field, &invalid);
                Ok(None)
            }
        }
    }

    /// Looks up each listed file (refusing an 11th before anything else, as the API does),
    /// through the same catalog service and domain rules as the API, marking each bad row.
    async fn check_files(
        &mut self,
        state: &AppState,
        merchant: &str,
        errors: &mut FieldErrors,
    ) -> Result<Option<Vec<DeliveryFile>>, CatalogError> {
        let mut ok = true;
        if let Err(e) = Delivery::check_file_count(self.files.len()) {
            ok = false;
            errors.add("files", &e);
        }
        let rows: Vec<_> = self.files.iter().map(|f| (f.file_id.as_str(), Some(f.display_name.as_str()))).collect();
        let mut looked_up = catalog::look_up_files(state, merchant, &rows).await?;
        // A display name edited without its extension keeps the uploaded file's (the page's
        // script adds it as you type; this holds without the script too): check it again.
        let mut renamed = false;
        for (row, blob) in self.files.iter_mut().zip(&looked_up.blobs) {
            if let Some(blob) = blob {
                row.facts = facts(blob.size, &blob.content_type);
                let kept = keep_extension(&row.display_name, &blob.filename);
                renamed |= kept != row.display_name;
                row.display_name = kept;
            }
        }
        if renamed {
            let rows: Vec<_> = self.files.iter().map(|f| (f.file_id.as_str(), Some(f.display_name.as_str()))).collect();
            looked_up = catalog::look_up_files(state, merchant, &rows).await?;
        }
        for (i, problem) in looked_up.checked.problems {
            ok = false;
            let (row_error, summary) = match problem {
                FileProblem::Missing => (
                    "This file does not exist (any more): remove it from the list.".to_owned(),
                    "a listed file does not exist; remove it",
                ),
                FileProblem::BadName(e) => (format!("Display name: {}", e.message), "a display name needs fixing"),
            };
            self.files[i].error = Some(row_error);
            errors.add("files", &Invalid::new("files", summary));
        }
        Ok(ok.then_some(looked_up.checked.files))
    }
}

/// `2.4 MB · application/pdf`
pub fn facts(size: i64, content_type: &str) -> String {
    format!("{} · {content_type}", human_size(size))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn files_come_in_page_order_with_their_names() {
        let posted = Posted::read(pairs(&[
            ("file_id", "a"),
            ("display_name", "A.pdf"),
            ("file_id", "b"),
            ("display_name", "B.pdf"),
            ("op", "down-1"),
        ]));
        let names: Vec<_> =
            posted.delivery.files.iter().map(|f| (f.file_id.as_str(), f.display_name.as_str())).collect();
        assert_eq!(names, [("a", "A.pdf"), ("b", "B.pdf")]);
        assert_eq!(posted.op, Some(Op::Down(1)));
        let mut delivery = posted.delivery;
        delivery.apply(Op::Down(1), None);
        assert_eq!(delivery.files[0].file_id, "b");
        delivery.apply(Op::Up(1), None);
        assert_eq!(delivery.files[0].file_id, "b", "the first cannot move up");
        delivery.apply(Op::Remove(2), None);
        assert_eq!(delivery.files.len(), 1);
        assert_eq!(parse_op("remove-0"), None);
    }

    #[test]
    fn every_bad_field_is_named() {
        let fields =
            ProductFields { name: " ".into(), price: "1.999".into(), currency: "USD".into(), ..Default::default() };
        let mut errors = FieldErrors::default();
        assert!(fields.check(&mut errors).is_none());
        assert!(errors.get("name").unwrap().starts_with("Name: "));
        assert!(errors.get("price").unwrap().contains("2 decimal places"));
        assert!(errors.get("currency").is_none());
    }
}
