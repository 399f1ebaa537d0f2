//! Plain text from a MediaWiki XML export: the articles' wikitext with its markup stripped
//! (templates, tables, references, HTML tags and comments, files and categories dropped; links
//! and external links reduced to their shown text; bold, italics and heading marks removed), so
//! a language model learns prose rather than markup. Redirect pages are skipped.

/// One article: its title and its text as plain paragraphs separated by blank lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Article {
    /// The page title.
    pub title: String,
    /// The plain text.
    pub text: String,
}

/// The articles of a MediaWiki XML export (`<page><title>..</title>..<text ..>..</text>`),
/// stripped of markup; redirects and pages left empty are skipped.
pub fn wiki_articles(xml: &str) -> Vec<Article> {
    let mut out = Vec::new();
    for page in xml.split("<page>").skip(1) {
        let title = between(page, "<title>", "</title>").map(unescape_xml).unwrap_or_default();
        let Some(start) = page.find("<text") else { continue };
        let Some(open_end) = page[start..].find('>') else { continue };
        let body_start = start + open_end + 1;
        let body = page[body_start..].split("</text>").next().unwrap_or_default();
        let wikitext = unescape_xml(body);
        if wikitext.trim_start().to_ascii_uppercase().starts_with("#REDIRECT") {
            continue;
        }
        let text = strip_wikitext(&wikitext);
        if !text.is_empty() {
            out.push(Article { title, text });
        }
    }
    out
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    Some(&text[start..start + text[start..].find(close)?])
}

/// Replaces XML's character entities (`&lt;`, `&amp;`, `&#233;`, ...) by their characters.
pub fn unescape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.as_bytes()[..rest.len().min(12)].iter().position(|&b| b == b';') else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let name = &rest[1..end];
        let named = match name {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some(' '),
            "ndash" => Some('–'),
            "mdash" => Some('—'),
            _ => None,
        };
        let numeric = || {
            let digits = name.strip_prefix('#')?;
            let code = match digits.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => digits.parse().ok()?,
            };
            char::from_u32(code)
        };
        match named.or_else(numeric) {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Removes every span from `open` to its matching `close`, nested spans included.
fn drop_nested(text: &str, open: &str, close: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        if rest.starts_with(open) {
            depth += 1;
            i += open.len();
        } else if depth > 0 && rest.starts_with(close) {
            depth -= 1;
            i += close.len();
        } else {
            let c = rest.chars().next().map_or(1, char::len_utf8);
            if depth == 0 {
                out.push_str(&rest[..c]);
            }
            i += c;
        }
    }
    out
}

/// Removes `<ref>..</ref>` and self-closing `<ref ../>`, comments, and every other HTML tag
/// (keeping what the tag encloses).
fn drop_tags(text: &str) -> String {
    let text = drop_nested(text, "<!--", "-->");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find('<') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find('>') else {
            out.push_str(rest);
            return out;
        };
        let tag = &rest[1..end];
        let lower = tag.to_ascii_lowercase();
        rest = &rest[end + 1..];
        if lower.starts_with("ref") && !tag.ends_with('/') {
            // Skip the reference's body up to its closing tag.
            rest = rest.find("</ref>").map_or("", |close| &rest[close + "</ref>".len()..]);
        }
    }
    out.push_str(rest);
    out
}

/// `[[target|shown]]` -> `shown`, `[[target]]` -> `target`; files, images and categories
/// (with their nested captions) and interlanguage links dropped; `[http://x shown]` ->
/// `shown`.
fn resolve_links(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('[') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if rest.starts_with("[[") {
            // Find the matching `]]`, counting nested `[[`.
            let (mut depth, mut i, mut end) = (0usize, 0usize, None);
            while i < rest.len() {
                if rest[i..].starts_with("[[") {
                    depth += 1;
                    i += 2;
                } else if rest[i..].starts_with("]]") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        end = Some(i);
                        break;
                    }
                } else {
                    i += rest[i..].chars().next().map_or(1, char::len_utf8);
                }
            }
            let Some(end) = end else {
                return out + &rest[2..];
            };
            let inner = &rest[2..end - 2];
            let namespace = inner.split(':').next().unwrap_or_default().trim().to_ascii_lowercase();
            let media = ["file", "image", "category"].contains(&namespace.as_str());
            // A prefixed link without shown text is an interlanguage link (`[[de:Albedo]]`).
            if !media && (inner.contains('|') || !inner.contains(':')) {
                out.push_str(inner.rsplit('|').next().unwrap_or(inner));
            }
            rest = &rest[end..];
        } else if rest[1..].starts_with("http") || rest[1..].starts_with("//") {
            let end = rest.find(']').unwrap_or(rest.len() - 1);
            let inner = &rest[1..end];
            out.push_str(inner.split_once(' ').map_or("", |(_, shown)| shown));
            rest = &rest[(end + 1).min(rest.len())..];
        } else {
            out.push('[');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    out
}

/// Plain text of one article's wikitext: paragraphs separated by blank lines.
pub fn strip_wikitext(wikitext: &str) -> String {
    let text = drop_tags(wikitext);
    let text = drop_nested(&text, "{{", "}}");
    let text = drop_nested(&text, "{|", "|}");
    let text = resolve_links(&text);
    let text = text.replace("'''", "").replace("''", "");
    let mut paragraphs: Vec<String> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let heading = line.starts_with('=') && line.ends_with('=');
        let line = line.trim_matches('=').trim_start_matches(['*', '#', ':', ';']).trim();
        if line.is_empty() || heading {
            if !current.is_empty() {
                paragraphs.push(current.join(" "));
                current.clear();
            }
            if heading && !line.is_empty() {
                paragraphs.push(line.to_string());
            }
            continue;
        }
        current.push(line);
    }
    if !current.is_empty() {
        paragraphs.push(current.join(" "));
    }
    paragraphs
        .into_iter()
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| p.chars().any(char::is_alphabetic))
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_stripped_to_prose() {
        let wikitext = "{{Infobox|name={{nested|x}}}}\n'''Albedo''' is the [[reflection (physics)|reflectivity]] of a \
                        [[surface]].<ref name=\"a\">{{cite web|url=x}}</ref> See [http://example.org the site].\
                        <ref name=b/>\n\n== History ==\n* A [[File:A.png|thumb|a [[caption]] here]]point.\n{| class=x\n\
                        | cell\n|}\n<!-- hidden -->[[Category:Optics]] [[de:Albedo]]";
        assert_eq!(
            strip_wikitext(wikitext),
            "Albedo is the reflectivity of a surface. See the site.\n\nHistory\n\nA point."
        );
    }

    #[test]
    fn pages_are_read_and_redirects_skipped() {
        let xml = "<mediawiki><page><title>AccessibleComputing</title><text xml:space=\"preserve\">#REDIRECT \
                   [[Computer accessibility]]</text></page><page><title>A &amp; B</title><text>x &lt;ref&gt;r&lt;/ref&gt;\
                   y caf&#233;</text></page></mediawiki>";
        assert_eq!(wiki_articles(xml), [Article { title: "A & B".into(), text: "x y café".into() }]);
        assert_eq!(unescape_xml("&bogus; &#x41; &"), "&bogus; A &");
        assert_eq!(unescape_xml("&هادي;x"), "&هادي;x");
    }
}
