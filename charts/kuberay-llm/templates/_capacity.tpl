{{/*
Ray capacity at full scale, as JSON: what the models' replicas ask of Ray when every
model runs at its maxReplicas, and what the worker groups offer at theirs (their fixed
replicas when the autoscaler is off).
  gpuDemand / gpuSupply / gpuLargest: GPUs (maxReplicas x TP x PP x gpuFraction; with
    prefillDecode, of its prefill and decode sides) / gpus x numOfHosts / one replica;
  cpuKnown: every worker group's Ray CPUs are known (kuberay-llm.rayCpus) and there is
    no prefillDecode block (its sides place their own CPUs);
  cpuDemand / cpuSupply / cpuLargest: Ray CPUs (1 for a replica's LLMServer actor plus
    cpusPerWorker per engine worker) / Ray CPUs x numOfHosts / one replica.
_validate.tpl fails on GPU demand above supply; NOTES.txt warns when a rolling update
of the models has no room for its first replacement replica (kuberay-llm.surgeRoom).
*/}}
{{- define "kuberay-llm.capacity" -}}
{{- $v := .Values -}}
{{- $groups := (include "kuberay-llm.workerGroups" . | fromJson).groups -}}
{{- $c := dict "gpuDemand" 0.0 "gpuSupply" 0.0 "gpuLargest" 0.0 "cpuDemand" 0.0 "cpuSupply" 0.0 "cpuLargest" 0.0 "cpuKnown" (not (kindIs "map" $v.prefillDecode)) -}}
{{- range $m := $v.models -}}
{{- $acc := $m.accelerator | default dict -}}
{{- $devices := mul (int (dig "engine" "tensorParallelSize" 1 $m)) (int (dig "engine" "pipelineParallelSize" 1 $m)) -}}
{{- $maxR := int (dig "autoscaling" "maxReplicas" 1 $m) -}}
{{- $cpus := addf 1.0 (mulf (dig "cpusPerWorker" 1.0 $acc) $devices) -}}
{{- $_ := set $c "cpuDemand" (addf $c.cpuDemand (mulf $cpus $maxR)) -}}
{{- $_ := set $c "cpuLargest" (maxf $c.cpuLargest $cpus) -}}
{{- if ne ($acc.kind | default "GPU") "CPU" -}}
{{- $gpus := mulf $devices (dig "gpuFraction" 1.0 $acc) -}}
{{- $_ := set $c "gpuDemand" (addf $c.gpuDemand (mulf $gpus $maxR)) -}}
{{- $_ := set $c "gpuLargest" (maxf $c.gpuLargest $gpus) -}}
{{- end -}}
{{- end -}}
{{- if kindIs "map" $v.prefillDecode -}}
{{- /* The sides replace the model's own replicas in the GPU demand. */ -}}
{{- $m := first $v.models -}}
{{- $perDevice := mulf (dig "accelerator" "gpuFraction" 1.0 $m) (int (dig "engine" "pipelineParallelSize" 1 $m)) -}}
{{- $_ := set $c "gpuDemand" 0.0 -}}
{{- $_ := set $c "gpuLargest" 0.0 -}}
{{- range $side := list "prefill" "decode" -}}
{{- $role := get $v.prefillDecode $side | default dict -}}
{{- $gpus := mulf (int ($role.tensorParallelSize | default (dig "engine" "tensorParallelSize" 1 $m))) $perDevice -}}
{{- $_ := set $c "gpuDemand" (addf $c.gpuDemand (mulf $gpus (int (dig "autoscaling" "maxReplicas" 1 $role)))) -}}
{{- $_ := set $c "gpuLargest" (maxf $c.gpuLargest $gpus) -}}
{{- end -}}
{{- end -}}
{{- range $g := $groups -}}
{{- $replicas := ternary $g.maxReplicas $g.replicas $v.autoscaler.enabled | int -}}
{{- $_ := set $c "gpuSupply" (addf $c.gpuSupply (mulf $replicas $g.gpus $g.numOfHosts)) -}}
{{- $cpus := include "kuberay-llm.rayCpus" $g -}}
{{- if $cpus -}}
{{- $_ := set $c "cpuSupply" (addf $c.cpuSupply (mulf $replicas $cpus $g.numOfHosts)) -}}
{{- else -}}
{{- $_ := set $c "cpuKnown" false -}}
{{- end -}}
{{- end -}}
{{- toJson $c -}}
{{- end -}}

{{/*
A warning when an in-place update of the models (a serveConfigV2 change) has no room at
full scale: Ray Serve starts each replacement replica before it stops an old one, so
the worker groups need one replica's GPUs and Ray CPUs beyond the models' maxReplicas.
Without that room the update waits, old replicas serving, until load scales the
models down. Empty when there is room.
*/}}
{{- define "kuberay-llm.surgeRoom" -}}
{{- $c := include "kuberay-llm.capacity" . | fromJson -}}
{{- $short := list -}}
{{- if and (gt $c.gpuLargest 0.0) (lt (subf $c.gpuSupply $c.gpuDemand) $c.gpuLargest) -}}
{{- $short = append $short (printf "%v GPUs (the models take up to %v of the %v the worker groups offer)" $c.gpuLargest $c.gpuDemand $c.gpuSupply) -}}
{{- end -}}
{{- if and $c.cpuKnown (lt (subf $c.cpuSupply $c.cpuDemand) $c.cpuLargest) -}}
{{- $short = append $short (printf "%v Ray CPUs (the models take up to %v of the %v the worker groups offer)" $c.cpuLargest $c.cpuDemand $c.cpuSupply) -}}
{{- end -}}
{{- if $short -}}
{{- printf "no room for a model-setting upgrade at full scale. Ray Serve starts each new replica before it stops an old one, but with the models at their maxReplicas the worker groups have no room for one more replica: it needs %s. Such an upgrade waits, the old replicas serving, until the models scale down (for ever at their minReplicas). Raise workerGroups[].maxReplicas (with the autoscaler on) or lower models[].autoscaling.maxReplicas." (join " and " $short) -}}
{{- end -}}
{{- end -}}
