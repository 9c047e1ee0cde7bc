//! The OpenAPI description of `/api/v1`: the document, the answers every operation shares
//! (401, and 400/413/422 where a body or query is read), and the string rules the server
//! checks (patterns and lengths), so a client can validate before sending.

use std::borrow::Cow;

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use super::{files, orders, products, releases, settings, webhook_endpoints};
use crate::domain::{DeliveryMode, Email, Invalid, OrderStatus};
use crate::http::error::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(title = "Satchel API", version = "1", description = "Digital product delivery: products, their releases, files, orders, webhook endpoints. \
        Every error answers `{\"error\": {\"code\", \"message\", \"field\"?}}`."),
    paths(
        products::list, products::create, products::get, products::update, products::archive,
        products::set_delivery, products::get_delivery, releases::list, releases::get, releases::publish,
        files::upload, files::list, files::get, files::delete,
        orders::list, orders::get, orders::create::create, orders::revoke, orders::restore, orders::resend,
        orders::events,
        settings::get, settings::update,
        webhook_endpoints::list, webhook_endpoints::create, webhook_endpoints::get, webhook_endpoints::update,
        webhook_endpoints::delete, webhook_endpoints::deliveries, webhook_endpoints::rotate_secret,
        webhook_endpoints::resend,
    ),
    components(schemas(ErrorBody, EmailAddress, OrderStatusName, DisplayNameText, IdempotencyKey)),
    modifiers(&BearerAuth, &SharedAnswers),
    security(("api_key" = [])),
)]
pub(super) struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Adds the answers the extractors give to every operation that uses them, the 503 of a
/// dependency that is down, and the JSON error body to every 4xx, 503 and 507 answer that does
/// not name one.
struct SharedAnswers;

impl Modify for SharedAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                shared_answers(operation);
            }
        }
    }
}

fn shared_answers(operation: &mut Operation) {
    let has_body = operation.request_body.is_some();
    let has_query = operation.parameters.iter().flatten().any(|p| matches!(p.parameter_in, ParameterIn::Query));
    let mut add = |status: &str, description: &str| {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(ResponseBuilder::new().description(description).build()));
    };
    add("401", "no valid API key: send `Authorization: Bearer sk_…`");
    if has_body || has_query {
        add("400", "malformed: the body is not the JSON expected, or a query parameter cannot be read");
    }
    if has_body {
        add("413", "the body is over the size limit; nothing was stored");
        add("422", "a field is invalid (`field` names it)");
    }
    add("503", "the database or the file store is down for now; retry after `Retry-After` seconds");
    for (status, response) in &mut operation.responses.responses {
        let error = status.starts_with('4') || status == "503" || status == "507";
        if let (true, RefOr::T(response)) = (error, response)
            && response.content.is_empty()
        {
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
            response.content.insert("application/json".to_owned(), content);
        }
    }
}

/// The document served at `/api/v1/openapi.json`.
pub(super) fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

// Character classes of the rules below, as the server reads them (Rust's `char::is_whitespace`
// and `char::is_control`; bidirectional controls are refused in names).
const WS: &str = r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
const CONTROL: &str = r"\x00-\x1f\x7f-\x9f";
const BIDI: &str = r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069";

/// A string schema named `$name`: `pattern` (built by a closure from the classes above),
/// optional length bounds, and a description.
macro_rules! text_schema {
    ($(#[$doc:meta])* $name:ident, $description:expr, max = $max:expr, $pattern:expr) => {
        $(#[$doc])*
        pub(crate) struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                let pattern: String = $pattern;
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some($description))
                    .max_length($max)
                    .pattern(Some(pattern))
                    .into()
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

/// `Email::parse`: trimmed, no control or inner whitespace, `local@domain.tld`, at most 254
/// bytes of UTF-8 once trimmed and lower-cased. JSON Schema counts characters, not bytes, so the
/// byte limit is stated as the two cases it can count exactly: an ASCII address (one byte a
/// character) of up to 254 characters, or any address of up to 63 (four bytes a character at
/// most, lower-casing included). The API holds addresses to exactly that ([`email`]), so the
/// description and the server agree both ways.
pub(crate) struct EmailAddress;

/// `Email::parse` as the API reads an address: also refused when longer (as sent) than
/// [`EmailAddress`] says, 254 characters for an ASCII address and 63 for any other.
pub(crate) fn email(field: &'static str, raw: &str) -> Result<Email, Invalid> {
    let max = if raw.is_ascii() { 254 } else { 63 };
    if raw.chars().count() > max {
        let message = format!("must be at most {max} characters (an address with non-ASCII letters at most 63)");
        return Err(Invalid::new(field, message));
    }
    Email::parse(field, raw)
}

impl PartialSchema for EmailAddress {
    fn schema() -> RefOr<Schema> {
        use utoipa::openapi::schema::AnyOfBuilder;
        let shape = |space: &str, local: &str, label: &str| {
            format!(r"^[{space}]*[{local}]+@[{label}]+(\.[{label}]+)+[{space}]*$")
        };
        let any = shape(WS, &format!("^@{WS}{CONTROL}"), &format!("^@.{WS}{CONTROL}"));
        // Printable ASCII without `@` (0x40), and for domain labels without `.` (0x2e) either.
        let ascii = shape(r"\t\n\x0b\x0c\r ", "!-?A-~", r"!-\-/-?A-~");
        let text = |pattern: String, max: usize| {
            ObjectBuilder::new().schema_type(Type::String).max_length(Some(max)).pattern(Some(pattern))
        };
        AnyOfBuilder::new()
            .description(Some(
                "An email address like ada@example.com (trimmed and lower-cased): an ASCII address of up to \
                 254 characters, or any address of up to 63 (SMTP's limit is 254 bytes).",
            ))
            .item(text(ascii, 254))
            .item(text(any, 63))
            .into()
    }
}

impl ToSchema for EmailAddress {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("EmailAddress")
    }
}

text_schema!(
    /// `Currency::parse`: three letters, either case, trimmed.
    CurrencyCode,
    "A three-letter ISO 4217 code like USD (upper-cased).",
    max = None,
    format!(r"^[{WS}]*[A-Za-z]{{3}}[{WS}]*$")
);
text_schema!(
    /// `ProductName::parse`.
    ProductNameText,
    "1 to 200 characters after trimming; no control or bidirectional-control characters.",
    max = Some(200),
    format!(r"^[^{CONTROL}{BIDI}]*[^{WS}{CONTROL}{BIDI}][^{CONTROL}{BIDI}]*$")
);
text_schema!(
    /// `CustomerName::parse` (typed names; a webhook's are cleaned instead).
    CustomerNameText,
    "Up to 200 characters after trimming; no control or bidirectional-control characters.",
    max = Some(200),
    format!(r"^[^{CONTROL}{BIDI}]*$")
);
text_schema!(
    /// `DisplayName::parse`.
    DisplayNameText,
    "A name as shown (a file name, a sender name): 1 to 255 characters after trimming; no control or bidirectional-control characters.",
    max = Some(255),
    format!(r"^[^{CONTROL}{BIDI}]*[^{WS}{CONTROL}{BIDI}][^{CONTROL}{BIDI}]*$")
);
text_schema!(
    /// `Instructions::parse`.
    InstructionsText,
    "Up to 10000 characters; line breaks and tabs are the only control characters allowed.",
    max = Some(10_000),
    r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$".to_owned()
);
text_schema!(
    /// An id of ours or a provider's: 1 to 255 characters, not only whitespace.
    ReferenceText,
    "1 to 255 characters (bytes), trimmed; not only whitespace.",
    max = Some(255),
    format!(r"[^{WS}]")
);
text_schema!(
    /// `crate::domain::stripe_webhook_secret`.
    StripeSecretText,
    "Stripe's webhook signing secret: `whsec_` and 8 or more printable ASCII characters, 255 in all, trimmed. \
     An API key (`sk_live_…`, `sk_test_…`) is refused with a message saying so.",
    max = None,
    format!(r"^[{WS}]*whsec_[!-~]{{8,249}}[{WS}]*$")
);

/// The merchant's product ids at payment providers: `standard` and `stripe`, nothing else.
pub(crate) struct ExternalIds;

impl PartialSchema for ExternalIds {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .description(Some("Provider name → the merchant's product id there."))
            .property("standard", Ref::from_schema_name(ReferenceText::name()))
            .property("stripe", Ref::from_schema_name(ReferenceText::name()))
            .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(false)))
            .into()
    }
}

impl ToSchema for ExternalIds {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ExternalIds")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((ReferenceText::name().into_owned(), ReferenceText::schema()));
    }
}

/// `OrderStatus::parse`.
pub(crate) struct OrderStatusName;

impl PartialSchema for OrderStatusName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(OrderStatus::ALL.iter().map(|s| s.as_str())))
            .into()
    }
}

impl ToSchema for OrderStatusName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("OrderStatusName")
    }
}

text_schema!(
    /// An `Idempotency-Key` header: visible ASCII, 1 to 255 characters after trimming.
    IdempotencyKey,
    "1 to 255 visible ASCII characters (spaces inside allowed).",
    max = Some(255),
    r"^[\t -~]*[!-~][\t -~]*$".to_owned()
);

/// Body of `PUT /api/v1/products/{id}/delivery` with the rules of each mode (one of three
/// shapes): every part but the mode may be left out (the saved one is kept); `files` mode
/// needs a file and `external_link` mode a link, sent or saved.
pub(crate) struct DeliveryRequest;

impl PartialSchema for DeliveryRequest {
    fn schema() -> RefOr<Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, AnyOfBuilder, ArrayBuilder, OneOfBuilder};
        let file = ObjectBuilder::new()
            .property("file_id", ObjectBuilder::new().schema_type(Type::String))
            .required("file_id")
            .property(
                "display_name",
                OneOfBuilder::new()
                    .item(Ref::from_schema_name(DisplayNameText::name()))
                    .item(ObjectBuilder::new().schema_type(Type::Null)),
            )
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .build();
        let files = |min: usize| {
            ArrayBuilder::new().items(file.clone()).min_items(Some(min)).max_items(Some(crate::domain::MAX_FILES))
        };
        // What `ExternalUrl::parse` surely accepts: the server's rule is wider (any URL the
        // WHATWG parser reads with an http(s) scheme and a host), the description is the safe part.
        // The last label starts with a letter (`http://y.2/` is read as a bad IPv4 address); the
        // path holds only characters the parser keeps as they are, and 2047 leaves room for the
        // `/` it adds to a bare host, so the stored form stays within the server's 2048 bytes.
        let url = ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(2047))
            .pattern(Some(r"^https?://([a-z0-9]+\.)*[a-z][a-z0-9]*(:[0-9]{1,4})?(/[A-Za-z0-9._~!$&()*+,;=:@/%?#-]*)?$"))
            .build();
        // Outside link mode the link may also be removed: `null`, or a blank string.
        let url_or_none = AnyOfBuilder::new()
            .item(url.clone())
            .item(ObjectBuilder::new().schema_type(Type::String).pattern(Some(format!(r"^[{WS}]*$"))))
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .build();
        let shape = |mode: DeliveryMode, files: ArrayBuilder, url: Schema| {
            ObjectBuilder::new()
                .property("mode", ObjectBuilder::new().schema_type(Type::String).enum_values(Some([mode.as_str()])))
                .required("mode")
                .property("files", files)
                .property("external_url", url)
                .property("instructions", Ref::from_schema_name(InstructionsText::name()))
                .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        };
        OneOfBuilder::new()
            .description(Some(
                "A product's delivery: `none` (a draft: it cannot be bought); `files` (1 to 10 distinct uploaded \
                 files, in order); or `external_link` (an http(s) URL without user name or password). The \
                 product keeps both its file list and its link whatever the mode, which chooses the one \
                 delivered. A part left out keeps the saved one (`{\"mode\": \"files\"}` switches back to \
                 the saved files); `files: []` removes the files, `external_url: null` the link. Instructions \
                 go with any mode.",
            ))
            .item(shape(DeliveryMode::None, files(0), url_or_none.clone().into()))
            .item(shape(DeliveryMode::Files, files(1), url_or_none.into()))
            .item(shape(DeliveryMode::ExternalLink, files(0), url.into()))
            .into()
    }
}

impl ToSchema for DeliveryRequest {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("DeliveryRequest")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((DisplayNameText::name().into_owned(), DisplayNameText::schema()));
        schemas.push((InstructionsText::name().into_owned(), InstructionsText::schema()));
    }
}
