//! Outgoing email: message templates and the transports that carry them.
//!
//! On embedded defaults the transport writes each message as a real RFC 5322 `.eml` file
//! in `{data_dir}/outbox/`, readable by any mail client; with `smtp_url` it is lettre's
//! SMTP client (`smtp://` plain, `smtp://…?tls=required` STARTTLS, `smtps://` TLS), with
//! a timeout on every exchange. Messages are only ever sent by the `email.send` job.
//!
//! Each message is named by the job that sends it: the `.eml` file is `<job id>.eml`,
//! written whole and renamed into place, and the `Message-ID` is derived from the job id.
//! A job that runs twice after a crash therefore replaces its own file instead of adding
//! a second, and an SMTP receiver can recognise a resend by its Message-ID.

pub mod send;

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::MessageId;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One message to one recipient, with plain-text and HTML bodies.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutgoingEmail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Clone)]
enum Transport {
    Files(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// Why a message was not sent. `permanent` errors will not get better with a retry (an
/// address lettre cannot write to, a 5xx refusal from the server).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    pub message: String,
    pub permanent: bool,
}

impl SendError {
    fn transient(message: impl std::fmt::Display) -> Self {
        SendError {
            message: message.to_string(),
            permanent: false,
        }
    }
    fn permanent(message: impl std::fmt::Display) -> Self {
        SendError {
            message: message.to_string(),
            permanent: true,
        }
    }
}

#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
    pub outbox: PathBuf,
}

impl Mailer {
    /// The transport the settings ask for: SMTP when `smtp_url` is set, files otherwise.
    pub fn from_settings(settings: &nexus_core::config::Settings) -> anyhow::Result<Mailer> {
        let outbox = settings.data_dir.join("outbox");
        match &settings.smtp_url {
            None => Mailer::files(outbox, &settings.mail_from),
            Some(url) => {
                let timeout = Duration::from_secs(settings.jobs.outbound_timeout_secs);
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .map_err(|e| anyhow::anyhow!("key `smtp_url` (SMTP_URL): {e}"))?
                    .timeout(Some(timeout))
                    .build();
                Ok(Mailer {
                    from: parse_from(&settings.mail_from)?,
                    transport: Transport::Smtp(transport),
                    outbox,
                })
            }
        }
    }

    pub fn files(outbox: PathBuf, from: &str) -> anyhow::Result<Mailer> {
        std::fs::create_dir_all(&outbox)?;
        Ok(Mailer {
            from: parse_from(from)?,
            transport: Transport::Files(outbox.clone()),
            outbox,
        })
    }

    pub fn transport_name(&self) -> &'static str {
        match self.transport {
            Transport::Files(_) => "files",
            Transport::Smtp(_) => "smtp",
        }
    }

    /// Sends `email` as the message of job `key` (see the module notes on resends).
    pub async fn send(&self, key: Uuid, email: &OutgoingEmail) -> Result<(), SendError> {
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|e| SendError::permanent(format!("recipient is not a valid address: {e}")))?;
        let domain = self.from.email.domain().to_owned();
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .header(MessageId::from(format!("<{key}@{domain}>")))
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .map_err(SendError::permanent)?;
        match &self.transport {
            Transport::Files(dir) => {
                let bytes = message.formatted();
                let tmp = dir.join(format!(".{key}.tmp"));
                let path = dir.join(format!("{key}.eml"));
                tokio::fs::write(&tmp, bytes)
                    .await
                    .map_err(SendError::transient)?;
                tokio::fs::rename(&tmp, &path)
                    .await
                    .map_err(SendError::transient)
            }
            Transport::Smtp(smtp) => match smtp.send(message).await {
                Ok(_) => Ok(()),
                Err(e) if e.is_permanent() => Err(SendError::permanent(e)),
                Err(e) => Err(SendError::transient(e)),
            },
        }
    }
}

fn parse_from(from: &str) -> anyhow::Result<Mailbox> {
    from.parse()
        .map_err(|e| anyhow::anyhow!("key `mail_from`: `{from}` is not a valid sender: {e}"))
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

    /// A plain notice: a subject and paragraphs, no code (the domains' own messages).
    pub fn notice(to: &str, subject: &str, paragraphs: &[String]) -> OutgoingEmail {
        wrap(to, subject, paragraphs, None)
    }

    /// Someone commented on, or proposed an edit to, a note of the recipient's.
    pub fn note_activity(
        to: &str,
        name: &str,
        actor: &str,
        what: &str,
        title: &str,
        link: &str,
        settings_link: &str,
    ) -> OutgoingEmail {
        wrap(
            to,
            &format!("{actor} {what} on \u{201c}{title}\u{201d}"),
            &[
                format!("Hello {name},"),
                format!("{actor} {what} on your note \u{201c}{title}\u{201d}: {link}"),
                format!(
                    "You get these emails because notifications are on. Turn them off at {settings_link}."
                ),
            ],
            None,
        )
    }

    /// The weekly digest: new notes in the topics the recipient follows.
    pub fn digest(
        to: &str,
        name: &str,
        notes: &[(String, String, String)],
        public_url: &str,
        settings_link: &str,
    ) -> OutgoingEmail {
        let mut paragraphs = vec![
            format!("Hello {name},"),
            format!(
                "{} new note{} this week in topics you follow:",
                notes.len(),
                if notes.len() == 1 { "" } else { "s" }
            ),
        ];
        for (title, topic, slug) in notes {
            paragraphs.push(format!(
                "[{topic}] {title} \u{2014} {public_url}/notes/{slug}"
            ));
        }
        paragraphs.push(format!(
            "You get this digest once a week. Turn it off at {settings_link}."
        ));
        wrap(to, "Your weekly Nexus digest", &paragraphs, None)
    }

    /// A digest in sections: a heading each, its items as a list (`None.` when it has
    /// none), between opening and closing paragraphs.
    pub fn sections(
        to: &str,
        subject: &str,
        opening: &[String],
        sections: &[(String, Vec<String>)],
        closing: &[String],
    ) -> OutgoingEmail {
        let mut text = String::new();
        let mut html = String::from("<!doctype html><html><body>");
        for p in opening {
            text.push_str(&format!("{p}\n\n"));
            html.push_str(&format!("<p>{}</p>", escape_html(p)));
        }
        for (heading, items) in sections {
            text.push_str(&format!("{heading}\n"));
            html.push_str(&format!("<h2>{}</h2>", escape_html(heading)));
            if items.is_empty() {
                text.push_str("None.\n\n");
                html.push_str("<p>None.</p>");
                continue;
            }
            html.push_str("<ul>");
            for item in items {
                text.push_str(&format!("- {item}\n"));
                html.push_str(&format!("<li>{}</li>", escape_html(item)));
            }
            text.push('\n');
            html.push_str("</ul>");
        }
        for p in closing {
            text.push_str(&format!("{p}\n\n"));
            html.push_str(&format!("<p>{}</p>", escape_html(p)));
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
        let key = Uuid::now_v7();
        let email = templates::verify("ada@example.com", "Ada <b>", "http://x/v", "tok123", 48);
        mailer.send(key, &email).await.unwrap();
        // A second run of the same job replaces its message rather than adding one.
        mailer.send(key, &email).await.unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path().join("outbox"))
            .unwrap()
            .collect();
        assert_eq!(files.len(), 1);
        let path = files[0].as_ref().unwrap().path();
        assert_eq!(
            path.file_name().unwrap().to_str().unwrap(),
            format!("{key}.eml")
        );
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.contains("To: ada@example.com"), "{text}");
        assert!(text.contains("tok123"), "{text}");
        assert!(
            text.contains(&format!("Message-ID: <{key}@nexus.test>")),
            "{text}"
        );
        assert!(
            text.contains("Ada &lt;b&gt;"),
            "HTML part escapes names: {text}"
        );
    }
}
