"""What the page says when something cannot be done, in Chinese staff read.

The loader, the backends and the pipeline word their faults for the terminal, in English,
one line each. The page shows the same fault in Chinese: each known message is matched here
by its wording (tests/test_ui_render.py checks every loader and backend message the code
can raise), and an unknown one is still shown, after a Chinese lead, rather than hidden.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _rules(*pairs: tuple[str, Callable[[re.Match[str]], str]]) -> list[Rule]:
    return [(re.compile(p, re.IGNORECASE | re.DOTALL), f) for p, f in pairs]


_FILE = _rules(
    (r"^empty file", lambda m: "文件是空的"),
    (
        r"^too large: ([\d.]+) MB > ([\d.]+) MB",
        lambda m: f"文件太大（{m[1]} MB，上限 {m[2]} MB）",
    ),
    (r"^binary file", lambda m: "不是文本文件（像是图片或其他二进制文件）"),
    (r"^undecodable", lambda m: "无法识别文字编码（不是 UTF-8、GB18030 或 Big5 文本）"),
    (r"^no text after extraction", lambda m: "没有提取到文字（可能是扫描版 PDF 或空白文档）"),
    (r"^unreadable PDF", lambda m: "PDF 文件无法读取（可能已损坏或加密）"),
    (r"^unreadable DOCX", lambda m: "Word 文件无法读取（可能已损坏，或不是 .docx 格式）"),
    (r"^unreadable", lambda m: "文件无法读取"),
    (
        r"^unsupported file type: (\S+)",
        lambda m: f"不支持这种文件（{m[1]}），请上传 .txt .md .html .pdf .docx",
    ),
    (r"^unusable file name", lambda m: "文件名无法使用，请改名后再上传"),
    (r"^another file added is also named", lambda m: "同一批上传中有同名文件，只收第一个"),
    (r"^no such file or folder", lambda m: "找不到这个文件"),
)

_BACKEND = _rules(
    (
        r"cannot reach the LLM server at (https?://[^\s;,]+)",
        lambda m: f"连接不上模型服务器（{m[1]}），请确认它已启动",
    ),
    (
        r"the LLM server at (https?://[^\s;,]+) did not answer within ([\d.]+) s",
        lambda m: f"模型服务器（{m[1]}）{m[2]} 秒内没有响应",
    ),
    (
        r"rejected the API key.*variable (\w+)",
        lambda m: f"模型服务器拒绝了密钥，请检查环境变量 {m[1]}",
    ),
    (r"rate limiting", lambda m: "模型服务器请求过多，请稍后再试"),
    (
        r"has no model '([^']+)'|does not serve model '([^']+)'",
        lambda m: f"模型服务器上没有模型 {m[1] or m[2]}",
    ),
    (r"failed \(HTTP (\d+)\)", lambda m: f"模型服务器出错（HTTP {m[1]}）"),
    (r"malformed reply", lambda m: "模型服务器的回复格式不对"),
    (r"cut the reply off", lambda m: "模型服务器的回复中途断开"),
    (
        r"local model part (\d+) of 22 is not installed",
        lambda m: "本机模型没有安装（运行 make install）",
    ),
    (r"model_file not found: (.+)$", lambda m: f"找不到配置的模型文件 {m[1]}"),
    (r"packaged model parts are corrupt", lambda m: "本机模型文件已损坏，需要重新安装"),
    (r"cannot write the model cache", lambda m: "无法写入本机模型文件（磁盘已满或没有权限）"),
    (r"llama-cpp-python is not installed", lambda m: "缺少本机模型的运行库（运行 make install）"),
    (r"exceed llm\.local\.n_ctx", lambda m: "问题和资料超出了本机模型一次能读的长度"),
)


def _say(rules: list[Rule], text: str, lead: str) -> str:
    for pattern, say in rules:
        m = pattern.search(text)
        if m:
            return say(m)
    return f"{lead}（{text}）" if text else lead


def file_reason(reason: str) -> str:
    """Why a file was not taken, as the loader or `corpus.library` said it."""
    return _say(_FILE, reason, "无法入库")


def backend_reason(detail: str) -> str:
    """Why a backend cannot answer, as the backend said it."""
    return _say(_BACKEND, detail, "暂时不能使用")


def notice(text: str) -> str:
    """An answer's notice (`factory.unusable`: "<why>; 以下为原文摘录。", or a fault while
    generating) in Chinese."""
    why, sep, rest = text.rpartition("; ")
    if sep:
        return f"{backend_reason(why)}，{rest}"
    if not text or re.match(r"[\u4e00-\u9fff]", text):  # written for staff already
        return text
    return backend_reason(text)
