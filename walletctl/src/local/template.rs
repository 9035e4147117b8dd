//! Reads the SAM `template.yaml`: the functions (logical id, binary, timeout,
//! memory, environment), their HttpApi routes and their schedules. The template
//! is the one source of truth for what `walletctl serve` and `walletctl invoke` run.
//!
//! CloudFormation short tags (`!Ref`, `!GetAtt`, `!Sub`, ...) parse as tagged YAML
//! values; only the ones an environment variable or a setting needs are resolved,
//! for a local run:
//! - `!Ref Parameter`: the `--parameter-overrides` value, else the parameter's `Default`;
//! - `!Ref` a DynamoDB table: the local table name (`TABLE_NAME`, default `creator-wallet`);
//! - `!Ref` another resource: its logical id (as `sam local` does);
//! - `!Ref AWS::Region` and the other pseudo parameters: local values;
//! - `!Sub "...${Name}..."`: each `${Name}` resolved as a `!Ref`.

use anyhow::{anyhow, bail, Context, Result};
use serde_norway::{Mapping, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The account id the local runtime and the API Gateway events use.
pub const LOCAL_ACCOUNT_ID: &str = "123456789012";

/// What a local run substitutes for the deployment-time values.
#[derive(Debug, Clone)]
pub struct LocalSettings {
    /// The name every `!Ref` to a DynamoDB table resolves to.
    pub table_name: String,
    pub region: String,
    /// Template parameter values that replace their defaults.
    pub parameter_overrides: BTreeMap<String, String>,
}

/// One `AWS::Serverless::Function`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// The template's logical id, e.g. `WalletFunction`.
    pub logical_id: String,
    /// `Metadata.BuildProperties.Binary`, e.g. `wallet`.
    pub binary: String,
    /// `Handler` (`bootstrap` for the provided runtimes).
    pub handler: String,
    pub timeout: Duration,
    pub memory_mb: u64,
    /// `Environment.Variables` (Globals merged with the function's own), resolved.
    pub environment: BTreeMap<String, String>,
    pub routes: Vec<Route>,
    pub schedules: Vec<Schedule>,
}

/// An `HttpApi` event: `Method` and `Path` of the route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Upper case, or `ANY`.
    pub method: String,
    /// E.g. `/api/wallet/payouts/{id}`; `$default` for the catch-all route.
    pub path: String,
}

impl Route {
    #[cfg(test)]
    /// The API Gateway route key, e.g. `GET /api/wallet/payouts/{id}` or `$default`.
    pub fn key(&self) -> String {
        if self.path == "$default" {
            "$default".to_owned()
        } else {
            format!("{} {}", self.method, self.path)
        }
    }
}

/// A `Schedule` (or `ScheduleV2`) event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// The event's name in the template, e.g. `EveryMinute`.
    pub name: String,
    /// E.g. `rate(1 minute)`.
    pub expression: String,
}

#[derive(Debug, Clone)]
pub struct Template {
    /// The file it was read from.
    pub path: PathBuf,
    /// Every function, in template order.
    pub functions: Vec<Function>,
}

impl Template {
    pub fn load(path: &Path, settings: &LocalSettings) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the SAM template {}", path.display()))?;
        let mut template = Self::parse(&text, settings)
            .with_context(|| format!("in the SAM template {}", path.display()))?;
        template.path = path.to_path_buf();
        Ok(template)
    }

    pub fn parse(text: &str, settings: &LocalSettings) -> Result<Self> {
        let doc: Value = serde_norway::from_str(text).context("not valid YAML")?;
        let resolver = Resolver::new(&doc, settings)?;
        let globals = doc
            .get("Globals")
            .and_then(|g| g.get("Function"))
            .and_then(Value::as_mapping);
        let resources = doc
            .get("Resources")
            .and_then(Value::as_mapping)
            .ok_or_else(|| anyhow!("the template has no Resources"))?;
        let mut functions = Vec::new();
        for (id, resource) in resources {
            let Some(id) = plain_str(id) else { continue };
            if resource_type(resource) != Some("AWS::Serverless::Function") {
                continue;
            }
            let function = read_function(id, resource, globals, &resolver)
                .with_context(|| format!("function {id}"))?;
            functions.push(function);
        }
        Ok(Self {
            path: PathBuf::new(),
            functions,
        })
    }

    /// A function by logical id (`WalletFunction`) or binary name (`wallet`),
    /// case-insensitively.
    pub fn function(&self, name: &str) -> Option<&Function> {
        self.functions
            .iter()
            .find(|f| f.logical_id == name || f.binary == name)
            .or_else(|| {
                self.functions.iter().find(|f| {
                    f.logical_id.eq_ignore_ascii_case(name) || f.binary.eq_ignore_ascii_case(name)
                })
            })
    }

    /// The folder of the template (the project root).
    pub fn dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
}

/// A function as a build or a deploy sees it: what to build, nothing resolved.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FunctionBuild {
    /// The template's logical id, e.g. `WalletFunction`.
    pub logical_id: String,
    /// `Metadata.BuildProperties.Binary`, e.g. `wallet`: the crate and binary
    /// in `functions/<binary>/`.
    pub binary: String,
    /// `Properties.CodeUri` (else `Globals.Function.CodeUri`) when it is a
    /// plain string, e.g. `.`.
    pub code_uri: Option<String>,
}

/// Every `AWS::Serverless::Function` of a template text with its binary, in
/// template order. Unlike [`Template::parse`] it resolves no value, so it reads
/// the template of any revision whatever its parameters (the deploy decisions
/// of `scripts/changed-functions.sh` use it). A function without a usable
/// `Metadata.BuildProperties.Binary` is an error that names the function.
pub fn function_builds(text: &str) -> Result<Vec<FunctionBuild>> {
    let doc: Value = serde_norway::from_str(text).context("not valid YAML")?;
    let resources = doc
        .get("Resources")
        .and_then(Value::as_mapping)
        .ok_or_else(|| anyhow!("the template has no Resources"))?;
    let global_code_uri = doc
        .get("Globals")
        .and_then(|g| g.get("Function"))
        .and_then(|f| f.get("CodeUri"));
    let mut builds = Vec::new();
    for (id, resource) in resources {
        let Some(id) = plain_str(id) else { continue };
        if resource_type(resource) != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = resource
            .get("Metadata")
            .and_then(|m| m.get("BuildProperties"))
            .and_then(|b| b.get("Binary"))
            .and_then(plain_str)
            .unwrap_or_default();
        if !is_binary_name(binary) {
            let shown = if binary.is_empty() {
                "missing".to_owned()
            } else {
                format!("{binary:?}")
            };
            bail!(
                "{id} is a function, but its Metadata.BuildProperties.Binary is {shown}: \
                 cannot tell what to build"
            );
        }
        let code_uri = resource
            .get("Properties")
            .and_then(|p| p.get("CodeUri"))
            .or(global_code_uri)
            .and_then(plain_str)
            .map(str::to_owned);
        builds.push(FunctionBuild {
            logical_id: id.to_owned(),
            binary: binary.to_owned(),
            code_uri,
        });
    }
    Ok(builds)
}

/// A crate / binary name: `[A-Za-z0-9_][A-Za-z0-9_-]*`.
fn is_binary_name(name: &str) -> bool {
    !name.starts_with('-')
        && !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn read_function(
    id: &str,
    resource: &Value,
    globals: Option<&Mapping>,
    resolver: &Resolver<'_>,
) -> Result<Function> {
    let props = resource.get("Properties").and_then(Value::as_mapping);
    // A function setting, else the Globals one.
    let setting = |name: &str| -> Option<&Value> {
        props
            .and_then(|p| p.get(name))
            .or_else(|| globals.and_then(|g| g.get(name)))
    };
    let binary = resource
        .get("Metadata")
        .and_then(|m| m.get("BuildProperties"))
        .and_then(|b| b.get("Binary"))
        .and_then(plain_str)
        .ok_or_else(|| anyhow!("no Metadata.BuildProperties.Binary"))?
        .to_owned();
    let handler = match setting("Handler") {
        Some(v) => resolver.resolve(v).context("Handler")?,
        None => "bootstrap".to_owned(),
    };
    let timeout = match setting("Timeout") {
        Some(v) => positive_number(&resolver.resolve(v)?).context("Timeout")?,
        None => 3, // the Lambda default
    };
    let memory_mb = match setting("MemorySize") {
        Some(v) => positive_number(&resolver.resolve(v)?).context("MemorySize")?,
        None => 128,
    };

    let mut environment = BTreeMap::new();
    let variables = |m: Option<&Mapping>| {
        m.and_then(|m| m.get("Environment"))
            .and_then(|e| e.get("Variables"))
            .and_then(Value::as_mapping)
            .cloned()
    };
    // Globals first, the function's own variables replace them (SAM merges the maps).
    for vars in [variables(globals), variables(props)].into_iter().flatten() {
        for (name, value) in &vars {
            let name = plain_str(name).ok_or_else(|| anyhow!("an environment variable name"))?;
            let value = resolver
                .resolve(value)
                .with_context(|| format!("environment variable {name}"))?;
            environment.insert(name.to_owned(), value);
        }
    }

    let mut routes = Vec::new();
    let mut schedules = Vec::new();
    if let Some(events) = props
        .and_then(|p| p.get("Events"))
        .and_then(Value::as_mapping)
    {
        for (event_name, event) in events {
            let event_name = plain_str(event_name).unwrap_or_default();
            let event_props = event.get("Properties");
            match event.get("Type").and_then(plain_str) {
                Some("HttpApi") => {
                    let path = match event_props.and_then(|p| p.get("Path")) {
                        Some(v) => resolver.resolve(v)?,
                        None => "$default".to_owned(),
                    };
                    let method = match event_props.and_then(|p| p.get("Method")) {
                        Some(v) => resolver.resolve(v)?.to_ascii_uppercase(),
                        None => "ANY".to_owned(),
                    };
                    let method = if method == "*" {
                        "ANY".to_owned()
                    } else {
                        method
                    };
                    if path != "$default" && !path.starts_with('/') {
                        bail!("event {event_name}: the Path {path:?} must start with /");
                    }
                    routes.push(Route { method, path });
                }
                Some(kind @ ("Schedule" | "ScheduleV2")) => {
                    let field = if kind == "Schedule" {
                        "Schedule"
                    } else {
                        "ScheduleExpression"
                    };
                    let enabled = event_props
                        .and_then(|p| p.get("Enabled"))
                        .and_then(Value::as_bool)
                        .unwrap_or(true)
                        && event_props
                            .and_then(|p| p.get("State"))
                            .and_then(plain_str)
                            .is_none_or(|s| s != "DISABLED");
                    let expression = event_props
                        .and_then(|p| p.get(field))
                        .ok_or_else(|| anyhow!("event {event_name}: no {field}"))?;
                    if enabled {
                        schedules.push(Schedule {
                            name: event_name.to_owned(),
                            expression: resolver.resolve(expression)?,
                        });
                    }
                }
                _ => {}
            }
        }
    }

    Ok(Function {
        logical_id: id.to_owned(),
        binary,
        handler,
        timeout: Duration::from_secs(timeout),
        memory_mb,
        environment,
        routes,
        schedules,
    })
}

fn positive_number(text: &str) -> Result<u64> {
    match text.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => bail!("must be a positive integer, not {text:?}"),
    }
}

fn resource_type(resource: &Value) -> Option<&str> {
    resource.get("Type").and_then(plain_str)
}

/// A string that is not behind a tag (`Value::as_str` looks through tags, so
/// `!Ref Table` would read as `"Table"`).
fn plain_str(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => Some(s),
        _ => None,
    }
}

/// Resolves setting values: scalars, `!Ref`/`Ref`, `!Sub`/`Fn::Sub`.
struct Resolver<'a> {
    parameters: Option<&'a Mapping>,
    resources: Option<&'a Mapping>,
    settings: &'a LocalSettings,
}

impl<'a> Resolver<'a> {
    fn new(doc: &'a Value, settings: &'a LocalSettings) -> Result<Self> {
        let parameters = doc.get("Parameters").and_then(Value::as_mapping);
        for name in settings.parameter_overrides.keys() {
            if parameters.and_then(|p| p.get(name.as_str())).is_none() {
                bail!("--parameter-overrides names {name:?}, which is not a template parameter");
            }
        }
        Ok(Self {
            parameters,
            resources: doc.get("Resources").and_then(Value::as_mapping),
            settings,
        })
    }

    fn resolve(&self, value: &Value) -> Result<String> {
        match value {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Tagged(tagged) => {
                let inner = &tagged.value;
                if tagged.tag == "Ref" {
                    let name = plain_str(inner).ok_or_else(|| anyhow!("!Ref needs a name"))?;
                    self.reference(name)
                } else if tagged.tag == "Sub" {
                    let text = plain_str(inner)
                        .ok_or_else(|| anyhow!("only the one-string form of !Sub is supported"))?;
                    self.substitute(text)
                } else {
                    bail!("{} cannot be resolved for a local run", tagged.tag)
                }
            }
            Value::Mapping(m) if m.len() == 1 => {
                if let Some(name) = m.get("Ref").and_then(plain_str) {
                    self.reference(name)
                } else if let Some(text) = m.get("Fn::Sub").and_then(plain_str) {
                    self.substitute(text)
                } else {
                    bail!("this intrinsic function cannot be resolved for a local run")
                }
            }
            Value::Null => Ok(String::new()),
            _ => bail!("expected a scalar value"),
        }
    }

    fn reference(&self, name: &str) -> Result<String> {
        match name {
            "AWS::Region" => return Ok(self.settings.region.clone()),
            "AWS::AccountId" => return Ok(LOCAL_ACCOUNT_ID.to_owned()),
            "AWS::StackName" => return Ok("local".to_owned()),
            "AWS::Partition" => return Ok("aws".to_owned()),
            "AWS::URLSuffix" => return Ok("amazonaws.com".to_owned()),
            "AWS::NoValue" => return Ok(String::new()),
            _ => {}
        }
        if let Some(param) = self.parameters.and_then(|p| p.get(name)) {
            if let Some(value) = self.settings.parameter_overrides.get(name) {
                return Ok(value.clone());
            }
            return match param.get("Default") {
                Some(default) => self.resolve(default),
                None => bail!("parameter {name} has no Default; give it with --parameter-overrides {name}=VALUE"),
            };
        }
        match self.resources.and_then(|r| r.get(name)) {
            Some(resource) if resource_type(resource) == Some("AWS::DynamoDB::Table") => {
                Ok(self.settings.table_name.clone())
            }
            Some(_) => Ok(name.to_owned()),
            None => bail!("!Ref {name}: no such parameter or resource"),
        }
    }

    /// `${Name}` -> `!Ref Name`; `${!Literal}` -> `${Literal}`; `${A.B}` is refused.
    fn substitute(&self, text: &str) -> Result<String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            let (before, after) = rest.split_at(start);
            out.push_str(before);
            let after = after.get(2..).unwrap_or_default();
            let end = after
                .find('}')
                .ok_or_else(|| anyhow!("!Sub {text:?}: unclosed ${{"))?;
            let (name, tail) = after.split_at(end);
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if name.contains('.') {
                bail!(
                    "!Sub {text:?}: ${{{name}}} (an attribute) cannot be resolved for a local run"
                );
            } else {
                out.push_str(&self.reference(name.trim())?);
            }
            rest = tail.get(1..).unwrap_or_default();
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> LocalSettings {
        LocalSettings {
            table_name: "local-table".to_owned(),
            region: "eu-west-1".to_owned(),
            parameter_overrides: BTreeMap::new(),
        }
    }

    fn project_template() -> Template {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
        Template::load(&path, &settings()).expect("the project's template.yaml loads")
    }

    #[test]
    fn the_project_template_lists_every_function_with_its_binary() {
        let t = project_template();
        let mut pairs: Vec<(&str, &str)> = t
            .functions
            .iter()
            .map(|f| (f.logical_id.as_str(), f.binary.as_str()))
            .collect();
        pairs.sort_unstable();
        for expected in [
            ("AffiliateFunction", "affiliate"),
            ("CashoutFunction", "cashout"),
            ("LedgerFunction", "ledger"),
            ("PayoutAdminFunction", "payout-admin"),
            ("PayoutsFunction", "payouts"),
            ("ReleaseHoldsFunction", "release-holds"),
            ("WalletFunction", "wallet"),
        ] {
            assert!(pairs.contains(&expected), "{expected:?} in {pairs:?}");
        }
        assert_eq!(
            t.function("wallet").map(|f| f.logical_id.as_str()),
            Some("WalletFunction")
        );
        assert_eq!(
            t.function("WalletFunction").map(|f| f.binary.as_str()),
            Some("wallet")
        );
        assert_eq!(
            t.function("payout-admin").map(|f| f.logical_id.as_str()),
            Some("PayoutAdminFunction")
        );
        assert!(t.function("nope").is_none());
    }

    #[test]
    fn the_project_template_routes_are_read_from_http_api_events() {
        let t = project_template();
        let mut keys: Vec<(String, String)> = t
            .functions
            .iter()
            .flat_map(|f| f.routes.iter().map(|r| (r.key(), f.binary.clone())))
            .collect();
        keys.sort();
        for expected in [
            ("GET /api/wallet", "wallet"),
            ("GET /api/wallet/affiliate", "affiliate"),
            ("POST /api/wallet/cashout", "cashout"),
            ("GET /api/wallet/payouts", "payouts"),
            ("GET /api/wallet/payouts/{id}", "payouts"),
        ] {
            assert!(
                keys.contains(&(expected.0.to_owned(), expected.1.to_owned())),
                "{expected:?} in {keys:?}"
            );
        }
        // Internal functions have no route.
        for internal in ["ledger", "release-holds", "payout-admin"] {
            let f = t.function(internal).expect("internal function");
            assert!(f.routes.is_empty(), "{internal} has no route");
        }
    }

    #[test]
    fn the_project_template_environment_timeouts_and_schedule() {
        let t = project_template();
        let wallet = t.function("wallet").expect("wallet");
        assert_eq!(
            wallet.environment.get("TABLE_NAME").map(String::as_str),
            Some("local-table"),
            "!Ref Table becomes the local table name"
        );
        assert_eq!(
            wallet.environment.get("HOLD_SECONDS").map(String::as_str),
            Some("3600")
        );
        assert_eq!(
            wallet
                .environment
                .get("MIN_CASHOUT_USD")
                .map(String::as_str),
            Some("1")
        );
        assert_eq!(
            wallet.environment.get("RUST_LOG").map(String::as_str),
            Some("info")
        );
        assert_eq!(wallet.timeout, Duration::from_secs(10), "Globals Timeout");
        assert_eq!(wallet.memory_mb, 128);
        assert_eq!(wallet.handler, "bootstrap");
        assert_eq!(
            t.function("ledger").map(|f| f.timeout),
            Some(Duration::from_secs(30)),
            "a function's own Timeout wins over Globals"
        );
        let release = t.function("release-holds").expect("release-holds");
        assert_eq!(release.timeout, Duration::from_secs(60));
        assert_eq!(
            release.schedules,
            vec![Schedule {
                name: "EveryMinute".to_owned(),
                expression: "rate(1 minute)".to_owned()
            }]
        );
        assert!(wallet.schedules.is_empty());
    }

    #[test]
    fn parameter_overrides_replace_defaults_and_unknown_ones_are_refused() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
        let mut s = settings();
        s.parameter_overrides
            .insert("HoldSeconds".to_owned(), "0".to_owned());
        let t = Template::load(&path, &s).expect("loads");
        assert_eq!(
            t.function("cashout")
                .and_then(|f| f.environment.get("HOLD_SECONDS"))
                .map(String::as_str),
            Some("0")
        );
        s.parameter_overrides
            .insert("NoSuchParameter".to_owned(), "1".to_owned());
        let err = Template::load(&path, &s).expect_err("unknown parameter");
        assert!(format!("{err:#}").contains("NoSuchParameter"), "{err:#}");
    }

    const SMALL: &str = r#"
Parameters:
  Stage:
    Type: String
    Default: dev
  NoDefault:
    Type: String
Globals:
  Function:
    Timeout: 5
    Environment:
      Variables:
        A: global
        B: global
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt Dlq.Arn
  Fn:
    Type: AWS::Serverless::Function
    Metadata:
      BuildProperties:
        Binary: fn
    Properties:
      MemorySize: 256
      Policies:
        - Statement:
            Resource: !Sub "${Queue.Arn}/x"
      Environment:
        Variables:
          B: !Ref Stage
          C: !Sub "https://${AWS::Region}.example/${Stage}/${!Literal}"
          D: !Ref Queue
          E: { "Ref": "Stage" }
          F: 42
      Events:
        Any:
          Type: HttpApi
        Proxy:
          Type: HttpApi
          Properties:
            Method: any
            Path: /files/{proxy+}
        Off:
          Type: Schedule
          Properties:
            Schedule: rate(5 minutes)
            Enabled: false
        On:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: rate(2 hours)
Outputs:
  Url:
    Value: !Sub "https://${Fn}.example"
"#;

    #[test]
    fn short_tags_parse_and_resolve() {
        let t = Template::parse(SMALL, &settings()).expect("parses");
        let f = t.function("fn").expect("fn");
        let env = |k: &str| f.environment.get(k).map(String::as_str);
        assert_eq!(env("A"), Some("global"));
        assert_eq!(env("B"), Some("dev"), "the function's variable wins");
        assert_eq!(env("C"), Some("https://eu-west-1.example/dev/${Literal}"));
        assert_eq!(env("D"), Some("Queue"), "other resources: their logical id");
        assert_eq!(env("E"), Some("dev"), "long form Ref");
        assert_eq!(env("F"), Some("42"));
        assert_eq!(f.timeout, Duration::from_secs(5));
        assert_eq!(f.memory_mb, 256);
        assert_eq!(
            f.routes,
            vec![
                Route {
                    method: "ANY".to_owned(),
                    path: "$default".to_owned()
                },
                Route {
                    method: "ANY".to_owned(),
                    path: "/files/{proxy+}".to_owned()
                },
            ]
        );
        assert_eq!(
            f.routes.first().map(Route::key).as_deref(),
            Some("$default")
        );
        assert_eq!(
            f.schedules,
            vec![Schedule {
                name: "On".to_owned(),
                expression: "rate(2 hours)".to_owned()
            }],
            "a disabled schedule is left out"
        );
    }

    #[test]
    fn unresolvable_environment_values_are_refused_clearly() {
        let bad = SMALL.replace("F: 42", "F: !GetAtt Queue.Arn");
        let err = Template::parse(&bad, &settings()).expect_err("GetAtt in env");
        let msg = format!("{err:#}");
        assert!(msg.contains("GetAtt") && msg.contains("F"), "{msg}");

        let bad = SMALL.replace("F: 42", "F: !Ref NoDefault");
        let msg = format!(
            "{:#}",
            Template::parse(&bad, &settings()).expect_err("no default")
        );
        assert!(msg.contains("NoDefault has no Default"), "{msg}");

        let bad = SMALL.replace("F: 42", "F: !Ref Missing");
        let msg = format!(
            "{:#}",
            Template::parse(&bad, &settings()).expect_err("missing")
        );
        assert!(msg.contains("no such parameter or resource"), "{msg}");
    }

    /// Every `AWS::Serverless::Function` with its binary, read by the light
    /// reader: the same list, in the same order, as the full reader's.
    #[test]
    fn function_builds_agree_with_the_full_reader_on_the_project_template() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
        let text = std::fs::read_to_string(&path).expect("template.yaml");
        let builds = function_builds(&text).expect("reads");
        let full: Vec<(String, String)> = project_template()
            .functions
            .into_iter()
            .map(|f| (f.logical_id, f.binary))
            .collect();
        let light: Vec<(String, String)> = builds
            .iter()
            .map(|b| (b.logical_id.clone(), b.binary.clone()))
            .collect();
        assert_eq!(light, full);
        assert!(builds.iter().any(|b| b.logical_id == "WalletFunction"
            && b.binary == "wallet"
            && b.code_uri.as_deref() == Some(".")));
    }

    /// Quotes, comments, tags the full reader cannot resolve, block scalars,
    /// lists and other resources that look like functions.
    const ODD: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Description: >
  Resources:
    Fake:
      Type: AWS::Serverless::Function
Resources:
  # a comment
  AlphaFunction:
    Type: "AWS::Serverless::Function"   # quoted, with a comment
    Metadata:
      BuildProperties:
        Binary: 'alpha'
    Properties:
      CodeUri: .
      Description: |
        Binary: not-this
      Environment:
        Variables:
          ARN: !GetAtt Table.Arn
  Table:
    Type: AWS::DynamoDB::Table
    Metadata:
      BuildProperties:
        Binary: not-a-function
  "BetaFunction":
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - Statement:
            - Effect: Allow
              Resource: !Sub "${Table.Arn}/index/*"
    Metadata:
      BuildProperties:
        Binary: beta-two # trailing comment
Outputs:
  Resources:
    Value: !Ref Table
"#;

    #[test]
    fn function_builds_read_odd_but_valid_yaml_without_resolving() {
        let builds = function_builds(ODD).expect("reads");
        assert_eq!(
            builds,
            vec![
                FunctionBuild {
                    logical_id: "AlphaFunction".to_owned(),
                    binary: "alpha".to_owned(),
                    code_uri: Some(".".to_owned()),
                },
                FunctionBuild {
                    logical_id: "BetaFunction".to_owned(),
                    binary: "beta-two".to_owned(),
                    code_uri: None,
                },
            ]
        );
    }

    #[test]
    fn function_builds_refuse_a_function_without_a_usable_binary() {
        let missing = ODD.replace("        Binary: 'alpha'\n", "        Other: x\n");
        let msg = format!("{:#}", function_builds(&missing).expect_err("no Binary"));
        assert!(
            msg.contains("AlphaFunction") && msg.contains("missing"),
            "{msg}"
        );
        let bad = ODD.replace("Binary: 'alpha'", "Binary: '../alpha'");
        let msg = format!("{:#}", function_builds(&bad).expect_err("bad Binary"));
        assert!(msg.contains("AlphaFunction"), "{msg}");
        let msg = format!("{:#}", function_builds("a: [").expect_err("not YAML"));
        assert!(msg.contains("not valid YAML"), "{msg}");
    }
}
