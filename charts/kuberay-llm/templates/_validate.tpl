{{/*
Cross-field checks the values schema cannot express. Every message starts with the
field it is about. All failures are reported together, one per line.
*/}}

{{/* Fail the render with every cross-field error found; included once, by rayservice.yaml. */}}
{{- define "kuberay-llm.validate" -}}
{{- $errors := list -}}
{{- $v := .Values -}}
{{- $fullname := include "kuberay-llm.fullname" . -}}
{{- $groups := (include "kuberay-llm.workerGroups" . | fromJson).groups -}}
{{- $ports := include "kuberay-llm.rayPorts" . | fromJson -}}

{{- /* Names */ -}}
{{- if not (regexMatch "^[a-z]([-a-z0-9]*[a-z0-9])?$" $fullname) -}}
{{- $errors = append $errors (printf "fullnameOverride: the RayService name %q must be a DNS-1035 label (lowercase letters, digits and '-', starting with a letter); set fullnameOverride or rename the release" $fullname) -}}
{{- end -}}
{{- if gt (len $fullname) 47 -}}
{{- $errors = append $errors (printf "fullnameOverride: the RayService name %q has %d characters; KubeRay allows 47 (shorten the release name or set fullnameOverride)" $fullname (len $fullname)) -}}
{{- end -}}

{{- /* Models */ -}}
{{- $engineFields := include "kuberay-llm.engineFields" . | fromJsonArray -}}
{{- $seen := dict -}}
{{- range $i, $m := $v.models -}}
{{- $at := printf "models[%d]" $i -}}
{{- if hasKey $seen (toString $m.id) -}}
{{- $errors = append $errors (printf "%s.id: %q is already the id of models[%d]; ids must be unique" $at $m.id (get $seen (toString $m.id))) -}}
{{- end -}}
{{- $_ := set $seen (toString $m.id) $i -}}
{{- $acc := $m.accelerator | default dict -}}
{{- $kind := $acc.kind | default "GPU" -}}
{{- $fraction := float64 (dig "gpuFraction" 1.0 $acc) -}}
{{- $tp := int (dig "engine" "tensorParallelSize" 1 $m) -}}
{{- $pp := int (dig "engine" "pipelineParallelSize" 1 $m) -}}
{{- if eq $kind "CPU" -}}
{{- if ne $fraction 1.0 -}}
{{- $errors = append $errors (printf "%s.accelerator.gpuFraction: only valid with accelerator.kind GPU (this model runs on CPU)" $at) -}}
{{- end -}}
{{- if $acc.gpuType -}}
{{- $errors = append $errors (printf "%s.accelerator.gpuType: only valid with accelerator.kind GPU (this model runs on CPU)" $at) -}}
{{- end -}}
{{- if eq $v.image.variant "gpu" -}}
{{- $errors = append $errors (printf "%s.accelerator.kind: CPU needs the CPU engine, image.variant cpu (the gpu image's vLLM cannot run on CPU)" $at) -}}
{{- end -}}
{{- else if eq $v.image.variant "cpu" -}}
{{- $errors = append $errors (printf "%s.accelerator.kind: GPU (the default) cannot run on image.variant cpu; set accelerator.kind: CPU" $at) -}}
{{- end -}}
{{- $scaling := $m.autoscaling | default dict -}}
{{- $minR := int (dig "minReplicas" 1 $scaling) -}}
{{- $maxR := int (dig "maxReplicas" 1 $scaling) -}}
{{- if gt $minR $maxR -}}
{{- $errors = append $errors (printf "%s.autoscaling.minReplicas (%d) must not exceed autoscaling.maxReplicas (%d)" $at $minR $maxR) -}}
{{- end -}}
{{- /* serve_app's ModelConfig checks the same at deploy time; here it fails at helm template. */ -}}
{{- $expected := float64 ($m.expectedStartupS | default 0) -}}
{{- $downscale := float64 (dig "downscaleDelayS" 600.0 $scaling) -}}
{{- if and (gt $expected 0.0) (lt $downscale $expected) -}}
{{- $errors = append $errors (printf "%s.autoscaling.downscaleDelayS (%v) is shorter than %s.expectedStartupS (%v): Serve could remove a replica sooner than one starts, and load that comes back within that time would wait for a cold start; raise it to at least %v" $at $downscale $at $expected $expected) -}}
{{- end -}}
{{- with $m.lock -}}
{{- $source := toString ($m.source | default $m.id) -}}
{{- if not (hasPrefix "/" $source) -}}
{{- $errors = append $errors (printf "%s.lock: the files must be on the worker before the engine starts to be verified; set source to the model's absolute path (got %q, which the engine would download itself)" $at $source) -}}
{{- end -}}
{{- $paths := list -}}
{{- range $j, $f := .files -}}
{{- $segments := splitList "/" (toString $f.path) -}}
{{- if or (hasPrefix "/" (toString $f.path)) (has ".." $segments) (has "." $segments) (has "" $segments) (contains "\\" (toString $f.path)) -}}
{{- $errors = append $errors (printf "%s.lock.files[%d].path %q must be a relative path inside the model directory, without '..', '.' or empty segments" $at $j $f.path) -}}
{{- else if has $f.path $paths -}}
{{- $errors = append $errors (printf "%s.lock.files[%d].path %q is listed twice" $at $j $f.path) -}}
{{- end -}}
{{- $paths = append $paths $f.path -}}
{{- end -}}
{{- end -}}
{{- if and (hasKey $scaling "initialReplicas") (not (kindIs "invalid" $scaling.initialReplicas)) -}}
{{- $init := int $scaling.initialReplicas -}}
{{- if or (lt $init $minR) (gt $init $maxR) -}}
{{- $errors = append $errors (printf "%s.autoscaling.initialReplicas (%d) must lie between minReplicas (%d) and maxReplicas (%d)" $at $init $minR $maxR) -}}
{{- end -}}
{{- end -}}
{{- range $key, $_ := (dig "engine" "extra" dict $m) -}}
{{- if has $key $engineFields -}}
{{- $errors = append $errors (printf "%s.engine.extra.%s: repeats a first-class engine field; set engine.%s instead" $at $key (camelcase $key | untitle)) -}}
{{- end -}}
{{- end -}}
{{- range $name, $_ := ($m.env | default dict) -}}
{{- if or (has $name (list "HF_TOKEN" "HUGGING_FACE_HUB_TOKEN" $v.auth.apiKeyEnv)) (regexMatch "(^|_)(TOKEN|SECRET|PASSWORD|API_KEY)$" $name) -}}
{{- $errors = append $errors (printf "%s.env.%s: looks like a secret, and env is written into serveConfigV2 in plain text; use huggingface.token, auth or extraEnv with a secretKeyRef" $at $name) -}}
{{- end -}}
{{- end -}}
{{- $source := toString ($m.source | default "") -}}
{{- $mount := trimSuffix "/" $v.modelCache.mountPath -}}
{{- if and (not $v.modelCache.enabled) (or (eq $source $mount) (hasPrefix (printf "%s/" $mount) $source)) -}}
{{- $errors = append $errors (printf "%s.source: %q lies under modelCache.mountPath %s, but modelCache.enabled is false" $at $source $mount) -}}
{{- end -}}
{{- if eq $kind "GPU" -}}
{{- $perHost := mulf $tp $fraction -}}
{{- $perReplica := mulf $tp $pp $fraction -}}
{{- $matching := list -}}
{{- $fits := false -}}
{{- range $groups -}}
{{- if and (gt (int .gpus) 0) (or (not $acc.gpuType) (eq (toString .gpuType) (toString $acc.gpuType))) -}}
{{- $matching = append $matching (printf "%s: %d GPUs x %d hosts" .groupName (int .gpus) (int .numOfHosts)) -}}
{{- if and (le $perHost (float64 .gpus)) (le $perReplica (mulf .gpus .numOfHosts)) -}}
{{- $fits = true -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if not $matching -}}
{{- if $acc.gpuType -}}
{{- $errors = append $errors (printf "%s.accelerator.gpuType: %q matches no workerGroups entry with gpus > 0 and that gpuType" $at $acc.gpuType) -}}
{{- else -}}
{{- $errors = append $errors (printf "%s.accelerator.kind: GPU, but no workerGroups entry has gpus > 0" $at) -}}
{{- end -}}
{{- else if not $fits -}}
{{- $errors = append $errors (printf "%s.engine: tensorParallelSize %d x pipelineParallelSize %d x gpuFraction %v = %v GPUs per replica fit no matching worker group (%s): one group replica offers gpus x numOfHosts GPUs, and the tensorParallelSize x gpuFraction GPUs of a pipeline stage must share one host (span hosts with pipelineParallelSize)" $at $tp $pp $fraction $perReplica (join ", " $matching)) -}}
{{- end -}}
{{- else -}}
{{- /* A CPU replica's LLMServer actor (1 Ray CPU) shares its placement group's first bundle (cpusPerWorker) on one Ray node; with no worker that large, the replica is never placed and the RayService never turns Ready. */ -}}
{{- $cpusPerWorker := float64 (dig "cpusPerWorker" 1.0 $acc) -}}
{{- $perNode := addf 1.0 $cpusPerWorker -}}
{{- $offers := list -}}
{{- $fits := false -}}
{{- range $groups -}}
{{- $cpus := include "kuberay-llm.rayCpus" . -}}
{{- if not $cpus -}}
{{- $fits = true -}}
{{- else -}}
{{- $offers = append $offers (printf "%s: %s" .groupName $cpus) -}}
{{- if le $perNode (float64 $cpus) -}}
{{- $fits = true -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and $groups (not $fits) -}}
{{- $errors = append $errors (printf "%s.accelerator.cpusPerWorker: a replica needs 1 Ray CPU for its LLMServer actor plus cpusPerWorker (%v) for the engine on one Ray worker, %v in all, but no worker group's workers have that many (%s; a worker's Ray CPUs are rayStartParams.num-cpus, else its CPU limit, else its request)" $at $cpusPerWorker $perNode (join ", " $offers)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /* GPU memory sizing (see _sizing.tpl) */ -}}
{{- range $i, $plan := include "kuberay-llm.sizingPlans" . | fromJson -}}
{{- $e := include "llmstack.sizing.estimate" $plan | fromJson -}}
{{- if and $plan.enforce $e.declared (not $e.memoryKnown) -}}
{{- $errors = append $errors (printf "models[%s].sizing.gpuMemoryGb: GPU memory unknown for accelerator.gpuType %q; set sizing.gpuMemoryGb (or sizing.enforce: false)" $i (toString ($plan.gpuType | default ""))) -}}
{{- else if $plan.enforce -}}
{{- with include "llmstack.sizing.misfit" $plan -}}
{{- $errors = append $errors (printf "models[%s].sizing: %s %s" $i $plan.id .) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /* Fractional GPUs (serve_app.memory.overcommit_message): the replicas Ray may pack onto one GPU must leave it headroom */ -}}
{{- $shares := list -}}
{{- range $i, $m := $v.models -}}
{{- $acc := $m.accelerator | default dict -}}
{{- $f := float64 (dig "gpuFraction" 1.0 $acc) -}}
{{- if and (ne ($acc.kind | default "GPU") "CPU") (lt $f 1.0) -}}
{{- $tp := int (dig "engine" "tensorParallelSize" 1 $m) -}}
{{- $pp := int (dig "engine" "pipelineParallelSize" 1 $m) -}}
{{- if gt (mul $tp $pp) 1 -}}
{{- $errors = append $errors (printf "models[%d].accelerator.gpuFraction: %v < 1 needs tensorParallelSize x pipelineParallelSize = 1 (got %d x %d): Ray may place every fractional bundle of a replica on the same GPU" $i $f $tp $pp) -}}
{{- end -}}
{{- $shares = append $shares (dict "index" $i "id" (toString $m.id) "gpuType" (toString ($acc.gpuType | default "")) "fraction" $f "util" (float64 (dig "engine" "gpuMemoryUtilization" 0.9 $m)) "maxReplicas" (int (dig "autoscaling" "maxReplicas" 1 $m))) -}}
{{- end -}}
{{- end -}}
{{- range $s := $shares -}}
{{- $candidates := list $s -}}
{{- range $o := $shares -}}
{{- if and (ne $o.id $s.id) (or (not $o.gpuType) (not $s.gpuType) (eq $o.gpuType $s.gpuType)) -}}
{{- $candidates = append $candidates $o -}}
{{- end -}}
{{- end -}}
{{- $total := 0.0 -}}
{{- $used := 0.0 -}}
{{- $counts := dict -}}
{{- $order := list -}}
{{- range $c := $candidates -}}
{{- range until (int $c.maxReplicas) -}}
{{- if le (addf $total $c.fraction) 1.000000001 -}}
{{- $total = addf $total $c.fraction -}}
{{- $used = addf $used $c.util -}}
{{- if not (hasKey $counts $c.id) -}}
{{- $order = append $order $c.id -}}
{{- end -}}
{{- $_ := set $counts $c.id (add1 (get $counts $c.id | default 0)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if gt $used 0.900000001 -}}
{{- $tenants := list -}}
{{- range $id := $order -}}
{{- $tenants = append $tenants (printf "%d x %s" (int (get $counts $id)) $id) -}}
{{- end -}}
{{- $errors = append $errors (printf "models[%d].engine.gpuMemoryUtilization: %s: one GPU can hold %s (gpuFraction %.2f in all), whose gpuMemoryUtilization sums to %.2f > 0.90; keep each model's gpuMemoryUtilization at most 0.90 x its gpuFraction" (int $s.index) $s.id (join " + " $tenants) $total $used) -}}
{{- end -}}
{{- end -}}

{{- /* Aliases (serve_app.config.AliasConfig) */ -}}
{{- $aliasNames := list -}}
{{- range $i, $alias := $v.aliases -}}
{{- $at := printf "aliases[%d]" $i -}}
{{- if or (hasKey $seen (toString $alias.name)) (has $alias.name $aliasNames) -}}
{{- $errors = append $errors (printf "%s.name: %q is already a model id or an earlier alias" $at $alias.name) -}}
{{- end -}}
{{- $aliasNames = append $aliasNames $alias.name -}}
{{- $total := 0 -}}
{{- $targets := list -}}
{{- range $j, $t := $alias.targets -}}
{{- if not (hasKey $seen (toString $t.model)) -}}
{{- $errors = append $errors (printf "%s.targets[%d].model: %q is not the id of a model (%s)" $at $j $t.model (join ", " (keys $seen | sortAlpha))) -}}
{{- end -}}
{{- if has $t.model $targets -}}
{{- $errors = append $errors (printf "%s.targets[%d].model: %q is listed twice" $at $j $t.model) -}}
{{- end -}}
{{- $targets = append $targets $t.model -}}
{{- $total = add $total (int $t.weight) -}}
{{- end -}}
{{- if eq $total 0 -}}
{{- $errors = append $errors (printf "%s.targets: the weights sum to 0; give at least one target a weight" $at) -}}
{{- end -}}
{{- end -}}

{{- /* Prefill/decode disaggregation (serve_app.config.PrefillDecodeConfig) */ -}}
{{- if kindIs "map" $v.prefillDecode -}}
{{- if ne (len $v.models) 1 -}}
{{- $errors = append $errors (printf "prefillDecode: serves exactly one model; models has %d" (len $v.models)) -}}
{{- end -}}
{{- if or (eq $v.image.variant "cpu") (eq (dig "accelerator" "kind" "GPU" (first $v.models)) "CPU") -}}
{{- $errors = append $errors "prefillDecode: runs only on GPUs (its KV connectors need CUDA); use image.variant gpu and a GPU model" -}}
{{- end -}}
{{- if $v.aliases -}}
{{- $errors = append $errors "prefillDecode: aliases are not supported (Ray's P/D ingress serves the model by its id)" -}}
{{- end -}}
{{- if $v.auth.enabled -}}
{{- $errors = append $errors "prefillDecode: auth.enabled is not supported (Ray's P/D ingress does not run serve_app's auth); protect the endpoint at the gateway" -}}
{{- end -}}
{{- $m := first $v.models -}}
{{- $acc := $m.accelerator | default dict -}}
{{- $fraction := float64 (dig "gpuFraction" 1.0 $acc) -}}
{{- $pp := int (dig "engine" "pipelineParallelSize" 1 $m) -}}
{{- range $side := list "prefill" "decode" -}}
{{- $role := get $.Values.prefillDecode $side | default dict -}}
{{- $tp := int ($role.tensorParallelSize | default (dig "engine" "tensorParallelSize" 1 $m)) -}}
{{- $fits := false -}}
{{- range $groups -}}
{{- if and (gt (int .gpus) 0) (or (not $acc.gpuType) (eq (toString .gpuType) (toString $acc.gpuType))) (le (mulf $tp $fraction) (float64 .gpus)) (le (mulf $tp $pp $fraction) (mulf .gpus .numOfHosts)) -}}
{{- $fits = true -}}
{{- end -}}
{{- end -}}
{{- if not $fits -}}
{{- $errors = append $errors (printf "prefillDecode.%s.tensorParallelSize: %d x pipelineParallelSize %d GPUs per replica fit no matching worker group" $side $tp $pp) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /* Worker groups */ -}}
{{- if not $groups -}}
{{- $errors = append $errors "workerGroups: at least one worker group is needed (the head runs no Serve replicas)" -}}
{{- end -}}
{{- $groupNames := dict -}}
{{- range $i, $g := $groups -}}
{{- $at := printf "workerGroups[%d]" $i -}}
{{- if hasKey $groupNames $g.groupName -}}
{{- $errors = append $errors (printf "%s.groupName: %q is already the name of workerGroups[%d]" $at $g.groupName (get $groupNames $g.groupName)) -}}
{{- end -}}
{{- $_ := set $groupNames $g.groupName $i -}}
{{- if gt (int $g.minReplicas) (int $g.maxReplicas) -}}
{{- $errors = append $errors (printf "%s.minReplicas (%d) must not exceed maxReplicas (%d)" $at (int $g.minReplicas) (int $g.maxReplicas)) -}}
{{- else if or (lt (int $g.replicas) (int $g.minReplicas)) (gt (int $g.replicas) (int $g.maxReplicas)) -}}
{{- $errors = append $errors (printf "%s.replicas (%d) must lie between minReplicas (%d) and maxReplicas (%d)" $at (int $g.replicas) (int $g.minReplicas) (int $g.maxReplicas)) -}}
{{- end -}}
{{- if and (gt (int $g.gpus) 0) (eq $v.image.variant "cpu") -}}
{{- $errors = append $errors (printf "%s.gpus: %d GPUs requested, but image.variant is cpu" $at (int $g.gpus)) -}}
{{- end -}}
{{- if or (hasKey (dig "limits" dict ($g.resources | default dict)) "nvidia.com/gpu") (hasKey (dig "requests" dict ($g.resources | default dict)) "nvidia.com/gpu") -}}
{{- $errors = append $errors (printf "%s.resources: set GPUs with workerGroups[%d].gpus, not nvidia.com/gpu in resources" $at $i) -}}
{{- end -}}
{{- range $key, $_ := $g.rayStartParams -}}
{{- if or (hasKey $ports $key) (has $key (list "num-gpus" "labels")) -}}
{{- $errors = append $errors (printf "%s.rayStartParams.%s: managed by the chart (GPUs come from gpus, ports are pinned for the NetworkPolicy, labels are not allowed by KubeRay)" $at $key) -}}
{{- end -}}
{{- end -}}
{{- if and (not (kindIs "invalid" $g.idleTimeoutSeconds)) (or (not $v.autoscaler.enabled) (ne $v.autoscaler.version "v2")) -}}
{{- $errors = append $errors (printf "%s.idleTimeoutSeconds: needs autoscaler.enabled with autoscaler.version v2" $at) -}}
{{- end -}}
{{- if $g.spot -}}
{{- if not $v.spot.nodeSelector -}}
{{- $errors = append $errors (printf "spot.nodeSelector: %s.spot is true, but spot.nodeSelector is empty (it steers the group onto spot nodes and keeps the head off them)" $at) -}}
{{- end -}}
{{- $drain := include "kuberay-llm.spotDrainSeconds" $ | int -}}
{{- if lt (int $g.terminationGracePeriodSeconds) $drain -}}
{{- $errors = append $errors (printf "%s.terminationGracePeriodSeconds: %d is shorter than spot.preStopSleepSeconds + the largest models[].gracefulShutdownTimeoutS = %d; in-flight requests would be cut off" $at (int $g.terminationGracePeriodSeconds) $drain) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $capacity := include "kuberay-llm.capacity" . | fromJson -}}
{{- if gt $capacity.gpuDemand $capacity.gpuSupply -}}
{{- $errors = append $errors (printf "models[].autoscaling.maxReplicas: the GPU models need up to %v GPUs (maxReplicas x tensorParallelSize x pipelineParallelSize x gpuFraction; with prefillDecode, of its prefill and decode sides), but workerGroups offer %v (%s x gpus x numOfHosts)" $capacity.gpuDemand $capacity.gpuSupply (ternary "maxReplicas" "replicas" $v.autoscaler.enabled)) -}}
{{- end -}}

{{- /* Head */ -}}
{{- if include "kuberay-llm.spotGroupNames" . | fromJsonArray -}}
{{- range $key, $value := $v.spot.nodeSelector -}}
{{- if eq (toString (get ($v.head.nodeSelector | default dict) $key)) (toString $value) -}}
{{- $errors = append $errors (printf "head.nodeSelector.%s: selects spot nodes (spot.nodeSelector); the head must run on on-demand nodes" $key) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $headRes := $v.head.resources | default dict -}}
{{- if or (hasKey (dig "limits" dict $headRes) "nvidia.com/gpu") (hasKey (dig "requests" dict $headRes) "nvidia.com/gpu") -}}
{{- $errors = append $errors "head.resources: the head is CPU-only; request GPUs in workerGroups[].gpus" -}}
{{- end -}}
{{- range $key, $_ := $v.head.rayStartParams -}}
{{- if or (hasKey $ports $key) (has $key (list "num-gpus" "num-cpus" "labels")) -}}
{{- $errors = append $errors (printf "head.rayStartParams.%s: managed by the chart (num-cpus is head.numCpus, the head has no GPUs, ports are pinned for the NetworkPolicy, labels are not allowed by KubeRay)" $key) -}}
{{- end -}}
{{- end -}}

{{- /* Upgrades */ -}}
{{- $upgrade := $v.rayService.upgradeStrategy -}}
{{- if eq $upgrade.type "NewClusterWithIncrementalUpgrade" -}}
{{- if not $upgrade.clusterUpgradeOptions.gatewayClassName -}}
{{- $errors = append $errors "rayService.upgradeStrategy.clusterUpgradeOptions.gatewayClassName: required with upgradeStrategy.type NewClusterWithIncrementalUpgrade (KubeRay shifts traffic through a Gateway of that class)" -}}
{{- end -}}
{{- if not $v.autoscaler.enabled -}}
{{- $errors = append $errors "autoscaler.enabled: KubeRay requires the Ray autoscaler for upgradeStrategy.type NewClusterWithIncrementalUpgrade" -}}
{{- end -}}
{{- end -}}

{{- /* Secrets */ -}}
{{- if $v.auth.enabled -}}
{{- if and $v.auth.existingSecret $v.auth.apiKey -}}
{{- $errors = append $errors "auth.apiKey: set either auth.existingSecret or auth.apiKey, not both" -}}
{{- else if not (or $v.auth.existingSecret $v.auth.apiKey) -}}
{{- $errors = append $errors "auth.existingSecret: auth.enabled needs the key, from auth.existingSecret (preferred) or auth.apiKey" -}}
{{- end -}}
{{- end -}}
{{- if and $v.huggingface.token.existingSecret $v.huggingface.token.value -}}
{{- $errors = append $errors "huggingface.token.value: set either huggingface.token.existingSecret or huggingface.token.value, not both" -}}
{{- end -}}

{{- /* Tracing */ -}}
{{- if and $v.tracing.enabled (not $v.tracing.otlpEndpoint) -}}
{{- $errors = append $errors "tracing.otlpEndpoint: tracing.enabled needs the collector's OTLP/HTTP traces URL" -}}
{{- end -}}
{{- if and $v.tracing.engineSpans (not $v.tracing.enabled) -}}
{{- $errors = append $errors "tracing.engineSpans: needs tracing.enabled" -}}
{{- end -}}
{{- if and $v.tracing.enabled (kindIs "map" $v.prefillDecode) -}}
{{- $errors = append $errors "tracing.enabled: not supported with prefillDecode (Ray's P/D ingress does not run serve_app's middleware)" -}}
{{- end -}}

{{- /* Monitoring */ -}}
{{- with include "kuberay-llm.scrapeTimeoutError" (dict "at" "podMonitor" "m" $v.podMonitor) -}}
{{- $errors = append $errors . -}}
{{- end -}}

{{- /* Exposure */ -}}
{{- if and $v.ingress.enabled (not $v.ingress.hosts) -}}
{{- $errors = append $errors "ingress.hosts: ingress.enabled needs at least one host" -}}
{{- end -}}
{{- if and $v.httpRoute.enabled (not $v.httpRoute.parentRefs) -}}
{{- $errors = append $errors "httpRoute.parentRefs: httpRoute.enabled needs at least one Gateway to attach to" -}}
{{- end -}}

{{- if $errors -}}
{{- fail (printf "\n%s" (join "\n" $errors)) -}}
{{- end -}}
{{- end -}}
