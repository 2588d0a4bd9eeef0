"""The embedded provider's chat model: a small GGUF model run in-process by llama.cpp.

`ChatEmbedded` is our own LangChain chat model over `llama_cpp.Llama` (langchain-community's
wrapper is not used). Facts worth knowing before touching it:

* One `Llama` per process per (model file, n_ctx, n_threads), kept in `_MODEL_CACHE`; each has a
  lock because a llama.cpp context is not thread-safe, so calls on one model run one at a time.
  `ainvoke` runs the blocking call in a worker thread; a cancelled `ainvoke` cannot stop a
  generation already running, it finishes (bounded by max_tokens) and its result is dropped.
* llama-cpp-python's `verbose=False` silences loading by pointing file descriptors 1 and 2 at
  /dev/null for the whole process for ~0.3 s; anything another thread prints then is lost.
  After loading, llama.cpp's own log lines go to the DEBUG logger
  `reporting.providers.embedded_chat.llama_cpp` instead of stderr.
* Same prompt, same text: the seed is passed on every call (llama-cpp-python treats a
  constructor `seed=0` as "random"; per call 0 is a real seed), and the context is reset before
  each call, because reusing the previous call's prompt prefix changes llama.cpp's sums and so
  the sampled text. `prompt_cache=True` trades that for speed on long shared prefixes.
* Threads: generation is memory-bound (1 or 2 threads both give ~120 tokens/s for SmolLM2 on
  2 cores, and 2 collapse when another process competes), prompt evaluation is compute-bound
  (~340 tokens/s on 2 threads, ~185 on 1); hence half the cores to generate, all to read.
* `llama_cpp` is imported with this module, not on first use: imported inside a pytest test
  (under `filterwarnings = error`), its two module-level /dev/null files make the interpreter
  print ResourceWarnings at exit. Models are closed at exit (atexit) for the same reason:
  otherwise `Llama.__del__` can run after llama_cpp is torn down and print a TypeError.
* The provider kind (`embedded.py`) imports this module only when it makes a chat model, so
  reading the provider registry never loads llama.cpp.
* Output is cleaned by `clean_completion` (echoed instructions, chatter, headings the model
  invents); a reply cut by max_tokens is trimmed by the compiler, from `finish_reason`.
"""

from __future__ import annotations

import asyncio
import atexit
import ctypes
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import llama_cpp
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, Field, field_validator, model_validator

from reporting.errors import ConfigError, ProviderBadResponse, ProviderRejected
from reporting.providers.embedded import MODEL_PATH_VARIABLE, check_model_file
from reporting.providers.embedded_text import clean_completion
from reporting.text import one_line

DEFAULT_STOP: tuple[str, ...] = ("<|im_end|>", "<|im_start|>", "<|endoftext|>", "\n\n\n", "\n#")
"""End of turn, a run of blank lines, or a Markdown heading: the compiler owns headings."""

PENALTY_WINDOW = 256
"""Tokens the repeat penalty looks back over; llama.cpp's 64 lets a 135M model loop paragraphs."""

_LOG = logging.getLogger(__name__)
_LLAMA_LOG = logging.getLogger(f"{__name__}.llama_cpp")

_CALL_OPTIONS = frozenset(
    {"max_tokens", "temperature", "top_p", "top_k", "min_p", "repeat_penalty", "seed"}
)


# --------------------------------------------------------------------------- model cache


@dataclass(eq=False)
class _LoadedModel:
    """A llama.cpp model plus the lock that serialises its calls."""

    llama: Any
    lock: threading.Lock


_MODEL_CACHE: dict[tuple[str, int, int], _LoadedModel] = {}
_CACHE_LOCK = threading.Lock()
_log_callback: Any = None
_GGML_LOG_LEVEL_ERROR = 4  # ggml.h: NONE 0, DEBUG 1, INFO 2, WARN 3, ERROR 4, CONT 5
_load_errors: list[str] = []  # llama.cpp's error lines during the current load


def _usable_cores() -> int:
    """CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _default_threads() -> int:
    """Generation threads when none are set: half the usable cores, as llama.cpp does."""
    return max(1, _usable_cores() // 2)


def _route_llama_logs() -> None:
    """Send llama.cpp's C-side log lines to a DEBUG logger instead of stderr (once)."""
    global _log_callback
    if _log_callback is not None:
        return

    def forward(level: int, text: bytes, _user_data: Any) -> None:
        try:
            line = text.decode("utf-8", "replace").strip()
            if line:
                if level == _GGML_LOG_LEVEL_ERROR and len(_load_errors) < 8:
                    _load_errors.append(line)
                _LLAMA_LOG.debug("%s", line)
        except Exception:  # a log line must never raise inside C code
            pass

    _log_callback = llama_cpp.llama_log_callback(forward)
    llama_cpp.llama_log_set(_log_callback, ctypes.c_void_p(0))


def _load_model(path: str, n_ctx: int, n_threads: int) -> _LoadedModel:
    """The cached model for (path, n_ctx, n_threads), loading it on first use."""
    key = (os.path.realpath(path), n_ctx, n_threads)
    with _CACHE_LOCK:
        loaded = _MODEL_CACHE.get(key)
        if loaded is not None:
            return loaded
        check_model_file(path)
        _route_llama_logs()
        _load_errors.clear()
        try:
            llama = llama_cpp.Llama(
                model_path=key[0],
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=max(n_threads, _usable_cores()),
                last_n_tokens_size=PENALTY_WINDOW,
                verbose=False,
            )
        except Exception as exc:
            detail = one_line(_load_errors[0] if _load_errors else str(exc))
            raise ConfigError(
                f"embedded model file could not be loaded: {path} ({detail}); "
                f"set {MODEL_PATH_VARIABLE} to a working GGUF file"
            ) from exc
        loaded = _LoadedModel(llama=llama, lock=threading.Lock())
        _MODEL_CACHE[key] = loaded
        _LOG.debug("loaded %s (n_ctx=%d, n_threads=%d)", key[0], n_ctx, n_threads)
        return loaded


def _close_models() -> None:
    """Free the cached models at exit, before interpreter teardown makes Llama.__del__ fail."""
    with _CACHE_LOCK:
        models = list(_MODEL_CACHE.values())
        _MODEL_CACHE.clear()
    for loaded in models:
        if not loaded.lock.acquire(timeout=5):
            continue  # still generating in some thread: leave it to the OS
        try:
            loaded.llama.close()
        except Exception as exc:  # exiting anyway; a failed free must not print a traceback
            _LOG.debug("closing the embedded model failed: %s", exc)
        finally:
            loaded.lock.release()


atexit.register(_close_models)


# --------------------------------------------------------------------------- the chat model


def _message_role(message: BaseMessage) -> str:
    """The chat-template role of a LangChain message."""
    if isinstance(message, SystemMessage):
        return "system"
    if isinstance(message, HumanMessage):
        return "user"
    if isinstance(message, AIMessage):
        return "assistant"
    if isinstance(message, ChatMessage) and message.role in {"system", "user", "assistant"}:
        return message.role
    raise ProviderRejected(f"embedded model cannot take a {type(message).__name__} message")


def to_llama_messages(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    """LangChain messages as llama.cpp chat messages (role, text content)."""
    return [{"role": _message_role(m), "content": str(m.text)} for m in messages]


class ChatEmbedded(BaseChatModel):
    """A chat model run in-process by llama.cpp from a GGUF file, with the model's template."""

    model_config = ConfigDict(protected_namespaces=())

    model_path: str
    """The GGUF model file."""
    model_name: str = "smollm2-135m-instruct"
    """Name shown in logs and manifests."""
    max_tokens: int = Field(default=512, ge=1)
    """Default bound on generated tokens; override per call with invoke(..., max_tokens=N)."""
    temperature: float = Field(default=0.3, ge=0.0)
    top_p: float = Field(default=0.9, gt=0.0, le=1.0)
    top_k: int = Field(default=40, ge=0)
    min_p: float = Field(default=0.05, ge=0.0, le=1.0)
    repeat_penalty: float = Field(default=1.1, ge=1.0)
    n_ctx: int = Field(default=4096, ge=256, le=8192)
    """Context window in tokens (prompt plus answer); SmolLM2 was trained on 8192."""
    n_threads: int | None = Field(default=None, ge=1)
    """Generation threads; None means half the usable cores. Prompts use every core."""
    seed: int = Field(default=0, ge=0)
    """Sampling seed sent with every call: the same prompt gives the same text."""
    stop: list[str] | None = None
    """Stop sequences; None means DEFAULT_STOP."""
    clean: bool = True
    """Apply clean_completion (and trim a sentence cut by max_tokens) to the text."""
    prompt_cache: bool = False
    """Reuse the previous call's evaluated prompt prefix: faster on long shared prefixes, but
    the text then depends on the call before (llama.cpp's sums differ with batch splits)."""

    @field_validator("model_path", mode="before")
    @classmethod
    def _path_as_text(cls, value: Any) -> Any:
        """Accept a Path (or any path-like) for model_path."""
        return os.fspath(value) if isinstance(value, os.PathLike) else value

    @model_validator(mode="after")
    def _model_file_usable(self) -> ChatEmbedded:
        """Fail at construction, with the fix, when the model file is missing or not GGUF."""
        check_model_file(self.model_path)
        return self

    @property
    def _llm_type(self) -> str:
        """LangChain's name for this kind of model."""
        return "embedded-llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        """What makes two instances produce different text."""
        return {
            "model_name": self.model_name,
            "model_file": os.path.basename(self.model_path),
            "n_ctx": self.n_ctx,
            **self._sampling(),
            "repeat_window": PENALTY_WINDOW,
            "stop": list(self._stop_sequences(None)),
            "clean": self.clean,
            "prompt_cache": self.prompt_cache,
        }

    def _sampling(self) -> dict[str, Any]:
        """The instance's sampling parameters, as llama.cpp names them."""
        return {
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "min_p": self.min_p,
            "repeat_penalty": self.repeat_penalty,
            "seed": self.seed,
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        """Tracing parameters with our provider and model names."""
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = "embedded"
        params["ls_model_name"] = self.model_name
        return params

    def load(self) -> None:
        """Load the model now (it is loaded on first call otherwise); ConfigError if it cannot."""
        self._model()

    def _model(self) -> _LoadedModel:
        """The shared llama.cpp model for this instance's file and context size."""
        threads = self.n_threads or _default_threads()
        return _load_model(self.model_path, self.n_ctx, threads)

    def _stop_sequences(self, stop: list[str] | None) -> Sequence[str]:
        """The call's stop list, else the instance's, else DEFAULT_STOP."""
        if stop is not None:
            return stop
        return self.stop if self.stop is not None else DEFAULT_STOP

    def _call_params(self, stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Sampling parameters for one call, with per-call overrides applied."""
        unknown = set(kwargs) - _CALL_OPTIONS
        if unknown:
            raise TypeError(
                f"ChatEmbedded does not take {', '.join(sorted(unknown))}; "
                f"per-call options are {', '.join(sorted(_CALL_OPTIONS))}"
            )
        params = {**self._sampling(), **kwargs}
        if int(params["max_tokens"]) < 1:
            raise ValueError(f"max_tokens must be at least 1, not {params['max_tokens']}")
        params["max_tokens"] = int(params["max_tokens"])
        params["stop"] = list(self._stop_sequences(stop))
        return params

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        """Run one chat completion (blocking; serialised per model)."""
        params = self._call_params(stop, kwargs)
        chat = to_llama_messages(messages)
        loaded = self._model()
        with loaded.lock:
            if not self.prompt_cache:
                loaded.llama.reset()  # evaluate the whole prompt: same prompt, same text
            try:
                response = loaded.llama.create_chat_completion(messages=chat, **params)
            except ValueError as exc:
                if "exceed context window" in str(exc):
                    raise ProviderRejected(
                        f"embedded model {self.model_name}: prompt too long for n_ctx="
                        f"{self.n_ctx} ({one_line(str(exc))})"
                    ) from exc
                raise ProviderBadResponse(
                    f"embedded model {self.model_name} failed: {one_line(str(exc))}"
                ) from exc
            except Exception as exc:
                raise ProviderBadResponse(
                    f"embedded model {self.model_name} failed: "
                    f"{type(exc).__name__}: {one_line(str(exc))}"
                ) from exc
        prompt = "\n\n".join(m["content"] for m in chat if m["role"] != "assistant")
        return self._result(response, prompt)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        """Run one chat completion in a worker thread, leaving the event loop free."""
        return await asyncio.to_thread(self._generate, messages, stop, None, **kwargs)

    def _result(self, response: Any, prompt: str) -> ChatResult:
        """A ChatResult from llama.cpp's OpenAI-shaped completion dict."""
        try:
            choice = response["choices"][0]
            raw = choice["message"]["content"] or ""
            finish_reason = str(choice.get("finish_reason") or "stop")
            usage = response.get("usage") or {}
            input_tokens = int(usage.get("prompt_tokens", 0))
            output_tokens = int(usage.get("completion_tokens", 0))
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise ProviderBadResponse(
                f"embedded model {self.model_name} returned an unexpected response shape"
            ) from exc
        text = raw.strip()
        if self.clean:
            cleaned = clean_completion(raw, prompt)
            # A reply that is all echo is still better than a failed report: keep it raw.
            text = cleaned or text
            # A reply cut by max_tokens is trimmed to its last sentence by the compiler, which
            # does it for every provider from finish_reason.
        if not text:
            raise ProviderBadResponse(
                f"embedded model {self.model_name} returned no usable text "
                f"({output_tokens} tokens, finish_reason={finish_reason})"
            )
        usage_metadata = UsageMetadata(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            total_tokens=int(usage.get("total_tokens", input_tokens + output_tokens)),
        )
        metadata = {"model_name": self.model_name, "finish_reason": finish_reason}
        message = AIMessage(
            content=text, usage_metadata=usage_metadata, response_metadata=dict(metadata)
        )
        return ChatResult(
            generations=[ChatGeneration(message=message, generation_info=dict(metadata))],
            llm_output={"model_name": self.model_name, "token_usage": dict(usage)},
        )
