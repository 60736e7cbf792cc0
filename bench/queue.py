"""``python bench/queue.py``: the queue benchmark (``bench/queue_bench.py``).

Running any script in ``bench/`` puts this folder first on the import path, where this file's
name stands for the standard library's ``queue`` (which asyncio, concurrent.futures and others
import). Imported under that name, this module loads and becomes the standard library's.
"""

import sys

if __name__ == "queue":
    import importlib.util
    import sysconfig
    from pathlib import Path

    _spec = importlib.util.spec_from_file_location(
        "queue", Path(sysconfig.get_paths()["stdlib"]) / "queue.py"
    )
    assert _spec is not None and _spec.loader is not None
    _stdlib = importlib.util.module_from_spec(_spec)
    sys.modules["queue"] = _stdlib
    _spec.loader.exec_module(_stdlib)
else:
    from pathlib import Path

    _here = Path(__file__).resolve().parent
    # Off the path (the standard library's ``queue`` comes first again), the project on it.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
    if str(_here.parent) not in sys.path:
        sys.path.insert(0, str(_here.parent))

    from bench.queue_bench import main

    if __name__ == "__main__":
        main()
