"""Silence the informational lines native libraries write straight to file descriptor 2.

LiteRT ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.") and TensorFlow's absl logging
("I0000 ... cudart_stub.cc ...") print from C++, past Python's logging and warnings filters, and
TF_CPP_MIN_LOG_LEVEL does not cover either. Within the block, fd 2 goes to a temporary file;
afterwards every line that is not such INFO/WARNING chatter is written back, so errors still show.
"""

import contextlib
import os
import re
import sys
import tempfile

CHATTER = re.compile(
    r"^(INFO: "  # LiteRT's own INFO lines
    r"|[IW]\d{4} [\d:.]+ +\d+ \S+:\d+\] "  # absl/glog INFO and WARNING lines: I0000 00:00:17.. 123 file.cc:31]
    r"|WARNING: All log messages before absl::InitializeLog"
    r"|fully_quantize: \d"  # the TFLite converter's settings line
    r")"
)


@contextlib.contextmanager
def native_chatter_silenced():
    """Drop native INFO/WARNING lines printed inside the block; keep everything else."""
    try:
        target = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (pytest capture, embedded): nothing to filter
        yield
        return
    sys.stderr.flush()
    saved = os.dup(target)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), target)
        try:
            yield
        finally:
            os.dup2(saved, target)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().decode(errors="replace").splitlines()
                    if line.strip() and not CHATTER.match(line)]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")
                sys.stderr.flush()
