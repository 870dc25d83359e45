"""A stand-in for an AI generation provider, the one outside service besides Creem that
Lithos' tests may replace. It speaks the parts of two documented APIs that Lithos uses:

- Meshy's text-to-3D (docs.meshy.ai/api/text-to-3d): POST /openapi/v2/text-to-3d
  {mode: "preview", prompt} answers {result: id}; GET /openapi/v2/text-to-3d/{id} answers
  the task object: status PENDING, IN_PROGRESS, SUCCEEDED, FAILED or CANCELED, progress
  0 to 100, model_urls.glb, task_error.message. Errors are {message} (docs.meshy.ai/api/errors).
- Meshy's image-to-3D (docs.meshy.ai/api/image-to-3d): POST /openapi/v1/image-to-3d
  {image_url: a data URI of a PNG or JPEG} answers {result: id}; GET
  /openapi/v1/image-to-3d/{id} answers the same task object. A task of one API is not found
  at the other's path.
- Tripo's task API: POST /v2/openapi/task {type: "text_to_model", prompt}, or {type:
  "image_to_model", file: {type, file_token}} with a token from POST /v2/openapi/upload/sts
  (the image as the multipart field `file`, answering {code: 0, data: {image_token}}),
  answers {code: 0, data: {task_id}}; GET /v2/openapi/task/{id} answers {code: 0, data:
  {task_id, type, status (queued, running, success, failed, banned, ...), progress, output:
  {model}}}. Errors are {code, message, suggestion}.

Both check `Authorization: Bearer KEY`. The models are real GLB files written by trimesh (the
reference writer), served at signed links that expire after --url-seconds:

- "closed": a capsule, closed and manifold;
- "broken" (a prompt containing "broken"): a box with one side missing, two faces flipped,
  a face doubled (a non-manifold edge) and no corner shared: what repair must close.

A prompt containing "refuse" fails at the provider with a content-policy message; "quota"
is refused at creation with 402 (Meshy's "payment required"); "slow" never finishes. An
image is opened with Pillow (what is not a PNG or JPEG of the type it claims is a 400); one
of a single colour fails, as there is no object in it; any other makes the broken box. A
task takes three polls to finish.

    python3 standin.py --api-key KEY [--port 0] [--url-seconds 60]

It prints `listening on PORT` once it serves. Control endpoints, for tests (no key):
  GET  /control/tasks            every task: its id, API, kind, prompt or image (its format,
                                 size, and the SHA-256 of its file and of its RGBA pixels)
                                 and polls
  GET  /control/models           each model's volume (m³) and extents (m), as trimesh measures
  POST /control/outage {count}   the next COUNT API requests answer 503
"""

import argparse
import base64
import email.parser
import email.policy
import hashlib
import hmac
import io
import json
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import trimesh
from PIL import Image

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=0)
parser.add_argument("--api-key", required=True)
parser.add_argument("--url-seconds", type=float, default=60)
args = parser.parse_args()

SIGNING_KEY = uuid.uuid4().bytes


def glb(mesh):
    return mesh.export(file_type="glb")


def models():
    closed = trimesh.creation.capsule(height=0.6, radius=0.25, count=[24, 24])
    # Subdivided twice: 192 faces, each side a grid of 32.
    box = trimesh.creation.box(extents=[0.4, 0.3, 0.2]).subdivide().subdivide()
    faces = box.faces.copy()
    # One side missing (its two triangles), two faces flipped, one face doubled.
    side = [i for i, n in enumerate(box.face_normals) if n[0] > 0.9]
    keep = [i for i in range(len(faces)) if i not in side]
    faces = faces[keep]
    faces[0] = faces[0][::-1]
    faces[3] = faces[3][::-1]
    faces = np.vstack([faces, faces[5:6]])
    # No corner shared: every triangle its own three corners, as many exporters write.
    corners = box.vertices[faces].reshape(-1, 3)
    broken = trimesh.Trimesh(vertices=corners, faces=np.arange(len(corners)).reshape(-1, 3),
                             process=False)
    return {
        "closed": (glb(closed), {"volume": float(closed.volume),
                                 "extents": [float(e) for e in closed.extents]}),
        # The box whole, as repair should make it.
        "broken": (glb(broken), {"volume": float(box.volume),
                                 "extents": [float(e) for e in box.extents]}),
    }


MODELS = models()
TASKS = {}
UPLOADS = {}
LOCK = threading.Lock()
OUTAGE = {"count": 0}


def sign(path, expires):
    return hmac.new(SIGNING_KEY, f"{path}:{expires}".encode(), hashlib.sha256).hexdigest()


def model_url(host, task_id):
    path = f"/assets/{task_id}/model.glb"
    expires = int(time.time() + args.url_seconds)
    return f"http://{host}{path}?Expires={expires}&Signature={sign(path, expires)}"


def advance(task):
    """One poll: PENDING, then IN_PROGRESS, then the outcome."""
    task["polls"] += 1
    if task["fate"] == "slow":
        return "running", min(95, 10 * task["polls"])
    if task["fate"] == "refuse" and task["polls"] >= 2:
        return "failed", 0
    if task["polls"] >= 3:
        return "done", 100
    return ("pending", 0) if task["polls"] == 1 else ("running", 50)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def send(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            return json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            return None

    def api_gate(self, tripo):
        """The key and any outage, as the API answers them; True when the request may go on."""
        with LOCK:
            if OUTAGE["count"] > 0:
                OUTAGE["count"] -= 1
                self.send(503, error(tripo, 1000, "Service temporarily unavailable"))
                return False
        if self.headers.get("Authorization") != f"Bearer {args.api_key}":
            self.send(401, error(tripo, 1002, "Invalid API key"))
            return False
        return True

    def do_POST(self):
        path = urllib.parse.urlparse(self.path).path
        if path == "/control/outage":
            OUTAGE["count"] = int((self.body() or {}).get("count", 0))
            return self.send(200, {"ok": True})
        apis = {"/openapi/v2/text-to-3d": False, "/openapi/v1/image-to-3d": False,
                "/v2/openapi/task": True, "/v2/openapi/upload/sts": True}
        if path not in apis:
            return self.send(404, {"message": "Not found"})
        tripo = apis[path]
        if not self.api_gate(tripo):
            return
        if path == "/v2/openapi/upload/sts":
            return self.tripo_upload()
        body = self.body()
        if body is None:
            return self.send(400, error(tripo, 2002, "The body is not JSON"))
        if path == "/openapi/v1/image-to-3d":
            return self.meshy_image(body)
        if tripo and body.get("type") == "image_to_model":
            return self.tripo_image(body)
        prompt = body.get("prompt")
        kind_ok = body.get("type") == "text_to_model" if tripo else body.get("mode") == "preview"
        if not kind_ok or not isinstance(prompt, str) or not prompt.strip():
            return self.send(400, error(tripo, 2002, "Invalid request parameters"))
        if len(prompt) > 600 and not tripo:
            return self.send(400, error(tripo, 2002, "prompt must be at most 600 characters"))
        if "quota" in prompt.lower():
            return self.send(402 if not tripo else 403,
                             error(tripo, 2010, "Insufficient credits to perform this task"))
        task_id = new_task("tripo" if tripo else "meshy", "text", prompt=prompt)
        if tripo:
            return self.send(200, {"code": 0, "data": {"task_id": task_id}})
        return self.send(202, {"result": task_id})

    def meshy_image(self, body):
        url = body.get("image_url")
        prefix = url.split(",", 1)[0] if isinstance(url, str) else ""
        claimed = {"data:image/png;base64": "png", "data:image/jpeg;base64": "jpeg",
                   "data:image/jpg;base64": "jpg"}.get(prefix)
        if claimed is None:
            return self.send(400, error(False, 0, "image_url must be a data URI of a .jpg, "
                                                  ".jpeg or .png image"))
        try:
            data = base64.b64decode(url.split(",", 1)[1], validate=True)
        except ValueError:
            return self.send(400, error(False, 0, "image_url is not valid base64"))
        info = image_info(data, claimed)
        if info is None:
            return self.send(400, error(False, 0, "Invalid image: only .jpg, .jpeg and .png"))
        return self.send(202, {"result": new_task("meshy", "image", image=info)})

    def tripo_upload(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        head = f"Content-Type: {self.headers.get('Content-Type')}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
        files = [part for part in message.iter_parts()
                 if part.get_param("name", header="content-disposition") == "file"]
        if not message.is_multipart() or len(files) != 1:
            return self.send(400, error(True, 2002, "Send the image as the multipart field file"))
        data = files[0].get_payload(decode=True)
        claimed = {"image/png": "png", "image/jpeg": "jpeg"}.get(files[0].get_content_type())
        info = image_info(data, claimed)
        if info is None:
            return self.send(400, error(True, 2003, "The file type is not supported"))
        token = str(uuid.uuid4())
        with LOCK:
            UPLOADS[token] = info
        return self.send(200, {"code": 0, "data": {"image_token": token}})

    def tripo_image(self, body):
        file = body.get("file") or {}
        with LOCK:
            info = UPLOADS.get(file.get("file_token"))
        if info is None:
            return self.send(400, error(True, 2002, "file_token is not an uploaded file"))
        if file.get("type") not in ({"png"} if info["format"] == "png" else {"jpg", "jpeg"}):
            return self.send(400, error(True, 2002, "file.type does not match the file"))
        task_id = new_task("tripo", "image", image=info)
        return self.send(200, {"code": 0, "data": {"task_id": task_id}})

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        path = url.path
        if path == "/control/tasks":
            with LOCK:
                return self.send(200, list(TASKS.values()))
        if path == "/control/models":
            return self.send(200, {name: info for name, (_, info) in MODELS.items()})
        if path.startswith("/assets/"):
            return self.asset(url)
        routes = (("/openapi/v2/text-to-3d/", False, "text"),
                  ("/openapi/v1/image-to-3d/", False, "image"),
                  ("/v2/openapi/task/", True, None))
        for prefix, tripo, kind in routes:
            if path.startswith(prefix):
                if not self.api_gate(tripo):
                    return
                task_id = urllib.parse.unquote(path[len(prefix):])
                with LOCK:
                    task = TASKS.get(task_id)
                    if (task is None or task["api"] != ("tripo" if tripo else "meshy")
                            or kind not in (None, task["kind"])):
                        return self.send(404, error(tripo, 2001, "Task not found"))
                    state, progress = advance(task)
                host = self.headers.get("Host")
                return self.send(200, (tripo_task if tripo else meshy_task)(task, state, progress, host))
        return self.send(404, {"message": "Not found"})

    def asset(self, url):
        query = urllib.parse.parse_qs(url.query)
        try:
            expires = int(query["Expires"][0])
            signature = query["Signature"][0]
        except (KeyError, ValueError):
            return self.send(403, b"missing signature", "text/plain")
        if not hmac.compare_digest(signature, sign(url.path, expires)) or time.time() > expires:
            return self.send(403, b"the link expired or is not signed", "text/plain")
        task = TASKS.get(url.path.split("/")[2])
        if task is None:
            return self.send(404, b"no such model", "text/plain")
        self.send(200, MODELS[task["model"]][0], "model/gltf-binary")


def image_info(data, claimed):
    """What an image sent for image-to-3D is, or None when it is not a PNG or JPEG of the
    type it claims."""
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception:
        return None
    kind = {"PNG": "png", "JPEG": "jpeg"}.get(image.format)
    if kind is None or claimed not in ({"png"} if kind == "png" else {"jpeg", "jpg"}):
        return None
    rgba = image.convert("RGBA")
    extrema = rgba.getextrema()
    return {"format": kind, "width": image.width, "height": image.height,
            "sha256": hashlib.sha256(data).hexdigest(),
            "pixels_sha256": hashlib.sha256(rgba.tobytes()).hexdigest(),
            "uniform": all(lo == hi for lo, hi in extrema),
            # What the photo says beyond its picture.
            "exif": len(image.getexif()),
            "comment": image.info.get("comment", b"").decode(errors="replace"),
            "text": sorted(getattr(image, "text", {}))}


def new_task(api, kind, prompt=None, image=None):
    if prompt is not None:
        lowered = prompt.lower()
        fate = "slow" if "slow" in lowered else "refuse" if "refuse" in lowered else "done"
        model = "broken" if "broken" in lowered else "closed"
        why = "The prompt was rejected by the content policy"
    else:
        fate = "refuse" if image["uniform"] else "done"
        model = "broken"
        why = "No object could be found in the image"
    task_id = str(uuid.uuid4())
    with LOCK:
        TASKS[task_id] = {"id": task_id, "api": api, "kind": kind, "prompt": prompt,
                          "image": image, "polls": 0, "fate": fate, "model": model,
                          "error": why, "created_at": int(time.time() * 1000)}
    return task_id


def error(tripo, code, message):
    if tripo:
        return {"code": code, "message": message, "suggestion": "See Tripo's documentation"}
    return {"message": message}


def meshy_task(task, state, progress, host):
    status = {"pending": "PENDING", "running": "IN_PROGRESS", "done": "SUCCEEDED",
              "failed": "FAILED"}[state]
    done = state == "done"
    return {
        "id": task["id"],
        "type": "text-to-3d-preview" if task["kind"] == "text" else "image-to-3d",
        "model_urls": {"glb": model_url(host, task["id"]) if done else "", "fbx": "",
                       "obj": "", "mtl": "", "usdz": ""},
        "prompt": task["prompt"],
        "art_style": "realistic",
        "thumbnail_url": "",
        "progress": progress,
        "started_at": task["created_at"],
        "created_at": task["created_at"],
        "finished_at": int(time.time() * 1000) if state in ("done", "failed") else 0,
        "status": status,
        "texture_urls": [],
        "preceding_tasks": 0,
        "task_error": {"message": task["error"] if state == "failed" else ""},
    }


def tripo_task(task, state, progress, host):
    refused = "banned" if task["kind"] == "text" else "failed"
    status = {"pending": "queued", "running": "running", "done": "success",
              "failed": refused}[state]
    output = {"model": model_url(host, task["id"])} if state == "done" else {}
    kind = "text_to_model" if task["kind"] == "text" else "image_to_model"
    given = {"prompt": task["prompt"]} if task["kind"] == "text" else {}
    return {"code": 0, "data": {"task_id": task["id"], "type": kind,
                                "status": status, "input": given,
                                "output": output, "progress": progress,
                                "create_time": task["created_at"] // 1000}}


server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
print(f"listening on {server.server_address[1]}", flush=True)
server.serve_forever()
