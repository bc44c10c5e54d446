"""Training side of digitgen: the seed DCGAN on MNIST (needs the `train` extra: TensorFlow)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's start-up chatter off the console
