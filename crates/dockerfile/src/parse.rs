//! Dockerfile parsing with the rules of BuildKit's frontend (v0.13), which
//! werf uses for digests: logical lines joined across `\` continuations
//! (the continuation's leading whitespace kept, comment lines inside a
//! continuation dropped), `--flags` before the arguments, and each
//! instruction's arguments split as BuildKit splits them.

/// One instruction as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Lower-case keyword (`from`, `run`, `copy`…).
    pub keyword: String,
    /// The logical line, trimmed: what BuildKit's `String()` returns.
    pub original: String,
    /// `--name=value` flags, as written after unquoting.
    pub flags: Vec<String>,
    /// The arguments after the flags, as one string.
    pub args: String,
    /// 1-based line where the instruction starts.
    pub line: usize,
    /// Here-documents of a RUN, COPY or ADD (`<<EOF` … `EOF`), in order.
    pub heredocs: Vec<Heredoc>,
}

/// A here-document: BuildKit keeps its body out of the instruction line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    pub name: String,
    /// The body, each line ending in `\n`; with `<<-`, leading tabs removed.
    pub content: String,
    /// `false` for a quoted name (`<<'EOF'`): no variable expansion.
    pub expand: bool,
}

/// The here-document markers of an instruction's arguments: words
/// `<<NAME`, `<<-NAME`, `<<'NAME'` or `<<"NAME"` (not `<<<`, not a bare
/// `<<`). Returns `(name, strip leading tabs, expand)`.
fn heredoc_markers(args: &str, escape: char) -> Vec<(String, bool, bool)> {
    words(args, escape)
        .iter()
        .filter_map(|w| {
            let rest = w.strip_prefix("<<")?;
            if rest.starts_with('<') {
                return None;
            }
            let (chomp, rest) = match rest.strip_prefix('-') {
                Some(r) => (true, r),
                None => (false, rest),
            };
            let (name, expand) = match rest.chars().next() {
                Some(q @ ('\'' | '"')) => (rest.strip_prefix(q)?.strip_suffix(q)?, false),
                _ => (rest, true),
            };
            let valid =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            valid.then(|| (name.to_string(), chomp, expand))
        })
        .collect()
}

impl Instruction {
    /// The value of `--name=value`.
    pub fn flag(&self, name: &str) -> Option<&str> {
        let prefix = format!("--{name}=");
        self.flags.iter().find_map(|f| f.strip_prefix(&prefix))
    }
}

/// A Dockerfile syntax problem, with its line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Dockerfile:{line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// `([^\\])\\[ \t]*$` → strip the continuation; `None` when the line does
/// not continue.
fn strip_continuation(line: &str, escape: char) -> Option<String> {
    let trimmed = line.trim_end_matches([' ', '\t']);
    let body = trimmed.strip_suffix(escape)?;
    let prev = body.chars().next_back()?;
    if prev == escape {
        return None;
    }
    Some(body.to_string())
}

/// `# escape=` parser directive at the top of the file.
fn escape_directive(lines: &[&str]) -> char {
    for l in lines {
        let t = l.trim();
        let Some(rest) = t.strip_prefix('#') else {
            return '\\';
        };
        let rest = rest.trim();
        if let Some((k, v)) = rest.split_once('=') {
            if k.trim().eq_ignore_ascii_case("escape") {
                return match v.trim() {
                    "`" => '`',
                    _ => '\\',
                };
            }
            continue;
        }
        return '\\';
    }
    '\\'
}

/// Splits a Dockerfile into instructions.
pub fn parse(text: &str) -> Result<(Vec<Instruction>, char), ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let escape = escape_directive(&lines);
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let start = i + 1;
        let first = lines[i].trim_start();
        i += 1;
        if is_comment(first) || first.is_empty() {
            continue;
        }
        let mut logical = match strip_continuation(first, escape) {
            None => first.to_string(),
            Some(body) => {
                let mut acc = body;
                while let Some(next) = lines.get(i) {
                    i += 1;
                    if is_comment(next) || next.trim().is_empty() {
                        continue;
                    }
                    match strip_continuation(next, escape) {
                        Some(body) => acc.push_str(&body),
                        None => {
                            acc.push_str(next);
                            break;
                        }
                    }
                }
                acc
            }
        };
        let trimmed = logical.trim().to_string();
        let (keyword, rest) = match trimmed.split_once(char::is_whitespace) {
            Some((k, r)) => (k.to_string(), r.trim_start().to_string()),
            None => (trimmed.clone(), String::new()),
        };
        let (args, flags) = extract_flags(&rest);
        logical = trimmed;
        let keyword_lower = keyword.to_ascii_lowercase();
        let mut heredocs = Vec::new();
        if matches!(keyword_lower.as_str(), "run" | "copy" | "add") {
            for (name, chomp, expand) in heredoc_markers(&args, escape) {
                let mut content = String::new();
                let mut terminated = false;
                while let Some(line) = lines.get(i) {
                    i += 1;
                    let line = if chomp {
                        line.trim_start_matches('\t')
                    } else {
                        line
                    };
                    if line == name {
                        terminated = true;
                        break;
                    }
                    content.push_str(line);
                    content.push('\n');
                }
                if !terminated {
                    return Err(ParseError {
                        line: start,
                        message: format!("unterminated heredoc {name}"),
                    });
                }
                heredocs.push(Heredoc {
                    name,
                    content,
                    expand,
                });
            }
        }
        out.push(Instruction {
            keyword: keyword.to_ascii_lowercase(),
            original: logical,
            flags,
            args: args.trim().to_string(),
            line: start,
            heredocs,
        });
    }
    Ok((out, escape))
}

/// BuildKit's `extractBuilderFlags`: leading `--flag` words (quotes and `\`
/// handled); returns the rest of the line and the flags.
fn extract_flags(line: &str) -> (String, Vec<String>) {
    let b: Vec<char> = line.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut blank_ok = false;
    let mut i = 0;
    loop {
        if !in_word && quote.is_none() {
            while i < b.len() && b[i].is_whitespace() {
                i += 1;
            }
            if i >= b.len() {
                return (String::new(), words);
            }
            if !(b[i] == '-' && b.get(i + 1) == Some(&'-')) {
                return (b[i..].iter().collect(), words);
            }
            in_word = true;
        }
        if i >= b.len() {
            if word != "--" && (blank_ok || !word.is_empty()) {
                words.push(word);
            }
            return (String::new(), words);
        }
        let ch = b[i];
        if let Some(q) = quote {
            i += 1;
            if ch == q {
                quote = None;
                continue;
            }
            if ch == '\\' {
                if i >= b.len() {
                    quote = None;
                    continue;
                }
                word.push(b[i]);
                i += 1;
                continue;
            }
            word.push(ch);
            continue;
        }
        if ch.is_whitespace() {
            in_word = false;
            if word == "--" {
                return (b[i..].iter().collect(), words);
            }
            if blank_ok || !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            word.clear();
            blank_ok = false;
            i += 1;
            continue;
        }
        i += 1;
        if ch == '\'' || ch == '"' {
            quote = Some(ch);
            blank_ok = true;
            continue;
        }
        if ch == '\\' {
            if i >= b.len() {
                continue;
            }
            word.push(b[i]);
            i += 1;
            continue;
        }
        word.push(ch);
    }
}

/// BuildKit's `parseWords`: whitespace-separated words, quotes and escapes
/// kept in the words (expansion removes them later).
pub fn words(rest: &str, escape: char) -> Vec<String> {
    let b: Vec<char> = rest.chars().collect();
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut blank_ok = false;
    let mut i = 0;
    while i <= b.len() {
        if !in_word && quote.is_none() {
            if i == b.len() {
                break;
            }
            if b[i].is_whitespace() {
                i += 1;
                continue;
            }
            in_word = true;
        }
        if i == b.len() {
            if blank_ok || !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            break;
        }
        let ch = b[i];
        if let Some(q) = quote {
            if ch == q {
                quote = None;
            }
            if ch == escape && q != '\'' {
                if push_escaped(&mut word, &b, i) {
                    i += 2;
                } else {
                    quote = None;
                    i += 1;
                }
                continue;
            }
            word.push(ch);
            i += 1;
            continue;
        }
        if ch.is_whitespace() {
            in_word = false;
            if blank_ok || !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            blank_ok = false;
            i += 1;
            continue;
        }
        if ch == '\'' || ch == '"' {
            quote = Some(ch);
            blank_ok = true;
        }
        if ch == escape {
            i += if push_escaped(&mut word, &b, i) { 2 } else { 1 };
            continue;
        }
        word.push(ch);
        i += 1;
    }
    out
}

/// `COPY`/`ADD` arguments: a JSON array, or whitespace-separated words.
pub fn json_or_words(args: &str) -> Vec<String> {
    if args.trim_start().starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Vec<String>>(args.trim()) {
            return v;
        }
    }
    args.split_whitespace().map(str::to_string).collect()
}

/// An escape character keeps itself and the next character in the word;
/// a trailing one is dropped. Returns whether a pair was taken.
fn push_escaped(word: &mut String, chars: &[char], i: usize) -> bool {
    match chars.get(i + 1) {
        Some(next) => {
            word.push(chars[i]);
            word.push(*next);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_lines() {
        let (ins, _) = parse("# comment\nFROM alpine AS b\nRUN echo \"a\" \\\n# inner comment\n  && echo b\n\nCOPY --from=b --chown=\"1:1\" x /y\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ins.len(), 3);
        assert_eq!(ins[1].original, "RUN echo \"a\"   && echo b");
        assert_eq!(
            ins[2].flags,
            vec!["--from=b".to_string(), "--chown=1:1".to_string()]
        );
        assert_eq!(ins[2].args, "x /y");
        assert_eq!(ins[2].line, 7);
    }

    #[test]
    fn words_keep_quotes() {
        assert_eq!(
            words(r#"A="b c" D=$X"#, '\\'),
            vec![r#"A="b c""#.to_string(), "D=$X".to_string()]
        );
    }
}
