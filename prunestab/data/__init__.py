"""CIFAR-10 for training: the files on disk, the dataset on the device, and its batches."""
