//! Word expansion as BuildKit's Dockerfile shell lexer does it
//! (`ProcessWord`): `$VAR`, `${VAR}`, `${VAR:-w}`, `${VAR:+w}`,
//! `${VAR:?w}`, `${VAR?w}`, quotes removed, escapes resolved.

use std::collections::HashMap;

pub struct Lexer {
    escape: char,
}

struct Scanner<'a> {
    chars: Vec<char>,
    pos: usize,
    env: &'a HashMap<String, String>,
    escape: char,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn get(&self, name: &str) -> Option<&String> {
        self.env.get(name)
    }

    /// Up to `stop` (consumed); `raw_escapes` keeps escape characters, as
    /// BuildKit does inside `${…}` words.
    fn process_until(&mut self, stop: Option<char>) -> Result<String, String> {
        let raw_escapes = stop.is_some();
        let mut out = String::new();
        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.next();
                return Ok(out);
            }
            match ch {
                '$' => out.push_str(&self.dollar()?),
                '\'' => out.push_str(&self.single_quote()?),
                '"' => out.push_str(&self.double_quote()?),
                _ => {
                    self.next();
                    if ch == self.escape {
                        if raw_escapes {
                            out.push(ch);
                        }
                        match self.next() {
                            None => break,
                            Some(c) => out.push(c),
                        }
                    } else {
                        out.push(ch);
                    }
                }
            }
        }
        if let Some(s) = stop {
            return Err(format!(
                "unexpected end of statement while looking for matching {s}"
            ));
        }
        Ok(out)
    }

    fn single_quote(&mut self) -> Result<String, String> {
        self.next();
        let mut out = String::new();
        loop {
            match self.next() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching single-quote"
                            .into(),
                    )
                }
                Some('\'') => return Ok(out),
                Some(c) => out.push(c),
            }
        }
    }

    fn double_quote(&mut self) -> Result<String, String> {
        self.next();
        let mut out = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching double-quote"
                            .into(),
                    )
                }
                Some('"') => {
                    self.next();
                    return Ok(out);
                }
                Some('$') => out.push_str(&self.dollar()?),
                Some(_) => {
                    let mut ch = self.next().unwrap_or_default();
                    if ch == self.escape {
                        match self.peek() {
                            None => continue,
                            Some(c) if c == '"' || c == '$' || c == self.escape => {
                                ch = self.next().unwrap_or_default();
                            }
                            _ => {}
                        }
                    }
                    out.push(ch);
                }
            }
        }
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && ch.is_ascii_digit() {
                while let Some(d) = self.peek().filter(char::is_ascii_digit) {
                    self.next();
                    name.push(d);
                }
                return name;
            }
            if name.is_empty() && matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.next();
                return ch.to_string();
            }
            if !(ch.is_alphanumeric() || ch == '_') {
                break;
            }
            self.next();
            name.push(ch);
        }
        name
    }

    fn dollar(&mut self) -> Result<String, String> {
        self.next();
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".into());
            }
            return Ok(self.get(&name).cloned().unwrap_or_default());
        }
        self.next();
        match self.peek() {
            None => return Err("syntax error: missing '}'".into()),
            Some('{' | '}' | ':') => return Err("syntax error: bad substitution".into()),
            _ => {}
        }
        let name = self.name();
        let value = self.get(&name).cloned();
        match self.next() {
            Some('}') => Ok(value.unwrap_or_default()),
            Some('?') => {
                let word = self.word_until_brace()?;
                match value {
                    Some(v) => Ok(v),
                    None => Err(format!(
                        "{name}: {}",
                        if word.is_empty() {
                            "is not allowed to be unset"
                        } else {
                            &word
                        }
                    )),
                }
            }
            Some(':') => {
                let modifier = self.next();
                let word = self.word_until_brace()?;
                let v = value.clone().unwrap_or_default();
                match modifier {
                    Some('+') => Ok(if v.is_empty() { String::new() } else { word }),
                    Some('-') => Ok(if v.is_empty() { word } else { v }),
                    Some('?') => {
                        if value.is_none() {
                            Err(format!(
                                "{name}: {}",
                                if word.is_empty() {
                                    "is not allowed to be unset"
                                } else {
                                    &word
                                }
                            ))
                        } else if v.is_empty() {
                            Err(format!(
                                "{name}: {}",
                                if word.is_empty() {
                                    "is not allowed to be empty"
                                } else {
                                    &word
                                }
                            ))
                        } else {
                            Ok(v)
                        }
                    }
                    Some(m) => Err(format!("unsupported modifier ({m}) in substitution")),
                    None => Err("syntax error: missing '}'".into()),
                }
            }
            Some('+') => {
                let word = self.word_until_brace()?;
                Ok(if value.is_some() { word } else { String::new() })
            }
            Some('-') => {
                let word = self.word_until_brace()?;
                Ok(value.unwrap_or(word))
            }
            Some(c) => Err(format!("unsupported modifier ({c}) in substitution")),
            None => Err("syntax error: missing '}'".into()),
        }
    }

    fn word_until_brace(&mut self) -> Result<String, String> {
        self.process_until(Some('}')).map_err(|e| {
            if self.peek().is_none() {
                "syntax error: missing '}'".to_string()
            } else {
                e
            }
        })
    }
}

impl Lexer {
    pub fn new(escape: char) -> Lexer {
        Lexer { escape }
    }

    /// Expands `word` against `env` (`KEY=VALUE` entries; a later entry
    /// overrides an earlier one).
    pub fn process_word(&self, word: &str, env: &[(String, String)]) -> Result<String, String> {
        let map: HashMap<String, String> = env.iter().cloned().collect();
        self.process_with_map(word, &map)
    }

    pub fn process_with_map(
        &self,
        word: &str,
        env: &HashMap<String, String>,
    ) -> Result<String, String> {
        let mut s = Scanner {
            chars: word.chars().collect(),
            pos: 0,
            env,
            escape: self.escape,
        };
        s.process_until(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(word: &str, env: &[(&str, &str)]) -> String {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Lexer::new('\\')
            .process_word(word, &env)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn expansion() {
        assert_eq!(
            pw(
                "RUN echo \"$A\" '$A' \\$A ${B:-dflt} ${A:+set}",
                &[("A", "x y")]
            ),
            "RUN echo x y $A $A dflt set"
        );
        assert_eq!(pw("${A}b$", &[("A", "a")]), "ab$");
    }
}
