#!/usr/bin/env python3
"""Reads back what `up` pushed, through the registries' own HTTP API, and records the facts.

    registry_facts.py IMAGES_JSON OUT_JSON ENV_OUT a=http://127.0.0.1:PA b=http://127.0.0.1:PB

Credentials from $RIG_REGISTRY_A_USER/_PASSWORD and $RIG_REGISTRY_B_USER/_PASSWORD. A small
registry v2 client in the standard library only: GET /v2/ -> 401 -> parse WWW-Authenticate ->
Basic, or Bearer via the token realm with service and scope; manifests fetched with an explicit
Accept list; an index resolved to linux/amd64 as go-containerregistry does (first child whose
platform is linux/amd64, a child without platform counting as linux/amd64); the config blob's
config.Labels compared with what make_images.py wrote. Fails (exit 1) on any difference: a
manifest digest that is not the layout's (OCI pushes) or not the same in both registries, a
body whose sha256 is not its Docker-Content-Digest, labels that differ.

Writes OUT_JSON (every fact, per image) and ENV_OUT (KEY=VALUE lines for rig.env).
"""
import base64
import hashlib
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

ACCEPT = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])
INDEX_TYPES = ("application/vnd.oci.image.index.v1+json",
               "application/vnd.docker.distribution.manifest.list.v2+json")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def parse_challenge(header):
    """'Bearer realm="x",service="y",scope="a:b:c,d"' -> ('bearer', {realm, service, scope})."""
    scheme, _, rest = header.strip().partition(" ")
    params = dict((k.lower(), v) for k, v in re.findall(r'([A-Za-z]+)="([^"]*)"', rest))
    return scheme.lower(), params


class Client:
    def __init__(self, base, user, password):
        self.base, self.user, self.password = base.rstrip("/"), user, password
        self.tokens = {}
        self.basic = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.scheme = None

    def _raw(self, url, headers):
        req = urllib.request.Request(url, headers=headers)
        try:
            with OPENER.open(req, timeout=30) as r:
                return r.status, dict(r.headers.items()), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers.items()), e.read()

    def _auth(self, scope):
        if self.scheme == "basic":
            return self.basic
        if scope in self.tokens:
            return self.tokens[scope]
        return None

    def get(self, path, scope, headers=None):
        headers = dict(headers or {})
        for attempt in range(2):
            auth = self._auth(scope)
            h = dict(headers)
            if auth:
                h["Authorization"] = auth
            status, rh, body = self._raw(self.base + path, h)
            if status != 401 or attempt:
                return status, rh, body
            ch = next((v for k, v in rh.items() if k.lower() == "www-authenticate"), None)
            if not ch:
                return status, rh, body
            scheme, params = parse_challenge(ch)
            if scheme == "basic":
                self.scheme = "basic"
            elif scheme == "bearer":
                q = {"service": params.get("service", "")}
                if scope:
                    q["scope"] = scope
                url = params["realm"] + "?" + urllib.parse.urlencode(q)
                st, _, tb = self._raw(url, {"Authorization": self.basic})
                if st != 200:
                    raise SystemExit(f"registry_facts: token endpoint {params['realm']}: HTTP {st} {tb[:200]!r}")
                t = json.loads(tb)
                self.tokens[scope] = "Bearer " + (t.get("token") or t["access_token"])
            else:
                raise SystemExit(f"registry_facts: unknown challenge {ch!r}")
        return status, rh, body

    def manifest(self, repo, ref):
        st, h, body = self.get(f"/v2/{repo}/manifests/{ref}", f"repository:{repo}:pull", {"Accept": ACCEPT})
        if st != 200:
            raise SystemExit(f"registry_facts: {self.base} {repo}:{ref}: HTTP {st} {body[:300]!r}")
        digest = h.get("Docker-Content-Digest")
        calc = "sha256:" + hashlib.sha256(body).hexdigest()
        if digest != calc:
            raise SystemExit(f"registry_facts: {repo}:{ref}: Docker-Content-Digest {digest} != sha256 of body {calc}")
        return digest, h.get("Content-Type"), json.loads(body)

    def blob(self, repo, digest):
        st, h, body = self.get(f"/v2/{repo}/blobs/{digest}", f"repository:{repo}:pull")
        if st != 200:
            raise SystemExit(f"registry_facts: blob {repo}@{digest}: HTTP {st}")
        if "sha256:" + hashlib.sha256(body).hexdigest() != digest:
            raise SystemExit(f"registry_facts: blob {repo}@{digest}: wrong content")
        return body

    def paged(self, path, scope, key):
        """Follow Link rel=next; returns (items, number of pages)."""
        items, pages = [], 0
        while path:
            st, h, body = self.get(path, scope)
            if st != 200:
                raise SystemExit(f"registry_facts: {self.base}{path}: HTTP {st} {body[:200]!r}")
            pages += 1
            items += json.loads(body).get(key) or []
            link = h.get("Link")
            path = re.match(r"<([^>]*)>", link).group(1) if link else None
            if path and path.startswith("http"):
                u = urllib.parse.urlsplit(path)
                path = u.path + ("?" + u.query if u.query else "")
        return items, pages


def resolve(client, repo, tag):
    digest, ctype, m = client.manifest(repo, tag)
    out = {"digest": digest, "media_type": ctype}
    if ctype in INDEX_TYPES:
        for child in m["manifests"]:
            p = child.get("platform") or {"os": "linux", "architecture": "amd64"}
            if p.get("os") == "linux" and p.get("architecture") == "amd64":
                break
        else:
            raise SystemExit(f"registry_facts: {repo}:{tag}: no linux/amd64 child")
        out["children"] = [{"digest": c["digest"], "platform": c.get("platform")} for c in m["manifests"]]
        cd, ctype2, m = client.manifest(repo, child["digest"])
        out["amd64_digest"], out["amd64_media_type"] = cd, ctype2
    else:
        out["amd64_digest"], out["amd64_media_type"] = digest, ctype
    out["config_digest"] = m["config"]["digest"]
    out["config_media_type"] = m["config"]["mediaType"]
    cfg = json.loads(client.blob(repo, m["config"]["digest"]))
    out["labels"] = (cfg.get("config") or {}).get("Labels")
    return out


SAFE = re.compile(r"^[A-Za-z0-9_./:@+,=%-]*$")


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    images_json, out_json, env_out = sys.argv[1:4]
    bases = dict(a.split("=", 1) for a in sys.argv[4:])
    images = json.load(open(images_json))
    clients = {
        n: Client(u, os.environ[f"RIG_REGISTRY_{n.upper()}_USER"], os.environ[f"RIG_REGISTRY_{n.upper()}_PASSWORD"])
        for n, u in bases.items()
    }
    facts, env = [], {}
    for im in images:
        got = {}
        for reg in im["registries"]:
            r = resolve(clients[reg], im["repository"], im["tag"])
            if im["format"] == "oci":
                for k in ("digest", "amd64_digest", "config_digest"):
                    if r[k] != im[k]:
                        sys.exit(f"registry_facts: {reg} {im['repository']}:{im['tag']}: {k} {r[k]} != layout {im[k]}")
            if r["labels"] != im["labels"]:
                sys.exit(f"registry_facts: {reg} {im['repository']}:{im['tag']}: labels differ from the layout's")
            got[reg] = r
        first = got[im["registries"][0]]
        for reg, r in got.items():
            if (r["digest"], r["amd64_digest"]) != (first["digest"], first["amd64_digest"]):
                sys.exit(f"registry_facts: {im['repository']}:{im['tag']}: digests differ between registries")
        fact = dict(im)
        fact.update({k: first[k] for k in ("digest", "media_type", "amd64_digest", "amd64_media_type",
                                           "config_digest", "config_media_type")})
        if "children" in first:
            fact["children"] = first["children"]
        facts.append(fact)

        k = "RIG_IMG_" + im["key"].upper()
        if f"{k}_REPO" not in env:
            env[f"{k}_REPO"] = im["repository"]
            env[f"{k}_TAG"] = im["tag"]
            env[f"{k}_TAGS"] = im["tag"]
            for reg in im["registries"]:
                host = urllib.parse.urlsplit(bases[reg]).netloc
                env[f"{k}_REF_{reg.upper()}"] = f"{host}/{im['repository']}:{im['tag']}"
            env[f"{k}_DIGEST"] = fact["digest"]
            env[f"{k}_MEDIA_TYPE"] = fact["media_type"]
            env[f"{k}_AMD64_DIGEST"] = fact["amd64_digest"]
            env[f"{k}_CONFIG_DIGEST"] = fact["config_digest"]
            labels = json.dumps(im["labels"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            env[f"{k}_LABELS_B64"] = base64.b64encode(labels.encode()).decode()
            cn = (im["labels"] or {}).get("com.amd.aim.model.canonicalName") or \
                (im["labels"] or {}).get("org.amd.silogen.model.canonicalName")
            if cn and SAFE.match(cn):
                env[f"{k}_CANONICAL_NAME"] = cn
        else:
            env[f"{k}_TAGS"] += "," + im["tag"]

    # Listings, as each registry returns them.
    listings = {}
    for reg, c in clients.items():
        cat_all, pages_all = c.paged("/v2/_catalog", "registry:catalog:*", "repositories")
        cat_n2, pages_n2 = c.paged("/v2/_catalog?n=2", "registry:catalog:*", "repositories")
        if cat_all != cat_n2:
            sys.exit(f"registry_facts: {reg}: _catalog paged with n=2 differs from unpaged")
        tags = {}
        for repo in sorted({im["repository"] for im in images if reg in im["registries"]}):
            t, pages = c.paged(f"/v2/{repo}/tags/list?n=2", f"repository:{repo}:pull", "tags")
            tags[repo] = {"tags": t, "pages_with_n2": pages}
        listings[reg] = {"catalog": cat_all, "catalog_pages_n2": pages_n2, "tags": tags}
        R = reg.upper()
        env[f"RIG_REGISTRY_{R}_CATALOG"] = ",".join(cat_all)
        env[f"RIG_REGISTRY_{R}_CATALOG_PAGES_N2"] = str(pages_n2)
    llama = "amdenterpriseai/aim-meta-llama-llama-3-1-8b-instruct"
    env["RIG_LLAMA_REPO"] = llama
    env["RIG_LLAMA_TAGS_REGISTRY_ORDER"] = ",".join(listings["a"]["tags"][llama]["tags"])
    env["RIG_LLAMA_TAGS_PAGES_N2"] = str(listings["a"]["tags"][llama]["pages_with_n2"])

    for k, v in env.items():
        if not SAFE.match(v):
            sys.exit(f"registry_facts: {k}={v!r} is not shell-safe")
    with open(out_json, "w") as f:
        json.dump({"images": facts, "listings": listings}, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    with open(env_out, "w") as f:
        for k, v in env.items():
            f.write(f"{k}={v}\n")


if __name__ == "__main__":
    main()
