"""The core/Qt split is machine-checked (DESIGN.md): import-linter's contract in pyproject.toml."""
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_simulation_cores_import_no_qt():
    beside_python = Path(sys.executable).with_name("lint-imports")
    command = str(beside_python) if beside_python.exists() else shutil.which("lint-imports")
    assert command, "import-linter is not installed (pip install -e '.[test]')"
    result = subprocess.run([command, "--config", str(ROOT / "pyproject.toml")],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "KEPT" in result.stdout


def test_every_registered_scene_is_importable_without_qt():
    code = ("import sys; from explorer import scene; s = scene.scenes(); "
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph'))]; "
            "print(len(s)); assert not bad, bad")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 1
