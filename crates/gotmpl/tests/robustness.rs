//! Hostile and broken templates: every input must end, and end in `Ok` or a
//! positioned `Err`, never a panic. The limits that make that true are
//! checked one by one, and a deterministic mutation run (the same entry
//! point as the cargo-fuzz target) covers the rest.

use davit_gotmpl::fuzzing::render_bytes;

fn err_of(text: &str) -> String {
    let mut input = vec![0u8];
    input.extend_from_slice(text.as_bytes());
    match render_bytes(&input) {
        Ok(out) => panic!(
            "expected an error for {text:?}, got output of {} bytes",
            out.len()
        ),
        Err(e) => e.message,
    }
}

#[test]
fn huge_range_is_bounded() {
    let e = err_of("{{ range 1000000000000 }}x{{ end }}");
    assert!(
        e.contains("evaluation budget") || e.contains("output exceeds"),
        "{e}"
    );
    assert!(e.starts_with("template: main:1:"), "{e}");
}

#[test]
fn runaway_recursion_is_bounded() {
    let e = err_of(r#"{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}"#);
    assert!(e.contains("exceeded maximum template depth (64)"), "{e}");
    let e = err_of(r#"{{ define "r" }}{{ include "r" . }}{{ end }}{{ include "r" . }}"#);
    assert!(e.contains("exceeded maximum template depth"), "{e}");
}

#[test]
fn output_size_is_bounded() {
    let e = err_of(r#"{{ range 100000 }}{{ repeat 1000 "x" }}{{ end }}"#);
    assert!(
        e.contains("output exceeds 1048576 bytes") || e.contains("evaluation budget"),
        "{e}"
    );
    let e = err_of(r#"{{ repeat 100000000 "xyz" }}"#);
    assert!(e.contains("Repeat output length overflow"), "{e}");
}

#[test]
fn deep_nesting_is_a_parse_error() {
    let text = format!("{{{{ {}1{} }}}}", "(".repeat(5000), ")".repeat(5000));
    let e = err_of(&text);
    assert!(e.contains("nesting deeper than 256"), "{e}");
    let text = "{{ if true }}".repeat(1000);
    let e = err_of(&text);
    assert!(e.starts_with("template: main:1:"), "{e}");
}

#[test]
fn parse_errors_name_the_line() {
    let e = err_of("a\nb\n{{ if }}\n");
    assert_eq!(e, "template: main:3: missing value for if");
    let e = err_of("line\n\n{{ .x | nosuch }}");
    assert_eq!(e, "template: main:3: function \"nosuch\" not defined");
}

/// A parse error in a 3,000-line file points at the right line.
#[test]
fn parse_error_in_a_long_file() {
    let mut text = String::new();
    for i in 0..3000 {
        text.push_str(&format!("key{i}: {{{{ .name }}}}\n"));
    }
    text.push_str("broken: {{ if }}\n");
    let e = err_of(&text);
    assert_eq!(e, "template: main:3001: missing value for if");
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Mutates the hand-written cases (insert, delete, duplicate, splice) and
/// renders each mutant: the run must finish without a panic.
#[test]
fn mutated_cases_never_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("cases dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for f in files
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "cases"))
    {
        let text = std::fs::read_to_string(f).expect("read cases");
        for line in text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('@'))
        {
            seeds.push(line.replace('⏎', "\n").into_bytes());
        }
    }
    assert!(
        seeds.len() > 500,
        "expected the hand-written cases as seeds"
    );
    let tokens: &[&[u8]] = &[
        b"{{",
        b"}}",
        b"{{-",
        b"-}}",
        b"(",
        b")",
        b"|",
        b"$x",
        b":=",
        b"=",
        b".",
        b"\"",
        b"`",
        b"'",
        b"range ",
        b"if ",
        b"end",
        b"else",
        b"define \"t\"",
        b"template \"t\"",
        b"nil",
        b"1e309",
        b"-9223372036854775808",
        b"\xff",
        b"\xc3",
        b"\\u00",
        b"/*",
        b"*/",
        b"break",
        b"with ",
    ];
    let mut rng = Rng(0x5eed_2026_1122);
    let mut rendered = 0;
    for round in 0..12_000usize {
        let mut m = seeds[round % seeds.len()].clone();
        for _ in 0..(1 + rng.next() % 4) {
            let pos = if m.is_empty() {
                0
            } else {
                (rng.next() as usize) % (m.len() + 1)
            };
            match rng.next() % 4 {
                0 => {
                    let t = tokens[(rng.next() as usize) % tokens.len()];
                    m.splice(pos..pos, t.iter().copied());
                }
                1 if !m.is_empty() => {
                    let end = (pos + 1 + (rng.next() as usize) % 8).min(m.len());
                    m.drain(pos.min(end)..end);
                }
                2 => {
                    let other = &seeds[(rng.next() as usize) % seeds.len()];
                    m.splice(pos..pos, other.iter().copied());
                }
                _ => m.insert(pos, rng.next() as u8),
            }
        }
        let mut input = vec![(rng.next() % 12) as u8];
        input.extend_from_slice(&m);
        let _ = render_bytes(&input);
        rendered += 1;
    }
    assert_eq!(rendered, 12_000);
}
