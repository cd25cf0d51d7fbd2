"""The benchmarks, a package so that ``make bench``'s modules import one another by one name each
(``bench.clients``, ``bench.measure``, ...). The entry points are scripts: ``bench/run.py``
(``make bench``) and ``bench/sweep.py`` (``make bench-sweep``); they put the repository, the layer
and db/ on ``sys.path`` before importing anything from here."""
