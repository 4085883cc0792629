"""The engine deployment: Ray Serve LLM's LLMServer, taken out of service the moment its engine dies.

When vLLM's engine core dies (OOM kill, segfault, a lost GPU), LLMServer keeps
accepting requests and fails each one until Serve's periodic health check notices and
replaces the replica. Here the replica refuses work as soon as the engine is dead
(ReplicaLost), and so does every request the engine held as it died that has produced
no output yet, a non-streamed one included (EngineDiedHoldingRequest): the ingress
resends them, since nothing reached the client. Then the replica exits, so Serve
routes around it and starts a replacement at once.

A model with a lock (ModelConfig.lock) is checked against it before the engine starts:
a replica whose files differ never serves, and its start fails naming each file.

A request that makes the engine's request handling raise before any output while the
engine lives (vLLM's chat renderer indexing a field an odd message lacks, say) is
answered with a 400 error response instead of a 500: it is the request's content
that failed, and every other request is served. The traceback is logged.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any, AsyncGenerator

from ray.llm._internal.serve.core.configs.openai_api_models import ErrorInfo, ErrorResponse
from ray.serve.llm import LLMServer
from vllm.v1.engine.exceptions import EngineGenerateError

from .errors import MAX_ERROR_CHARS
from .llm_configs import MODEL_LOCK_CONFIG
from .models import ModelLock, mismatches

log = logging.getLogger("serve_app")

#: How often each replica checks its engine is alive (a local flag read, no RPC).
ENGINE_WATCH_PERIOD_S = 0.5
#: Exceptions of a request's handling that come from its input (a missing key, a value
#: of the wrong type, arithmetic on a drawn parameter such as a beam search score
#: dividing by zero, vLLM's wrapper for a request its engine refused) when the engine
#: itself is alive.
INPUT_FAULTS = (KeyError, TypeError, AttributeError, IndexError, ValueError, UnicodeError, ArithmeticError, EngineGenerateError)


class ReplicaLost(RuntimeError):
    """The replica's engine is dead; the request never started and is safe to retry."""


class EngineDiedHoldingRequest(ReplicaLost):
    """The engine died while it held the request, before any output: nothing reached the
    client, but the request may be what killed it, so the ingress resends it only a few times."""


class ModelLockMismatch(RuntimeError):
    """The model's files are not the ones its lock pins."""


def verify_model_files(llm_config: Any) -> None:
    """Check a locked model's source against its lock (hashing every byte, so off the event loop)."""
    lock = llm_config.experimental_configs.get(MODEL_LOCK_CONFIG)
    if lock is None:
        return
    source = Path(llm_config.model_loading_config.model_source)
    problems = mismatches(source, ModelLock.model_validate(lock))
    if problems:
        raise ModelLockMismatch("; ".join(f"model lock: {source}/{problem}" for problem in problems))
    log.info("model lock: %s matches its lock (%d files)", source, len(lock["files"]))


class ServeAppLLMServer(LLMServer):
    """LLMServer that refuses requests once its engine is dead, then exits for a fast replacement."""

    async def start(self) -> None:
        await asyncio.to_thread(verify_model_files, self._llm_config)
        await super().start()
        self._engine_watch = asyncio.get_running_loop().create_task(self._exit_when_engine_dies())

    async def _engine_dead(self) -> Exception | None:
        try:
            await self.check_health()
        except Exception as e:  # the engine raises its dead_error once the core is gone
            return e
        return None

    async def _exit_when_engine_dies(self) -> None:
        while True:
            await asyncio.sleep(ENGINE_WATCH_PERIOD_S)
            error = await self._engine_dead()
            if error is not None:
                log.error("engine is dead (%s: %s); exiting so Serve replaces this replica now", type(error).__name__, error)
                logging.shutdown()
                os._exit(1)

    async def _run_request(self, *args: Any, **kwargs: Any) -> Any:
        await self._refuse_if_engine_dead()
        return self._lost_if_engine_died_before_output(await super()._run_request(*args, **kwargs))

    async def _refuse_if_engine_dead(self) -> None:
        error = await self._engine_dead()
        if error is not None:
            raise ReplicaLost(f"engine is dead: {type(error).__name__}")

    async def _lost_if_engine_died_before_output(self, stream: AsyncGenerator[Any, None]) -> AsyncGenerator[Any, None]:
        """A request the engine took just as it died gets its error as first output;
        nothing has reached the client yet, so it is refused (and resent) instead."""
        try:
            try:
                first = await anext(stream)
            except StopAsyncIteration:
                return
            except INPUT_FAULTS as e:
                await self._refuse_if_engine_dead()
                log.warning("request refused: its handling raised %s before any output", type(e).__name__, exc_info=True)
                yield input_fault_response(e)
                return
            except Exception as e:
                # vLLM's EngineDeadError for every request the engine held as it died.
                if await self._engine_dead() is not None:
                    raise EngineDiedHoldingRequest(f"engine died holding the request: {type(e).__name__}") from e
                raise
            await self._refuse_if_engine_dead()
            yield first
            async for item in stream:
                yield item
        finally:
            await stream.aclose()  # a client that left (or a refusal) aborts the engine request


def input_fault_response(e: BaseException) -> ErrorResponse:
    """A 400 for a request whose handling failed on its content; the message names no internals."""
    # EngineGenerateError carries no text of its own.
    detail = f"missing field {e}" if isinstance(e, KeyError) else str(e) or "the engine refused it"
    message = f"The request could not be processed: {detail[:MAX_ERROR_CHARS]}."
    return ErrorResponse(error=ErrorInfo(message=message, type="invalid_request_error", code=400))
