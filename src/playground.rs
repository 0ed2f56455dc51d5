//! The GraphQL playground: GraphiQL at `GET /graphql` in a browser, served
//! with every file it needs by this binary.
//!
//! Hive Router's own GraphiQL (the `laboratory` section of its
//! configuration) loads its scripts from a CDN, so on a machine without
//! internet it never gets past "Loading GraphiQL...". The `janta_playground`
//! router plugin below answers those browser requests itself instead:
//! the page, GraphiQL, React and React DOM are embedded in the binary
//! (vendored from npm into `assets/graphiql/` by
//! `scripts/vendor-graphiql.sh`; versions and licences in
//! `assets/graphiql/README.md`) and served under `<endpoint>/assets/`.
//! The page sends its operations to the router's GraphQL endpoint, like any
//! other client.
//!
//! Switched on per configuration (`plugins.janta_playground` in
//! `router-config/*.yaml`): on in dev, off in production unless
//! `JANTA_PLAYGROUND_ENABLED=true`.

use hive_router::http::Method;
use hive_router::ntex::http::header::{CACHE_CONTROL, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use hive_router::ntex::http::{Response, StatusCode};
use hive_router::plugins::hooks::on_http_request::{
    OnHttpRequestHookFuture, OnHttpRequestHookPayload,
};
use hive_router::plugins::hooks::on_plugin_init::{OnPluginInitPayload, OnPluginInitResult};
use hive_router::plugins::plugin_trait::{RouterPlugin, StartHookPayload};

/// The playground page; `{{assets}}` and `{{endpoint}}` are filled in at
/// start-up.
const PAGE_TEMPLATE: &str = include_str!("../assets/graphiql/index.html");

/// Caching of the vendored files: their names carry their versions, so a
/// browser may keep them for a year without asking again.
const CACHE_IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Caching of the page and of our own files, which change with the binary:
/// a browser revalidates them on every visit.
const CACHE_REVALIDATE: &str = "no-cache";

/// One file the playground page loads, embedded in the binary.
#[derive(Debug)]
pub struct Asset {
    /// The file's name under `<endpoint>/assets/`.
    pub name: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Whether its name carries its version (long cache) or not.
    pub versioned: bool,
    /// Its bytes.
    pub body: &'static [u8],
}

/// Every file under `<endpoint>/assets/`.
pub const ASSETS: &[Asset] = &[
    Asset {
        name: "graphiql-3.9.0.min.js",
        content_type: "text/javascript; charset=utf-8",
        versioned: true,
        body: include_bytes!("../assets/graphiql/graphiql-3.9.0.min.js"),
    },
    Asset {
        name: "graphiql-3.9.0.min.css",
        content_type: "text/css; charset=utf-8",
        versioned: true,
        body: include_bytes!("../assets/graphiql/graphiql-3.9.0.min.css"),
    },
    Asset {
        name: "react-18.3.1.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        versioned: true,
        body: include_bytes!("../assets/graphiql/react-18.3.1.production.min.js"),
    },
    Asset {
        name: "react-dom-18.3.1.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        versioned: true,
        body: include_bytes!("../assets/graphiql/react-dom-18.3.1.production.min.js"),
    },
    Asset {
        name: "playground.js",
        content_type: "text/javascript; charset=utf-8",
        versioned: false,
        body: include_bytes!("../assets/graphiql/playground.js"),
    },
    Asset {
        name: "playground.css",
        content_type: "text/css; charset=utf-8",
        versioned: false,
        body: include_bytes!("../assets/graphiql/playground.css"),
    },
];

/// What the playground answers to one request.
#[derive(Debug, PartialEq, Eq)]
pub enum Served<'a> {
    /// The playground page (HTML).
    Page(&'a str),
    /// One of [`ASSETS`].
    Asset(&'a Asset),
    /// A path under `<endpoint>/assets/` that names no asset.
    NotFound,
}

impl PartialEq for Asset {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
impl Eq for Asset {}

/// Serves GraphiQL at the GraphQL endpoint to browsers, and its files under
/// `<endpoint>/assets/`; every other request goes on to the router untouched
/// (GraphQL requests, including GETs from GraphQL clients).
///
/// Registered in `src/router.rs`; enabled by `plugins.janta_playground` in
/// the router configuration.
pub struct Playground {
    /// The GraphQL endpoint's path (`http.graphql_endpoint`).
    endpoint: String,
    /// `<endpoint>/assets/`.
    assets_prefix: String,
    /// The page with its paths filled in.
    page: String,
}

impl Playground {
    /// The playground for a router whose GraphQL endpoint is at `endpoint`
    /// (a path such as `/graphql`).
    pub fn new(endpoint: &str) -> Playground {
        let endpoint = endpoint.trim_end_matches('/');
        let endpoint = if endpoint.is_empty() { "/" } else { endpoint };
        let assets = format!("{}/assets", endpoint.trim_end_matches('/'));
        let page = PAGE_TEMPLATE
            .replace("{{assets}}", &assets)
            .replace("{{endpoint}}", endpoint);
        Playground {
            endpoint: endpoint.to_string(),
            assets_prefix: format!("{assets}/"),
            page,
        }
    }

    /// What to answer to a request, or `None` when the request is not the
    /// playground's (the router handles it).
    pub fn route(&self, method: &Method, path: &str, accept: Option<&str>) -> Option<Served<'_>> {
        if method != Method::GET {
            return None;
        }
        if let Some(name) = path.strip_prefix(&self.assets_prefix) {
            return Some(
                ASSETS
                    .iter()
                    .find(|asset| asset.name == name)
                    .map_or(Served::NotFound, Served::Asset),
            );
        }
        let at_endpoint =
            path == self.endpoint || path.strip_suffix('/') == Some(self.endpoint.as_str());
        (at_endpoint && prefers_html(accept.unwrap_or(""))).then_some(Served::Page(&self.page))
    }
}

/// Whether an `Accept` header asks for a web page first, as a browser's
/// navigation does (`text/html,application/xhtml+xml,…,*/*;q=0.8`), rather
/// than a GraphQL response: the media range with the highest quality (the
/// first one among equals) is `text/html`. GraphQL clients sending
/// `application/json` or `*/*` keep getting GraphQL.
pub fn prefers_html(accept: &str) -> bool {
    let mut best: Option<(&str, u32)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim();
        if media.is_empty() {
            continue;
        }
        let quality = parts
            .filter_map(|param| param.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .map_or(1000, |q| (q.clamp(0.0, 1.0) * 1000.0).round() as u32);
        if best.is_none_or(|(_, q)| quality > q) {
            best = Some((media, quality));
        }
    }
    best.is_some_and(|(media, q)| q > 0 && media.eq_ignore_ascii_case("text/html"))
}

impl Served<'_> {
    /// The HTTP response for it.
    fn response(&self) -> Response {
        match self {
            Served::Page(page) => Response::build(StatusCode::OK)
                .header(CONTENT_TYPE, "text/html; charset=utf-8")
                .header(CACHE_CONTROL, CACHE_REVALIDATE)
                .header(X_CONTENT_TYPE_OPTIONS, "nosniff")
                .body(page.to_string()),
            Served::Asset(asset) => Response::build(StatusCode::OK)
                .header(CONTENT_TYPE, asset.content_type)
                .header(
                    CACHE_CONTROL,
                    if asset.versioned {
                        CACHE_IMMUTABLE
                    } else {
                        CACHE_REVALIDATE
                    },
                )
                .header(X_CONTENT_TYPE_OPTIONS, "nosniff")
                .body(asset.body),
            Served::NotFound => Response::build(StatusCode::NOT_FOUND)
                .header(CONTENT_TYPE, "text/plain; charset=utf-8")
                .body("no such playground file"),
        }
    }
}

#[hive_router::async_trait]
impl RouterPlugin for Playground {
    type Config = ();

    fn plugin_name() -> &'static str {
        "janta_playground"
    }

    fn on_plugin_init(payload: OnPluginInitPayload<Self>) -> OnPluginInitResult<Self> {
        let endpoint = payload.router_config().graphql_path().to_string();
        payload.initialize_plugin(Playground::new(&endpoint))
    }

    fn on_http_request<'req>(
        &'req self,
        payload: OnHttpRequestHookPayload<'req>,
    ) -> OnHttpRequestHookFuture<'req> {
        let request = &payload.router_http_request;
        let accept = request
            .headers()
            .get("accept")
            .and_then(|value| value.to_str().ok());
        let response = self
            .route(request.method(), request.path(), accept)
            .map(|served| served.response());
        Box::pin(async move {
            match response {
                Some(response) => payload.end_with_response(response),
                None => payload.proceed(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BROWSER: &str =
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

    #[test]
    fn browsers_get_the_page_and_graphql_clients_get_graphql() {
        assert!(prefers_html(BROWSER));
        assert!(prefers_html("text/html"));
        assert!(!prefers_html(""));
        assert!(!prefers_html("*/*"));
        assert!(!prefers_html("application/json"));
        assert!(!prefers_html(
            "application/graphql-response+json, application/json;q=0.9"
        ));
        assert!(!prefers_html("application/json, text/html;q=0.5"));
        assert!(!prefers_html("text/html;q=0"));
        assert!(prefers_html("application/json;q=0.5, text/html"));
    }

    #[test]
    fn the_page_lives_at_the_endpoint_and_its_files_under_assets() {
        let playground = Playground::new("/graphql");
        let get = |path: &str, accept: Option<&str>| playground.route(&Method::GET, path, accept);

        let Some(Served::Page(page)) = get("/graphql", Some(BROWSER)) else {
            panic!("no page");
        };
        assert!(page.contains(r#"data-endpoint="/graphql""#), "{page}");
        assert!(page.contains(r#"src="/graphql/assets/graphiql-3.9.0.min.js""#));
        assert!(!page.contains("{{"), "unfilled placeholder: {page}");
        assert!(!page.contains("http"), "the page names no other host");
        assert!(matches!(
            get("/graphql/", Some(BROWSER)),
            Some(Served::Page(_))
        ));

        // GraphQL over GET, a POST and other paths are the router's.
        assert_eq!(get("/graphql", Some("application/json")), None);
        assert_eq!(get("/graphql", None), None);
        assert_eq!(get("/health", Some(BROWSER)), None);
        assert_eq!(
            playground.route(&Method::POST, "/graphql", Some(BROWSER)),
            None
        );

        for asset in ASSETS {
            let path = format!("/graphql/assets/{}", asset.name);
            assert_eq!(get(&path, None), Some(Served::Asset(asset)));
            assert!(page.contains(&path), "the page loads {path}");
            assert!(!asset.body.is_empty());
        }
        assert_eq!(
            get("/graphql/assets/index.umd.js.map", None),
            Some(Served::NotFound)
        );
        assert_eq!(
            get("/graphql/assets/../Cargo.toml", None),
            Some(Served::NotFound)
        );
    }

    #[test]
    fn a_custom_endpoint_moves_the_page_and_its_files() {
        let playground = Playground::new("/api/graphql");
        let page = playground
            .route(&Method::GET, "/api/graphql", Some(BROWSER))
            .unwrap();
        let Served::Page(page) = page else {
            panic!("no page")
        };
        assert!(page.contains(r#"href="/api/graphql/assets/graphiql-3.9.0.min.css""#));
        assert!(playground
            .route(&Method::GET, "/api/graphql/assets/playground.js", None)
            .is_some());
    }

    /// Dev serves the playground; production only when
    /// `JANTA_PLAYGROUND_ENABLED=true`; neither turns on Hive Router's own
    /// GraphiQL, which needs a CDN.
    #[test]
    fn the_playground_is_on_in_dev_and_off_in_production_by_default() {
        let enabled = |file: &str| {
            let path = format!("{}/router-config/{file}", env!("CARGO_MANIFEST_DIR"));
            let config = hive_router::config::load_config(Some(path)).unwrap();
            assert!(!config.laboratory.enabled, "{file}: the CDN GraphiQL is on");
            config
                .plugins
                .get("janta_playground")
                .is_some_and(|plugin| plugin.enabled)
        };
        // Each test runs in its own process under nextest; under `cargo
        // test` no other test reads this variable.
        std::env::remove_var("JANTA_PLAYGROUND_ENABLED");
        assert!(enabled("dev.yaml"));
        assert!(!enabled("production.yaml"));
        std::env::set_var("JANTA_PLAYGROUND_ENABLED", "true");
        assert!(enabled("production.yaml"));
        std::env::set_var("JANTA_PLAYGROUND_ENABLED", "false");
        assert!(!enabled("dev.yaml"));
        std::env::remove_var("JANTA_PLAYGROUND_ENABLED");
    }
}
