//! GraphQL over HTTP (<https://graphql.github.io/graphql-over-http/draft/>)
//! as every subgraph speaks it: `POST` with an `application/json` body,
//! `GET` for queries only, the answer in the media type the client accepts
//! (`application/json` unless it asks for `application/graphql-response+json`),
//! and every refusal a JSON body holding a GraphQL error with a code, never
//! a Rust error's debug text. Statuses and codes are Hive Router's, so a
//! subgraph reached on its own port answers like the router.

use async_graphql::parser::types::{DocumentOperations, OperationType};
use axum::body::Body;
use axum::extract::Query;
use axum::http::header::{HeaderValue, ACCEPT, ALLOW, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

/// The media type of a GraphQL response, chosen from the request's `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFormat {
    /// `application/json`: the default (no `Accept`, `*/*`, the router's
    /// own requests); every well-formed request is answered 200.
    Json,
    /// `application/graphql-response+json`: a request that never reached
    /// execution (unparsable, invalid, unauthenticated) gets a 4xx status.
    GraphqlResponseJson,
}

impl ResponseFormat {
    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            ResponseFormat::Json => "application/json; charset=utf-8",
            ResponseFormat::GraphqlResponseJson => {
                "application/graphql-response+json; charset=utf-8"
            }
        })
    }
}

/// A request refused before any GraphQL ran: an HTTP status and a GraphQL
/// error carrying the router's code for the same refusal.
#[derive(Debug)]
pub struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
    allow: Option<&'static str>,
}

impl Refusal {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Refusal {
            status,
            code,
            message: message.into(),
            allow: None,
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Refusal::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }

    /// The refusal's `extensions.code` (for metrics).
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// `405 Method Not Allowed` for methods other than GET and POST.
    pub fn method_not_allowed() -> Self {
        Refusal {
            allow: Some("GET, POST"),
            ..Refusal::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                "GraphQL is served over GET (queries) and POST",
            )
        }
    }

    /// The HTTP response, in `format`.
    pub fn respond(self, format: ResponseFormat) -> Response {
        let body = json!({
            "errors": [{ "message": self.message, "extensions": { "code": self.code } }]
        });
        let mut response = (self.status, body.to_string()).into_response();
        response
            .headers_mut()
            .insert(CONTENT_TYPE, format.content_type());
        if let Some(allow) = self.allow {
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static(allow));
        }
        response
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        self.respond(ResponseFormat::Json)
    }
}

/// Picks the response format from `Accept`: the acceptable media range with
/// the highest `q` (the first of equals) among `application/graphql-response+json`,
/// `application/json`, `application/*` and `*/*`; no `Accept` means
/// `application/json`. Nothing acceptable: 406.
pub fn negotiate(headers: &HeaderMap) -> Result<ResponseFormat, Refusal> {
    let ranges: Vec<&str> = headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|range| !range.is_empty())
        .collect();
    if ranges.is_empty() {
        return Ok(ResponseFormat::Json);
    }
    let mut best: Option<(f32, ResponseFormat)> = None;
    for range in ranges {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let quality = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let format = match media.as_str() {
            "application/graphql-response+json" => ResponseFormat::GraphqlResponseJson,
            "application/json" | "application/*" | "*/*" => ResponseFormat::Json,
            _ => continue,
        };
        if quality > 0.0 && best.is_none_or(|(q, _)| quality > q) {
            best = Some((quality, format));
        }
    }
    best.map(|(_, format)| format).ok_or_else(|| {
        Refusal::new(
            StatusCode::NOT_ACCEPTABLE,
            "NOT_ACCEPTABLE",
            "responses are application/json or application/graphql-response+json",
        )
    })
}

/// Reads the GraphQL request of a `GET` (URL parameters) or a `POST`
/// (`application/json` body of at most `max_body` bytes). A `GET` carrying
/// a mutation is refused here, before anything runs.
pub async fn read_request(
    parts: &Parts,
    body: Body,
    max_body: usize,
) -> Result<async_graphql::Request, Refusal> {
    let params = if parts.method == Method::GET {
        get_params(&parts.uri)?
    } else {
        check_content_type(&parts.headers)?;
        post_params(body, max_body).await?
    };
    let mut request = graphql_request(params)?;
    if parts.method == Method::GET {
        refuse_mutation(&mut request)?;
    }
    Ok(request)
}

fn get_params(uri: &axum::http::Uri) -> Result<Map<String, Value>, Refusal> {
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map_err(|_| Refusal::bad_request("the URL parameters are not well-formed"))?;
    let mut params = Map::new();
    for (name, value) in pairs {
        let value = match name.as_str() {
            "variables" | "extensions" => serde_json::from_str(&value).map_err(|err| {
                Refusal::bad_request(format!("the {name} parameter is not valid JSON: {err}"))
            })?,
            _ => Value::String(value),
        };
        params.insert(name, value);
    }
    Ok(params)
}

fn check_content_type(headers: &HeaderMap) -> Result<(), Refusal> {
    let unsupported = |code| {
        Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code,
            "send the request as Content-Type: application/json",
        )
    };
    let value = headers
        .get(CONTENT_TYPE)
        .ok_or_else(|| unsupported("MISSING_CONTENT_TYPE_HEADER"))?
        .to_str()
        .map_err(|_| unsupported("UNSUPPORTED_CONTENT_TYPE"))?;
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    let charset_ok = parts.all(|param| match param.split_once('=') {
        Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
            value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        }
        _ => true,
    });
    if essence.eq_ignore_ascii_case("application/json") && charset_ok {
        Ok(())
    } else {
        Err(unsupported("UNSUPPORTED_CONTENT_TYPE"))
    }
}

async fn post_params(body: Body, max_body: usize) -> Result<Map<String, Value>, Refusal> {
    let bytes = axum::body::to_bytes(body, max_body).await.map_err(|_| {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("the request body is larger than {max_body} bytes"),
        )
    })?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(params)) => Ok(params),
        Ok(Value::Array(_)) => Err(Refusal::bad_request(
            "batched requests (a JSON array) are not supported; send one request per POST",
        )),
        Ok(_) => Err(Refusal::bad_request(
            "the request body must be a JSON object",
        )),
        Err(err) => Err(Refusal::bad_request(format!(
            "the request body is not valid JSON: {err}"
        ))),
    }
}

/// Checks the parameters' types (`query` a string; `operationName` a string
/// or null; `variables` and `extensions` objects or null) and builds the
/// request from them.
fn graphql_request(mut params: Map<String, Value>) -> Result<async_graphql::Request, Refusal> {
    params.retain(|_, value| !value.is_null());
    if !params.get("query").is_some_and(Value::is_string) {
        return Err(Refusal::bad_request(
            "a GraphQL request needs a \"query\" string",
        ));
    }
    for (name, is_valid) in [
        ("operationName", Value::is_string as fn(&Value) -> bool),
        ("variables", Value::is_object),
        ("extensions", Value::is_object),
    ] {
        if params.get(name).is_some_and(|value| !is_valid(value)) {
            let kind = if name == "operationName" {
                "a string"
            } else {
                "an object"
            };
            return Err(Refusal::bad_request(format!(
                "\"{name}\" must be {kind} or null"
            )));
        }
    }
    serde_json::from_value(Value::Object(params))
        .map_err(|err| Refusal::bad_request(format!("invalid GraphQL request: {err}")))
}

/// Refuses a `GET` whose selected operation is a mutation (or subscription):
/// `GET` must be safe. A document that does not parse, or names no
/// operation it holds, is left for execution to report as usual.
fn refuse_mutation(request: &mut async_graphql::Request) -> Result<(), Refusal> {
    let limits = crate::query_limits::ROUTER_LIMITS;
    if crate::query_limits::check_source(&request.query, &limits).is_err() {
        return Ok(());
    }
    let name = request.operation_name.clone();
    let Ok(document) = request.parsed_query() else {
        return Ok(());
    };
    let operation = match (&document.operations, name) {
        (DocumentOperations::Single(operation), _) => Some(operation),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name.as_str()),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next()
        }
        (DocumentOperations::Multiple(_), None) => None,
    };
    match operation.map(|operation| operation.node.ty) {
        Some(OperationType::Mutation | OperationType::Subscription) => Err(Refusal {
            allow: Some("POST"),
            ..Refusal::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "MUTATION_NOT_ALLOWED_OVER_HTTP_GET",
                "mutations are sent with POST, not GET",
            )
        }),
        _ => Ok(()),
    }
}

/// The HTTP response for a GraphQL `response`. A response whose errors all
/// came before execution (parsing, validation, limits, variables, the
/// access token) has no `data` entry; in `application/graphql-response+json`
/// it also gets a 4xx status (401 for `UNAUTHENTICATED`, 403 for
/// `FORBIDDEN`, else 400). Everything else is 200.
pub fn respond(mut response: async_graphql::Response, format: ResponseFormat) -> Response {
    let request_error = is_request_error(&response);
    let status = match format {
        ResponseFormat::GraphqlResponseJson if request_error => request_error_status(&response),
        _ => StatusCode::OK,
    };
    let cache_control = response
        .is_ok()
        .then(|| response.cache_control.value())
        .flatten();
    let headers = std::mem::take(&mut response.http_headers);
    let mut body = serde_json::to_value(&response).unwrap_or_else(|_| {
        json!({ "errors": [{ "message": "internal error", "extensions": { "code": "INTERNAL" } }] })
    });
    if request_error {
        if let Some(object) = body.as_object_mut() {
            object.remove("data");
        }
    }
    let mut http = (status, body.to_string()).into_response();
    http.headers_mut().extend(headers);
    http.headers_mut()
        .insert(CONTENT_TYPE, format.content_type());
    if let Some(value) = cache_control.and_then(|v| HeaderValue::from_str(&v).ok()) {
        http.headers_mut()
            .insert(axum::http::header::CACHE_CONTROL, value);
    }
    http
}

/// No data and no error inside the data (field errors carry a path).
fn is_request_error(response: &async_graphql::Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty())
}

fn request_error_status(response: &async_graphql::Response) -> StatusCode {
    let has_code = |wanted: &str| {
        response.errors.iter().any(|error| {
            error
                .extensions
                .as_ref()
                .and_then(|ext| ext.get("code"))
                .is_some_and(|code| *code == async_graphql::Value::from(wanted))
        })
    };
    if has_code("UNAUTHENTICATED") {
        StatusCode::UNAUTHORIZED
    } else if has_code("FORBIDDEN") {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::BAD_REQUEST
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn json_unless_graphql_response_json_is_preferred() {
        use ResponseFormat::*;
        assert_eq!(negotiate(&HeaderMap::new()).unwrap(), Json);
        assert_eq!(negotiate(&accept("*/*")).unwrap(), Json);
        assert_eq!(negotiate(&accept("application/json")).unwrap(), Json);
        assert_eq!(
            negotiate(&accept("application/graphql-response+json")).unwrap(),
            GraphqlResponseJson
        );
        assert_eq!(
            negotiate(&accept(
                "application/graphql-response+json, application/json;q=0.9"
            ))
            .unwrap(),
            GraphqlResponseJson
        );
        assert_eq!(
            negotiate(&accept(
                "application/json;q=0.5, application/graphql-response+json;q=0.8"
            ))
            .unwrap(),
            GraphqlResponseJson
        );
        assert_eq!(
            negotiate(&accept("text/html, application/json;q=0"))
                .unwrap_err()
                .status,
            StatusCode::NOT_ACCEPTABLE
        );
    }

    #[test]
    fn only_utf8_json_bodies_are_read() {
        let content_type = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(CONTENT_TYPE, HeaderValue::from_str(value).unwrap());
            check_content_type(&headers).map_err(|refusal| refusal.code)
        };
        assert_eq!(content_type("application/json"), Ok(()));
        assert_eq!(content_type("Application/JSON; charset=UTF-8"), Ok(()));
        assert_eq!(
            content_type("application/json; charset=latin1"),
            Err("UNSUPPORTED_CONTENT_TYPE")
        );
        assert_eq!(content_type("text/plain"), Err("UNSUPPORTED_CONTENT_TYPE"));
        assert_eq!(
            check_content_type(&HeaderMap::new()).map_err(|r| r.code),
            Err("MISSING_CONTENT_TYPE_HEADER")
        );
    }

    #[test]
    fn parameters_of_the_wrong_type_are_bad_requests() {
        let request = |params: Value| match params {
            Value::Object(map) => graphql_request(map).map(|_| ()).map_err(|r| r.code),
            _ => unreachable!(),
        };
        assert_eq!(
            request(json!({ "query": "{ a }", "operationName": null, "variables": null })),
            Ok(())
        );
        assert_eq!(request(json!({ "qeury": "{ a }" })), Err("BAD_REQUEST"));
        assert_eq!(request(json!({ "query": 1 })), Err("BAD_REQUEST"));
        assert_eq!(
            request(json!({ "query": "{ a }", "variables": "{}" })),
            Err("BAD_REQUEST")
        );
        assert_eq!(
            request(json!({ "query": "{ a }", "extensions": [] })),
            Err("BAD_REQUEST")
        );
    }
}
