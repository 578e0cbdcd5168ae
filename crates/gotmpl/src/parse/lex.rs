//! Lexer for Go template text: turns `text {{ action }} text` into items.
//!
//! Items carry byte positions and line numbers because Go's error messages
//! name `template:line:column` and users navigate by them.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemType {
    Error,
    Bool,
    Char,
    CharConstant,
    Comment,
    Assign,
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,
    // Keywords.
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

impl ItemType {
    pub fn is_keyword(self) -> bool {
        matches!(
            self,
            ItemType::Block
                | ItemType::Break
                | ItemType::Continue
                | ItemType::Dot
                | ItemType::Define
                | ItemType::Else
                | ItemType::End
                | ItemType::If
                | ItemType::Nil
                | ItemType::Range
                | ItemType::Template
                | ItemType::With
        )
    }
}

#[derive(Clone, Debug)]
pub struct Item {
    pub typ: ItemType,
    pub pos: usize,
    pub val: String,
    pub line: usize,
}

impl std::fmt::Display for Item {
    /// Go's `item.String()`, used in "unexpected X in Y" errors.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.typ {
            ItemType::Eof => write!(f, "EOF"),
            ItemType::Error => write!(f, "{}", self.val),
            t if t.is_keyword() => write!(f, "<{}>", self.val),
            _ => {
                if self.val.chars().count() > 10 {
                    let short: String = self.val.chars().take(10).collect();
                    write!(f, "{}...", crate::gofmt::quote(&short))
                } else {
                    write!(f, "{}", crate::gofmt::quote(&self.val))
                }
            }
        }
    }
}

/// Go's default action delimiters.
pub const LEFT_DELIM: &str = "{{";
pub const RIGHT_DELIM: &str = "}}";
const LEFT_COMMENT: &str = "/*";
const RIGHT_COMMENT: &str = "*/";

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

fn has_left_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(b[1] as char)
}

fn has_right_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space(b[0] as char) && b[1] == b'-'
}

/// Produces all items of a template text at once. Lexing stops at the first
/// error, which becomes the last item before EOF.
pub struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    start: usize,
    line: usize,
    start_line: usize,
    paren_depth: usize,
    items: Vec<Item>,
    inside_action: bool,
    left_delim: &'a str,
    right_delim: &'a str,
}

impl<'a> Lexer<'a> {
    pub fn lex(input: &'a str) -> Vec<Item> {
        Self::lex_with_delims(input, LEFT_DELIM, RIGHT_DELIM)
    }

    /// Lexes with other action delimiters (Go's `Template.Delims`), such
    /// as werf's `%` … `%`.
    pub fn lex_with_delims(input: &'a str, left_delim: &'a str, right_delim: &'a str) -> Vec<Item> {
        let mut l = Lexer {
            left_delim,
            right_delim,
            input,
            pos: 0,
            start: 0,
            line: 1,
            start_line: 1,
            paren_depth: 0,
            items: Vec::new(),
            inside_action: false,
        };
        l.run();
        l.items
    }

    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn backup(&mut self, c: char) {
        self.pos -= c.len_utf8();
        if c == '\n' {
            self.line -= 1;
        }
    }

    fn emit(&mut self, typ: ItemType) {
        let val = self.input[self.start..self.pos].to_string();
        self.items.push(Item {
            typ,
            pos: self.start,
            val,
            line: self.start_line,
        });
        self.start = self.pos;
        self.start_line = self.line;
    }

    fn ignore(&mut self) {
        self.line += self.input[self.start..self.pos].matches('\n').count();
        self.start = self.pos;
        self.start_line = self.line;
    }

    /// Records an error item; returns false so callers can `return self.error(..)`.
    fn error(&mut self, msg: String) -> bool {
        self.items.push(Item {
            typ: ItemType::Error,
            pos: self.start,
            val: msg,
            line: self.start_line,
        });
        false
    }

    fn run(&mut self) {
        loop {
            let ok = if self.inside_action {
                self.lex_inside_action()
            } else {
                self.lex_text()
            };
            if !ok {
                break;
            }
        }
        let eof_pos = self.input.len();
        self.items.push(Item {
            typ: ItemType::Eof,
            pos: eof_pos,
            val: String::new(),
            line: self.line,
        });
    }

    /// Returns false at EOF or error.
    fn lex_text(&mut self) -> bool {
        if let Some(x) = self.rest().find(self.left_delim) {
            if x > 0 {
                self.pos += x;
                let mut trim = 0;
                let after = &self.input[self.pos + self.left_delim.len()..];
                if has_left_trim(after) {
                    trim = self.input[self.start..self.pos].len().saturating_sub(
                        self.input[self.start..self.pos]
                            .trim_end_matches(is_space)
                            .len(),
                    );
                }
                self.pos -= trim;
                self.line += self.input[self.start..self.pos].matches('\n').count();
                let i = self.pos;
                let text_line = self.start_line;
                let val = self.input[self.start..i].to_string();
                if !val.is_empty() {
                    self.items.push(Item {
                        typ: ItemType::Text,
                        pos: self.start,
                        val,
                        line: text_line,
                    });
                }
                self.start = i;
                self.start_line = self.line;
                self.pos += trim;
                self.ignore();
            }
            return self.lex_left_delim();
        }
        self.pos = self.input.len();
        if self.pos > self.start {
            self.line += self.input[self.start..self.pos].matches('\n').count();
            let val = self.input[self.start..self.pos].to_string();
            self.items.push(Item {
                typ: ItemType::Text,
                pos: self.start,
                val,
                line: self.start_line,
            });
            self.start = self.pos;
            self.start_line = self.line;
        }
        false
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let r = self.rest();
        if has_right_trim(r) && r[2..].starts_with(self.right_delim) {
            return (true, true);
        }
        if r.starts_with(self.right_delim) {
            return (true, false);
        }
        (false, false)
    }

    fn lex_left_delim(&mut self) -> bool {
        self.pos += self.left_delim.len();
        let trim = has_left_trim(self.rest());
        let after_marker = if trim { 2 } else { 0 };
        if self.rest()[after_marker..].starts_with(LEFT_COMMENT) {
            self.pos += after_marker;
            self.ignore();
            return self.lex_comment();
        }
        self.emit(ItemType::LeftDelim);
        self.pos += after_marker;
        self.ignore();
        self.paren_depth = 0;
        self.inside_action = true;
        true
    }

    fn lex_comment(&mut self) -> bool {
        self.pos += LEFT_COMMENT.len();
        let Some(x) = self.rest().find(RIGHT_COMMENT) else {
            return self.error("unclosed comment".into());
        };
        self.pos += x + RIGHT_COMMENT.len();
        let (delim, trim) = self.at_right_delim();
        if !delim {
            return self.error("comment ends before closing delimiter".into());
        }
        if trim {
            self.pos += 2;
        }
        self.pos += self.right_delim.len();
        if trim {
            let skip = self.rest().len() - self.rest().trim_start_matches(is_space).len();
            self.pos += skip;
        }
        self.ignore();
        self.inside_action = false;
        true
    }

    fn lex_right_delim(&mut self, trim: bool) -> bool {
        if trim {
            self.pos += 2;
            self.ignore();
        }
        self.pos += self.right_delim.len();
        self.emit(ItemType::RightDelim);
        if trim {
            let skip = self.rest().len() - self.rest().trim_start_matches(is_space).len();
            self.pos += skip;
            self.ignore();
        }
        self.inside_action = false;
        true
    }

    fn lex_inside_action(&mut self) -> bool {
        let (delim, trim) = self.at_right_delim();
        if delim {
            if self.paren_depth == 0 {
                return self.lex_right_delim(trim);
            }
            return self.error("unclosed left paren".into());
        }
        let Some(c) = self.next() else {
            return self.error("unclosed action".into());
        };
        match c {
            c if is_space(c) => {
                self.backup(c);
                self.lex_space()
            }
            '=' => {
                self.emit(ItemType::Assign);
                true
            }
            ':' => {
                if self.next() != Some('=') {
                    return self.error("expected :=".into());
                }
                self.emit(ItemType::Declare);
                true
            }
            '|' => {
                self.emit(ItemType::Pipe);
                true
            }
            '"' => self.lex_quote(),
            '`' => self.lex_raw_quote(),
            '$' => self.lex_field_or_variable(ItemType::Variable),
            '\'' => self.lex_char(),
            '.' => {
                if let Some(n) = self.peek() {
                    if !n.is_ascii_digit() {
                        return self.lex_field_or_variable(ItemType::Field);
                    }
                }
                self.backup('.');
                self.lex_number()
            }
            '+' | '-' | '0'..='9' => {
                self.backup(c);
                self.lex_number()
            }
            c if is_alnum(c) => {
                self.backup(c);
                self.lex_identifier()
            }
            '(' => {
                self.emit(ItemType::LeftParen);
                self.paren_depth += 1;
                true
            }
            ')' => {
                if self.paren_depth == 0 {
                    return self.error("unexpected right paren".into());
                }
                self.paren_depth -= 1;
                self.emit(ItemType::RightParen);
                true
            }
            c if (c as u32) <= 0x7f && !c.is_control() => {
                self.emit(ItemType::Char);
                true
            }
            c => self.error(format!(
                "unrecognized character in action: {}",
                go_unicode_repr(c)
            )),
        }
    }

    fn lex_space(&mut self) -> bool {
        let mut num_spaces = 0;
        while let Some(c) = self.peek() {
            if !is_space(c) {
                break;
            }
            self.next();
            num_spaces += 1;
        }
        // A space followed by "-}}" is a trim marker, not a space item.
        let prev = &self.input[self.pos - 1..];
        if has_right_trim(prev) && prev[2..].starts_with(self.right_delim) {
            self.backup(self.input[..self.pos].chars().next_back().unwrap_or(' '));
            if num_spaces == 1 {
                return true;
            }
        }
        self.emit(ItemType::Space);
        true
    }

    fn lex_identifier(&mut self) -> bool {
        while let Some(c) = self.peek() {
            if is_alnum(c) {
                self.next();
            } else {
                break;
            }
        }
        if !self.at_terminator() {
            let c = self.peek().unwrap_or(' ');
            return self.error(format!("bad character {}", go_unicode_repr(c)));
        }
        let word = &self.input[self.start..self.pos];
        let typ = match word {
            "block" => ItemType::Block,
            "break" => ItemType::Break,
            "continue" => ItemType::Continue,
            "define" => ItemType::Define,
            "else" => ItemType::Else,
            "end" => ItemType::End,
            "if" => ItemType::If,
            "range" => ItemType::Range,
            "nil" => ItemType::Nil,
            "template" => ItemType::Template,
            "with" => ItemType::With,
            "true" | "false" => ItemType::Bool,
            _ => ItemType::Identifier,
        };
        self.emit(typ);
        true
    }

    fn lex_field_or_variable(&mut self, typ: ItemType) -> bool {
        if self.at_terminator() {
            if typ == ItemType::Variable {
                self.emit(ItemType::Variable);
            } else {
                self.emit(ItemType::Dot);
            }
            return true;
        }
        while let Some(c) = self.peek() {
            if is_alnum(c) {
                self.next();
            } else {
                break;
            }
        }
        if !self.at_terminator() {
            let c = self.peek().unwrap_or(' ');
            return self.error(format!("bad character {}", go_unicode_repr(c)));
        }
        self.emit(typ);
        true
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if is_space(c) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            _ => self.rest().starts_with(self.right_delim),
        }
    }

    fn lex_char(&mut self) -> bool {
        loop {
            match self.next() {
                Some('\\') => {
                    if let Some(c) = self.next() {
                        if c != '\n' {
                            continue;
                        }
                    }
                    return self.error("unterminated character constant".into());
                }
                None | Some('\n') => return self.error("unterminated character constant".into()),
                Some('\'') => break,
                _ => {}
            }
        }
        self.emit(ItemType::CharConstant);
        true
    }

    fn accept(&mut self, valid: &str) -> bool {
        if let Some(c) = self.peek() {
            if valid.contains(c) {
                self.next();
                return true;
            }
        }
        false
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if let Some(c) = self.peek() {
            if is_alnum(c) {
                self.next();
                return false;
            }
        }
        true
    }

    fn lex_number(&mut self) -> bool {
        if !self.scan_number() {
            let text = self.input[self.start..self.pos].to_string();
            return self.error(format!("bad number syntax: {}", crate::gofmt::quote(&text)));
        }
        if matches!(self.peek(), Some('+' | '-')) {
            // Complex: 1+2i.
            if !self.scan_number() || !self.input[..self.pos].ends_with('i') {
                let text = self.input[self.start..self.pos].to_string();
                return self.error(format!("bad number syntax: {}", crate::gofmt::quote(&text)));
            }
        }
        self.emit(ItemType::Number);
        true
    }

    fn lex_quote(&mut self) -> bool {
        loop {
            match self.next() {
                Some('\\') => {
                    if let Some(c) = self.next() {
                        if c != '\n' {
                            continue;
                        }
                    }
                    return self.error("unterminated quoted string".into());
                }
                None | Some('\n') => return self.error("unterminated quoted string".into()),
                Some('"') => break,
                _ => {}
            }
        }
        self.emit(ItemType::String);
        true
    }

    fn lex_raw_quote(&mut self) -> bool {
        loop {
            match self.next() {
                None => return self.error("unterminated raw quoted string".into()),
                Some('`') => break,
                _ => {}
            }
        }
        self.emit(ItemType::RawString);
        true
    }
}

/// Go's `%#U`: `U+0041 'A'`.
pub fn go_unicode_repr(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("U+{:04X} '{}'", c as u32, c)
    }
}
