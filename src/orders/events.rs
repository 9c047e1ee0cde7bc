//! One event per completed order operation, emitted through [`emit`].
//!
//! Every service in `crate::orders` calls [`emit`] exactly once when its operation is done
//! (and not when it was refused or changed nothing). For now an event is a log line at info;
//! this is the hook a later issue turns into signed webhooks to the merchant's own systems, so
//! that whatever reaches them is exactly what happened here, once.

/// What happened to an order (ids only: never an email address, a token or a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderEvent {
    /// A payment became an order (its purchase email is queued).
    Created {
        /// The merchant's id.
        merchant_id: String,
        /// The new order.
        order_id: String,
    },
    /// A payment was kept as unmatched: it named no known product or carried no usable email,
    /// or its signed body could not be read.
    Unmatched {
        /// The merchant's id.
        merchant_id: String,
        /// The provider's event id, when there was an event.
        event_id: Option<String>,
    },
    /// A refund was applied to an order (revoking it too when the merchant asked for that).
    Refunded {
        /// The merchant's id.
        merchant_id: String,
        /// The refunded order.
        order_id: String,
    },
    /// A refund arrived before its payment and was kept until the payment comes.
    RefundKept {
        /// The merchant's id.
        merchant_id: String,
        /// The provider's payment id the refund names.
        payment_id: String,
    },
    /// The merchant revoked access to an order.
    Revoked {
        /// The merchant's id.
        merchant_id: String,
        /// The order.
        order_id: String,
    },
    /// The merchant restored access to an order.
    Restored {
        /// The merchant's id.
        merchant_id: String,
        /// The order.
        order_id: String,
    },
    /// The merchant deleted their test data.
    TestDataDeleted {
        /// The merchant's id.
        merchant_id: String,
        /// Test orders deleted.
        orders: u64,
    },
    /// The merchant gave a file of an order its downloads back.
    DownloadsReset {
        /// The merchant's id.
        merchant_id: String,
        /// The order.
        order_id: String,
        /// The file's position in the order.
        position: i64,
    },
    /// The merchant extended an order's link.
    LinkExtended {
        /// The merchant's id.
        merchant_id: String,
        /// The order.
        order_id: String,
        /// The link's new expiry (None: never).
        until: Option<crate::domain::Millis>,
    },
    /// Another copy of the purchase email was queued.
    EmailQueued {
        /// The merchant's id.
        merchant_id: String,
        /// The order.
        order_id: String,
        /// The queued email.
        email_id: String,
    },
}

/// Records that an operation completed. Services call it once per completed operation.
pub(crate) fn emit(event: OrderEvent) {
    match &event {
        OrderEvent::Created { merchant_id, order_id } => {
            tracing::info!(merchant_id, order_id, "order event: created");
        }
        OrderEvent::Unmatched { merchant_id, event_id } => {
            tracing::info!(merchant_id, event_id, "order event: payment kept as unmatched");
        }
        OrderEvent::Refunded { merchant_id, order_id } => {
            tracing::info!(merchant_id, order_id, "order event: refunded");
        }
        OrderEvent::RefundKept { merchant_id, payment_id } => {
            tracing::info!(merchant_id, payment_id, "order event: refund kept until its payment arrives");
        }
        OrderEvent::Revoked { merchant_id, order_id } => {
            tracing::info!(merchant_id, order_id, "order event: access revoked");
        }
        OrderEvent::Restored { merchant_id, order_id } => {
            tracing::info!(merchant_id, order_id, "order event: access restored");
        }
        OrderEvent::DownloadsReset { merchant_id, order_id, position } => {
            tracing::info!(merchant_id, order_id, position, "order event: a file's downloads given back");
        }
        OrderEvent::LinkExtended { merchant_id, order_id, until } => {
            tracing::info!(merchant_id, order_id, until, "order event: link extended");
        }
        OrderEvent::TestDataDeleted { merchant_id, orders } => {
            tracing::info!(merchant_id, orders, "order event: test data deleted");
        }
        OrderEvent::EmailQueued { merchant_id, order_id, email_id } => {
            tracing::info!(merchant_id, order_id, email_id, "order event: purchase email queued again");
        }
    }
}
