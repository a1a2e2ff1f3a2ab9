"""Training one run with iterative pruning, and the measurements the paper makes of it.

One job per module:

* ``loop``: :func:`~prunestab.training.loop.train_run` (one seed) and ``train_group``
  (the seeds of one configuration in lockstep), the paper's steps by name;
* ``parts``: the loop's state in six parts (each seed's interventions, the optimization,
  the history of records, how the module computes, the measurements, the checkpoints);
* ``model_sets``: what the loop trains (one model, or ``batched.SeedGroup``);
* ``batched``: several seeds of one configuration trained side by side as one model;
* ``evaluation``: eval-mode accuracy and loss of every seed, read once per pass;
* ``execution``: layout, precision and compilation (speed, not results);
* ``folding``: evaluation with each BatchNorm folded into its convolution (speed only);
* ``seeding``: every random choice derived from the run's seed;
* ``preempt``: a stop request, answered at the end of an epoch with a checkpoint;
* ``probe``: what a chapter reads from a trained model's weights, stored beside the run.

The fast path (how, not what: ``execution.Execution`` is not part of the config or its
hash):

* the whole dataset stays on the device as uint8; shuffling, augmentation and
  normalisation run there (``prunestab.data.batches``);
* losses and accuracies are summed on the device and read once per epoch, and each
  evaluation pass is read once: nothing inside an epoch waits for the host;
* channels_last activations where convolutions are faster in that layout (cuDNN always;
  oneDNN on CPUs for the VGG and ResNet convolutions), bf16 autocast where the config's
  ``precision`` resolves to it (``"auto"``: CUDA devices with bf16 support), a fused
  Adam on GPUs, and optionally ``torch.compile``;
* masks are buffers changed in place outside the forward pass, and gradients are masked
  between ``backward`` and ``step``, so pruning never changes what a compiled graph
  guards on (no recompiles).
"""
