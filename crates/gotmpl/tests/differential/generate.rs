//! A generator of random well-formed templates over the `default` data set.
//! Its cases exercise combinations no one writes by hand: type mismatches,
//! nil values in pipelines, nested control flow, error positions.

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E3779B97F4A7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545F4914F6CDD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    pub fn chance(&mut self, pct: usize) -> bool {
        self.below(100) < pct
    }
}

const FIELDS: &[&str] = &[
    ".name",
    ".Values.replicas",
    ".Values.image.repo",
    ".Values.image.tag",
    ".Values.big",
    ".Values.small",
    ".Values.pi",
    ".Values.neg",
    ".Values.enabled",
    ".Values.disabled",
    ".Values.empty",
    ".Values.zero",
    ".Values.nil",
    ".Values.list",
    ".Values.strs",
    ".Values.nums",
    ".Values.map",
    ".Values.map.c",
    ".Values.map.c.d",
    ".Values.env",
    ".Values.text",
    ".Values.multiline",
    ".Values.spaces",
    ".Values.quote",
    ".Values.unicode",
    ".Values.html",
    ".Values.version",
    ".Values.missing",
    ".Values.missing.deeper",
    ".Values.nil.x",
    ".Values.text.x",
    ".Release.Name",
    ".Values.number_str",
    ".Values.yamlish",
];

const LITERALS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "-1",
    "10",
    "1.5",
    "2.0",
    "1e3",
    "0x1F",
    "'a'",
    "true",
    "false",
    "\"\"",
    "\"a\"",
    "\"hello world\"",
    "\"x,y,z\"",
    "\"A-B_c d\"",
    "\"1.2.3\"",
    "\"42\"",
    "\"yes\"",
    "`raw\\n`",
    "nil",
];

/// (name, arity, argument kinds: s=string, i=int, a=any, l=list, m=map, f=format)
const FUNCS: &[(&str, &str)] = &[
    ("upper", "s"),
    ("lower", "s"),
    ("title", "s"),
    ("trim", "s"),
    ("quote", "a"),
    ("squote", "a"),
    ("default", "aa"),
    ("toString", "a"),
    ("len", "a"),
    ("print", "a"),
    ("print", "aa"),
    ("println", "a"),
    ("printf", "fa"),
    ("printf", "faa"),
    ("join", "sl"),
    ("first", "l"),
    ("last", "l"),
    ("rest", "l"),
    ("reverse", "l"),
    ("uniq", "l"),
    ("sortAlpha", "l"),
    ("add", "aa"),
    ("sub", "aa"),
    ("mul", "aa"),
    ("max", "aa"),
    ("min", "aa"),
    ("int", "a"),
    ("int64", "a"),
    ("float64", "a"),
    ("toJson", "a"),
    ("toYaml", "a"),
    ("indent", "is"),
    ("nindent", "is"),
    ("trunc", "is"),
    ("replace", "sss"),
    ("contains", "ss"),
    ("hasPrefix", "ss"),
    ("splitList", "ss"),
    ("has", "al"),
    ("hasKey", "ms"),
    ("list", "aa"),
    ("dict", "sa"),
    ("b64enc", "s"),
    ("sha256sum", "s"),
    ("eq", "aa"),
    ("ne", "aa"),
    ("lt", "aa"),
    ("le", "aa"),
    ("gt", "aa"),
    ("ge", "aa"),
    ("and", "aa"),
    ("or", "aa"),
    ("not", "a"),
    ("index", "la"),
    ("index", "ms"),
    ("coalesce", "aa"),
    ("ternary", "aab"),
    ("empty", "a"),
    ("kindOf", "a"),
    ("typeOf", "a"),
    ("cat", "aa"),
    ("repeat", "is"),
    ("substr", "iis"),
    ("regexReplaceAll", "sss"),
    ("semverCompare", "ss"),
    ("kebabcase", "s"),
    ("snakecase", "s"),
    ("camelcase", "s"),
    ("untitle", "s"),
    ("abbrev", "is"),
    ("wrap", "is"),
    ("adler32sum", "s"),
    ("plural", "ssi"),
    ("toPrettyJson", "a"),
    ("fromJson", "s"),
    ("fromYaml", "s"),
    ("compact", "l"),
    ("concat", "ll"),
    ("until", "i"),
    ("seq", "i"),
    ("atoi", "s"),
    ("ceil", "a"),
    ("floor", "a"),
    ("round", "ai"),
    ("addf", "aa"),
    ("mulf", "aa"),
    ("divf", "aa"),
    ("base", "s"),
    ("dir", "s"),
    ("ext", "s"),
    ("clean", "s"),
    ("slice", "l"),
    ("html", "a"),
    ("js", "a"),
    ("urlquery", "a"),
    ("without", "la"),
    ("pluck", "sm"),
    ("dig", "ssam"),
    ("get", "ms"),
    ("set", "msa"),
    ("unset", "ms"),
    ("merge", "mm"),
    ("deepCopy", "a"),
    ("toRawJson", "a"),
    ("regexMatch", "ss"),
    ("regexFind", "ss"),
    ("regexSplit", "ssi"),
    ("nospace", "s"),
    ("initials", "s"),
    ("swapcase", "s"),
    ("trimAll", "ss"),
    ("trimSuffix", "ss"),
    ("trimPrefix", "ss"),
    ("split", "ss"),
    ("b64dec", "s"),
    ("b32enc", "s"),
    ("sha1sum", "s"),
    ("kindIs", "sa"),
    ("typeIs", "sa"),
    ("deepEqual", "aa"),
    ("all", "aa"),
    ("any", "aa"),
];

const FORMATS: &[&str] = &[
    "\"%v\"",
    "\"%d\"",
    "\"%s\"",
    "\"%q\"",
    "\"%5.2f\"",
    "\"%x\"",
    "\"%-6v|\"",
    "\"%05d\"",
    "\"%t\"",
    "\"%+v\"",
    "\"%T\"",
    "\"%e\"",
    "\"%g\"",
    "\"%8.3s|\"",
    "\"%v %v\"",
    "\"%%\"",
    "\"%o\"",
    "\"%X\"",
    "\"%#v\"",
    "\"%c\"",
    "\"%U\"",
    "\"% d\"",
    "\"%+d\"",
    "\"%.0f\"",
    "\"%10.4e\"",
];

pub struct Gen {
    rng: Rng,
    vars: Vec<String>,
    next_var: usize,
}

impl Gen {
    pub fn new(seed: u64) -> Gen {
        Gen {
            rng: Rng::new(seed),
            vars: Vec::new(),
            next_var: 0,
        }
    }

    fn arg(&mut self, kind: char, depth: usize) -> String {
        match kind {
            'f' => self.rng.pick(FORMATS).to_string(),
            's' if self.rng.chance(50) => self
                .rng
                .pick(&[
                    "\"a\"",
                    "\"-\"",
                    "\",\"",
                    "\"x y\"",
                    "\"[a-z]+\"",
                    "\">=1.0.0\"",
                    "\"l\"",
                    "\"^1\"",
                ])
                .to_string(),
            'i' if self.rng.chance(60) => {
                self.rng.pick(&["0", "1", "2", "3", "5", "-2"]).to_string()
            }
            'l' if self.rng.chance(60) => self
                .rng
                .pick(&[
                    ".Values.list",
                    ".Values.strs",
                    ".Values.nums",
                    "(list 1 2 3)",
                    "(list \"b\" \"a\")",
                ])
                .to_string(),
            'm' if self.rng.chance(60) => self
                .rng
                .pick(&[
                    ".Values.map",
                    ".Values.env",
                    "(dict \"k\" 1)",
                    ".Values.image",
                ])
                .to_string(),
            'b' if self.rng.chance(60) => self.rng.pick(&["true", "false"]).to_string(),
            _ => self.operand(depth),
        }
    }

    fn operand(&mut self, depth: usize) -> String {
        let r = self.rng.below(10);
        if depth > 2 || r < 4 {
            return self.rng.pick(FIELDS).to_string();
        }
        match r {
            4 | 5 => self.rng.pick(LITERALS).to_string(),
            6 if !self.vars.is_empty() => {
                let v = self.rng.pick(&self.vars).clone();
                v
            }
            6 => "$".to_string(),
            7 => ".".to_string(),
            _ => format!("({})", self.call(depth + 1)),
        }
    }

    fn call(&mut self, depth: usize) -> String {
        let (name, kinds) = *self.rng.pick(FUNCS);
        let args: Vec<String> = kinds.chars().map(|k| self.arg(k, depth)).collect();
        if args.is_empty() {
            name.to_string()
        } else {
            format!("{name} {}", args.join(" "))
        }
    }

    fn pipeline(&mut self, depth: usize) -> String {
        let mut p = if self.rng.chance(60) {
            self.call(depth)
        } else {
            self.operand(depth)
        };
        while self.rng.chance(25) {
            let (name, kinds) = *self.rng.pick(FUNCS);
            let args: Vec<String> = kinds
                .chars()
                .skip(1)
                .map(|k| self.arg(k, depth + 1))
                .collect();
            p = if args.is_empty() {
                format!("{p} | {name}")
            } else {
                format!("{p} | {name} {}", args.join(" "))
            };
        }
        p
    }

    fn open(&mut self) -> &'static str {
        if self.rng.chance(20) {
            "{{- "
        } else {
            "{{ "
        }
    }

    fn close(&mut self) -> &'static str {
        if self.rng.chance(20) {
            " -}}"
        } else {
            " }}"
        }
    }

    fn block(&mut self, depth: usize, len: usize) -> String {
        let mut out = String::new();
        let mark = self.vars.len();
        for _ in 0..len {
            out.push_str(&self.statement(depth));
        }
        self.vars.truncate(mark);
        out
    }

    fn statement(&mut self, depth: usize) -> String {
        let texts = ["\n", " ", "x", "\n  ", "a: ", "- "];
        let mut s = self.rng.pick(&texts).to_string();
        let r = self.rng.below(12);
        let (o, c) = (self.open(), self.close());
        match r {
            0..=4 => s.push_str(&format!("{o}{}{c}", self.pipeline(depth))),
            5 => {
                let v = format!("$v{}", self.next_var);
                self.next_var += 1;
                s.push_str(&format!("{o}{v} := {}{c}", self.pipeline(depth)));
                self.vars.push(v);
            }
            6 if depth < 3 => {
                let cond = self.pipeline(depth);
                let body = self.block(depth + 1, 2);
                let els = if self.rng.chance(50) {
                    format!("{{{{ else }}}}{}", self.block(depth + 1, 1))
                } else {
                    String::new()
                };
                s.push_str(&format!("{o}if {cond}{c}{body}{els}{{{{ end }}}}"));
            }
            7 if depth < 3 => {
                let over = self
                    .rng
                    .pick(&[
                        ".Values.list",
                        ".Values.strs",
                        ".Values.map",
                        ".Values.env",
                        "3",
                        ".Values.nil",
                        ".Values.missing",
                        ".Values.text",
                        "(until 3)",
                        "(splitList \",\" \"a,b\")",
                    ])
                    .to_string();
                let (decl, vars) = match self.rng.below(3) {
                    0 => (String::new(), vec![]),
                    1 => {
                        let v = format!("$e{}", self.next_var);
                        self.next_var += 1;
                        (format!("{v} := "), vec![v])
                    }
                    _ => {
                        let (k, v) = (
                            format!("$k{}", self.next_var),
                            format!("$e{}", self.next_var),
                        );
                        self.next_var += 1;
                        (format!("{k}, {v} := "), vec![k, v])
                    }
                };
                let mark = self.vars.len();
                self.vars.extend(vars);
                let body = self.block(depth + 1, 2);
                self.vars.truncate(mark);
                let els = if self.rng.chance(30) {
                    "{{ else }}none".to_string()
                } else {
                    String::new()
                };
                s.push_str(&format!("{o}range {decl}{over}{c}{body}{els}{{{{ end }}}}"));
            }
            8 if depth < 3 => {
                let p = self.pipeline(depth);
                let body = self.block(depth + 1, 2);
                s.push_str(&format!("{o}with {p}{c}{body}{{{{ end }}}}"));
            }
            9 => s.push_str("{{/* comment */}}"),
            _ => s.push_str(&format!("{o}{}{c}", self.rng.pick(FIELDS))),
        }
        s
    }

    pub fn template(&mut self) -> String {
        self.vars.clear();
        let n = 1 + self.rng.below(4);
        self.block(0, n)
    }
}
