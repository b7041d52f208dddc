//! The HTTP API, independent of the runtime: routes, statuses and JSON bodies.
//!
//! The Spin glue (`component`) only moves bytes between WASI HTTP and these functions, so everything a
//! client can observe is decided here, in plain Rust that the native unit tests exercise.
//!
//! | route | method | answer |
//! |---|---|---|
//! | `/v1/clean` | POST | `{"outcomes": [...]}`, one `{"id", "text", "tamis"}` per document, in order |
//! | `/v1/health` | GET | `{"status": "ok", ...}`, or 503 with the config error |
//! | `/v1/config` | GET | the effective config (`?format=toml` or `yaml` for those syntaxes) |
//!
//! Every error is `{"error": <stable code>, "detail": <what and where>}`, plus `line`, `column` and `doc`
//! when the problem has a place in the body.

use serde::Serialize;
use serde_json::json;
use tamis_core::wire::{self, Judgment};
use tamis_core::{ConfigError, ConfigFormat, Document, Pipeline};

use crate::files::{self, Loaded};
use crate::input::{self, BodyKind, InputError, PageInfo};
use crate::preinit::Prepared;
use crate::settings::{ConfigSource, Limits, Settings, format_name};

/// The id of a raw page when the request names none.
pub const DEFAULT_PAGE_ID: &str = "page";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Clean,
    Health,
    Config,
}

impl Route {
    fn allowed_method(self) -> &'static str {
        match self {
            Route::Clean => "POST",
            Route::Health | Route::Config => "GET",
        }
    }
}

/// An answer, ready to be written by the runtime.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    /// The `Allow` header of a 405.
    pub allow: Option<&'static str>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(status: u16, value: &impl Serialize) -> Self {
        // Outcomes hold only strings, numbers and lists, which always serialize; the fallback keeps the
        // promise of a JSON body even so.
        let body = serde_json::to_vec(value).unwrap_or_else(|e| {
            format!(r#"{{"error":"internal","detail":"serializing the answer: {e}"}}"#).into_bytes()
        });
        Self {
            status,
            content_type: "application/json",
            allow: None,
            body,
        }
    }

    pub fn error(status: u16, code: &str, detail: impl Into<String>) -> Self {
        Self::json(status, &json!({"error": code, "detail": detail.into()}))
    }

    /// 413 for a body longer than the limit; `received` is how much arrived before the function stopped
    /// keeping it.
    pub fn body_too_large(received: usize, limit: usize) -> Self {
        Self::error(
            413,
            "body_too_large",
            format!(
                "request body is at least {received} bytes; at most {limit} are accepted (TAMIS_MAX_BODY_BYTES)"
            ),
        )
    }

    /// 400 when the body could not be read off the connection.
    pub fn body_unreadable(detail: impl std::fmt::Display) -> Self {
        Self::error(
            400,
            "body_unreadable",
            format!("reading the request body: {detail}"),
        )
    }
}

/// The routing decision for a request line: a route, or the 404 / 405 to answer at once, before any of
/// the body is read.
pub fn route(method: &str, path: &str) -> Result<Route, Response> {
    let route = match path {
        "/v1/clean" => Route::Clean,
        "/v1/health" => Route::Health,
        "/v1/config" => Route::Config,
        _ => {
            return Err(Response::error(
                404,
                "not_found",
                format!(
                    "no route {path:?}; the routes are POST /v1/clean, GET /v1/health, GET /v1/config"
                ),
            ));
        }
    };
    let allowed = route.allowed_method();
    if method.eq_ignore_ascii_case(allowed) {
        Ok(route)
    } else {
        let mut response = Response::error(
            405,
            "method_not_allowed",
            format!("{path} accepts {allowed}, not {method}"),
        );
        response.allow = Some(allowed);
        Err(response)
    }
}

/// What the runtime knows of a request besides its body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestHead {
    pub method: String,
    /// The path and query as sent (`/v1/clean?url=...`).
    pub path_and_query: String,
    pub content_type: Option<String>,
    /// `X-Tamis-Id`: the id of a raw page.
    pub tamis_id: Option<String>,
}

impl RequestHead {
    pub fn path(&self) -> &str {
        self.path_and_query
            .split_once('?')
            .map_or(self.path_and_query.as_str(), |(path, _)| path)
    }

    pub fn query(&self) -> &str {
        self.path_and_query
            .split_once('?')
            .map_or("", |(_, query)| query)
    }
}

/// One instance's settings and pipeline, built once and used for every request the instance serves.
pub struct Service {
    settings: Settings,
    pipeline: Result<Pipeline, ConfigError>,
    origin: PipelineOrigin,
    /// The files the pipeline was handed, for `/v1/health`.
    files: Vec<Loaded>,
}

/// Whether the instance's pipeline was built at build time (see [`crate::preinit`]) or by the instance
/// itself; `/v1/health` says which, so a deployment can check that it runs the pre-initialized component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PipelineOrigin {
    /// Taken from the pre-initialized component's memory: no setup at run time.
    Prepared,
    /// Built by this instance from its config (or the config was unusable).
    Built,
}

impl Service {
    pub fn new(settings: Settings) -> Self {
        Self::with_prepared(settings, None)
    }

    /// Like [`Service::new`], taking `prepared`'s pipeline instead of building one when it was built from
    /// the same config. The files the config names are read from the baked ones, else from the function's
    /// file system.
    pub fn with_prepared(settings: Settings, prepared: Option<Prepared>) -> Self {
        let reused = match (&settings.config, prepared) {
            (Ok(config), Some(prepared)) => prepared.pipeline_for(config),
            _ => None,
        };
        let (pipeline, origin, files) = match reused {
            Some((pipeline, files)) => (Ok(pipeline), PipelineOrigin::Prepared, files),
            None => {
                let mut files = Vec::new();
                let pipeline = settings.config.clone().and_then(|config| {
                    let (resources, loaded) =
                        files::load(&config, files::baked_files(), &|path| std::fs::read(path))?;
                    files = loaded;
                    Pipeline::new(config, &resources)
                });
                (pipeline, PipelineOrigin::Built, files)
            }
        };
        Self {
            settings,
            pipeline,
            origin,
            files,
        }
    }

    pub fn origin(&self) -> PipelineOrigin {
        self.origin
    }

    pub fn limits(&self) -> Limits {
        self.settings.limits
    }

    /// Answers a routed request whose body has been read (within the limit).
    pub fn handle(&self, route: Route, head: &RequestHead, body: &[u8]) -> Response {
        match route {
            Route::Clean => self.clean(head, body),
            Route::Health => self.health(),
            Route::Config => self.config(head.query()),
        }
    }

    fn clean(&self, head: &RequestHead, body: &[u8]) -> Response {
        let pipeline = match &self.pipeline {
            Ok(pipeline) => pipeline,
            Err(e) => return config_unavailable(e),
        };
        if body.len() > self.settings.limits.max_body_bytes {
            return Response::body_too_large(body.len(), self.settings.limits.max_body_bytes);
        }
        let Some(kind) = BodyKind::from_content_type(head.content_type.as_deref()) else {
            return Response::error(
                415,
                "unsupported_media_type",
                format!(
                    "Content-Type {:?} is not read; send application/json, application/x-ndjson, text/html or text/plain",
                    head.content_type.as_deref().unwrap_or_default()
                ),
            );
        };
        let page = page_info(head);
        match input::read_documents(body, kind, &page, self.settings.limits.max_docs) {
            Ok(docs) => Response {
                status: 200,
                content_type: "application/json",
                allow: None,
                body: judge(pipeline, &docs),
            },
            Err(e) => input_error(&e),
        }
    }

    fn health(&self) -> Response {
        let source = self.settings.source;
        match &self.pipeline {
            Ok(pipeline) => Response::json(
                200,
                &json!({
                    "status": "ok",
                    "version": env!("CARGO_PKG_VERSION"),
                    "config": source,
                    "steps": pipeline.config().steps,
                    "evaluate_all": pipeline.config().evaluate_all,
                    "limits": self.settings.limits,
                    "pipeline": self.origin,
                    "files": self.files,
                }),
            ),
            Err(e) => Response::json(
                503,
                &json!({
                    "status": "error",
                    "version": env!("CARGO_PKG_VERSION"),
                    "config": source,
                    "error": "invalid_config",
                    "detail": e.to_string(),
                    "path": e.path,
                }),
            ),
        }
    }

    fn config(&self, query: &str) -> Response {
        let pipeline = match &self.pipeline {
            Ok(pipeline) => pipeline,
            Err(e) => return config_unavailable(e),
        };
        let format = match query_param(query, "format").as_deref() {
            None | Some("json") => ConfigFormat::Json,
            Some("toml") => ConfigFormat::Toml,
            Some("yaml") => ConfigFormat::Yaml,
            Some(other) => {
                return Response::error(
                    400,
                    "invalid_query",
                    format!("format={other:?}: expected json, toml or yaml"),
                );
            }
        };
        match pipeline.config().render(format) {
            Ok(text) => Response {
                status: 200,
                content_type: match format {
                    ConfigFormat::Json => "application/json",
                    ConfigFormat::Toml => "application/toml",
                    ConfigFormat::Yaml => "application/yaml",
                },
                allow: None,
                body: text.into_bytes(),
            },
            Err(e) => Response::error(
                500,
                "internal",
                format!("rendering the config as {}: {e}", format_name(format)),
            ),
        }
    }
}

/// The answer to `/v1/clean`: one entry per document, in order. A judged document is the core's
/// [`Judgment`] (id, text, and the `tamis` annotation that `tamis run` writes in its records), serialized
/// by the core's own type; a document that could not be judged is `{"id", "error"}`.
pub fn judge(pipeline: &Pipeline, docs: &[Document]) -> Vec<u8> {
    let mut body = Vec::with_capacity(256 * docs.len() + 16);
    body.extend_from_slice(b"{\"outcomes\":[");
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        let entry = match pipeline.process(doc) {
            Ok(outcome) => wire::to_json(&Judgment::of(&outcome)),
            Err(e) => wire::to_json(&json!({"id": e.id, "error": e.message})),
        };
        body.extend_from_slice(entry.as_bytes());
    }
    body.extend_from_slice(b"]}");
    body
}

fn config_unavailable(e: &ConfigError) -> Response {
    Response::json(
        503,
        &json!({
            "error": "invalid_config",
            "detail": format!("the function's config is unusable, see GET /v1/health: {e}"),
            "path": e.path,
        }),
    )
}

fn input_error(e: &InputError) -> Response {
    let status = match e {
        InputError::TooManyDocs { .. } => 413,
        InputError::Utf8 { .. } | InputError::Json { .. } => 400,
    };
    let mut body = json!({"error": e.code(), "detail": e.to_string()});
    if let Some(at) = e.position() {
        body["line"] = json!(at.line);
        body["column"] = json!(at.column);
        if let Some(doc) = at.doc {
            body["doc"] = json!(doc);
        }
    }
    Response::json(status, &body)
}

/// A raw page's id: `X-Tamis-Id`, else the `id` query parameter, else its `url`, else [`DEFAULT_PAGE_ID`].
fn page_info(head: &RequestHead) -> PageInfo {
    let url = query_param(head.query(), "url").filter(|u| !u.is_empty());
    let id = head
        .tamis_id
        .clone()
        .filter(|id| !id.is_empty())
        .or_else(|| query_param(head.query(), "id").filter(|id| !id.is_empty()))
        .or_else(|| url.clone())
        .unwrap_or_else(|| DEFAULT_PAGE_ID.to_string());
    PageInfo {
        id,
        url,
        content_type: head.content_type.clone(),
    }
}

/// The first value of `name` in an `application/x-www-form-urlencoded` query.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(key) == name).then(|| percent_decode(value))
    })
}

/// Decodes `%XX` escapes and `+` (a space in query strings). Malformed escapes stay as written; bytes
/// that do not form UTF-8 become U+FFFD.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => match (
                bytes.get(i + 1).and_then(|&b| hex(b)),
                bytes.get(i + 2).and_then(|&b| hex(b)),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Reports where the config came from, for logs.
pub fn describe_source(source: ConfigSource) -> String {
    match source {
        ConfigSource::Default => "built-in default".into(),
        ConfigSource::Baked(format) => format!("baked config ({})", format_name(format)),
        ConfigSource::Env(format) => format!("TAMIS_CONFIG ({})", format_name(format)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{CONFIG_VAR, MAX_BODY_VAR, MAX_DOCS_VAR};
    use serde_json::Value;
    use tamis_core::Config;

    const PAGE: &str = "<html><head><title>Sieves</title></head><body><article><p>A tamis is a \
        drum sieve used in kitchens to strain and puree food. Cooks press soft food through its fine \
        mesh with a scraper, which gives a smoother result than a whisk or a blender can give. The \
        frame is usually wood or metal, and the mesh is nylon, steel or horsehair.</p><p>Pastry \
        cooks use it to sift flour and sugar, and to strain custards before they set.</p></article>\
        </body></html>";

    fn service(vars: &[(&str, &str)]) -> Service {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Service::new(Settings::from_lookup(|name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        }))
    }

    fn post(service: &Service, content_type: Option<&str>, path: &str, body: &[u8]) -> Response {
        let head = RequestHead {
            method: "POST".into(),
            path_and_query: path.into(),
            content_type: content_type.map(str::to_string),
            tamis_id: None,
        };
        service.handle(Route::Clean, &head, body)
    }

    fn body(response: &Response) -> Value {
        serde_json::from_slice(&response.body).unwrap()
    }

    #[test]
    fn routes_answer_404_and_405_before_the_body() {
        assert_eq!(route("POST", "/v1/clean"), Ok(Route::Clean));
        assert_eq!(route("GET", "/v1/health"), Ok(Route::Health));
        assert_eq!(route("get", "/v1/config"), Ok(Route::Config));
        let r = route("GET", "/v1/clean").unwrap_err();
        assert_eq!((r.status, r.allow), (405, Some("POST")));
        assert_eq!(body(&r)["error"], "method_not_allowed");
        let r = route("DELETE", "/v1/health").unwrap_err();
        assert_eq!((r.status, r.allow), (405, Some("GET")));
        let r = route("POST", "/v2/clean").unwrap_err();
        assert_eq!(r.status, 404);
        assert_eq!(body(&r)["error"], "not_found");
    }

    #[test]
    fn a_batch_is_judged_in_order_as_the_core_judges_it() {
        let service = service(&[]);
        let request = json!({"docs": [
            {"id": "page", "html": PAGE, "url": "https://example.org/tamis"},
            {"id": "short", "text": "Too short."},
            {"id": "empty"},
        ]});
        let r = post(
            &service,
            Some("application/json"),
            "/v1/clean",
            request.to_string().as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let answer = body(&r);
        let outcomes = answer["outcomes"].as_array().unwrap();
        assert_eq!(outcomes.len(), 3);

        let pipeline = Pipeline::new(
            crate::settings::default_config(),
            &tamis_core::Resources::default(),
        )
        .unwrap();
        for (i, doc) in [
            Document {
                url: Some("https://example.org/tamis".into()),
                ..Document::html("page", PAGE)
            },
            Document::text("short", "Too short."),
        ]
        .iter()
        .enumerate()
        {
            let outcome = pipeline.process(doc).unwrap();
            let native: Value =
                serde_json::from_str(&wire::to_json(&Judgment::of(&outcome))).unwrap();
            assert_eq!(outcomes[i], native, "document {i}");
            assert!(
                outcomes[i]["tamis"]["hashes"]["exact"].is_string(),
                "document {i}"
            );
        }
        assert_eq!(outcomes[2]["id"], "empty");
        assert!(outcomes[2]["error"].as_str().unwrap().contains("neither"));
    }

    #[test]
    fn a_raw_page_is_one_document_named_by_the_request() {
        let service = service(&[]);
        let head = RequestHead {
            method: "POST".into(),
            path_and_query: "/v1/clean?url=https%3A%2F%2Fexample.org%2Fa%20b".into(),
            content_type: Some("text/html; charset=utf-8".into()),
            tamis_id: Some("crawl-7".into()),
        };
        let r = service.handle(Route::Clean, &head, PAGE.as_bytes());
        assert_eq!(r.status, 200);
        let answer = body(&r);
        assert_eq!(answer["outcomes"][0]["id"], "crawl-7");
        assert_eq!(answer["outcomes"][0]["tamis"]["title"], "Sieves");

        let head = RequestHead {
            tamis_id: None,
            ..head
        };
        let r = service.handle(Route::Clean, &head, PAGE.as_bytes());
        assert_eq!(body(&r)["outcomes"][0]["id"], "https://example.org/a b");

        let r = post(&service, Some("text/plain"), "/v1/clean", b"Just words.");
        assert_eq!(body(&r)["outcomes"][0]["id"], DEFAULT_PAGE_ID);
    }

    #[test]
    fn bad_bodies_get_their_status_and_a_placed_error() {
        let service = service(&[(MAX_DOCS_VAR, "2"), (MAX_BODY_VAR, "200")]);
        let r = post(&service, None, "/v1/clean", b"{\"docs\": [{\"id\": }]}");
        assert_eq!(r.status, 400);
        let b = body(&r);
        assert_eq!(b["error"], "invalid_json");
        assert_eq!((b["line"].as_u64(), b["column"].is_u64()), (Some(1), true));

        let r = post(
            &service,
            None,
            "/v1/clean",
            b"{\"docs\": [{\"id\": \"a\", \"text\": \"\xff\"}]}",
        );
        assert_eq!(
            (r.status, body(&r)["error"].as_str()),
            (400, Some("invalid_utf8"))
        );

        let three = br#"{"docs": [{"id": "a", "text": "x"}, {"id": "b", "text": "x"}, {"id": "c", "text": "x"}]}"#;
        let r = post(&service, None, "/v1/clean", three);
        assert_eq!(
            (r.status, body(&r)["error"].as_str()),
            (413, Some("too_many_docs"))
        );

        let r = post(&service, None, "/v1/clean", &[b' '; 201]);
        assert_eq!(
            (r.status, body(&r)["error"].as_str()),
            (413, Some("body_too_large"))
        );

        let r = post(&service, Some("image/png"), "/v1/clean", b"{}");
        assert_eq!(r.status, 415);
    }

    #[test]
    fn health_and_config_report_the_effective_config() {
        let service = service(&[(CONFIG_VAR, "steps = [\"normalize\", \"fingerprint\"]")]);
        let head = RequestHead::default();
        let r = service.handle(Route::Health, &head, b"");
        assert_eq!(r.status, 200);
        let b = body(&r);
        assert_eq!(b["status"], "ok");
        assert_eq!(b["config"], json!({"source": "env", "format": "toml"}));
        assert_eq!(b["steps"], json!(["normalize", "fingerprint"]));

        let r = service.handle(Route::Config, &head, b"");
        let text = String::from_utf8(r.body).unwrap();
        let config = Config::from_json(&text).unwrap();
        assert_eq!(config.steps.len(), 2);

        let head = RequestHead {
            path_and_query: "/v1/config?format=toml".into(),
            ..RequestHead::default()
        };
        let r = service.handle(Route::Config, &head, b"");
        assert_eq!(r.content_type, "application/toml");
        let text = String::from_utf8(r.body).unwrap();
        assert_eq!(Config::from_toml(&text).unwrap(), config);
    }

    #[test]
    fn a_prepared_pipeline_answers_like_a_built_one_and_health_says_which_ran() {
        let prepared = Service::with_prepared(
            Settings::from_lookup(|_| None),
            Some(Prepared::default_pipeline().unwrap()),
        );
        let built = service(&[]);
        assert_eq!(prepared.origin(), PipelineOrigin::Prepared);
        assert_eq!(built.origin(), PipelineOrigin::Built);
        let head = RequestHead::default();
        assert_eq!(
            body(&prepared.handle(Route::Health, &head, b""))["pipeline"],
            "prepared"
        );
        assert_eq!(
            body(&built.handle(Route::Health, &head, b""))["pipeline"],
            "built"
        );
        let a = post(&prepared, Some("text/html"), "/v1/clean", PAGE.as_bytes());
        let b = post(&built, Some("text/html"), "/v1/clean", PAGE.as_bytes());
        assert_eq!(a.status, 200);
        assert_eq!(a.body, b.body);

        // A config other than the prepared one is built, and the prepared pipeline is not used for it.
        let other = Service::with_prepared(
            Settings::from_lookup(|name| {
                (name == CONFIG_VAR).then(|| "steps = [\"normalize\"]".to_string())
            }),
            Some(Prepared::default_pipeline().unwrap()),
        );
        assert_eq!(other.origin(), PipelineOrigin::Built);
        assert_eq!(
            body(&other.handle(Route::Health, &head, b""))["steps"],
            json!(["normalize"])
        );
    }

    #[test]
    fn a_bad_config_turns_health_and_clean_into_503() {
        let service = service(&[(CONFIG_VAR, "{\"steps\": [\"nope\"]}")]);
        let r = service.handle(Route::Health, &RequestHead::default(), b"");
        assert_eq!(r.status, 503);
        let b = body(&r);
        assert_eq!(b["error"], "invalid_config");
        assert_eq!(b["path"], "steps[0]");
        assert_eq!(b["config"]["format"], "json");
        let r = post(&service, None, "/v1/clean", br#"{"docs": []}"#);
        assert_eq!(r.status, 503);
        let r = service.handle(Route::Config, &RequestHead::default(), b"");
        assert_eq!(r.status, 503);
    }

    #[test]
    fn query_parameters_are_decoded() {
        assert_eq!(
            query_param("a=1&url=http%3A%2F%2Fx.org%2F%3Fq%3D1+2", "url").as_deref(),
            Some("http://x.org/?q=1 2")
        );
        assert_eq!(query_param("url", "url").as_deref(), Some(""));
        assert_eq!(query_param("x=%zz%4", "x").as_deref(), Some("%zz%4"));
        assert_eq!(query_param("x=%ff", "x").as_deref(), Some("\u{fffd}"));
        assert_eq!(query_param("", "url"), None);
    }
}
