"""benchlib.py - what the benchmarks share: measuring a child process, free
ports, and starting servers on 127.0.0.1."""
import json
import os
import re
import resource
import socket
import subprocess
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def measure(argv, env=None, cwd=None):
    """Runs argv to the end in a forked child so that RUSAGE_CHILDREN covers
    it alone. Returns (wall s, CPU s, peak RSS MiB, rc, stdout, stderr)."""
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rd)
        t0 = time.time()
        p = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd)
        wall = time.time() - t0
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        os.write(wr, json.dumps([wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0,
                                 p.returncode, p.stdout[-4000:], p.stderr[-4000:]]).encode())
        os._exit(0)
    os.close(wr)
    data = b""
    while True:
        chunk = os.read(rd, 1 << 16)
        if not chunk:
            break
        data += chunk
    os.close(rd)
    os.waitpid(pid, 0)
    return tuple(json.loads(data))


class Sim:
    """barge sim-server on a free port."""

    def __init__(self, barge, *args):
        self.p = subprocess.Popen([barge, "sim-server", "--listen", "127.0.0.1:0"] +
                                  [str(a) for a in args], stdout=subprocess.PIPE, text=True)
        m = re.match(r"listening on 127\.0\.0\.1:(\d+)", self.p.stdout.readline())
        assert m, "sim-server did not start"
        self.port = int(m.group(1))

    def stats(self):
        import urllib.request
        with urllib.request.urlopen("http://127.0.0.1:%d/stats" % self.port) as r:
            return json.loads(r.read())

    def stop(self):
        self.p.terminate()
        self.p.wait()


NGINX_CONF = """
worker_processes 1;
daemon off;
master_process off;
pid %(dir)s/nginx.pid;
error_log %(dir)s/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path %(dir)s/body;
    proxy_temp_path %(dir)s/proxy;
    fastcgi_temp_path %(dir)s/fastcgi;
    uwsgi_temp_path %(dir)s/uwsgi;
    scgi_temp_path %(dir)s/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
    server {
        listen 127.0.0.1:%(port)d;
        location / {
            default_type application/json;
            return 200 '%(body)s';
        }
    }
}
"""

CANNED = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1735689600,
    "model": "bench", "choices": [{"index": 0, "message": {
        "role": "assistant", "content": "A canned answer of a few words."},
        "logprobs": None, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20}})


class Nginx:
    """nginx returning a canned chat.completion to every request."""

    def __init__(self, workdir):
        os.makedirs(workdir, exist_ok=True)
        self.port = free_port()
        conf = os.path.join(workdir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF % {"dir": workdir, "port": self.port, "body": CANNED})
        self.p = subprocess.Popen(["nginx", "-c", conf, "-p", workdir],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    def stop(self):
        self.p.terminate()
        self.p.wait()
