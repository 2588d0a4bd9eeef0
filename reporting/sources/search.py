"""BM25 keyword search over source chunks, with an on-disk index cache keyed by content."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from reporting.sources.read import Chunk
from reporting.text import stopwords

# Bump when the tokeniser or the BM25 settings change, so old cached indexes are not reused.
INDEX_FORMAT = 3
_WORD = re.compile(r"\w+", re.UNICODE)


@cache
def _stemmer() -> Any:
    """The Snowball English stemmer (PyStemmer): "writes" and "write" are one term."""
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(text: str) -> list[str]:
    """Stemmed lowercase word tokens (runs of letters, digits and underscores), no stop words."""
    stop = stopwords()
    words: list[str] = _stemmer().stemWords(
        [word for word in _WORD.findall(text.lower()) if word not in stop]
    )
    return words


def corpus_key(chunks: Sequence[Chunk]) -> str:
    """A hash of every chunk's id and text, in order, plus the index format."""
    digest = hashlib.sha256(f"reporting-bm25-v{INDEX_FORMAT}\n".encode())
    for chunk in chunks:
        for part in (chunk.id, chunk.text):
            data = part.encode("utf-8")
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)
    return digest.hexdigest()


class SourceIndex:
    """A BM25 index over chunks; `search` returns the best-matching chunks first."""

    builds = 0  # how many indexes this process built from scratch (cache hits do not count)

    def __init__(self, chunks: Sequence[Chunk], *, _model: Any = None) -> None:
        """Index the chunks (or adopt an already built model, as loaded from the cache)."""
        self.chunks: list[Chunk] = list(chunks)
        self.key = corpus_key(self.chunks)
        self.from_cache = _model is not None
        self._terms = [frozenset(tokenize(chunk.text)) for chunk in self.chunks]
        self._model: Any = _model
        # A corpus without a single word (only "---" or emoji) has nothing to search.
        if self._model is None and any(self._terms):
            self._model = self._build(self.chunks)

    @staticmethod
    def _build(chunks: Sequence[Chunk]) -> Any:
        """Build a bm25s model over the chunks' tokens."""
        import bm25s

        SourceIndex.builds += 1
        model = bm25s.BM25()
        model.index([tokenize(chunk.text) for chunk in chunks], show_progress=False)
        return model

    def search(self, query: str, k: int = 5) -> list[tuple[Chunk, float]]:
        """The k best chunks for a query with their raw BM25 scores, best first."""
        # Chunks scoring zero are left out; ties keep the chunks' original order.
        tokens = [token for token in tokenize(query) if token in self._vocab()]
        if k <= 0 or not tokens or self._model is None:
            return []
        scores = self._model.get_scores(tokens)
        ranked = sorted(range(len(self.chunks)), key=lambda i: (-float(scores[i]), i))
        hits: list[tuple[Chunk, float]] = []
        for i in ranked[:k]:
            score = float(scores[i])
            if score <= 0:
                break
            hits.append((self.chunks[i], score))
        return hits

    def relevance(self, query: str, chunk: Chunk) -> float:
        """The share of the query's terms (stemmed, stop words aside) that a chunk contains."""
        # A plain share, unlike a raw BM25 score, does not depend on the other chunks: adding
        # unrelated files changes nothing, and a weak match stays weak.
        terms = set(tokenize(query))
        if not terms:
            return 0.0
        return round(len(terms & self._terms[self.chunks.index(chunk)]) / len(terms), 4)

    def _vocab(self) -> dict[str, int]:
        """The model's vocabulary (empty for an empty index)."""
        if self._model is None:
            return {}
        vocab: dict[str, int] = self._model.vocab_dict
        return vocab

    @classmethod
    def load_or_build(cls, chunks: Sequence[Chunk], cache_dir: Path) -> SourceIndex:
        """Load the index for exactly these chunks from cache_dir, or build and save it there."""
        # The cache holds only NumPy arrays (loaded with allow_pickle=False) and JSON, in a
        # folder named by the chunks' content hash; a damaged entry is rebuilt.
        chunks = list(chunks)
        if not chunks:
            return cls(chunks)
        key = corpus_key(chunks)
        folder = cache_dir / f"bm25-{key[:32]}"
        model = _load(folder, key, len(chunks))
        if model is not None:
            return cls(chunks, _model=model)
        index = cls(chunks)
        if index._model is not None:  # a corpus without words has nothing worth saving
            _save(index._model, folder, key)
        return index


def _load(folder: Path, key: str, count: int) -> Any:
    """The cached model in folder if it is complete and for this key, else None."""
    import bm25s

    try:
        meta = json.loads((folder / "reporting.json").read_text(encoding="utf-8"))
        if meta != {"key": key, "format": INDEX_FORMAT}:
            return None
        model = bm25s.BM25.load(str(folder), allow_pickle=False, show_progress=False)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if int(model.scores.get("num_docs", -1)) != count:
        return None
    return model


def _save(model: Any, folder: Path, key: str) -> None:
    """Write the model to folder atomically: into a temporary folder, then renamed."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".bm25-", dir=folder.parent))
    try:
        model.save(str(staging), allow_pickle=False, show_progress=False)
        meta = {"key": key, "format": INDEX_FORMAT}
        (staging / "reporting.json").write_text(json.dumps(meta), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)  # a damaged entry under the same name
        # If another run saved the same index first, theirs is as good as ours.
        with contextlib.suppress(OSError):
            os.replace(staging, folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def clear_indexes(cache_dir: Path, older_than_days: float | None = None) -> int:
    """Delete cached indexes (all, or those older than a number of days); returns how many."""
    cutoff = None if older_than_days is None else time.time() - older_than_days * 86_400
    removed = 0
    for folder in sorted(cache_dir.glob("bm25-*")) if cache_dir.is_dir() else []:
        if cutoff is None or folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed
