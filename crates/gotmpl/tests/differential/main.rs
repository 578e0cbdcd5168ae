//! Differential test: every case is rendered by davit's engine and compared
//! with Go's `text/template` + sprig (the oracle under `tests/oracle/gotmpl`).
//!
//! With Go on the machine the oracle runs live and the committed golden
//! files must agree with it; without Go the golden files are the reference.
//! Regenerate them with:
//!
//!     DAVIT_REGEN_GOLDEN=1 cargo test -p davit-gotmpl --test differential
//!
//! The report goes to `target/differential-report.md`.

mod case;
mod generate;
mod suites;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use case::{render, Case, Outcome};

const GENERATED_CASES: usize = 2500;

/// The clock both engines see (`now`), so time-dependent templates compare.
const FIXED_NOW: &str = "1700000000";

struct Suite {
    name: &'static str,
    cases: Vec<Case>,
    /// Goldens keep only a hash (the corpus is not copied into the repo).
    hashed: bool,
}

fn fnv(s: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

/// What a hashed golden keeps: a hash of the output, or for an error its
/// location (the part of an error that must match Go).
fn outcome_hash(o: &Outcome) -> Outcome {
    match &o.err {
        Some(e) => Outcome {
            out: String::new(),
            err: Some(format!("at {}", location(e))),
        },
        None => Outcome {
            out: format!("hash:{}", fnv(&o.out)),
            err: None,
        },
    }
}

fn golden_path(suite: &str) -> PathBuf {
    suites::crate_dir().join(format!("tests/golden/{suite}.json"))
}

fn load_golden(suite: &str) -> BTreeMap<String, Outcome> {
    match std::fs::read_to_string(golden_path(suite)) {
        Ok(t) => serde_json::from_str(&t).unwrap_or_else(|e| panic!("golden {suite}: {e}")),
        Err(_) => BTreeMap::new(),
    }
}

fn go_available() -> bool {
    std::env::var_os("DAVIT_NO_ORACLE").is_none()
        && Command::new("go")
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

fn build_oracle() -> PathBuf {
    let src = suites::repo_root().join("tests/oracle/gotmpl");
    let bin = suites::repo_root().join("target/gotmpl-oracle");
    let st = Command::new("go")
        .args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .current_dir(&src)
        .status()
        .expect("run go build");
    assert!(st.success(), "building the Go oracle failed");
    bin
}

fn run_oracle(bin: &PathBuf, cases: &[Case]) -> Vec<Outcome> {
    let input = serde_json::to_vec(cases).expect("serialize cases");
    let mut child = Command::new(bin)
        .env("TZ", "UTC")
        .env("SOURCE_DATE_EPOCH", FIXED_NOW)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start oracle");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("oracle output");
    writer
        .join()
        .expect("writer thread")
        .expect("write oracle input");
    assert!(out.status.success(), "oracle failed");
    let results: Vec<Outcome> = serde_json::from_slice(&out.stdout).expect("parse oracle output");
    assert_eq!(results.len(), cases.len());
    results
        .into_iter()
        .map(|o| match o.err {
            Some(e) => Outcome {
                out: String::new(),
                err: Some(e),
            },
            None => o,
        })
        .collect()
}

/// `template: NAME:LINE:COL:` (or `NAME:LINE:` for parse errors).
fn location(err: &str) -> String {
    let Some(rest) = err.strip_prefix("template: ") else {
        return err.lines().next().unwrap_or("").to_string();
    };
    let mut parts = rest.splitn(4, ':');
    let name = parts.next().unwrap_or("");
    let line = parts.next().unwrap_or("");
    let col = parts.next().unwrap_or("");
    if col.trim().parse::<u32>().is_ok() {
        format!("{name}:{line}:{col}")
    } else {
        format!("{name}:{line}")
    }
}

fn deviations() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(suites::crate_dir().join("tests/deviations.txt"))
        .unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut parts = l.splitn(3, '\t');
            let (suite, text, reason) = (parts.next()?, parts.next()?, parts.next()?);
            Some((
                format!("{suite}\t{}", text.replace('⏎', "\n")),
                reason.to_string(),
            ))
        })
        .collect()
}

#[derive(Default)]
struct Tally {
    total: usize,
    pass: usize,
    deviations: usize,
    exact_errors: usize,
    errors: usize,
    text_diffs: Vec<String>,
    failures: Vec<String>,
}

fn compare(c: &Case, want: &Outcome, got: &Outcome, hashed: bool, t: &mut Tally) {
    t.total += 1;
    let got_cmp = if hashed {
        outcome_hash(got)
    } else {
        got.clone()
    };
    if hashed {
        if got_cmp == *want {
            t.pass += 1;
        } else {
            t.failures.push(format!(
                "### {}\nhash mismatch (rerun with Go for a diff): want {:?} {:?}, got {:?} {:?}\n",
                c.name, want.out, want.err, got_cmp.out, got_cmp.err
            ));
        }
        return;
    }
    match (&want.err, &got.err) {
        (None, None) if want.out == got.out => t.pass += 1,
        (Some(we), Some(ge)) => {
            t.errors += 1;
            if we == ge {
                t.exact_errors += 1;
            } else if t.text_diffs.len() < 400 {
                t.text_diffs.push(format!("- want: {we}\n  got:  {ge}\n"));
            }
            if location(we) == location(ge) {
                t.pass += 1;
            } else {
                t.failures.push(format!(
                    "### {}\n```\n{}\n```\nwant error: {we}\n got error: {ge}\n",
                    c.name,
                    c.templates.last().map(|x| x.text.as_str()).unwrap_or("")
                ));
            }
        }
        _ => t.failures.push(format!(
            "### {}\n```\n{}\n```\nwant: {:?} err={:?}\n got: {:?} err={:?}\n",
            c.name,
            c.templates.last().map(|x| x.text.as_str()).unwrap_or(""),
            want.out,
            want.err,
            got.out,
            got.err
        )),
    }
}

fn compare_hashed_live(c: &Case, want: &Outcome, got: &Outcome, t: &mut Tally) {
    // With the oracle live, corpus cases are compared in full.
    let mut sub = Tally::default();
    compare(c, want, got, false, &mut sub);
    t.total += 1;
    t.pass += sub.pass;
    t.errors += sub.errors;
    t.exact_errors += sub.exact_errors;
    t.text_diffs.extend(sub.text_diffs);
    t.failures.extend(sub.failures);
}

#[test]
fn differential_against_go() {
    // Deep include chains (Helm allows 1000 levels) need more stack than a
    // test thread has; run the whole comparison on a thread with room.
    let worker = std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(run_all)
        .expect("spawn differential worker");
    if let Err(panic) = worker.join() {
        std::panic::resume_unwind(panic);
    }
}

fn run_all() {
    // Single-threaded at this point: the worker is the only thread running.
    std::env::set_var("SOURCE_DATE_EPOCH", FIXED_NOW);
    let generated: Vec<Case> = {
        let data = suites::data_sets();
        let d = data.get("default").expect("tests/cases/data/default.json");
        let mut g = generate::Gen::new(20261122);
        (0..GENERATED_CASES)
            .map(|i| Case::simple(format!("gen:{i}"), &g.template(), d, "werf"))
            .collect()
    };
    let corpus = suites::corpus();
    if corpus.is_empty() && std::env::var_os("CI").is_some() {
        panic!("the werf corpus was not found beside the repository (../shared/corpus/werf); set DAVIT_CORPUS");
    }
    let all = vec![
        Suite {
            name: "handwritten",
            cases: suites::handwritten(),
            hashed: false,
        },
        Suite {
            name: "generated",
            cases: generated,
            hashed: false,
        },
        Suite {
            name: "corpus",
            cases: corpus,
            hashed: true,
        },
    ];

    let regen = std::env::var_os("DAVIT_REGEN_GOLDEN").is_some();
    let oracle = if go_available() {
        Some(build_oracle())
    } else {
        None
    };
    assert!(
        !regen || oracle.is_some(),
        "DAVIT_REGEN_GOLDEN needs Go on the machine"
    );
    if oracle.is_none() {
        eprintln!("note: Go not found; comparing against committed golden files");
    }

    let known = deviations();
    let mut report = String::from("# Differential test report\n\n| suite | cases | match | known deviations | errors (exact text) |\n|---|---|---|---|---|\n");
    let mut details = String::new();
    let mut appendix = String::new();
    let mut failed = 0;
    let mut stale = Vec::new();
    for suite in &all {
        let golden = load_golden(suite.name);
        if std::env::var_os("DAVIT_DUMP_CASES").is_some() {
            let path = suites::repo_root().join(format!("target/cases-{}.json", suite.name));
            let _ = std::fs::write(
                path,
                serde_json::to_string(&suite.cases).unwrap_or_default(),
            );
        }
        let live = oracle.as_ref().map(|bin| run_oracle(bin, &suite.cases));
        let mut new_golden = BTreeMap::new();
        let mut t = Tally::default();
        for (i, c) in suite.cases.iter().enumerate() {
            let got = render(c);
            let key = c.key();
            let want = match &live {
                Some(l) => {
                    let stored = if suite.hashed {
                        outcome_hash(&l[i])
                    } else {
                        l[i].clone()
                    };
                    if !regen && golden.get(&key) != Some(&stored) {
                        stale.push(format!("{}:{}", suite.name, c.name));
                    }
                    new_golden.insert(key.clone(), stored);
                    l[i].clone()
                }
                None => match golden.get(&key) {
                    Some(w) => w.clone(),
                    None => {
                        t.total += 1;
                        t.failures.push(format!("### {}\nno golden result: run DAVIT_REGEN_GOLDEN=1 cargo test -p davit-gotmpl --test differential\n", c.name));
                        continue;
                    }
                },
            };
            let before = (t.pass, t.failures.len());
            if live.is_some() && suite.hashed {
                compare_hashed_live(c, &want, &got, &mut t);
            } else {
                compare(c, &want, &got, suite.hashed, &mut t);
            }
            let full_name = format!(
                "{}\t{}",
                suite.name,
                c.templates.last().map(|t| t.text.as_str()).unwrap_or("")
            );
            if known.contains_key(&full_name) {
                if t.pass > before.0 {
                    t.failures.push(format!("### {}\nlisted in tests/deviations.txt but now matches Go: remove it from the list\n", c.name));
                    t.pass -= 1;
                } else {
                    t.failures.truncate(before.1);
                    t.deviations += 1;
                }
            }
        }
        if regen {
            let text = serde_json::to_string_pretty(&new_golden).expect("serialize golden");
            std::fs::write(golden_path(suite.name), text + "\n").expect("write golden");
        }
        report.push_str(&format!(
            "| {} | {} | {} ({:.2}%) | {} | {} ({}) |\n",
            suite.name,
            t.total,
            t.pass,
            if t.total == 0 {
                100.0
            } else {
                100.0 * t.pass as f64 / t.total as f64
            },
            t.deviations,
            t.errors,
            t.exact_errors
        ));
        failed += t.total - t.pass - t.deviations;
        if !t.text_diffs.is_empty() {
            appendix.push_str(&format!(
                "\n## {}: error texts that differ after the location\n\n",
                suite.name
            ));
            for d in &t.text_diffs {
                appendix.push_str(d);
            }
        }
        for f in &t.failures {
            details.push_str(f);
            details.push('\n');
        }
    }
    report.push('\n');
    report.push_str(&details);
    report.push_str(&appendix);
    let path = suites::repo_root().join("target/differential-report.md");
    let _ = std::fs::create_dir_all(path.parent().expect("parent"));
    let _ = std::fs::write(&path, &report);
    eprintln!("{}", report.lines().take(8).collect::<Vec<_>>().join("\n"));
    eprintln!("full report: {}", path.display());
    if !details.is_empty() {
        eprintln!("{}", details.chars().take(6000).collect::<String>());
    }
    assert!(stale.is_empty() || regen, "golden files disagree with the Go oracle for {} cases (first: {}); regenerate them with DAVIT_REGEN_GOLDEN=1 cargo test -p davit-gotmpl --test differential", stale.len(), stale[0]);
    assert_eq!(
        failed,
        0,
        "{failed} cases differ from Go; see {}",
        path.display()
    );
}
