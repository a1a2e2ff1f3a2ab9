#!/usr/bin/env bash
# The checks that need a GPU, in one go: the CUDA tests (they skip on machines without
# one), then the epoch-throughput benchmark on the GPU (a full epoch per path, 10 seeds
# batched, and the paper's whole grid in GPU-hours at the measured rates).
#
#     bash benchmarks/gpu_checks.sh            # from the repository root, CIFAR-10 in $PRUNESTAB_DATA
#
# Exits non-zero if a test fails or is skipped (a skip here means no usable GPU).
set -uo pipefail
nvidia-smi -L
python3 -c "import torch; print('torch', torch.__version__, '| CUDA', torch.version.cuda, '|', torch.cuda.get_device_name())"
log=$(mktemp -t gpu_tests.XXXXXX.log)
trap 'rm -f "$log"' EXIT
python3 -m pytest -q -rs -p no:cacheprovider \
    tests/test_data.py tests/test_fast_path.py tests/test_runner.py tests/test_batched.py \
    -k "cuda or gpu" 2>&1 | tee "$log"
tests=${PIPESTATUS[0]}
if grep -q "skipped" "$log"; then tests=1; fi
python3 benchmarks/epoch_throughput.py --device cuda
bench=$?
echo "gpu_checks: tests exit ${tests}, benchmark exit ${bench}"
[ "$tests" -eq 0 ] && [ "$bench" -eq 0 ]
