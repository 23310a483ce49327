"""``portalis site apply FILE`` in a child process that reports its progress, for the
crash test of site apply (``python -m tests.hardening.apply_worker FILE``).

The real command runs unchanged; the only addition is an observer plugin
(``portalis_record_after_write``, which runs inside the apply's transaction after each
insert) that prints ``wrote <table> <n>`` every ``EVERY`` records of a table, so the
test can SIGKILL the process while it is known to be in the middle of writing. Nothing
is printed or changed otherwise.
"""

from __future__ import annotations

import sys
from collections import Counter
from typing import Any

from portalis.core import hookimpl
from portalis.core.cli import main
from portalis.core.config import Config
from portalis.core.services import Services

EVERY = 500


class Progress:
    def __init__(self) -> None:
        self.written: Counter[str] = Counter()

    @hookimpl
    def portalis_record_after_write(self, action: str, table: str, row: dict[str, Any],
                                    principal: Any, services: Any) -> None:
        self.written[table] += 1
        if self.written[table] % EVERY == 0:
            print(f"wrote {table} {self.written[table]}", flush=True)


def run(argv: list[str]) -> None:
    progress = Progress()
    build = Services.build.__func__  # type: ignore[attr-defined]

    def observed(cls: type[Services], config: Config,
                 extra_plugins: tuple[object, ...] = ()) -> Services:
        return build(cls, config, (*extra_plugins, progress))  # type: ignore[no-any-return]

    Services.build = classmethod(observed)  # type: ignore[method-assign,assignment]
    main(["site", "apply", *argv], standalone_mode=True)


if __name__ == "__main__":
    run(sys.argv[1:])
