"""Training side of digitgen: the GANs on MNIST. Runs from a checkout; needs the `train` extra
(Keras on TensorFlow) or, for Keras's JAX backend (KERAS_BACKEND=jax), the `jax` extra.

Importing it does nothing: each command checks its extras when it starts (train.extras).
"""
