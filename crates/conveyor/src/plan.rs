//! Which images to build and in what order: the selected images with
//! everything they depend on, grouped into sets that can build at once.

use std::collections::HashMap;

use davit_config::parse::{ImageDoc, WerfConfig};

use super::BuildError;

/// Images in an order where every image comes after its dependencies.
pub fn build_order<'c>(
    config: &'c WerfConfig,
    selected: &[String],
) -> Result<Vec<&'c ImageDoc>, BuildError> {
    let by_name: HashMap<&str, &ImageDoc> =
        config.images.iter().map(|i| (i.name.as_str(), i)).collect();
    for name in selected {
        if !by_name.contains_key(name.as_str()) {
            return Err(BuildError::Config {
                image: name.clone(),
                message: "no such image in werf.yaml".into(),
            });
        }
    }
    let roots: Vec<&ImageDoc> = if selected.is_empty() {
        config.images.iter().collect()
    } else {
        selected.iter().map(|n| by_name[n.as_str()]).collect()
    };
    let mut order = Vec::new();
    let mut state: HashMap<&str, bool> = HashMap::new(); // false: visiting, true: done
    fn visit<'c>(
        img: &'c ImageDoc,
        by_name: &HashMap<&str, &'c ImageDoc>,
        state: &mut HashMap<&'c str, bool>,
        order: &mut Vec<&'c ImageDoc>,
    ) -> Result<(), BuildError> {
        match state.get(img.name.as_str()) {
            Some(true) => return Ok(()),
            Some(false) => {
                return Err(BuildError::Config {
                    image: img.name.clone(),
                    message: "dependency cycle".into(),
                })
            }
            None => {}
        }
        state.insert(&img.name, false);
        for dep in img.depends_on.all() {
            if let Some(d) = by_name.get(dep.as_str()) {
                visit(d, by_name, state, order)?;
            }
        }
        state.insert(&img.name, true);
        order.push(img);
        Ok(())
    }
    for r in roots {
        visit(r, &by_name, &mut state, &mut order)?;
    }
    Ok(order)
}

/// The images to build (the selected ones and everything they depend on)
/// in sets: every image's dependencies are in earlier sets, so the images
/// of one set can build at the same time. Inside a set, config order.
pub fn independent_sets<'c>(
    config: &'c WerfConfig,
    selected: &[String],
) -> Result<Vec<Vec<&'c ImageDoc>>, BuildError> {
    let order = build_order(config, selected)?;
    let names: std::collections::HashSet<&str> = order.iter().map(|i| i.name.as_str()).collect();
    let mut level: HashMap<&str, usize> = HashMap::new();
    // `order` has dependencies first, so each level is known when needed.
    for img in &order {
        let l = img
            .depends_on
            .all()
            .filter(|d| names.contains(d.as_str()))
            .filter_map(|d| level.get(d.as_str()))
            .map(|l| l + 1)
            .max()
            .unwrap_or(0);
        level.insert(&img.name, l);
    }
    let depth = level.values().max().map_or(0, |m| m + 1);
    let mut sets: Vec<Vec<&ImageDoc>> = vec![Vec::new(); depth];
    for img in &config.images {
        if let Some(l) = level.get(img.name.as_str()) {
            sets[*l].push(img);
        }
    }
    Ok(sets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> WerfConfig {
        davit_config::parse::parse("werf.yaml", text).expect("valid config")
    }

    fn names(sets: &[Vec<&ImageDoc>]) -> Vec<Vec<String>> {
        sets.iter()
            .map(|s| s.iter().map(|i| i.name.clone()).collect())
            .collect()
    }

    const DIAMOND: &str = "project: p\nconfigVersion: 1\n---\nimage: app\ndockerfile: Dockerfile\ndependencies:\n- image: lib\n- image: tools\n---\nimage: tools\ndockerfile: Dockerfile\n---\nimage: lib\ndockerfile: Dockerfile\ndependencies:\n- image: base\n---\nimage: base\ndockerfile: Dockerfile\n---\nimage: other\ndockerfile: Dockerfile\n";

    #[test]
    fn sets_put_dependencies_first_in_config_order() {
        let cfg = config(DIAMOND);
        let sets = independent_sets(&cfg, &[]).expect("sets");
        assert_eq!(
            names(&sets),
            [vec!["tools", "base", "other"], vec!["lib"], vec!["app"]]
        );
    }

    #[test]
    fn selection_pulls_in_dependencies_only() {
        let cfg = config(DIAMOND);
        let sets = independent_sets(&cfg, &["lib".to_string()]).expect("sets");
        assert_eq!(names(&sets), [vec!["base"], vec!["lib"]]);
        let err = independent_sets(&cfg, &["nope".to_string()]).expect_err("unknown image");
        assert!(err.to_string().contains("no such image"), "{err}");
    }
}
