//! `davit config render | list | graph`.

use std::io::Write;

use anyhow::{bail, Context};
use davit_config::graph;
use davit_config::project::{self, Mode, ProjectOptions};

use crate::cli::{ConfigCommand, GraphFormat, ProjectArgs};

fn options(p: &ProjectArgs) -> ProjectOptions {
    let mut o = ProjectOptions::new(project::resolve_dir(p.dir.as_deref()));
    o.git_work_tree = p.git_work_tree.clone();
    o.config = p.config.clone();
    o.templates_dir = p.config_templates_dir.clone();
    o.giterminism_config = p.giterminism_config.clone();
    o.env = p.env.clone();
    o.mode = if p.loose_giterminism {
        Mode::Loose
    } else if p.dev {
        Mode::Dev
    } else {
        Mode::Giterministic
    };
    // --dev-ignore values also come from WERF_DEV_IGNORE_* (sorted), env first.
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("WERF_DEV_IGNORE_"))
        .collect();
    env.sort();
    o.dev_ignore = env
        .into_iter()
        .map(|(_, v)| v)
        .chain(p.dev_ignore.iter().cloned())
        .collect();
    o.debug_templates = p.debug_templates;
    o
}

pub fn run(cmd: ConfigCommand) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cmd {
        ConfigCommand::Render { images, project } => {
            let rendered = project::render_project(&options(&project))?;
            if images.is_empty() {
                // Print first, validate after: the text is what people need
                // to see when validation fails.
                out.write_all(rendered.rendered.as_bytes())?;
                out.flush()?;
                rendered.parse()?;
            } else {
                let loaded = rendered.parse()?;
                let mut docs = Vec::new();
                for name in &images {
                    let Some(img) = loaded.config.images.iter().find(|i| &i.name == name) else {
                        let known: Vec<&str> = loaded
                            .config
                            .images
                            .iter()
                            .map(|i| i.name.as_str())
                            .collect();
                        bail!(
                            "image {name:?} not found in {}; images: {}",
                            loaded.config_file,
                            known.join(", ")
                        );
                    };
                    docs.push(img.text.clone());
                }
                out.write_all(docs.join("---\n").as_bytes())?;
            }
        }
        ConfigCommand::List {
            final_images_only,
            project,
        } => {
            let loaded = project::load(&options(&project))?;
            for name in graph::image_names(&loaded.config, final_images_only) {
                writeln!(out, "{name}")?;
            }
        }
        ConfigCommand::Graph { output, project } => {
            let loaded = project::load(&options(&project))?;
            let nodes = graph::graph(&loaded.config);
            match output {
                GraphFormat::Yaml => out.write_all(graph::graph_yaml(&nodes).as_bytes())?,
                GraphFormat::Json => {
                    serde_json::to_writer_pretty(&mut out, &nodes).context("writing JSON")?;
                    writeln!(out)?;
                }
            }
        }
    }
    out.flush()?;
    Ok(())
}
