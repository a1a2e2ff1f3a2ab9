"""Time evaluation with and without BatchNorm folding, in one process, and print ratios.

Evaluation is most of a budget-profile run (``book/budget.md``): 2,000 test images after
every epoch and before every pruning epoch, all 10,000 on the last 80 epochs. This times
``prunestab.training.evaluation.evaluate_seeds`` over the same images two ways, interleaved so both
see the same machine load: the model as trained (eval-mode BatchNorm), and
``prunestab.training.folding.FoldedEval`` (each BatchNorm folded into its convolution, refreshed
before each evaluation as training does). Each way is timed ``--repeats`` times and its
fastest pass reported (slower passes measure interference, not the code). It also
reports how many of the images' predictions the two ways disagree on, and how many
convolution -> BatchNorm pairs were folded (Conv4 has none: training never folds it).

    python benchmarks/eval_throughput.py                      # VGG11 and ResNet18 at width 0.25
    python benchmarks/eval_throughput.py --device cuda --width 1
"""

from __future__ import annotations

import argparse
import time

import torch

from prunestab.config import MODELS
from prunestab.models import build
from prunestab.training.evaluation import evaluate_seeds
from prunestab.training.execution import model_input
from prunestab.training.folding import FoldedEval
from prunestab.training.model_sets import SingleModel


def _trained(name: str, width: float, device: str, memory_format) -> torch.nn.Module:
    """A model with non-trivial BatchNorm statistics (a few training steps)."""
    torch.manual_seed(0)
    model = build(name, width=width).to(device=device, memory_format=memory_format)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(3):
        x = torch.randn(64, 3, 32, 32, device=device).to(memory_format=memory_format)
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(
            model(x), torch.randint(0, 10, (64,), device=device)
        )
        loss.backward()
        optimizer.step()
    return model.eval()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--models", default="vgg11,resnet18", help="comma-separated")
    parser.add_argument("--width", type=float, default=0.25, help="default: the budget width")
    parser.add_argument("--images", type=int, default=2000, help="images per pass")
    parser.add_argument("--repeats", type=int, default=5, help="passes per way (fastest kept)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (a run's: 1)")
    args = parser.parse_args(argv)
    if args.images < 1 or args.repeats < 1:
        parser.error(f"--images {args.images} --repeats {args.repeats}; allowed: positive")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    bad = [m for m in models if m not in MODELS]
    if bad or not models:
        parser.error(f"--models {args.models!r}; allowed: {', '.join(MODELS)}")
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    memory_format = torch.channels_last
    images = torch.randint(0, 256, (args.images, 3, 32, 32), dtype=torch.uint8, device=device)
    labels = torch.randint(0, 10, (args.images,), device=device)
    print(
        f"{args.images} images per pass, best of {args.repeats}, {args.threads} thread(s), {device}"
    )
    print(
        f"{'model':<10}{'pairs':>6}{'plain img/s':>13}{'folded img/s':>14}{'ratio':>8}"
        f"{'disagree':>10}"
    )
    for name in models:
        model = _trained(name, args.width, args.device, memory_format)
        folded = FoldedEval(model)
        models = SingleModel(model)
        ways = {"plain": lambda model=model: model, "folded": folded.refresh}
        best = dict.fromkeys(ways, 0.0)
        for _ in range(args.repeats):
            for way, forward in ways.items():
                if device.type == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
                evaluate_seeds(models, forward(), images, labels, "fp32", memory_format)[0]
                if device.type == "cuda":
                    torch.cuda.synchronize()
                best[way] = max(best[way], args.images / (time.perf_counter() - start))
        with torch.inference_mode():
            x = model_input(models.eval_input(images[:500]), torch.float32, memory_format)
            disagree = int((model(x).argmax(1) != folded.refresh()(x).argmax(1)).sum())
        print(
            f"{name:<10}{folded.pairs:>6}{best['plain']:>13,.0f}{best['folded']:>14,.0f}"
            f"{best['folded'] / best['plain']:>7.2f}x{disagree:>6} of {min(500, args.images)}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
