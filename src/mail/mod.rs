//! Email: the outbox worker ([`outbox`]), where messages go ([`transport`]: SMTP or the
//! [`mailbox`] folder), and what they say ([`message`]).
//!
//! Every order queues its purchase email in its own transaction (see `db::orders::create`);
//! the worker renders and sends it afterwards, so a slow or absent mail server never holds up a
//! payment and never loses an email.

pub mod endpoint_disabled;
mod error;
pub mod mailbox;
pub mod message;
pub mod outbox;
pub mod password_reset;
pub mod release_update;
pub mod sign_in;
pub mod team_invite;
pub mod transport;

// Reading mailbox files back for the dashboard's Mailbox page.
pub mod parse;

pub use error::{BadAddress, MailError};
pub use mailbox::Mailbox;
pub use outbox::Outbox;
pub use transport::Transport;
