//! Mail: verification links, password resets, email-change confirmations and notices, and
//! support replies. Sent over SMTP (`smtp_url`, through lettre) when configured; otherwise
//! written to `outbox/` in the data directory and logged, so that someone running the
//! embedded default can still follow the links. Every message is plain text with a simple
//! HTML twin, and says what to do if it was not you.

use std::path::PathBuf;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Config;

/// Where mail goes.
#[derive(Debug)]
pub enum Mailer {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
    /// `.eml` files in this directory, and a log line naming each.
    Outbox {
        dir: PathBuf,
        from: Mailbox,
    },
}

/// One message: its subject, text and HTML.
#[derive(Clone, Debug, PartialEq)]
pub struct Mail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Mailer {
    /// Checks `smtp_url` and `mail_from` without connecting.
    pub fn check(config: &Config) -> Result<(), String> {
        config
            .mail_from
            .parse::<Mailbox>()
            .map_err(|e| format!("mail_from ({:?}) is not an address: {e}", config.mail_from))?;
        if let Some(url) = &config.smtp_url {
            AsyncSmtpTransport::<Tokio1Executor>::from_url(&url.0)
                .map_err(|e| format!("smtp_url is not a usable SMTP URL: {e}"))?;
        }
        Ok(())
    }

    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let from: Mailbox = config
            .mail_from
            .parse()
            .map_err(|e| anyhow::anyhow!("mail_from {:?}: {e}", config.mail_from))?;
        Ok(match &config.smtp_url {
            Some(url) => Mailer::Smtp {
                transport: AsyncSmtpTransport::<Tokio1Executor>::from_url(&url.0)?.build(),
                from,
            },
            None => Mailer::Outbox { dir: config.data_dir.join("outbox"), from },
        })
    }

    /// Sends `mail` to `to`. A failure is returned for the caller to log: mail is never what
    /// makes a request fail.
    pub async fn send(&self, to: &str, mail: &Mail) -> anyhow::Result<()> {
        let to: Mailbox = to.parse().map_err(|e| anyhow::anyhow!("{to:?}: {e}"))?;
        let from = match self {
            Mailer::Smtp { from, .. } | Mailer::Outbox { from, .. } => from.clone(),
        };
        let message =
            Message::builder().from(from).to(to).subject(&mail.subject).multipart(
                MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone()),
            )?;
        match self {
            Mailer::Smtp { transport, .. } => {
                transport.send(message).await?;
            }
            Mailer::Outbox { dir, .. } => {
                tokio::fs::create_dir_all(dir).await?;
                let path = dir.join(format!("{}-{}.eml", crate::now_ms(), crate::new_id()));
                tokio::fs::write(&path, message.formatted()).await?;
                let link = mail.text.split_whitespace().find(|w| w.starts_with("http"));
                tracing::info!(path = %path.display(), link = link.unwrap_or("-"), "mail written to the outbox (no smtp_url)");
            }
        }
        metrics::counter!("lithos_mail_sent_total").increment(1);
        Ok(())
    }

    /// Sends in the background; a failure is logged.
    pub fn send_later(self: &std::sync::Arc<Self>, to: String, mail: Mail) {
        let mailer = self.clone();
        tokio::spawn(async move {
            if let Err(e) = mailer.send(&to, &mail).await {
                metrics::counter!("lithos_mail_failed_total").increment(1);
                tracing::warn!(error = %e, subject = %mail.subject, "sending mail failed");
            }
        });
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A message with one call to action: `intro`, the link, and what to do if it was not you.
fn with_link(subject: &str, intro: &str, action: &str, link: &str, not_you: &str) -> Mail {
    Mail {
        subject: subject.to_owned(),
        text: format!("{intro}\n\n{action}:\n{link}\n\n{not_you}\n\n-- Lithos\n"),
        html: format!(
            "<!doctype html><html><body style=\"font-family: sans-serif\"><p>{}</p>\
             <p><a href=\"{}\">{}</a></p><p style=\"color: #555\">{}</p><p>Lithos</p></body></html>",
            escape(intro),
            escape(link),
            escape(action),
            escape(not_you)
        ),
    }
}

/// The messages Lithos sends.
pub mod templates {
    use super::{Mail, escape, with_link};

    pub fn verify(link: &str) -> Mail {
        with_link(
            "Confirm your email address for Lithos",
            "Welcome to Lithos. Please confirm that this is your email address. The link works for 24 hours.",
            "Confirm my email address",
            link,
            "If you did not sign up for Lithos, ignore this message: no account will use this address unless it is confirmed.",
        )
    }

    pub fn reset(link: &str) -> Mail {
        with_link(
            "Reset your Lithos password",
            "Someone asked to reset the password of the Lithos account with this email address. The link works for 30 minutes, once.",
            "Choose a new password",
            link,
            "If it was not you, ignore this message: your password stays as it is.",
        )
    }

    pub fn change(link: &str) -> Mail {
        with_link(
            "Confirm your new email address for Lithos",
            "Please confirm that your Lithos account should use this email address from now on. The link works for 24 hours.",
            "Use this email address",
            link,
            "If you did not ask for this, ignore this message: the account keeps its current address.",
        )
    }

    /// To the old address, once the new one is confirmed.
    pub fn changed(new_email: &str, support: &str) -> Mail {
        let text = format!(
            "The email address of your Lithos account was changed to {new_email}.\n\n\
             If you did not do this, contact support at once: {support}\n\n-- Lithos\n"
        );
        Mail {
            subject: "Your Lithos email address was changed".into(),
            html: format!(
                "<!doctype html><html><body style=\"font-family: sans-serif\"><p>The email \
                 address of your Lithos account was changed to <strong>{}</strong>.</p><p>If \
                 you did not do this, contact support at once: {}</p><p>Lithos</p></body></html>",
                escape(new_email),
                escape(support)
            ),
            text,
        }
    }

    /// A reply to a support request.
    pub fn support_reply(subject: &str, reply: &str, link: &str) -> Mail {
        let text = format!(
            "Lithos support answered your request \"{subject}\":\n\n{reply}\n\n\
             Read and answer it here: {link}\n\n\
             If you did not write to Lithos support, ignore this message.\n\n-- Lithos\n"
        );
        Mail {
            subject: format!("Re: {subject}"),
            html: format!(
                "<!doctype html><html><body style=\"font-family: sans-serif\"><p>Lithos \
                 support answered your request “{}”:</p><blockquote style=\"white-space: \
                 pre-wrap\">{}</blockquote><p><a href=\"{}\">Read and answer it</a></p><p \
                 style=\"color: #555\">If you did not write to Lithos support, ignore this \
                 message.</p></body></html>",
                escape(subject),
                escape(reply),
                escape(link)
            ),
            text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::templates;

    #[test]
    fn every_message_has_its_link_in_both_parts_and_says_what_if_not_you() {
        for mail in [
            templates::verify("https://x.example/#verify?token=abc"),
            templates::reset("https://x.example/#reset?token=abc"),
            templates::change("https://x.example/#verify?token=abc"),
        ] {
            assert!(mail.text.contains("token=abc") && mail.html.contains("token=abc"), "{mail:?}");
            assert!(mail.text.contains("If "), "{mail:?}");
        }
        let reply = templates::support_reply("<b>", "a & b", "https://x.example/#support");
        assert!(reply.html.contains("&lt;b&gt;") && reply.html.contains("a &amp; b"));
    }
}
