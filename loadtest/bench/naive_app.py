"""The naive baseline: transformers ``generate()`` per request, one request at a time.

    python -m loadtest.bench.naive_app --model-dir DIR --model-id tiny-llama --port P --metrics-port M

A Ray Serve deployment holding an ``AutoModelForCausalLM`` with
``max_ongoing_requests=1``: what serving an LLM looks like without continuous
batching or a paged KV cache. It speaks just enough of the OpenAI API for the
benchmark's Locust users: ``GET /v1/models``, streaming and non-streaming
``POST /v1/completions`` and ``/v1/chat/completions`` (one SSE chunk per generated
token, ``stream_options.include_usage``, ``ignore_eos``), and ``GET /health``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from typing import Any, AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from ray import serve

from .launch import common_args, serve_until_signalled

api = FastAPI()

REPLACEMENT_CHAR = "\ufffd"


class _TokenQueue:
    """A transformers streamer that hands each new token id to an asyncio queue."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue = asyncio.Queue()
        self._prompt_seen = False

    def put(self, value: Any) -> None:
        if not self._prompt_seen:  # generate() first passes the prompt itself
            self._prompt_seen = True
            return
        for token_id in value.reshape(-1).tolist():
            self.loop.call_soon_threadsafe(self.queue.put_nowait, token_id)

    def end(self) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, None)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error", "param": None, "code": status}}, status_code=status)


@serve.deployment(max_ongoing_requests=1, ray_actor_options={"num_cpus": 1})
@serve.ingress(api)
class NaiveLM:
    def __init__(self, model_dir: str, model_id: str) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.model_id = model_id
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()

    @api.get("/health")
    def health(self) -> dict:
        return {"status": "ok"}

    @api.get("/v1/models")
    def models(self) -> dict:
        return {"object": "list", "data": [{"id": self.model_id, "object": "model", "owned_by": "bench"}]}

    @api.post("/v1/completions")
    async def completions(self, request: Request):
        body = await request.json()
        prompt = body.get("prompt")
        if isinstance(prompt, list):
            prompt = prompt[0] if prompt else ""
        if not isinstance(prompt, str):
            return _error(400, "prompt must be a string")
        ids = self.tokenizer(prompt, return_tensors="pt").input_ids
        return await self._respond(body, ids, chat=False)

    @api.post("/v1/chat/completions")
    async def chat_completions(self, request: Request):
        body = await request.json()
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return _error(400, "messages must be a non-empty list")
        ids = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)["input_ids"]
        return await self._respond(body, ids, chat=True)

    async def _respond(self, body: dict, input_ids: Any, chat: bool):
        if body.get("model") not in (None, self.model_id):
            return _error(404, f"The model `{body.get('model')}` does not exist.")
        max_tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or 16)
        if max_tokens < 1 or input_ids.shape[1] + max_tokens > self.model.config.max_position_embeddings:
            return _error(400, "max_tokens out of range for this model's context")
        stream = self._generate(input_ids, max_tokens, bool(body.get("ignore_eos")), float(body.get("temperature", 1.0)))
        meta = {
            "id": f"{'chatcmpl' if chat else 'cmpl'}-{uuid.uuid4().hex}",
            "created": int(time.time()),
            "model": self.model_id,
            "object": "chat.completion.chunk" if chat else "text_completion",
        }
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(self._sse(stream, meta, chat, input_ids.shape[1], include_usage), media_type="text/event-stream")
        text, n = "", 0
        async for delta in stream:
            text += delta
            n += 1
        choice = {"index": 0, "finish_reason": "length" if n >= max_tokens else "stop"}
        choice.update({"message": {"role": "assistant", "content": text}} if chat else {"text": text, "logprobs": None})
        usage = {"prompt_tokens": input_ids.shape[1], "completion_tokens": n, "total_tokens": input_ids.shape[1] + n}
        return {**meta, "object": "chat.completion" if chat else "text_completion", "choices": [choice], "usage": usage}

    async def _generate(self, input_ids: Any, max_tokens: int, ignore_eos: bool, temperature: float) -> AsyncIterator[str]:
        """Yield one text delta per generated token while generate() runs in a thread."""
        from transformers import StoppingCriteria, StoppingCriteriaList

        cancelled = threading.Event()

        class _Cancelled(StoppingCriteria):
            def __call__(self, *_a, **_kw) -> bool:
                return cancelled.is_set()

        streamer = _TokenQueue(asyncio.get_running_loop())
        kwargs: dict[str, Any] = dict(
            max_new_tokens=max_tokens,
            streamer=streamer,
            stopping_criteria=StoppingCriteriaList([_Cancelled()]),
            pad_token_id=self.tokenizer.pad_token_id,
        )
        if ignore_eos:
            kwargs["min_new_tokens"] = max_tokens
        if temperature > 0:
            kwargs.update(do_sample=True, temperature=temperature, top_k=0, top_p=1.0)
        else:
            kwargs.update(do_sample=False)

        def run() -> None:
            try:
                with self.torch.inference_mode():
                    self.model.generate(input_ids, attention_mask=self.torch.ones_like(input_ids), **kwargs)
            finally:
                streamer.end()

        worker = asyncio.get_running_loop().run_in_executor(None, run)
        generated: list[int] = []
        sent = ""
        try:
            while (token_id := await streamer.queue.get()) is not None:
                generated.append(token_id)
                text = self.tokenizer.decode(generated, skip_special_tokens=True)
                if text.endswith(REPLACEMENT_CHAR):  # an incomplete UTF-8 sequence: hold it back
                    yield ""
                    continue
                delta, sent = text[len(sent):], text
                yield delta
            await worker
        finally:
            cancelled.set()

    async def _sse(self, deltas: AsyncIterator[str], meta: dict, chat: bool, prompt_tokens: int, include_usage: bool) -> AsyncIterator[str]:
        def chunk(choices: list, **extra: Any) -> str:
            return f"data: {json.dumps({**meta, 'choices': choices, **extra})}\n\n"

        n = 0
        if chat:
            yield chunk([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        async for delta in deltas:
            n += 1
            piece = {"delta": {"content": delta}} if chat else {"text": delta, "logprobs": None}
            yield chunk([{"index": 0, **piece, "finish_reason": None}])
        last = {"delta": {}} if chat else {"text": "", "logprobs": None}
        yield chunk([{"index": 0, **last, "finish_reason": "length"}])
        if include_usage:
            yield chunk([], usage={"prompt_tokens": prompt_tokens, "completion_tokens": n, "total_tokens": prompt_tokens + n})
        yield "data: [DONE]\n\n"


def main() -> None:
    args = common_args(__doc__).parse_args()
    serve_until_signalled(lambda: NaiveLM.bind(args.model_dir, args.model_id), args)


if __name__ == "__main__":
    main()
