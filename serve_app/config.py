"""serve_app's configuration: the single source of truth for what a deployment serves.

The kuberay-llm chart renders ``values.models[]`` into this structure (as the
``args`` of the serveConfigV2 application), the render tests validate every preset's
rendered config against it, and the builder turns it into Ray Serve LLM configs. Field
names are snake_case, as in serveConfigV2; the chart maps its camelCase values onto them.

Every model and field rejects unknown keys, so a typo fails at validation time with the
field's path instead of being silently ignored on a GPU node an hour later.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from .memory import Plan, Share, estimate, gpu_memory, is_declared, misfit_message, overcommit_message
from .models import ModelLock

# What Kubernetes accepts as an environment variable name (a name with `=` or a space
# would make the pod spec, or Ray's runtime env, invalid).
EnvVarName = Annotated[str, StringConstraints(pattern=r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")]

#: Keys users reach for from other tools, mapped to what this config calls them.
RENAMED_KEYS = {
    "name": "id",
    "model": "id",
    "model_id": "id",
    "model_source": "source",
    "engine_kwargs": "engine",
    "autoscaling_config": "autoscaling",
    "num_replicas": "autoscaling (min_replicas/max_replicas)",
    "tensor_parallel": "engine.tensor_parallel_size",
    "gpu_memory_util": "engine.gpu_memory_utilization",
}


LORA_SCHEMES = ("s3://", "gs://", "abfss://", "azure://")


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _explain_renamed_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for old, new in RENAMED_KEYS.items():
                if old in data and old not in cls.model_fields:
                    raise ValueError(f"unknown key '{old}': did you mean '{new}'?")
        return data


class EngineConfig(StrictModel):
    """vLLM engine arguments that the charts expose as first-class values."""

    tensor_parallel_size: int = Field(1, ge=1, le=64, description="GPUs each replica shards every layer across (vLLM --tensor-parallel-size).")
    pipeline_parallel_size: int = Field(1, ge=1, le=64, description="Pipeline stages per replica; stages may span nodes (vLLM --pipeline-parallel-size).")
    max_model_len: int | None = Field(None, ge=16, description="Context window in tokens; prompts plus max_tokens beyond it are rejected with 400. Default: the model's own.")
    gpu_memory_utilization: float = Field(0.9, gt=0.0, le=1.0, description="Fraction of each GPU's memory vLLM may use for weights and KV cache (on the CPU engine: of the host's memory).")
    kv_cache_memory_bytes: int | None = Field(None, ge=1 << 20, description="Fixed KV cache size in bytes per worker; overrides gpu_memory_utilization's sizing. Set it on CPU, where the fraction is of all host memory.")
    enable_prefix_caching: bool = Field(True, description="Reuse KV cache blocks across requests that share a prefix.")
    dtype: Literal["auto", "float16", "bfloat16", "float32"] = Field("auto", description="Weight and activation dtype.")
    quantization: str | None = Field(None, description="Quantization method (awq, gptq, fp8, ...), or null for none.")
    max_num_seqs: int | None = Field(None, ge=1, description="Upper bound on sequences batched together per step.")
    max_num_batched_tokens: int | None = Field(None, ge=1, description="Upper bound on tokens processed per step.")
    enforce_eager: bool = Field(False, description="Disable CUDA graphs (required on CPU; slower on GPU).")
    extra: dict[str, Any] = Field(default_factory=dict, description="Further vLLM engine keyword arguments, passed through unchanged.")

    @field_validator("extra")
    @classmethod
    def _extra_does_not_shadow(cls, v: dict[str, Any]) -> dict[str, Any]:
        shadowed = sorted(set(v) & set(cls.model_fields))
        if shadowed:
            raise ValueError(f"engine.extra must not repeat first-class engine fields: {shadowed}")
        return v

    @property
    def devices_per_replica(self) -> int:
        return self.tensor_parallel_size * self.pipeline_parallel_size


class AutoscalingConfig(StrictModel):
    """Ray Serve replica autoscaling for one model."""

    min_replicas: int = Field(1, ge=0, description="Replicas kept when idle (0 scales the model to zero).")
    max_replicas: int = Field(1, ge=1, description="Upper bound on replicas.")
    initial_replicas: int | None = Field(None, ge=0, description="Replicas at deploy time (default: min_replicas).")
    target_ongoing_requests: float = Field(16.0, gt=0, description="Ongoing requests per replica the autoscaler aims for.")
    upscale_delay_s: float = Field(30.0, ge=0, description="How long load must stay high before adding a replica.")
    downscale_delay_s: float = Field(600.0, ge=0, description="How long load must stay low before removing a replica.")

    @model_validator(mode="after")
    def _bounds(self) -> "AutoscalingConfig":
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas ({self.min_replicas}) must not exceed max_replicas ({self.max_replicas})")
        if self.initial_replicas is not None and not self.min_replicas <= self.initial_replicas <= self.max_replicas:
            raise ValueError("initial_replicas must lie between min_replicas and max_replicas")
        return self


class AcceleratorConfig(StrictModel):
    """What each replica's devices are: a GPU type, or CPU with explicit bundles."""

    kind: Literal["GPU", "CPU"] = Field("GPU", description="Device kind of the engine workers.")
    gpu_type: str | None = Field(None, description="Ray accelerator type (e.g. L4, A10G, H100) to pin replicas to that GPU type.")
    gpu_fraction: float = Field(1.0, gt=0.0, le=1.0, description="Share of one GPU per engine worker (<1 packs several replicas onto one GPU; needs tensor_parallel_size x pipeline_parallel_size = 1). gpu_memory_utilization stays a fraction of the whole GPU: replicas that may share one GPU must not sum above 0.9.")
    cpus_per_worker: float = Field(1.0, gt=0.0, description="CPUs reserved per engine worker bundle.")

    @model_validator(mode="after")
    def _cpu_has_no_gpu_type(self) -> "AcceleratorConfig":
        if self.kind == "CPU" and self.gpu_type:
            raise ValueError("accelerator.gpu_type is only valid with accelerator.kind GPU")
        if self.kind == "CPU" and self.gpu_fraction != 1.0:
            raise ValueError("accelerator.gpu_fraction is only valid with accelerator.kind GPU")
        return self


class LoRAConfig(StrictModel):
    """Multi-LoRA serving: adapters loaded on demand from a path or bucket."""

    dynamic_lora_loading_path: str = Field(..., min_length=1, description="Bucket URI (s3://, gs://, abfss://, azure://) holding one sub-directory per adapter.")
    max_num_adapters_per_replica: int = Field(16, ge=1, description="Adapters resident per replica at once.")
    max_lora_rank: int = Field(16, ge=1, description="Largest adapter rank accepted.")

    @field_validator("dynamic_lora_loading_path")
    @classmethod
    def _remote_path(cls, v: str) -> str:
        # Ray Serve LLM downloads adapters on demand and only from object storage.
        if not v.startswith(LORA_SCHEMES):
            raise ValueError(f"lora.dynamic_lora_loading_path must start with one of {', '.join(LORA_SCHEMES)}; got '{v}'")
        return v


class SizingConfig(StrictModel):
    """What the GPU memory check needs to know about the model (see serve_app.memory).

    Nothing declared: no check. With parameters_b or weights_gb declared, a placement
    whose weights and one max_model_len sequence of KV cache cannot fit the GPUs at
    gpu_memory_utilization is rejected (by the charts at render time, and here).
    """

    enforce: bool = Field(True, description="Reject a placement the estimate says cannot fit; false only reports it.")
    parameters_b: float | None = Field(None, gt=0, description="Parameters in billions (e.g. 8.03 for Llama 3.1 8B); weights = parameters x bytes of the dtype or quantization.")
    weights_gb: float | None = Field(None, gt=0, description="Weight size in GB, when known (overrides parameters_b for the weights).")
    gpu_memory_gb: float | None = Field(None, gt=0, description="Memory per GPU in GB; default: from accelerator.gpu_type (T4, V100, L4, A10G, L40S, A100, A100-40G, A100-80G, H100, H200, B200, AMD-Instinct-MI300X-OAM).")
    num_layers: int | None = Field(None, ge=1, description="Hidden layers (num_hidden_layers of the model's config.json); with hidden_size and num_attention_heads it makes the KV cache estimate exact.")
    hidden_size: int | None = Field(None, ge=1, description="Hidden size (hidden_size of config.json).")
    num_attention_heads: int | None = Field(None, ge=1, description="Attention heads (num_attention_heads of config.json).")
    num_kv_heads: int | None = Field(None, ge=1, description="Key/value heads (num_key_value_heads of config.json); default: num_attention_heads.")


class ModelConfig(StrictModel):
    """One served model: where its weights are, how it runs, how it scales."""

    id: str = Field(..., min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/:-]*$", description="Name clients pass as `model`; also the Serve deployment's name.")
    source: str | None = Field(None, description="Hugging Face repo id, or an absolute path (local disk or a mounted PVC). Default: id.")
    engine: EngineConfig = Field(default_factory=EngineConfig, description="vLLM engine arguments.")
    autoscaling: AutoscalingConfig = Field(default_factory=AutoscalingConfig, description="Serve replica autoscaling.")
    accelerator: AcceleratorConfig = Field(default_factory=AcceleratorConfig, description="Devices per replica.")
    lora: LoRAConfig | None = Field(None, description="Multi-LoRA serving, or null.")
    routing: Literal["power_of_two", "prefix_cache_affinity"] = Field("power_of_two", description="How requests pick a replica: power-of-two-choices on queue length, or affinity to replicas that hold the prompt's prefix in cache.")
    max_ongoing_requests: int = Field(64, ge=1, description="Requests a replica works on at once; more wait in the router's queue.")
    max_queued_requests: int = Field(256, ge=-1, description="Requests that may wait for a replica before new ones get 503 (-1: unbounded, not recommended).")
    env: dict[EnvVarName, str] = Field(default_factory=dict, description="Environment variables for the engine's workers (no secrets: use the pod's secretKeyRef env). CPU models get VLLM_CPU_OMP_THREADS_BIND=nobind unless it is set here: vLLM's `auto` pins every engine in a pod to the same cores, which stalls the second engine of a rolling update.")
    stream_batching_interval_ms: float | None = Field(
        None,
        ge=0,
        description="How long the engine replica gathers streamed tokens before sending them on as one batch. Ray's default (50 ms) gives the most throughput; 10 ms or less gives smoother streams and lower time to first token for interactive chat at more CPU per token (0 sends every token at once). null: Ray's default.",
    )
    graceful_shutdown_timeout_s: float = Field(120.0, gt=0, description="Seconds a draining replica (rolling update, scale-down, node drain) gets to finish in-flight requests; on spot nodes keep it within the cloud's preemption notice.")
    sizing: SizingConfig = Field(default_factory=SizingConfig, description="Model size for the GPU memory check (nothing declared: no check).")
    expected_startup_s: float = Field(0, ge=0, description="Seconds a replica takes to start (placement, weight load, compilation), as measured on your nodes; 0 leaves it undeclared. Declared, autoscaling.downscale_delay_s must be at least as long: Serve removing a replica sooner than one starts makes load that comes back wait for a cold start.")
    lock: ModelLock | None = Field(None, description="The model's files pinned by sha256, as python -m serve_app.models lock writes them: each replica checks its source against the lock before the engine starts, and fails naming each file that differs. Needs a local source (a volume or the image); null: no check.")

    @model_validator(mode="after")
    def _scales_down_no_sooner_than_a_replica_starts(self) -> "ModelConfig":
        delay, expected = self.autoscaling.downscale_delay_s, self.expected_startup_s
        if expected and delay < expected:
            raise ValueError(f"autoscaling.downscale_delay_s ({delay:g}) is shorter than expected_startup_s ({expected:g}): Serve could remove a replica sooner than one starts; raise it to at least {expected:g}")
        return self

    @model_validator(mode="after")
    def _lock_needs_local_files(self) -> "ModelConfig":
        # A hub model is downloaded by the engine itself, after any check could run.
        if self.lock is not None and not self.is_local:
            raise ValueError(f"lock: the files must be on the worker before the engine starts to be verified; set source to the model's absolute path (got {self.model_source!r})")
        return self

    @model_validator(mode="after")
    def _fraction_is_one_device(self) -> "ModelConfig":
        # Ray may put every fractional bundle of a replica on the same GPU: tensor or
        # pipeline parallel workers would then share one device.
        if self.accelerator.gpu_fraction < 1 and self.engine.devices_per_replica > 1:
            raise ValueError("accelerator.gpu_fraction < 1 needs tensor_parallel_size x pipeline_parallel_size = 1")
        return self

    @model_validator(mode="after")
    def _fits_gpu_memory(self) -> "ModelConfig":
        plan = self.sizing_plan()
        if self.accelerator.kind != "GPU" or not is_declared(plan):
            return self
        if gpu_memory(plan) is None:
            raise ValueError(f"sizing: GPU memory unknown for accelerator.gpu_type {self.accelerator.gpu_type!r}; set sizing.gpu_memory_gb (or sizing.enforce false)") if self.sizing.enforce else self
        if self.sizing.enforce and not estimate(plan).fits:
            raise ValueError(f"sizing: {self.id} {misfit_message(plan)}")
        return self

    def sizing_plan(self) -> Plan:
        """This model's placement, as serve_app.sizing estimates it."""
        s, e = self.sizing, self.engine
        return Plan(
            parameters_b=s.parameters_b, weights_gb=s.weights_gb, gpu_type=self.accelerator.gpu_type, gpu_memory_gb=s.gpu_memory_gb,
            num_layers=s.num_layers, hidden_size=s.hidden_size, num_attention_heads=s.num_attention_heads, num_kv_heads=s.num_kv_heads,
            dtype=e.dtype, quantization=e.quantization, tensor_parallel_size=e.tensor_parallel_size, pipeline_parallel_size=e.pipeline_parallel_size,
            gpu_memory_utilization=e.gpu_memory_utilization, max_model_len=e.max_model_len,
        )

    @property
    def model_source(self) -> str:
        return self.source or self.id

    @property
    def is_local(self) -> bool:
        return self.model_source.startswith("/")


class AuthConfig(StrictModel):
    """Bearer-token auth for the OpenAI endpoints; health and metrics stay open."""

    enabled: bool = Field(False, description="Require `Authorization: Bearer <key>` on /v1/*.")
    api_key_env: str = Field("SERVE_APP_API_KEY", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Environment variable holding the key (fed from a Secret via secretKeyRef).")


class AliasTarget(StrictModel):
    """One model answering an alias, with its share of the alias's requests."""

    model: str = Field(..., min_length=1, description="id of a served model.")
    weight: int = Field(..., ge=0, le=1_000_000, description="Relative share of the alias's requests (0 drains this target without removing it).")


class AliasConfig(StrictModel):
    """A name clients may send as `model`, answered by one of several models by weight.

    For A/B tests and canaries of model versions inside one application: each request
    naming the alias goes to one target, drawn by weight, and the response names the
    model that answered. Promote or roll back by changing the weights.
    """

    name: str = Field(..., min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/:-]*$", description="Name clients send as `model`; must not be a model id.")
    targets: list[AliasTarget] = Field(..., min_length=1, description="Models answering the alias and their weights.")

    @model_validator(mode="after")
    def _targets(self) -> "AliasConfig":
        names = [t.model for t in self.targets]
        if len(set(names)) != len(names):
            raise ValueError(f"aliases '{self.name}': targets list a model twice: {names}")
        if sum(t.weight for t in self.targets) == 0:
            raise ValueError(f"aliases '{self.name}': the target weights sum to 0; give at least one target a weight")
        return self


class PDRoleConfig(StrictModel):
    """One side (prefill or decode) of prefill/decode disaggregation."""

    autoscaling: AutoscalingConfig = Field(default_factory=AutoscalingConfig, description="Serve replica autoscaling of this side (the model's own autoscaling does not apply).")
    tensor_parallel_size: int | None = Field(None, ge=1, le=64, description="GPUs per replica of this side; default: the model's engine.tensor_parallel_size.")


class PrefillDecodeConfig(StrictModel):
    """Serve the one model with prefill/decode disaggregation (Ray Serve LLM's P/D builder).

    Prefill replicas compute the prompt's KV cache and hand it to decode replicas over
    a vLLM KV connector, so long prompts no longer stall the token streams of others.
    GPUs only: the KV connectors (NIXL) need CUDA. The application is then Ray Serve
    LLM's P/D graph: exactly one model, no aliases, and no API-key auth (Ray's P/D
    ingress does not run serve_app's middleware).
    """

    kv_connector: Literal["NixlConnector", "LMCacheConnectorV1"] = Field("NixlConnector", description="vLLM KV connector moving the KV cache from prefill to decode.")
    prefill: PDRoleConfig = Field(default_factory=PDRoleConfig, description="The prefill side.")
    decode: PDRoleConfig = Field(default_factory=PDRoleConfig, description="The decode side.")


class TracingConfig(StrictModel):
    """OpenTelemetry request spans exported over OTLP/HTTP (off by default)."""

    enabled: bool = Field(False, description="Export one span per OpenAI request from the ingress.")
    otlp_endpoint: str | None = Field(
        None, pattern=r"^https?://", description="The collector's OTLP/HTTP traces URL, e.g. http://otel-collector.observability:4318/v1/traces."
    )
    service_name: str = Field("serve-app", min_length=1, description="`service.name` of the exported spans.")
    sample_ratio: float = Field(1.0, ge=0.0, le=1.0, description="Share of new traces sampled; a caller's sampled traceparent is always followed.")
    engine_spans: bool = Field(False, description="Also export vLLM's per-request engine spans (queue, prefill, decode timings) to the same endpoint.")

    @model_validator(mode="after")
    def _endpoint_when_enabled(self) -> "TracingConfig":
        if self.enabled and not self.otlp_endpoint:
            raise ValueError("tracing.otlp_endpoint is required when tracing.enabled is true")
        if self.engine_spans and not self.enabled:
            raise ValueError("tracing.engine_spans needs tracing.enabled")
        return self


class RequestLimitsConfig(StrictModel):
    """Limits on a client's request body, enforced by the ingress before any engine work."""

    max_body_bytes: int = Field(8 << 20, ge=1024, le=1 << 30, description="Largest request body in bytes; a larger one gets 413 before it is read. Raise it for multimodal requests with inline images.")
    max_json_depth: int = Field(64, ge=8, le=512, description="Deepest nesting of JSON objects and arrays in a body (tool and response_format schemas nest); deeper gets 400.")
    max_array_items: int = Field(4096, ge=16, le=1 << 20, description="Longest JSON array in a body (messages, stop, tools, batched prompts); longer gets 400. Token-id arrays are bounded by the body size and the context window instead.")


class AppConfig(StrictModel):
    """The whole application: the models served behind one OpenAI-compatible ingress."""

    models: list[ModelConfig] = Field(..., min_length=1, description="Models served by this application.")
    auth: AuthConfig = Field(default_factory=AuthConfig, description="API-key auth.")
    ingress_replicas: int = Field(1, ge=1, description="Replicas of the OpenAI ingress deployment.")
    ingress_max_ongoing_requests: int = Field(1024, ge=1, description="Concurrent requests each ingress replica accepts.")
    ingress_placement: Literal["workers", "any"] = Field("workers", description="Where Ray places the ingress replicas. workers: on Ray worker nodes (the head only when there is none), so a worker always runs a Serve replica and keeps its Serve proxy, and its place in the Service, while its only engine is replaced. any: where Ray likes, often the head; choose it when worker groups scale to zero, since an ingress replica keeps its worker up.")
    request_limits: RequestLimitsConfig = Field(default_factory=RequestLimitsConfig, description="Limits on request bodies (size, nesting, array length).")
    aliases: list[AliasConfig] = Field(default_factory=list, description="Model names answered by one of several models by weight (A/B versions, canaries).")
    prefill_decode: PrefillDecodeConfig | None = Field(None, description="Serve the one model with prefill/decode disaggregation (GPUs only); null: one deployment per model.")
    tracing: TracingConfig = Field(default_factory=TracingConfig, description="OpenTelemetry request tracing.")

    @model_validator(mode="after")
    def _unique_ids(self) -> "AppConfig":
        seen: set[str] = set()
        for i, m in enumerate(self.models):
            if m.id in seen:
                raise ValueError(f"models[{i}].id '{m.id}' is used by an earlier model; ids must be unique")
            seen.add(m.id)
        return self

    @model_validator(mode="after")
    def _prefill_decode_serves_one_gpu_model(self) -> "AppConfig":
        if self.prefill_decode is None:
            return self
        if len(self.models) != 1:
            raise ValueError(f"prefill_decode serves exactly one model; models has {len(self.models)}")
        if self.models[0].accelerator.kind != "GPU":
            raise ValueError("prefill_decode runs only on GPUs (its KV connectors need CUDA); models[0].accelerator.kind is CPU")
        if self.aliases:
            raise ValueError("prefill_decode: aliases are not supported (Ray's P/D ingress serves the model by its id)")
        if self.auth.enabled:
            raise ValueError("prefill_decode: auth.enabled is not supported (Ray's P/D ingress does not run serve_app's auth); protect the endpoint at the gateway")
        if self.tracing.enabled:
            raise ValueError("prefill_decode: tracing.enabled is not supported (Ray's P/D ingress does not run serve_app's middleware)")
        return self

    @model_validator(mode="after")
    def _aliases_name_served_models(self) -> "AppConfig":
        ids = [m.id for m in self.models]
        seen: set[str] = set()
        for i, alias in enumerate(self.aliases):
            if alias.name in ids or alias.name in seen:
                raise ValueError(f"aliases[{i}].name '{alias.name}' is already a model id or an earlier alias")
            seen.add(alias.name)
            for j, target in enumerate(alias.targets):
                if target.model not in ids:
                    raise ValueError(f"aliases[{i}].targets[{j}].model '{target.model}' is not the id of a model ({', '.join(ids)})")
        return self

    @model_validator(mode="after")
    def _shared_gpus_not_overcommitted(self) -> "AppConfig":
        shares = [
            Share(m.id, m.accelerator.gpu_type, m.accelerator.gpu_fraction, m.engine.gpu_memory_utilization, m.autoscaling.max_replicas)
            for m in self.models
            if m.accelerator.kind == "GPU" and m.accelerator.gpu_fraction < 1
        ]
        problems = [f"models[{self.models.index(self.model(s.id))}] ({s.id}): {msg}" for s in shares if (msg := overcommit_message(s, shares))]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def model(self, model_id: str) -> ModelConfig:
        return next(m for m in self.models if m.id == model_id)


def json_schema() -> dict[str, Any]:
    """JSON schema of AppConfig; the kuberay-llm chart's models schema is generated from it."""
    return AppConfig.model_json_schema()
