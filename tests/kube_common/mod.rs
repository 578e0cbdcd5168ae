//! Helpers of the tests that run davit and helm against the test control
//! plane of `scripts/testenv` (`DAVIT_TEST_KUBECONFIG` and its kin).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use davit_testkit::fixtures::{git, testenv as env};
use serde_json::Value;

pub fn davit(dir: &Path, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_davit"));
    c.args(args)
        .arg("--kube-config")
        .arg(env("DAVIT_TEST_KUBECONFIG"))
        .current_dir(dir);
    for (k, v) in extra_env {
        c.env(k, v);
    }
    c.output().expect("run davit")
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub fn ok(o: &Output) -> String {
    let t = text(o);
    assert!(o.status.success(), "davit failed:\n{t}");
    t
}

pub fn helm(args: &[&str]) -> Output {
    Command::new(env("DAVIT_TEST_HELM"))
        .args(args)
        .arg("--kubeconfig")
        .arg(env("DAVIT_TEST_KUBECONFIG"))
        .output()
        .expect("run helm")
}

/// `GET` on the API server, as JSON (`None` for 404).
pub fn get(path: &str) -> Option<Value> {
    let out = Command::new("curl")
        .args(["-sk", "-w", "\n%{http_code}", "-H"])
        .arg(format!(
            "Authorization: Bearer {}",
            env("DAVIT_TEST_KUBE_TOKEN")
        ))
        .arg(format!("{}{path}", env("DAVIT_TEST_KUBE_API")))
        .output()
        .expect("run curl");
    let body = String::from_utf8_lossy(&out.stdout).into_owned();
    let (json, code) = body.rsplit_once('\n').unwrap_or((&body, ""));
    match code {
        "404" => None,
        "200" => Some(serde_json::from_str(json).expect("JSON from the API server")),
        other => panic!("GET {path}: HTTP {other}: {json}"),
    }
}

pub fn commit(dir: &Path, msg: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", msg]);
}

pub fn helm_release(ns: &str, name: &str) -> Value {
    let out = helm(&["list", "-n", ns, "-o", "json"]);
    assert!(out.status.success(), "{}", text(&out));
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .cloned()
        .unwrap_or(Value::Null)
}

pub fn rv(obj: &Value) -> u64 {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// A request to the API server with a JSON body; the response as JSON.
pub fn request(method: &str, path: &str, content_type: &str, body: &Value) -> Value {
    let out = Command::new("curl")
        .args(["-sk", "-X", method, "-H"])
        .arg(format!("Content-Type: {content_type}"))
        .arg("-H")
        .arg(format!(
            "Authorization: Bearer {}",
            env("DAVIT_TEST_KUBE_TOKEN")
        ))
        .arg("--data")
        .arg(body.to_string())
        .arg(format!("{}{path}", env("DAVIT_TEST_KUBE_API")))
        .output()
        .expect("run curl");
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// A watch on the API server (`?watch=1`), its events kept as they come.
pub struct Watch {
    child: Child,
    events: Arc<Mutex<Vec<Value>>>,
}

impl Watch {
    /// Watches `path` (a collection, such as `/api/v1/namespaces/x/configmaps`).
    pub fn start(path: &str) -> Watch {
        let mut child = Command::new("curl")
            .args(["-sNk", "-H"])
            .arg(format!(
                "Authorization: Bearer {}",
                env("DAVIT_TEST_KUBE_TOKEN")
            ))
            .arg(format!("{}{path}?watch=1", env("DAVIT_TEST_KUBE_API")))
            .stdout(Stdio::piped())
            .spawn()
            .expect("run curl");
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let stdout = child.stdout.take().expect("curl's stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    sink.lock().unwrap().push(v);
                }
            }
        });
        // The watch is established before anything it must see happens.
        std::thread::sleep(std::time::Duration::from_millis(500));
        Watch { child, events }
    }

    pub fn events(&self) -> Vec<Value> {
        self.events.lock().unwrap().clone()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
