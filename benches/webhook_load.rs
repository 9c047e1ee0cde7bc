//! Load generator for signed payment webhooks (used by `bench/run.sh`).
//!
//! `cargo bench --bench webhook_load -- URL WHSEC_SECRET PRODUCT_ID CONNECTIONS SECONDS`
//! Every request is a distinct Dodo-shaped `payment.succeeded`, signed with Standard Webhooks,
//! so each one creates an order. Prints one JSON line: requests, orders per second, latencies.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};

fn sign(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let [url, secret, product, connections, seconds] = args.as_slice() else {
        eprintln!("usage: webhook_load URL WHSEC_SECRET PRODUCT_ID CONNECTIONS SECONDS");
        std::process::exit(2);
    };
    let key = STANDARD.decode(secret.trim_start_matches("whsec_")).expect("base64 secret");
    let connections: usize = connections.parse().expect("connections");
    let duration = Duration::from_secs(seconds.parse().expect("seconds"));
    let client = reqwest::Client::builder().pool_max_idle_per_host(connections).build().unwrap();
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..connections {
        let (client, url, key, product) = (client.clone(), url.clone(), key.clone(), product.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut n = 0u64;
            while started.elapsed() < duration {
                n += 1;
                let id = format!("msg_{worker}_{n}_{}", uuid::Uuid::new_v4().simple());
                let body = serde_json::json!({
                    "type": "payment.succeeded",
                    "data": {
                        "payment_id": format!("pay_{id}"),
                        "total_amount": 1999, "currency": "USD",
                        "customer": {"email": format!("buyer{worker}-{n}@example.com"), "name": "Load Test"},
                        "product_cart": [{"product_id": product, "quantity": 1}]
                    }
                })
                .to_string();
                let timestamp =
                    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
                let signature = sign(&key, &id, timestamp, &body);
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .header("webhook-id", &id)
                    .header("webhook-timestamp", timestamp.to_string())
                    .header("webhook-signature", signature)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
                match response {
                    Ok(r) if r.status().is_success() => latencies.push(sent.elapsed()),
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (l, e) = worker.await.unwrap();
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| latencies.get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)));
    let ms = |d: Option<&Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    println!(
        "{{\"requests\": {}, \"errors\": {errors}, \"per_second\": {:.0}, \"p50_ms\": {:.2}, \"p99_ms\": {:.2}}}",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        ms(pct(0.50)),
        ms(pct(0.99))
    );
}
