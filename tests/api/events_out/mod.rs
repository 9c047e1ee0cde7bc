//! Events out (issue 17): the shop's own webhook endpoints, the outbox written with each order
//! operation, and signed delivery to the merchant's systems.

pub(crate) mod delivery;
mod endpoints;
mod lifecycle;
mod more_events;
mod outbox;
