//! `regml explore`: a local web page whose computations run in regml.
//!
//! The server binds to the loopback interface only and answers:
//! - `GET /`: the page (HTML, CSS and JavaScript in one file, built into the binary);
//! - `POST /api/reset`: a new playground run from its settings, with its points, numbers
//!   and output heat map;
//! - `POST /api/step`: live setting changes (learning rate, regularization, weight decay),
//!   then some epochs of training;
//! - `POST /api/geometry`: the exact penalized solution of a two-feature problem, its
//!   constraint set and loss contours;
//! - `POST /api/path`: a glmnet path of an embedded data set.
//!
//! Request bodies are limited to 64 KiB and at most 32 runs are kept (the oldest is dropped).
//! Requests must name `127.0.0.1` or `localhost` as their host, and API calls must carry a
//! JSON content type, so other web sites open in the same browser cannot drive the server.

use anyhow::{Context, Result};
use regml::demo::geometry;
use regml::linear::{fit_path, ElasticNetParams};
use regml::playground::{Playground, PlaygroundConfig};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{Read, Write};

const PAGE: &str = include_str!("../assets/explorer.html");
const MAX_BODY: u64 = 64 * 1024;
const MAX_RUNS: usize = 32;
const HEATMAP: usize = 60;
const NEURON_MAP: usize = 20;

/// Options of `regml explore`.
#[derive(clap::Args, Debug)]
pub struct ExploreCmd {
    /// Port on 127.0.0.1 (0 picks a free one)
    #[arg(long, default_value_t = 8787)]
    port: u16,
}

struct State {
    runs: BTreeMap<u64, Playground>,
    next: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetReq {
    config: PlaygroundConfig,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepReq {
    run: u64,
    epochs: usize,
    config: PlaygroundConfig,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GeometryReq {
    center: [f64; 2],
    correlation: f64,
    lambda: f64,
    alpha: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PathReq {
    dataset: String,
    alpha: f64,
}

/// Serves until the process is stopped.
pub fn run(cmd: ExploreCmd) -> Result<()> {
    let server = tiny_http::Server::http(("127.0.0.1", cmd.port))
        .map_err(|e| anyhow::anyhow!("cannot listen on 127.0.0.1:{}: {e}", cmd.port))?;
    let port = server
        .server_addr()
        .to_ip()
        .map(|a| a.port())
        .context("listening address")?;
    outln!("regml explore: http://127.0.0.1:{port}/  (Ctrl-C stops)");
    std::io::stdout().flush()?;
    let mut state = State {
        runs: BTreeMap::new(),
        next: 1,
    };
    for mut req in server.incoming_requests() {
        let (status, ctype, body) = handle(&mut state, &mut req);
        let header = tiny_http::Header::from_bytes(&b"Content-Type"[..], ctype.as_bytes())
            .expect("static header");
        let resp = tiny_http::Response::from_data(body)
            .with_status_code(status)
            .with_header(header);
        // a client that went away is not the server's problem
        let _ = req.respond(resp);
    }
    Ok(())
}

fn header<'a>(req: &'a tiny_http::Request, name: &str) -> Option<&'a str> {
    req.headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

fn handle(state: &mut State, req: &mut tiny_http::Request) -> (u16, &'static str, Vec<u8>) {
    let method = req.method().as_str().to_string();
    let url = req.url().split('?').next().unwrap_or("").to_string();
    // only pages addressed to this machine by name or number (no DNS rebinding)
    let host = header(req, "Host").unwrap_or("");
    let host_name = host.rsplit_once(':').map_or(host, |(h, _)| h);
    if !matches!(host_name, "127.0.0.1" | "localhost") {
        return (403, "text/plain", b"forbidden host".to_vec());
    }
    // JSON bodies only: a cross-site page cannot send them without a preflight this server
    // never grants
    if method == "POST"
        && !header(req, "Content-Type").is_some_and(|c| c.starts_with("application/json"))
    {
        return (415, "text/plain", b"send application/json".to_vec());
    }
    match (method.as_str(), url.as_str()) {
        ("GET", "/") | ("GET", "/index.html") => {
            (200, "text/html; charset=utf-8", PAGE.as_bytes().to_vec())
        }
        ("POST", api) if api.starts_with("/api/") => {
            let mut body = Vec::new();
            let read = req.as_reader().take(MAX_BODY + 1).read_to_end(&mut body);
            let result = match read {
                Err(e) => Err(anyhow::anyhow!("reading the request: {e}")),
                Ok(_) if body.len() as u64 > MAX_BODY => {
                    Err(anyhow::anyhow!("request body over {MAX_BODY} bytes"))
                }
                Ok(_) => api_call(state, api, &body),
            };
            match result {
                Ok(v) => (200, "application/json", v.to_string().into_bytes()),
                Err(e) => (
                    400,
                    "application/json",
                    json!({ "error": format!("{e:#}") })
                        .to_string()
                        .into_bytes(),
                ),
            }
        }
        _ => (404, "text/plain", b"not found".to_vec()),
    }
}

fn points(p: &[([f64; 2], f64)]) -> Value {
    Value::Array(p.iter().map(|(x, y)| json!([x[0], x[1], y])).collect())
}

fn api_call(state: &mut State, api: &str, body: &[u8]) -> Result<Value> {
    match api {
        "/api/reset" => {
            let r: ResetReq = serde_json::from_slice(body).context("reset request")?;
            let pg = Playground::new(r.config)?;
            let id = state.next;
            state.next += 1;
            let out = json!({
                "run": id,
                "train": points(&pg.train),
                "test": points(&pg.test),
                "report": pg.report()?,
                "heatmap": { "n": HEATMAP, "values": pg.heatmap(HEATMAP)? },
                "network": pg.network_view(NEURON_MAP)?,
            });
            state.runs.insert(id, pg);
            while state.runs.len() > MAX_RUNS {
                let oldest = *state.runs.keys().next().expect("non-empty");
                state.runs.remove(&oldest);
            }
            Ok(out)
        }
        "/api/step" => {
            let r: StepReq = serde_json::from_slice(body).context("step request")?;
            let pg = state
                .runs
                .get_mut(&r.run)
                .with_context(|| format!("no run {} (reset to start one)", r.run))?;
            pg.update_live(&r.config)?;
            let report = pg.step(r.epochs)?;
            Ok(json!({
                "report": report,
                "heatmap": { "n": HEATMAP, "values": pg.heatmap(HEATMAP)? },
                "network": pg.network_view(NEURON_MAP)?,
            }))
        }
        "/api/geometry" => {
            let r: GeometryReq = serde_json::from_slice(body).context("geometry request")?;
            if !((0.0..=1e6).contains(&r.lambda) && (0.0..=1.0).contains(&r.alpha)) {
                anyhow::bail!("lambda must be in [0, 1e6] and alpha in [0, 1]");
            }
            if !r.center.iter().all(|v| (-100.0..=100.0).contains(v)) {
                anyhow::bail!("the center must lie within [-100, 100]^2");
            }
            let q = geometry::Quadratic {
                center: r.center,
                h: [1.0, r.correlation, 1.0],
            };
            q.check()?;
            let b = geometry::solve_penalized(&q, r.lambda, r.alpha);
            let radius = geometry::radius_of(b, r.alpha);
            let level = q.loss(b);
            let contours: Vec<Vec<(f64, f64)>> = [0.5, 1.0, 1.5, 2.0]
                .iter()
                .map(|m| q.contour(level * m * m, 120))
                .collect();
            Ok(json!({
                "solution": b,
                "radius": radius,
                "loss": level,
                "ball": if radius > 0.0 { geometry::ball(radius, r.alpha, 240) } else { vec![] },
                "contours": contours,
            }))
        }
        "/api/path" => {
            let r: PathReq = serde_json::from_slice(body).context("path request")?;
            let mut family = regml::data::dataset_info(&r.dataset)?.family;
            let (x, mut y, names) = regml::data::dataset_xy(&r.dataset)?;
            if r.dataset == "digits" {
                // one digit against the rest
                y.iter_mut().for_each(|v| *v = f64::from(*v == 0.0));
                family = regml::Family::Binomial;
            }
            let params = ElasticNetParams {
                family,
                alpha: r.alpha,
                ..ElasticNetParams::default()
            };
            let path = fit_path(x.view(), ndarray::ArrayView1::from(&y), None, &params)?;
            let coefs: Vec<Vec<f64>> = path.coefs.rows().into_iter().map(|r| r.to_vec()).collect();
            Ok(json!({
                "names": names,
                "lambdas": path.lambdas,
                "coefs": coefs,
                "df": path.df,
                "dev_ratio": path.dev_ratio,
                "gaps": path.info.iter().map(|i| i.relative_gap).collect::<Vec<_>>(),
            }))
        }
        _ => anyhow::bail!("unknown endpoint {api}"),
    }
}
