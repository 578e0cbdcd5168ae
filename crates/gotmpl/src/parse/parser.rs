//! Parser: items to trees, with Go's grammar, scoping rules and error texts.

use std::collections::HashMap;
use std::rc::Rc;

use super::ast::*;
use super::lex::{Item, ItemType, Lexer};
use super::number::{parse_number, unquote};

/// Deepest nesting of parentheses and control blocks accepted. Go has no such
/// limit, but no real template comes close and it keeps the stack bounded.
pub const MAX_PARSE_DEPTH: usize = 256;

/// A parse failure, worded as Go words it (`template: NAME:LINE: MSG`).
#[derive(Debug, Clone)]
pub struct ParseError {
    pub message: String,
}

type PResult<T> = Result<T, ParseError>;

pub struct Parser<'a> {
    items: Vec<Item>,
    idx: usize,
    furthest: usize,
    parse_name: String,
    text: Rc<str>,
    has_func: &'a dyn Fn(&str) -> bool,
    vars: Vec<String>,
    range_depth: usize,
    depth: usize,
    action_line: usize,
    /// Trees defined in this text, in definition order; the last one is the body.
    pub trees: Vec<Tree>,
    defined: HashMap<String, usize>,
}

/// Parses `text` named `name`: returns the body tree and all `define`d and
/// `block` trees. `has_func` tells whether a function name exists.
pub fn parse(name: &str, text: &str, has_func: &dyn Fn(&str) -> bool) -> PResult<Vec<Tree>> {
    parse_with_delims(
        name,
        text,
        has_func,
        (super::lex::LEFT_DELIM, super::lex::RIGHT_DELIM),
    )
}

/// [`parse`] with other action delimiters (Go's `Template.Delims`).
pub fn parse_with_delims(
    name: &str,
    text: &str,
    has_func: &dyn Fn(&str) -> bool,
    (left, right): (&str, &str),
) -> PResult<Vec<Tree>> {
    let text: Rc<str> = Rc::from(text);
    let items = Lexer::lex_with_delims(&text, left, right);
    let mut p = Parser {
        items,
        idx: 0,
        furthest: 0,
        parse_name: name.to_string(),
        text: text.clone(),
        has_func,
        vars: vec!["$".into()],
        range_depth: 0,
        depth: 0,
        action_line: 0,
        trees: Vec::new(),
        defined: HashMap::new(),
    };
    let root = p.parse_top()?;
    p.add_tree(name.to_string(), root)?;
    Ok(p.trees)
}

impl<'a> Parser<'a> {
    fn errorf(&self, msg: impl Into<String>) -> ParseError {
        let line = self.items.get(self.furthest).map(|i| i.line).unwrap_or(1);
        ParseError {
            message: format!("template: {}:{}: {}", self.parse_name, line, msg.into()),
        }
    }

    fn next(&mut self) -> Item {
        let i = self.idx.min(self.items.len() - 1);
        self.idx = i + 1;
        self.furthest = self.furthest.max(i);
        self.items[i].clone()
    }

    fn backup(&mut self) {
        self.idx -= 1;
    }

    fn peek(&mut self) -> Item {
        let i = self.idx.min(self.items.len() - 1);
        self.furthest = self.furthest.max(i);
        self.items[i].clone()
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let t = self.next();
            if t.typ != ItemType::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn expect(&mut self, typ: ItemType, context: &str) -> PResult<Item> {
        let t = self.next_non_space();
        if t.typ != typ {
            return Err(self.unexpected(&t, context));
        }
        Ok(t)
    }

    fn unexpected(&mut self, t: &Item, context: &str) -> ParseError {
        if t.typ == ItemType::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != t.line {
                extra = format!(
                    " in action started at {}:{}",
                    self.parse_name, self.action_line
                );
                if t.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format!("{t}{extra}"));
        }
        self.errorf(format!("unexpected {t} in {context}"))
    }

    fn add_tree(&mut self, name: String, root: List) -> PResult<()> {
        if let Some(&i) = self.defined.get(&name) {
            if is_empty_list(&self.trees[i].root) {
                self.trees[i].root = root;
                return Ok(());
            }
            if !is_empty_list(&root) {
                return Err(self.errorf(format!(
                    "template: multiple definition of template {}",
                    crate::gofmt::quote(&name)
                )));
            }
            return Ok(());
        }
        self.defined.insert(name.clone(), self.trees.len());
        self.trees.push(Tree {
            name,
            parse_name: self.parse_name.clone(),
            text: self.text.clone(),
            root,
        });
        Ok(())
    }

    fn parse_top(&mut self) -> PResult<List> {
        let pos = self.peek().pos;
        let mut root = List {
            pos,
            nodes: Vec::new(),
        };
        while self.peek().typ != ItemType::Eof {
            if self.peek().typ == ItemType::LeftDelim {
                let save = self.idx;
                self.next();
                if self.next_non_space().typ == ItemType::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.idx = save;
            }
            match self.text_or_action()? {
                Parsed::Node(n) => root.nodes.push(n),
                Parsed::End => return Err(self.errorf("unexpected {{end}}")),
                Parsed::Else(_) => return Err(self.errorf("unexpected {{else}}")),
            }
        }
        Ok(root)
    }

    fn parse_definition(&mut self) -> PResult<()> {
        let context = "define clause";
        let t = self.next_non_space();
        if t.typ != ItemType::String && t.typ != ItemType::RawString {
            return Err(self.unexpected(&t, context));
        }
        let name = unquote(&t.val).map_err(|e| self.errorf(e))?;
        self.expect(ItemType::RightDelim, context)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let (list, end) = self.item_list()?;
        self.vars = saved_vars;
        if !matches!(end, Parsed::End) {
            return Err(self.errorf(format!("unexpected {} in {context}", end.describe())));
        }
        self.add_tree(name, list)
    }

    fn item_list(&mut self) -> PResult<(List, Parsed)> {
        let pos = self.peek_non_space().pos;
        let mut list = List {
            pos,
            nodes: Vec::new(),
        };
        while self.peek_non_space().typ != ItemType::Eof {
            match self.text_or_action()? {
                Parsed::Node(n) => list.nodes.push(n),
                other => return Ok((list, other)),
            }
        }
        Err(self.errorf("unexpected EOF"))
    }

    fn text_or_action(&mut self) -> PResult<Parsed> {
        let t = self.next_non_space();
        match t.typ {
            ItemType::Text => Ok(Parsed::Node(Node::Text {
                pos: t.pos,
                text: Rc::from(t.val.as_str()),
            })),
            ItemType::LeftDelim => {
                self.action_line = t.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            _ => Err(self.unexpected(&t, "input")),
        }
    }

    fn action(&mut self) -> PResult<Parsed> {
        let t = self.next_non_space();
        match t.typ {
            ItemType::Block => return self.block_control(),
            ItemType::Break => return self.break_control(t.pos, "break"),
            ItemType::Continue => return self.break_control(t.pos, "continue"),
            ItemType::Else => return self.else_control(),
            ItemType::End => {
                let e = self.expect(ItemType::RightDelim, "end")?;
                return Ok({
                    let _ = e;
                    Parsed::End
                });
            }
            ItemType::If => return self.branch_control(BranchKind::If),
            ItemType::Range => return self.branch_control(BranchKind::Range),
            ItemType::Template => return self.template_control(),
            ItemType::With => return self.branch_control(BranchKind::With),
            _ => {}
        }
        self.backup();
        let pos = self.peek().pos;
        let pipe = self.pipeline("command", ItemType::RightDelim)?;
        Ok(Parsed::Node(Node::Action { pos, pipe }))
    }

    fn break_control(&mut self, pos: usize, word: &str) -> PResult<Parsed> {
        let t = self.next_non_space();
        if t.typ != ItemType::RightDelim {
            return Err(self.unexpected(&t, &format!("{{{{{word}}}}}")));
        }
        if self.range_depth == 0 {
            return Err(self.errorf(format!("{{{{{word}}}}} outside {{{{range}}}}")));
        }
        Ok(Parsed::Node(if word == "break" {
            Node::Break { pos }
        } else {
            Node::Continue { pos }
        }))
    }

    fn else_control(&mut self) -> PResult<Parsed> {
        let peek = self.peek_non_space();
        if peek.typ == ItemType::If || peek.typ == ItemType::With {
            return Ok(Parsed::Else(peek.pos));
        }
        let t = self.expect(ItemType::RightDelim, "else")?;
        Ok(Parsed::Else(t.pos))
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_PARSE_DEPTH {
            return Err(self.errorf(format!(
                "template nesting deeper than {MAX_PARSE_DEPTH} levels"
            )));
        }
        Ok(())
    }

    fn branch_control(&mut self, kind: BranchKind) -> PResult<Parsed> {
        self.enter()?;
        let context = match kind {
            BranchKind::If => "if",
            BranchKind::Range => "range",
            BranchKind::With => "with",
        };
        let mark = self.vars.len();
        let result = self.parse_control(kind, context);
        self.vars.truncate(mark);
        self.depth -= 1;
        let (pipe, list, else_list) = result?;
        Ok(Parsed::Node(Node::Branch(Box::new(Branch {
            kind,
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        }))))
    }

    fn parse_control(
        &mut self,
        kind: BranchKind,
        context: &str,
    ) -> PResult<(Pipe, List, Option<List>)> {
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        if kind == BranchKind::Range {
            self.range_depth += 1;
        }
        let r = self.item_list();
        if kind == BranchKind::Range {
            self.range_depth -= 1;
        }
        let (list, next) = r?;
        let mut else_list = None;
        match next {
            Parsed::End => {}
            Parsed::Else(else_pos) => {
                let chained = match kind {
                    BranchKind::If => self.peek().typ == ItemType::If,
                    BranchKind::With => self.peek().typ == ItemType::With,
                    BranchKind::Range => false,
                };
                if chained {
                    self.next();
                    let inner = self.branch_control(kind)?;
                    let mut l = List {
                        pos: else_pos,
                        nodes: Vec::new(),
                    };
                    if let Parsed::Node(n) = inner {
                        l.nodes.push(n);
                    }
                    else_list = Some(l);
                } else {
                    let (l, next) = self.item_list()?;
                    if !matches!(next, Parsed::End) {
                        return Err(self.errorf(format!("expected end; found {}", next.describe())));
                    }
                    else_list = Some(l);
                }
            }
            Parsed::Node(_) => {}
        }
        Ok((pipe, list, else_list))
    }

    fn template_name(&mut self, t: &Item, context: &str) -> PResult<String> {
        match t.typ {
            ItemType::String | ItemType::RawString => unquote(&t.val).map_err(|e| self.errorf(e)),
            _ => Err(self.unexpected(t, context)),
        }
    }

    fn block_control(&mut self) -> PResult<Parsed> {
        let context = "block clause";
        let t = self.next_non_space();
        let name = self.template_name(&t, context)?;
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let r = self.item_list();
        self.vars = saved_vars;
        self.range_depth = saved_range;
        let (list, end) = r?;
        if !matches!(end, Parsed::End) {
            return Err(self.errorf(format!("unexpected {} in {context}", end.describe())));
        }
        self.add_tree(name.clone(), list)?;
        Ok(Parsed::Node(Node::Template {
            pos: t.pos,
            name,
            pipe: Some(pipe),
        }))
    }

    fn template_control(&mut self) -> PResult<Parsed> {
        let context = "template clause";
        let t = self.next_non_space();
        let name = self.template_name(&t, context)?;
        let pipe = if self.next_non_space().typ != ItemType::RightDelim {
            self.backup();
            Some(self.pipeline(context, ItemType::RightDelim)?)
        } else {
            None
        };
        Ok(Parsed::Node(Node::Template {
            pos: t.pos,
            name,
            pipe,
        }))
    }

    fn pipeline(&mut self, context: &str, end: ItemType) -> PResult<Pipe> {
        let token = self.peek_non_space();
        let mut pipe = Pipe {
            pos: token.pos,
            ..Default::default()
        };
        // Declarations or assignments: `$x :=`, `$x =`, `$i, $e :=`.
        loop {
            let v = self.peek_non_space();
            if v.typ != ItemType::Variable {
                break;
            }
            let save = self.idx;
            self.next_non_space();
            let after = self.peek();
            let next = self.peek_non_space();
            match next.typ {
                ItemType::Assign | ItemType::Declare => {
                    pipe.is_assign = next.typ == ItemType::Assign;
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val.clone());
                    break;
                }
                ItemType::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val.clone());
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().typ {
                            ItemType::Variable | ItemType::RightDelim | ItemType::RightParen => {
                                continue;
                            }
                            _ => return Err(self.errorf("range can only initialize variables")),
                        }
                    }
                    return Err(self.errorf(format!("too many declarations in {context}")));
                }
                _ => {
                    let _ = after;
                    self.idx = save;
                    break;
                }
            }
        }
        loop {
            let t = self.next_non_space();
            if t.typ == end {
                self.check_pipeline(&pipe, context)?;
                return Ok(pipe);
            }
            match t.typ {
                ItemType::Bool
                | ItemType::CharConstant
                | ItemType::Dot
                | ItemType::Field
                | ItemType::Identifier
                | ItemType::Number
                | ItemType::Nil
                | ItemType::RawString
                | ItemType::String
                | ItemType::Variable
                | ItemType::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return Err(self.unexpected(&t, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return Err(self.errorf(format!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args.first(),
                Some(
                    Arg::Bool { .. }
                        | Arg::Dot { .. }
                        | Arg::Nil { .. }
                        | Arg::Number { .. }
                        | Arg::String { .. }
                )
            ) {
                return Err(self.errorf(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                )));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Command {
            pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let t = self.next();
            match t.typ {
                ItemType::Space => continue,
                ItemType::RightDelim | ItemType::RightParen => self.backup(),
                ItemType::Pipe => {}
                _ => return Err(self.unexpected(&t, "operand")),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.errorf("empty command"));
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().typ != ItemType::Field {
            return Ok(Some(node));
        }
        let chain_pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().typ == ItemType::Field {
            let f = self.next();
            fields.push(f.val[1..].to_string());
        }
        Ok(Some(match node {
            Arg::Field { mut ident, .. } => {
                ident.extend(fields);
                Arg::Field {
                    pos: chain_pos,
                    ident,
                }
            }
            Arg::Variable { mut ident, .. } => {
                ident.extend(fields);
                Arg::Variable {
                    pos: chain_pos,
                    ident,
                }
            }
            Arg::Bool { .. }
            | Arg::String { .. }
            | Arg::Number { .. }
            | Arg::Nil { .. }
            | Arg::Dot { .. } => {
                return Err(self.errorf(format!(
                    "unexpected . after term {}",
                    crate::gofmt::quote(&node.to_string())
                )));
            }
            other => Arg::Chain {
                pos: chain_pos,
                node: Box::new(other),
                fields,
            },
        }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let t = self.next_non_space();
        Ok(Some(match t.typ {
            ItemType::Identifier => {
                if !(self.has_func)(&t.val) {
                    return Err(self.errorf(format!(
                        "function {} not defined",
                        crate::gofmt::quote(&t.val)
                    )));
                }
                Arg::Identifier {
                    pos: t.pos,
                    name: t.val,
                }
            }
            ItemType::Dot => Arg::Dot { pos: t.pos },
            ItemType::Nil => Arg::Nil { pos: t.pos },
            ItemType::Variable => {
                let ident: Vec<String> = t.val.split('.').map(str::to_string).collect();
                if !self.vars.iter().any(|v| *v == ident[0]) {
                    return Err(self.errorf(format!(
                        "undefined variable {}",
                        crate::gofmt::quote(&ident[0])
                    )));
                }
                Arg::Variable { pos: t.pos, ident }
            }
            ItemType::Field => Arg::Field {
                pos: t.pos,
                ident: t.val[1..].split('.').map(str::to_string).collect(),
            },
            ItemType::Bool => Arg::Bool {
                pos: t.pos,
                val: t.val == "true",
            },
            ItemType::CharConstant | ItemType::Number => {
                let num = parse_number(&t.val, t.typ == ItemType::CharConstant)
                    .map_err(|e| self.errorf(e))?;
                Arg::Number { pos: t.pos, num }
            }
            ItemType::LeftParen => {
                self.enter()?;
                let p = self.pipeline("parenthesized pipeline", ItemType::RightParen);
                self.depth -= 1;
                Arg::Pipe(Box::new(p?))
            }
            ItemType::String | ItemType::RawString => {
                let s = unquote(&t.val).map_err(|e| self.errorf(e))?;
                Arg::String {
                    pos: t.pos,
                    quoted: t.val,
                    text: Rc::from(s.as_str()),
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

/// What `text_or_action` found: a node, or the `{{end}}` / `{{else}}` that
/// closes the enclosing list.
enum Parsed {
    Node(Node),
    End,
    Else(usize),
}

impl Parsed {
    fn describe(&self) -> String {
        match self {
            Parsed::Node(n) => n.to_string(),
            Parsed::End => "{{end}}".into(),
            Parsed::Else(_) => "{{else}}".into(),
        }
    }
}
