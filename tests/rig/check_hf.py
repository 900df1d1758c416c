#!/usr/bin/env python3
"""Checks that hf_server.py is Hub-shaped: the REAL huggingface_hub client parses its answers.

    check_hf.py ENDPOINT        (token in $RIG_HF_TOKEN; run with the rig venv's python)

For every fixture repo, `HfApi(endpoint=ENDPOINT).model_info(repo, files_metadata=True)` (and
once more with only HF_ENDPOINT set, the way the check-size Job's client finds the server) must
give, file by file, the sizes that the raw JSON of `GET /api/models/<repo>?blobs=true` carries,
and their sum (a missing size counting 0) must equal the fixture's declared sum. The error cases
must raise the client's own exceptions with the fixture's status codes: GatedRepoError 401 (no
token) and 403 (wrong token), RepositoryNotFoundError 401 (private) and 404 (unknown). Exits 1
with a message on the first difference.
"""
import json
import os
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check_hf.py ENDPOINT")
    endpoint = sys.argv[1].rstrip("/")
    token = os.environ.get("RIG_HF_TOKEN") or sys.exit("check_hf: RIG_HF_TOKEN is empty")
    # The client must see only this endpoint and no stored or ambient token.
    home_dir = tempfile.TemporaryDirectory(prefix="aimc-rig-hfhome-")
    home = home_dir.name
    for k in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "HF_TOKEN_PATH"):
        os.environ.pop(k, None)
    os.environ.update(HF_ENDPOINT=endpoint, HF_HOME=home, HF_HUB_DISABLE_TELEMETRY="1",
                      HF_HUB_DISABLE_IMPLICIT_TOKEN="1", NO_PROXY="127.0.0.1,localhost")

    import huggingface_hub
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    sys.path.insert(0, HERE)
    import hf_server

    failures = []

    def check(cond, msg):
        if not cond:
            failures.append(msg)
        return cond

    def raw(repo, tok):
        req = urllib.request.Request(f"{endpoint}/api/models/{repo}?blobs=true",
                                     headers={"Authorization": f"Bearer {tok}"} if tok else {})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)

    api = HfApi(endpoint=endpoint)
    api_env = HfApi()  # endpoint from HF_ENDPOINT
    check(api_env.endpoint == endpoint, f"HfApi() ignored HF_ENDPOINT: {api_env.endpoint}")
    checked = 0
    for repo, fx in hf_server.REPOS.items():
        tok = token if (fx["private"] or fx["gated"]) else False
        for client in (api, api_env):
            info = client.model_info(repo, files_metadata=True, token=tok)
            got = {s.rfilename: s.size for s in info.siblings}
            want_raw = {s["rfilename"]: s.get("size") for s in raw(repo, tok if tok else None)["siblings"]}
            want_fx = {name: size for name, size, _ in fx["files"]}
            check(got == want_raw, f"{repo}: client sizes {got} != raw JSON {want_raw}")
            check(got == want_fx, f"{repo}: client sizes {got} != fixture {want_fx}")
            total = sum(v or 0 for v in got.values())
            check(total == hf_server.expected_sum(repo),
                  f"{repo}: client sum {total} != fixture {hf_server.expected_sum(repo)}")
            check(info.id == repo and info.sha == hf_server.SHA, f"{repo}: id/sha {info.id} {info.sha}")
            lfs = {s.rfilename: s.lfs.size for s in info.siblings if s.lfs}
            check(all(lfs[n] == got[n] for n in lfs), f"{repo}: lfs.size differs from size")
            checked += 1
        # Without files_metadata the Hub (and the fixture) sends names only.
        plain = api.model_info(repo, token=tok)
        check(all(s.size is None for s in plain.siblings), f"{repo}: sizes without blobs=true")

    # The renamed repo: the client follows the Hub's 307.
    try:
        info = api.model_info("gpt2", files_metadata=True, token=False)
        check(info.id == "openai-community/gpt2", f"gpt2 redirect gave {info.id}")
        check(sum(s.size or 0 for s in info.siblings) == hf_server.expected_sum("openai-community/gpt2"),
              "gpt2 redirect: wrong sum")
    except Exception as e:  # noqa: BLE001
        check(False, f"gpt2 redirect: the client raised {type(e).__name__}: {e}")

    def expect_error(repo, tok, exc, status):
        try:
            api.model_info(repo, files_metadata=True, token=tok)
        except exc as e:
            check(e.response.status_code == status,
                  f"{repo} token={'wrong' if tok else 'none'}: status {e.response.status_code} != {status}")
            return
        except Exception as e:  # noqa: BLE001
            check(False, f"{repo}: expected {exc.__name__}, got {type(e).__name__}: {e}")
            return
        check(False, f"{repo}: expected {exc.__name__}, got an answer")

    gated = "meta-llama/Llama-3.1-8B-Instruct"
    expect_error(gated, False, GatedRepoError, 401)
    expect_error(gated, "hf_wrong_token", GatedRepoError, 403)
    expect_error("amd/private-model", False, RepositoryNotFoundError, 401)
    expect_error("amd/private-model", "hf_wrong_token", RepositoryNotFoundError, 401)
    expect_error("amd/does-not-exist", False, RepositoryNotFoundError, 404)

    home_dir.cleanup()
    if failures:
        for f in failures:
            print(f"check_hf: FAIL: {f}", file=sys.stderr)
        sys.exit(1)
    print(f"check_hf: ok: huggingface_hub {huggingface_hub.__version__} parsed {checked} answers of "
          f"{len(hf_server.REPOS)} repos to the fixture's sizes; redirect and 5 error cases as the Hub")


if __name__ == "__main__":
    main()
