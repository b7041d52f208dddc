//! Running the edge component under `wasmtime serve`, for the HTTP tests and the load benchmark.
//!
//! The component and the wasmtime CLI are built by scripts (`scripts/build.sh`,
//! `scripts/install-wasmtime-cli.sh`); when either is missing the error says which script to run rather
//! than failing somewhere inside a request.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::repo_root;

/// The edge component: `TAMIS_EDGE_WASM`, else the shipped (pre-initialized) build that
/// `scripts/build-edge.sh` writes into the cargo target directory.
pub fn edge_wasm() -> Result<PathBuf> {
    let path = match std::env::var_os("TAMIS_EDGE_WASM") {
        Some(path) => PathBuf::from(path),
        None => target_dir().join("edge").join("tamis_edge.wasm"),
    };
    if !path.is_file() {
        bail!(
            "the edge component {} is missing: run scripts/build-edge.sh (part of scripts/build.sh), or set TAMIS_EDGE_WASM",
            path.display()
        );
    }
    Ok(path)
}

/// The edge component with lid.176.ftz and a language-ID config baked in, which
/// `scripts/build-edge-lid.sh` writes beside the shipped one (with the model's folder, `lid/`).
pub fn edge_lid_wasm() -> Result<PathBuf> {
    let path = target_dir().join("edge").join("tamis_edge_lid.wasm");
    if !path.is_file() {
        bail!(
            "the edge component with a baked model {} is missing: run scripts/build-edge-lid.sh (part of scripts/test.sh)",
            path.display()
        );
    }
    Ok(path)
}

/// The wasmtime CLI: `TAMIS_WASMTIME`, else the pinned version in the tool cache, whose path
/// `scripts/tool-path.sh wasmtime` prints (the one place that path is decided).
pub fn wasmtime_cli() -> Result<PathBuf> {
    let path = match std::env::var_os("TAMIS_WASMTIME") {
        Some(path) => PathBuf::from(path),
        None => tool_path("wasmtime")?,
    };
    if !path.is_file() {
        bail!(
            "the wasmtime CLI {} is missing: run scripts/install-wasmtime-cli.sh, or set TAMIS_WASMTIME",
            path.display()
        );
    }
    Ok(path)
}

/// Where `scripts/tool-path.sh` says a pinned tool lives.
fn tool_path(tool: &str) -> Result<PathBuf> {
    let script = repo_root().join("scripts").join("tool-path.sh");
    let output = Command::new("bash")
        .arg(&script)
        .arg(tool)
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !output.status.success() {
        bail!(
            "{} {tool} failed: {}",
            script.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(PathBuf::from(
        String::from_utf8_lossy(&output.stdout).trim_end(),
    ))
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                repo_root().join(dir)
            }
        }
        None => repo_root().join("target"),
    }
}

/// A `wasmtime serve` process running the edge component on a free local port; killed on drop, so a
/// failing test leaves no server behind.
pub struct EdgeServer {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    /// From spawning the process to the first answer of /v1/health.
    pub cold_start: Duration,
}

impl EdgeServer {
    /// Starts the component with the given environment (`TAMIS_CONFIG`, limits) and waits until it
    /// answers.
    pub fn start(env: &[(&str, &str)]) -> Result<Self> {
        Self::start_with_args(&[], env)
    }

    /// Like [`EdgeServer::start`], with extra `wasmtime serve` options (`-C cache=n` to measure a
    /// cold start without the compilation cache).
    pub fn start_with_args(args: &[&str], env: &[(&str, &str)]) -> Result<Self> {
        Self::start_component(&edge_wasm()?, args, env)
    }

    /// Like [`EdgeServer::start_with_args`], serving the component at `wasm`.
    pub fn start_component(wasm: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<Self> {
        let wasmtime = wasmtime_cli()?;
        let port = free_port()?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let log =
            std::env::temp_dir().join(format!("tamis-edge-{}-{port}.log", std::process::id()));
        let log_file =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let mut command = Command::new(&wasmtime);
        // `-S cli`: the component reads its config from the environment (wasi:cli/environment), which
        // the plain proxy world of `serve` does not provide.
        command
            .arg("serve")
            .arg("--addr")
            .arg(addr.to_string())
            .arg("-S")
            .arg("cli")
            .args(args);
        for (name, value) in env {
            command.arg("--env").arg(format!("{name}={value}"));
        }
        command
            .arg(wasm)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file);
        let started = Instant::now();
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", wasmtime.display()))?;
        let mut server = Self {
            child,
            addr,
            log,
            cold_start: Duration::ZERO,
        };
        server.cold_start = server.wait_ready(started, Duration::from_secs(300))?;
        Ok(server)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// What the server wrote to stdout and stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_ready(&mut self, started: Instant, timeout: Duration) -> Result<Duration> {
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "wasmtime serve exited with {status} before answering:\n{}",
                    self.log()
                );
            }
            if health_answers(self.addr) {
                return Ok(started.elapsed());
            }
            if started.elapsed() > timeout {
                bail!(
                    "wasmtime serve did not answer on {} within {timeout:?}:\n{}",
                    self.addr,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for EdgeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// A port nobody listens on now. Another process could take it before wasmtime binds it; the readiness
/// check then fails loudly rather than talking to a stranger, because only tamis answers /v1/health
/// with a tamis status.
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Whether /v1/health answers with an HTTP status line, over a plain socket so that readiness polling
/// needs no client library.
fn health_answers(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let request = format!("GET /v1/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    answer.starts_with(b"HTTP/1.1 200") || answer.starts_with(b"HTTP/1.1 503")
}

/// Documents as request JSON, in batches under `max_bytes` of JSON and `max_docs` documents, so that a
/// corpus fits the function's limits.
pub fn batches(
    docs: &[tamis_core::Document],
    max_docs: usize,
    max_bytes: usize,
) -> Vec<Vec<tamis_core::Document>> {
    let mut out: Vec<Vec<tamis_core::Document>> = Vec::new();
    let mut bytes = 0;
    for doc in docs {
        let size = serde_json::to_vec(doc).map_or(0, |v| v.len()) + 1;
        let full = out
            .last()
            .is_none_or(|b| b.len() >= max_docs || bytes + size > max_bytes);
        if full {
            out.push(Vec::new());
            bytes = 0;
        }
        bytes += size;
        if let Some(batch) = out.last_mut() {
            batch.push(doc.clone());
        }
    }
    out
}
