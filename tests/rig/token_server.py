#!/usr/bin/env python3
"""A Docker Registry v2 token server (distribution's `auth.token`), small and loopback only.

    token_server.py --port-file F --cert-out CERT.pem --issuer ISS --service SVC [--ttl 300]

Users come from the environment, never the command line: RIG_TOKEN_USERS="user:password,...".
Grants:
  * the first user of RIG_TOKEN_USERS ("full"): every action it asks for, on every repository,
    and `registry:catalog:*`;
  * a user named `limited`: `pull` on repositories under `amdenterpriseai/` only, no catalog;
  * no Authorization header at all: anonymous, `pull` on repositories under `public/` only;
  * a wrong user or password: 401 (never a fallback to anonymous).

GET /token?service=S&scope=S1&scope=S2 with Basic auth, as docker, containerd, skopeo and
go-containerregistry ask; POST /token with an OAuth2 password form (grant_type=password,
username, password, service, scope, client_id) as containerd asks when it has credentials. The
token is an RS256 JWT whose header carries the self-signed certificate as `x5c`; the certificate
is made at startup and written to --cert-out (the registry's `rootcertbundle`). Claims: iss,
sub, aud (the `service` asked for, so a wrong service gives a token the registry rejects),
exp, nbf, iat, jti and `access` ([{type, name, actions}] for the scopes asked for, reduced to the
grants above). GET /_rig/requests returns what it was asked (never a password or a token).

The listening port is chosen by the kernel (port 0) and written to --port-file once bound.
"""
import argparse
import base64
import binascii
import datetime
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

REQUESTS = []
LOCK = threading.Lock()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_cert(cn):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def parse_scope(scope):
    """`repository:amdenterpriseai/aim-x:pull,push` -> (type, name, [actions]). The name may not
    contain ':' in a repository, but a type may carry a class (`repository(plugin)`)."""
    if scope.count(":") < 2:
        return None
    typ, rest = scope.split(":", 1)
    name, actions = rest.rsplit(":", 1)
    return typ, name, [a for a in actions.split(",") if a]


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False
    request_queue_size = 64


class Handler(BaseHTTPRequestHandler):
    server_version = "aimc-rig-token/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("token: %s - %s\n" % (self.address_string(), fmt % args))

    # -- helpers
    def reply(self, code, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def unauthorized(self, message):
        self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": message, "detail": None}]},
                   [("WWW-Authenticate", f'Basic realm="{self.server.cfg.basic_realm}"')])

    def who(self, username, password):
        """'anonymous', a user name, or None for bad credentials."""
        if username is None:
            return "anonymous"
        users = self.server.cfg.users
        if username in users and secrets.compare_digest(users[username], password or ""):
            return username
        return None

    def grant(self, user, typ, name, actions):
        cfg = self.server.cfg
        if user == cfg.full_user:
            return actions if typ in ("repository", "registry") or typ.startswith("repository(") else []
        if typ != "repository":
            return []
        if user == "limited" and name.startswith("amdenterpriseai/"):
            return [a for a in actions if a == "pull"]
        if user == "anonymous" and name.startswith("public/"):
            return [a for a in actions if a == "pull"]
        return []

    def issue(self, user, service, scopes, oauth):
        cfg = self.server.cfg
        access = []
        for s in scopes:
            p = parse_scope(s)
            if p is None:
                self.reply(400, {"errors": [{"code": "UNSUPPORTED", "message": f"bad scope {s!r}"}]})
                return
            typ, name, actions = p
            got = self.grant(user, typ, name, actions)
            # Like distribution's own token servers: a scope with nothing granted is left out
            # (the token is still issued; the registry answers insufficient_scope).
            if got:
                access.append({"type": typ, "name": name, "actions": got})
        now = int(time.time())
        claims = {
            "iss": cfg.issuer,
            "sub": "" if user == "anonymous" else user,
            "aud": service,
            "exp": now + cfg.ttl,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": access,
        }
        header = {"typ": "JWT", "alg": "RS256", "x5c": [cfg.cert_b64]}
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                         b64url(json.dumps(claims, separators=(",", ":")).encode()))
        sig = cfg.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        token = signing_input + "." + b64url(sig)
        issued = datetime.datetime.fromtimestamp(now, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        if oauth:
            body = {"access_token": token, "expires_in": cfg.ttl, "issued_at": issued, "scope": " ".join(scopes)}
        else:
            body = {"token": token, "access_token": token, "expires_in": cfg.ttl, "issued_at": issued}
        with LOCK:
            REQUESTS.append({"method": self.command, "path": urllib.parse.urlsplit(self.path).path,
                             "user": user, "service": service, "scopes": scopes, "granted": access})
        self.reply(200, body)

    def basic(self):
        """(username, password) from a Basic header, (None, None) without one, False if garbled."""
        auth = self.headers.get("Authorization")
        if not auth:
            return None, None
        kind, _, value = auth.partition(" ")
        if kind.lower() != "basic":
            return False
        try:
            user, _, pw = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return user, pw

    # -- endpoints
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        if url.path == "/_rig/requests":
            with LOCK:
                self.reply(200, REQUESTS)
            return
        if url.path == "/_rig/health":
            self.reply(200, {"ok": True})
            return
        if url.path != "/token":
            self.reply(404, {"errors": [{"code": "NOT_FOUND", "message": "no such endpoint"}]})
            return
        creds = self.basic()
        if creds is False:
            self.unauthorized("malformed Authorization header")
            return
        user = self.who(*creds)
        if user is None:
            self.unauthorized("bad username or password")
            return
        service = q.get("service", [self.server.cfg.service])[0]
        scopes = [s for v in q.get("scope", []) for s in v.split(" ") if s]
        self.issue(user, service, scopes, oauth=False)

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token":
            self.reply(404, {"errors": [{"code": "NOT_FOUND", "message": "no such endpoint"}]})
            return
        n = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(n).decode(), keep_blank_values=True)
        if form.get("grant_type", [""])[0] != "password":
            self.reply(400, {"error": "unsupported_grant_type"})
            return
        user = self.who(form.get("username", [""])[0], form.get("password", [""])[0])
        if user is None:
            self.reply(401, {"error": "invalid_grant"})
            return
        service = form.get("service", [self.server.cfg.service])[0]
        scopes = [s for v in form.get("scope", []) for s in v.split(" ") if s]
        self.issue(user, service, scopes, oauth=True)


class Config:
    pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--cert-out", required=True)
    ap.add_argument("--issuer", required=True)
    ap.add_argument("--service", required=True)
    ap.add_argument("--realm", default="aimc-rig-token")
    ap.add_argument("--ttl", type=int, default=300)
    a = ap.parse_args()
    if a.host != "127.0.0.1":
        sys.exit("token_server: loopback only")

    cfg = Config()
    pairs = [p for p in os.environ.get("RIG_TOKEN_USERS", "").split(",") if p]
    if not pairs:
        sys.exit("token_server: RIG_TOKEN_USERS is empty")
    cfg.users = dict(p.split(":", 1) for p in pairs)
    cfg.full_user = pairs[0].split(":", 1)[0]
    cfg.issuer, cfg.service, cfg.ttl, cfg.basic_realm = a.issuer, a.service, a.ttl, a.realm
    cfg.key, cert = make_cert("aimc-rig-token-signer")
    cfg.cert_b64 = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    tmp = a.cert_out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    os.replace(tmp, a.cert_out)

    srv = Server((a.host, a.port), Handler)
    srv.cfg = cfg
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{srv.server_address[1]}\n")
    os.replace(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
