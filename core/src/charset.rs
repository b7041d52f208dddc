//! A web page is bytes: this decodes them to text by the charset the page is in, as a browser does.
//!
//! The encoding is, in order (the HTML standard's "encoding sniffing algorithm", without its BOM and
//! user-override steps beyond what encoding_rs does itself):
//! 1. the `charset` parameter of the HTTP `Content-Type`;
//! 2. a `<meta charset>` or `<meta http-equiv="Content-Type">` declaration in the first 1024 bytes (the
//!    standard's prescan length);
//! 3. UTF-8, when the bytes are valid UTF-8;
//! 4. chardetng's guess (Firefox's detector), told the top-level domain of the page's URL, which it uses
//!    as a prior (a `.ru` page is more likely windows-1251, a `.jp` one Shift_JIS).
//!
//! encoding_rs decodes (a byte order mark overrides the label, as in browsers). The host decodes WARC
//! pages with it and the edge raw `text/html` bodies, so a page gives the same text in both.

/// Where the encoding came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharsetSource {
    /// The HTTP `Content-Type` header.
    Http,
    /// The page's own `<meta>` declaration.
    Meta,
    /// Undeclared, and the bytes are valid UTF-8.
    Utf8Valid,
    /// Undeclared and not UTF-8: the detector's guess.
    Detected,
}

impl CharsetSource {
    /// The name written in metadata: `http`, `meta`, `utf8_valid` or `detected`.
    pub fn as_str(self) -> &'static str {
        match self {
            CharsetSource::Http => "http",
            CharsetSource::Meta => "meta",
            CharsetSource::Utf8Valid => "utf8_valid",
            CharsetSource::Detected => "detected",
        }
    }
}

/// A page decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedPage {
    /// The page as text.
    pub text: String,
    /// The encoding's WHATWG name (`UTF-8`, `windows-1252`, `Shift_JIS`, ...).
    pub encoding: &'static str,
    /// Where the encoding came from.
    pub source: CharsetSource,
}

/// Decodes `body`, served with `content_type` (the HTTP header's value, if any) from `url`.
pub fn decode_page(body: &[u8], content_type: Option<&str>, url: Option<&str>) -> DecodedPage {
    let (encoding, source) = match declared(content_type.unwrap_or(""), body) {
        Some(declared) => declared,
        // Undeclared UTF-8 (most of the web) is validated once and copied, not decoded again.
        None => match std::str::from_utf8(body) {
            Ok(text) => {
                return DecodedPage {
                    text: text.strip_prefix('\u{feff}').unwrap_or(text).to_owned(),
                    encoding: encoding_rs::UTF_8.name(),
                    source: CharsetSource::Utf8Valid,
                };
            }
            Err(_) => (detect(body, url), CharsetSource::Detected),
        },
    };
    let (text, used, _) = encoding.decode(body);
    DecodedPage {
        text: text.into_owned(),
        encoding: used.name(),
        source,
    }
}

/// The encoding the page declares, and where: the HTTP header, else a `<meta>` in its first 1024 bytes.
fn declared(
    content_type: &str,
    body: &[u8],
) -> Option<(&'static encoding_rs::Encoding, CharsetSource)> {
    if let Some(encoding) = label_after(&content_type.to_ascii_lowercase().into_bytes()) {
        return Some((encoding, CharsetSource::Http));
    }
    let lower = body[..body.len().min(1024)].to_ascii_lowercase();
    let mut at = 0;
    while let Some(i) = find(&lower[at..], b"<meta") {
        let tag_start = at + i;
        let tag_end = lower[tag_start..]
            .iter()
            .position(|&b| b == b'>')
            .map_or(lower.len(), |e| tag_start + e);
        if let Some(encoding) = label_after(&lower[tag_start..tag_end]) {
            return Some((encoding, CharsetSource::Meta));
        }
        at = tag_end;
        if at >= lower.len() {
            break;
        }
    }
    None
}

/// Undeclared and not UTF-8: Firefox's detector, told the site's top-level domain (a `.ru` page is more
/// likely windows-1251, a `.jp` one Shift_JIS).
fn detect(body: &[u8], url: Option<&str>) -> &'static encoding_rs::Encoding {
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(body, true);
    let tld = url.and_then(top_level_domain);
    detector.guess(
        tld.as_deref().map(str::as_bytes),
        chardetng::Utf8Detection::Deny,
    )
}

/// The last label of a URL's host, lower-case, when it is plain ASCII (chardetng refuses anything else).
fn top_level_domain(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host = rest.split(['/', '?', '#']).next()?;
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = host.split(':').next()?.trim_end_matches('.');
    let label = host.rsplit('.').next()?.to_ascii_lowercase();
    (!label.is_empty()
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    .then_some(label)
}

/// The encoding named by `charset=` in `lower` (a lower-cased Content-Type value or `<meta>` tag), if
/// encoding_rs knows the label.
fn label_after(lower: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let i = find(lower, b"charset")?;
    let rest = &lower[i + "charset".len()..];
    let rest = rest
        .trim_ascii_start()
        .strip_prefix(b"=")?
        .trim_ascii_start();
    let rest = rest
        .strip_prefix(b"\"")
        .or_else(|| rest.strip_prefix(b"'"))
        .unwrap_or(rest);
    let end = rest
        .iter()
        .position(|b| matches!(b, b'"' | b'\'' | b';' | b' ' | b'>' | b'/' | b'\t'))
        .unwrap_or(rest.len());
    encoding_rs::Encoding::for_label(&rest[..end])
}

/// Where `needle` first occurs in `haystack` (both short: a header value, a page's first 1024 bytes).
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The encoding `decode_page` chose and where it came from.
    fn charset(
        content_type: &str,
        body: &[u8],
        url: Option<&str>,
    ) -> (&'static encoding_rs::Encoding, CharsetSource) {
        let page = decode_page(body, Some(content_type), url);
        let encoding = encoding_rs::Encoding::for_label(page.encoding.as_bytes()).unwrap();
        (encoding, page.source)
    }

    #[test]
    fn charsets_come_from_the_header_then_the_page_then_the_bytes() {
        assert_eq!(
            charset("text/html; charset=Shift_JIS", b"", None).0,
            encoding_rs::SHIFT_JIS
        );
        let page = b"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\">";
        assert_eq!(
            charset("text/html", page, None).0,
            encoding_rs::WINDOWS_1252
        );
        assert_eq!(
            charset("text/html", b"<meta charset='utf-8'>", None).1,
            CharsetSource::Meta
        );
        assert_eq!(
            charset("text/html", "caf\u{e9}".as_bytes(), None).1,
            CharsetSource::Utf8Valid
        );
        // Undeclared Russian in windows-1251, from a .ru site: detected.
        let (russian, _, _) = encoding_rs::WINDOWS_1251
            .encode("<p>Пекари каждое утро моют сито и просеивают муку дважды.</p>");
        assert_eq!(
            charset("text/html", &russian, Some("https://example.ru/news")),
            (encoding_rs::WINDOWS_1251, CharsetSource::Detected)
        );
        assert_eq!(
            top_level_domain("https://user@Example.CO.UK:8080/x?y"),
            Some("uk".into())
        );
        assert_eq!(top_level_domain("https://bücher.de/"), Some("de".into()));
        assert_eq!(
            top_level_domain("https://xn--p1ai/"),
            Some("xn--p1ai".into())
        );
        assert_eq!(top_level_domain("https://пример.рф/"), None);
    }

    #[test]
    fn a_page_decodes_to_the_same_text_whatever_declares_its_charset() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode("<p>Caf\u{e9} cr\u{e8}me</p>");
        for (content_type, source) in [
            (Some("text/html; charset=windows-1252"), CharsetSource::Http),
            (
                Some("text/html; charset=\"ISO-8859-1\""),
                CharsetSource::Http,
            ),
        ] {
            let page = decode_page(&bytes, content_type, None);
            assert_eq!(page.text, "<p>Caf\u{e9} cr\u{e8}me</p>");
            assert_eq!((page.encoding, page.source), ("windows-1252", source));
        }
        // A UTF-8 byte order mark wins over a wrong label, as in browsers.
        let page = decode_page(
            b"\xef\xbb\xbfcaf\xc3\xa9",
            Some("text/html; charset=windows-1252"),
            None,
        );
        assert_eq!((page.text.as_str(), page.encoding), ("caf\u{e9}", "UTF-8"));
    }
}
