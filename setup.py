"""Maps the top-level folders under the one import namespace ``portalis``.

``core/`` imports as ``portalis.core``, ``plugins/`` as ``portalis.plugins`` and
``loadtests/`` as ``portalis.loadtests``; ``portalis`` itself is an implicit
namespace package, so no other distribution's ``core`` or ``plugins`` is shadowed.
"""

from __future__ import annotations

from setuptools import find_packages, setup

ROOTS = {"core": "portalis.core", "plugins": "portalis.plugins", "loadtests": "portalis.loadtests"}

packages: list[str] = []
for folder, name in ROOTS.items():
    packages.append(name)
    packages += [f"{name}.{sub}" for sub in find_packages(folder)]

setup(
    packages=packages,
    # data files, also in folders that are not packages (templates/, static/)
    package_data={"": [f"{prefix}*.{ext}" for prefix in ("", "**/")
                       for ext in ("liquid", "yaml", "txt", "html", "css", "js", "json", "md")]},
    include_package_data=True,
)
