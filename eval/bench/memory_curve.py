"""Resident memory of one process answering gold questions, read after each: the method of
`assistant bench --memory-questions`, as a script that runs on any commit of the project
(it uses only load_config, open_pipeline and ask, which every commit has), so that a
before/after comparison measures both sides the same way.

    PYTHONPATH=<checkout> python eval/bench/memory_curve.py --config assistant.toml \\
        --questions 30 --out before.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from assistant.answer.factory import open_pipeline
from assistant.answer.pipeline import ask
from assistant.config import load_config


def rss_mb() -> tuple[float, float]:
    values = {}
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, kb, _ = line.split()
                values[key] = int(kb) / 1024
    return values["VmRSS:"], values["VmHWM:"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--gold", type=Path, default=Path("eval/gold.jsonl"))
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--backend", default="local")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    # every answerable question reaches the model, as in the bench's memory runs
    cfg = load_config(args.config, llm={"backend": args.backend, "facts_first": False})
    questions = [json.loads(x)["question"] for x in args.gold.read_text("utf-8").splitlines()]
    t0 = time.perf_counter()
    pipe = open_pipeline(cfg, args.backend)
    curve, seconds = [rss_mb()[0]], []
    for i in range(args.questions):
        t = time.perf_counter()
        ask(pipe, questions[i % len(questions)])
        seconds.append(round(time.perf_counter() - t, 2))
        curve.append(round(rss_mb()[0], 1))
        print(f"{i + 1:4d} {curve[-1]:8.1f} MB {seconds[-1]:6.2f} s", flush=True)
    result = {
        "backend": pipe.backend_name,
        "questions": args.questions,
        "rss_mb": curve,
        "peak_mb": round(rss_mb()[1], 1),
        "seconds_per_question": seconds,
        "total_seconds": round(time.perf_counter() - t0, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
