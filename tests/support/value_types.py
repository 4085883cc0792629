"""The kinds of value the charts pass on to Kubernetes, Prometheus and the engine, and the
mistakes users make with each.

Every string a chart's values.schema.json declares is one of these kinds (matched by its
schema path: `.a.b[].c`, `[]` a list item, `.*` a map entry) or free text that nothing
downstream parses (FREE_TEXT, with the reason). tests/charts/test_value_types.py puts
each bad example into each value of its kind and expects `helm template` to fail naming
the value. The examples are what users write, not what a pattern happens to exclude: a
scheme in a host, upper case in a name, a quantity with a space, a duration in words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ValueType:
    name: str
    # Schema paths of the values of this kind.
    paths: re.Pattern[str]
    # What a user might write that the chart must refuse.
    bad: tuple[Any, ...]
    # True when the bad examples go in a map's keys, not its values (label keys).
    keys: bool = False


def _paths(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


_LABEL_MAPS = r"(commonLabels|podLabels|matchLabels|nodeSelector|labels|extraLabels)"

VALUE_TYPES = (
    ValueType(
        "Kubernetes object name (DNS-1123 subdomain)",
        _paths(
            r"\.(existingSecret|existingClaim|storageClass|storageClassName|priorityClassName|runtimeClassName|className|secretName|gatewayClassName)$",
            r"\.serviceAccount\.name$", r"imagePullSecrets\[\]\.name$", r"authenticationRef(\.name)?$", r"parentRefs\[\]\.name$",
        ),
        ("Bad_Name", "-leading-dash", "a" * 254),
    ),
    ValueType(
        "name inside a name (DNS-1123 label): namespaces, volumes, name overrides",
        _paths(
            r"\.(nameOverride|fullnameOverride)$", r"namespaces\[\]$", r"matchNames\[\]$", r"\.namespace$", r"extraVolumes\[\]\.name$",
            r"extraVolumeMounts\[\]\.name$", r"models\[\]\.name$", r"groupName$", r"splits\[\]\.name$", r"scrape\.\w+\.port$",
        ),
        ("Bad_Name", "has.dot", "a" * 64),
    ),
    ValueType(
        "host name",
        _paths(r"hosts\[\]\.host$", r"tls\[\]\.hosts\[\]$", r"hostnames\[\]$"),
        ("https://llm.example.com", "LLM.example.com", "llm.example.com/v1", "llm.example.com:443"),
    ),
    ValueType(
        "label value",
        _paths(rf"{_LABEL_MAPS}\.\*$", r"matchExpressions\[\]\.values\[\]$", r"tolerations\[\]\.value$", r"kubePrometheusStack\.release$", r"dashboards\.labelValue$"),
        ("has space", "a" * 64, "-leading-dash"),
    ),
    ValueType(
        "label key",
        _paths(r"tolerations\[\]\.key$", r"[tT]opologyKey$", r"matchExpressions\[\]\.key$", r"matchLabelKeys\[\]$", r"podTargetLabels\[\]$", r"dashboards\.label$"),
        ("has space", "-leading-dash", "a/b/c"),
    ),
    ValueType("label key", _paths(rf"{_LABEL_MAPS}\.\*$"), ("has space", "-leading-dash", "a/b/c"), keys=True),
    ValueType(
        "quantity",
        _paths(r"\.(requests|limits)\.\*$", r"(sizeLimit|SizeLimit|shmSize)$", r"\.size$", r"averageValue$"),
        ("-1Gi", "1.2.3Gi", "lots", "1 Gi", -1),
    ),
    ValueType(
        "Prometheus duration",
        _paths(r"\.(interval|scrapeTimeout|for|window)$"),
        ("5 minutes", "-5s", "5", "1.5m"),
    ),
    ValueType("Gateway API duration", _paths(r"timeouts\.(request|backendRequest)$"), ("5 minutes", "-5s", "5")),
    ValueType("environment variable name", _paths(r"[eE]nv\[\]\.name$", r"apiKeyEnv$"), ("1BAD", "has space", "A=B")),
    ValueType("environment variable name", _paths(r"models\[\]\.env\.\*$"), ("1BAD", "has space", "A=B"), keys=True),
    ValueType("absolute path", _paths(r"[mM]ountPath$", r"hostPath\.path$", r"huggingface\.home$", r"paths\[\]\.path$", r"pathPrefix$", r"scrape\.\w+\.path$"), ("relative/path", "~/models")),
    ValueType(
        "CIDR",
        _paths(r"\.cidr$", r"ipBlock\.except\[\]$", r"modelSources\.(cidrs|except)\[\]$"),
        ("10.0.0.0/33", "not-a-cidr", "10.0.0.1", "300.0.0.0/8"),
    ),
    ValueType("image repository", _paths(r"\.repository$"), ("Registry.example.com/vllm", "vllm/vllm-openai:v0.29.0", "has space")),
    ValueType("image digest", _paths(r"\.digest$"), ("sha256:abc", "md5:0123456789abcdef0123456789abcdef", "latest")),
    ValueType("image tag", _paths(r"image(\.\w+)?\.tag$"), ("latest", "has space", "v1:2")),
    ValueType("Secret key", _paths(r"(secretKey|KeyIdKey|AccessKeyKey)$"), ("has space", "a/b")),
    ValueType("Prometheus label name", _paths(r"sourceLabels\[\]$", r"targetLabel$", r"rules\.gpuResource$"), ("has space", "1abc", "a-b")),
    ValueType(
        "PromQL label matchers",
        _paths(r"\.matchers$"),
        ('job="x"} or vector(1) #', "job=x", 'job="x"; drop', '"'),
    ),
    ValueType("extended resource name", _paths(r"\.resourceName$"), ("gpu", "nvidia.com/GPU count", "nvidia.com/")),
    ValueType("S3 URI", _paths(r"s3\.uri$"), ("bucket/path", "https://bucket.example.com/path")),
    ValueType("directory relative to the model volume", _paths(r"download\.localDir$"), ("/absolute", "../outside")),
    ValueType("Git commit of a model lock", _paths(r"lock\.revision$"), ("main", "v1.0", "0123abc", "0E9E39F249A16976918F6564B8830BC894C89659")),
    ValueType("sha256 digest of a model lock", _paths(r"lock\.files\[\]\.sha256$"), ("sha256:" + "0" * 64, "A" * 64, "abc")),
    ValueType("file inside the model directory", _paths(r"lock\.files\[\]\.path$"), ("/etc/passwd", "../outside", "a/../../b", "", "a//b")),
    ValueType("CPU core list", _paths(r"cpuThreadsBind$"), ("x y", "0-", "core0")),
    ValueType(
        "count or percentage",
        _paths(r"rollingUpdate\.(maxSurge|maxUnavailable)$", r"pdb\.(minAvailable|maxUnavailable)$"),
        ("-1", "10 %", "lots"),
    ),
    ValueType("port number or name", _paths(r"ports\[\]\.port$"), ("has space", "Bad_Name", 70000)),
    ValueType("decimal number in a string", _paths(r"(threshold|Threshold)$"), ("-1", "lots", "1,5")),
    ValueType("size with a unit", _paths(r"maxBodySize$"), ("1 GB", "-1m", "lots")),
    ValueType("HTTP header name", _paths(r"headerName$"), ("has space", "a:b")),
    ValueType("version", _paths(r"rayVersion$"), ("2.60", "v2.60.0", "latest")),
    ValueType("URL", _paths(r"(otlpEndpoint|endpointUrl|serverAddress|runbookBaseUrl|huggingface\.endpoint)$"), ("collector:4318", "ftp://example.com")),
)

# Strings nothing downstream parses as a name, host, quantity or expression, with why.
FREE_TEXT = {
    r"[aA]nnotations\.\*$": "annotation values are arbitrary text",
    r"(apiKey\.value|auth\.apiKey|token\.value|credentials\.(accessKeyId|secretAccessKey))$": "secrets are opaque",
    r"tests\.prompt$": "a prompt",
    r"[eE]nv\[\]\.value$|models\[\]\.env\.\*$": "environment variable values are arbitrary text",
    r"[rR]elabelings\[\]\.(regex|replacement|separator)$": "Prometheus relabelling regexes and templates, checked by the CRD and Prometheus",
    r"\.(model|source|repo|defaultModel|id)$|backends\[\]\.model$|targets\[\]\.model$|hosts\[\]\.model$|aliases\[\]\.name$": "model ids are Hugging Face repository ids, paths or URIs, checked where the model is loaded",
    r"download\.(revision|include\[\])$": "a Git revision and file globs for the Hugging Face CLI",
    r"engine\.(quantization|servedModelName\[\]|extraArgs\[\])$": "engine arguments vLLM parses (extraArgs has its own guard against managed flags)",
    r"lora\.(modules\[\]\.(name|path)|dynamicLoraLoadingPath)$": "LoRA adapter names and locations, checked by vLLM",
    r"\.(subPath|subPathExpr)$": "sub-paths inside a volume (relative by definition)",
    r"metricName$|extraTriggers\[\]\.(type|name|metadata\.\*)$|\.query$|autoscalingQueries\.[\w*]+$": "metric names and PromQL queries for the user's own adapter or KEDA, checked there",
    r"[gG]puType$": "a GPU model name for sizing and node selection",
    r"parentRefs\[\]\.(group|kind|sectionName)$": "Gateway API references, checked by the CRD schema",
    r"rayStartParams\.\*$": "`ray start` flags, checked by the chart's own rules for the ones it manages",
    r"seccompProfile\.localhostProfile$|capabilities\.(add|drop)\[\]$": "checked by the API server's pod validation",
    r"s3\.region$|cost\.currency$|tracing\.serviceName$|gpu\.count$": "labels shown to people or passed through as text",
}


def type_of(path: str) -> list[ValueType]:
    """The value types whose paths match a schema path (a path can be a label map's value and key)."""
    return [t for t in VALUE_TYPES if t.paths.search(path)]


def free_text_reason(path: str) -> str | None:
    return next((reason for pattern, reason in FREE_TEXT.items() if re.search(pattern, path)), None)
