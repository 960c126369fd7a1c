"""Entry point: ``python3 path/to/iriswire_worker`` (the directory, as
iriswire starts it), ``python3 path/to/iriswire_worker/__main__.py`` or
``python3 -m iriswire_worker``.

Run as a directory or a file, Python imports this file as a top-level
module with the directory first on ``sys.path``; the package is then loaded
here under its own name, whatever the directory is called, so its modules
import each other relatively and none of them becomes a top-level module.
"""

import os
import sys

PACKAGE = "iriswire_worker"


def _load_package():
    import importlib
    import importlib.util
    here = os.path.dirname(os.path.abspath(__file__))
    # Python put this directory first on sys.path: drop it, or a library's
    # `import protocol` (say) would find a module of this package.
    if sys.path and os.path.abspath(sys.path[0] or os.curdir) == here:
        del sys.path[0]
    spec = importlib.util.spec_from_file_location(
        PACKAGE, os.path.join(here, "__init__.py"), submodule_search_locations=[here])
    package = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = package
    spec.loader.exec_module(package)
    return importlib.import_module(PACKAGE + ".request_loop")


if __package__:  # python3 -m iriswire_worker
    from .request_loop import main
else:
    main = _load_package().main

if __name__ == "__main__":
    sys.exit(main())
