//! The GraphQL playground, as a person uses it: a real headless Chromium
//! with no network beyond loopback opens `GET /graphql` on the router, runs
//! `{ categories { name } }` from the editor and sees the demo categories;
//! with an access token pasted into the Headers pane it runs `{ me { email } }`
//! as that user. No request of the page leaves loopback: GraphiQL and its
//! files come from the janta binary. A screenshot is left in
//! `<target>/playground.png`.
//!
//! Also, without a browser: the files answer 200 with their content types
//! and cache headers, and with the playground switched off (production's
//! default) none of it is served.
//!
//! The browser test needs the Debian package `chromium` (`scripts/test`
//! installs it); it fails without it unless `JANTA_SKIP_BROWSER=1`.

mod support;

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::Platform;

/// What a browser sends when a person opens the page.
const BROWSER_ACCEPT: &str =
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

/// The vendored files and the content type each must have.
const ASSETS: &[(&str, &str)] = &[
    ("graphiql-3.9.0.min.js", "text/javascript; charset=utf-8"),
    ("graphiql-3.9.0.min.css", "text/css; charset=utf-8"),
    (
        "react-18.3.1.production.min.js",
        "text/javascript; charset=utf-8",
    ),
    (
        "react-dom-18.3.1.production.min.js",
        "text/javascript; charset=utf-8",
    ),
    ("playground.js", "text/javascript; charset=utf-8"),
    ("playground.css", "text/css; charset=utf-8"),
];

async fn get(url: &str, accept: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(url)
        .header("accept", accept)
        .send()
        .await
        .expect("router answers")
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test]
async fn the_page_and_its_files_are_served_by_the_router() {
    let p = Platform::start().await;
    let base = format!("http://127.0.0.1:{}", p.port);

    let page = get(&format!("{base}/graphql"), BROWSER_ACCEPT).await;
    assert_eq!(page.status(), 200);
    assert_eq!(header(&page, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&page, "cache-control"), "no-cache");
    let html = page.text().await.unwrap();
    assert!(html.contains("Janta GraphQL playground"), "{html}");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "the page loads nothing from another host: {html}"
    );

    for (name, content_type) in ASSETS {
        let url = format!("{base}/graphql/assets/{name}");
        let response = get(&url, "*/*").await;
        assert_eq!(response.status(), 200, "{url}");
        assert_eq!(header(&response, "content-type"), *content_type, "{url}");
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        let cache = header(&response, "cache-control").to_string();
        if !name.starts_with("playground") {
            assert_eq!(cache, "public, max-age=31536000, immutable", "{url}");
        } else {
            assert_eq!(cache, "no-cache", "{url}");
        }
        assert!(html.contains(&format!("/graphql/assets/{name}")), "{name}");
        let body = response.bytes().await.unwrap();
        let on_disk = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("assets/graphiql")
                .join(name),
        )
        .unwrap();
        assert!(body == on_disk, "{name} is served byte for byte");
    }
    let missing = get(&format!("{base}/graphql/assets/nothing.js"), "*/*").await;
    assert_eq!(missing.status(), 404);

    // GraphQL clients are unaffected, over GET as over POST.
    let graphql = get(
        &format!("{base}/graphql?query=%7B__typename%7D"),
        "application/graphql-response+json, application/json",
    )
    .await;
    assert_eq!(graphql.status(), 200);
    let body: Value = graphql.json().await.unwrap();
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
}

/// `JANTA_PLAYGROUND_ENABLED=false` is what production runs with (its
/// default): a browser at `/graphql` gets no page, and no file is served.
#[tokio::test]
async fn switched_off_nothing_of_the_playground_is_served() {
    let p = Platform::start_with(&[("JANTA_PLAYGROUND_ENABLED", "false")]).await;
    let base = format!("http://127.0.0.1:{}", p.port);

    let page = get(&format!("{base}/graphql"), BROWSER_ACCEPT).await;
    let content_type = header(&page, "content-type").to_string();
    let body = page.text().await.unwrap();
    assert!(
        !content_type.starts_with("text/html") && !body.contains("playground"),
        "{content_type}: {body}"
    );
    for (name, _) in ASSETS {
        let response = get(&format!("{base}/graphql/assets/{name}"), "*/*").await;
        assert!(
            !header(&response, "content-type").starts_with(&name_type(name)),
            "{name} is still served"
        );
    }
    // The API itself is untouched.
    let data = p.gql.data(None, "{ __typename }", json!({})).await;
    assert_eq!(data["__typename"], "Query");
}

fn name_type(name: &str) -> String {
    if name.ends_with(".css") {
        "text/css".into()
    } else {
        "text/javascript".into()
    }
}

#[tokio::test]
async fn a_person_runs_queries_in_the_playground_offline() {
    let started = Instant::now();
    let Some(chromium) = chromium() else {
        return;
    };
    let p = Platform::start().await;
    let expected: Vec<String> = p.gql.data(None, "{ categories { name } }", json!({})).await
        ["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert!(expected.iter().any(|name| name == "Pain & Fever"));

    let browser = Browser::launch(&chromium).await;
    let mut page = browser.page().await;
    page.call("Network.enable", json!({})).await;
    page.call("Page.enable", json!({})).await;
    let url = format!("http://127.0.0.1:{}/graphql", p.port);
    page.call("Page.navigate", json!({ "url": url })).await;

    // GraphiQL is up once its query editor exists.
    page.wait_for(
        "the query editor",
        "!!document.querySelector('.graphiql-query-editor .CodeMirror')",
        |v| v == &json!(true),
    )
    .await;
    // The docs explorer, history, and the variables/headers editors.
    for part in [
        "[aria-label*='Documentation Explorer']",
        "[aria-label*='History']",
        ".graphiql-editor-tools button[data-name='variables']",
        ".graphiql-editor-tools button[data-name='headers']",
    ] {
        let found = page
            .eval(&format!("!!document.querySelector({})", json!(part)))
            .await;
        assert_eq!(found, json!(true), "GraphiQL shows {part}");
    }

    // The docs explorer shows the schema the page introspected.
    page.eval("document.querySelector(\"[aria-label*='Documentation Explorer']\").click()")
        .await;
    page.wait_for(
        "the docs explorer",
        "document.querySelector('.graphiql-doc-explorer')?.innerText ?? ''",
        |v| v.as_str().is_some_and(|text| text.contains("Query")),
    )
    .await;

    // A person writes the query and runs it.
    set_editor(
        &mut page,
        ".graphiql-query-editor",
        "{ categories { name } }",
    )
    .await;
    page.eval("document.querySelector('.graphiql-execute-button').click()")
        .await;
    let response = response_pane(&mut page, |body| body["data"]["categories"].is_array()).await;
    let shown: Vec<&str> = response["data"]["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(shown.contains(&"Pain & Fever"), "{response}");
    assert_eq!(shown, expected);

    // The access token goes into the Headers pane, as the README says.
    let token = p.login("customer@janta.test").await;
    page.eval(
        "document.querySelector('.graphiql-editor-tools button[data-name=\"headers\"]').click()",
    )
    .await;
    set_editor(
        &mut page,
        ".graphiql-editor-tool .graphiql-editor:not(.hidden)",
        &json!({ "Authorization": format!("Bearer {token}") }).to_string(),
    )
    .await;
    set_editor(&mut page, ".graphiql-query-editor", "{ me { email } }").await;
    page.eval("document.querySelector('.graphiql-execute-button').click()")
        .await;
    let response = response_pane(&mut page, |body| !body["data"]["me"].is_null()).await;
    assert_eq!(response["data"]["me"]["email"], "customer@janta.test");

    page.screenshot(&target_dir().join("playground.png")).await;

    let requested: Vec<String> = page
        .events
        .iter()
        .filter(|e| e["method"] == "Network.requestWillBeSent")
        .filter_map(|e| e["params"]["request"]["url"].as_str().map(String::from))
        .collect();
    assert!(
        requested
            .iter()
            .any(|u| u.ends_with("/graphql/assets/graphiql-3.9.0.min.js")),
        "the page's requests were seen: {requested:?}"
    );
    let outside: Vec<&String> = requested.iter().filter(|u| !is_loopback(u)).collect();
    assert!(outside.is_empty(), "requests left loopback: {outside:?}");

    drop(browser);
    eprintln!("the browser test took {:?}", started.elapsed());
}

/// Whether a requested URL stays on this machine (`data:` and `blob:` URLs
/// never leave the page).
fn is_loopback(url: &str) -> bool {
    if url.starts_with("data:") || url.starts_with("blob:") {
        return true;
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    matches!(scheme, "http" | "https" | "ws" | "wss") && loopback
}

/// Replaces the text of the CodeMirror editor under `selector`, as typing
/// would (GraphiQL sees the change event).
async fn set_editor(page: &mut Page, selector: &str, text: &str) {
    let script = format!(
        "(() => {{ const el = document.querySelector({sel}); \
         if (!el) return 'missing'; el.CodeMirror.setValue({text}); return 'ok'; }})()",
        sel = json!(format!("{selector} .CodeMirror")),
        text = json!(text),
    );
    assert_eq!(page.eval(&script).await, json!("ok"), "editor {selector}");
}

/// Waits until the response pane holds JSON satisfying `done`; returns it.
async fn response_pane(page: &mut Page, done: impl Fn(&Value) -> bool) -> Value {
    let text = page
        .wait_for(
            "the response",
            "(() => { const el = document.querySelector('.graphiql-response .CodeMirror'); \
             return el ? el.CodeMirror.getValue() : ''; })()",
            |v| {
                v.as_str()
                    .and_then(|t| serde_json::from_str::<Value>(t).ok())
                    .is_some_and(|body| done(&body))
            },
        )
        .await;
    serde_json::from_str(text.as_str().unwrap()).unwrap()
}

/// `<target>` (the cargo target directory), from the binary under test.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_janta"))
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/janta")
        .to_path_buf()
}

/// The Chromium binary, or `None` when `JANTA_SKIP_BROWSER=1` says to skip
/// the browser test; panics when it is missing otherwise.
fn chromium() -> Option<PathBuf> {
    if std::env::var("JANTA_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!("!!! SKIPPED: JANTA_SKIP_BROWSER=1, the playground was not tested in a browser");
        return None;
    }
    for candidate in ["chromium", "chromium-browser", "google-chrome"] {
        let works = Command::new(candidate)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if works {
            return Some(PathBuf::from(candidate));
        }
    }
    panic!(
        "Chromium is not installed: `apt-get install chromium` (scripts/test does it), \
         or set JANTA_SKIP_BROWSER=1 to skip this test"
    );
}

/// A headless Chromium of this test, in its own process group and profile,
/// with no network but loopback (every other address goes to a proxy that
/// does not exist).
struct Browser {
    child: Child,
    profile: PathBuf,
    port: u16,
}

impl Browser {
    async fn launch(chromium: &Path) -> Browser {
        use std::os::unix::process::CommandExt;
        let profile =
            std::env::temp_dir().join(format!("janta-chromium-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&profile).unwrap();
        let child = Command::new(chromium)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--proxy-server=127.0.0.1:9",
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("chromium starts");
        let mut browser = Browser {
            child,
            profile,
            port: 0,
        };
        browser.port = browser.devtools_port().await;
        browser
    }

    /// The DevTools port Chromium chose (it writes it into the profile).
    async fn devtools_port(&mut self) -> u16 {
        let file = self.profile.join("DevToolsActivePort");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(port) = std::fs::read_to_string(&file)
                .ok()
                .and_then(|text| text.lines().next()?.trim().parse().ok())
            {
                return port;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("chromium exited at start-up: {status}");
            }
            assert!(Instant::now() < deadline, "chromium did not open DevTools");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Connects to the page Chromium opened.
    async fn page(&self) -> Page {
        let targets: Value = reqwest::get(format!("http://127.0.0.1:{}/json/list", self.port))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let url = targets
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["type"] == "page")
            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            .unwrap_or_else(|| panic!("no page target: {targets}"))
            .to_string();
        Page {
            socket: ws::Socket::connect(&url).await,
            next_id: 0,
            events: Vec::new(),
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The whole group: Chromium's renderer and helper processes too.
        let pid = self.child.id() as i32;
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// A page driven over the Chrome DevTools Protocol.
struct Page {
    socket: ws::Socket,
    next_id: u64,
    /// Every event received so far (`{"method": …, "params": …}`).
    events: Vec<Value>,
}

impl Page {
    /// Sends a command and returns its result; events met on the way are
    /// kept in `events`.
    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let message = json!({ "id": id, "method": method, "params": params });
        self.socket.send(&message.to_string()).await;
        let deadline = Duration::from_secs(20);
        loop {
            let text = tokio::time::timeout(deadline, self.socket.receive())
                .await
                .unwrap_or_else(|_| panic!("no answer to {method}"));
            let reply: Value = serde_json::from_str(&text).unwrap();
            if reply["id"] == id {
                if let Some(error) = reply.get("error") {
                    panic!("{method} failed: {error}");
                }
                return reply["result"].clone();
            }
            if reply.get("method").is_some() {
                self.events.push(reply);
            }
        }
    }

    /// The value of a JavaScript expression in the page.
    async fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
            )
            .await;
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("{expression} threw: {exception}");
        }
        result["result"]["value"].clone()
    }

    /// Evaluates `expression` until `done` accepts its value (20 s at most).
    async fn wait_for(
        &mut self,
        what: &str,
        expression: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let value = self.eval(expression).await;
            if done(&value) {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "{what} did not appear in the playground (last: {value})"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn screenshot(&mut self, path: &Path) {
        use base64::Engine;
        let shot = self
            .call("Page.captureScreenshot", json!({ "format": "png" }))
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        std::fs::write(path, png).unwrap();
        eprintln!("screenshot: {}", path.display());
    }
}

/// The little of WebSocket (RFC 6455) a DevTools client needs: the client
/// handshake, masked text frames out, text frames in.
mod ws {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    pub struct Socket {
        stream: TcpStream,
    }

    impl Socket {
        /// Opens `ws://host:port/path`.
        pub async fn connect(url: &str) -> Socket {
            use base64::Engine;
            let rest = url.strip_prefix("ws://").expect("a ws:// URL");
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let mut stream = TcpStream::connect(authority).await.expect("DevTools port");
            let key =
                base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().as_bytes());
            let request = format!(
                "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n\
                 Sec-WebSocket-Version: 13\r\n\r\n"
            );
            stream.write_all(request.as_bytes()).await.unwrap();
            // The answer's head ends at the first blank line; DevTools sends
            // nothing more until asked.
            let mut head = Vec::new();
            while !head.ends_with(b"\r\n\r\n") {
                head.push(stream.read_u8().await.expect("handshake answer"));
            }
            let head = String::from_utf8_lossy(&head);
            assert!(
                head.starts_with("HTTP/1.1 101"),
                "handshake refused: {head}"
            );
            Socket { stream }
        }

        /// Sends one text message.
        pub async fn send(&mut self, text: &str) {
            let payload = text.as_bytes();
            let mut frame = vec![0x81u8];
            match payload.len() {
                n if n < 126 => frame.push(0x80 | n as u8),
                n if n <= u16::MAX as usize => {
                    frame.push(0x80 | 126);
                    frame.extend_from_slice(&(n as u16).to_be_bytes());
                }
                n => {
                    frame.push(0x80 | 127);
                    frame.extend_from_slice(&(n as u64).to_be_bytes());
                }
            }
            let mask: [u8; 4] = uuid::Uuid::new_v4().as_bytes()[..4].try_into().unwrap();
            frame.extend_from_slice(&mask);
            frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
            self.stream.write_all(&frame).await.unwrap();
        }

        /// Receives the next text message (fragments joined, pings
        /// answered).
        pub async fn receive(&mut self) -> String {
            let mut message = Vec::new();
            loop {
                let first = self.stream.read_u8().await.expect("DevTools frame");
                let second = self.stream.read_u8().await.unwrap();
                let len = match second & 0x7f {
                    126 => self.stream.read_u16().await.unwrap() as usize,
                    127 => self.stream.read_u64().await.unwrap() as usize,
                    n => n as usize,
                };
                let mask = if second & 0x80 != 0 {
                    let mut mask = [0u8; 4];
                    self.stream.read_exact(&mut mask).await.unwrap();
                    Some(mask)
                } else {
                    None
                };
                let mut payload = vec![0u8; len];
                self.stream.read_exact(&mut payload).await.unwrap();
                if let Some(mask) = mask {
                    payload
                        .iter_mut()
                        .enumerate()
                        .for_each(|(i, b)| *b ^= mask[i % 4]);
                }
                match first & 0x0f {
                    0x8 => panic!("DevTools closed the connection"),
                    0x9 => {
                        let mut pong = vec![0x8a, 0x80 | payload.len() as u8, 0, 0, 0, 0];
                        pong.extend_from_slice(&payload);
                        self.stream.write_all(&pong).await.unwrap();
                        continue;
                    }
                    0xa => continue,
                    _ => message.extend_from_slice(&payload),
                }
                if first & 0x80 != 0 {
                    return String::from_utf8(message).expect("UTF-8 text");
                }
            }
        }
    }
}

#[test]
fn only_loopback_addresses_count_as_loopback() {
    for url in [
        "http://127.0.0.1:4000/graphql",
        "http://localhost/x",
        "ws://[::1]:9222/devtools",
        "data:,",
        "blob:http://127.0.0.1/abc",
    ] {
        assert!(is_loopback(url), "{url}");
    }
    for url in [
        "https://unpkg.com/graphiql",
        "http://10.0.0.1/",
        "http://127.0.0.1.example.com/",
        "http://user@example.com/",
        "chrome-extension://abc/x.js",
    ] {
        assert!(!is_loopback(url), "{url}");
    }
}
