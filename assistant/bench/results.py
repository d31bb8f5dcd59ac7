"""The bench's results as plain dataclasses: what each measured step gave, per scale, and
the comparison with the plain llama-index pipeline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.evaluation.score import percentile

# hints: the searches within the named report, the asked period and the asked district
SEARCH_STAGES = ("normalize", "bm25", "embed_query", "dense", "hints", "fusion", "rerank")
PRE_GENERATION = (*SEARCH_STAGES, "evidence")  # "retrieval": everything before generation
STAGES = (*PRE_GENERATION, "generate", "verify")
PLAIN_PRE_GENERATION = ("retrieve", "evidence")  # the plain pipeline's, see baseline.py
DEFAULT_SCALES = (1, 10, 100, 1000)
QUICK_SCALES = (1, 10, 100)


@dataclass
class Stat:
    p50: float | None
    p95: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Stat:
        return cls(percentile(values, 50), percentile(values, 95))


@dataclass
class IngestResult:
    """A real ingest: cold (nothing indexed), as `assistant ingest` runs it."""

    documents: int
    chunks: int
    seconds: float
    embed_seconds: float
    chunks_per_s: float
    embed_share: float  # of the ingest's time, spent inside the embedding model
    process_seconds: float  # the whole process, imports included
    peak_rss_mb: float
    facts_seconds: float = 0.0  # reading the facts, inside `seconds`


@dataclass
class BuildResult:
    """A synthetic scale built without the embedding model (vectors are perturbed)."""

    documents: int
    chunks: int
    seconds: float
    generate_seconds: float
    store_seconds: float
    bm25_seconds: float
    save_seconds: float
    chunks_per_s: float  # everything but embedding
    projected_embed_seconds: float  # these chunks at the 1x embedding rate
    projected_ingest_seconds: float
    projected_embed_share: float
    peak_rss_mb: float
    facts_seconds: float = 0.0  # reading the synthetic facts, inside `seconds`
    home_facts: int = 0  # synthetic facts about the real reports' district (scale.Restated)
    restated_facts: int = 0  # synthetic facts contradicting a real one
    places: tuple[str, ...] = ()  # the districts the copies are about; (): the home district


@dataclass
class ReingestResult:
    """`ingest` again with nothing changed."""

    seconds: float
    up_to_date: bool
    process_seconds: float
    peak_rss_mb: float


@dataclass
class QueryResult:
    """The gold questions asked warm, one after another, in one process."""

    questions: int
    backend: str
    open_seconds: float
    stages: dict[str, Stat]  # per stage, plus "search", "retrieval" and "total"
    answer_accuracy: float | None
    supported_accuracy: float | None
    refusal_recall: float | None
    recall_at_k: float | None
    peak_rss_mb: float


@dataclass
class ColdStart:
    """`assistant ask QUESTION --json`, process start to exit (page cache warm)."""

    median_seconds: float
    runs: list[float]
    peak_rss_mb: float


@dataclass
class UIResult:
    available: bool
    detail: str
    start_seconds: float | None = None
    peak_rss_mb: float | None = None


@dataclass
class FactsResult:
    """The fact table of a scale's index: how many facts, how long reading them took inside
    the ingest (or the scaled build), and its size on disk."""

    facts: int
    seconds: float
    mb: float


@dataclass
class ScaleResult:
    scale: int
    documents: int
    chunks: int
    ingest: IngestResult | None  # 1x
    build: BuildResult | None  # 10x and up
    reingest: ReingestResult
    query: QueryResult
    cold_ask: ColdStart
    ui: UIResult
    index_mb: float
    facts: FactsResult | None = None


@dataclass
class Side:
    """One pipeline's numbers on the gold set, in the paired comparison."""

    answer_accuracy: float | None
    supported_accuracy: float | None
    retrieval_ms: Stat
    total_ms: Stat
    search_ms: Stat | None = None  # retrieval without evidence selection


@dataclass
class ComparisonResult:
    questions: int
    backend: str
    baseline_answering: str
    baseline_documents: int
    baseline_nodes: int
    baseline_ingest_seconds: float
    baseline_embed_seconds: float
    ours: Side
    plain: Side
    accuracy_gain_points: float | None
    supported_gain_points: float | None
    retrieval_p50_ratio: float | None  # ours / plain, everything before generation
    retrieval_p95_ratio: float | None
    search_p50_ratio: float | None  # ours / plain, the search alone (no evidence selection)
    peak_rss_mb: float


@dataclass
class MemoryCurve:
    """One long-lived process answering question after question: its resident memory after
    opening (rss_mb[0]) and after each question (rss_mb[i])."""

    process: str  # "query": a pipeline in one process; "ui": `assistant serve`, over HTTP
    backend: str
    available: bool
    detail: str
    rss_mb: list[float] = field(default_factory=list)
    peak_mb: float | None = None  # the process's high-water mark (VmHWM)
    seconds: float = 0.0
    asked_model: int = 0  # answers the model wrote (others: facts, refusals before it)

    @property
    def questions(self) -> int:
        return max(0, len(self.rss_mb) - 1)

    def after(self, n: int) -> float | None:
        return self.rss_mb[n] if 0 <= n < len(self.rss_mb) else None

    @property
    def growth_mb_per_question(self) -> float | None:
        """Least-squares slope over the second half: what is left once caches are warm."""
        tail = self.rss_mb[len(self.rss_mb) // 2 :]
        if len(tail) < 3:
            return None
        n = len(tail)
        mx, my = (n - 1) / 2, sum(tail) / n
        num = sum((i - mx) * (y - my) for i, y in enumerate(tail))
        return num / sum((i - mx) ** 2 for i in range(n))


@dataclass
class Target:
    name: str
    goal: str
    measured: str
    met: bool | None  # None: not measured in this run


@dataclass
class UsersResult:
    """N staff asking the page at once: when each saw the verified answer, and the model's
    phrasing queued behind it (ms from asking)."""

    users: int
    backend: str
    available: bool
    detail: str
    verified_ms: Stat | None = None
    phrased_ms: Stat | None = None
    verified_max_ms: float | None = None
    told_place: int = 0  # users the queue told their place while they waited


@dataclass
class BenchResult:
    started: str
    seconds: float
    command: str
    machine: dict[str, Any]
    options: dict[str, Any]
    scales: list[ScaleResult] = field(default_factory=list)
    comparison: ComparisonResult | None = None
    memory: list[MemoryCurve] = field(default_factory=list)
    users: list[UsersResult] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class BenchOptions:
    scales: tuple[int, ...] = DEFAULT_SCALES
    out_dir: Path = Path("eval/bench")
    backend: str | None = None  # of the comparison; scale runs answer extractively
    gold: Path = Path("eval/gold.jsonl")
    questions: int | None = None  # only the first N gold questions
    seed: int = 0
    # "other_places": copies are other districts' reports (see synth); "restated": copies
    # stay the home district's, restating its reports (the generator before, to compare)
    distractors: str = "other_places"
    repeats: int = 3  # cold starts of `assistant ask` per scale
    baseline: bool = True
    ui: bool = True
    work: Path | None = None  # scratch folder; a removed temp folder by default
    command: str = "assistant bench"
    memory_questions: int = 0  # questions of the steady-memory runs; 0: not measured
    memory_backend: str = "local"  # also the backend of the users' rounds
    users: tuple[int, ...] = (1, 10)  # staff asking the page at once, one round each
