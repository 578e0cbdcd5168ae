//! The Go value model seen by templates.
//!
//! Templates observe Go's dynamic types: `1` is an `int`, sprig's `add` returns
//! an `int64`, every number decoded from JSON is a `float64`, `splitList`
//! returns a `[]string`. Printing, comparison, `typeOf` and type errors all
//! depend on those distinctions, so the model keeps them.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

/// A Go map with string keys. Keys stay sorted, which is the order in which Go
/// ranges over and prints maps.
pub type Map = BTreeMap<String, Value>;

/// The Go type of a slice's elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListType {
    /// `[]interface {}`
    Interface,
    /// `[]string`
    String,
    /// `[]int`
    Int,
}

/// The Go type of a map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapType {
    /// `map[string]interface {}`
    StringInterface,
    /// `map[string]string`
    StringString,
    /// `map[interface {}]interface {}` (what yaml.v2 decodes nested maps into)
    InterfaceInterface,
}

/// An opaque Go object with methods, such as werf's `.Files`, a parsed semver
/// version or a `time.Time`.
pub trait Object: fmt::Debug {
    /// The Go type name, as `%T` prints it.
    fn type_name(&self) -> String;
    /// Calls a method. `None` when the object has no such method.
    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>>;
    /// A method's parameter types (fixed, variadic), so arguments are
    /// checked as Go checks them. `None` when there is no such method.
    fn method_params(&self, name: &str) -> Option<(Vec<crate::Param>, Option<crate::Param>)>;
    /// How `%v` prints the object.
    fn format(&self) -> String;
    /// Lets functions downcast to the concrete type.
    fn as_any(&self) -> &dyn std::any::Any;
    /// Go's kind name (`struct`, `ptr`, …) for `kindOf`.
    fn kind(&self) -> &'static str {
        "struct"
    }
    /// How `encoding/json` encodes the object; `None` for `{}`.
    fn json(&self) -> Option<String> {
        None
    }
    /// The entries of an object whose Go type is a map (Helm's `.Files`),
    /// so that `range`, `len` and `index` work on it.
    fn entries(&self) -> Option<Vec<(String, Value)>> {
        None
    }
}

/// A template function value (for `call`).
pub type FuncValue = Rc<dyn Fn(&[Value]) -> Result<Value, String>>;

#[derive(Clone)]
pub enum Value {
    /// Go's zero `reflect.Value`: a missing map key. Prints `<no value>`.
    Invalid,
    /// A nil `interface {}`.
    Nil,
    Bool(bool),
    /// Go `int`.
    Int(i64),
    /// Go `int64`.
    Int64(i64),
    /// Go `float64`.
    Float(f64),
    String(Rc<str>),
    /// `[]byte`
    Bytes(Rc<[u8]>),
    List(Rc<Vec<Value>>, ListType),
    /// Maps are references in Go: `set` mutates in place.
    Map(Rc<RefCell<Map>>, MapType),
    Object(Rc<dyn Object>),
    Func(FuncValue),
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Invalid => write!(f, "Invalid"),
            Value::Nil => write!(f, "Nil"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Int(i) => write!(f, "Int({i})"),
            Value::Int64(i) => write!(f, "Int64({i})"),
            Value::Float(x) => write!(f, "Float({x})"),
            Value::String(s) => write!(f, "String({s:?})"),
            Value::Bytes(b) => write!(f, "Bytes({b:?})"),
            Value::List(l, t) => f.debug_tuple("List").field(l).field(t).finish(),
            Value::Map(m, t) => f.debug_tuple("Map").field(&m.borrow()).field(t).finish(),
            Value::Object(o) => write!(f, "Object({o:?})"),
            Value::Func(_) => write!(f, "Func"),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(Rc::from(s))
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(Rc::from(s))
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

/// Go's reflect kinds, as far as the template engine distinguishes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Invalid,
    Interface,
    Bool,
    Int,
    Int64,
    Float64,
    String,
    Slice,
    Map,
    Struct,
    Ptr,
    Func,
}

impl Value {
    pub fn str(s: impl Into<Rc<str>>) -> Value {
        Value::String(s.into())
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(items), ListType::Interface)
    }

    pub fn string_list(items: Vec<String>) -> Value {
        Value::List(
            Rc::new(items.into_iter().map(Value::from).collect()),
            ListType::String,
        )
    }

    pub fn map(m: Map) -> Value {
        Value::Map(Rc::new(RefCell::new(m)), MapType::StringInterface)
    }

    pub fn empty_map() -> Value {
        Value::map(Map::new())
    }

    pub fn is_invalid(&self) -> bool {
        matches!(self, Value::Invalid)
    }

    /// True for the values Go's `reflect.Value.IsNil` would call nil, or that
    /// are not there at all.
    pub fn is_nil_or_invalid(&self) -> bool {
        matches!(self, Value::Invalid | Value::Nil)
    }

    pub fn kind(&self) -> Kind {
        match self {
            Value::Invalid => Kind::Invalid,
            Value::Nil => Kind::Interface,
            Value::Bool(_) => Kind::Bool,
            Value::Int(_) => Kind::Int,
            Value::Int64(_) => Kind::Int64,
            Value::Float(_) => Kind::Float64,
            Value::String(_) => Kind::String,
            Value::Bytes(_) | Value::List(..) => Kind::Slice,
            Value::Map(..) => Kind::Map,
            Value::Object(o) => {
                if o.kind() == "ptr" {
                    Kind::Ptr
                } else {
                    Kind::Struct
                }
            }
            Value::Func(_) => Kind::Func,
        }
    }

    /// The Go type name, as `%T` and error messages print it.
    pub fn type_name(&self) -> String {
        match self {
            Value::Invalid => "<nil>".into(),
            Value::Nil => "interface {}".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Int64(_) => "int64".into(),
            Value::Float(_) => "float64".into(),
            Value::String(_) => "string".into(),
            Value::Bytes(_) => "[]uint8".into(),
            Value::List(_, t) => match t {
                ListType::Interface => "[]interface {}".into(),
                ListType::String => "[]string".into(),
                ListType::Int => "[]int".into(),
            },
            Value::Map(_, t) => match t {
                MapType::StringInterface => "map[string]interface {}".into(),
                MapType::StringString => "map[string]string".into(),
                MapType::InterfaceInterface => "map[interface {}]interface {}".into(),
            },
            Value::Object(o) => o.type_name(),
            Value::Func(_) => "func(...interface {}) (interface {}, error)".into(),
        }
    }

    /// Go's `reflect.Kind.String()` for `kindOf`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Invalid | Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::Bytes(_) | Value::List(..) => "slice",
            Value::Map(..) => "map",
            Value::Object(o) => o.kind(),
            Value::Func(_) => "func",
        }
    }

    /// Go's template truth: false, 0, nil, and empty strings, slices and maps
    /// are false. Structs are always true.
    pub fn truth(&self) -> bool {
        match self {
            Value::Invalid | Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::List(l, _) => !l.is_empty(),
            Value::Map(m, _) => !m.borrow().is_empty(),
            Value::Object(_) | Value::Func(_) => true,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer inside an `int` or `int64`.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) | Value::Int64(i) => Some(*i),
            _ => None,
        }
    }

    /// Deep copy (sprig `deepCopy`; also used where Go copies by value).
    pub fn deep_copy(&self) -> Value {
        match self {
            Value::List(l, t) => Value::List(Rc::new(l.iter().map(Value::deep_copy).collect()), *t),
            Value::Map(m, t) => {
                let copied = m
                    .borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.deep_copy()))
                    .collect();
                Value::Map(Rc::new(RefCell::new(copied)), *t)
            }
            other => other.clone(),
        }
    }

    /// Converts parsed JSON into template data the way Go's `encoding/json`
    /// decodes into `interface{}`: objects become `map[string]interface {}`,
    /// every number a `float64`.
    pub fn from_json(j: &serde_json::Value) -> Value {
        match j {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
            serde_json::Value::String(s) => Value::from(s.as_str()),
            serde_json::Value::Array(a) => Value::list(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(o) => Value::map(
                o.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }
}
