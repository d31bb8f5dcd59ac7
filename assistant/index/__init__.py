"""The index: generations of documents, chunks, BM25 and vectors, and the live one."""

from assistant.index.generations import IndexMismatch, IndexMissing, Manifest, read_manifest
from assistant.index.live import Index

__all__ = ["Index", "IndexMismatch", "IndexMissing", "Manifest", "read_manifest"]
