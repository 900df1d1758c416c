#!/usr/bin/env python3
"""A Hugging Face Hub-shaped fixture server: the model-info API only, loopback only.

    hf_server.py --port-file F            serve (token from $RIG_HF_TOKEN)
    hf_server.py --print-expected         print the expected facts as KEY=VALUE lines

GET /api/models/<repo_id>[/revision/<rev>][?blobs=true] answers as the Hub does:
  * without ?blobs=true siblings carry only `rfilename`; with it, `blobId` and `size` too, and
    `lfs {size, sha256, pointerSize}` for LFS files (the Hub's shape: check_hf.py runs the real
    huggingface_hub client against it);
  * a gated repo: 401 without `Authorization: Bearer <token>`, 403 with a wrong token, both with
    `X-Error-Code: GatedRepo` and the Hub's messages; 200 with $RIG_HF_TOKEN;
  * a private repo: 401 `X-Error-Code: RepoNotFound` without the token or with a wrong one (the
    Hub does not tell a private repo from a missing one);
  * an unknown repo: 404 `X-Error-Code: RepoNotFound`, body {"error": "Repository not found"};
  * a renamed repo (`gpt2`): 307 to its new name, query kept, as the Hub redirects.
GET /_rig/requests lists what was asked (whether a token came and matched, never the token).
"""
import argparse
import hashlib
import json
import os
import secrets
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SHA = "0e9e39f249a16976918f6564b8830bc894c89659"  # fixed commit sha for every fixture repo
LAST_MODIFIED = "2025-05-01T12:00:00.000Z"
CREATED_AT = "2024-07-18T08:56:00.000Z"


def blob_id(name, size):
    return hashlib.sha1(f"{name}:{size}".encode()).hexdigest()


def lfs_sha(name, size):
    return hashlib.sha256(f"{name}:{size}".encode()).hexdigest()


# name, size (None: the Hub gave no size), lfs?
LLAMA_FILES = [
    (".gitattributes", 1519, False),
    ("LICENSE", 7627, False),
    ("README.md", 44040, False),
    ("USE_POLICY.md", 4691, False),
    ("config.json", 855, False),
    ("generation_config.json", 184, False),
    ("model-00001-of-00004.safetensors", 4976698672, True),
    ("model-00002-of-00004.safetensors", 4999802720, True),
    ("model-00003-of-00004.safetensors", 4915916176, True),
    ("model-00004-of-00004.safetensors", 1168138808, True),
    ("model.safetensors.index.json", 23950, False),
    ("original/consolidated.00.pth", 16060617592, True),
    ("original/params.json", 199, False),
    ("original/tokenizer.model", 2183982, True),
    ("special_tokens_map.json", 296, False),
    ("tokenizer.json", 9085657, True),
    ("tokenizer_config.json", 55351, False),
]

REPOS = {
    # Public, every sibling sized.
    "amd/Llama-3.1-8B-Instruct-FP8-KV": {
        "gated": False, "private": False, "author": "amd", "files": [
            (".gitattributes", 1519, False), ("README.md", 3421, False), ("config.json", 1020, False),
            ("generation_config.json", 184, False), ("model-00001-of-00002.safetensors", 4999901128, True),
            ("model-00002-of-00002.safetensors", 4082225960, True), ("model.safetensors.index.json", 59814, False),
            ("special_tokens_map.json", 296, False), ("tokenizer.json", 9085657, True),
            ("tokenizer_config.json", 50500, False),
        ]},
    # Public, some siblings without a size even with ?blobs=true (a missing size counts 0).
    "amd/partial-sizes": {
        "gated": False, "private": False, "author": "amd", "files": [
            ("README.md", 1200, False), ("config.json", None, False),
            ("model.safetensors", 2000000000, True), ("extra/notes.txt", None, False),
        ]},
    # Gated (manual approval): 401 without a token, 403 with a wrong one.
    "meta-llama/Llama-3.1-8B-Instruct": {"gated": "manual", "private": False, "author": "meta-llama",
                                         "files": LLAMA_FILES},
    # Private: 401 RepoNotFound unless the right token comes.
    "amd/private-model": {
        "gated": False, "private": True, "author": "amd", "files": [
            ("config.json", 700, False), ("model.safetensors", 123456789, True)]},
    # Sizes summing to more than 2^50 bytes: out of the accepted range.
    "amd/too-big": {
        "gated": False, "private": False, "author": "amd", "files": [
            ("shard-1.safetensors", 2 ** 49 + 1, True), ("shard-2.safetensors", 2 ** 49, True)]},
    # Siblings but no size at all: the sum is 0, out of the accepted range.
    "amd/no-sizes": {
        "gated": False, "private": False, "author": "amd", "files": [
            ("README.md", None, False), ("config.json", None, False)]},
    # The target of the `gpt2` redirect.
    "openai-community/gpt2": {
        "gated": False, "private": False, "author": "openai-community", "files": [
            (".gitattributes", 445, False), ("config.json", 665, False), ("merges.txt", 456318, False),
            ("model.safetensors", 548105171, True), ("tokenizer.json", 1355256, False),
            ("vocab.json", 1042301, False)]},
}
REDIRECTS = {"gpt2": "openai-community/gpt2"}


def expected_sum(repo):
    return sum(s or 0 for _, s, _ in REPOS[repo]["files"])


def model_json(repo_id, blobs):
    r = REPOS[repo_id]
    siblings = []
    for name, size, lfs in r["files"]:
        s = {"rfilename": name}
        if blobs:
            if size is not None:
                s["blobId"] = blob_id(name, size)
                s["size"] = size
                if lfs:
                    s["lfs"] = {"sha256": lfs_sha(name, size), "size": size, "pointerSize": 135}
        siblings.append(s)
    body = {
        "_id": hashlib.md5(repo_id.encode()).hexdigest()[:24],
        "id": repo_id,
        "private": r["private"],
        "pipeline_tag": "text-generation",
        "library_name": "transformers",
        "tags": ["transformers", "safetensors", "llama", "text-generation", "conversational"],
        "downloads": 12345,
        "likes": 42,
        "modelId": repo_id,
        "author": r["author"],
        "sha": SHA,
        "lastModified": LAST_MODIFIED,
        "gated": r["gated"],
        "disabled": False,
        "config": {"architectures": ["LlamaForCausalLM"], "model_type": "llama"},
        "cardData": {"license": "other", "language": ["en"]},
        "siblings": siblings,
        "spaces": [],
        "createdAt": CREATED_AT,
    }
    if blobs:
        body["usedStorage"] = expected_sum(repo_id)
    return body


REQUESTS = []
LOCK = threading.Lock()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False
    request_queue_size = 64


class Handler(BaseHTTPRequestHandler):
    server_version = "aimc-rig-hf/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("hf: %s - %s\n" % (self.address_string(), fmt % args))

    def reply(self, code, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Request-Id", "Root=1-aimc-rig")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def error(self, code, err_code, message):
        self.reply(code, {"error": message}, [("X-Error-Code", err_code), ("X-Error-Message", message)])

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        if url.path == "/_rig/requests":
            with LOCK:
                self.reply(200, REQUESTS)
            return
        if url.path == "/_rig/health":
            self.reply(200, {"ok": True})
            return
        prefix = "/api/models/"
        if not url.path.startswith(prefix):
            self.error(404, "EntryNotFound", "Sorry, we can't find the page you are looking for.")
            return
        rest = urllib.parse.unquote(url.path[len(prefix):]).rstrip("/")
        revision = None
        if "/revision/" in rest:
            rest, revision = rest.split("/revision/", 1)
        auth = self.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        good = token is not None and secrets.compare_digest(token, self.server.token)
        blobs = q.get("blobs", [""])[0].lower() in ("true", "1")
        with LOCK:
            REQUESTS.append({"path": url.path, "query": url.query, "token_sent": token is not None,
                             "token_ok": good})
        if rest in REDIRECTS:
            loc = prefix + REDIRECTS[rest] + (f"/revision/{revision}" if revision else "")
            if url.query:
                loc += "?" + url.query
            self.reply(307, {"message": "Temporary Redirect. Redirecting", "url": loc}, [("Location", loc)])
            return
        r = REPOS.get(rest)
        if r is None or (revision is not None and revision not in ("main", SHA)):
            if r is not None:
                self.error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            else:
                self.error(404, "RepoNotFound", "Repository not found")
            return
        if r["private"] and not good:
            # The Hub answers a private repo as a missing one, 401 when no valid token came.
            self.error(401, "RepoNotFound", "Repository not found")
            return
        if r["gated"] and not good:
            if token is None:
                self.error(401, "GatedRepo",
                           f"Access to model {rest} is restricted. You must have access to it and be "
                           "authenticated to access it. Please log in.")
            else:
                self.error(403, "GatedRepo",
                           f"Access to model {rest} is restricted and you are not in the authorized list. "
                           f"Visit https://huggingface.co/{rest} to ask for access.")
            return
        self.reply(200, model_json(rest, blobs))


def print_expected():
    key = lambda repo: repo.upper().replace("/", "_").replace("-", "_").replace(".", "_")
    for repo in REPOS:
        print(f"RIG_HF_SIZE_{key(repo)}={expected_sum(repo)}")
        print(f"RIG_HF_REPO_{key(repo)}={repo}")
    print("RIG_HF_REDIRECT_FROM=gpt2")
    print("RIG_HF_REDIRECT_TO=openai-community/gpt2")
    print("RIG_HF_GATED_REPO=meta-llama/Llama-3.1-8B-Instruct")
    print("RIG_HF_PRIVATE_REPO=amd/private-model")
    print("RIG_HF_UNKNOWN_REPO=amd/does-not-exist")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--print-expected", action="store_true")
    a = ap.parse_args()
    if a.print_expected:
        print_expected()
        return
    if a.host != "127.0.0.1":
        sys.exit("hf_server: loopback only")
    if not a.port_file:
        sys.exit("hf_server: --port-file is required")
    token = os.environ.get("RIG_HF_TOKEN")
    if not token:
        sys.exit("hf_server: RIG_HF_TOKEN is empty")
    srv = Server((a.host, a.port), Handler)
    srv.token = token
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{srv.server_address[1]}\n")
    os.replace(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
