//! Template functions and their Go signatures.
//!
//! Go converts and checks arguments against the function's parameter types
//! (`trunc` wants an `int`, `set` a `map[string]interface {}`), and the errors
//! users see come from that check, so every function declares its signature.

use std::collections::HashMap;
use std::rc::Rc;

use crate::value::Value;
use crate::Template;

/// A parameter type, as far as conversion and checking need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    /// `interface {}`: anything; a missing value becomes nil.
    Any,
    /// `reflect.Value` (builtins): the value as it is, even invalid.
    Reflect,
    Str,
    /// Go `int`.
    Int,
    /// Go `int64`.
    Int64,
    Float64,
    Bool,
    /// `[]interface {}`
    List,
    /// `[]string`
    StringList,
    /// `map[string]interface {}`
    Dict,
}

impl Param {
    /// Go's spelling, for "expected X" errors.
    pub fn go_name(self) -> &'static str {
        match self {
            Param::Any => "interface {}",
            Param::Reflect => "reflect.Value",
            Param::Str => "string",
            Param::Int => "int",
            Param::Int64 => "int64",
            Param::Float64 => "float64",
            Param::Bool => "bool",
            Param::List => "[]interface {}",
            Param::StringList => "[]string",
            Param::Dict => "map[string]interface {}",
        }
    }

    /// Go's `canBeNil` for the type.
    pub fn can_be_nil(self) -> bool {
        matches!(
            self,
            Param::Any | Param::List | Param::StringList | Param::Dict
        )
    }
}

/// What a function call can reach besides its arguments: the template set,
/// for `include` and `tpl`.
pub struct CallContext<'a> {
    pub template: &'a Template,
    pub(crate) depth: usize,
}

impl CallContext<'_> {
    /// Executes a named template of the set into a string (`include`).
    pub fn execute_template(&self, name: &str, data: &Value) -> Result<String, String> {
        self.template
            .execute_nested(name, data, self.depth + 1)
            .map_err(|e| e.to_string())
    }

    /// Parses `text` as template `name` into the set and executes it (`tpl`).
    pub fn parse_and_execute(
        &self,
        name: &str,
        text: &str,
        data: &Value,
    ) -> Result<String, String> {
        self.template.parse(name, text).map_err(|e| e.to_string())?;
        self.execute_template(name, data)
    }
}

pub type FuncImpl = Rc<dyn Fn(&CallContext<'_>, Vec<Value>) -> Result<Value, String>>;

/// A template function: Go-like signature plus implementation.
#[derive(Clone)]
pub struct Func {
    pub params: Vec<Param>,
    pub variadic: Option<Param>,
    pub imp: FuncImpl,
}

impl Func {
    pub fn new(
        params: &[Param],
        variadic: Option<Param>,
        f: impl Fn(&CallContext<'_>, Vec<Value>) -> Result<Value, String> + 'static,
    ) -> Func {
        Func {
            params: params.to_vec(),
            variadic,
            imp: Rc::new(f),
        }
    }

    /// A function that needs no context.
    pub fn simple(
        params: &[Param],
        variadic: Option<Param>,
        f: impl Fn(Vec<Value>) -> Result<Value, String> + 'static,
    ) -> Func {
        Func::new(params, variadic, move |_, a| f(a))
    }
}

/// Name → function. Builtins (`and`, `len`, `printf`…) are separate and can
/// be overridden by entries here, as in Go.
pub type FuncMap = HashMap<String, Func>;
