#!/usr/bin/env python3
"""HTTP contract server for the registry vendors davit cannot reach here.

It answers as their documentation says, over a real registry (the
anonymous one of scripts/testenv) that holds the images:

* GitHub Packages REST API under /github (docs.github.com/rest/packages):
  GET /users/{owner}; GET and DELETE
  /user/packages/container/{package}/versions[/{id}] and
  /orgs/{org}/packages/container/{package}/versions[/{id}];
  `page`/`per_page` pagination (at most 100, an empty page at the end);
  a version is a digest of the repository with every tag on it, and
  deleting it deletes the manifest; tokens with scopes (401 "Bad
  credentials", 403 without read:packages or delete:packages); primary
  rate limits (403 or 429 with x-ratelimit-remaining: 0 and
  x-ratelimit-reset) and secondary ones (429 with retry-after).
* Docker Hub API under /hub (docs.docker.com/docker-hub/api):
  POST /v2/users/login/ -> {"token"}; DELETE
  /v2/repositories/{namespace}/{repo}/tags/{tag}/ with `Authorization: JWT`
  deletes that tag alone (401 bad token, 403 no permission, 404 unknown tag,
  429 with Retry-After and X-RateLimit-Reset).
* GitLab's container registry at / (docs.gitlab.com: container registry
  API, token auth): a registry with bearer tokens from /jwt/auth
  (actions granted per user), every /v2/ request passed to the backing
  registry, plus DELETE /v2/{repo}/tags/reference/{tag} (the tag alone);
  429 with Retry-After as a rate limit.

Config (JSON, --config):
  {"registry": "127.0.0.1:5055",
   "github": {"owners": {"acme": "Organization", "alice": "User"},
              "tokens": {"T": {"login": "alice", "scopes": ["read:packages", "delete:packages"],
                               "delete_limit": null}},
              "rate_limit_every": 0},
   "dockerhub": {"users": {"bob": {"password": "pw", "can_delete": true}}, "rate_limit_every": 0},
   "gitlab": {"users": {"deployer": {"password": "pw", "actions": ["pull", "push", "delete"]}},
              "rate_limit_every": 0, "delay_ms": 0}}
  "gitlab" may also have "hold": {"method": "HEAD", "contains": "/manifests/",
  "count": 1}: the first `count` authorized registry requests that match are
  held until POST /_release (to stop a client at a known point); and
  "policy_violations": N answers the first N manifest reads as Harbor does
  while a project policy holds an image (412 PROJECTPOLICYVIOLATION).
* Amazon ECR's API at POST /ecr: BatchDeleteImage by tag, its Signature
  Version 4 verified against "ecr": {"keys": {"AKID": {"secret": "S",
  "can_delete": true}}, "rate_limit_every": 0} (ThrottlingException every
  Nth request; AccessDeniedException for a key that cannot delete;
  InvalidSignatureException for a bad signature). A key with
  "session_token" is temporary: requests must carry that token in
  X-Amz-Security-Token, signed (UnrecognizedClientException otherwise);
  with "expires_after": N it answers ExpiredTokenException after N
  deletions made with it.
* Where a runner on AWS gets those keys: EC2 instance metadata (IMDSv2) at
  /imds/latest/api/token (PUT, with X-aws-ec2-metadata-token-ttl-seconds)
  and /imds/latest/meta-data/iam/security-credentials/[ROLE] (GET, with
  the session token), from "imds": {"role": R, "key": AKID}; and the
  container credentials endpoint at GET /ecs-credentials, from "ecs":
  {"authorization": T, "key": AKID} (401 without that Authorization); the
  instance metadata gives "next_key" instead of "key" from its second
  credentials answer on, when it has one (keys are rotated).
  Both answer {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}
  from the key's entry in "ecr". And STS AssumeRoleWithWebIdentity at
  POST /sts (a form body; XML answers, as the STS API Reference has them)
  from "sts": {"role_arn": R, "token": T, "key": AKID}: 400
  InvalidIdentityToken for another token, 403 AccessDenied for another role.
Admin: GET /_stats (counters; "held": requests held so far), POST /_release,
POST /_seed?repo=R&prefix=P&count=N (N tags with a manifest of their own
each). Prints "listening on PORT" when ready.
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACCEPT = ", ".join([
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
])

CONFIG = {}
RELEASED = threading.Event()
LOCK = threading.Lock()
STATS = {
    "github": {"requests": 0, "rate_limited": 0, "pages": 0, "deletes": 0, "refused": 0, "deleted_versions": []},
    "dockerhub": {"requests": 0, "rate_limited": 0, "logins": 0, "deletes": 0, "refused": 0, "deleted_tags": []},
    "ecr": {"requests": 0, "rate_limited": 0, "deletes": 0, "refused": 0, "bad_signatures": 0, "deleted_tags": []},
    "gitlab": {"requests": 0, "rate_limited": 0, "tag_deletes": 0, "refused": 0, "deleted_tags": [], "held": 0,
               "policy_violations": 0},
}
GITHUB_DELETES = {}  # token -> deletions done
HUB_TOKENS = {}  # jwt -> user
GITLAB_TOKENS = {}  # token -> {repo: set(actions)}


# ---- the backing registry -------------------------------------------------

def backend(method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(CONFIG["registry"], timeout=60)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, resp.getheaders(), data


def header(headers, name):
    for k, v in headers:
        if k.lower() == name.lower():
            return v
    return None


def all_tags(repo):
    tags, path = [], f"/v2/{repo}/tags/list"
    while path:
        status, headers, data = backend("GET", path)
        if status == 404:
            return []
        if status != 200:
            raise RuntimeError(f"tags of {repo}: HTTP {status}")
        tags += json.loads(data).get("tags") or []
        link = header(headers, "Link")
        path = link[link.index("<") + 1:link.index(">")] if link else None
    return tags


def tag_digest(repo, tag):
    for attempt in range(5):
        status, headers, _ = backend("HEAD", f"/v2/{repo}/manifests/{tag}", headers={"Accept": ACCEPT})
        if status == 200:
            return header(headers, "Docker-Content-Digest")
        if status == 404:
            return None
        time.sleep(0.2 * (attempt + 1))
    raise RuntimeError(f"HEAD {repo}:{tag}: HTTP {status}")


def push_blob(repo, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    status, headers, _ = backend("POST", f"/v2/{repo}/blobs/uploads/")
    if status != 202:
        raise RuntimeError(f"blob upload to {repo}: HTTP {status}")
    loc = urllib.parse.urlsplit(header(headers, "Location"))
    path = loc.path + "?" + loc.query + ("&" if loc.query else "") + "digest=" + urllib.parse.quote(digest)
    status, _, body = backend("PUT", path, body=data, headers={"Content-Type": "application/octet-stream"})
    if status != 201:
        raise RuntimeError(f"blob put to {repo}: HTTP {status} {body[:200]!r}")
    return digest, len(data)


def push_unique(repo, tag, note):
    """Points `tag` at a manifest no other tag has; returns its digest."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Labels": {"contract": note}},
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    digest, size = push_blob(repo, config)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": digest, "size": size}, "layers": []}).encode()
    status, headers, body = backend("PUT", f"/v2/{repo}/manifests/{tag}", body=manifest,
                                    headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    if status != 201:
        raise RuntimeError(f"manifest put {repo}:{tag}: HTTP {status} {body[:200]!r}")
    return header(headers, "Docker-Content-Digest")


def delete_tag_alone(repo, tag):
    """A registry that deletes tags, over one that deletes manifests."""
    if tag_digest(repo, tag) is None and tag not in all_tags(repo):
        return False
    # The vendors delete a tag at once. The distribution registry can fail
    # a delete part-way when other tags change (a 500 after the manifest
    # went, so the retry finds nothing) and keep the tag listed: do it again.
    for _ in range(5):
        digest = push_unique(repo, tag, f"deleting {tag} {time.time_ns()}")
        if delete_manifest(repo, digest) and tag not in all_tags(repo):
            return True
        print(f"contract server: {repo}:{tag} survived its deletion, again", file=sys.stderr)
    raise RuntimeError(f"{repo}:{tag} survives deletion")


def delete_manifest(repo, digest):
    """Whether this call deleted the manifest (404: it was gone)."""
    for attempt in range(5):
        status, _, body = backend("DELETE", f"/v2/{repo}/manifests/{digest}")
        if status in (202, 404):
            return status == 202
        time.sleep(0.2 * (attempt + 1))
    raise RuntimeError(f"deleting {repo}@{digest}: HTTP {status} {body[:200]!r}")


def versions(repo):
    """GitHub's package versions: one per digest, with its tags."""
    by_digest = {}
    for t in all_tags(repo):
        d = tag_digest(repo, t)
        if d:
            by_digest.setdefault(d, []).append(t)
    return sorted(({"id": int(d.split(":")[1][:12], 16), "name": d, "digest": d, "tags": sorted(tags)}
                   for d, tags in by_digest.items()), key=lambda v: v["id"])


# ---- the server ---------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, body=b"", headers=None, ctype="application/json"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if body or status not in (204, 304):
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def policy_violation(self):
        """True for the first `policy_violations` manifest reads."""
        with LOCK:
            if STATS["gitlab"]["policy_violations"] >= (CONFIG["gitlab"].get("policy_violations") or 0):
                return False
            STATS["gitlab"]["policy_violations"] += 1
            return True

    def maybe_hold(self, path):
        hold = CONFIG["gitlab"].get("hold")
        if not hold or self.command != hold["method"] or hold["contains"] not in path:
            return
        with LOCK:
            if STATS["gitlab"]["held"] >= hold.get("count", 1):
                return
            STATS["gitlab"]["held"] += 1
        if not RELEASED.wait(timeout=120):
            raise RuntimeError(f"{self.command} {path} held for 120 s without a release")

    def body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            # docker pushes layers in chunks of unknown total length.
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def count(self, vendor):
        """Counts a request; True when this one is answered with a rate limit."""
        with LOCK:
            STATS[vendor]["requests"] += 1
            every = CONFIG.get(vendor, {}).get("rate_limit_every") or 0
            limited = every > 0 and STATS[vendor]["requests"] % every == 0
            if limited:
                STATS[vendor]["rate_limited"] += 1
            return limited

    def handle_any(self):
        try:
            url = urllib.parse.urlsplit(self.path)
            if url.path == "/_stats":
                with LOCK:
                    return self.answer(200, STATS)
            if url.path == "/_release":
                RELEASED.set()
                return self.answer(200, {"released": True})
            if url.path == "/_seed":
                q = dict(urllib.parse.parse_qsl(url.query))
                for i in range(int(q["count"])):
                    push_unique(q["repo"], f"{q['prefix']}{i:03d}", f"seed {i} {time.time_ns()}")
                return self.answer(201, {"seeded": int(q["count"])})
            if url.path.startswith("/github/"):
                return self.github(url.path[len("/github"):], dict(urllib.parse.parse_qsl(url.query)))
            if url.path == "/ecr":
                return self.ecr(url.path)
            if url.path.startswith("/imds/"):
                return self.imds(url.path[len("/imds"):])
            if url.path == "/ecs-credentials":
                return self.ecs_credentials()
            if url.path == "/sts/":
                return self.sts()
            if url.path.startswith("/hub/"):
                return self.dockerhub(url.path[len("/hub"):])
            if url.path == "/jwt/auth":
                return self.gitlab_token(urllib.parse.parse_qs(url.query))
            if url.path.startswith("/v2"):
                return self.gitlab_registry(url)
            return self.answer(404, {"message": "Not Found"})
        except BrokenPipeError:
            pass
        except Exception as e:  # a contract server bug: say so loudly
            print(f"contract server error: {self.command} {self.path}: {e!r}", file=sys.stderr)
            self.answer(500, {"message": f"contract server error: {e!r}"})

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

    # -- GitHub ------------------------------------------------------------------

    def github(self, path, query):
        cfg = CONFIG["github"]
        if self.count("github"):
            reset = str(int(time.time()) + 1)
            if STATS["github"]["rate_limited"] % 2:
                return self.answer(403, {"message": "API rate limit exceeded for user.",
                                         "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"},
                                   {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset})
            return self.answer(429, {"message": "You have exceeded a secondary rate limit."}, {"retry-after": "1"})
        auth = self.headers.get("Authorization", "")
        token = auth.split(" ", 1)[1] if " " in auth else ""
        grant = cfg["tokens"].get(token)
        if grant is None:
            return self.answer(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
        parts = path.strip("/").split("/")
        if parts[0] == "users" and len(parts) == 2 and self.command == "GET":
            kind = cfg["owners"].get(parts[1])
            if kind is None:
                return self.answer(404, {"message": "Not Found"})
            return self.answer(200, {"login": parts[1], "id": 1, "type": kind})
        # /user/packages/container/P/versions[/ID] or /orgs/O/packages/container/P/versions[/ID]
        if parts[0] == "user":
            owner, rest = grant["login"], parts[1:]
            if cfg["owners"].get(owner) != "User":
                return self.answer(404, {"message": "Not Found"})
        elif parts[0] == "orgs" and len(parts) > 1:
            owner, rest = parts[1], parts[2:]
            if cfg["owners"].get(owner) != "Organization":
                return self.answer(404, {"message": "Not Found"})
        else:
            return self.answer(404, {"message": "Not Found"})
        if len(rest) < 4 or rest[:2] != ["packages", "container"] or rest[3] != "versions":
            return self.answer(404, {"message": "Not Found"})
        repo = f"{owner}/{urllib.parse.unquote(rest[2])}"
        scopes = set(grant["scopes"])
        if "read:packages" not in scopes:
            STATS["github"]["refused"] += 1
            return self.answer(403, {"message": "You need at least read:packages scope to list packages.",
                                     "documentation_url": "https://docs.github.com/rest/packages/packages"},
                               {"x-accepted-oauth-scopes": "read:packages", "x-oauth-scopes": ", ".join(sorted(scopes))})
        all_versions = versions(repo)
        if not all_versions:
            return self.answer(404, {"message": "Package not found."})
        if len(rest) == 4 and self.command == "GET":
            per_page = min(int(query.get("per_page", 30)), 100)
            page = int(query.get("page", 1))
            with LOCK:
                STATS["github"]["pages"] += 1
            chunk = all_versions[(page - 1) * per_page: page * per_page]
            return self.answer(200, [{"id": v["id"], "name": v["name"], "url": "", "package_html_url": "",
                                      "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
                                      "metadata": {"package_type": "container", "container": {"tags": v["tags"]}}}
                                     for v in chunk])
        if len(rest) == 5 and self.command == "DELETE":
            with LOCK:
                STATS["github"]["deletes"] += 1
                done = GITHUB_DELETES.get(token, 0)
                limit = grant.get("delete_limit")
                allowed = "delete:packages" in scopes and (limit is None or done < limit)
                if allowed:
                    GITHUB_DELETES[token] = done + 1
                else:
                    STATS["github"]["refused"] += 1
            if not allowed:
                return self.answer(403, {"message": "You need at least delete:packages scope to delete packages.",
                                         "documentation_url": "https://docs.github.com/rest/packages/packages"},
                                   {"x-accepted-oauth-scopes": "delete:packages, read:packages",
                                    "x-oauth-scopes": ", ".join(sorted(scopes))})
            version = next((v for v in all_versions if str(v["id"]) == rest[4]), None)
            if version is None:
                return self.answer(404, {"message": "Not Found"})
            if not delete_manifest(repo, version["digest"]):
                # Lost part-way by the registry below: the tags may stay listed.
                for t in version["tags"]:
                    delete_tag_alone(repo, t)
            with LOCK:
                STATS["github"]["deleted_versions"].append(version["tags"])
            return self.answer(204)
        return self.answer(404, {"message": "Not Found"})

    # -- Amazon ECR -----------------------------------------------------------------

    def ecr_error(self, kind, message):
        return self.answer(400, {"__type": kind, "message": message}, ctype="application/x-amz-json-1.1")

    def ecr(self, path):
        """BatchDeleteImage (docs.aws.amazon.com: Amazon ECR API Reference),
        signed with Signature Version 4 (IAM User Guide), verified here."""
        body = self.body()
        cfg = CONFIG["ecr"]
        if self.count("ecr"):
            return self.ecr_error("ThrottlingException", "Rate exceeded")
        if self.headers.get("X-Amz-Target") != "AmazonEC2ContainerRegistry_V20150921.BatchDeleteImage":
            return self.ecr_error("UnknownOperationException", "")
        auth = self.headers.get("Authorization", "")
        fields = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
        key_id, day, region, service, _ = fields["Credential"].split("/")
        key = cfg["keys"].get(key_id)
        if key is None:
            with LOCK:
                STATS["ecr"]["refused"] += 1
            return self.ecr_error("UnrecognizedClientException", "The security token included in the request is invalid.")
        signed = fields["SignedHeaders"].split(";")
        canonical = "\n".join([
            "POST", path, "",
            "".join(f"{h}:{self.headers.get(h, '').strip()}\n" for h in signed),
            ";".join(signed), hashlib.sha256(body).hexdigest()])
        amz_date = self.headers.get("X-Amz-Date", "")
        scope = f"{day}/{region}/{service}/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        k = ("AWS4" + key["secret"]).encode()
        for part in (day, region, service, "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, fields["Signature"]) or service != "ecr" \
                or "host" not in signed or "x-amz-date" not in signed or not amz_date.startswith(day):
            with LOCK:
                STATS["ecr"]["bad_signatures"] += 1
            return self.ecr_error("InvalidSignatureException",
                                  "The request signature we calculated does not match the signature you provided.")
        token = key.get("session_token")
        if token is not None and (self.headers.get("X-Amz-Security-Token") != token
                                  or "x-amz-security-token" not in signed):
            with LOCK:
                STATS["ecr"]["refused"] += 1
            return self.ecr_error("UnrecognizedClientException", "The security token included in the request is invalid.")
        with LOCK:
            used = STATS["ecr"].setdefault("used_by_key", {})
            expired = key.get("expires_after") is not None and used.get(key_id, 0) >= key["expires_after"]
            if expired:
                STATS["ecr"]["expired"] = STATS["ecr"].get("expired", 0) + 1
            else:
                used[key_id] = used.get(key_id, 0) + 1
        if expired:
            return self.ecr_error("ExpiredTokenException", "The security token included in the request is expired")
        if not key.get("can_delete"):
            with LOCK:
                STATS["ecr"]["refused"] += 1
            return self.ecr_error("AccessDeniedException",
                                  f"User: arn:aws:iam::000000000000:user/{key_id} is not authorized to perform: ecr:BatchDeleteImage")
        req = json.loads(body)
        repo = req["repositoryName"]
        deleted, failures = [], []
        for image_id in req["imageIds"]:
            tag = image_id["imageTag"]
            if delete_tag_alone(repo, tag):
                deleted.append({"imageTag": tag})
                with LOCK:
                    STATS["ecr"]["deletes"] += 1
                    STATS["ecr"]["deleted_tags"].append(tag)
            else:
                failures.append({"imageId": {"imageTag": tag}, "failureCode": "ImageNotFound",
                                 "failureReason": "Requested image not found"})
        return self.answer(200, {"imageIds": deleted, "failures": failures}, ctype="application/x-amz-json-1.1")

    def aws_credentials_of(self, key_id):
        key = CONFIG["ecr"]["keys"][key_id]
        return {"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": key_id,
                "SecretAccessKey": key["secret"], "Token": key.get("session_token", ""),
                "Expiration": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))}

    def imds(self, path):
        """IMDSv2 (EC2 User Guide: "Use the Instance Metadata Service")."""
        cfg = CONFIG["imds"]
        with LOCK:
            STATS.setdefault("imds", {"requests": 0})["requests"] += 1
        if path == "/latest/api/token" and self.command == "PUT":
            if not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                return self.answer(400, {"message": "missing TTL"})
            return self.answer(200, b"imds-session-token", ctype="text/plain")
        if self.headers.get("X-aws-ec2-metadata-token") != "imds-session-token":
            return self.answer(401, b"", ctype="text/plain")
        base = "/latest/meta-data/iam/security-credentials/"
        if path == base:
            return self.answer(200, (cfg["role"] + "\n").encode(), ctype="text/plain")
        if path == base + cfg["role"]:
            with LOCK:
                STATS["imds"]["credentials"] = STATS["imds"].get("credentials", 0) + 1
                first = STATS["imds"]["credentials"] == 1
            key = cfg["key"] if first or "next_key" not in cfg else cfg["next_key"]
            return self.answer(200, self.aws_credentials_of(key))
        return self.answer(404, b"", ctype="text/plain")

    def ecs_credentials(self):
        """The container credentials endpoint (ECS Developer Guide: "Task
        IAM role"; EKS Pod Identity uses it with an Authorization token)."""
        cfg = CONFIG["ecs"]
        if self.headers.get("Authorization") != cfg["authorization"]:
            return self.answer(401, {"message": "unauthorized"})
        return self.answer(200, self.aws_credentials_of(cfg["key"]))

    def sts_error(self, status, code, message):
        xml = (f"<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>"
               f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>r</RequestId></ErrorResponse>")
        return self.answer(status, xml.encode(), ctype="text/xml")

    def sts(self):
        cfg = CONFIG["sts"]
        form = dict(urllib.parse.parse_qsl(self.body().decode()))
        with LOCK:
            STATS.setdefault("sts", {"requests": 0})["requests"] += 1
        if form.get("Action") != "AssumeRoleWithWebIdentity" or form.get("Version") != "2011-06-15":
            return self.sts_error(400, "InvalidAction", "Could not find operation")
        if form.get("WebIdentityToken") != cfg["token"]:
            return self.sts_error(400, "InvalidIdentityToken", "Couldn't retrieve verification key from your identity provider")
        if form.get("RoleArn") != cfg["role_arn"] or not form.get("RoleSessionName"):
            return self.sts_error(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
        c = self.aws_credentials_of(cfg["key"])
        xml = ("<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
               "<AssumeRoleWithWebIdentityResult><Credentials>"
               f"<SessionToken>{c['Token']}</SessionToken><SecretAccessKey>{c['SecretAccessKey']}</SecretAccessKey>"
               f"<Expiration>{c['Expiration']}</Expiration><AccessKeyId>{c['AccessKeyId']}</AccessKeyId>"
               "</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>")
        return self.answer(200, xml.encode(), ctype="text/xml")

    # -- Docker Hub ----------------------------------------------------------------

    def dockerhub(self, path):
        cfg = CONFIG["dockerhub"]
        if self.count("dockerhub"):
            return self.answer(429, {"detail": "Too Many Requests"},
                               {"Retry-After": "1", "X-RateLimit-Reset": str(int(time.time()) + 1)})
        if path == "/v2/users/login/" and self.command == "POST":
            with LOCK:
                STATS["dockerhub"]["logins"] += 1
            creds = json.loads(self.body() or b"{}")
            user = cfg["users"].get(creds.get("username"))
            if user is None or user["password"] != creds.get("password"):
                return self.answer(401, {"detail": "Incorrect authentication credentials."})
            token = "jwt-" + secrets.token_hex(16)
            with LOCK:
                HUB_TOKENS[token] = creds["username"]
            return self.answer(200, {"token": token})
        parts = path.strip("/").split("/")
        if self.command == "DELETE" and len(parts) == 6 and parts[:2] == ["v2", "repositories"] and parts[4] == "tags":
            auth = self.headers.get("Authorization", "")
            if not auth.startswith("JWT "):
                return self.answer(401, {"detail": "Authentication credentials were not provided."})
            login = HUB_TOKENS.get(auth[4:]) or cfg.get("tokens", {}).get(auth[4:])
            if login is None:
                return self.answer(401, {"detail": "Given token not valid for any token type"})
            with LOCK:
                STATS["dockerhub"]["deletes"] += 1
            if not cfg["users"][login].get("can_delete"):
                with LOCK:
                    STATS["dockerhub"]["refused"] += 1
                return self.answer(403, {"detail": "You do not have permission to perform this action."})
            repo, tag = f"{parts[2]}/{parts[3]}", parts[5]
            if not delete_tag_alone(repo, tag):
                return self.answer(404, {"detail": "Not found."})
            with LOCK:
                STATS["dockerhub"]["deleted_tags"].append(tag)
            return self.answer(204)
        return self.answer(404, {"detail": "Not found."})

    # -- GitLab --------------------------------------------------------------------

    def gitlab_token(self, query):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            return self.answer(401, {"errors": [{"code": "UNAUTHORIZED", "message": "HTTP Basic: Access denied"}]})
        name, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        user = CONFIG["gitlab"]["users"].get(name)
        if user is None or user["password"] != password:
            return self.answer(401, {"errors": [{"code": "UNAUTHORIZED", "message": "HTTP Basic: Access denied"}]})
        granted = {}
        for scope in " ".join(query.get("scope", [])).split():
            kind, _, rest = scope.partition(":")
            repo, _, actions = rest.rpartition(":")
            if kind != "repository":
                continue
            want = set(actions.split(","))
            have = set(user["actions"])
            ok = have if "*" in want and "*" in have else (want & have) - {"*"}
            granted.setdefault(repo, set()).update(ok)
        token = secrets.token_hex(16)
        with LOCK:
            GITLAB_TOKENS[token] = granted
        return self.answer(200, {"token": token, "access_token": token, "expires_in": 900})

    def gitlab_registry(self, url):
        delay = CONFIG["gitlab"].get("delay_ms") or 0
        if delay:  # a slow registry, for killing a run in the middle
            time.sleep(delay / 1000)
        if self.count("gitlab"):
            return self.answer(429, {"errors": [{"code": "TOOMANYREQUESTS", "message": "too many requests"}]},
                               {"Retry-After": "1"})
        path = url.path
        if path in ("/v2", "/v2/"):
            repo, need = None, None
        else:
            rest = path[len("/v2/"):]
            for marker in ("/manifests/", "/blobs/", "/tags/"):
                if marker in rest:
                    repo = rest[:rest.index(marker)]
                    break
            else:
                return self.answer(404, {"errors": [{"code": "NAME_UNKNOWN"}]})
            need = {"GET": "pull", "HEAD": "pull", "DELETE": "delete"}.get(self.command, "push")
        auth = self.headers.get("Authorization", "")
        grants = GITLAB_TOKENS.get(auth[7:]) if auth.startswith("Bearer ") else None
        allowed = grants is not None and (need is None or need in grants.get(repo, set())
                                          or "*" in grants.get(repo, set()))
        if not allowed:
            if grants is not None:
                with LOCK:
                    STATS["gitlab"]["refused"] += 1
            host = self.headers.get("Host")
            challenge = f'Bearer realm="http://{host}/jwt/auth",service="container_registry"'
            if need:
                challenge += f',scope="repository:{repo}:{need}"'
            return self.answer(401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
                               {"WWW-Authenticate": challenge, "Docker-Distribution-API-Version": "registry/2.0"})
        self.maybe_hold(path)
        if self.command == "GET" and "/manifests/" in path and self.policy_violation():
            # Harbor, while a project policy (a pending scan) holds the image.
            return self.answer(412, {"errors": [{"code": "PROJECTPOLICYVIOLATION",
                                                 "message": "current image without vulnerability scanning cannot be pulled due to configured policy in 'Prevent images with vulnerability severity of \"Low\" or higher from running.' To continue with pull, please contact your project administrator for help.",
                                                 "detail": None}]})
        if self.command == "DELETE" and "/tags/reference/" in path:
            tag = path.rsplit("/", 1)[1]
            with LOCK:
                STATS["gitlab"]["tag_deletes"] += 1
            if not delete_tag_alone(repo, tag):
                return self.answer(404, {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]})
            with LOCK:
                STATS["gitlab"]["deleted_tags"].append(tag)
            return self.answer(202)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() in ("accept", "content-type", "content-length", "range", "content-range")}
        headers["Host"] = self.headers.get("Host")
        status, resp_headers, data = backend(self.command, self.path, body=self.body() or None, headers=headers)
        out = {k: v for k, v in resp_headers
               if k.lower() in ("location", "link", "docker-content-digest", "docker-upload-uuid", "range",
                                "docker-distribution-api-version", "www-authenticate")}
        ctype = header(resp_headers, "Content-Type") or "application/json"
        if self.command == "HEAD":
            length = header(resp_headers, "Content-Length") or "0"
            self.send_response(status)
            for k, v in out.items():
                self.send_header(k, v)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", length)
            self.end_headers()
            return None
        return self.answer(status, data, out, ctype)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    CONFIG.update(json.load(open(args.config)))
    for vendor in ("github", "dockerhub", "gitlab"):
        CONFIG.setdefault(vendor, {})
    CONFIG["github"].setdefault("tokens", {})
    CONFIG["github"].setdefault("owners", {})
    CONFIG["dockerhub"].setdefault("users", {})
    CONFIG["gitlab"].setdefault("users", {})
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
