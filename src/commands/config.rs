//! `davit config render | list | graph`.

use std::io::Write;

use anyhow::{bail, Context};
use davit_config::graph;
use davit_config::project::{self, LoadedProject};

use super::project_args::{prepare, Level};
use crate::cli::{ConfigCommand, GraphFormat};

fn report(loaded: &LoadedProject, lvl: Level) {
    if lvl >= Level::Verbose {
        let finals = loaded.config.images.iter().filter(|i| i.is_final).count();
        eprintln!(
            "Using {} at commit {}: {} documents, {} images ({finals} final)",
            loaded.config_file,
            loaded.commit_hash,
            loaded.config.documents.len(),
            loaded.config.images.len()
        );
    }
    if lvl >= Level::Debug {
        for img in &loaded.config.images {
            eprintln!(
                "  image {:?}: document {}, line {}",
                img.name, img.doc, img.line
            );
        }
    }
}

pub fn run(cmd: ConfigCommand) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cmd {
        ConfigCommand::Render { images, project } => {
            let (opts, lvl) = prepare(&project);
            let rendered = project::render_project(&opts)?;
            if images.is_empty() {
                // Print first, validate after: the text is what people need
                // to see when validation fails.
                out.write_all(rendered.rendered.as_bytes())?;
                out.flush()?;
                report(&rendered.parse()?, lvl);
            } else {
                let loaded = rendered.parse()?;
                report(&loaded, lvl);
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
            let (opts, lvl) = prepare(&project);
            let loaded = project::load(&opts)?;
            report(&loaded, lvl);
            for name in graph::image_names(&loaded.config, final_images_only) {
                writeln!(out, "{name}")?;
            }
        }
        ConfigCommand::Graph { output, project } => {
            let (opts, lvl) = prepare(&project);
            let loaded = project::load(&opts)?;
            report(&loaded, lvl);
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
