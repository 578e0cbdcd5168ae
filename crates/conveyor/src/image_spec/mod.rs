//! werf's `imageSpec` stage (../shared/spec/werf-build.md §1.4.8, §4.8):
//! a stage that is not built but made by rewriting the previous stage's
//! image config (labels, env, entrypoint, history, ...). Its digest comes
//! from the spec alone; its layers are the previous stage's.

mod apply;

use std::collections::BTreeMap;

use davit_config::model::{ImageSpec, ImageSpecConfig};

use davit_digest::hash::h256;

pub use apply::{apply, ApplyContext};

/// `healthcheck` as werf reads it: seconds, yaml.v2 lowercase keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Healthcheck {
    pub test: Vec<String>,
    pub interval: i64,
    pub timeout: i64,
    pub start_period: i64,
    pub retries: i64,
}

/// The effective `imageSpec` of one image: its own, merged with the
/// meta section's for final images.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageSpecStage {
    pub author: String,
    pub clear_history: bool,
    pub keep_essential_werf_labels: bool,
    pub clear_werf_labels: bool,
    pub clear_cmd: bool,
    pub clear_entrypoint: bool,
    pub clear_user: bool,
    pub clear_working_dir: bool,
    /// Exact names or `/REGEX/` (anchored).
    pub remove_labels: Vec<String>,
    pub remove_volumes: Vec<String>,
    pub remove_env: Vec<String>,
    pub volumes: Vec<String>,
    /// Keys and values may hold `%project%` and `%image%`.
    pub labels: BTreeMap<String, String>,
    /// Values are expanded against the previous image's env (`$PATH:/x`).
    pub env: BTreeMap<String, String>,
    pub expose: Vec<String>,
    pub user: String,
    pub cmd: Vec<String>,
    pub entrypoint: Vec<String>,
    pub working_dir: String,
    pub stop_signal: String,
    pub healthcheck: Option<Healthcheck>,
}

/// A YAML scalar as Go's `%v` prints it.
fn scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn text(t: &Option<davit_config::model::Text>) -> String {
    t.as_ref().map(|t| t.0.clone()).unwrap_or_default()
}

fn map(m: &davit_config::model::FreeMap) -> BTreeMap<String, String> {
    m.iter().map(|(k, v)| (k.clone(), scalar(v))).collect()
}

impl ImageSpecStage {
    /// The stage of an image, if it has one: the image's own `imageSpec`,
    /// and for a final image the meta section's merged in as werf does
    /// (meta author wins when set, flags OR-ed, meta labels over the
    /// image's, `removeLabels` unioned; meta `clearWerfLabels` is not
    /// merged).
    pub fn for_image(
        image: Option<&ImageSpec>,
        meta: Option<&ImageSpec>,
        is_final: bool,
    ) -> Option<ImageSpecStage> {
        let meta = meta.filter(|_| is_final);
        if image.is_none() && meta.is_none() {
            return None;
        }
        let mut stage = image.map(Self::from_spec).unwrap_or_default();
        if let Some(meta) = meta {
            let author = text(&meta.author);
            if !author.is_empty() {
                stage.author = author;
            }
            stage.clear_history |= meta.clear_history.unwrap_or(false);
            if let Some(cfg) = &meta.config {
                stage.keep_essential_werf_labels |= cfg.keep_essential_werf_labels.unwrap_or(false);
                stage.labels.extend(map(&cfg.labels));
                for r in &cfg.remove_labels.0 {
                    if !stage.remove_labels.contains(r) {
                        stage.remove_labels.push(r.clone());
                    }
                }
            }
        }
        Some(stage)
    }

    fn from_spec(spec: &ImageSpec) -> ImageSpecStage {
        let empty = ImageSpecConfig::default();
        let c = spec.config.as_ref().unwrap_or(&empty);
        let flag = |b: Option<bool>| b.unwrap_or(false);
        ImageSpecStage {
            author: text(&spec.author),
            clear_history: flag(spec.clear_history),
            keep_essential_werf_labels: flag(c.keep_essential_werf_labels),
            clear_werf_labels: flag(c.clear_werf_labels),
            clear_cmd: flag(c.clear_cmd),
            clear_entrypoint: flag(c.clear_entrypoint),
            clear_user: flag(c.clear_user),
            clear_working_dir: flag(c.clear_working_dir),
            remove_labels: c.remove_labels.0.clone(),
            remove_volumes: c.remove_volumes.0.clone(),
            remove_env: c.remove_env.0.clone(),
            volumes: c.volumes.0.clone(),
            labels: map(&c.labels),
            env: map(&c.env),
            expose: c.expose.0.clone(),
            user: text(&c.user),
            cmd: c.cmd.0.clone(),
            entrypoint: c.entrypoint.0.clone(),
            working_dir: text(&c.working_dir),
            stop_signal: text(&c.stop_signal),
            healthcheck: c.healthcheck.as_ref().map(|h| Healthcheck {
                test: h.test.0.clone(),
                interval: h.interval.unwrap_or(0),
                timeout: h.timeout.unwrap_or(0),
                start_period: h.startperiod.unwrap_or(0),
                retries: h.retries.unwrap_or(0),
            }),
        }
    }

    /// The stage dependencies, in werf's order (`clearWerfLabels` is not
    /// part of them).
    pub fn dependencies(&self) -> String {
        let b = |v: bool| if v { "true" } else { "false" }.to_string();
        let sorted = |v: &[String]| {
            let mut v = v.to_vec();
            v.sort();
            v
        };
        let mut args: Vec<String> = vec![
            self.author.clone(),
            b(self.clear_history),
            self.cmd.join(" "),
            self.entrypoint.join(" "),
        ];
        for (k, v) in &self.env {
            args.extend([k.clone(), v.clone()]);
        }
        args.extend(sorted(&self.expose));
        // Go's fmt.Sprint of the *healthcheck pointer.
        args.push(match &self.healthcheck {
            None => "<nil>".into(),
            Some(h) => format!(
                "&{{[{}] {} {} {} {}}}",
                h.test.join(" "),
                h.interval,
                h.timeout,
                h.start_period,
                h.retries
            ),
        });
        for (k, v) in &self.labels {
            args.extend([k.clone(), v.clone()]);
        }
        args.push(self.stop_signal.clone());
        args.push(self.user.clone());
        args.extend(sorted(&self.volumes));
        args.push(self.working_dir.clone());
        args.extend(sorted(&self.remove_labels));
        args.extend(sorted(&self.remove_volumes));
        args.extend(sorted(&self.remove_env));
        args.extend([
            b(self.keep_essential_werf_labels),
            b(self.clear_cmd),
            b(self.clear_entrypoint),
            b(self.clear_user),
            b(self.clear_working_dir),
        ]);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        h256(&refs)
    }

    /// The spec's `labels` with keys and values rendered as werf renders
    /// them: Go templates with `%` delimiters and the functions `project`
    /// and `image` (`%project%-%image%`). An error names the label.
    pub fn render_labels(
        &self,
        project: &str,
        image: &str,
    ) -> Result<BTreeMap<String, String>, String> {
        use davit_gotmpl::{Func, FuncMap, Template, Value};
        let constant = |v: &str| {
            let v = v.to_string();
            Func::simple(&[], None, move |_| Ok(Value::str(v.as_str())))
        };
        let mut funcs = FuncMap::new();
        funcs.insert("project".into(), constant(project));
        funcs.insert("image".into(), constant(image));
        let render = |text: &str, what: &str| -> Result<String, String> {
            let t = Template::new(funcs.clone());
            t.delims("%", "%");
            t.parse("main", text)
                .and_then(|()| t.execute("main", &Value::empty_map()))
                .map_err(|e| format!("imageSpec label {what}: {e}"))
        };
        self.labels
            .iter()
            .map(|(k, v)| {
                Ok((
                    render(k, &format!("key {k:?}"))?,
                    render(v, &format!("{k:?}"))?,
                ))
            })
            .collect()
    }

    /// The stage digest on top of the stage `prev_digest`, for `platform`.
    pub fn digest(&self, prev_digest: &str, platform: &str) -> String {
        self.digest_after(prev_digest, "", platform)
    }

    /// The digest on top of a stage that passes `prev_next` on (a stapel
    /// git or user stage passes its commits; a `dockerfile` stage nothing).
    pub fn digest_after(&self, prev_digest: &str, prev_next: &str, platform: &str) -> String {
        davit_digest::hash::stage_h3(
            platform,
            &[
                "1.2",
                "imageSpec",
                &self.dependencies(),
                prev_digest,
                prev_next,
            ],
        )
    }
}

/// The content digest werf labels an `imageSpec` stage with.
pub fn content_digest(digest: &str, platform: &str) -> String {
    davit_digest::hash::content_digest(platform, "imageSpec", digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> ImageSpec {
        let v: serde_json::Value = serde_json::from_str(yaml).expect("json");
        serde_json::from_value(v).expect("ImageSpec")
    }

    #[test]
    fn only_final_images_take_the_meta_spec() {
        let meta = spec(
            r#"{"author":"Meta","clearHistory":true,"config":{"removeLabels":["/.*/"],"labels":{"a":"meta"}}}"#,
        );
        assert_eq!(ImageSpecStage::for_image(None, Some(&meta), false), None);
        let own = spec(
            r#"{"author":"Own","config":{"labels":{"a":"own","b":"own"},"removeLabels":["x"],"clearWerfLabels":false}}"#,
        );
        let s = ImageSpecStage::for_image(Some(&own), Some(&meta), true).expect("stage");
        assert_eq!(s.author, "Meta");
        assert!(s.clear_history);
        assert_eq!(s.labels["a"], "meta");
        assert_eq!(s.labels["b"], "own");
        assert_eq!(s.remove_labels, vec!["x".to_string(), "/.*/".to_string()]);
    }

    #[test]
    fn labels_are_templates_with_percent_delimiters() {
        let s = ImageSpecStage {
            labels: BTreeMap::from([
                (
                    "%project%.app".into(),
                    "%image% of %project% (%len project%)".into(),
                ),
                ("plain".into(), "{{ not a template here }}".into()),
            ]),
            ..Default::default()
        };
        let got = s.render_labels("shop", "api").expect("render");
        assert_eq!(got["shop.app"], "api of shop (4)");
        assert_eq!(got["plain"], "{{ not a template here }}");
        let bad = ImageSpecStage {
            labels: BTreeMap::from([("k".into(), "50%".into())]),
            ..Default::default()
        };
        let e = bad.render_labels("p", "i").expect_err("unclosed");
        assert!(
            e.contains("imageSpec label \"k\"") && e.contains("unclosed action"),
            "{e}"
        );
        // Only werf's two functions (and Go's builtins) exist there.
        let sprig = ImageSpecStage {
            labels: BTreeMap::from([("k".into(), "%upper project%".into())]),
            ..Default::default()
        };
        let e = sprig.render_labels("p", "i").expect_err("no sprig");
        assert!(e.contains("function \"upper\" not defined"), "{e}");
    }

    #[test]
    fn dependencies_follow_werfs_argument_list() {
        let s = ImageSpecStage {
            author: "me".into(),
            cmd: vec!["a".into(), "b".into()],
            env: BTreeMap::from([("K".into(), "V".into())]),
            expose: vec!["90".into(), "80".into()],
            ..Default::default()
        };
        let expected = h256(&[
            "me", "false", "a b", "", "K", "V", "80", "90", "<nil>", "", "", "", "false", "false",
            "false", "false", "false",
        ]);
        assert_eq!(s.dependencies(), expected);
        let with_check = ImageSpecStage {
            healthcheck: Some(Healthcheck {
                test: vec!["CMD".into(), "true".into()],
                interval: 5,
                ..Default::default()
            }),
            ..Default::default()
        };
        let expected = h256(&[
            "",
            "false",
            "",
            "",
            "&{[CMD true] 5 0 0 0}",
            "",
            "",
            "",
            "false",
            "false",
            "false",
            "false",
            "false",
        ]);
        assert_eq!(with_check.dependencies(), expected);
        // clearWerfLabels does not change the digest.
        let cleared = ImageSpecStage {
            clear_werf_labels: true,
            ..Default::default()
        };
        assert_eq!(
            cleared.digest("d", "linux/amd64"),
            ImageSpecStage::default().digest("d", "linux/amd64")
        );
        assert_ne!(s.digest("d", "linux/amd64"), s.digest("e", "linux/amd64"));
        assert_ne!(s.digest("d", "linux/amd64"), s.digest("d", "linux/arm64"));
    }
}
