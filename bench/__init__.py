"""The benchmarks, a package so that ``make bench``'s modules import one another by one name each
(``bench.clients``, ``bench.measure``, ...). The entry points are modules: ``python -m bench.run``
(``make bench``) and ``python -m bench.sweep`` (``make bench-sweep``); the checkout is installed
editable in the virtualenv (pyproject.toml), so ``bench``, ``local``, ``migrate`` and ``cart_common``
import by name."""
