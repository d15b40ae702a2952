#!/usr/bin/env python3
"""A Hugging Face Hub stand-in for FourMHub's tests (stdlib only, 127.0.0.1).

Serves every folder ROOT/<org>/<name>/ as the model repo <org>/<name> at one commit (revision
"main" or the commit hash itself) with the endpoints the Swift client uses:

  GET  /api/models/<org>/<name>/revision/<rev>[?blobs=true]   -> {"id", "sha", "siblings": [...]}
  HEAD/GET /<org>/<name>/resolve/<rev>/<path>
        LFS files (*.safetensors, or >= 1024 bytes): 302 to /_blobs/<sha256> on the blob host
        ("localhost" by default: another host name than the endpoint's 127.0.0.1, as the Hub's CDN),
        with X-Repo-Commit, X-Linked-Etag ("<sha256>"), X-Linked-Size, ETag (the pointer's oid)
        other files: 200 with ETag "<git blob sha1>", X-Repo-Commit, the bytes
  HEAD/GET /_blobs/<sha256>                                     -> bytes, honours Range (206)

Faults and statistics, so a test can steer one run:
  POST /_control  {"drop_once": "<path>", "drop_every": "<path>", "corrupt": "<path>", "token": "<secret>",
                   "fail_next": N, "blob_host": "localhost", "delay_ms": N}   (null clears)
  GET  /_stats    -> {"gets": {"org/name/path": n}, "ranges": [...], "blob_auth": n, "requests": n}
  ("drop_once" and "corrupt" name a path inside any repository.)

Prints the port on the first line of stdout, then serves until its stdin closes or SIGTERM.
"""
import hashlib, json, os, signal, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

ROOT = sys.argv[1] if len(sys.argv) > 1 else "."
STATE = {"drop_once": None, "drop_every": None, "corrupt": None, "token": None, "fail_next": 0,
         "blob_host": "localhost", "delay_ms": 0}
STATS = {"gets": {}, "ranges": [], "blob_auth": 0, "requests": 0}
LOCK = threading.Lock()


def is_lfs(path, size):
    return path.endswith(".safetensors") or size >= 1024


def repo_files(repo):
    base = os.path.join(ROOT, repo)
    if repo.count("/") != 1 or not os.path.isdir(base):
        return None
    files = {}
    for folder, _, names in os.walk(base):
        for name in names:
            full = os.path.join(folder, name)
            rel = os.path.relpath(full, base).replace(os.sep, "/")
            files[rel] = file_info(full)
    return files


HASHES = {}


def file_info(full):
    """Size and hashes of a file, remembered until its size or mtime changes."""
    st = os.stat(full)
    key = (full, st.st_size, st.st_mtime_ns)
    with LOCK:
        known = HASHES.get(key)
    if known is None:
        with open(full, "rb") as f:
            data = f.read()
        known = {
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "git": hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest(),
            "full": full,
        }
        with LOCK:
            HASHES[key] = known
    return known


def commit_of(files):
    h = hashlib.sha1()
    for rel in sorted(files):
        h.update(("%s %s\n" % (rel, files[rel]["sha256"])).encode())
    return h.hexdigest()


def find_blob(sha):
    for org in os.listdir(ROOT):
        for name in os.listdir(os.path.join(ROOT, org)):
            files = repo_files(org + "/" + name) or {}
            for info in files.values():
                if info["sha256"] == sha:
                    return info
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, code, body=b"", headers=None):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if "Content-Length" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, code, error_code, message):
        body = json.dumps({"error": message}).encode()
        self.send(code, body, {"Content-Type": "application/json", "X-Error-Code": error_code,
                               "X-Error-Message": message})

    def authorized(self):
        token = STATE["token"]
        return token is None or self.headers.get("Authorization") == "Bearer " + token

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.path == "/_control":
            with LOCK:
                STATE.update(json.loads(body or b"{}"))
                if STATE.get("fail_next") is None:
                    STATE["fail_next"] = 0
            self.send(200, b"{}")
        else:
            self.error(404, "EntryNotFound", "no such endpoint")

    def do_HEAD(self):
        self.handle_get()

    def do_GET(self):
        self.handle_get()

    def handle_get(self):
        path = unquote(urlsplit(self.path).path)
        query = urlsplit(self.path).query
        if path == "/_stats":
            with LOCK:
                return self.send(200, json.dumps(STATS).encode(), {"Content-Type": "application/json"})
        with LOCK:
            STATS["requests"] += 1
            if STATE["fail_next"] > 0:
                STATE["fail_next"] -= 1
                fail = True
            else:
                fail = False
            delay = STATE["delay_ms"] or 0
        if delay:
            time.sleep(delay / 1000.0)
        if fail:
            return self.error(503, "ServiceUnavailable", "try again later")
        if path.startswith("/_blobs/"):
            return self.serve_blob(path[len("/_blobs/"):])
        if path.startswith("/api/models/"):
            parts = path[len("/api/models/"):].split("/")
            if len(parts) < 4 or parts[2] != "revision":
                return self.error(404, "EntryNotFound", "bad api path")
            return self.serve_api("/".join(parts[:2]), "/".join(parts[3:]), "blobs=true" in query)
        parts = path.lstrip("/").split("/")
        if len(parts) >= 5 and parts[2] == "resolve":
            return self.serve_resolve("/".join(parts[:2]), parts[3], "/".join(parts[4:]))
        self.error(404, "EntryNotFound", "unknown endpoint")

    def lookup(self, repo, rev):
        if not self.authorized():
            self.error(401, "RepoNotFound", "Invalid credentials in Authorization header")
            return None, None
        files = repo_files(repo)
        if files is None:
            self.error(404, "RepoNotFound", "Repository not found")
            return None, None
        commit = commit_of(files)
        if rev not in ("main", commit):
            self.error(404, "RevisionNotFound", "Invalid rev id: " + rev)
            return None, None
        return files, commit

    def serve_api(self, repo, rev, blobs):
        files, commit = self.lookup(repo, rev)
        if files is None:
            return
        siblings = []
        for rel in sorted(files):
            entry = {"rfilename": rel}
            if blobs:
                info = files[rel]
                entry["size"] = info["size"]
                entry["blobId"] = info["git"]
                if is_lfs(rel, info["size"]):
                    entry["lfs"] = {"sha256": info["sha256"], "size": info["size"], "pointerSize": 134}
            siblings.append(entry)
        body = json.dumps({"id": repo, "modelId": repo, "sha": commit, "siblings": siblings}).encode()
        self.send(200, body, {"Content-Type": "application/json"})

    def serve_resolve(self, repo, rev, rel):
        files, commit = self.lookup(repo, rev)
        if files is None:
            return
        info = files.get(rel)
        if info is None:
            return self.error(404, "EntryNotFound", "%s does not exist on \"%s\"" % (rel, rev))
        if is_lfs(rel, info["size"]):
            port = self.server.server_address[1]
            headers = {
                "Location": "http://%s:%d/_blobs/%s" % (STATE["blob_host"], port, info["sha256"]),
                "X-Repo-Commit": commit,
                "X-Linked-Etag": '"%s"' % info["sha256"],
                "X-Linked-Size": str(info["size"]),
                "ETag": '"%s"' % hashlib.sha1(info["sha256"].encode()).hexdigest(),
            }
            return self.send(302, b"", headers)
        self.serve_bytes(info, repo, rel, {"X-Repo-Commit": commit, "ETag": '"%s"' % info["git"]})

    def serve_blob(self, sha):
        if self.headers.get("Authorization"):
            with LOCK:
                STATS["blob_auth"] += 1
        info = find_blob(sha)
        if info is None:
            return self.error(404, "EntryNotFound", "no such blob")
        org, name, rel = os.path.relpath(info["full"], ROOT).replace(os.sep, "/").split("/", 2)
        self.serve_bytes(info, org + "/" + name, rel, {"ETag": '"%s"' % sha})

    def serve_bytes(self, info, repo, rel, headers):
        total = info["size"]
        with LOCK:
            corrupt = STATE["corrupt"] == rel
            drop = STATE["drop_once"] == rel and self.command == "GET"
            if drop:
                STATE["drop_once"] = None
            drop_all = STATE["drop_every"] == rel and self.command == "GET"
            if self.command == "GET":
                key = repo + "/" + rel
                STATS["gets"][key] = STATS["gets"].get(key, 0) + 1
        start, end, code = 0, total - 1, 200
        requested = self.headers.get("Range")
        if requested:
            with LOCK:
                STATS["ranges"].append(requested)
            spec = requested.replace("bytes=", "").split("-")
            start = int(spec[0])
            end = min(int(spec[1]) if len(spec) > 1 and spec[1] else total - 1, total - 1)
            if start >= total:
                return self.send(416, b"", {"Content-Range": "bytes */%d" % total})
            headers["Content-Range"] = "bytes %d-%d/%d" % (start, end, total)
            code = 206
        with open(info["full"], "rb") as f:  # only the requested bytes
            f.seek(start)
            data = bytearray(f.read(max(end + 1 - start, 0)))
        middle = total // 2  # the corrupted byte, if it falls in this range
        if corrupt and start <= middle <= end:
            data[middle - start] ^= 0xFF
        headers["Content-Length"] = str(len(data))
        headers["Accept-Ranges"] = "bytes"
        headers["Content-Type"] = "application/octet-stream"
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command == "HEAD":
            return
        if drop or drop_all:
            # drop_once: half the body, then the connection closes; drop_every: no body at all.
            self.wfile.write(bytes(data[: len(data) // 2]) if drop else b"")
            self.wfile.flush()
            self.close_connection = True
            try:
                import socket
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.wfile.write(bytes(data))


def exit_when_parent_goes():
    # The test holds our stdin open; EOF means it stopped us or died. (SIGTERM may be ignored:
    # a process inherits SIG_IGN from its parent.)
    sys.stdin.read()
    os._exit(0)


def main():
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    threading.Thread(target=exit_when_parent_goes, daemon=True).start()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
