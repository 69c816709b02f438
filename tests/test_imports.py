"""The pure libraries must stay importable without the UI and database stacks."""

import subprocess
import sys
from pathlib import Path


def test_modules_stay_free_of_ui_and_database_imports():
    """kms.validation and kms.mail import neither streamlit nor sqlalchemy."""
    code = (
        "import sys, kms.mail, kms.validation; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('streamlit', 'sqlalchemy')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[1],
    )
    assert result.stdout.strip() == "[]"
