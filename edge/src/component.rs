//! The Spin glue: WASI 0.2 HTTP in, [`crate::api`] in the middle, WASI 0.2 HTTP out.

use std::sync::{Mutex, OnceLock};

use futures::StreamExt;
use spin_sdk::http::{IncomingRequest, Method, Response};

use crate::api::{self, RequestHead, Service};
use crate::preinit::Prepared;
use crate::settings::Settings;

/// After the limit is passed the rest of the body is read and dropped, up to this many bytes, so that the
/// client (still sending) receives the 413 instead of a reset connection. Beyond it the function answers
/// without draining.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

/// Settings and pipeline, set up on the instance's first request and reused for every later one
/// (runtimes that keep instances warm serve many requests with one setup).
static SERVICE: OnceLock<Service> = OnceLock::new();

/// The default pipeline, built at build time by [`Preinit::wizer_initialize`] when `wasmtime wizer`
/// pre-initialized the component (scripts/build-edge.sh); `None` in a component that was not.
static PREPARED: Mutex<Option<Prepared>> = Mutex::new(None);

fn service() -> &'static Service {
    SERVICE.get_or_init(|| {
        let settings = Settings::from_lookup(|name| std::env::var(name).ok());
        if let Err(e) = &settings.config {
            eprintln!(
                "tamis-edge: config from {} is unusable: {e}",
                api::describe_source(settings.source)
            );
        }
        let prepared = PREPARED.lock().unwrap_or_else(|e| e.into_inner()).take();
        Service::with_prepared(settings, prepared)
    })
}

/// The export `wasmtime wizer` calls once at build time, in its own world so that the HTTP handler's
/// world stays the one Spin generates. Wizer removes the export from the component it writes.
mod preinit_world {
    wit_bindgen::generate!({
        inline: "
            package tamis:edge;

            world preinit {
                /// Builds the default pipeline into the instance's memory. Calls no import: it runs
                /// under wizer, before any host exists.
                export wizer-initialize: func();
            }
        ",
        world: "preinit",
    });
}

struct Preinit;

impl preinit_world::Guest for Preinit {
    fn wizer_initialize() {
        // A default config that fails to build is a bug caught by the native tests; without a pipeline
        // here, the instance builds one on first use, which reports the error on /v1/health.
        if let Ok(prepared) = Prepared::default_pipeline() {
            *PREPARED.lock().unwrap_or_else(|e| e.into_inner()) = Some(prepared);
        }
    }
}

preinit_world::export!(Preinit with_types_in preinit_world);

#[spin_sdk::http_component]
async fn handle(request: IncomingRequest) -> Response {
    let answer = answer(request).await;
    let mut builder = Response::builder();
    builder
        .status(answer.status)
        .header("content-type", answer.content_type);
    if let Some(allow) = answer.allow {
        builder.header("allow", allow);
    }
    builder.body(answer.body).build()
}

async fn answer(request: IncomingRequest) -> api::Response {
    let head = head(&request);
    let route = match api::route(&head.method, head.path()) {
        Ok(route) => route,
        Err(response) => return response,
    };
    let service = service();
    let limit = service.limits().max_body_bytes;
    let mut body = Vec::new();
    let mut received = 0usize;
    let mut stream = request.into_body_stream();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => {
                received = received.saturating_add(chunk.len());
                if received <= limit {
                    body.extend_from_slice(&chunk);
                } else {
                    body = Vec::new();
                    if received > DRAIN_LIMIT {
                        break;
                    }
                }
            }
            Err(e) => return api::Response::body_unreadable(format!("{e:?}")),
        }
    }
    if received > limit {
        return api::Response::body_too_large(received, limit);
    }
    service.handle(route, &head, &body)
}

fn head(request: &IncomingRequest) -> RequestHead {
    let method = match request.method() {
        Method::Get => "GET".to_string(),
        Method::Head => "HEAD".to_string(),
        Method::Post => "POST".to_string(),
        Method::Put => "PUT".to_string(),
        Method::Delete => "DELETE".to_string(),
        Method::Connect => "CONNECT".to_string(),
        Method::Options => "OPTIONS".to_string(),
        Method::Trace => "TRACE".to_string(),
        Method::Patch => "PATCH".to_string(),
        Method::Other(other) => other,
    };
    let mut content_type = None;
    let mut tamis_id = None;
    for (name, value) in request.headers().entries() {
        let value = String::from_utf8_lossy(&value).into_owned();
        if name.eq_ignore_ascii_case("content-type") {
            content_type = Some(value);
        } else if name.eq_ignore_ascii_case("x-tamis-id") {
            tamis_id = Some(value);
        }
    }
    RequestHead {
        method,
        path_and_query: request.path_with_query().unwrap_or_else(|| "/".into()),
        content_type,
        tamis_id,
    }
}
