"""The corpus's inputs: small, deterministic workloads made in a scratch
directory for real Debian programs (scripts, SQL, a git repository, C++
sources, a server configuration, data to compress). Standard library only."""

import http.client
import os
import socket
import subprocess
import threading

# The Python programs' parts: a cache with random keys, sizes and
# evictions, like a long-running service; threads that build one and wait
# (the GIL released) while the main thread stops in os.getppid().
_PYTHON_CACHE = r"""
import os, random, threading
def churn(seed, steps, keys, text_max, blob_size):
    rng = random.Random(seed)
    cache = {}
    for step in range(steps):
        cache[rng.randrange(keys)] = ("c" * rng.randrange(1, text_max), bytearray(blob_size(rng)))
        if step % 3 == 0:
            cache.pop(rng.randrange(keys), None)
    return cache
def stop_while_threads_wait(n, work):
    built = threading.Barrier(n + 1)
    go = threading.Event()
    def run(k):
        kept = work(k)
        built.wait()
        go.wait()
        return kept
    threads = [threading.Thread(target=run, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    built.wait()
    os.getppid()  # the stop
    go.set()
    for t in threads:
        t.join()
"""

# Blobs log-uniform up to 64 KB: most of the main arena's bins end up
# holding free chunks (issue 15: such a main arena was refused).
PYTHON_ONE_THREAD = _PYTHON_CACHE + r"""
cache = churn(15, 60000, 20000, 1500, lambda rng: int(2 ** rng.uniform(0, 16)))
os.getppid()  # the stop
print(len(cache))
"""

# Four threads, each with its own cache (and arena).
PYTHON_THREADS = _PYTHON_CACHE + r"""
stop_while_threads_wait(4, lambda k: churn(k, 15000, 5000, 1500, lambda rng: rng.randrange(1, 3000)))
"""

# Issue 22's pattern: three waves of twelve threads alive at once (twelve
# arenas), started and joined (their stacks, TLS blocks and arenas reused,
# their freed tcaches left in the bins), then two live threads waiting while
# the main thread stops: ten arenas have no thread. Where the first chunk of
# such an arena is the freed tcache of its last thread (about half the
# runs: it depends on what was freed next to it), that free chunk must not be taken
# for a live tcache.
PYTHON_THREAD_WAVES = _PYTHON_CACHE + r"""
def small(seed):
    return churn(seed, 1000, 500, 700, lambda rng: rng.randrange(1, 1200))
def together(seed, barrier):
    small(seed)
    barrier.wait()  # all alive at once: one arena each
for wave in range(3):
    barrier = threading.Barrier(12)
    threads = [threading.Thread(target=together, args=(wave * 100 + k, barrier)) for k in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
stop_while_threads_wait(2, lambda k: small(100 + k))
"""

PERL = r"""
my %h;
$h{"k$_"} = "v" x ($_ % 200) for 1 .. 50000;
my @rows = map { [$_, "s" x ($_ % 50), { n => $_ }] } 1 .. 20000;
delete $h{"k$_"} for grep { $_ % 3 == 0 } 1 .. 50000;
splice(@rows, 0, 5000);
getppid();  # the stop
print scalar(keys %h), " ", scalar(@rows), "\n";
"""

# An in-memory database of about 16 MB, an index, deletions; `.shell` calls
# system(), the stop.
SQLITE = r"""
CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c BLOB);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000)
  INSERT INTO t SELECT i, printf('%.*c', i % 200, 'x'), zeroblob(i % 300) FROM n;
CREATE INDEX tb ON t(b);
DELETE FROM t WHERE a % 3 = 0;
.shell true
SELECT count(*) FROM t;
"""


def write(directory, name, text):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def git_env(home):
    """An environment where git reads no configuration but ours."""
    return dict(os.environ, GIT_CONFIG_NOSYSTEM="1", HOME=home, GIT_PAGER="cat",
                GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org",
                GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.org")


def git_repository(directory, files=200, commits=25):
    """A repository of `commits` commits over `files` text files (about 2,100
    objects in one pack), written by git fast-import. Returns its path."""
    env = git_env(directory)
    repo = os.path.join(directory, "repo")
    subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True, env=env)
    contents = {f: ["line %d of file %d: %s\n" % (i, f, "abcdefghij" * (1 + (i * f) % 7))
                    for i in range(60)] for f in range(files)}
    stream = []
    for c in range(commits):
        changed = [f for f in range(files) if c == 0 or (f + c) % 3 == 0]
        stream.append("commit refs/heads/main\nmark :%d\ncommitter t <t@example.org> %d +0000\n"
                      "data <<EOM\ncommit %d\nEOM\n" % (c + 1, 1700000000 + c, c))
        if c:
            stream.append("from :%d\n" % c)
        for f in changed:
            contents[f][(c * 7 + f) % 60] = "changed in commit %d: %s\n" % (c, "xyz" * (c % 11))
            contents[f].append("appended %d\n" % c)
            data = "".join(contents[f])
            stream.append("M 100644 inline dir%d/file%d.txt\ndata %d\n%s\n"
                          % (f % 10, f, len(data.encode()), data))
    subprocess.run(["git", "fast-import", "--quiet"], input="".join(stream).encode(), cwd=repo,
                   check=True, env=env)
    return repo


def cxx_sources(directory, parts=40):
    """main.cc including part0.h .. part{parts-1}.h, each with class
    hierarchies, virtual functions and recursive templates; no system header,
    so the number of files cc1plus opens does not depend on the libstdc++
    installed. Returns main.cc's path."""
    for k in range(parts):
        lines = ["namespace p%d {" % k,
                 "template <int N> struct Fib { static constexpr long v = Fib<N - 1>::v + Fib<N - 2>::v; };",
                 "template <> struct Fib<0> { static constexpr long v = 0; };",
                 "template <> struct Fib<1> { static constexpr long v = 1; };"]
        for j in range(30):
            lines.append("struct S%d { int a[%d]; long b; S%d *next; virtual ~S%d() {} "
                         "virtual long get() const { return b + a[0] + Fib<%d>::v; } };"
                         % (j, j + 1, j, j, 20 + j % 40))
            lines.append("inline long f%d(const S%d &s, int n) { long r = 0; for (int i = 0; i < n; ++i) "
                         "{ switch (i %% 4) { case 0: r += s.get(); break; case 1: r -= i; break; "
                         "default: r ^= (long)i << %d; } } return r; }" % (j, j, j % 30))
        lines.append("}")
        write(directory, "part%d.h" % k, "\n".join(lines) + "\n")
    main = []
    for k in range(parts):
        main.append('#include "part%d.h"' % k)
        main.append("long use%d() { p%d::S3 s{}; return p%d::f3(s, %d); }" % (k, k, k, k))
    main.append("int main() { return (int)(use0() + use1()); }")
    return write(directory, "main.cc", "\n".join(main) + "\n")


def compressible_data(directory, megabytes=4):
    """Text that compresses about 4:1, the same on every run."""
    path = os.path.join(directory, "data.txt")
    with open(path, "w") as f:
        i = 0
        written = 0
        while written < megabytes << 20:
            line = "%08d %s %d\n" % (i, "lorem ipsum dolor"[: i % 17], (i * 2654435761) % 1000003)
            f.write(line)
            written += len(line)
            i += 1
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginx_config(directory, port):
    """One process (no master, no daemon), loopback only, its log on stderr."""
    os.makedirs(os.path.join(directory, "html"), exist_ok=True)
    write(os.path.join(directory, "html"), "index.html", "<p>%s</p>\n" % ("hello " * 500))
    return write(directory, "nginx.conf", """
daemon off;
master_process off;
worker_processes 1;
pid %(d)s/nginx.pid;
error_log stderr notice;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path %(d)s/body;
  server {
    listen 127.0.0.1:%(port)d;
    root %(d)s/html;
    location /echo { return 200 "$request_uri $http_user_agent\\n"; }
  }
}
""" % {"d": directory, "port": port})


class HttpLoad:
    """A bounded request loop against 127.0.0.1:port from a few client
    threads: each opens `connections` keep-alive connections in turn and sends
    `requests` requests on each (http.client), once the server listens. Stops
    at the first error (the server stopped under gdb, or gone) or when stop()
    is called."""

    def __init__(self, port, clients=4, connections=30, requests=4, timeout=3.0):
        self.port, self.connections, self.requests, self.timeout = port, connections, requests, timeout
        self.done = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._client, args=(k,), daemon=True)
                         for k in range(clients)]

    def start(self):
        for t in self._threads:
            t.start()
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=10)

    def _wait_listening(self):
        while not self._stop.is_set():
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout).close()
                return True
            except OSError:
                self._stop.wait(0.05)
        return False

    def _client(self, k):
        if not self._wait_listening():
            return
        for c in range(self.connections):
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                for r in range(self.requests):
                    path = "/echo/%d/%d/%s" % (k, c, "q" * ((k * 97 + c * 31 + r * 7) % 400))
                    connection.request("GET", "/index.html" if r % 2 else path,
                                       headers={"User-Agent": "load-%d-%s" % (k, "u" * (c % 50))})
                    connection.getresponse().read()
                    with self._lock:
                        self.done += 1
            except (OSError, http.client.HTTPException):
                return  # the server stopped under gdb, or is gone
            finally:
                connection.close()
            if self._stop.is_set():
                return
