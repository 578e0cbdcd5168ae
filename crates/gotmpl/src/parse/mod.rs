//! Parsing Go template text: lexer, parser, parse tree.

pub mod ast;
pub mod lex;
pub(crate) mod number;
pub mod parser;
