//! The routes of an HTTP API: `METHOD /path/{param}/{greedy+}` and `$default`,
//! matched as API Gateway does (the most specific route wins).

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `{name}`: one non-empty segment.
    Param(String),
    /// `{name+}`: the rest of the path (at least one segment).
    Greedy(String),
}

#[derive(Debug, Clone)]
struct Entry<T> {
    method: String,
    /// `None` for `$default`.
    segments: Option<Vec<Segment>>,
    key: String,
    target: T,
}

/// The routes of an HTTP API.
#[derive(Debug, Clone)]
pub struct Router<T> {
    entries: Vec<Entry<T>>,
}

/// A matched route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch<'a, T> {
    /// E.g. `GET /api/wallet/payouts/{id}`.
    pub route_key: &'a str,
    pub target: &'a T,
    /// Path variables, percent-decoded.
    pub path_parameters: Vec<(String, String)>,
}

impl<T> Default for Router<T> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<T> Router<T> {
    /// Adds a route (`method` upper case or `ANY`, `path` like `/a/{id}` or
    /// `$default`). A route key given twice is refused, as API Gateway does.
    pub fn add(&mut self, method: &str, path: &str, target: T) -> Result<(), String> {
        let method = method.to_ascii_uppercase();
        let (segments, key) = if path == "$default" {
            (None, "$default".to_owned())
        } else {
            let segments = parse_path(path)?;
            (Some(segments), format!("{method} {path}"))
        };
        if self.entries.iter().any(|e| e.key == key) {
            return Err(format!("the route {key} is defined twice"));
        }
        self.entries.push(Entry {
            method,
            segments,
            key,
            target,
        });
        Ok(())
    }

    pub fn keys(&self) -> impl Iterator<Item = (&str, &T)> {
        self.entries.iter().map(|e| (e.key.as_str(), &e.target))
    }

    /// The most specific route for `method` and the raw (percent-encoded) `path`:
    /// literal segments beat path variables, variables beat a greedy `{x+}`,
    /// an exact method beats `ANY`, and `$default` comes last.
    pub fn find(&self, method: &str, path: &str) -> Option<RouteMatch<'_, T>> {
        let parts: Vec<&str> = match path.strip_prefix('/') {
            Some(rest) => rest.split('/').collect(),
            None => return None,
        };
        let mut best: Option<((u8, usize, u8), RouteMatch<'_, T>)> = None;
        for entry in &self.entries {
            let method_rank = if entry.method == method {
                1
            } else if entry.method == "ANY" {
                0
            } else {
                continue;
            };
            let (rank, params) = match &entry.segments {
                None => ((0, 0, method_rank), Vec::new()),
                Some(segments) => match match_segments(segments, &parts) {
                    Some((literals, greedy, params)) => {
                        ((if greedy { 1 } else { 2 }, literals, method_rank), params)
                    }
                    None => continue,
                },
            };
            if best.as_ref().is_none_or(|(r, _)| rank > *r) {
                best = Some((
                    rank,
                    RouteMatch {
                        route_key: &entry.key,
                        target: &entry.target,
                        path_parameters: params,
                    },
                ));
            }
        }
        best.map(|(_, m)| m)
    }
}

fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!("the route path {path:?} must start with /"));
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let last = parts.len().saturating_sub(1);
    parts
        .iter()
        .enumerate()
        .map(
            |(i, part)| match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) => match name.strip_suffix('+') {
                    Some(greedy) if i == last && !greedy.is_empty() => {
                        Ok(Segment::Greedy(greedy.to_owned()))
                    }
                    Some(_) => Err(format!(
                        "in {path:?} a greedy variable must be the last segment"
                    )),
                    None if !name.is_empty() => Ok(Segment::Param(name.to_owned())),
                    None => Err(format!("in {path:?} a path variable has no name")),
                },
                None => Ok(Segment::Literal((*part).to_owned())),
            },
        )
        .collect()
}

/// Path variables: name and percent-decoded value.
type Params = Vec<(String, String)>;

/// `(literal segments, greedy, parameters)` when `parts` match.
fn match_segments(segments: &[Segment], parts: &[&str]) -> Option<(usize, bool, Params)> {
    let mut params = Vec::new();
    let mut literals = 0;
    for (i, segment) in segments.iter().enumerate() {
        match segment {
            Segment::Greedy(name) => {
                let rest = parts.get(i..).filter(|r| !r.is_empty())?;
                let joined = rest.join("/");
                if joined.is_empty() {
                    return None;
                }
                params.push((name.clone(), super::percent_decode(&joined)));
                return Some((literals, true, params));
            }
            Segment::Literal(text) => {
                if parts.get(i) != Some(&text.as_str()) {
                    return None;
                }
                literals += 1;
            }
            Segment::Param(name) => {
                let part = parts.get(i).filter(|p| !p.is_empty())?;
                params.push((name.clone(), super::percent_decode(part)));
            }
        }
    }
    (parts.len() == segments.len()).then_some((literals, false, params))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn router() -> Router<&'static str> {
        let mut r = Router::default();
        r.add("GET", "/api/wallet", "wallet").expect("add");
        r.add("GET", "/api/wallet/affiliate", "affiliate")
            .expect("add");
        r.add("POST", "/api/wallet/cashout", "cashout")
            .expect("add");
        r.add("GET", "/api/wallet/payouts", "payouts").expect("add");
        r.add("GET", "/api/wallet/payouts/{id}", "payouts")
            .expect("add");
        r
    }

    #[test]
    fn routes_match_exactly_and_with_path_variables() {
        let r = router();
        let m = r.find("GET", "/api/wallet").expect("wallet");
        assert_eq!((m.route_key, *m.target), ("GET /api/wallet", "wallet"));
        assert!(m.path_parameters.is_empty());

        let m = r.find("GET", "/api/wallet/payouts/42").expect("by id");
        assert_eq!(m.route_key, "GET /api/wallet/payouts/{id}");
        assert_eq!(m.path_parameters, vec![("id".to_owned(), "42".to_owned())]);

        let m = r.find("GET", "/api/wallet/payouts").expect("list");
        assert_eq!(m.route_key, "GET /api/wallet/payouts");

        let m = r.find("GET", "/api/wallet/payouts/a%20b").expect("decoded");
        assert_eq!(m.path_parameters, vec![("id".to_owned(), "a b".to_owned())]);

        for (method, path) in [
            ("POST", "/api/wallet"),
            ("GET", "/api/wallet/cashout"),
            ("GET", "/api/wallet/"),
            ("GET", "/api/wallet/payouts/"),
            ("GET", "/api/wallet/payouts/1/2"),
            ("GET", "/api"),
            ("GET", "/"),
            ("GET", "/api/Wallet"),
            ("GET", "api/wallet"),
        ] {
            assert!(r.find(method, path).is_none(), "{method} {path}");
        }
    }

    #[test]
    fn the_most_specific_route_wins() {
        let mut r = Router::default();
        r.add("ANY", "$default", "default").expect("add");
        r.add("ANY", "/files/{proxy+}", "greedy").expect("add");
        r.add("GET", "/files/{name}", "param").expect("add");
        r.add("ANY", "/files/readme", "any-literal").expect("add");
        r.add("GET", "/files/readme", "get-literal").expect("add");
        assert_eq!(
            r.find("GET", "/files/readme").map(|m| *m.target),
            Some("get-literal")
        );
        assert_eq!(
            r.find("PUT", "/files/readme").map(|m| *m.target),
            Some("any-literal")
        );
        assert_eq!(r.find("GET", "/files/x").map(|m| *m.target), Some("param"));
        let m = r.find("PUT", "/files/a/b%2Fc").expect("greedy");
        assert_eq!(*m.target, "greedy");
        assert_eq!(
            m.path_parameters,
            vec![("proxy".to_owned(), "a/b/c".to_owned())]
        );
        assert_eq!(
            r.find("DELETE", "/other").map(|m| *m.target),
            Some("default")
        );
        assert_eq!(r.find("GET", "/files").map(|m| *m.target), Some("default"));
        assert!(
            r.add("GET", "/files/readme", "again").is_err(),
            "duplicate route key"
        );
        assert!(r.add("GET", "/a/{x+}/b", "bad").is_err());
        assert!(r.add("GET", "/a/{}", "bad").is_err());
    }
}
