//! `.helmignore`: Helm's gitignore-like rules. A pattern without `/` matches
//! a file or folder name at any depth; one with `/` matches the path from the
//! chart root; a trailing `/` matches folders only; `!` re-includes; the
//! last matching rule decides. Patterns use shell globs (`*`, `?`, `[…]`).

#[derive(Clone, Debug, Default)]
pub struct HelmIgnore {
    rules: Vec<Rule>,
}

#[derive(Clone, Debug)]
struct Rule {
    pattern: String,
    negate: bool,
    dir_only: bool,
    anchored: bool,
}

impl HelmIgnore {
    pub fn parse(text: &str) -> HelmIgnore {
        let rules = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let (negate, l) = match l.strip_prefix('!') {
                    Some(rest) => (true, rest),
                    None => (false, l),
                };
                let (dir_only, l) = match l.strip_suffix('/') {
                    Some(rest) => (true, rest),
                    None => (false, l),
                };
                let l = l.strip_prefix("./").unwrap_or(l);
                let anchored = l.contains('/');
                Rule {
                    pattern: l.trim_start_matches('/').to_string(),
                    negate,
                    dir_only,
                    anchored,
                }
            })
            .collect();
        HelmIgnore { rules }
    }

    /// True when `path` (chart-relative, `/`-separated) or one of its
    /// folders is ignored.
    pub fn ignored(&self, path: &str) -> bool {
        if self.rules.is_empty() {
            return false;
        }
        let parts: Vec<&str> = path.split('/').collect();
        for i in 1..=parts.len() {
            let prefix = parts[..i].join("/");
            let is_dir = i < parts.len();
            if self.decide(&prefix, parts[i - 1], is_dir) {
                return true;
            }
        }
        false
    }

    fn decide(&self, path: &str, base: &str, is_dir: bool) -> bool {
        let mut ignored = false;
        for r in &self.rules {
            if r.dir_only && !is_dir {
                continue;
            }
            let hit = if r.anchored {
                glob(&r.pattern, path)
            } else {
                glob(&r.pattern, base)
            };
            if hit {
                ignored = !r.negate;
            }
        }
        ignored
    }
}

/// Go's `filepath.Match` (no `/` crossing).
fn glob(pattern: &str, name: &str) -> bool {
    fn rec(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len())
                .take_while(|&i| i == 0 || n[i - 1] != '/')
                .any(|i| rec(&p[1..], &n[i..])),
            Some('?') => !n.is_empty() && n[0] != '/' && rec(&p[1..], &n[1..]),
            Some('[') => {
                let Some(end) = p.iter().position(|&c| c == ']') else {
                    return false;
                };
                let Some(&c) = n.first() else { return false };
                let class = &p[1..end];
                let (neg, class) = match class.first() {
                    Some('^') | Some('!') => (true, &class[1..]),
                    _ => (false, class),
                };
                let mut hit = false;
                let mut i = 0;
                while i < class.len() {
                    if i + 2 < class.len() && class[i + 1] == '-' {
                        hit |= class[i] <= c && c <= class[i + 2];
                        i += 3;
                    } else {
                        hit |= class[i] == c;
                        i += 1;
                    }
                }
                hit != neg && rec(&p[end + 1..], &n[1..])
            }
            Some('\\') if p.len() > 1 => !n.is_empty() && n[0] == p[1] && rec(&p[2..], &n[1..]),
            Some(&c) => !n.is_empty() && n[0] == c && rec(&p[1..], &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    rec(&p, &n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        let h = HelmIgnore::parse("# c\n*.tmp\nsecret/\n/docs/*.md\n!keep.tmp\n");
        assert!(h.ignored("a.tmp"));
        assert!(h.ignored("x/y/b.tmp"));
        assert!(!h.ignored("keep.tmp"));
        assert!(h.ignored("secret/a.txt"));
        assert!(!h.ignored("secret"));
        assert!(h.ignored("docs/readme.md"));
        assert!(!h.ignored("x/docs/readme.md"));
        assert!(!h.ignored("templates/a.yaml"));
    }
}
