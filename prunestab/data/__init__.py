"""CIFAR-10 for training, one job per module: ``files`` (the files on disk: where they are
looked for, downloaded, checked and read), ``cifar10`` (the dataset held whole on the
training device, split and subset as a run's config says: ``load_cifar10``) and
``batches`` (shuffled, augmented and normalised batches, made on the device)."""
