//! Free text from users (names, reasons, file names): trimmed, bounded, and free of control
//! characters and of the bidirectional formatting characters (U+202E and friends) that make
//! `invoice\u{202E}gnp.exe` display as `invoiceexe.png`.

use crate::error::{ApiError, ApiResult};

/// Unicode's bidirectional embedding, override and isolate controls, and the marks.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// `raw` trimmed, or a 422 naming `field` when it is empty, longer than `max_chars`, or
/// holds a control or bidirectional formatting character.
pub fn clean(field: &str, raw: &str, max_chars: usize) -> ApiResult<String> {
    let text = raw.trim();
    if text.is_empty() || text.chars().count() > max_chars {
        return Err(ApiError::invalid(field, format!("must be 1 to {max_chars} characters")));
    }
    if let Some(c) = text.chars().find(|&c| c.is_control() || is_bidi_control(c)) {
        return Err(ApiError::invalid(
            field,
            format!(
                "must not contain control or bidirectional formatting characters (found U+{:04X})",
                u32::from(c)
            ),
        ));
    }
    Ok(text.to_owned())
}

/// Like [`clean`], for several lines (a support message): line breaks and tabs are kept,
/// `\r\n` becomes `\n`.
pub fn clean_message(field: &str, raw: &str, max_chars: usize) -> ApiResult<String> {
    let text = raw.replace("\r\n", "\n");
    let lines: Vec<&str> = text.trim().split('\n').collect();
    for line in &lines {
        if !line.trim().is_empty() {
            clean(field, &line.replace('\t', " "), max_chars)?;
        }
    }
    let text = lines.join("\n");
    if text.trim().is_empty() || text.chars().count() > max_chars {
        return Err(ApiError::invalid(field, format!("must be 1 to {max_chars} characters")));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_letters_of_every_script_and_refuse_hidden_controls() {
        assert_eq!(clean("name", "  Zoë 李 עברית ", 100).unwrap(), "Zoë 李 עברית");
        for bad in ["a\u{202E}b", "a\u{2066}b", "a\u{200F}", "a\u{0}b", "a\u{1b}[31m", "a\nb"] {
            let error = clean("name", bad, 100).unwrap_err();
            assert!(
                matches!(&error, ApiError::Invalid { field, .. } if field == "name"),
                "{bad:?}"
            );
        }
        assert!(clean("name", "   ", 100).is_err());
        assert!(clean("name", &"x".repeat(101), 100).is_err());
    }

    #[test]
    fn messages_keep_their_lines_and_refuse_hidden_controls() {
        assert_eq!(clean_message("m", " a\r\n\r\nb\tc ", 100).unwrap(), "a\n\nb\tc");
        assert!(clean_message("m", "a\nb\u{202E}", 100).is_err());
        assert!(clean_message("m", "\n \n", 100).is_err());
    }
}
