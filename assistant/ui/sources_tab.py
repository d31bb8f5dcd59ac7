"""The Sources tab: what the index holds, and changing it from the page.

Staff upload reports (several at once) and watch them ingested with a progress bar; each
file's outcome is said in words (taken, with what cleaning did; unchanged; refused and
why). A report is removed after a confirmation. "按 sources 文件夹重新入库" brings the index in
line with the folder as `assistant ingest` does, listing any removal for confirmation
first. All of it goes through `corpus.library` (one ingest per change), one change at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.ui import render as R
from assistant.ui.service import IndexUnavailable, Service
from assistant.ui.wording import file_reason

SYNC = "\x00sync"  # the pending action "re-ingest the folder" (a document id cannot be this)
REMOVE_JS = """
element.addEventListener('click', (ev) => {
  const b = ev.target.closest('button.remove-doc');
  if (b) trigger('remove', {doc: b.dataset.doc});
});
"""


@dataclass
class Tab:
    status: gr.HTML
    upload: gr.File
    ingest: gr.Button
    report: gr.HTML
    table: gr.HTML
    pending: gr.State  # the document whose removal awaits confirmation, or SYNC
    confirm_box: gr.Group
    confirm_text: gr.HTML
    confirm_yes: gr.Button
    confirm_no: gr.Button
    refresh: gr.Button
    sync: gr.Button
    service: Service

    @property
    def refresh_outputs(self) -> list[Any]:
        return [self.status, self.table]

    def refreshed(self) -> tuple[str, str]:
        """(the status banner, the table) as the index is now."""
        kind, message = self.service.status()
        try:
            rows = self.service.source_rows()
        except IndexUnavailable:
            rows = []
        return R.banner(kind, message), R.sources_table(rows)


def layout(service: Service) -> Tab:
    exts = service.cfg.ingest.extensions
    status = gr.HTML("", elem_id="sources-status")
    with gr.Row(equal_height=True, elem_id="upload-row"):
        upload = gr.File(
            label=f"上传报告（{' '.join(exts)}，可一次选多个）",
            file_count="multiple",
            # No file_types: gradio would refuse a whole batch, in English, for one file of
            # another kind; corpus.library refuses that file alone, with its reason.
            type="filepath",
            height=140,
            scale=4,
            elem_id="upload",
        )
        with gr.Column(scale=1, min_width=160):
            ingest = gr.Button("开始入库", variant="primary", elem_id="ingest")
            gr.HTML(
                f"<div class='hint'>单个文件不超过 {service.cfg.ingest.max_file_mb:g} MB。"
                "已入库的其他报告不受影响。</div>"
            )
    report = gr.HTML("", elem_id="ingest-report")
    with gr.Group(visible=False, elem_id="confirm-box") as confirm_box:
        confirm_text = gr.HTML("")
        with gr.Row():
            confirm_yes = gr.Button("确认", variant="stop", min_width=80, elem_id="confirm-yes")
            confirm_no = gr.Button("取消", min_width=80, elem_id="confirm-no")
    table = gr.HTML("", elem_id="sources-table", js_on_load=REMOVE_JS)
    with gr.Row():
        refresh = gr.Button("重新检查", size="sm", elem_id="sources-refresh")
        sync = gr.Button("按 sources 文件夹重新入库…", size="sm", elem_id="sources-sync")
    pending = gr.State("")
    return Tab(
        status,
        upload,
        ingest,
        report,
        table,
        pending,
        confirm_box,
        confirm_text,
        confirm_yes,
        confirm_no,
        refresh,
        sync,
        service,
    )


class _Bar:
    """An ingest's progress as one gradio progress bar: reading and cleaning the files
    takes the first tenth, embedding most of the rest."""

    def __init__(self, progress: gr.Progress) -> None:
        self.progress = progress
        self.total = self.done = 0

    def reading(self, names: list[str]) -> None:
        self.progress(0.02, desc=f"读取并清洗 {len(names)} 份文件…")

    def start(self, total: int) -> None:
        self.total, self.done = total, 0
        self.progress(0.1, desc=f"计算向量：0/{total} 个段落")

    def advance(self, n: int) -> None:
        self.done += n
        share = self.done / max(self.total, 1)
        self.progress(0.1 + 0.85 * share, desc=f"计算向量：{self.done}/{self.total} 个段落")


def wire(service: Service, tab: Tab, docs: gr.Dropdown, banner: gr.HTML) -> None:
    """`docs` (the chat's document filter) and `banner` (the page's status) follow changes."""

    def after() -> tuple[Any, ...]:
        status, table = tab.refreshed()
        try:
            choices = [(R.doc_title(r.doc.meta), r.doc.doc_id) for r in service.source_rows()]
        except IndexUnavailable:
            choices = []
        return status, table, gr.Dropdown(choices=choices), status

    changed = [tab.status, tab.table, docs, banner]

    def on_ingest(files: list[str] | None, progress: gr.Progress = gr.Progress()) -> Any:  # noqa: B008
        if not files:
            return (R.banner("warn", "请先选择要上传的文件。"), *(gr.skip() for _ in changed), None)
        paths = [Path(f) for f in files]
        names = [p.name for p in paths]
        bar = _Bar(progress)
        bar.reading(names)
        try:
            outcomes, summary = service.add_files(paths, names, bar)
        except Exception as err:  # the index stays as it was: say so, not a traceback
            message = f"入库失败：{err}。原有索引没有改变。"
            return (R.banner("error", R.esc(message)), *after(), gr.skip())
        documents = service.index().documents
        report = R.ingest_report(outcomes, summary, documents, _chunk_counts(service))
        return (report, *after(), None)

    def ask_remove(doc_id: str) -> tuple[Any, ...]:
        try:
            doc = service.document(doc_id)
        except IndexUnavailable:
            doc = None
        if doc is None:
            return "", gr.Group(visible=False), R.banner("warn", "索引中没有这份文件。")
        text = (
            f"确定从索引中删除《{R.esc(R.doc_title(doc.meta))}》吗？删除后回答不再引用它；"
            "原文件会移出 sources 文件夹（保存在 data/removed/ 下，可以放回）。"
        )
        return doc_id, gr.Group(visible=True), R.banner("warn", text)

    def on_remove(evt: gr.EventData) -> tuple[Any, ...]:
        return ask_remove(str(evt.doc))

    def ask_sync() -> tuple[Any, ...]:
        try:
            added, changed_ids, removed = service.stale(service.index())
        except IndexUnavailable:
            added, changed_ids, removed = ["?"], [], []
        if not (added or changed_ids or removed):
            same = R.banner("ok", "sources 文件夹与索引一致，无需重新入库。")
            return "", gr.Group(visible=False), same
        parts = [
            f"{label} {len(ids)} 份：{R.esc('、'.join(ids))}"
            for label, ids in (("新增", added), ("更新", changed_ids), ("删除", removed))
            if ids
        ]
        warn = "其中要删除的文件已不在 sources 文件夹中。" if removed else ""
        text = f"按 sources 文件夹重新入库将：{'；'.join(parts)}。{warn}确定吗？"
        return SYNC, gr.Group(visible=True), R.banner("warn", text)

    def on_confirm(pending: str, progress: gr.Progress = gr.Progress()) -> Any:  # noqa: B008
        hidden = gr.Group(visible=False)
        if not pending:
            return "", hidden, gr.skip(), *after()
        try:
            if pending == SYNC:
                bar = _Bar(progress)
                summary = service.sync(bar)
                said = (
                    f"重新入库完成：新增 {summary.added} 份、更新 {summary.changed} 份、删除 "
                    f"{summary.removed} 份（用时 {summary.seconds:.1f} 秒）。"
                )
                for skipped in summary.skipped:
                    why = R.esc(file_reason(skipped.reason))
                    said += f"<br>⛔ {R.esc(Path(skipped.path).name)}：未入库，{why}"
                message = R.banner("warn" if summary.skipped else "ok", said)
            else:
                message = R.removal_report(*service.remove(pending))
        except (KeyError, ValueError) as err:
            message = R.banner("error", R.esc(_refusal(err)))
        except Exception as err:  # the index stays as it was
            message = R.banner("error", R.esc(f"操作失败：{err}。原有索引没有改变。"))
        return "", hidden, message, *after()

    progress_on = {"show_progress": "full", "show_progress_on": [tab.report]}
    # The last report goes first, so that the progress bar is not drawn over it.
    tab.ingest.click(lambda: "", None, tab.report, queue=False, api_visibility="private").then(
        on_ingest,
        [tab.upload],
        [tab.report, *changed, tab.upload],
        api_name="ingest",
        concurrency_id="corpus",
        concurrency_limit=1,
        **progress_on,
    )
    asked = [tab.pending, tab.confirm_box, tab.report]
    tab.table.remove(on_remove, None, asked, api_visibility="private")  # type: ignore[attr-defined]
    api_doc = gr.Textbox(visible=False)
    gr.Button(visible=False).click(ask_remove, [api_doc], asked, api_name="remove")
    tab.sync.click(ask_sync, None, asked, api_name="sync")
    tab.confirm_yes.click(
        on_confirm,
        [tab.pending],
        [tab.pending, tab.confirm_box, tab.report, *changed],
        api_name="confirm",
        concurrency_id="corpus",
        concurrency_limit=1,
        **progress_on,
    )
    tab.confirm_no.click(
        lambda: ("", gr.Group(visible=False), ""),
        None,
        asked,
        api_visibility="private",
    )
    tab.refresh.click(after, None, changed, api_name="refresh")


def _chunk_counts(service: Service) -> dict[str, int]:
    try:
        return {r.doc.doc_id: r.chunks for r in service.source_rows()}
    except IndexUnavailable:
        return {}


def _refusal(err: Exception) -> str:
    text = str(err).strip("'\"")
    if "at least one" in text:
        return "不能删除最后一份文件：索引里至少要保留一份报告。"
    if "no indexed document" in text:
        return "索引中已经没有这份文件（可能刚被删除），请刷新。"
    return text
