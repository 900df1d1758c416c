#!/usr/bin/env python3
"""Writes the rig's container images as one OCI image layout, by hand, byte-reproducibly.

    make_images.py OUTDIR

OUTDIR/layout is an OCI layout (oci-layout, index.json, blobs/sha256/...) whose index.json names
each pushable image with an `org.opencontainers.image.ref.name` annotation, so that
`skopeo copy --all oci:OUTDIR/layout:REF docker://HOST/REPO:TAG` pushes it. OUTDIR/images.json is
the push plan and the expected facts: for every pushed reference its repository, tag, manifest
digest and media type, the linux/amd64 child an index resolves to (go-containerregistry's rule:
the first child whose platform is linux/amd64, a child without `platform` counting as
linux/amd64), that child's config digest and its `config.Labels`, and the trap it tests.

Nothing depends on the clock, the machine or the Python version: JSON is written with fixed key
order and separators, and the one layer is a fixed 29-byte gzip of an empty tar, so every digest
is the same on every run (the README lists them).
"""
import gzip
import hashlib
import json
import os
import shutil
import sys

NS = "amdenterpriseai"
CREATED = "2025-06-01T00:00:00Z"

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
INTOTO = "application/vnd.in-toto+json"

# An empty tar archive (two 512-byte zero blocks), gzipped with mtime 0 and no file name. The
# bytes are fixed here rather than made by zlib, whose output may change between versions.
EMPTY_TAR = bytes(1024)
EMPTY_LAYER_GZ = bytes.fromhex(
    "1f8b080000000000020363601805a360148c5400002eafb5ef00040000"
)


def canon(obj):
    """The rig's JSON encoding: insertion order, no spaces, UTF-8, trailing newline-free."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Layout:
    def __init__(self, root):
        self.root = root
        self.blobs = os.path.join(root, "blobs", "sha256")
        os.makedirs(self.blobs, exist_ok=True)
        self.refs = []  # top-level descriptors for index.json

    def blob(self, data):
        digest = sha(data)
        path = os.path.join(self.blobs, digest.split(":", 1)[1])
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(data)
        return digest

    def descriptor(self, media_type, data, **extra):
        d = {"mediaType": media_type, "digest": self.blob(data), "size": len(data)}
        d.update(extra)
        return d

    def tag(self, ref_name, desc):
        d = dict(desc)
        d["annotations"] = {"org.opencontainers.image.ref.name": ref_name}
        self.refs.append(d)

    def finish(self):
        with open(os.path.join(self.root, "oci-layout"), "wb") as f:
            f.write(canon({"imageLayoutVersion": "1.0.0"}))
        with open(os.path.join(self.root, "index.json"), "wb") as f:
            f.write(canon({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.refs}))


def config_blob(arch, labels, variant=None, os_name="linux"):
    cfg = {"architecture": arch, "os": os_name}
    if variant:
        cfg["variant"] = variant
    cfg["created"] = CREATED
    inner = {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}
    if labels is not None:
        inner["Labels"] = labels
    cfg["config"] = inner
    cfg["rootfs"] = {"type": "layers", "diff_ids": [sha(EMPTY_TAR)]}
    cfg["history"] = [{"created": CREATED, "created_by": "aimc test rig: empty layer"}]
    return canon(cfg)


def image_manifest(layout, arch, labels, variant=None):
    """A single-platform OCI image manifest; returns (manifest bytes, config digest)."""
    cfg = config_blob(arch, labels, variant)
    layer = layout.descriptor(OCI_LAYER_GZIP, EMPTY_LAYER_GZ)
    m = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": layout.descriptor(OCI_CONFIG, cfg),
        "layers": [layer],
    }
    return canon(m), sha(cfg)


def attestation_manifest(layout, subject_digest):
    """What `docker buildx` adds to an index: an in-toto manifest with platform unknown/unknown."""
    cfg = canon({"architecture": "unknown", "os": "unknown", "config": {},
                 "rootfs": {"type": "layers", "diff_ids": []}})
    statement = canon({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://spdx.dev/Document",
        "subject": [{"name": "aimc-rig", "digest": {"sha256": subject_digest.split(":", 1)[1]}}],
        "predicate": {"spdxVersion": "SPDX-2.3", "name": "aimc-rig-sbom"},
    })
    m = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": layout.descriptor(OCI_CONFIG, cfg),
        "layers": [layout.descriptor(INTOTO, statement,
                                     annotations={"in-toto.io/predicate-type": "https://spdx.dev/Document"})],
    }
    return canon(m)


# ---- label sets -------------------------------------------------------------------------------

def oci_labels(title, version, revision):
    return {
        "org.opencontainers.image.title": title,
        "org.opencontainers.image.description": f"AMD Inference Microservice: {title}",
        "org.opencontainers.image.licenses": "Apache-2.0",
        "org.opencontainers.image.vendor": "Advanced Micro Devices, Inc.",
        "org.opencontainers.image.authors": "AMD AIM team <aim@example.invalid>",
        "org.opencontainers.image.source": "https://github.com/example-invalid/aim-build",
        "org.opencontainers.image.documentation": "https://example.invalid/aim/docs",
        "org.opencontainers.image.created": CREATED,
        "org.opencontainers.image.revision": revision,
        "org.opencontainers.image.version": version,
    }


def aim_labels(prefix, canonical, source, title, deployments, versions, tags="text-generation,chat",
               variants="default", hf_token="true", notes=None, description=None):
    p = prefix
    return {
        f"{p}.model.canonicalName": canonical,
        f"{p}.model.source": source,
        f"{p}.title": title,
        f"{p}.description.full": description or f"{title}, served by vLLM on AMD Instinct GPUs.\nSecond line of the description.",
        f"{p}.release.notes": notes or "Fixed the tokenizer template; added MI325X profiles.",
        f"{p}.model.tags": tags,
        f"{p}.model.versions": versions,
        f"{p}.model.variants": variants,
        f"{p}.hfToken.required": hf_token,
        f"{p}.model.recommendedDeployments": deployments,
    }


def deployments_json(*rows):
    return json.dumps([dict(gpuModel=g, gpuCount=c, metric=m, precision=p) for g, c, m, p in rows])


LLAMA = "meta-llama/Llama-3.1-8B-Instruct"
LLAMA_REPO = f"{NS}/aim-meta-llama-llama-3-1-8b-instruct"


def llama_labels(version, revision):
    lab = aim_labels(
        "com.amd.aim", LLAMA, f"hf://{LLAMA}", "Llama 3.1 8B Instruct",
        deployments_json(("MI300X", 1, "latency", "fp16"), ("MI300X", 8, "throughput", "fp8"),
                         ("MI325X", 1, "latency", "fp8")),
        versions=f"{version},0.8.4", variants="default,fp8-kv", hf_token="true")
    lab.update(oci_labels("aim-meta-llama-llama-3-1-8b-instruct", version, revision))
    return lab


# ---- the images -------------------------------------------------------------------------------

def build(out):
    root = os.path.join(out, "layout")
    if os.path.exists(root):
        shutil.rmtree(root)
    lay = Layout(root)
    assert gzip.decompress(EMPTY_LAYER_GZ) == EMPTY_TAR
    images = []

    def single(key, repo, tags, arch, labels, trap, fmt="oci", registries=("a", "b")):
        m, cfg = image_manifest(lay, arch, labels)
        desc = lay.descriptor(OCI_MANIFEST, m)
        ref_name = key
        lay.tag(ref_name, desc)
        for tag in tags:
            images.append({
                "key": key, "ref_name": ref_name, "repository": repo, "tag": tag,
                "format": fmt, "registries": list(registries), "kind": "image",
                "digest": desc["digest"], "media_type": OCI_MANIFEST,
                "amd64_digest": desc["digest"], "config_digest": cfg,
                "labels": labels, "trap": trap,
            })

    def index(key, repo, tags, children, trap, fmt="oci", registries=("a", "b")):
        """children: list of (platform or None, arch, labels) or ("attestation", i)."""
        descs, expected, wrong = [], None, []
        for ch in children:
            if ch[0] == "attestation":
                m = attestation_manifest(lay, descs[ch[1]]["digest"])
                d = lay.descriptor(OCI_MANIFEST, m,
                                   annotations={"vnd.docker.reference.digest": descs[ch[1]]["digest"],
                                                "vnd.docker.reference.type": "attestation-manifest"},
                                   platform={"architecture": "unknown", "os": "unknown"})
                descs.append(d)
                continue
            platform, arch, labels = ch
            variant = platform.get("variant") if platform else None
            m, cfg = image_manifest(lay, arch, labels, variant)
            extra = {"platform": platform} if platform is not None else {}
            d = lay.descriptor(OCI_MANIFEST, m, **extra)
            descs.append(d)
            p = platform or {"architecture": "amd64", "os": "linux"}
            if expected is None and p["os"] == "linux" and p["architecture"] == "amd64":
                expected = (d, cfg, labels)
            else:
                wrong.append({"digest": d["digest"], "platform": platform, "config_digest": cfg,
                              "labels": labels})
        idx = canon({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descs})
        desc = lay.descriptor(OCI_INDEX, idx)
        lay.tag(key, desc)
        for tag in tags:
            images.append({
                "key": key, "ref_name": key, "repository": repo, "tag": tag,
                "format": fmt, "registries": list(registries), "kind": "index",
                "digest": desc["digest"], "media_type": OCI_INDEX,
                "children": [{"digest": d["digest"], "platform": d.get("platform")} for d in descs],
                "amd64_digest": expected[0]["digest"], "config_digest": expected[1],
                "labels": expected[2], "other_children": wrong, "trap": trap,
            })

    # (a) + (g): one repository, several tags; `latest` is the same manifest as 0.8.5.
    single("llama_0_8_5", LLAMA_REPO, ["0.8.5", "latest"], "amd64", llama_labels("0.8.5", "5c4c0000"),
           "(a) single-platform OCI manifest, full com.amd.aim.* and org.opencontainers.image.* labels; "
           "`latest` is the same digest as 0.8.5")
    single("llama_0_8_4", LLAMA_REPO, ["0.8.4"], "amd64", llama_labels("0.8.4", "5c4b0000"),
           "(g) an older tag of the same repository")
    single("llama_0_9_0_rc1", LLAMA_REPO, ["0.9.0-rc1"], "amd64", llama_labels("0.9.0-rc1", "5d000001"),
           "(g) a semver pre-release tag")
    single("llama_0_10_0", LLAMA_REPO, ["0.10.0"], "amd64", llama_labels("0.10.0", "5e000000"),
           "(g) the semver-newest tag; a string sort puts it before 0.8.4, and the registry's own order is neither")

    # (b) buildx-shaped index: arm64 first, attestation manifests, amd64 third.
    qwen = "Qwen/Qwen3-32B"

    def qwen_labels(arch, canonical):
        lab = aim_labels("com.amd.aim", canonical, f"hf://{qwen}", f"Qwen3 32B ({arch})",
                         deployments_json(("MI300X", 1, "latency", "fp8")) if arch == "amd64"
                         else deployments_json(("NONE", 0, "wrong-child", "arm64")),
                         versions="0.8.5", hf_token="false")
        lab.update(oci_labels("aim-qwen-qwen3-32b", "0.8.5", "0cc70000"))
        return lab
    index("qwen_index", f"{NS}/aim-qwen-qwen3-32b", ["0.8.5"], [
        ({"architecture": "arm64", "os": "linux", "variant": "v8"}, "arm64", qwen_labels("arm64", "wrong/arm64-child")),
        ("attestation", 0),
        ({"architecture": "amd64", "os": "linux"}, "amd64", qwen_labels("amd64", qwen)),
        ("attestation", 2),
    ], "(b) image index: FIRST child linux/arm64 (wrong labels), then an unknown/unknown attestation "
       "manifest, then linux/amd64 (the right one); picking the first child or the host platform is wrong")

    # (c) an index whose linux/amd64 answer is a child WITHOUT platform (before an explicit amd64).
    mix = "mistralai/Mixtral-8x7B-Instruct-v0.1"

    def mix_labels(which, canonical):
        lab = aim_labels("com.amd.aim", canonical, f"hf://{mix}", f"Mixtral 8x7B Instruct ({which})",
                         deployments_json(("MI300X", 2, "throughput", "fp16")), versions="0.8.5")
        return lab
    index("mixtral_noplatform", f"{NS}/aim-mistralai-mixtral-8x7b-instruct-v0-1", ["0.8.5"], [
        ({"architecture": "arm64", "os": "linux", "variant": "v8"}, "arm64", mix_labels("arm64 child", "wrong/arm64-child")),
        (None, "amd64", mix_labels("child without platform", mix)),
        ({"architecture": "amd64", "os": "linux"}, "amd64", mix_labels("explicit linux/amd64 child", "wrong/explicit-amd64-after-no-platform")),
    ], "(c) image index with a child that has no `platform`: it counts as linux/amd64 and comes before "
       "an explicit linux/amd64 child, so it is the answer (oci-client skips it: wrong)")

    # (d) only the legacy org.amd.silogen.* prefix.
    single("silogen_only", f"{NS}/aim-legacy-silogen", ["0.7.0"], "amd64",
           aim_labels("org.amd.silogen", "meta-llama/Llama-3.1-70B-Instruct", "hf://meta-llama/Llama-3.1-70B-Instruct",
                      "Llama 3.1 70B Instruct (legacy labels)",
                      deployments_json(("MI300X", 4, "latency", "fp16")), versions="0.7.0", hf_token="T"),
           "(d) ONLY org.amd.silogen.* labels (no com.amd.aim.*, no OCI labels); hfToken.required=T (a Go bool)")

    # (d') both prefixes: com.amd.aim wins unless empty; a non-bool hfToken.required.
    mixed = aim_labels("org.amd.silogen", "silogen/loses-to-com-amd-aim", "hf://silogen/fallback-source",
                       "Silogen title (used: com.amd.aim.title is empty)",
                       deployments_json(("MI300X", 1, "latency", "bf16")), versions="0.8.5", hf_token="true")
    mixed.update({
        "com.amd.aim.model.canonicalName": "amd/mixed-prefix-model",
        "com.amd.aim.title": "",
        "com.amd.aim.hfToken.required": "yes",
    })
    single("mixed_prefix", f"{NS}/aim-mixed-prefix", ["0.8.5"], "amd64", mixed,
           "(d') both prefixes: com.amd.aim.model.canonicalName beats silogen's; com.amd.aim.title is \"\" so "
           "silogen's title applies; com.amd.aim.hfToken.required=yes is not a Go bool (ignored)")

    # (e) python-quoted, unbracketed deployments with surrounding whitespace.
    pyq = aim_labels("com.amd.aim", "amd/python-quoted", "hf://amd/python-quoted", "Python-quoted deployments",
                     "  {'gpuModel': 'MI300X', 'gpuCount': 1, 'metric': 'latency', 'precision': 'fp8'}, "
                     "{'gpuModel': 'MI325X', 'gpuCount': 8, 'metric': 'throughput', 'precision': 'fp16'}\n",
                     versions="0.8.5", hf_token="False")
    single("python_quoted", f"{NS}/aim-python-quoted", ["0.8.5"], "amd64", pyq,
           "(e) recommendedDeployments python-quoted ('), not bracketed, padded with spaces and a newline: "
           "trim, ' -> \", wrap in [ ] gives 2 deployments")

    # (f) malformed deployments: extraction fails.
    bad = aim_labels("com.amd.aim", "amd/malformed", "hf://amd/malformed", "Malformed deployments",
                     '[{"gpuModel": "MI300X", "gpuCount": }', versions="0.8.5")
    single("malformed", f"{NS}/aim-malformed-deployments", ["0.8.5"], "amd64", bad,
           "(f) recommendedDeployments is not JSON even after the fix-ups: extraction must fail")

    # no labels at all (config.Labels absent).
    single("no_labels", f"{NS}/aim-no-labels", ["0.1.0"], "amd64", None,
           "config has no Labels key at all: empty metadata, no crash")

    # Docker media types: the same kind of image converted by skopeo --format v2s2 on push.
    single("docker_v2s2", f"{NS}/aim-docker-media-types", ["0.8.5"], "amd64",
           aim_labels("com.amd.aim", "amd/docker-media-types", "hf://amd/docker-media-types",
                      "Docker schema 2 media types", deployments_json(("MI300X", 1, "latency", "fp8")),
                      versions="0.8.5"),
           "pushed with skopeo --format v2s2: application/vnd.docker.distribution.manifest.v2+json and a "
           "docker config media type (digest differs from the OCI layout's)", fmt="v2s2")

    # A Docker manifest list (skopeo --format v2s2 converts the OCI index): arm64 first again.
    def dl_labels(arch, canonical):
        return aim_labels("com.amd.aim", canonical, "hf://amd/docker-manifest-list",
                          f"Docker manifest list ({arch} child)",
                          deployments_json(("MI300X", 1, "latency", "fp8")), versions="0.8.5")
    index("docker_list", f"{NS}/aim-docker-manifest-list", ["0.8.5"], [
        ({"architecture": "arm64", "os": "linux", "variant": "v8"}, "arm64", dl_labels("arm64", "wrong/arm64-child")),
        ({"architecture": "amd64", "os": "linux"}, "amd64", dl_labels("amd64", "amd/docker-manifest-list")),
    ], "Docker manifest list (application/vnd.docker.distribution.manifest.list.v2+json), pushed with "
       "skopeo --format v2s2: arm64 first, linux/amd64 second", fmt="v2s2")

    # Catalog filler: repositories a wildcard must not match, and anonymous pulls on registry B.
    filler = aim_labels("com.amd.aim", "amd/filler", "hf://amd/filler", "Not an AIM image",
                        deployments_json(("MI300X", 1, "latency", "fp8")), versions="1.0.0")
    single("not_aim", f"{NS}/not-an-aim", ["1.0.0"], "amd64", filler,
           "same namespace, repository name does not start with aim-: a wildcard aim-* must skip it")
    single("other_ns", "other/unrelated", ["1.0.0", "2.0.0"], "amd64", filler,
           "another namespace: an amdenterpriseai/* wildcard must skip it")
    single("public_llama", f"public/aim-meta-llama-llama-3-1-8b-instruct", ["0.8.5"], "amd64",
           llama_labels("0.8.5", "5c4c0000"),
           "under public/: registry B's token server grants anonymous pull here (registry A: 401)")

    lay.finish()
    with open(os.path.join(out, "images.json"), "w") as f:
        json.dump(images, f, indent=1, sort_keys=True)
        f.write("\n")
    return images


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_images.py OUTDIR")
    images = build(sys.argv[1])
    for im in images:
        print(f'{im["ref_name"]} {im["repository"]}:{im["tag"]} {im["digest"]}')


if __name__ == "__main__":
    main()
