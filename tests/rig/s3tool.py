#!/usr/bin/env python3
"""The rig's S3 helper, run with the rig venv's python (botocore and boto3 come with moto).

    s3tool.py seed ENDPOINT ENVFILE     IAM user + key, the bucket and its objects; KEY=VALUE lines
    s3tool.py sign ENDPOINT METHOD PATH QUERY   print SigV4 headers, one `Name: value` a line
                                        (key from $RIG_AWS_ACCESS_KEY_ID / $RIG_AWS_SECRET_ACCESS_KEY)
    s3tool.py du ENDPOINT s3://BUCKET/PREFIX    `s3cmd du` semantics: sum and count over all pages

`seed` runs against a moto server started with INITIAL_NO_AUTH_ACTION_COUNT=3: its first three
actions (iam CreateUser, PutUserPolicy, CreateAccessKey) pass unsigned, every later request must
carry a valid SigV4 signature of that key (moto 5.2.5 answers an unsigned one with a 500). It
then checks that this is so (an unsigned request is refused, a wrong secret gets
SignatureDoesNotMatch) and that every prefix lists to the layout's sums before it writes ENVFILE.

The layout of s3://models (sizes are the object lengths, fixed):
  llama/...          1103 keys: more than one ListObjectsV2 page (1000) under `llama/`
  llama-v2/...       4 keys, counted by the prefix `llama` (as `s3cmd du s3://models/llama` does)
                     but not by `llama/`; one key has a space, one `&`, one non-ASCII letters
  mistral/...        1 key, counted by neither
"""
import concurrent.futures
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials

REGION = "us-east-1"
BUCKET = "models"
USER = "aimc-rig"
NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
SHARDS = 1100


def layout():
    """[(key, size)] in a fixed order."""
    objs = [("llama/config.json", 700), ("llama/generation_config.json", 184),
            ("llama/tokenizer.json", 9000)]
    objs += [(f"llama/shards/part-{i:05d}.bin", 100 + (i * 37) % 1000) for i in range(SHARDS)]
    objs += [("llama-v2/config.json", 800), ("llama-v2/model weights.safetensors", 50000),
             ("llama-v2/notes&changes.txt", 321), ("llama-v2/ünïcødé.txt", 77)]
    objs += [("mistral/config.json", 600)]
    return objs


def expected(prefix):
    sel = [s for k, s in layout() if k.startswith(prefix)]
    return sum(sel), len(sel)


def client(service, endpoint, key, secret):
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id=key,
                        aws_secret_access_key=secret,
                        config=botocore.config.Config(s3={"addressing_style": "path"},
                                                      retries={"max_attempts": 1, "mode": "standard"}))


def signed_headers(endpoint, method, path, query, key, secret, body=b""):
    """SigV4 header signing of one request, as botocore does it (UNSIGNED payload not used)."""
    url = endpoint.rstrip("/") + path + (("?" + query) if query else "")
    req = botocore.awsrequest.AWSRequest(method=method, url=url, data=body)
    creds = botocore.credentials.Credentials(key, secret)
    botocore.auth.S3SigV4Auth(creds, "s3", REGION).add_auth(req)
    return url, dict(req.headers.items())


def http(method, url, headers):
    req = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def du(endpoint, uri, key, secret):
    """Sum and count of ListObjectsV2 over every page, prefix exactly as written."""
    assert uri.startswith("s3://")
    bucket, _, prefix = uri[5:].partition("/")
    total = count = pages = 0
    token = None
    while True:
        q = [("list-type", "2"), ("prefix", prefix)]
        if token:
            q.append(("continuation-token", token))
        query = urllib.parse.urlencode(q, quote_via=urllib.parse.quote, safe="")
        url, h = signed_headers(endpoint, "GET", f"/{bucket}", query, key, secret)
        status, body = http("GET", url, h)
        if status != 200:
            raise SystemExit(f"s3tool: ListObjectsV2 {uri}: HTTP {status}: {body[:300]!r}")
        root = ET.fromstring(body)
        pages += 1
        for c in root.findall(f"{NS}Contents"):
            total += int(c.find(f"{NS}Size").text)
            count += 1
        if root.findtext(f"{NS}IsTruncated") == "true":
            token = root.findtext(f"{NS}NextContinuationToken")
        else:
            return total, count, pages


def seed(endpoint, envfile):
    boot = ("AKIAAIMCRIGBOOTSTRAP", "bootstrap-secret-unused")
    iam = client("iam", endpoint, *boot)
    iam.create_user(UserName=USER)
    iam.put_user_policy(UserName=USER, PolicyName="all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    k = iam.create_access_key(UserName=USER)["AccessKey"]
    key, secret = k["AccessKeyId"], k["SecretAccessKey"]

    # From here on moto checks signatures. An unsigned request must fail first (moto 5.2.5
    # answers it with 500 and a KeyError on the missing Authorization header, not 403).
    status, body = http("GET", f"{endpoint}/", {})
    if status < 400:
        sys.exit(f"s3tool: moto does not check signatures (unsigned ListBuckets gave {status}): "
                 "was it started with INITIAL_NO_AUTH_ACTION_COUNT=3?")

    s3 = client("s3", endpoint, key, secret)
    s3.create_bucket(Bucket=BUCKET)

    def put(item):
        name, size = item
        s3.put_object(Bucket=BUCKET, Key=name, Body=b"a" * size)

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        list(ex.map(put, layout()))

    # Checks: the wrong secret is refused, the sums are what the layout says.
    url, h = signed_headers(endpoint, "GET", f"/{BUCKET}", "list-type=2&prefix=llama", key, secret + "x")
    status, body = http("GET", url, h)
    if status != 403 or b"SignatureDoesNotMatch" not in body:
        sys.exit(f"s3tool: a wrong secret was not refused: HTTP {status} {body[:200]!r}")
    lines = {
        "RIG_S3_ENDPOINT": endpoint,
        "RIG_S3_REGION": REGION,
        "RIG_S3_BUCKET": BUCKET,
        "RIG_AWS_ACCESS_KEY_ID": key,
        "RIG_AWS_SECRET_ACCESS_KEY": secret,
        "RIG_S3_IAM_USER": USER,
    }
    for name, prefix in (("LLAMA", "llama"), ("LLAMA_SLASH", "llama/"), ("LLAMA_V2", "llama-v2"),
                         ("MISTRAL", "mistral"), ("ALL", ""), ("NONE", "no-such-prefix")):
        want_size, want_count = expected(prefix)
        got_size, got_count, pages = du(endpoint, f"s3://{BUCKET}/{prefix}", key, secret)
        if (got_size, got_count) != (want_size, want_count):
            sys.exit(f"s3tool: s3://{BUCKET}/{prefix}: listed {got_size} bytes in {got_count} keys, "
                     f"expected {want_size} in {want_count}")
        lines[f"RIG_S3_URI_{name}"] = f"s3://{BUCKET}/{prefix}"
        lines[f"RIG_S3_SIZE_{name}"] = str(want_size)
        lines[f"RIG_S3_KEYS_{name}"] = str(want_count)
        lines[f"RIG_S3_PAGES_{name}"] = str(pages)
    with open(envfile, "w") as f:
        for k_, v in lines.items():
            f.write(f"{k_}={v}\n")


def main():
    a = sys.argv[1:]
    if a[:1] == ["seed"] and len(a) == 3:
        seed(a[1], a[2])
    elif a[:1] == ["sign"] and len(a) == 5:
        key, secret = os.environ["RIG_AWS_ACCESS_KEY_ID"], os.environ["RIG_AWS_SECRET_ACCESS_KEY"]
        _, h = signed_headers(a[1], a[2], a[3], a[4], key, secret)
        for k, v in h.items():
            print(f"{k}: {v}")
    elif a[:1] == ["du"] and len(a) == 3:
        key, secret = os.environ["RIG_AWS_ACCESS_KEY_ID"], os.environ["RIG_AWS_SECRET_ACCESS_KEY"]
        total, count, pages = du(a[1], a[2], key, secret)
        print(f"{total} {count} {pages}")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
