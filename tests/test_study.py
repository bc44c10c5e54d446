"""The study command on a tiny two-configuration run: outputs, resumability, the table."""

import json

import pytest
from click.testing import CliRunner

from tests.helpers import fake_digits
from train.study import study_command
from train.study_runs import CONFIGURATIONS, settings_of


def test_every_configuration_is_the_baseline_with_one_or_two_settings_changed():
    baseline = settings_of("dcgan")
    for name in CONFIGURATIONS:
        assert len([key for key, value in settings_of(name).items() if baseline.get(key) != value]) <= 2
    assert {settings_of(name)["model"] for name in CONFIGURATIONS} == {"dcgan", "cdcgan", "vanilla"}
    assert "wgan-gp" in {settings_of(name)["loss"] for name in CONFIGURATIONS}


@pytest.mark.tensorflow
def test_a_two_configuration_study_writes_its_results_and_resumes(tmp_path):
    import numpy as np

    x_train, y_train = fake_digits(256, seed=1)
    x_test, y_test = fake_digits(64, seed=2)
    data = tmp_path / "mnist.npz"
    np.savez(data, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    out = tmp_path / "study"
    args = ["--data", str(data), "--out", str(out), "--only", "vanilla", "--only", "dcgan", "--images", "256",
            "--images-per-epoch", "128", "--eval-samples", "20"]
    result = CliRunner().invoke(study_command, args)
    assert result.exit_code == 0, result.output + (out / "dcgan.log").read_text()

    report = json.loads((out / "study.json").read_text())
    assert set(report["configurations"]) == {"vanilla", "dcgan"} and report["plan"]["images"] == 256
    for name, row in report["configurations"].items():
        assert row["model"] == name and row["epochs"] == 2 and len(row["curve"]) == 2
        assert row["fid"] > 0 and row["images_per_s"] > 0 and row["label_accuracy"] is None
        assert row["curve"][0][0] < row["curve"][1][0] == row["hours"]  # hours grow along the curve
    table = (out / "study.md").read_text()
    assert table.count("\n") == 4 and "| vanilla |" in table and "| dcgan |" in table
    assert (out / "study.png").read_bytes()[:4] == b"\x89PNG"

    logs = {name: (out / f"{name}.log").read_text() for name in ("vanilla", "dcgan")}
    again = CliRunner().invoke(study_command, args)  # finished runs are not trained again
    assert again.exit_code == 0 and "training" not in again.output
    assert {name: (out / f"{name}.log").read_text() for name in logs} == logs
    assert json.loads((out / "study.json").read_text())["configurations"] == report["configurations"]
