//! End to end: `regml explore` driven in headless Chromium through ChromeDriver (WebDriver).
//! The test clicks and changes controls and checks that the numbers and the pictures change.
//!
//! Chromium and ChromeDriver come from Debian (`chromium`, `chromium-driver`), installed by
//! `scripts/install-deps.sh`, which the test command `bash scripts/test.sh` runs first. The
//! test fails, naming that script, when they are missing.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the child process when dropped.
struct Guard(Child);
impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 request with `Connection: close`; returns the body (chunked or not).
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> Value {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    )
    .unwrap();
    // read the head, then exactly the body (the server may keep the connection open)
    let mut r = BufReader::new(s);
    let mut head = String::new();
    loop {
        let mut l = String::new();
        if r.read_line(&mut l).expect("response head") == 0 || l == "\r\n" {
            break;
        }
        head.push_str(&l.to_ascii_lowercase());
    }
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse::<usize>().expect("content length"));
    let mut body = Vec::new();
    match length {
        Some(n) => {
            body.resize(n, 0);
            r.read_exact(&mut body).expect("body");
        }
        None if head.contains("transfer-encoding: chunked") => loop {
            let mut size = String::new();
            r.read_line(&mut size).expect("chunk size");
            let n = usize::from_str_radix(size.trim(), 16).expect("hex size");
            let mut chunk = vec![0u8; n + 2];
            r.read_exact(&mut chunk).expect("chunk");
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        },
        None => {
            r.read_to_end(&mut body).expect("body");
        }
    }
    serde_json::from_slice(&body).unwrap_or(Value::Null)
}

struct Browser {
    port: u16,
    session: String,
    _driver: Guard,
}

impl Browser {
    fn start() -> Browser {
        let driver = which("chromedriver").unwrap_or_else(|| {
            panic!("chromedriver not found: run `bash scripts/install-deps.sh` (Debian chromium-driver)")
        });
        let chromium = which("chromium").unwrap_or_else(|| {
            panic!("chromium not found: run `bash scripts/install-deps.sh` (Debian chromium)")
        });
        let port = free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let guard = Guard(child);
        let t0 = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1500,1100"]
            }
        }}});
        let r = http(port, "POST", "/session", Some(&caps));
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {r}"))
            .to_string();
        Browser {
            port,
            session,
            _driver: guard,
        }
    }

    fn goto(&self, url: &str) {
        let r = http(
            self.port,
            "POST",
            &format!("/session/{}/url", self.session),
            Some(&json!({ "url": url })),
        );
        assert!(r["value"].is_null(), "navigate: {r}");
    }

    /// Runs `script` (a function body) in the page and returns its value.
    fn js(&self, script: &str) -> Value {
        let r = http(
            self.port,
            "POST",
            &format!("/session/{}/execute/sync", self.session),
            Some(&json!({ "script": script, "args": [] })),
        );
        if r["value"].get("error").is_some() {
            panic!("script failed: {script}\n{r}");
        }
        r["value"].clone()
    }

    /// Polls `script` until it returns true.
    fn wait(&self, what: &str, script: &str) {
        let t0 = Instant::now();
        while self.js(script) != json!(true) {
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "timed out waiting for {what}; error line: {}",
                self.js("return document.getElementById('error').textContent")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn text(&self, id: &str) -> String {
        self.js(&format!(
            "return document.getElementById('{id}').textContent"
        ))
        .as_str()
        .unwrap_or("")
        .to_string()
    }

    /// A hash of a canvas's pixels (changes when the picture changes).
    fn canvas(&self, id: &str) -> String {
        self.js(&format!(
            "const d = document.getElementById('{id}').toDataURL(); let h = 0; \
             for (let i = 0; i < d.length; i++) h = (h * 31 + d.charCodeAt(i)) | 0; return String(h);"
        ))
        .as_str()
        .unwrap_or("")
        .to_string()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(
            self.port,
            "DELETE",
            &format!("/session/{}", self.session),
            None,
        );
    }
}

fn which(name: &str) -> Option<String> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
            .map(|p| p.to_string_lossy().into_owned())
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn explorer_in_headless_chromium() {
    let (_server, port) = start_server();
    let url = format!("http://127.0.0.1:{port}/");

    let b = Browser::start();
    // state in the URL: xor with the product feature
    b.goto(&format!(
        "{url}#shape=xor&features=x1,x2,x1_x2&opt=adam&lr=0.03"
    ));
    b.wait(
        "the first run",
        "return document.getElementById('train-loss').textContent !== ''",
    );
    assert_eq!(b.text("epoch"), "0");
    assert_eq!(
        b.js("return document.getElementById('shape').value"),
        json!("xor")
    );
    let loss0 = b.text("train-loss");
    let heat0 = b.canvas("heatmap");
    let net0 = b.canvas("network");

    // Step trains one epoch in regml: the counter, the loss and the heat map change
    b.js("document.getElementById('step').click(); return true");
    b.wait(
        "epoch 1",
        "return document.getElementById('epoch').textContent === '1'",
    );
    assert_ne!(b.text("train-loss"), loss0);
    assert_ne!(b.canvas("heatmap"), heat0);
    assert_ne!(
        b.canvas("network"),
        net0,
        "the neuron diagram follows the weights"
    );
    // view toggles redraw the heat map without training
    let heat1 = b.canvas("heatmap");
    b.js("const d = document.getElementById('discretize'); d.checked = true; d.dispatchEvent(new Event('change')); return true");
    assert_ne!(b.canvas("heatmap"), heat1);
    assert_eq!(b.text("epoch"), "1");

    // Play runs epochs until paused; xor with x1*x2 is learned
    b.js("document.getElementById('play').click(); return true");
    b.wait(
        "30 epochs",
        "return +document.getElementById('epoch').textContent >= 30",
    );
    b.js("document.getElementById('play').click(); return true");
    let acc = b.text("accuracy");
    let test_acc: f64 = acc
        .split_whitespace()
        .last()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("accuracy text {acc:?}"));
    assert!(test_acc > 0.9, "test accuracy {test_acc}");
    let chart = b.canvas("loss-chart");

    // changing the regularization while running: the penalty enters the loss at once
    std::thread::sleep(Duration::from_millis(300));
    let epoch = b.text("epoch");
    let before: f64 = b.text("train-loss").parse().unwrap();
    b.js("const r = document.getElementById('reg'); r.value = 'l2'; r.dispatchEvent(new Event('change')); \
          const t = document.getElementById('rate'); t.value = '0.1'; t.dispatchEvent(new Event('change')); return true");
    assert_eq!(
        b.text("epoch"),
        epoch,
        "a live change does not restart the run"
    );
    assert!(b
        .js("return location.hash")
        .as_str()
        .unwrap()
        .contains("reg=l2"));
    b.js("document.getElementById('step').click(); return true");
    let next = (epoch.parse::<u64>().unwrap() + 1).to_string();
    b.wait(
        "one more epoch",
        &format!("return document.getElementById('epoch').textContent === '{next}'"),
    );
    let after: f64 = b.text("train-loss").parse().unwrap();
    assert!(
        after > before,
        "L2 penalty in the loss: {before} -> {after}"
    );
    assert_ne!(b.canvas("loss-chart"), chart);

    // changing the data set starts a new run
    b.js("const s = document.getElementById('shape'); s.value = 'circle'; s.dispatchEvent(new Event('change')); return true");
    b.wait(
        "a new run",
        "return document.getElementById('epoch').textContent === '0'",
    );
    // circle is the default, so the URL no longer names a shape
    assert!(!b
        .js("return location.hash")
        .as_str()
        .unwrap()
        .contains("shape="));

    // geometry: a large lambda under L1 puts the solution on a corner
    b.js("document.getElementById('tab-geometry').click(); return true");
    b.wait(
        "the geometry",
        "return document.getElementById('geo-solution').textContent !== ''",
    );
    let sol0 = b.text("geo-solution");
    let pic0 = b.canvas("geo");
    b.js("const l = document.getElementById('geo-lambda'); l.value = '1.6'; l.dispatchEvent(new Event('input')); return true");
    b.wait(
        "a new solution",
        &format!(
            "return document.getElementById('geo-solution').textContent !== {}",
            json!(sol0)
        ),
    );
    assert!(
        b.text("geo-solution").contains("0 (exactly)"),
        "{}",
        b.text("geo-solution")
    );
    assert_ne!(b.canvas("geo"), pic0);
    // switching to L2 at the same lambda: both coefficients nonzero
    b.js("const p = document.getElementById('geo-penalty'); p.value = 'l2'; p.dispatchEvent(new Event('input')); return true");
    b.wait(
        "the L2 solution",
        "return !document.getElementById('geo-solution').textContent.includes('exactly')",
    );

    // path: moving the lambda cursor changes the coefficients
    b.js("document.getElementById('tab-path').click(); return true");
    b.wait(
        "the path",
        "return document.getElementById('path-coefs').rows.length === 11",
    );
    let lam0 = b.text("path-lambda");
    let table0 = b.text("path-coefs");
    let pic0 = b.canvas("path-canvas");
    b.js("const c = document.getElementById('path-cursor'); c.value = '80'; c.dispatchEvent(new Event('input')); return true");
    assert_ne!(b.text("path-lambda"), lam0);
    assert_ne!(b.text("path-coefs"), table0);
    assert_ne!(b.canvas("path-canvas"), pic0);
    assert!(b
        .js("return location.hash")
        .as_str()
        .unwrap()
        .contains("pidx=80"));
    // the gap shown is the path's certificate
    let gap: f64 = b.text("path-gap").parse().unwrap();
    assert!(gap <= 1e-6, "gap {gap}");
}

/// Starts `regml explore --port 0`; returns the guard and the port.
fn start_server() -> (Guard, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_regml"))
        .args(["explore", "--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start regml explore");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    (Guard(child), port)
}

#[test]
fn explorer_api_rejects_bad_requests_and_keeps_serving() {
    let (_server, port) = start_server();
    let err = |path: &str, body: Value| {
        let r = http(port, "POST", path, Some(&body));
        r["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{path}: {r}"))
            .to_string()
    };
    assert!(err("/api/reset", json!({"config": {"hidden": [100]}})).contains("hidden"));
    assert!(err("/api/reset", json!({"config": {"points": 10_000_000}})).contains("points"));
    assert!(err("/api/reset", json!({"config": {"colour": 1}})).contains("unknown field"));
    assert!(err("/api/step", json!({"run": 99, "epochs": 1, "config": {}})).contains("no run 99"));
    assert!(err(
        "/api/geometry",
        json!({"center": [1, 1], "correlation": 1.5, "lambda": 1, "alpha": 1})
    )
    .contains("positive definite"));
    assert!(err("/api/path", json!({"dataset": "nope", "alpha": 1})).contains("unknown"));
    assert!(err("/api/nothing", json!({})).contains("unknown endpoint"));
    let big = json!({ "config": { "features": vec!["x1"; 20_000] } });
    assert!(err("/api/reset", big).contains("over 65536 bytes"));
    // the wrong host or content type is refused
    let raw = |head: &str| {
        let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(c, "{head}").unwrap();
        let mut out = String::new();
        BufReader::new(c).read_line(&mut out).unwrap();
        out
    };
    assert!(
        raw("GET / HTTP/1.1\r\nHost: evil.example:80\r\nConnection: close\r\n\r\n").contains("403")
    );
    assert!(raw(&format!(
        "POST /api/reset HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    ))
    .contains("415"));
    // still serving: a valid run trains
    let r = http(port, "POST", "/api/reset", Some(&json!({"config": {}})));
    let run = r["run"].as_u64().expect("run id");
    let s = http(
        port,
        "POST",
        "/api/step",
        Some(&json!({"run": run, "epochs": 3, "config": {}})),
    );
    assert_eq!(s["report"]["epoch"], json!(3));
    assert_eq!(
        s["heatmap"]["values"].as_array().map(|v| v.len()),
        Some(3600)
    );
}
