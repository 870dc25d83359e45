"""Registers the load-test user, makes an API key, uploads the example photo and a tiny
image, runs one task; writes the key, the task id and the tiny upload's id into WORK."""

import sys

from common import api, png8, upload

base, work, photo = sys.argv[1], sys.argv[2], sys.argv[3]
cookie = api(base, "POST", "/auth/register",
             {"email": "load@example.org", "password": "load test password", "name": "Load", "birth_date": "1990-05-17"},
             origin=True, want_cookie=True)
key = api(base, "POST", "/api-keys", {"name": "load"}, cookie=cookie, origin=True)["key"]
photo_id = upload(base, key, open(photo, "rb").read(), "camera.png")["id"]
task = api(base, "POST", "/tasks", {"upload_id": photo_id, "mode": "relief"}, key=key)
# A 16 x 16 grey ramp, so that tasks created under load cost the workers almost nothing.
tiny = png8(16)
tiny_id = upload(base, key, tiny, "tiny.png")["id"]
open(f"{work}/key", "w").write(key)
open(f"{work}/task", "w").write(task["id"])
open(f"{work}/small_upload", "w").write(tiny_id)
