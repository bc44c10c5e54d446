"""Every threshold a model is judged by, and the one rule that judges a figure against one: the
quality gates of train.evaluation, the parity gates of export.parity, and what train's quality
plots draw. Numbers only, no Keras, so any side can read them."""

# Quality of the samples (train.evaluation), calibrated at MIN_JUDGED_SAMPLES samples
FID_FLOOR_FACTOR = 2.5  # FID at most this many times the real data's own (the floor)
MIN_INCEPTION_SCORE = 9.5
DIGIT_SHARE_RANGE = (0.09, 0.11)  # each digit's share of the samples
MIN_LABEL_ACCURACY = 0.99  # a conditional generator: the asked digit is the one read back
# FID is biased upward at small n, the real floor's more than a generator's, so their ratio means
# nothing elsewhere: measured on the shipped model, FID / floor was 1.57 at n = 500, 2.87 at
# 2,000, 3.82 at 5,000 and 5.14 at 10,000.
MIN_JUDGED_SAMPLES = 10_000

# A converted model against its float original
INT8_FID_TOLERANCE = 0.10  # FID within 10% of the float model's
MIN_LABEL_AGREEMENT = 0.99  # a digit classifier names the converted and the original digit alike
ONNX_MAX_ABS = 1e-5  # tf2onnx's own tests compare at atol 1e-5
TFLITE_MIN_PSNR_DB = 35.0
NUMPY_MAX_GREY_LEVELS = 1  # the numpy backend against onnxruntime, as uint8 pixels
NUMPY_MAX_PIXELS_DIFFERING = 1e-4  # the share of pixels one grey level apart (measured: 9e-6)


def meets(value, threshold, rule):
    """Whether value meets threshold under rule ("<=" or ">=")."""
    return bool(value <= threshold if rule == "<=" else value >= threshold)


def gate(value, threshold, rule):
    """A figure judged, as the reports write it."""
    return {"value": float(value), "threshold": threshold, "rule": rule, "passed": meets(value, threshold, rule)}
