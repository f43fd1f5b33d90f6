//! Outgoing email: message templates and the transport that carries them.
//!
//! On embedded defaults the transport is lettre's file transport: each message is a real
//! RFC 5322 `.eml` file in `{data_dir}/outbox/`, readable by any mail client. The jobs
//! issue adds SMTP delivery through the queue behind the same [`Mailer::send`].

use std::path::PathBuf;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};

/// One message to one recipient, with plain-text and HTML bodies.
#[derive(Debug, Clone)]
pub struct OutgoingEmail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: AsyncFileTransport<Tokio1Executor>,
    pub outbox: PathBuf,
}

impl Mailer {
    pub fn files(outbox: PathBuf, from: &str) -> anyhow::Result<Mailer> {
        std::fs::create_dir_all(&outbox)?;
        let from: Mailbox = from
            .parse()
            .map_err(|e| anyhow::anyhow!("the sender address `{from}` is not valid: {e}"))?;
        Ok(Mailer {
            from,
            transport: AsyncFileTransport::new(&outbox),
            outbox,
        })
    }

    pub async fn send(&self, email: OutgoingEmail) -> anyhow::Result<()> {
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|e| anyhow::anyhow!("recipient is not a valid address: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject)
            .multipart(MultiPart::alternative_plain_html(email.text, email.html))?;
        self.transport.send(message).await?;
        Ok(())
    }
}

/// Whether lettre can address a message to this email; checked at registration so that an
/// address we cannot write to is refused up front.
pub fn deliverable(address: &str) -> bool {
    address.parse::<lettre::Address>().is_ok()
}

pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The message templates. Tokens stand on a line of their own so they survive any
/// transfer encoding and are easy to copy.
pub mod templates {
    use super::{OutgoingEmail, escape_html};

    fn wrap(
        to: &str,
        subject: &str,
        paragraphs: &[String],
        code: Option<(&str, &str)>,
    ) -> OutgoingEmail {
        let mut text = String::new();
        let mut html = String::from("<!doctype html><html><body>");
        for p in paragraphs {
            text.push_str(p);
            text.push_str("\n\n");
            html.push_str(&format!("<p>{}</p>", escape_html(p)));
        }
        if let Some((label, token)) = code {
            text.push_str(&format!("{label}:\n{token}\n\n"));
            html.push_str(&format!(
                "<p>{}:</p><pre>{}</pre>",
                escape_html(label),
                escape_html(token)
            ));
        }
        text.push_str("-- \nNexus\n");
        html.push_str("<p>Nexus</p></body></html>");
        OutgoingEmail {
            to: to.to_owned(),
            subject: subject.to_owned(),
            text,
            html,
        }
    }

    pub fn verify(to: &str, name: &str, link: &str, token: &str, hours: u64) -> OutgoingEmail {
        wrap(
            to,
            "Confirm your email address for Nexus",
            &[
                format!("Hello {name},"),
                format!("Please confirm this address by opening {link} within {hours} hours."),
                "Or send the code below to POST /api/v1/auth/verify-email.".into(),
            ],
            Some(("Verification code", token)),
        )
    }

    pub fn signup_attempt(to: &str, public_url: &str) -> OutgoingEmail {
        wrap(
            to,
            "Someone tried to sign up to Nexus with your address",
            &[
                "Someone, perhaps you, tried to create a Nexus account with this email address, which already has one.".into(),
                format!("If it was you, sign in at {public_url} or reset your password there. If not, you can ignore this message: nothing has changed."),
            ],
            None,
        )
    }

    pub fn reset(to: &str, name: &str, link: &str, token: &str, minutes: u64) -> OutgoingEmail {
        wrap(
            to,
            "Reset your Nexus password",
            &[
                format!("Hello {name},"),
                format!("Someone asked to reset the password of this account. Open {link} within {minutes} minutes to choose a new one."),
                "Or send the code below to POST /api/v1/auth/password-reset/confirm. If you did not ask, ignore this message.".into(),
            ],
            Some(("Reset code", token)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn messages_land_as_eml_files_in_the_outbox() {
        let dir = tempfile::tempdir().unwrap();
        let mailer =
            Mailer::files(dir.path().join("outbox"), "Nexus <no-reply@nexus.test>").unwrap();
        mailer
            .send(templates::verify(
                "ada@example.com",
                "Ada <b>",
                "http://x/v",
                "tok123",
                48,
            ))
            .await
            .unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path().join("outbox"))
            .unwrap()
            .collect();
        assert_eq!(files.len(), 1);
        let path = files[0].as_ref().unwrap().path();
        assert_eq!(path.extension().unwrap(), "eml");
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.contains("To: ada@example.com"), "{text}");
        assert!(text.contains("tok123"), "{text}");
        assert!(
            text.contains("Ada &lt;b&gt;"),
            "HTML part escapes names: {text}"
        );
    }
}
