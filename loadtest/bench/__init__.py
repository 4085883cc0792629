"""Side-by-side serving benchmark on the embedded tiny model (``make bench``).

    python -m loadtest.bench [--quick] [--out reports/bench] [--systems serve_app,vllm,peer,naive]

Four systems serve the same tiny model with the same engine settings, one at a time
(the reference machine has 2 cores: two servers side by side would measure each
other). Each is started, warmed up, driven by the project's own Locust harness
(loadtest.run) at several closed-loop concurrencies, and stopped:

- ``serve_app``: this project's app under Ray Serve (``python -m serve_app --config``);
- ``vllm``: vLLM's own OpenAI server, the limit for any wrapper around the engine;
- ``peer``: plain ``ray.serve.llm.build_openai_app`` with an equivalent LLMConfig;
- ``naive``: a Ray Serve deployment running transformers ``generate()`` one request
  at a time, the floor that continuous batching is measured against.

Results land in ``reports/bench/``: results.json, README.md (tables, ratios, goals)
and, when matplotlib is importable, PNG plots. Raw per-run files (Locust CSVs,
per-request records, server logs) go to ``reports/bench/raw/``, which git ignores.
"""
