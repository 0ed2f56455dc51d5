//! Reads the Prometheus text exposition format (0.0.4) strictly, so tests
//! of `/metrics` (subgraphs and router) check that a scraper could read
//! every line, and then look values up by series.

use std::collections::BTreeMap;

/// Every sample of `text`, keyed by its series as written
/// (`name{label="value",…}`, or the bare name). Panics, naming the line,
/// on anything a scraper would reject: a comment other than `# HELP` /
/// `# TYPE`, a bad metric or label name, an unterminated or badly escaped
/// label value, or a value that is not a number.
pub fn parse_exposition(text: &str) -> BTreeMap<String, f64> {
    let mut samples = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(comment) = line.strip_prefix('#') {
            let words: Vec<&str> = comment.split_whitespace().collect();
            match words.as_slice() {
                ["HELP", name, ..] | ["TYPE", name, _] if is_metric_name(name) => continue,
                _ => panic!("not a HELP or TYPE line: {line}"),
            }
        }
        let (series, value) = parse_sample(line).unwrap_or_else(|| panic!("not a sample: {line}"));
        samples.insert(series, value);
    }
    samples
}

fn parse_sample(line: &str) -> Option<(String, f64)> {
    let name_end = line.find(['{', ' ']).unwrap_or(line.len());
    let name = &line[..name_end];
    if !is_metric_name(name) {
        return None;
    }
    let mut rest = &line[name_end..];
    if rest.starts_with('{') {
        let close = labels_end(rest)?;
        rest = &rest[close + 1..];
    }
    let series = &line[..line.len() - rest.len()];
    let mut fields = rest.strip_prefix(' ')?.split(' ');
    let value = parse_value(fields.next()?)?;
    if let Some(timestamp) = fields.next() {
        timestamp.parse::<i64>().ok()?;
    }
    fields.next().is_none().then(|| (series.to_string(), value))
}

/// The index of the `}` closing the label set that `text` starts with,
/// after checking each `name="value"` pair.
fn labels_end(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 1;
    loop {
        if bytes.get(i) == Some(&b'}') {
            return Some(i);
        }
        let eq = i + text[i..].find('=')?;
        if !is_label_name(&text[i..eq]) || bytes.get(eq + 1) != Some(&b'"') {
            return None;
        }
        i = eq + 2;
        loop {
            match bytes.get(i)? {
                b'\\' if matches!(bytes.get(i + 1)?, b'\\' | b'"' | b'n') => i += 2,
                b'\\' | b'\n' => return None,
                b'"' => break,
                _ => i += 1,
            }
        }
        i += 1;
        match bytes.get(i)? {
            b',' => i += 1,
            b'}' => return Some(i),
            _ => return None,
        }
    }
}

fn parse_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => text.parse().ok(),
    }
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_keyed_by_series() {
        let text = "# HELP a_total A.\n# TYPE a_total counter\na_total{op=\"X\",code=\"q\\\"\"} 3\nb 1.5 1700000000\nc{le=\"+Inf\"} +Inf\n";
        let samples = parse_exposition(text);
        assert_eq!(samples["a_total{op=\"X\",code=\"q\\\"\"}"], 3.0);
        assert_eq!(samples["b"], 1.5);
        assert!(samples["c{le=\"+Inf\"}"].is_infinite());
    }

    #[test]
    #[should_panic(expected = "not a sample")]
    fn html_is_not_an_exposition() {
        parse_exposition("<!DOCTYPE html><html></html>");
    }
}
