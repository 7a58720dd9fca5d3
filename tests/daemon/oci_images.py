"""Container images for tests/daemon, made here so the test needs no
registry: a two-layer image (a rootfs, then a layer with a file, a whiteout
and an opaque directory) written as a docker-archive tarball and as an OCI
image layout with gzip layers, and hostile variants of them."""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

def layer_from_dir(root):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
        t.add(root, arcname=".")
    return b.getvalue()

def layer_from_files(files):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in files:
            if data is None:
                ti = tarfile.TarInfo(name); ti.type = tarfile.DIRTYPE; ti.mode = 0o755
                t.addfile(ti)
            else:
                ti = tarfile.TarInfo(name); ti.size = len(data); ti.mode = 0o644
                t.addfile(ti, io.BytesIO(data))
    return b.getvalue()

def config(cmd, layers):
    return json.dumps({"architecture": "amd64", "os": "linux",
        "config": {"Cmd": cmd, "Env": ["PATH=/bin", "GREETING=hello"], "WorkingDir": "/root"},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]}}).encode()

def docker_archive(out, layers, cfg):
    with tarfile.open(out, "w") as t:
        def add(name, data):
            ti = tarfile.TarInfo(name); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
        names = []
        for i, l in enumerate(layers):
            n = f"{hashlib.sha256(l).hexdigest()}/layer.tar"; names.append(n); add(n, l)
        ch = hashlib.sha256(cfg).hexdigest()
        add(ch + ".json", cfg)
        add("manifest.json", json.dumps([{"Config": ch + ".json", "RepoTags": ["x:latest"], "Layers": names}]).encode())

def oci_layout(out, layers, cfg, gz=True):
    os.makedirs(out + "/blobs/sha256", exist_ok=True)
    def blob(data):
        h = hashlib.sha256(data).hexdigest()
        open(f"{out}/blobs/sha256/{h}", "wb").write(data); return "sha256:" + h, len(data)
    ls = []
    for l in layers:
        d = gzip.compress(l, mtime=0) if gz else l
        dg, sz = blob(d)
        ls.append({"mediaType": "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if gz else ""), "digest": dg, "size": sz})
    cd, cs = blob(cfg)
    man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs}, "layers": ls}).encode()
    md, ms = blob(man)
    open(out + "/oci-layout", "w").write('{"imageLayoutVersion": "1.0.0"}')
    open(out + "/index.json", "w").write(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms,
         "platform": {"architecture": "amd64", "os": "linux"}}]}))

def make(root, outdir):
    """img.docker.tar and img.oci/ in outdir from the rootfs directory root."""
    base = layer_from_dir(root)
    top = layer_from_files([("etc/motd", b"layer two\n"), ("etc/.wh.group", b""), ("root", None), ("root/.wh..wh..opq", b""), ("root/new", b"x\n")])
    cmd = ["/bin/sh", "-c", "trap 'exit 0' TERM; echo \"$GREETING from $(pwd)\"; sleep 2147483647 & wait"]
    cfg = config(cmd, [base, top])
    docker_archive(outdir + "/img.docker.tar", [base, top], cfg)
    oci_layout(outdir + "/img.oci", [base, top], cfg)


def evil_archive(out):
    """A docker-archive whose layer has a member escaping with '..'."""
    layer = layer_from_files([("../../escaped-by-layer", b"x")])
    docker_archive(out, [layer], config(["/bin/true"], [layer]))


if __name__ == "__main__":
    make(sys.argv[1], sys.argv[2])
