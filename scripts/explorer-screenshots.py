#!/usr/bin/env python3
"""Screenshots of `regml explore` for the docs (docs/figures/explore-*.png), taken in headless
Chromium through ChromeDriver (both installed by scripts/install-deps.sh).
Usage (from the repository root, after `cargo build --release`):
  python3 scripts/explorer-screenshots.py
"""
import base64
import json
import socket
import subprocess
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"null")


def main():
    server = subprocess.Popen(["target/release/regml", "explore", "--port", "0"],
                              stdout=subprocess.PIPE, text=True)
    url = next(w for w in server.stdout.readline().split() if w.startswith("http://"))
    dport = free_port()
    driver = subprocess.Popen(["chromedriver", f"--port={dport}"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", dport), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1480,1000"]}}}}
        sid = call(dport, "POST", "/session", caps)["value"]["sessionId"]

        def js(script):
            return call(dport, "POST", f"/session/{sid}/execute/sync",
                        {"script": script, "args": []})["value"]

        def shot(name):
            png = call(dport, "GET", f"/session/{sid}/screenshot")["value"]
            with open(f"docs/figures/{name}", "wb") as f:
                f.write(base64.b64decode(png))
            print("wrote docs/figures/" + name)

        def wait(script):
            for _ in range(600):
                if js(script):
                    return
                time.sleep(0.05)
            raise RuntimeError("timed out: " + script)

        call(dport, "POST", f"/session/{sid}/url",
             {"url": url + "#shape=spiral&features=x1,x2,x1_sq,x2_sq,sin_x1,sin_x2&hidden=8,8,4"
                     "&activation=tanh&opt=adam&lr=0.01&noise=10&reg=l2&rate=0.001"})
        wait("return document.getElementById('train-loss').textContent !== ''")
        js("document.getElementById('play').click(); return true")
        wait("return +document.getElementById('epoch').textContent >= 200")
        js("document.getElementById('play').click(); return true")
        time.sleep(0.5)
        shot("explore-network.png")
        js("document.getElementById('tab-geometry').click(); return true")
        wait("return document.getElementById('geo-solution').textContent !== ''")
        js("const l = document.getElementById('geo-lambda'); l.value = '1.2';"
           "l.dispatchEvent(new Event('input')); return true")
        time.sleep(0.5)
        shot("explore-geometry.png")
        js("document.getElementById('tab-path').click(); return true")
        wait("return document.getElementById('path-coefs').rows.length > 1")
        shot("explore-path.png")
        call(dport, "DELETE", f"/session/{sid}")
    finally:
        driver.kill()
        server.kill()


if __name__ == "__main__":
    main()
