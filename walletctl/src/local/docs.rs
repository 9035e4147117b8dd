//! `GET /api/documentation`: a self-contained HTML page (no script, no CDN)
//! rendered from `openapi.yaml`: every route with its security, parameters and
//! their limits, request body, and every response with its headers, schema and
//! examples; then the component schemas. The YAML itself is served at
//! `/api/documentation/openapi.yaml`.

use serde_json::{Map, Value};
use std::fmt::Write as _;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Renders the page from the text of an OpenAPI document, or says why not.
pub fn render(yaml: &str) -> Result<String, String> {
    let doc: Value = serde_norway::from_str(yaml).map_err(|e| format!("not valid YAML: {e}"))?;
    let Some(root) = doc.as_object() else {
        return Err("the document is not a mapping".to_owned());
    };
    let info = root.get("info").cloned().unwrap_or(Value::Null);
    let title = str_at(&info, "title").unwrap_or("API");
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{t}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{t} <small>{v}</small></h1>\n",
        t = esc(title),
        v = esc(str_at(&info, "version").unwrap_or("")),
    );
    let _ = writeln!(
        out,
        "<p>The machine-readable contract: <a href=\"/api/documentation/openapi.yaml\">openapi.yaml</a> \
         (OpenAPI {}).</p>",
        esc(str_at(&doc, "openapi").unwrap_or("?"))
    );
    if let Some(text) = str_at(&info, "description") {
        let _ = writeln!(out, "<div class=\"desc\">{}</div>", paragraphs(text));
    }

    let paths = root.get("paths").and_then(Value::as_object);
    out.push_str("<h2>Routes</h2>\n<ul class=\"toc\">\n");
    for (path, method, op) in operations(paths) {
        let _ = writeln!(
            out,
            "<li><a href=\"#{a}\"><span class=\"m {m}\">{M}</span> <code>{p}</code></a> {s}</li>",
            a = anchor(method, path),
            m = method,
            M = method.to_uppercase(),
            p = esc(path),
            s = esc(str_at(op, "summary").unwrap_or("")),
        );
    }
    out.push_str("</ul>\n");

    if let Some(schemes) = root
        .get("components")
        .and_then(|c| c.get("securitySchemes"))
        .and_then(Value::as_object)
    {
        out.push_str("<h2>Security</h2>\n");
        for (name, scheme) in schemes {
            let scheme = resolve(&doc, scheme);
            let _ = writeln!(
                out,
                "<h3 id=\"security-{n}\">{n}</h3>\n<p>{kind} <code>{s}</code> {f}</p>",
                n = esc(name),
                kind = esc(str_at(scheme, "type").unwrap_or("")),
                s = esc(str_at(scheme, "scheme").unwrap_or("")),
                f = esc(str_at(scheme, "bearerFormat").unwrap_or("")),
            );
            if let Some(text) = str_at(scheme, "description") {
                let _ = writeln!(out, "<div class=\"desc\">{}</div>", paragraphs(text));
            }
        }
    }

    out.push_str("<h2>Operations</h2>\n");
    for (path, method, op) in operations(paths) {
        render_operation(&mut out, &doc, root, path, method, op);
    }

    if let Some(schemas) = root
        .get("components")
        .and_then(|c| c.get("schemas"))
        .and_then(Value::as_object)
    {
        out.push_str("<h2>Schemas</h2>\n");
        for (name, schema) in schemas {
            let _ = writeln!(
                out,
                "<h3 id=\"schema-{n}\">{n}</h3>\n<pre>{j}</pre>",
                n = esc(name),
                j = esc(&pretty(schema)),
            );
        }
    }
    out.push_str("</body>\n</html>\n");
    Ok(out)
}

fn render_operation(
    out: &mut String,
    doc: &Value,
    root: &Map<String, Value>,
    path: &str,
    method: &str,
    op: &Value,
) {
    let _ = writeln!(
        out,
        "<section class=\"op\" id=\"{a}\">\n<h3><span class=\"m {m}\">{M}</span> <code>{p}</code></h3>",
        a = anchor(method, path),
        m = method,
        M = method.to_uppercase(),
        p = esc(path),
    );
    if let Some(text) = str_at(op, "summary") {
        let _ = writeln!(out, "<p><strong>{}</strong></p>", esc(text));
    }
    if let Some(text) = str_at(op, "description") {
        let _ = writeln!(out, "<div class=\"desc\">{}</div>", paragraphs(text));
    }
    let security = op.get("security").or_else(|| root.get("security"));
    let names: Vec<String> = security
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|m| m.keys().cloned())
        .collect();
    let _ = writeln!(
        out,
        "<p>Security: {}</p>",
        if names.is_empty() {
            "none".to_owned()
        } else {
            names
                .iter()
                .map(|n| format!("<a href=\"#security-{0}\">{0}</a>", esc(n)))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );

    let params: Vec<&Value> = op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| resolve(doc, p))
        .collect();
    if !params.is_empty() {
        out.push_str(
            "<h4>Parameters</h4>\n<table>\n<tr><th>name</th><th>in</th><th>required</th>\
             <th>schema</th><th>description</th></tr>\n",
        );
        for p in params {
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                esc(str_at(p, "name").unwrap_or("")),
                esc(str_at(p, "in").unwrap_or("")),
                if p.get("required").and_then(Value::as_bool) == Some(true) {
                    "yes"
                } else {
                    "no"
                },
                esc(&compact(p.get("schema").unwrap_or(&Value::Null))),
                paragraphs(str_at(p, "description").unwrap_or("")),
            );
        }
        out.push_str("</table>\n");
    }

    if let Some(body) = op.get("requestBody").map(|b| resolve(doc, b)) {
        let required = body.get("required").and_then(Value::as_bool) == Some(true);
        let _ = writeln!(
            out,
            "<h4>Request body ({})</h4>",
            if required { "required" } else { "optional" }
        );
        if let Some(text) = str_at(body, "description") {
            let _ = writeln!(out, "<div class=\"desc\">{}</div>", paragraphs(text));
        }
        render_content(out, doc, body.get("content"));
    }

    if let Some(responses) = op.get("responses").and_then(Value::as_object) {
        out.push_str("<h4>Responses</h4>\n");
        for (status, response) in responses {
            let response = resolve(doc, response);
            let _ = writeln!(
                out,
                "<div class=\"resp\"><h5><span class=\"st s{c}\">{s}</span> {d}</h5>",
                c = status.chars().next().unwrap_or('x'),
                s = esc(status),
                d = esc(str_at(response, "description").unwrap_or("")),
            );
            if let Some(headers) = response.get("headers").and_then(Value::as_object) {
                out.push_str("<p>Headers:</p>\n<ul>\n");
                for (name, header) in headers {
                    let header = resolve(doc, header);
                    let _ = writeln!(
                        out,
                        "<li><code>{}</code>{}: <code>{}</code> {}</li>",
                        esc(name),
                        if header.get("required").and_then(Value::as_bool) == Some(true) {
                            " (always)"
                        } else {
                            ""
                        },
                        esc(&compact(header.get("schema").unwrap_or(&Value::Null))),
                        esc(str_at(header, "description").unwrap_or("")),
                    );
                }
                out.push_str("</ul>\n");
            }
            render_content(out, doc, response.get("content"));
            out.push_str("</div>\n");
        }
    }
    out.push_str("</section>\n");
}

fn render_content(out: &mut String, doc: &Value, content: Option<&Value>) {
    let Some(content) = content.and_then(Value::as_object) else {
        return;
    };
    for (media, body) in content {
        let _ = writeln!(out, "<p>Content: <code>{}</code></p>", esc(media));
        if let Some(schema) = body.get("schema") {
            let _ = writeln!(
                out,
                "<details><summary>schema</summary><pre>{}</pre></details>",
                esc(&pretty(schema))
            );
        }
        if let Some(example) = body.get("example") {
            let _ = writeln!(
                out,
                "<p>Example:</p>\n<pre class=\"ex\">{}</pre>",
                esc(&compact(example))
            );
        }
        if let Some(examples) = body.get("examples").and_then(Value::as_object) {
            for (name, example) in examples {
                let example = resolve(doc, example);
                let value = example.get("value").unwrap_or(&Value::Null);
                let _ = writeln!(
                    out,
                    "<p>Example <em>{}</em>:</p>\n<pre class=\"ex\">{}</pre>",
                    esc(name),
                    esc(&compact(value))
                );
            }
        }
    }
}

/// Every operation, in the document's path order, then method order.
fn operations(paths: Option<&Map<String, Value>>) -> Vec<(&str, &'static str, &Value)> {
    let mut ops = Vec::new();
    for (path, item) in paths.into_iter().flatten() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                ops.push((path.as_str(), method, op));
            }
        }
    }
    ops
}

/// Follows a local `$ref` (`#/a/b/c`), up to a few levels; anything else as is.
fn resolve<'a>(doc: &'a Value, mut value: &'a Value) -> &'a Value {
    for _ in 0..8 {
        let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
            return value;
        };
        let Some(pointer) = reference.strip_prefix('#') else {
            return value;
        };
        match doc.pointer(pointer) {
            Some(target) => value = target,
            None => return value,
        }
    }
    value
}

fn str_at<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

fn anchor(method: &str, path: &str) -> String {
    let slug: String = path
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("op-{method}{slug}")
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Escaped text, with `code` spans and blank-line paragraphs.
fn paragraphs(text: &str) -> String {
    text.split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let mut html = String::new();
            for (i, part) in esc(p.trim()).split('`').enumerate() {
                if i % 2 == 1 {
                    let _ = write!(html, "<code>{part}</code>");
                } else {
                    html.push_str(part);
                }
            }
            format!("<p>{html}</p>")
        })
        .collect()
}

pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;\
color:#222;line-height:1.45}code,pre{font-family:ui-monospace,monospace;font-size:.9em}\
pre{background:#f5f5f5;padding:.6rem;overflow-x:auto;white-space:pre-wrap}\
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.3rem .5rem;\
text-align:left;vertical-align:top}.op{border-top:2px solid #ddd;margin-top:2rem}\
.m{display:inline-block;min-width:3.5rem;text-align:center;color:#fff;border-radius:3px;\
padding:0 .3rem;font-size:.8em}.get{background:#2a7ae2}.post{background:#2e9d4f}\
.put,.patch{background:#c77c02}.delete{background:#c0392b}.st{font-family:monospace;padding:0 .3rem;\
border-radius:3px;color:#fff;background:#777}.s2{background:#2e9d4f}.s4{background:#c77c02}\
.s5{background:#c0392b}.toc{list-style:none;padding:0}small{color:#777;font-size:.5em}";

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn renders_routes_parameters_responses_and_escapes() {
        let yaml = r##"
openapi: 3.1.0
info: {title: "A <b> API", version: 1.0.0, description: "Uses `x`."}
security: [{bearerAuth: []}]
paths:
  /a/{id}:
    get:
      summary: One
      parameters:
        - $ref: '#/components/parameters/id'
      responses:
        '200':
          description: ok
          headers:
            Location: {required: true, schema: {type: string}}
          content:
            application/json:
              schema: {type: object}
              example: {message: "<hi>"}
components:
  securitySchemes:
    bearerAuth: {type: http, scheme: bearer}
  parameters:
    id: {name: id, in: path, required: true, schema: {type: integer, maximum: 9}}
"##;
        let html = render(yaml).expect("renders");
        assert!(html.contains("A &lt;b&gt; API"));
        assert!(html.contains("<code>/a/{id}</code>"));
        assert!(html.contains("&quot;maximum&quot;:9"));
        assert!(html.contains("Location"));
        assert!(html.contains("&lt;hi&gt;"));
        assert!(html.contains("<code>x</code>"));
        assert!(html.contains("href=\"#security-bearerAuth\""));
        assert!(!html.contains("<script"));
        assert!(render("- a\n- b\n").is_err());
        assert!(render(": : :").is_err());
    }
}
