//! `--add-custom-tag` (../shared/spec/werf-build.md §8.2): extra tags for
//! final images, rendered from Go templates with `%` delimiters and werf's
//! functions `image`, `image_slug`, `image_safe_slug` and
//! `image_content_based_tag`.

use davit_gotmpl::{Func, FuncMap, Template, Value};

/// The stand-in content-based tag werf validates templates with.
const STUB_CONTENT_TAG: &str =
    "0000000000000000000000000000000000000000000000000000000000000-0000000000000";

#[derive(Debug, Clone, Default)]
pub struct CustomTags {
    templates: Vec<String>,
}

fn constant(value: String) -> Func {
    Func::simple(&[], None, move |_| Ok(Value::str(value.as_str())))
}

impl CustomTags {
    pub fn new(templates: Vec<String>) -> CustomTags {
        CustomTags { templates }
    }

    pub fn is_empty(&self) -> bool {
        self.templates.is_empty()
    }

    /// One template for one image whose stage is `content_tag`.
    fn render(template: &str, image: &str, content_tag: &str) -> Result<String, String> {
        let mut funcs = FuncMap::new();
        funcs.insert("image".into(), constant(image.to_string()));
        funcs.insert(
            "image_slug".into(),
            constant(davit_slug::default_slug(image)),
        );
        funcs.insert(
            "image_safe_slug".into(),
            constant(davit_slug::docker_tag(image)),
        );
        funcs.insert(
            "image_content_based_tag".into(),
            constant(content_tag.to_string()),
        );
        let t = Template::new(funcs);
        t.delims("%", "%");
        let tag = t
            .parse("custom tag", template)
            .and_then(|()| t.execute("custom tag", &Value::empty_map()))
            .map_err(|e| format!("invalid custom tag {template:?}: {e}"))?;
        if !davit_slug::is_docker_tag(&tag) {
            return Err(format!(
                "invalid custom tag {template:?}: {tag:?} is not a valid docker tag \
                 (letters, digits, `_`, `.` and `-`, at most 128, not starting with `.` or `-`)"
            ));
        }
        Ok(tag)
    }

    /// Checks every template against every final image before anything is
    /// built, as werf does: each must render to a valid tag, and two
    /// images must not get the same one.
    pub fn validate(&self, final_images: &[&str]) -> Result<(), String> {
        for template in &self.templates {
            let mut seen = std::collections::BTreeSet::new();
            for image in final_images {
                let tag = Self::render(template, image, STUB_CONTENT_TAG)?;
                if !seen.insert(tag) {
                    return Err(format!(
                        "invalid custom tag {template:?}: it is necessary to use the image name in the tag format if there is more than one image in the werf config (e.g., \"%image%-<tag>\")"
                    ));
                }
            }
        }
        Ok(())
    }

    /// The tags of one image whose stage is `content_tag`.
    pub fn tags_for(&self, image: &str, content_tag: &str) -> Result<Vec<String>, String> {
        self.templates
            .iter()
            .map(|t| Self::render(t, image, content_tag))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_render_with_werfs_functions() {
        let tags = CustomTags::new(vec![
            "latest".into(),
            "%image%-main".into(),
            "x-%image_content_based_tag%".into(),
        ]);
        let got = tags.tags_for("backend", "abc-1").expect("render");
        assert_eq!(got, ["latest", "backend-main", "x-abc-1"]);
        // The slug functions make any image name a valid tag.
        let slugs = CustomTags::new(vec!["%image_slug%".into(), "%image_safe_slug%".into()]);
        let got = slugs.tags_for("Back/End", "t").expect("render");
        assert_eq!(got[0], davit_slug::default_slug("Back/End"));
        assert_eq!(got[1], davit_slug::slug("Back/End", 128));
        let e = CustomTags::new(vec!["%image%-main".into()])
            .tags_for("back/end", "t")
            .expect_err("a slash is no tag");
        assert!(e.contains("not a valid docker tag"), "{e}");
    }

    #[test]
    fn validation_catches_collisions_and_bad_templates() {
        let latest = CustomTags::new(vec!["latest".into()]);
        assert!(latest.validate(&["app"]).is_ok());
        let e = latest.validate(&["app", "worker"]).expect_err("collision");
        assert!(e.contains("%image%-<tag>"), "{e}");
        assert!(CustomTags::new(vec!["%image%-latest".into()])
            .validate(&["app", "worker"])
            .is_ok());
        let e = CustomTags::new(vec!["%nope%".into()])
            .validate(&["app"])
            .expect_err("unknown function");
        assert!(
            e.contains("invalid custom tag \"%nope%\"") && e.contains("nope"),
            "{e}"
        );
    }
}
