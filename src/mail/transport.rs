//! Where messages go: an SMTP server through lettre's pooled async transport (rustls, no
//! OpenSSL), or the file mailbox when no server is configured.

use std::time::Duration;

use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::MailError;
use super::mailbox::Mailbox;
use crate::config::{Config, SmtpTls};

/// A way to deliver messages.
#[derive(Clone)]
pub enum Transport {
    /// An SMTP server (connections are pooled and reused).
    Smtp {
        /// The pooled transport.
        transport: AsyncSmtpTransport<Tokio1Executor>,
        /// `host:port`, for logs.
        server: String,
    },
    /// `.eml` files in a folder.
    Mailbox(Mailbox),
}

impl Transport {
    /// The transport `config` asks for. One SMTP exchange may take at most half the lease, so
    /// a slow server cannot make two workers send the same email.
    pub fn from_config(config: &Config) -> anyhow::Result<Transport> {
        let Some(smtp) = &config.mail.smtp else {
            return Ok(Transport::Mailbox(Mailbox::new(config.mailbox_dir())));
        };
        let host = smtp.host.trim();
        anyhow::ensure!(!host.is_empty(), "mail.smtp.host must not be empty");
        let tls = match smtp.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::Starttls => Tls::Required(TlsParameters::new(host.to_owned())?),
            SmtpTls::Tls => Tls::Wrapper(TlsParameters::new(host.to_owned())?),
        };
        let timeout = Duration::from_secs((config.mail.lease_seconds / 2).clamp(1, 60));
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(smtp.port())
            .tls(tls)
            .timeout(Some(timeout))
            .pool_config(PoolConfig::new().max_size(config.mail.concurrency.max(1) as u32));
        if let Some(user) = smtp.user.as_deref().filter(|u| !u.is_empty()) {
            let password = smtp.password.as_ref().map(|p| p.expose().to_owned()).unwrap_or_default();
            builder = builder.credentials(Credentials::new(user.to_owned(), password));
        }
        Ok(Transport::Smtp { transport: builder.build(), server: format!("{host}:{}", smtp.port()) })
    }

    /// Delivers `message` (email `id`). The error's message is a sentence for the merchant and
    /// the log; it never contains credentials.
    pub async fn send(&self, id: &str, message: &Message) -> Result<(), MailError> {
        match self {
            Transport::Smtp { transport, server } => transport
                .send(message.clone())
                .await
                .map(drop)
                .map_err(|error| MailError::Smtp { server: server.clone(), error }),
            Transport::Mailbox(mailbox) => mailbox
                .write(id, &message.formatted())
                .await
                .map_err(|error| MailError::Mailbox { dir: mailbox.dir().display().to_string(), error }),
        }
    }

    /// What this transport is, for the start-up log.
    pub fn describe(&self) -> String {
        match self {
            Transport::Smtp { server, .. } => format!("SMTP {server}"),
            Transport::Mailbox(mailbox) => format!("mailbox {}", mailbox.dir().display()),
        }
    }
}
