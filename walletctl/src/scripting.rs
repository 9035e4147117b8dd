//! Commands for the project's shell scripts (`scripts/`), so that they need no
//! YAML or JSON tool of their own: `walletctl template functions` reads what to
//! build and deploy from `template.yaml`, `walletctl json` reads values out of a
//! JSON document (e.g. the tokens `walletctl seed demo` printed).

use crate::local::template::function_builds;
use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use std::io::Read;

#[derive(clap::Subcommand)]
pub enum TemplateCommand {
    /// Every AWS::Serverless::Function with its binary, in template order:
    /// a JSON array of {"logical_id", "binary", "code_uri"}, or with --lines
    /// one "LOGICAL_ID BINARY" line each. Nothing in the template is resolved.
    Functions {
        /// The SAM template; `-` reads it from stdin.
        #[arg(long, default_value = "template.yaml")]
        template: String,
        /// One "LOGICAL_ID BINARY" line per function instead of JSON.
        #[arg(long)]
        lines: bool,
    },
}

#[derive(clap::Args)]
pub struct JsonArgs {
    /// The JSON document; `-` reads it from stdin.
    pub file: String,
    /// JSON pointers (RFC 6901), e.g. /users/0/token. Each value is printed on
    /// a line of its own: a string as is, anything else as compact JSON. A
    /// pointer with no value is an error.
    #[arg(required = true)]
    pub pointers: Vec<String>,
}

pub fn template(command: TemplateCommand) -> Result<String> {
    match command {
        TemplateCommand::Functions { template, lines } => {
            let text = read_text(&template)?;
            let builds = function_builds(&text).with_context(|| {
                let name = if template == "-" {
                    "on stdin"
                } else {
                    template.as_str()
                };
                format!("in the SAM template {name}")
            })?;
            if lines {
                Ok(builds
                    .iter()
                    .map(|b| format!("{} {}", b.logical_id, b.binary))
                    .collect::<Vec<_>>()
                    .join("\n"))
            } else {
                Ok(serde_json::to_string_pretty(&builds)?)
            }
        }
    }
}

pub fn json(args: JsonArgs) -> Result<String> {
    let text = read_text(&args.file)?;
    let doc: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", args.file))?;
    let mut out = Vec::with_capacity(args.pointers.len());
    for pointer in &args.pointers {
        if !pointer.is_empty() && !pointer.starts_with('/') {
            bail!("{pointer:?} is not a JSON pointer (it starts with /, e.g. /users/0/token)");
        }
        let value = doc
            .pointer(pointer)
            .ok_or_else(|| anyhow!("{}: no value at {pointer}", args.file))?;
        out.push(match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
    }
    Ok(out.join("\n"))
}

fn read_text(file: &str) -> Result<String> {
    if file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading stdin")?;
        Ok(text)
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {file}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_prints_strings_as_is_and_other_values_as_json() {
        let dir = std::env::temp_dir().join(format!("walletctl-json-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("seed.json");
        std::fs::write(
            &file,
            r#"{"users":[{"token":"1|abc","user_id":7,"role":"master"}],"seeded_now":true}"#,
        )
        .expect("write");
        let file = file.to_string_lossy().into_owned();
        let run = |pointers: &[&str]| {
            json(JsonArgs {
                file: file.clone(),
                pointers: pointers.iter().map(|p| (*p).to_owned()).collect(),
            })
        };
        assert_eq!(
            run(&["/users/0/token", "/users/0/user_id", "/seeded_now"]).expect("reads"),
            "1|abc\n7\ntrue"
        );
        let msg = format!("{:#}", run(&["/users/1/token"]).expect_err("no such user"));
        assert!(msg.contains("no value at /users/1/token"), "{msg}");
        assert!(run(&["users"]).is_err(), "not a pointer");
        std::fs::remove_dir_all(&dir).ok();
    }
}
