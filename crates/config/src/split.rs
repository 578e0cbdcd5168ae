//! Splitting a rendered werf.yaml into documents, exactly as werf does
//! (`pkg/config/parser.go` `splitContent`): not by a YAML library but by
//! lines that are exactly `---` (plus trailing blanks or a comment).

/// One document of the rendered config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// 0-based index among the kept documents.
    pub index: usize,
    /// 1-based line of the rendered file where the document's text starts.
    pub start_line: usize,
    pub text: String,
}

/// `---` at column 0, then only spaces, tabs or `\r`, then an optional
/// `#comment`.
fn is_separator(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("---") else {
        return false;
    };
    let rest = rest.trim_start_matches([' ', '\t', '\r']);
    rest.is_empty() || rest.starts_with('#')
}

/// True for documents with nothing but blank lines and comments.
fn is_empty_doc(text: &str) -> bool {
    text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#')
    })
}

pub fn split(rendered: &str) -> Vec<Document> {
    let mut docs = Vec::new();
    let mut current = String::new();
    let mut start_line = 1;
    let push = |text: &mut String, start: usize, docs: &mut Vec<Document>| {
        if !is_empty_doc(text) {
            docs.push(Document {
                index: docs.len(),
                start_line: start,
                text: std::mem::take(text),
            });
        } else {
            text.clear();
        }
    };
    for (n, line) in rendered.split_inclusive('\n').enumerate() {
        let bare = line.strip_suffix('\n').unwrap_or(line);
        if is_separator(bare) {
            push(&mut current, start_line, &mut docs);
            start_line = n + 2;
            continue;
        }
        current.push_str(line);
    }
    push(&mut current, start_line, &mut docs);
    docs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators() {
        let d = split(
            "project: a\n--- # c\nimage: x\n----\nfoo: 1\n--- bar\n---\n# only comment\n---\n\n",
        );
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].text, "project: a\n");
        assert_eq!(d[1].start_line, 3);
        assert_eq!(d[1].text, "image: x\n----\nfoo: 1\n--- bar\n");
    }
}
