//! The file mailbox: with no SMTP server configured, each email is written as `{id}.eml`
//! (RFC 5322, as lettre formats it) into `data_dir/mailbox/`, where `satchel mail list` and
//! `satchel mail show` read it. Any mail program opens these files too.

use std::path::{Path, PathBuf};

use base64::Engine;

/// A folder of `.eml` files.
#[derive(Debug, Clone)]
pub struct Mailbox {
    dir: PathBuf,
}

/// One email in the mailbox, as `satchel mail list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The email's id (its file name without `.eml`).
    pub id: String,
    /// `Date` header.
    pub date: String,
    /// `To` header.
    pub to: String,
    /// `Subject` header, decoded.
    pub subject: String,
}

impl Mailbox {
    /// The mailbox in `dir` (created on first write).
    pub fn new(dir: PathBuf) -> Mailbox {
        Mailbox { dir }
    }

    /// Its folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes the message of email `id`. A temporary file renamed into place means a reader
    /// never sees half a message, and writing the same email again replaces it (one file per
    /// email, however often it was attempted).
    pub async fn write(&self, id: &str, message: &[u8]) -> std::io::Result<()> {
        tokio::fs::create_dir_all(&self.dir).await?;
        let temp = self.dir.join(format!(".{id}.tmp"));
        tokio::fs::write(&temp, message).await?;
        tokio::fs::rename(&temp, self.path_of(id)).await
    }

    /// Removes the message of email `id`; one that is not there is already gone.
    pub async fn remove(&self, id: &str) -> std::io::Result<()> {
        match tokio::fs::remove_file(self.path_of(id)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn path_of(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.eml"))
    }

    /// Every email, oldest first (ids are UUIDv7, which sort by time).
    pub fn list(&self) -> std::io::Result<Vec<Entry>> {
        let mut entries = Vec::new();
        let dir = match std::fs::read_dir(&self.dir) {
            Ok(dir) => dir,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(entries),
            Err(e) => return Err(e),
        };
        for file in dir.flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_suffix(".eml") else { continue };
            let text = std::fs::read_to_string(file.path())?;
            let header = |name: &str| decode_words(&header(&text, name).unwrap_or_default());
            entries.push(Entry {
                id: id.to_owned(),
                date: header("Date"),
                to: header("To"),
                subject: header("Subject"),
            });
        }
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(entries)
    }

    /// The raw message of the email whose id is or starts with `id` (one match only).
    pub fn read(&self, id: &str) -> std::io::Result<Option<String>> {
        let matches: Vec<Entry> = self.list()?.into_iter().filter(|e| e.id.starts_with(id)).collect();
        match matches.as_slice() {
            [one] => Ok(Some(std::fs::read_to_string(self.path_of(&one.id))?)),
            _ => Ok(None),
        }
    }
}

impl Mailbox {
    /// The raw message of the email whose id is exactly `id` (None when it was never written
    /// here). Ids are UUIDs: anything else is refused before touching the file system.
    pub async fn read_exact(&self, id: &str) -> std::io::Result<Option<String>> {
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Ok(None);
        }
        match tokio::fs::read_to_string(self.path_of(id)).await {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether the email `id` was written here.
    pub fn holds(&self, id: &str) -> bool {
        !id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') && self.path_of(id).is_file()
    }
}

/// The value of header `name` in the header block of `message`, unfolded.
pub(crate) fn header(message: &str, name: &str) -> Option<String> {
    let mut lines = message.split("\r\n").flat_map(|l| l.split('\n')).take_while(|l| !l.is_empty()).peekable();
    while let Some(line) = lines.next() {
        let Some((key, value)) = line.split_once(':') else { continue };
        if !key.eq_ignore_ascii_case(name) {
            continue;
        }
        let mut value = value.trim().to_owned();
        while let Some(next) = lines.peek().filter(|l| l.starts_with([' ', '\t'])) {
            value.push(' ');
            value.push_str(next.trim());
            lines.next();
        }
        return Some(value);
    }
    None
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`), as lettre writes a
/// non-ASCII subject or name; anything else is left as is.
pub(crate) fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut previous_was_word = false;
    for part in value.split(' ') {
        let decoded = part.strip_prefix("=?").and_then(|p| p.strip_suffix("?=")).and_then(|p| {
            let mut fields = p.splitn(3, '?');
            let (_charset, encoding, text) = (fields.next()?, fields.next()?, fields.next()?);
            let bytes = match encoding {
                "b" | "B" => base64::engine::general_purpose::STANDARD.decode(text).ok()?,
                "q" | "Q" => decode_q(text)?,
                _ => return None,
            };
            String::from_utf8(bytes).ok()
        });
        match decoded {
            // The space between two encoded words is folding, not text.
            Some(text) => {
                if !previous_was_word && !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(&text);
                previous_was_word = true;
            }
            None => {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(part);
                previous_was_word = false;
            }
        }
    }
    out
}

fn decode_q(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'_' => out.push(b' '),
            b'=' => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_read_and_decoded() {
        let message = "From: a@b\r\nSubject: =?utf-8?b?Q2Fmw6k=?= =?utf-8?b?IGNyw6htZQ==?=\r\n and more\r\nTo: x@y\r\n\r\nSubject: body";
        assert_eq!(decode_words(&header(message, "subject").unwrap()), "Café crème and more");
        assert_eq!(header(message, "To").as_deref(), Some("x@y"));
        assert_eq!(decode_words("=?utf-8?q?O=27Brien_&_Sons?="), "O'Brien & Sons");
        assert_eq!(decode_words("plain words"), "plain words");
    }
}
