{{/*
GPU memory sizing, the same computation as serve_app/memory.py (read its docstring for
the model and the constants). This file is identical in the kuberay-llm and
vllm-standalone charts (a render test compares them and runs both against the Python
code); edit both copies together.

A plan is a dict: parametersB, weightsGb, gpuType, gpuMemoryGb, numLayers, hiddenSize,
numAttentionHeads, numKvHeads, dtype, quantization, tp, pp, util, maxModelLen (unset
numbers: null or 0).
*/}}

{{/* Memory per device of the Ray accelerator types, GB, as JSON (serve_app.memory.GPU_MEMORY_GB). */}}
{{- define "llmstack.sizing.gpuMemory" -}}
{"T4": 16, "V100": 16, "L4": 24, "A10G": 24, "L40S": 48, "A100": 40, "A100-40G": 40, "A100-80G": 80, "H100": 80, "H200": 141, "B200": 180, "AMD-Instinct-MI300X-OAM": 192}
{{- end -}}

{{/* The sizing estimate of a plan as JSON: {declared, memoryKnown} and, when both, the numbers of serve_app.memory.Estimate. */}}
{{- define "llmstack.sizing.estimate" -}}
{{- $p := . -}}
{{- $params := float64 ($p.parametersB | default 0) -}}
{{- $weights := float64 ($p.weightsGb | default 0) -}}
{{- $memory := float64 ($p.gpuMemoryGb | default 0) -}}
{{- $table := include "llmstack.sizing.gpuMemory" . | fromJson -}}
{{- if and (not $memory) (hasKey $table (toString ($p.gpuType | default ""))) -}}
{{- $memory = float64 (get $table (toString $p.gpuType)) -}}
{{- end -}}
{{- $out := dict "declared" (or (gt $params 0.0) (gt $weights 0.0)) "memoryKnown" (gt $memory 0.0) -}}
{{- if and $out.declared $out.memoryKnown -}}
{{- $dtype := toString ($p.dtype | default "auto") -}}
{{- $kvBytes := ternary 4.0 2.0 (eq $dtype "float32") -}}
{{- $bpp := $kvBytes -}}
{{- $quantized := dict "fp8" 1.0 "fbgemm_fp8" 1.0 "awq" 0.5 "awq_marlin" 0.5 "gptq" 0.5 "gptq_marlin" 0.5 "bitsandbytes" 0.5 -}}
{{- if hasKey $quantized (toString ($p.quantization | default "")) -}}
{{- $bpp = get $quantized (toString $p.quantization) -}}
{{- end -}}
{{- $gpus := mul (int ($p.tp | default 1)) (int ($p.pp | default 1)) -}}
{{- if not $weights -}}
{{- $weights = mulf $params $bpp -}}
{{- end -}}
{{- if not $params -}}
{{- $params = divf $weights $bpp -}}
{{- end -}}
{{- $perGpu := divf $weights $gpus -}}
{{- $budget := mulf $memory (float64 ($p.util | default 0.9)) -}}
{{- $free := subf $budget $perGpu 1.0 -}}
{{- $cache := ternary (mulf $free $gpus) 0.0 (gt $free 0.0) -}}
{{- $kvpt := 0.0 -}}
{{- $estimated := true -}}
{{- if and $p.numLayers $p.hiddenSize $p.numAttentionHeads -}}
{{- $heads := float64 $p.numAttentionHeads -}}
{{- $kvHeads := float64 ($p.numKvHeads | default $p.numAttentionHeads) -}}
{{- $kvpt = mulf 2 (float64 $p.numLayers) $kvHeads (divf (float64 $p.hiddenSize) $heads) $kvBytes -}}
{{- $estimated = false -}}
{{- else -}}
{{- $kvpt = divf (mulf $params 81920 $kvBytes) 2 -}}
{{- end -}}
{{- $mml := int ($p.maxModelLen | default 0) -}}
{{- $sequence := divf (mulf $mml $kvpt) 1e9 -}}
{{- $_ := set $out "gpus" $gpus -}}
{{- $_ := set $out "bytes_per_parameter" $bpp -}}
{{- $_ := set $out "parameters_b" $params -}}
{{- $_ := set $out "weights_gb" $weights -}}
{{- $_ := set $out "weights_per_gpu_gb" $perGpu -}}
{{- $_ := set $out "gpu_memory_gb" $memory -}}
{{- $_ := set $out "budget_per_gpu_gb" $budget -}}
{{- $_ := set $out "kv_free_per_gpu_gb" $free -}}
{{- $_ := set $out "kv_cache_gb" $cache -}}
{{- $_ := set $out "kv_bytes_per_token" $kvpt -}}
{{- $_ := set $out "kv_estimated" $estimated -}}
{{- $_ := set $out "max_model_len" $mml -}}
{{- $_ := set $out "sequence_gb" $sequence -}}
{{- $_ := set $out "kv_tokens" (int64 (floor (divf (mulf $cache 1e9) $kvpt))) -}}
{{- $_ := set $out "max_sequences" (ternary (int64 (floor (divf $cache (ternary $sequence 1.0 (gt $mml 0))))) nil (gt $mml 0)) -}}
{{- $_ := set $out "fits" (and (gt $free 0.0) (ge $cache $sequence)) -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* Why a declared plan does not fit, with its numbers and the smallest tensor parallel size that would (serve_app.memory.misfit_message); empty when it fits. */}}
{{- define "llmstack.sizing.misfit" -}}
{{- $e := include "llmstack.sizing.estimate" . | fromJson -}}
{{- if and $e.declared $e.memoryKnown (not $e.fits) -}}
{{- $tp := 0 -}}
{{- range $candidate := list 1 2 4 8 16 32 64 -}}
{{- if not $tp -}}
{{- $try := include "llmstack.sizing.estimate" (merge (dict "tp" $candidate) (omit $ "tp")) | fromJson -}}
{{- if $try.fits -}}
{{- $tp = $candidate -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $hint := ternary (printf "smallest tensorParallelSize that fits: %d" $tp) "no tensorParallelSize up to 64 fits (quantize, shorten maxModelLen or use larger GPUs)" (gt $tp 0) -}}
{{- printf "does not fit: weights %.1f GB / %d GPU(s) = %.1f GB per GPU; %s GPU %.1f GB x gpuMemoryUtilization %.2f = %.1f GB, minus 1.0 GB reserve leaves %.1f GB per GPU for the KV cache; one %d-token sequence needs %.2f GB (%.0f bytes/token, %s); %s; or set sizing.enforce: false"
  $e.weights_gb (int $e.gpus) $e.weights_per_gpu_gb (.gpuType | default "declared") $e.gpu_memory_gb (float64 (.util | default 0.9)) $e.budget_per_gpu_gb $e.kv_free_per_gpu_gb (int $e.max_model_len) $e.sequence_gb $e.kv_bytes_per_token (ternary "estimated" "declared architecture" $e.kv_estimated) $hint -}}
{{- end -}}
{{- end -}}
