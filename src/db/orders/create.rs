//! Creating an order: one transaction, in named steps.

use super::{Created, NewOrder, by_payment};
use crate::db::event_outbox::queue_order_event;
use crate::db::webhook_deliveries::{self, NewDelivery};
use crate::db::{Db, DbError, WriteTx, new_id, on_tx};
use crate::domain::{
    DeliveryMode, DeliveryOutcome, EmailKind, EmailStatus, Millis, OrderStatus, PaymentEventStatus, now_millis,
};

/// Creates the order, its customer, and the frozen delivery in one transaction. A repeated
/// payment, event or idempotency key changes nothing and says so ([`Created::Duplicate`]),
/// which is what makes webhook retries safe (rule 7).
pub async fn create(db: &Db, new: &NewOrder<'_>) -> Result<Created, DbError> {
    let order_id = new_id();
    let now = now_millis();
    let result: Result<Created, DbError> = async {
        let mut tx = db.begin_write().await?;
        if let Some(duplicate) = seen_before(&mut tx, new).await? {
            return Ok(duplicate);
        }
        let customer_id = upsert_customer(&mut tx, new, now).await?;
        insert_order(&mut tx, new, &order_id, &customer_id, now).await?;
        if let Some(event_row) = new.assigns_event
            && !claim_assigned_event(&mut tx, new, &order_id, event_row).await?
        {
            return Ok(Created::Duplicate(None));
        }
        freeze_delivery(&mut tx, new, &order_id).await?;
        record_followers(&mut tx, new, &order_id, now).await?;
        // Providers do not promise order: a refund may have come first and waited. Only a
        // provider's payment can have one (API and test orders have no refund events).
        let refunded = (new.event.is_some() || new.assigns_event.is_some())
            && apply_waiting_refund(&mut tx, new, &order_id, now).await?;
        // Events out, queued with the order: they exist exactly when the order does.
        queue_order_event(&mut tx, new.merchant_id, &order_id, "order.created", now).await?;
        if refunded {
            queue_order_event(&mut tx, new.merchant_id, &order_id, "order.refunded", now).await?;
        }
        tx.commit().await?;
        Ok(Created::New { order_id: order_id.clone(), refunded })
    }
    .await;
    match result {
        // Two deliveries of the same payment raced (PostgreSQL runs them side by side): the
        // loser's insert hit a unique key, so the winner's order is the one.
        Err(e) if e.is_constraint() => {
            Ok(Created::Duplicate(by_payment(db, new.merchant_id, new.provider, new.payment_id).await?))
        }
        other => other,
    }
}

/// The earlier outcome when this event or payment was seen before. One round trip answers
/// both "seen this event?" and "seen this payment?".
async fn seen_before(tx: &mut WriteTx, new: &NewOrder<'_>) -> Result<Option<Created>, DbError> {
    let (seen_event, seen_payment): (Option<String>, Option<String>) = on_tx!(tx, conn => {
        sqlx::query_as(
            "SELECT (SELECT COALESCE(order_id, '') FROM payment_events WHERE merchant_id = $1 AND provider = $2 \
             AND event_id = $3), (SELECT id FROM orders WHERE merchant_id = $1 AND provider = $2 AND payment_id = $4)",
        )
        .bind(new.merchant_id).bind(new.provider).bind(new.event.map_or("", |e| e.event_id)).bind(new.payment_id)
        .fetch_one(conn).await?
    });
    if let Some(order_id) = seen_event {
        return Ok(Some(Created::Duplicate(Some(order_id).filter(|id| !id.is_empty()))));
    }
    Ok(seen_payment.map(|existing| Created::Duplicate(Some(existing))))
}

/// The customer's id, adding them (or their name, when it was unknown) to the shop.
async fn upsert_customer(tx: &mut WriteTx, new: &NewOrder<'_>, now: Millis) -> Result<String, DbError> {
    let (customer_id,): (String,) = on_tx!(tx, conn => {
        sqlx::query_as(
            "INSERT INTO customers (id, merchant_id, email, name, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (merchant_id, email) DO UPDATE SET name = CASE WHEN customers.name = '' \
             THEN excluded.name ELSE customers.name END RETURNING id",
        )
        .bind(new_id()).bind(new.merchant_id).bind(new.customer_email.as_str()).bind(new.customer_name).bind(now)
        .fetch_one(conn).await?
    });
    Ok(customer_id)
}

async fn insert_order(
    tx: &mut WriteTx,
    new: &NewOrder<'_>,
    order_id: &str,
    customer_id: &str,
    now: Millis,
) -> Result<(), DbError> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO orders (id, merchant_id, customer_id, provider, payment_id, amount_minor, currency, status, \
             token_salt, token_hash, link_expires_at, max_downloads_per_file, created_at, test) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $13, $12, $8, $9, $10, $11, $14)",
        )
        .bind(order_id).bind(new.merchant_id).bind(customer_id).bind(new.provider).bind(new.payment_id)
        .bind(new.amount_minor).bind(new.currency).bind(new.token_hash)
        .bind(new.policy.expires_at(now)).bind(new.policy.max_downloads_per_file).bind(now)
        .bind(new.token_salt).bind(OrderStatus::Paid).bind(new.test)
        .execute(conn).await?;
    });
    Ok(())
}

/// Claims the unmatched event the merchant assigned to this order, after the order it refers
/// to: false when it was already claimed (an event is assigned once, however many times the
/// merchant presses the button).
async fn claim_assigned_event(
    tx: &mut WriteTx,
    new: &NewOrder<'_>,
    order_id: &str,
    event_row: &str,
) -> Result<bool, DbError> {
    let claimed = on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE payment_events SET status = $5, order_id = $1, payment_id = COALESCE(payment_id, $2), \
             detail = 'assigned in the dashboard' WHERE id = $3 AND merchant_id = $4 AND status = $6",
        )
        .bind(order_id).bind(new.payment_id).bind(event_row).bind(new.merchant_id)
        .bind(PaymentEventStatus::Processed).bind(PaymentEventStatus::Unmatched)
        .execute(conn).await?.rows_affected()
    });
    Ok(claimed > 0)
}

/// Rule 2: copies what each product delivers now, inside the order's transaction: the files
/// in files mode, the link in link mode (a product keeps both; the order only what it sold),
/// and the number of the product's current release. The files are copied from that release
/// (frozen when the delivery was saved, and equal to the product's file list then), so the
/// order's files are always its release's, even should a save commit between two statements.
async fn freeze_delivery(tx: &mut WriteTx, new: &NewOrder<'_>, order_id: &str) -> Result<(), DbError> {
    let mut files_before = 0i64;
    for (i, item) in new.items.iter().enumerate() {
        let item_position = i as i64 + 1;
        let copied = on_tx!(tx, conn => {
            sqlx::query(
                "INSERT INTO order_items (order_id, position, product_id, product_name, quantity, delivery_mode, \
                 external_url, instructions, release_number) SELECT $1, $2, id, name, $4, delivery_mode, \
                 CASE WHEN delivery_mode = $6 THEN external_url END, instructions, \
                 (SELECT MAX(r.number) FROM product_releases r WHERE r.product_id = products.id) \
                 FROM products WHERE id = $3 AND merchant_id = $5",
            )
            .bind(order_id).bind(item_position).bind(&item.product_id).bind(item.quantity).bind(new.merchant_id)
            .bind(DeliveryMode::ExternalLink)
            .execute(&mut *conn).await?;
            // The item owns the release it bought (not granted: bought), from the order's time.
            sqlx::query(
                "INSERT INTO order_releases (order_id, item_position, product_id, release_number, granted_at, granted) \
                 SELECT oi.order_id, oi.position, oi.product_id, oi.release_number, o.created_at, FALSE \
                 FROM order_items oi JOIN orders o ON o.id = oi.order_id \
                 WHERE oi.order_id = $1 AND oi.position = $2 AND oi.release_number IS NOT NULL",
            )
            .bind(order_id).bind(item_position)
            .execute(&mut *conn).await?;
            // Release files are numbered 1..n, so the order's numbering continues from the
            // files of the items before this one.
            sqlx::query(
                "INSERT INTO order_files (order_id, position, item_position, blob_id, display_name, size, \
                 content_type, sha256, storage_key, release_number) \
                 SELECT $1, $2 + rf.position, $3, rf.blob_id, rf.display_name, rf.size, rf.content_type, rf.sha256, \
                 rf.storage_key, rf.release_number FROM order_items oi JOIN release_files rf ON rf.product_id = oi.product_id \
                 AND rf.release_number = oi.release_number \
                 WHERE oi.order_id = $1 AND oi.position = $3 AND oi.delivery_mode = $4",
            )
            .bind(order_id).bind(files_before).bind(item_position).bind(DeliveryMode::Files)
            .execute(conn).await?.rows_affected()
        });
        files_before += copied as i64;
    }
    Ok(())
}

/// Claims a refund of this payment that arrived before it (kept as unmatched) and applies it
/// to the new order, in the order's transaction: one write for the webhook, and no window in
/// which the order exists without its refund.
async fn apply_waiting_refund(
    tx: &mut WriteTx,
    new: &NewOrder<'_>,
    order_id: &str,
    now: Millis,
) -> Result<bool, DbError> {
    let claimed = on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE payment_events SET status = $4, detail = 'arrived before its payment' \
             WHERE merchant_id = $1 AND provider = $2 AND payment_id = $3 AND status = $5 \
             AND event_type = 'refund.succeeded'",
        )
        .bind(new.merchant_id).bind(new.provider).bind(new.payment_id)
        .bind(PaymentEventStatus::Refund).bind(PaymentEventStatus::Unmatched)
        .execute(conn).await?.rows_affected()
    });
    if claimed == 0 {
        return Ok(false);
    }
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE orders SET refunded_at = $2, status = CASE WHEN $3 THEN $4 ELSE $5 END, \
             revoked_at = CASE WHEN $3 THEN $2 ELSE NULL END WHERE id = $1",
        )
        .bind(order_id).bind(now).bind(new.revoke_on_refund).bind(OrderStatus::Revoked).bind(OrderStatus::Refunded)
        .execute(conn).await?;
    });
    Ok(true)
}

/// What is written with the order: the webhook event that made it, its purchase email, and
/// the idempotency key of the API request.
async fn record_followers(tx: &mut WriteTx, new: &NewOrder<'_>, order_id: &str, now: Millis) -> Result<(), DbError> {
    on_tx!(tx, conn => {
        if let Some(event) = new.event {
            sqlx::query(
                "INSERT INTO payment_events (id, merchant_id, provider, event_id, event_type, payment_id, status, \
                 payload, order_id, received_at) VALUES ($1, $2, $3, $4, $5, $6, $10, $7, $8, $9)",
            )
            .bind(new_id()).bind(new.merchant_id).bind(new.provider).bind(event.event_id).bind(event.event_type)
            .bind(new.payment_id).bind(event.payload).bind(order_id).bind(now).bind(PaymentEventStatus::Processed)
            .execute(&mut *conn).await?;
        }
    });
    // The webhook delivery that made the order joins the deliveries log in the same
    // transaction: no second write on the busiest path.
    if let Some(event) = new.event {
        let delivery = NewDelivery {
            merchant_id: new.merchant_id,
            provider: new.provider,
            received_at: now,
            event_type: event.sent_type,
            event_id: Some(event.event_id),
            verified: true,
            outcome: DeliveryOutcome::OrderCreated,
            detail: "",
            order_id: Some(order_id),
        };
        webhook_deliveries::insert_on(tx, &delivery).await?;
    }
    on_tx!(tx, conn => {
        // Rule 7: the purchase email is queued with the order, in the same transaction, so a
        // crash after the commit cannot lose it and a retried payment cannot add another.
        sqlx::query(crate::db::emails::QUEUE)
            .bind(new_id()).bind(new.merchant_id).bind(order_id).bind(EmailKind::Purchase)
            .bind(new.customer_email.as_str()).bind(now).bind(EmailStatus::Queued)
            .execute(&mut *conn).await?;
        if let Some((key, request_hash)) = new.idempotency {
            sqlx::query(
                "INSERT INTO idempotency_keys (merchant_id, idempotency_key, request_hash, order_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(new.merchant_id).bind(key).bind(request_hash).bind(order_id).bind(now)
            .execute(&mut *conn).await?;
        }
    });
    Ok(())
}
