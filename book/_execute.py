"""Execute the chapters in place, storing their outputs (what a code host shows and what nbval
compares): `make notebooks`.

    python book/_execute.py [NAME.ipynb ...]       (default: every chapter)

Each chapter's first cell is its Colab setup cell (hidden in the book), written here from the
repository address in _config.yml, the one place that address is set.
"""
import sys
import time
from pathlib import Path

import nbclient
import nbformat
import yaml

BOOK = Path(__file__).resolve().parent
COLAB = '''# Colab only: fetch the repository (its stored runs and weights) and install the project.
import os, sys
if "google.colab" in sys.modules and not os.path.exists("/content/qcnn-companion"):
    !git clone --depth 1 {url} /content/qcnn-companion
    !pip install --quiet -e /content/qcnn-companion
    sys.path.insert(0, "/content/qcnn-companion")
    os.chdir("/content/qcnn-companion/book")'''


def with_colab_cell(notebook, url):
    cell = nbformat.v4.new_code_cell(COLAB.format(url=url))
    cell.metadata["tags"] = ["remove-cell", "colab-setup"]
    cells = [c for c in notebook.cells if "colab-setup" not in c.metadata.get("tags", [])]
    notebook.cells = cells[:1] + [cell] + cells[1:]          # after the title cell
    return notebook


def main(names):
    url = yaml.safe_load((BOOK.parent / "_config.yml").read_text())["repository"]["url"]
    for path in [BOOK / name for name in names] or sorted(BOOK.glob("*.ipynb")):
        start = time.perf_counter()
        notebook = with_colab_cell(nbformat.read(path, as_version=4), url)
        nbclient.NotebookClient(notebook, timeout=3600, kernel_name="qcnn", store_widget_state=False,
                                resources={"metadata": {"path": str(BOOK)}}).execute()
        nbformat.write(notebook, path)
        print(f"{path.name}: executed in {time.perf_counter() - start:.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
