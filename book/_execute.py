"""Execute chapter notebooks in place (outputs stored for nbval): `make notebooks`.

    QCNN_PROFILE=quick python book/_execute.py [NAME.ipynb ...]    (default: every chapter)
"""
import sys
import time
from pathlib import Path

import nbclient
import nbformat

BOOK = Path(__file__).resolve().parent

for path in [BOOK / name for name in sys.argv[1:]] or sorted(BOOK.glob("*.ipynb")):
    start = time.perf_counter()
    notebook = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(notebook, timeout=1800, kernel_name="qcnn",
                            resources={"metadata": {"path": str(BOOK)}}).execute()
    nbformat.write(notebook, path)
    print(f"{path.name}: executed in {time.perf_counter() - start:.1f} s", flush=True)
