//! The executor: walks a tree with Go's evaluation rules.
//!
//! The structure follows Go's `text/template/exec.go` closely on purpose:
//! which node an error points at, when a missing value becomes nil, and when
//! an argument is converted all follow from the order of evaluation, so the
//! functions here mirror that order.

use std::collections::HashMap;
use std::rc::Rc;

use crate::builtins;
use crate::func::{CallContext, Func, Param};
use crate::gofmt::{self, quote};
use crate::parse::ast::*;
use crate::value::{ListType, MapType, Value};
use crate::{Error, MissingKey, Template};

/// A value with a flag telling whether Go would see it through an
/// `interface {}` (a map or slice element): error messages then name the
/// type `interface {}` instead of the concrete type.
#[derive(Clone, Debug)]
struct Boxed {
    v: Value,
    boxed: bool,
}

impl Boxed {
    fn plain(v: Value) -> Boxed {
        Boxed { v, boxed: false }
    }

    fn type_name(&self) -> String {
        if self.boxed || matches!(self.v, Value::Nil) {
            "interface {}".into()
        } else {
            self.v.type_name()
        }
    }
}

/// The node Go's `state.at` last pointed to; errors are reported there.
#[derive(Clone, Copy)]
enum At<'t> {
    None,
    Arg(&'t Arg),
    Cmd(&'t Command),
    Pipe(&'t Pipe),
    Node(&'t Node),
}

enum Flow {
    Normal,
    Break,
    Continue,
}

struct Var {
    name: String,
    value: Boxed,
}

struct State<'t, 'o> {
    tmpl: &'t Template,
    trees: &'t HashMap<String, Rc<Tree>>,
    tree: &'t Tree,
    at: At<'t>,
    vars: Vec<Var>,
    depth: usize,
    out: &'o mut String,
    /// Record where output bytes come from (top-level output only).
    record: bool,
}

type R<T> = Result<T, Error>;

pub(crate) fn execute(
    tmpl: &Template,
    trees: &HashMap<String, Rc<Tree>>,
    tree: &Rc<Tree>,
    data: &Value,
    depth: usize,
    out: &mut String,
    record: bool,
) -> R<()> {
    if depth > tmpl.limits().max_depth {
        return Err(Error::new(format!(
            "template: {}: exceeded maximum template depth ({})",
            tree.name,
            tmpl.limits().max_depth
        )));
    }
    // Go's Execute(nil) runs with an invalid dot, not a nil interface.
    let dot = Boxed::plain(match data {
        Value::Nil => Value::Invalid,
        other => other.clone(),
    });
    let mut st = State {
        tmpl,
        trees,
        tree,
        at: At::None,
        vars: vec![Var {
            name: "$".into(),
            value: dot.clone(),
        }],
        depth,
        out,
        record,
    };
    st.walk_list(&dot, &tree.root)?;
    Ok(())
}

/// Go's `indirectInterface` + `isTrue`.
fn is_true(v: &Value) -> bool {
    v.truth()
}

impl<'t, 'o> State<'t, 'o> {
    fn at(&mut self, at: At<'t>) {
        self.at = at;
    }

    fn errorf(&self, msg: impl AsRef<str>) -> Error {
        let name = quote(&self.tree.name);
        let (pos, ctx) = match self.at {
            At::None => {
                return Error::new(format!("template: {}: {}", self.tree.name, msg.as_ref()));
            }
            At::Arg(a) => (a.pos(), a.to_string()),
            At::Cmd(c) => (c.pos, c.to_string()),
            At::Pipe(p) => (p.pos, p.to_string()),
            At::Node(n) => (node_pos(n), n.to_string()),
        };
        Error::new(format!(
            "template: {}: executing {} at <{}>: {}",
            self.tree.location(pos),
            name,
            ctx,
            msg.as_ref()
        ))
    }

    fn step(&self) -> R<()> {
        if !self.tmpl.step() {
            return Err(self.errorf(format!(
                "evaluation budget of {} steps exhausted",
                self.tmpl.limits().max_steps
            )));
        }
        Ok(())
    }

    /// Notes that the next output bytes come from `pos` of the current tree.
    fn mark(&mut self, pos: usize, verbatim: bool) {
        if self.record {
            self.tmpl.record(crate::SourceMapEntry {
                out_offset: self.out.len(),
                template: self.tree.parse_name.clone(),
                text: self.tree.text.clone(),
                pos,
                verbatim,
            });
        }
    }

    fn write(&mut self, s: &str) -> R<()> {
        self.out.push_str(s);
        if self.out.len() > self.tmpl.limits().max_output {
            return Err(self.errorf(format!(
                "output exceeds {} bytes",
                self.tmpl.limits().max_output
            )));
        }
        Ok(())
    }

    // ---- variables ----

    fn push_var(&mut self, name: &str, value: Boxed) {
        self.vars.push(Var {
            name: name.to_string(),
            value,
        });
    }

    fn set_var(&mut self, name: &str, value: Boxed) -> R<()> {
        for v in self.vars.iter_mut().rev() {
            if v.name == name {
                v.value = value;
                return Ok(());
            }
        }
        Err(self.errorf(format!("undefined variable: {name}")))
    }

    fn set_top_var(&mut self, n: usize, value: Boxed) {
        let len = self.vars.len();
        if n <= len {
            self.vars[len - n].value = value;
        }
    }

    fn var_value(&self, name: &str) -> R<Boxed> {
        for v in self.vars.iter().rev() {
            if v.name == name {
                return Ok(v.value.clone());
            }
        }
        Err(self.errorf(format!("undefined variable: {name}")))
    }

    // ---- walking ----

    fn walk_list(&mut self, dot: &Boxed, list: &'t List) -> R<Flow> {
        for n in &list.nodes {
            match self.walk(dot, n)? {
                Flow::Normal => {}
                other => return Ok(other),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &Boxed, node: &'t Node) -> R<Flow> {
        self.at(At::Node(node));
        self.step()?;
        match node {
            Node::Text { text, pos } => {
                self.mark(*pos, true);
                self.write(text)?;
            }
            Node::Action { pipe, .. } => {
                let v = self.eval_pipeline(dot, Some(pipe))?;
                if pipe.decl.is_empty() {
                    self.at(At::Node(node));
                    self.mark(node_pos(node), false);
                    self.print_value(&v)?;
                }
            }
            Node::Branch(b) => return self.walk_branch(dot, node, b),
            Node::Template { name, pipe, .. } => {
                self.walk_template(dot, node, name, pipe.as_ref())?
            }
            Node::Break { .. } => return Ok(Flow::Break),
            Node::Continue { .. } => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn print_value(&mut self, v: &Value) -> R<()> {
        match v {
            Value::Invalid => self.write("<no value>"),
            Value::Func(_) => {
                let msg = format!("can't print {} of type {}", self.at_string(), v.type_name());
                Err(self.errorf(msg))
            }
            Value::String(s) => {
                let s = s.clone();
                self.write(&s)
            }
            _ => {
                let s = gofmt::to_string_v(v);
                self.write(&s)
            }
        }
    }

    fn at_string(&self) -> String {
        match self.at {
            At::None => String::new(),
            At::Arg(a) => a.to_string(),
            At::Cmd(c) => c.to_string(),
            At::Pipe(p) => p.to_string(),
            At::Node(n) => n.to_string(),
        }
    }

    fn walk_branch(&mut self, dot: &Boxed, node: &'t Node, b: &'t Branch) -> R<Flow> {
        let mark = self.vars.len();
        let r = match b.kind {
            BranchKind::If | BranchKind::With => self.walk_if_or_with(dot, b),
            BranchKind::Range => {
                self.at(At::Node(node));
                self.walk_range(dot, b)
            }
        };
        self.vars.truncate(mark);
        r
    }

    fn walk_if_or_with(&mut self, dot: &Boxed, b: &'t Branch) -> R<Flow> {
        let val = self.eval_pipeline(dot, Some(&b.pipe))?;
        if is_true(&val) {
            if b.kind == BranchKind::With {
                self.walk_list(&Boxed::plain(val), &b.list)
            } else {
                self.walk_list(dot, &b.list)
            }
        } else if let Some(e) = &b.else_list {
            self.walk_list(dot, e)
        } else {
            Ok(Flow::Normal)
        }
    }

    fn one_iteration(&mut self, b: &'t Branch, index: Boxed, elem: Boxed, mark: usize) -> R<Flow> {
        let decl = &b.pipe.decl;
        if !decl.is_empty() {
            if b.pipe.is_assign {
                if decl.len() > 1 {
                    self.set_var(&decl[0], index.clone())?;
                } else {
                    self.set_var(&decl[0], elem.clone())?;
                }
            } else {
                self.set_top_var(1, elem.clone());
            }
        }
        if decl.len() > 1 {
            if b.pipe.is_assign {
                self.set_var(&decl[1], elem.clone())?;
            } else {
                self.set_top_var(2, index);
            }
        }
        let r = self.walk_list(&elem, &b.list);
        self.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, dot: &Boxed, b: &'t Branch) -> R<Flow> {
        let val = self.eval_pipeline(dot, Some(&b.pipe))?;
        let mark = self.vars.len();
        let mut ran = false;
        match &val {
            Value::List(items, lt) => {
                let boxed = *lt == ListType::Interface;
                for (i, item) in items.iter().enumerate() {
                    ran = true;
                    let elem = Boxed {
                        v: item.clone(),
                        boxed,
                    };
                    match self.one_iteration(b, Boxed::plain(Value::Int(i as i64)), elem, mark)? {
                        Flow::Break => break,
                        _ => continue,
                    }
                }
            }
            Value::Bytes(bytes) => {
                for (i, byte) in bytes.iter().enumerate() {
                    ran = true;
                    let elem = Boxed::plain(Value::Int(*byte as i64));
                    if let Flow::Break =
                        self.one_iteration(b, Boxed::plain(Value::Int(i as i64)), elem, mark)?
                    {
                        break;
                    }
                }
            }
            Value::Map(m, mt) => {
                let boxed = *mt != MapType::StringString;
                let entries: Vec<(String, Value)> = m
                    .borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                for (k, v) in entries {
                    ran = true;
                    let key = Boxed {
                        v: Value::from(k),
                        boxed: *mt == MapType::InterfaceInterface,
                    };
                    if let Flow::Break = self.one_iteration(b, key, Boxed { v, boxed }, mark)? {
                        break;
                    }
                }
            }
            Value::Object(o) if o.entries().is_some() => {
                for (k, v) in o.entries().unwrap_or_default() {
                    ran = true;
                    let key = Boxed::plain(Value::from(k));
                    if let Flow::Break = self.one_iteration(b, key, Boxed::plain(v), mark)? {
                        break;
                    }
                }
            }
            Value::Int(n) | Value::Int64(n) => {
                if b.pipe.decl.len() > 1 {
                    let msg = format!(
                        "can't use {} to iterate over more than one variable",
                        gofmt::to_string_v(&val)
                    );
                    return Err(self.errorf(msg));
                }
                let is64 = matches!(val, Value::Int64(_));
                for i in 0..(*n).max(0) {
                    ran = true;
                    let v = if is64 { Value::Int64(i) } else { Value::Int(i) };
                    if let Flow::Break =
                        self.one_iteration(b, Boxed::plain(v.clone()), Boxed::plain(v), mark)?
                    {
                        break;
                    }
                }
            }
            Value::Invalid => {}
            _ => {
                let msg = format!("range can't iterate over {}", gofmt::to_string_v(&val));
                return Err(self.errorf(msg));
            }
        }
        if !ran {
            if let Some(e) = &b.else_list {
                return self.walk_list(dot, e);
            }
        }
        Ok(Flow::Normal)
    }

    fn walk_template(
        &mut self,
        dot: &Boxed,
        node: &'t Node,
        name: &str,
        pipe: Option<&'t Pipe>,
    ) -> R<()> {
        self.at(At::Node(node));
        let tree = match self.trees.get(name) {
            Some(t) => Some(t.clone()),
            None => self.tmpl.live_tree(name),
        };
        let Some(tree) = tree else {
            return Err(self.errorf(format!("template {} not defined", quote(name))));
        };
        if self.depth >= self.tmpl.limits().max_depth {
            return Err(self.errorf(format!(
                "exceeded maximum template depth ({})",
                self.tmpl.limits().max_depth
            )));
        }
        let new_dot = self.eval_pipeline(dot, pipe)?;
        if self.trees.contains_key(name) {
            let tree: &'t Tree = &self.trees[name];
            let d = Boxed::plain(new_dot);
            let mut sub = State {
                tmpl: self.tmpl,
                trees: self.trees,
                tree,
                at: At::None,
                vars: vec![Var {
                    name: "$".into(),
                    value: d.clone(),
                }],
                depth: self.depth + 1,
                out: &mut *self.out,
                record: self.record,
            };
            sub.walk_list(&d, &tree.root)?;
        } else {
            // Defined during this execution (by `tpl`): run it from a fresh snapshot.
            let s = self
                .tmpl
                .execute_nested(&tree.name, &new_dot, self.depth + 1)?;
            self.write(&s)?;
        }
        Ok(())
    }

    // ---- evaluation ----

    fn eval_pipeline(&mut self, dot: &Boxed, pipe: Option<&'t Pipe>) -> R<Value> {
        let Some(pipe) = pipe else {
            return Ok(Value::Invalid);
        };
        self.at(At::Pipe(pipe));
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            let v = self.eval_command(dot, cmd, value.take())?;
            // Go digs a value out of its interface here: a nil interface
            // becomes "no value".
            value = Some(match v.v {
                Value::Nil => Value::Invalid,
                other => other,
            });
        }
        let value = value.unwrap_or(Value::Invalid);
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, Boxed::plain(value.clone()))?;
            } else {
                self.push_var(name, Boxed::plain(value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], has_final: bool) -> R<()> {
        if args.len() > 1 || has_final {
            return Err(self.errorf(format!("can't give argument to non-function {}", args[0])));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Boxed, cmd: &'t Command, fin: Option<Value>) -> R<Boxed> {
        self.step()?;
        let first = &cmd.args[0];
        match first {
            Arg::Field { ident, .. } => {
                return self.eval_field_node(dot, first, ident, &cmd.args, fin)
            }
            Arg::Chain { node, fields, .. } => {
                return self.eval_chain_node(dot, first, node, fields, &cmd.args, fin)
            }
            Arg::Identifier { name, .. } => {
                return self.eval_function(dot, first, name, At::Cmd(cmd), Some(&cmd.args), fin)
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, fin.is_some())?;
                return Ok(Boxed::plain(self.eval_pipeline(dot, Some(p))?));
            }
            Arg::Variable { ident, .. } => {
                return self.eval_variable_node(dot, first, ident, Some(&cmd.args), fin)
            }
            _ => {}
        }
        self.at(At::Arg(first));
        self.not_a_function(&cmd.args, fin.is_some())?;
        match first {
            Arg::Bool { val, .. } => Ok(Boxed::plain(Value::Bool(*val))),
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Nil { .. } => Err(self.errorf("nil is not a command")),
            Arg::Number { num, .. } => Ok(Boxed::plain(self.ideal_constant(first, num)?)),
            Arg::String { text, .. } => Ok(Boxed::plain(Value::String(text.clone()))),
            _ => Err(self.errorf(format!(
                "can't evaluate command {}",
                quote(&first.to_string())
            ))),
        }
    }

    fn ideal_constant(&mut self, node: &'t Arg, n: &Number) -> R<Value> {
        self.at(At::Arg(node));
        let t = &n.text;
        let is_hex_int = t.len() > 2
            && t.starts_with('0')
            && matches!(t.as_bytes()[1], b'x' | b'X')
            && !t.contains(['p', 'P']);
        if n.float.is_some() && !is_hex_int && !n.is_char && t.contains(['.', 'e', 'E', 'p', 'P']) {
            return Ok(Value::Float(n.float.unwrap_or(0.0)));
        }
        if let Some(i) = n.int {
            return Ok(Value::Int(i));
        }
        if n.is_uint {
            return Err(self.errorf(format!("{t} overflows int")));
        }
        Ok(Value::Invalid)
    }

    fn eval_field_node(
        &mut self,
        dot: &Boxed,
        node: &'t Arg,
        ident: &[String],
        args: &'t [Arg],
        fin: Option<Value>,
    ) -> R<Boxed> {
        self.at(At::Arg(node));
        self.eval_field_chain(dot, dot.clone(), node, ident, Some(args), fin)
    }

    fn eval_chain_node(
        &mut self,
        dot: &Boxed,
        chain: &'t Arg,
        node: &'t Arg,
        fields: &[String],
        args: &'t [Arg],
        fin: Option<Value>,
    ) -> R<Boxed> {
        self.at(At::Arg(chain));
        if let Arg::Nil { .. } = node {
            return Err(self.errorf(format!("indirection through explicit nil in {chain}")));
        }
        let pipe = self.eval_arg(dot, Param::Any, node, true)?;
        self.eval_field_chain(dot, pipe, chain, fields, Some(args), fin)
    }

    fn eval_variable_node(
        &mut self,
        dot: &Boxed,
        node: &'t Arg,
        ident: &[String],
        args: Option<&'t [Arg]>,
        fin: Option<Value>,
    ) -> R<Boxed> {
        self.at(At::Arg(node));
        let value = self.var_value(&ident[0])?;
        if ident.len() == 1 {
            if let Some(a) = args {
                self.not_a_function(a, fin.is_some())?;
            } else if fin.is_some() {
                return Err(self.errorf(format!("can't give argument to non-function {node}")));
            }
            return Ok(value);
        }
        self.eval_field_chain(dot, value, node, &ident[1..], args, fin)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Boxed,
        mut receiver: Boxed,
        node: &'t Arg,
        ident: &[String],
        args: Option<&'t [Arg]>,
        fin: Option<Value>,
    ) -> R<Boxed> {
        let n = ident.len();
        for name in &ident[..n - 1] {
            receiver = self.eval_field(dot, name, node, None, None, receiver)?;
        }
        self.eval_field(dot, &ident[n - 1], node, args, fin, receiver)
    }

    fn eval_field(
        &mut self,
        dot: &Boxed,
        name: &str,
        node: &'t Arg,
        args: Option<&'t [Arg]>,
        fin: Option<Value>,
        receiver: Boxed,
    ) -> R<Boxed> {
        if let Value::Invalid = receiver.v {
            if self.tmpl.missing_key() == MissingKey::Error {
                return Err(self.errorf(format!("nil data; no entry for key {}", quote(name))));
            }
            return Ok(Boxed::plain(Value::Invalid));
        }
        let typ = receiver.type_name();
        if let Value::Nil = receiver.v {
            return Err(self.errorf(format!("nil pointer evaluating {typ}.{name}")));
        }
        let has_args = args.map(|a| a.len() > 1).unwrap_or(false) || fin.is_some();
        match &receiver.v {
            Value::Object(o) => {
                if let Some((params, variadic)) = o.method_params(name) {
                    let o = o.clone();
                    let func = Func::simple(&params, variadic, {
                        let o = o.clone();
                        let name = name.to_string();
                        move |a| {
                            o.call_method(&name, &a)
                                .unwrap_or_else(|| Err(format!("no method {name}")))
                        }
                    });
                    return self.eval_call(dot, &func, false, At::Arg(node), name, args, fin);
                }
            }
            Value::Map(m, mt) => {
                if has_args {
                    return Err(self.errorf(format!("{name} is not a method but has arguments")));
                }
                let found = m.borrow().get(name).cloned();
                let boxed = *mt != MapType::StringString;
                return Ok(match found {
                    Some(v) => Boxed { v, boxed },
                    None => match self.tmpl.missing_key() {
                        MissingKey::Default => Boxed::plain(Value::Invalid),
                        MissingKey::Zero => {
                            if *mt == MapType::StringString {
                                Boxed::plain(Value::from(""))
                            } else {
                                Boxed {
                                    v: Value::Nil,
                                    boxed: true,
                                }
                            }
                        }
                        MissingKey::Error => {
                            return Err(
                                self.errorf(format!("map has no entry for key {}", quote(name)))
                            );
                        }
                    },
                });
            }
            _ => {}
        }
        Err(self.errorf(format!("can't evaluate field {name} in type {typ}")))
    }

    fn eval_function(
        &mut self,
        dot: &Boxed,
        ident: &'t Arg,
        name: &str,
        cmd: At<'t>,
        args: Option<&'t [Arg]>,
        fin: Option<Value>,
    ) -> R<Boxed> {
        self.at(At::Arg(ident));
        let (func, is_builtin) = match self.tmpl.func(name) {
            Some(f) => (f.clone(), false),
            None => match builtins::builtin(name) {
                Some(f) => (f, true),
                None => {
                    return Err(self.errorf(format!("{} is not a defined function", quote(name))))
                }
            },
        };
        self.eval_call(dot, &func, is_builtin, cmd, name, args, fin)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_call(
        &mut self,
        dot: &Boxed,
        func: &Func,
        is_builtin: bool,
        node: At<'t>,
        name: &str,
        args: Option<&'t [Arg]>,
        fin: Option<Value>,
    ) -> R<Boxed> {
        let args: &'t [Arg] = match args {
            Some(a) if !a.is_empty() => &a[1..],
            _ => &[],
        };
        let num_in = args.len() + usize::from(fin.is_some());
        let num_params = func.params.len() + usize::from(func.variadic.is_some());
        let num_fixed = if func.variadic.is_some() {
            func.params.len()
        } else {
            args.len()
        };
        if func.variadic.is_some() {
            if num_in < func.params.len() {
                return Err(self.errorf(format!(
                    "wrong number of args for {name}: want at least {} got {}",
                    func.params.len(),
                    args.len()
                )));
            }
        } else if num_in != num_params {
            return Err(self.errorf(format!(
                "wrong number of args for {name}: want {num_params} got {num_in}"
            )));
        }

        if is_builtin && (name == "and" || name == "or") {
            let want = name == "or";
            let mut v = Value::Invalid;
            for a in args {
                v = self.eval_arg(dot, Param::Reflect, a, false)?.v;
                if v.truth() == want {
                    return Ok(Boxed::plain(v));
                }
            }
            if let Some(f) = fin {
                v = f;
            }
            return Ok(Boxed::plain(v));
        }

        let mut argv: Vec<Value> = Vec::with_capacity(num_in);
        let mut i = 0;
        while i < num_fixed && i < args.len() {
            let p = func.params[i];
            argv.push(self.eval_arg(dot, p, &args[i], false)?.v);
            i += 1;
        }
        if let Some(vp) = func.variadic {
            while i < args.len() {
                argv.push(self.eval_arg(dot, vp, &args[i], false)?.v);
                i += 1;
            }
        }
        if let Some(f) = fin {
            let p = match func.variadic {
                Some(vp) => {
                    if num_in - 1 < func.params.len() {
                        func.params[num_in - 1]
                    } else {
                        vp
                    }
                }
                None => func.params[num_params - 1],
            };
            argv.push(self.validate_type(Boxed::plain(f), p)?);
        }
        let ctx = CallContext {
            template: self.tmpl,
            depth: self.depth,
        };
        match (func.imp)(&ctx, argv) {
            Ok(v) => Ok(Boxed::plain(v)),
            Err(e) => {
                self.at(node);
                Err(self.errorf(format!("error calling {name}: {e}")))
            }
        }
    }

    /// Go's `validateType`: checks that a computed value fits a parameter.
    fn validate_type(&self, value: Boxed, p: Param) -> R<Value> {
        let v = value.v;
        match (&v, p) {
            (Value::Invalid, Param::Reflect) => Ok(Value::Invalid),
            (Value::Invalid, Param::Any) => Ok(Value::Nil),
            (Value::Invalid, Param::List) => Ok(Value::list(Vec::new())),
            (Value::Invalid, Param::StringList) => {
                Ok(Value::List(Rc::new(Vec::new()), ListType::String))
            }
            (Value::Invalid, Param::Dict) => Ok(Value::empty_map()),
            (Value::Invalid, _) => {
                Err(self.errorf(format!("invalid value; expected {}", p.go_name())))
            }
            (_, Param::Any | Param::Reflect) => Ok(v),
            (Value::String(_), Param::Str)
            | (Value::Int(_), Param::Int)
            | (Value::Int64(_), Param::Int64)
            | (Value::Float(_), Param::Float64)
            | (Value::Bool(_), Param::Bool)
            | (Value::List(_, ListType::Interface), Param::List)
            | (Value::List(_, ListType::String), Param::StringList)
            | (Value::Map(_, MapType::StringInterface), Param::Dict) => Ok(v),
            _ => {
                let got = if let Value::Nil = v {
                    "interface {}".to_string()
                } else {
                    v.type_name()
                };
                Err(self.errorf(format!(
                    "wrong type for value; expected {}; got {}",
                    p.go_name(),
                    got
                )))
            }
        }
    }

    /// Go's `evalArg`. `as_pipe_value` is set when evaluating the head of a
    /// chain, where Go passes a nil type (no check).
    fn eval_arg(&mut self, dot: &Boxed, p: Param, arg: &'t Arg, as_pipe_value: bool) -> R<Boxed> {
        self.at(At::Arg(arg));
        let computed = match arg {
            Arg::Dot { .. } => Some(dot.clone()),
            Arg::Nil { .. } => {
                if as_pipe_value {
                    return Ok(Boxed::plain(Value::Nil));
                }
                if p == Param::Reflect {
                    return Ok(Boxed::plain(Value::Invalid));
                }
                if p.can_be_nil() {
                    return Ok(Boxed::plain(Value::Nil));
                }
                return Err(self.errorf(format!("cannot assign nil to {}", p.go_name())));
            }
            Arg::Field { ident, .. } => {
                Some(self.eval_field_node(dot, arg, ident, std::slice::from_ref(arg), None)?)
            }
            Arg::Variable { ident, .. } => {
                Some(self.eval_variable_node(dot, arg, ident, None, None)?)
            }
            Arg::Pipe(pipe) => Some(Boxed::plain(self.eval_pipeline(dot, Some(pipe))?)),
            Arg::Identifier { name, .. } => {
                Some(self.eval_function(dot, arg, name, At::Arg(arg), None, None)?)
            }
            Arg::Chain { node, fields, .. } => {
                Some(self.eval_chain_node(dot, arg, node, fields, &[], None)?)
            }
            _ => None,
        };
        if let Some(v) = computed {
            if as_pipe_value {
                return Ok(v);
            }
            return Ok(Boxed::plain(self.validate_type(v, p)?));
        }
        let v = match (p, arg) {
            (Param::Bool, Arg::Bool { val, .. }) => Value::Bool(*val),
            (Param::Bool, _) => return Err(self.errorf(format!("expected bool; found {arg}"))),
            (Param::Float64, Arg::Number { num, .. }) if num.float.is_some() => {
                Value::Float(num.float.unwrap_or(0.0))
            }
            (Param::Float64, _) => return Err(self.errorf(format!("expected float; found {arg}"))),
            (Param::Int, Arg::Number { num, .. }) if num.int.is_some() => {
                Value::Int(num.int.unwrap_or(0))
            }
            (Param::Int64, Arg::Number { num, .. }) if num.int.is_some() => {
                Value::Int64(num.int.unwrap_or(0))
            }
            (Param::Int | Param::Int64, _) => {
                return Err(self.errorf(format!("expected integer; found {arg}")))
            }
            (Param::Str, Arg::String { text, .. }) => Value::String(text.clone()),
            (Param::Str, _) => return Err(self.errorf(format!("expected string; found {arg}"))),
            (Param::Any | Param::Reflect, Arg::Bool { val, .. }) => Value::Bool(*val),
            (Param::Any | Param::Reflect, Arg::String { text, .. }) => Value::String(text.clone()),
            (Param::Any | Param::Reflect, Arg::Number { num, .. }) => {
                self.ideal_constant(arg, num)?
            }
            _ => {
                return Err(self.errorf(format!(
                    "can't handle {arg} for arg of type {}",
                    p.go_name()
                )))
            }
        };
        Ok(Boxed::plain(v))
    }
}

fn node_pos(n: &Node) -> usize {
    match n {
        Node::Text { pos, .. }
        | Node::Action { pos, .. }
        | Node::Template { pos, .. }
        | Node::Break { pos }
        | Node::Continue { pos } => *pos,
        Node::Branch(b) => b.pos,
    }
}
