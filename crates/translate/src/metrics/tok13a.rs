//! sacreBLEU's `13a` tokenizer (mteval-v13a's): unescapes four XML entities, then splits off
//! punctuation and symbols with four regular expressions applied in order.

/// The `13a` tokenisation of `line`: tokens joined by single spaces.
///
/// Mirrors sacreBLEU's `Tokenizer13a` followed by `TokenizerRegexp`: each substitution there is a
/// one- or two-character pattern replaced left to right without overlaps, which the scans below
/// reproduce character by character.
pub fn tokenize_13a(line: &str) -> String {
    let mut line = line.replace("<skipped>", "").replace("-\n", "").replace('\n', " ");
    if line.contains('&') {
        line = line.replace("&quot;", "\"").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">");
    }
    let chars: Vec<char> = format!(" {line} ").chars().collect();
    // ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> ' \1 '
    let mut first = Vec::with_capacity(chars.len() * 2);
    for &c in &chars {
        if is_symbol(c) {
            first.extend([' ', c, ' ']);
        } else {
            first.push(c);
        }
    }
    let digit = |c: char| c.is_ascii_digit();
    let period = |c: char| c == '.' || c == ',';
    // ([^0-9])([\.,]) -> '\1 \2 '
    let second = substitute_pairs(&first, |a, b| !digit(a) && period(b), |a, b| vec![a, ' ', b, ' ']);
    // ([\.,])([^0-9]) -> ' \1 \2'
    let third = substitute_pairs(&second, |a, b| period(a) && !digit(b), |a, b| vec![' ', a, ' ', b]);
    // ([0-9])(-) -> '\1 \2 '
    let fourth = substitute_pairs(&third, |a, b| digit(a) && b == '-', |a, b| vec![a, ' ', b, ' ']);
    let text: String = fourth.into_iter().collect();
    super::python_split(&text).collect::<Vec<_>>().join(" ")
}

/// The first class of the `13a` regular expressions: ASCII symbols `{|}~`, `[\]^_` and the
/// backtick, space to `&`, `(` to `+`, `:` to `@`, and `/`.
fn is_symbol(c: char) -> bool {
    matches!(c, '{'..='~' | '['..='`' | ' '..='&' | '('..='+' | ':'..='@' | '/')
}

/// `re.sub` of a two-character pattern: scanning left to right, each position where
/// `matches(a, b)` holds is replaced by `replace(a, b)` and the scan resumes after `b`.
fn substitute_pairs(
    chars: &[char],
    matches: impl Fn(char, char) -> bool,
    replace: impl Fn(char, char) -> Vec<char>,
) -> Vec<char> {
    let mut out = Vec::with_capacity(chars.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        if i + 1 < chars.len() && matches(chars[i], chars[i + 1]) {
            out.extend(replace(chars[i], chars[i + 1]));
            i += 2;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::tokenize_13a;

    #[test]
    fn splits_punctuation_but_keeps_numbers_and_apostrophes() {
        assert_eq!(tokenize_13a("Hello, world!"), "Hello , world !");
        assert_eq!(tokenize_13a("It costs 3.50 and 1,000."), "It costs 3.50 and 1,000 .");
        assert_eq!(tokenize_13a("don't 1990-2000 a-b"), "don't 1990 - 2000 a-b");
        assert_eq!(tokenize_13a("&quot;x&quot; &amp; y"), "\" x \" & y");
        assert_eq!(tokenize_13a(""), "");
    }
}
